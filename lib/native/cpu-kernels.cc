// Native CPU kernels for the wasm backend: a batched matrix multiply (AVX-512 or AVX2 with FMA, on every core), a fused
// AdamW update, seeded dropout, a column sum, fused LayerNorm, causal softmax and cross-entropy (each with its
// gradient) and strided copies. They read and write the wasm backend's tensors in place, through Float32Array views of its heap, so
// nothing is copied. Built by lib/native/build.mjs into lib/native/prebuilt/<platform>-<arch>/cpu-kernels.node and
// committed, so that installing the project needs no compiler. lib/src/engine/native-kernels.ts loads it and falls
// back to the WebAssembly kernels when it cannot.
#define NAPI_VERSION 8
#include <node_api.h>
#include <immintrin.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------------------------------
// A small thread pool: the calling (JavaScript) thread and n-1 workers share the tasks of one job. Tasks are claimed
// one at a time, and the caller waits only for tasks a worker has claimed: a worker the OS has not scheduled (the
// machine is busy) takes nothing, and the caller does the work alone. Idle workers spin for up to 2 ms (a training
// step calls the matmul every few hundred microseconds), then sleep.

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int i = 1; i < threads_; i++) std::thread([this] { Work(); }).detach();  // lives as long as the process
  }
  int threads() const { return threads_; }

  // Runs task(0 .. tasks-1) across the pool; returns when all are done.
  void Run(int tasks, const std::function<void(int)>& task) {
    if (threads_ == 1 || tasks == 1) {
      for (int t = 0; t < tasks; t++) task(t);
      return;
    }
    // Two generations a job. The first closes the claim word (its next task is past any job's last), so that a worker
    // still holding the previous job's word fails its exchange, and one reading the new task while this one is set
    // claims nothing; the second publishes the job: generation in the high half, next task (0) in the low half.
    const uint64_t generation = (claim_.load() >> 32) + 1;
    claim_.store((generation << 32) | kClosed);
    task_.store(&task);
    tasks_.store(tasks);
    completed_.store(0);
    claim_.store((generation + 1) << 32);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    Drain();
    for (int spin = 0; completed_.load() < tasks; spin++) {
      if (spin < 4096) {
        _mm_pause();
      } else {
        std::this_thread::yield();  // a worker holds a task but lost its core: let it finish
      }
    }
  }

 private:
  // Claims and runs tasks of the current job until none are left.
  void Drain() {
    for (;;) {
      uint64_t word = claim_.load();
      const std::function<void(int)>* task = task_.load();
      const int tasks = tasks_.load();
      const int next = int(word & 0xffffffffu);
      // A failed exchange means another thread claimed, or a new job began: read again. A successful one proves
      // `task` and `tasks` belong to this job (a new job is published only after this one's tasks are all claimed).
      if (next >= tasks) return;
      if (!claim_.compare_exchange_weak(word, word + 1)) continue;
      (*task)(next);
      completed_.fetch_add(1);
    }
  }

  void Work() {
    uint64_t seen = claim_.load() >> 32;
    for (;;) {
      // Spin up to ~2 ms: in a training step the next matmul comes sooner than a sleeping thread wakes.
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
      for (int spin = 1; (claim_.load() >> 32) == seen; spin++) {
        _mm_pause();
        if (spin % 256 == 0 && std::chrono::steady_clock::now() > until) break;
      }
      if ((claim_.load() >> 32) == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return (claim_.load() >> 32) != seen; });
        sleepers_.fetch_sub(1);
      }
      seen = claim_.load() >> 32;
      Drain();
    }
  }

  static constexpr uint64_t kClosed = 0x7fffffffu;
  const int threads_;
  std::atomic<const std::function<void(int)>*> task_{nullptr};
  std::atomic<int> tasks_{0};
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> completed_{0}, sleepers_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
};

// The CPU quota of this process's cgroup (containers, Binder), in whole cores; 0 when there is none.
int CgroupCores() {
  long quota = -1, period = 0;
  if (FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r")) {  // cgroup v2: "max 100000" or "200000 100000"
    char q[32] = {0};
    if (std::fscanf(f, "%31s %ld", q, &period) == 2 && std::strcmp(q, "max") != 0) quota = std::atol(q);
    std::fclose(f);
  } else if (FILE* f = std::fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r")) {  // cgroup v1
    if (std::fscanf(f, "%ld", &quota) != 1) quota = -1;
    std::fclose(f);
    if (FILE* g = std::fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r")) {
      if (std::fscanf(g, "%ld", &period) != 1) period = 0;
      std::fclose(g);
    }
  }
  if (quota <= 0 || period <= 0) return 0;
  return int(std::max(1L, quota / period));
}

int DefaultThreads() {
  if (const char* env = std::getenv("GPT_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return std::min(n, 64);
  }
  int cores = int(std::thread::hardware_concurrency());
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
  if (const int quota = CgroupCores(); quota > 0) cores = std::min(cores, quota);
  return std::max(1, std::min(cores, 64));
}

Pool& ThePool() {
  static Pool* pool = new Pool(DefaultThreads());  // never destroyed: its workers are detached
  return *pool;
}

// ---------------------------------------------------------------------------------------------------------------------
// The kernels use AVX2 and FMA; only they are compiled for it, so that loading the module on an older CPU is safe (it
// reports `supported: false` and the loader falls back).
#pragma GCC push_options
#pragma GCC target("avx2,fma")

// Matrix multiply. C (M, N) = A (M, K) @ B (K, N), where A and B may each be stored transposed, for each of `batch`
// slices. B is copied 16 columns at a time into a panel (K, 16); a micro-kernel then computes R <= 6 rows x 16
// columns of C in registers, with fused multiply-adds in order of k (twice the throughput of a multiply and an add).
// WebAssembly has no fused multiply-add, so the results differ from the WebAssembly route's in the last bits (each
// product is rounded there before it is added); both instruction sets below give the same bits.

// Lanes 0..n-1 of 8 (1 <= n <= 8): the mask of a row's last, partial vector.
inline __m256i FirstLanes(long n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// dst[0..n) = src[0..n) for a few floats (n <= 16), in vectors.
inline void CopyFew(const float* src, float* dst, int n) {
  int j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
  if (j < n) {
    const __m256i lanes = FirstLanes(n - j);
    _mm256_maskstore_ps(dst + j, lanes, _mm256_maskload_ps(src + j, lanes));
  }
}

// dst (8 rows, ldd apart) = the 8 x 8 block at src (lds apart) transposed, in registers.
inline void Transpose8x8(const float* src, long lds, float* dst, long ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

constexpr int kCols = 16;
constexpr int kRows = 6;

// relu as Math.max(0, x): NaN stays NaN, -0 becomes 0 (the native Relu kernel's bits, see Unary).
inline __m256 Relu8(__m256 v) {
  const __m256 r = _mm256_blendv_ps(_mm256_setzero_ps(), v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ));
  return _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

// a(i, k) = a[i * rowStride + k * colStride]
template <int R>
void MicroKernel(int K, const float* a, long rowStride, long colStride, const float* panel, const float* bias, bool relu, float* c, long ldc, int cols) {
  // The sums in named variables: kept in arrays, GCC 12 stored all twelve to the stack at every k (one store a
  // multiply-add, which halved the kernel's speed); named, they stay in registers.
  __m256 l0 = _mm256_setzero_ps(), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0;
  __m256 h0 = l0, h1 = l0, h2 = l0, h3 = l0, h4 = l0, h5 = l0;
  static_assert(R <= 6, "six rows of sums at most");
  for (int k = 0; k < K; k++) {
    const __m256 b0 = _mm256_load_ps(panel + k * kCols);
    const __m256 b1 = _mm256_load_ps(panel + k * kCols + 8);
    const float* ak = a + k * colStride;
#define MICRO_ROW(i)                                              \
  if constexpr (R > i) {                                          \
    const __m256 x = _mm256_broadcast_ss(ak + i * rowStride);     \
    l##i = _mm256_fmadd_ps(x, b0, l##i);                          \
    h##i = _mm256_fmadd_ps(x, b1, h##i);                          \
  }
    MICRO_ROW(0) MICRO_ROW(1) MICRO_ROW(2) MICRO_ROW(3) MICRO_ROW(4) MICRO_ROW(5)
#undef MICRO_ROW
  }
  __m256 lo[6] = {l0, l1, l2, l3, l4, l5}, hi[6] = {h0, h1, h2, h3, h4, h5};
  // The columns of a partial tile (cols < 16), as masks of the two vectors. Masked loads and stores, not copies through
  // a buffer: a copy of variable length made the compiler keep lo and hi in memory, storing them at every k.
  const __m256i m0 = FirstLanes(std::min(cols, 8)), m1 = FirstLanes(cols - 8);  // FirstLanes(n <= 0): no lanes
  if (bias) {  // + the bias of each column, rounded once, as a separate addition would
    const __m256 b0 = _mm256_maskload_ps(bias, m0), b1 = _mm256_maskload_ps(bias + 8, m1);
    for (int r = 0; r < R; r++) {
      lo[r] = _mm256_add_ps(lo[r], b0);
      hi[r] = _mm256_add_ps(hi[r], b1);
    }
  }
  if (relu) {  // then relu, as a separate Relu would
    for (int r = 0; r < R; r++) {
      lo[r] = Relu8(lo[r]);
      hi[r] = Relu8(hi[r]);
    }
  }
  if (cols == kCols) {
    for (int r = 0; r < R; r++) {
      _mm256_storeu_ps(c + r * ldc, lo[r]);
      _mm256_storeu_ps(c + r * ldc + 8, hi[r]);
    }
  } else {
    for (int r = 0; r < R; r++) {
      _mm256_maskstore_ps(c + r * ldc, m0, lo[r]);
      _mm256_maskstore_ps(c + r * ldc + 8, m1, hi[r]);
    }
  }
}

using MicroKernelFn = void (*)(int, const float*, long, long, const float*, const float*, bool, float*, long, int);
constexpr MicroKernelFn kMicroKernels[kRows + 1] = {nullptr,          MicroKernel<1>, MicroKernel<2>, MicroKernel<3>,
                                                    MicroKernel<4>, MicroKernel<5>, MicroKernel<6>};

// The same micro-kernel for AVX-512: R <= 12 rows x 32 columns in registers (24 of the 32 zmm registers), products
// fused multiply-adds in order of k as above, so its results are bit for bit the AVX2 kernel's.
// Compiled for AVX-512 alone and called only where the CPU has it (chosen at load time, see ChooseIsa).
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")

constexpr int kCols512 = 32;
constexpr int kRows512 = 12;

template <int R>
void MicroKernel512(int K, const float* a, long rowStride, long colStride, const float* panel, const float* bias, bool relu, float* c, long ldc, int cols) {
  __m512 lo[R], hi[R];
  for (int r = 0; r < R; r++) lo[r] = hi[r] = _mm512_setzero_ps();
  for (int k = 0; k < K; k++) {
    const __m512 b0 = _mm512_load_ps(panel + k * kCols512);
    const __m512 b1 = _mm512_load_ps(panel + k * kCols512 + 16);
    const float* ak = a + k * colStride;
    for (int r = 0; r < R; r++) {
      const __m512 x = _mm512_set1_ps(ak[r * rowStride]);
      lo[r] = _mm512_fmadd_ps(x, b0, lo[r]);
      hi[r] = _mm512_fmadd_ps(x, b1, hi[r]);
    }
  }
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xffff) : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? __mmask16(0xffff) : cols > 16 ? __mmask16((1u << (cols - 16)) - 1) : __mmask16(0);
  if (bias) {  // + the bias of each column, rounded once, as a separate addition would
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, bias), b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    for (int r = 0; r < R; r++) {
      lo[r] = _mm512_add_ps(lo[r], b0);
      hi[r] = _mm512_add_ps(hi[r], b1);
    }
  }
  if (relu) {  // then relu, as Relu8: 0 unless x > 0 or x is NaN
    const __m512 zero = _mm512_setzero_ps();
    for (int r = 0; r < R; r++) {
      lo[r] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(lo[r], zero, _CMP_GT_OQ) | _mm512_cmp_ps_mask(lo[r], lo[r], _CMP_UNORD_Q), lo[r]);
      hi[r] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(hi[r], zero, _CMP_GT_OQ) | _mm512_cmp_ps_mask(hi[r], hi[r], _CMP_UNORD_Q), hi[r]);
    }
  }
  for (int r = 0; r < R; r++) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, lo[r]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, hi[r]);
  }
}

constexpr MicroKernelFn kMicroKernels512[kRows512 + 1] = {
    nullptr,           MicroKernel512<1>, MicroKernel512<2>, MicroKernel512<3>,  MicroKernel512<4>,  MicroKernel512<5>, MicroKernel512<6>,
    MicroKernel512<7>, MicroKernel512<8>, MicroKernel512<9>, MicroKernel512<10>, MicroKernel512<11>, MicroKernel512<12>};

#pragma GCC pop_options

// The instruction set the matmul runs on: its micro-kernels and their tile (rows x columns).
struct Isa {
  const char* name;
  int cols, rows;
  const MicroKernelFn* kernels;
};
constexpr Isa kAvx2{"AVX2", kCols, kRows, kMicroKernels};
constexpr Isa kAvx512{"AVX-512", kCols512, kRows512, kMicroKernels512};

bool HasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}

// AVX-512 where the CPU (and OS) has it, unless GPT_NATIVE_ISA=avx2 asks for the older path; set again by setIsa().
std::atomic<const Isa*> g_isa{nullptr};

const Isa* ChooseIsa() {
  const char* env = std::getenv("GPT_NATIVE_ISA");
  const bool avx2Asked = env != nullptr && (std::strcmp(env, "avx2") == 0 || std::strcmp(env, "AVX2") == 0);
  return HasAvx512() && !avx2Asked ? &kAvx512 : &kAvx2;
}

// A per-thread, 64-byte aligned scratch panel of K x `cols` floats.
float* Panel(int K, int cols) {
  thread_local std::vector<float> storage;
  const size_t need = size_t(K) * cols + 16;
  if (storage.size() < need) storage.resize(need);
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~uintptr_t(63));
}

struct MatMul {
  const float* a;
  const float* b;
  float* c;
  int batch, M, K, N;
  bool transA, transB;
  long strideA, strideB;  // elements between batch slices (0: shared)
  const Isa* isa;
  const float* bias = nullptr;  // N floats added to every row of C, or none
  bool relu = false;  // C = relu(A B (+ bias)), relu applied as each tile is stored
  float* sumsA = nullptr;  // transA, one slice: sumsA[i] = Σ_k A(i, k), in order of k (a bias gradient), or none
  const float* tilesA = nullptr;  // A in tiles of the micro-kernel's rows (RunTransposedA), or none: A as it is stored

  // Columns j0 .. j0+cols-1 of B's slice, as a (K, cols) panel padded with zeros (cols: the ISA's tile width).
  void Pack(const float* bs, int j0, float* panel) const {
    const int width = isa->cols;
    const int cols = std::min(width, N - j0);
    if (transB) {  // B stored (N, K): its rows j0.. become the panel's columns, in 8 x 8 blocks, the edges one by one
      const int cols8 = cols & ~7, K8 = K & ~7;
      for (int j = 0; j < cols8; j += 8)
        for (int k = 0; k < K8; k += 8) Transpose8x8(bs + long(j0 + j) * K + k, K, panel + k * width + j, width);
      for (int k = 0; k < K; k++) {
        float* row = panel + k * width;
        for (int j = k < K8 ? cols8 : 0; j < cols; j++) row[j] = bs[long(j0 + j) * K + k];
        std::fill(row + cols, row + width, 0.0f);
      }
      return;
    }
    if (cols == width) {  // a whole panel: vector copies (a memmove call a row cost more than the copy)
      for (int k = 0; k < K; k++) {
        const float* src = bs + long(k) * N + j0;
        float* row = panel + k * width;
        for (int j = 0; j < width; j += 8) _mm256_store_ps(row + j, _mm256_loadu_ps(src + j));
      }
      return;
    }
    for (int k = 0; k < K; k++) {
      float* row = panel + k * width;
      std::copy(bs + long(k) * N + j0, bs + long(k) * N + j0 + cols, row);
      std::fill(row + cols, row + width, 0.0f);
    }
  }

  // Rows [i0, i1) of C's slice `s`, columns j0 .. j0+width-1.
  void Tile(int s, int j0, int i0, int i1) const {
    const float* as = a + s * strideA;
    float* cs = c + long(s) * M * N;
    float* panel = Panel(K, isa->cols);
    Pack(b + s * strideB, j0, panel);
    const int cols = std::min(isa->cols, N - j0);
    const int tiles = (M + isa->rows - 1) / isa->rows;
    for (int i = i0; i < i1; i += isa->rows) {
      const int rows = std::min(isa->rows, i1 - i);
      float* ci = cs + long(i) * N + j0;
      const float* bj = bias ? bias + j0 : nullptr;
      if (tilesA) {  // tile i / rows of slice s (i is a multiple of the tile height: Run's row blocks are)
        const float* tile = tilesA + (size_t(strideA == 0 ? 0 : s) * tiles + i / isa->rows) * K * isa->rows;
        isa->kernels[rows](K, tile, 1, rows, panel, bj, relu, ci, N, cols);
      } else {
        isa->kernels[rows](K, as + long(i) * K, K, 1, panel, bj, relu, ci, N, cols);
      }
    }
  }

  // A stored transposed, (K, M) per slice (a weight's gradient, dyᵀ x). Read as it is stored, each k of A lies M
  // floats after the previous one: a long K walks through memory a page at a time, and the product ran at under half
  // the speed. So A is first copied, on every thread, into tiles of the micro-kernel's rows: (K, rows) each, the rows of
  // one k side by side; then the product runs as for A untransposed, reading the tiles.
  void RunTransposedA() const {
    const int height = isa->rows, tiles = (M + height - 1) / height;
    const int slices = strideA == 0 ? 1 : batch;
    static std::vector<float> storage;  // reused: only the JavaScript thread starts a matmul
    storage.resize(size_t(slices) * tiles * K * height);
    float* packed = storage.data();
    auto task = [&](int t) {
      const int s = t / tiles, i = (t % tiles) * height, rows = std::min(height, M - i);
      const float* as = a + s * strideA + i;
      float* out = packed + size_t(t) * K * height;
      if (!sumsA) {
        for (int k = 0; k < K; k++) CopyFew(as + long(k) * M, out + k * rows, rows);
        return;
      }
      // The copy reads every A(i, k) of the tile's rows: their sums over k come with it, one float add at a time in
      // order of k from +0, as sumRows adds the rows of A as stored (the same bits, one pass over A fewer).
      const __m256i m0 = FirstLanes(std::min(rows, 8)), m1 = FirstLanes(rows - 8);
      __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
      for (int k = 0; k < K; k++) {
        const float* ak = as + long(k) * M;
        CopyFew(ak, out + k * rows, rows);
        s0 = _mm256_add_ps(s0, _mm256_maskload_ps(ak, m0));
        s1 = _mm256_add_ps(s1, _mm256_maskload_ps(ak + 8, m1));
      }
      _mm256_maskstore_ps(sumsA + i, m0, s0);
      _mm256_maskstore_ps(sumsA + i + 8, m1, s1);
    };
    if (double(slices) * M * K < 65536) {
      for (int t = 0; t < slices * tiles; t++) task(t);
    } else {
      ThePool().Run(slices * tiles, task);
    }
    MatMul plain = *this;
    plain.transA = false;
    plain.tilesA = packed;
    plain.Run();
  }

  void Run() const {
    if (transA) return RunTransposedA();
    Pool& pool = ThePool();
    const int width = isa->cols, height = isa->rows;
    const int colPanels = (N + width - 1) / width;
    const double macs = double(batch) * M * K * N;
    const int threads = macs < 32768 ? 1 : pool.threads();
    // Enough tasks to keep every thread busy: split rows when slices x column panels are too few.
    const int coarse = batch * colPanels;
    int rowBlocks = 1;
    if (threads > 1 && coarse < 4 * threads) rowBlocks = std::min((4 * threads + coarse - 1) / coarse, (M + height - 1) / height);
    const int rowsPerBlock = ((M + rowBlocks - 1) / rowBlocks + height - 1) / height * height;
    rowBlocks = (M + rowsPerBlock - 1) / rowsPerBlock;
    auto task = [&](int t) {
      const int rb = t % rowBlocks;
      const int jp = (t / rowBlocks) % colPanels;
      const int s = t / (rowBlocks * colPanels);
      Tile(s, jp * width, rb * rowsPerBlock, std::min(M, (rb + 1) * rowsPerBlock));
    };
    const int tasks = coarse * rowBlocks;
    if (threads == 1) {
      for (int t = 0; t < tasks; t++) task(t);
    } else {
      pool.Run(tasks, task);
    }
  }
};

// ---------------------------------------------------------------------------------------------------------------------
// AdamW, every parameter of a step in one call, in place, element by element in float32, in the order
// lib/src/train/adamw.ts computes it:
//   m' = m*b1 + g*(1-b1);  v' = v*b2 + g^2*(1-b2);  p' = p*(1-lr*wd) - (m' / (sqrt(v')/bias2Sqrt + eps)) * stepSize

struct AdamWScalars {
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2, bias2Sqrt, eps, decay, stepSize;
};

// One parameter's tensors: p, m and v are overwritten with their values after the step.
struct AdamWParam {
  float* p;
  const float* g;
  float* m;
  float* v;
  size_t n;
};

// Restrict pointers (the four arrays are distinct; each element is read before it is written) and the scalars by
// value, so that the loop is vectorised.
void AdamWRange(size_t begin, size_t end, float* __restrict p, const float* __restrict g, float* __restrict m,
                float* __restrict v, const AdamWScalars s) {
  for (size_t i = begin; i < end; i++) {
    const float mi = m[i] * s.beta1 + g[i] * s.oneMinusBeta1;
    const float vi = v[i] * s.beta2 + (g[i] * g[i]) * s.oneMinusBeta2;
    const float denom = std::sqrt(vi) / s.bias2Sqrt + s.eps;
    p[i] = p[i] * s.decay - (mi / denom) * s.stepSize;
    m[i] = mi;
    v[i] = vi;
  }
}

// Element by element, so how the parameters are cut into tasks (a chunk of a large one, or a whole small one) and
// spread over the threads changes nothing in the result.
void AdamW(const std::vector<AdamWParam>& params, const AdamWScalars& s) {
  constexpr size_t kChunk = 1 << 14;
  struct Task {
    int param;
    size_t begin, end;
  };
  std::vector<Task> tasks;
  size_t total = 0;
  for (int i = 0; i < int(params.size()); i++) {
    for (size_t b = 0; b < params[i].n; b += kChunk) tasks.push_back({i, b, std::min(params[i].n, b + kChunk)});
    total += params[i].n;
  }
  auto run = [&](int t) {
    const Task& task = tasks[t];
    const AdamWParam& q = params[task.param];
    AdamWRange(task.begin, task.end, q.p, q.g, q.m, q.v, s);
  };
  if (total < 2 * kChunk) {
    for (int t = 0; t < int(tasks.size()); t++) run(t);
  } else {
    ThePool().Run(int(tasks.size()), run);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Sum over the leading axis of a (rows, cols) matrix: out[c] = x[0, c] + x[1, c] + ... in that order, as the wasm
// backend's Sum adds them after its transpose. (The gradient of a bias: dy summed over every row of a batch.)

void SumRows(const float* x, float* out, long rows, long cols) {
  std::fill(out, out + cols, 0.0f);
  for (long r = 0; r < rows; r++) {
    const float* row = x + r * cols;
    for (long c = 0; c < cols; c++) out[c] += row[c];
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Dropout: out[i] = keep(i) ? x[i] * scale : 0, where keep(i) is decided by a hash of (seed, i) alone: the mask does not
// depend on how the work is split between threads, so a seed gives the same mask on every run and any thread count.
// The hash is the GPU route's (lib/src/engine/webgpu.ts, lowbias32): u = (hash(hash(i + k1) ^ k2) >> 8) / 2^24, kept
// when u >= p (in float32). The same seed draws the same mask on both routes.

inline uint32_t Hash(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  return x ^ (x >> 16);
}

inline __m256i Hash8(__m256i x) {
  x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
  x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0x7feb352d));
  x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 15));
  x = _mm256_mullo_epi32(x, _mm256_set1_epi32(int(0x846ca68bu)));
  return _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
}

// The mask of one seeded dropout draw: element i is kept when Keep(i), and then scaled by `scale`.
struct DropoutMask {
  bool active = false;
  uint32_t k1 = 0, k2 = 0;
  int32_t threshold = 0;  // kept when (hash >> 8) >= threshold, i.e. ceil(p * 2^24): the same test as u >= p, exactly
  float scale = 1;        // 1 / (1 - p), rounded to float32

  static DropoutMask Of(double p, uint32_t seed) {
    return {true, Hash(seed), Hash(seed ^ 0x9e3779b9u), int32_t(std::ceil(double(float(p)) * 16777216.0)), float(1.0 / (1.0 - p))};
  }
  bool Keep(uint32_t i) const { return int32_t(Hash(Hash(i + k1) ^ k2) >> 8) >= threshold; }
};

struct Dropout {
  const float* x;
  float* out;
  size_t n;
  DropoutMask mask;

  void Range(size_t begin, size_t end) const {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i k1v = _mm256_set1_epi32(int(mask.k1)), k2v = _mm256_set1_epi32(int(mask.k2));
    const __m256i below = _mm256_set1_epi32(mask.threshold - 1);
    const __m256 scalev = _mm256_set1_ps(mask.scale);
    size_t i = begin;
    for (; i + 8 <= end; i += 8) {
      __m256i h = _mm256_add_epi32(_mm256_add_epi32(_mm256_set1_epi32(int(uint32_t(i))), lanes), k1v);
      h = _mm256_srli_epi32(Hash8(_mm256_xor_si256(Hash8(h), k2v)), 8);
      const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(h, below));  // h < 2^24: a signed compare is exact
      _mm256_storeu_ps(out + i, _mm256_and_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), scalev), keep));
    }
    for (; i < end; i++) out[i] = mask.Keep(uint32_t(i)) ? x[i] * mask.scale : 0.0f;
  }

  void Run() const {
    constexpr size_t kChunk = 1 << 16;  // elements per task
    const int tasks = int((n + kChunk - 1) / kChunk);
    auto task = [&](int t) { Range(size_t(t) * kChunk, std::min(n, size_t(t + 1) * kChunk)); };
    if (tasks <= 1) {
      Range(0, n);
    } else {
      ThePool().Run(tasks, task);
    }
  }
};

// ---------------------------------------------------------------------------------------------------------------------
// Fused kernels: each replaces a chain of element-wise kernels (and their gradients) with one pass over the rows. They
// compute the same maths as the reference routes in lib/src/nn (layer-norm.ts, attention.ts, loss.ts) in float32, in
// another order, so their results agree with the reference within rounding, not bit for bit. Rows are split into a
// number of tasks that depends on the shape alone, and cross-row sums are added task by task in order: the same
// inputs give the same outputs on any thread count.

// Runs body(begin, end) over [0, rows) in tasks of about kWork elements; returns the number of tasks used.
constexpr long kWork = 1 << 15;

int RowTasks(long rows, long cols, long work = kWork) {
  const long perTask = std::max(1L, work / std::max(1L, cols));
  return int(std::min<long>(256, (rows + perTask - 1) / perTask));
}

// For kernels whose rows are independent (no sum across rows, or one added in row order afterwards): the task count
// does not change their results, so they split finer, and model A's (512, 64) rows take both cores, not one.
int IndependentRowTasks(long rows, long cols) { return RowTasks(rows, cols, kWork / 4); }

template <typename Body>
void ForRows(long rows, int tasks, const Body& body) {
  const long per = (rows + tasks - 1) / tasks;
  auto task = [&](int t) { body(t, std::min(rows, t * per), std::min(rows, (t + 1) * per)); };
  if (tasks <= 1) {
    task(0);
  } else {
    ThePool().Run(tasks, task);
  }
}

// Sums of n floats, and of their products, in 8 independent lanes (vectorised), then the lanes in order.
inline float Sum(const float* x, long n) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; l++) lane[l] += x[j + l];
  float s = 0;
  for (; j < n; j++) s += x[j];
  for (int l = 0; l < 8; l++) s += lane[l];
  return s;
}

// LayerNorm over the last axis: y = (x - mean) / sqrt(var + eps) * w + b, var biased (PyTorch's nn.LayerNorm).
// One row; restrict parameters, so that its loops are vectorised. d: C floats of scratch.
void LayerNormForwardRow(const float* __restrict xr, const float* __restrict w, const float* __restrict b, float* __restrict yr,
                         float* __restrict d, long C, float eps) {
  const float mean = Sum(xr, C) / float(C);
  for (long j = 0; j < C; j++) d[j] = (xr[j] - mean) * (xr[j] - mean);
  const float rstd = 1.0f / std::sqrt(Sum(d, C) / float(C) + eps);
  for (long j = 0; j < C; j++) yr[j] = (xr[j] - mean) * rstd * w[j] + b[j];
}

void LayerNormForward(const float* x, const float* w, const float* b, float* y, long rows, long C, float eps) {
  ForRows(rows, IndependentRowTasks(rows, C), [&](int, long r0, long r1) {
    std::vector<float> d(C);
    for (long r = r0; r < r1; r++) LayerNormForwardRow(x + r * C, w, b, y + r * C, d.data(), C, eps);
  });
}

// Its gradient: with xhat = (x - mean) * rstd and g = dy * w,
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dw = sum over rows of dy * xhat,  db = sum over rows of dy.
// One row: dx, and its terms added to pw and pb. Restrict parameters, so that every loop is vectorised (with seven
// arrays in one loop the compiler will not check them for overlap at run time); xhat, g, tmp: C floats of scratch.
void LayerNormBackwardRow(const float* __restrict xr, const float* __restrict dyr, const float* __restrict w, float* __restrict dxr,
                          float* __restrict pw, float* __restrict pb, float* __restrict xhat, float* __restrict g, float* __restrict tmp,
                          long C, float eps) {
  const float mean = Sum(xr, C) / float(C);
  for (long j = 0; j < C; j++) tmp[j] = (xr[j] - mean) * (xr[j] - mean);
  const float rstd = 1.0f / std::sqrt(Sum(tmp, C) / float(C) + eps);
  for (long j = 0; j < C; j++) {
    xhat[j] = (xr[j] - mean) * rstd;
    g[j] = dyr[j] * w[j];
    tmp[j] = g[j] * xhat[j];
    pw[j] += dyr[j] * xhat[j];
    pb[j] += dyr[j];
  }
  const float meanG = Sum(g, C) / float(C);
  const float meanGX = Sum(tmp, C) / float(C);
  for (long j = 0; j < C; j++) dxr[j] = rstd * (g[j] - meanG - xhat[j] * meanGX);
}

void LayerNormBackward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db, long rows, long C, float eps) {
  const int tasks = RowTasks(rows, C);
  std::vector<float> partial(size_t(tasks) * 2 * C, 0.0f);  // each task's dw and db, added in task order after
  ForRows(rows, tasks, [&](int t, long r0, long r1) {
    std::vector<float> scratch(3 * C);
    float* pw = partial.data() + size_t(t) * 2 * C;
    for (long r = r0; r < r1; r++) {
      LayerNormBackwardRow(x + r * C, dy + r * C, w, dx + r * C, pw, pw + C, scratch.data(), scratch.data() + C, scratch.data() + 2 * C, C, eps);
    }
  });
  std::fill(dw, dw + C, 0.0f);
  std::fill(db, db + C, 0.0f);
  for (int t = 0; t < tasks; t++) {
    const float* pw = partial.data() + size_t(t) * 2 * C;
    for (long j = 0; j < C; j++) {
      dw[j] += pw[j];
      db[j] += pw[C + j];
    }
  }
}

// exp of floats, computed in double and rounded once to float: within about 1e-11 of exp(x) before the rounding, so
// the result is the correctly rounded one (as glibc's expf gives, itself within 0.502 ulp) except in rare near-ties,
// where the two can differ by 1 ulp. x = k·ln2 + r, |r| <= ln2/2 (ln2 in two parts, so r is exact to double
// precision), exp(r) by its Taylor series to r^11 (error < 1e-13), times 2^k. Below −200 the result is 0; NaN stays NaN.
constexpr double kLn2Hi = 0x1.62e42fefa39efp-1, kLn2Lo = 0x1.abc9e3b39803fp-56, kInvLn2 = 0x1.71547652b82fep0;
constexpr double kExpTaylor[12] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
                                   1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800};

inline __m256d ExpDoubles4(__m256d xd) {
  xd = _mm256_max_pd(_mm256_set1_pd(-200.0), xd);  // returns xd when it is NaN
  const __m256d k = _mm256_round_pd(_mm256_mul_pd(xd, _mm256_set1_pd(kInvLn2)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256d r = _mm256_fmadd_pd(k, _mm256_set1_pd(-kLn2Lo), _mm256_fmadd_pd(k, _mm256_set1_pd(-kLn2Hi), xd));
  __m256d p = _mm256_set1_pd(kExpTaylor[11]);
  for (int i = 10; i >= 0; i--) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(kExpTaylor[i]));
  // 2^k from its exponent bits (k in [-289, 128] here, a normal double); NaN's k gives garbage, but p is NaN then.
  const __m256i e = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(k)), _mm256_set1_epi64x(1023)), 52);
  return _mm256_mul_pd(p, _mm256_castsi256_pd(e));
}

inline __m256 ExpFloats8(__m256 v) {
  const __m128 lo = _mm256_cvtpd_ps(ExpDoubles4(_mm256_cvtps_pd(_mm256_castps256_ps128(v))));
  const __m128 hi = _mm256_cvtpd_ps(ExpDoubles4(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))));
  return _mm256_set_m128(hi, lo);
}

// The largest of x[0..n), n >= 1 (max is exact in any order; NaN is not expected here).
inline float Max(const float* x, long n) {
  long j = 0;
  float max = x[0];
  if (n >= 8) {
    __m256 m = _mm256_loadu_ps(x);
    for (j = 8; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, m);
    for (const float lane : lanes) max = std::max(max, lane);
  }
  for (; j < n; j++) max = std::max(max, x[j]);
  return max;
}

// The causal softmax of rows i0..i1-1 of a block, in place: row i (ld floats apart) holds the scores of positions
// 0..i, and becomes exp(x − max) / their sum (the sum in Sum's order), each element rounded as written. In two passes,
// so that the rows' exps are independent of each other's sums: the processor overlaps them, where one row at a time
// waited on each row's chain of max, exp, sum and division.
inline void CausalSoftmaxRows(float* a, long ld, long i0, long i1) {
  for (long i = i0; i < i1; i++) {
    float* row = a + i * ld;
    const long n = i + 1;
    const __m256 max = _mm256_set1_ps(Max(row, n));
    long j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(row + j, ExpFloats8(_mm256_sub_ps(_mm256_loadu_ps(row + j), max)));
    if (j < n) {  // the last few, in a vector padded with zeros
      const __m256i lanes = FirstLanes(n - j);
      _mm256_maskstore_ps(row + j, lanes, ExpFloats8(_mm256_sub_ps(_mm256_maskload_ps(row + j, lanes), max)));
    }
  }
  for (long i = i0; i < i1; i++) {
    float* row = a + i * ld;
    const long n = i + 1;
    const __m256 sum = _mm256_set1_ps(Sum(row, n));
    long j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(row + j, _mm256_div_ps(_mm256_loadu_ps(row + j), sum));  // each rounded once
    if (j < n) {
      const __m256i lanes = FirstLanes(n - j);
      _mm256_maskstore_ps(row + j, lanes, _mm256_div_ps(_mm256_maskload_ps(row + j, lanes), sum));
    }
  }
}

// The decoder's softmax over the last axis of (..., T, T) scores: row i of each (T, T) slice is a softmax over
// positions 0..i, and 0 above the diagonal (the reference adds −∞ there, and exp(−∞) = 0).
void CausalSoftmaxForward(const float* x, float* y, long rows, long T) {
  ForRows(rows, RowTasks(rows, T), [&](int, long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const long n = r % T + 1;  // positions this row sees
      std::copy(x + r * T, x + r * T + n, y + r * T);
      std::fill(y + r * T + n, y + (r + 1) * T, 0.0f);
    }
    for (long r = r0; r < r1;) {  // the rows of each (T, T) slice in [r0, r1)
      const long slice = r / T, end = std::min(r1, (slice + 1) * T);
      CausalSoftmaxRows(y + slice * T * T, T, r - slice * T, end - slice * T);
      r = end;
    }
  });
}

// Its gradient from the output y: dx = y * (dy - sum(dy * y)) along each row (0 above the diagonal, where y is 0).
void CausalSoftmaxBackward(const float* dy, const float* y, float* dx, long rows, long T) {
  ForRows(rows, RowTasks(rows, T), [&](int, long r0, long r1) {
    std::vector<float> prod(T);
    for (long r = r0; r < r1; r++) {
      const long n = r % T + 1;
      const float* dyr = dy + r * T;
      const float* yr = y + r * T;
      float* dxr = dx + r * T;
      for (long j = 0; j < n; j++) prod[j] = dyr[j] * yr[j];
      const float dot = Sum(prod.data(), n);
      for (long j = 0; j < n; j++) dxr[j] = yr[j] * (dyr[j] - dot);
      std::fill(dxr + n, dxr + T, 0.0f);
    }
  });
}

// Cross-entropy: the mean over rows of logsumexp(logits) − logits[target]; NaN when a target is outside [0, V) (the
// reference's choice: trainStep then names the bad id). Row losses are summed in double, in row order.
float CrossEntropyForward(const float* logits, const int32_t* targets, long N, long V) {
  std::vector<double> rowLoss(N);
  ForRows(N, IndependentRowTasks(N, V), [&](int, long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* xr = logits + r * V;
      const int32_t target = targets[r];
      if (target < 0 || target >= V) {
        rowLoss[r] = NAN;
        continue;
      }
      float max = xr[0];
      for (long j = 1; j < V; j++) max = std::max(max, xr[j]);
      float sum = 0;
      for (long j = 0; j < V; j++) sum += std::exp(xr[j] - max);
      rowLoss[r] = double(std::log(sum) + max - xr[target]);
    }
  });
  double total = 0;
  for (long r = 0; r < N; r++) total += rowLoss[r];
  return float(total / double(N));
}

// Its gradient: dlogits = (softmax(logits) − onehot(target)) * dloss / N; a row with a bad target gets NaN.
void CrossEntropyBackward(const float* logits, const int32_t* targets, float dloss, float* dx, long N, long V) {
  const float scale = dloss / float(N);
  ForRows(N, IndependentRowTasks(N, V), [&](int, long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* xr = logits + r * V;
      float* dxr = dx + r * V;
      const int32_t target = targets[r];
      if (target < 0 || target >= V) {
        std::fill(dxr, dxr + V, NAN);
        continue;
      }
      float max = xr[0];
      for (long j = 1; j < V; j++) max = std::max(max, xr[j]);
      float sum = 0;
      for (long j = 0; j < V; j++) sum += (dxr[j] = std::exp(xr[j] - max));
      for (long j = 0; j < V; j++) dxr[j] = dxr[j] / sum * scale;
      dxr[target] -= scale;
    }
  });
}

// A strided copy: for each of `rows` rows, `width` floats from src + srcOffset + r * srcStride to dst + dstOffset +
// r * dstStride. Split and concatenation along an axis (each piece is such a copy), and transposes that keep the last
// axis (a run of it per row), are built on it.
void CopyRows(const float* src, long srcOffset, long srcStride, float* dst, long dstOffset, long dstStride, long rows, long width) {
  for (long r = 0; r < rows; r++) std::memcpy(dst + dstOffset + r * dstStride, src + srcOffset + r * srcStride, size_t(width) * sizeof(float));
}

// out = x transposed by perm (rank <= 6), for a perm that keeps the last axis: one contiguous run per output row.
void TransposeKeepLast(const float* x, float* out, const long* shape, const long* perm, int rank) {
  long inStride[6], outShape[6];
  inStride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * shape[d + 1];
  for (int d = 0; d < rank; d++) outShape[d] = shape[perm[d]];
  const long width = shape[rank - 1];
  long rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= outShape[d];
  long index[6] = {0, 0, 0, 0, 0, 0};  // the output row's index, over the first rank-1 axes
  for (long r = 0; r < rows; r++) {
    long offset = 0;
    for (int d = 0; d < rank - 1; d++) offset += index[d] * inStride[perm[d]];
    std::memcpy(out + r * width, x + offset, size_t(width) * sizeof(float));
    for (int d = rank - 2; d >= 0 && ++index[d] == outShape[d]; d--) index[d] = 0;
  }
}

// Small blocked products for attention, R <= 4 rows at a time (four independent sums in flight). Each element is a sum
// of products in a fixed order by fused multiply-adds from zero, as the matmul's micro-kernels add: the same bits as
// the op-by-op route's matmuls, whose extra terms (the weights above the diagonal) are exact zeros.

// out[r][j] = Σ_d x[r][d] · mt[d][j] for r < R, j < n8 (a multiple of 8): rows times a matrix stored transposed.
// Two vectors of columns at a time where there are two: 2R sums in flight, enough to cover the latency of an FMA.
template <int R>
void RowsTimesT(const float* x, long ldx, const float* mt, long ldm, long depth, long n8, float* out, long ldo) {
  long j = 0;
  for (; j + 16 <= n8; j += 16) {
    __m256 acc0[R], acc1[R];
    for (int r = 0; r < R; r++) acc0[r] = acc1[r] = _mm256_setzero_ps();
    for (long d = 0; d < depth; d++) {
      const __m256 m0 = _mm256_loadu_ps(mt + d * ldm + j), m1 = _mm256_loadu_ps(mt + d * ldm + j + 8);
      for (int r = 0; r < R; r++) {
        const __m256 xr = _mm256_set1_ps(x[r * ldx + d]);
        acc0[r] = _mm256_fmadd_ps(xr, m0, acc0[r]);
        acc1[r] = _mm256_fmadd_ps(xr, m1, acc1[r]);
      }
    }
    for (int r = 0; r < R; r++) {
      _mm256_storeu_ps(out + r * ldo + j, acc0[r]);
      _mm256_storeu_ps(out + r * ldo + j + 8, acc1[r]);
    }
  }
  for (; j < n8; j += 8) {
    __m256 acc[R];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (long d = 0; d < depth; d++) {
      const __m256 m = _mm256_loadu_ps(mt + d * ldm + j);
      for (int r = 0; r < R; r++) acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(x[r * ldx + d]), m, acc[r]);
    }
    for (int r = 0; r < R; r++) _mm256_storeu_ps(out + r * ldo + j, acc[r]);
  }
}

// out[r][d] = Σ_{lo <= j < hi} w(r, j) · rows[j][d] for r < R, d < width: weighted sums of rows, in order of j. The
// weights w(r, j) are w[r][j], or w[j][r] (kTransposed: the sums that wᵀ gives, read from w as it is stored).
template <int R, bool kTransposed>
void WeightedSum(const float* w, long ldw, long lo, long hi, const float* rows, long ldr, long width, float* out, long ldo) {
  auto weight = [&](int r, long j) { return kTransposed ? w[j * ldw + r] : w[r * ldw + j]; };
  long d = 0;
  for (; d + 16 <= width; d += 16) {  // two vectors of columns at a time, as RowsTimesT
    __m256 acc0[R], acc1[R];
    for (int r = 0; r < R; r++) acc0[r] = acc1[r] = _mm256_setzero_ps();
    for (long j = lo; j < hi; j++) {
      const __m256 v0 = _mm256_loadu_ps(rows + j * ldr + d), v1 = _mm256_loadu_ps(rows + j * ldr + d + 8);
      for (int r = 0; r < R; r++) {
        const __m256 wr = _mm256_set1_ps(weight(r, j));
        acc0[r] = _mm256_fmadd_ps(wr, v0, acc0[r]);
        acc1[r] = _mm256_fmadd_ps(wr, v1, acc1[r]);
      }
    }
    for (int r = 0; r < R; r++) {
      _mm256_storeu_ps(out + r * ldo + d, acc0[r]);
      _mm256_storeu_ps(out + r * ldo + d + 8, acc1[r]);
    }
  }
  for (; d + 8 <= width; d += 8) {
    __m256 acc[R];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (long j = lo; j < hi; j++) {
      const __m256 v = _mm256_loadu_ps(rows + j * ldr + d);
      for (int r = 0; r < R; r++) acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(weight(r, j)), v, acc[r]);
    }
    for (int r = 0; r < R; r++) _mm256_storeu_ps(out + r * ldo + d, acc[r]);
  }
  for (; d < width; d++) {
    float acc[R] = {};
    for (long j = lo; j < hi; j++)
      for (int r = 0; r < R; r++) acc[r] = std::fma(weight(r, j), rows[j * ldr + d], acc[r]);
    for (int r = 0; r < R; r++) out[r * ldo + d] = acc[r];
  }
}

template <int R>
void LowerWeightedSum(const float* w, long ldw, long lo, long hi, const float* rows, long ldr, long width, float* out, long ldo) {
  WeightedSum<R, false>(w, ldw, lo, hi, rows, ldr, width, out, ldo);
}

template <int R>
void TransposedWeightedSum(const float* w, long ldw, long lo, long hi, const float* rows, long ldr, long width, float* out, long ldo) {
  WeightedSum<R, true>(w, ldw, lo, hi, rows, ldr, width, out, ldo);
}

// Calls block(i0, R) for row blocks of 4 over [0, rows), then the rest.
template <typename Block>
void ForRowBlocks(long rows, const Block& block) {
  for (long i0 = 0; i0 < rows; i0 += 4) block(i0, int(std::min(4L, rows - i0)));
}

#define ATTENTION_DISPATCH(R, f, ...) \
  switch (R) {                        \
    case 4: f<4>(__VA_ARGS__); break; \
    case 3: f<3>(__VA_ARGS__); break; \
    case 2: f<2>(__VA_ARGS__); break; \
    default: f<1>(__VA_ARGS__);       \
  }

// Causal self-attention of every head at once, from nanoGPT's c_attn output: qkv (B, T, 3C) holds each token's
// queries, keys and values of heads 0..nh-1 ([q | k | v], head h at columns h*hs .. h*hs+hs-1 of each third), and y
// (B, T, C) gets each head's output in the same columns. Per head, as CausalSelfAttention's op-by-op route:
//   scores = q kᵀ * scale;  att = causal softmax(scores);  att = dropout(att) in training;  y = att v.
// One task per (batch, head) pair, so the results do not depend on the thread count. The weights are not kept: the
// backward pass computes them again (T x T per head is cheaper to recompute than to store and read back).
struct Attention {
  long B, T, nh, hs;
  float scale;
  DropoutMask mask;  // mask.active is false outside training and at p = 0
  long C() const { return nh * hs; }
  long Tp() const { return (T + 7) & ~7L; }  // a row of weights, padded to whole vectors
  long Causal8(long rows) const { return std::min(Tp(), (rows + 7) & ~7L); }  // columns that rows 0..rows-1 need

  // Part `part` (0 q, 1 k, 2 v) of head h of batch b: T rows, 3C apart.
  const float* Part(const float* qkv, long b, int part, long h) const { return qkv + b * T * 3 * C() + part * C() + h * hs; }

  // mt (hs, Tp) = rows (T, hs; ldr apart) transposed, zero past T: in 8 x 8 blocks, the edges one by one.
  void Transposed(const float* rows, long ldr, float* mt) const {
    const long T8 = T & ~7L, hs8 = hs & ~7L;
    for (long j = 0; j < T8; j += 8)
      for (long d = 0; d < hs8; d += 8) Transpose8x8(rows + j * ldr + d, ldr, mt + d * Tp() + j, Tp());
    for (long d = 0; d < hs; d++) {
      for (long j = d < hs8 ? T8 : 0; j < T; j++) mt[d * Tp() + j] = rows[j * ldr + d];
      std::fill(mt + d * Tp() + T, mt + (d + 1) * Tp(), 0.0f);
    }
  }

  // a (T, Tp) = each row's weights: the softmax of its scaled scores over positions 0..i, and 0 past i.
  void Weights(const float* q, const float* kt, float* a) const {
    ForRowBlocks(T, [&](long i0, int R) {
      ATTENTION_DISPATCH(R, RowsTimesT, q + i0 * 3 * C(), 3 * C(), kt, Tp(), hs, Causal8(i0 + R), a + i0 * Tp(), Tp());
    });
    for (long i = 0; i < T; i++) {
      float* ai = a + i * Tp();
      for (long j = 0; j <= i; j++) ai[j] *= scale;
      std::fill(ai + i + 1, ai + Tp(), 0.0f);
    }
    CausalSoftmaxRows(a, Tp(), 0, T);
  }

  // The index of weight (i, j) of head h in a (B, nh, T, T) tensor: where standalone dropout would draw its mask.
  uint32_t Index(long b, long h, long i, long j) const { return uint32_t(((b * nh + h) * T + i) * T + j); }

  // w = the weights after dropout: kept ones scaled, the rest 0.
  void Drop(long b, long h, const float* a, float* w) const {
    for (long i = 0; i < T; i++)
      for (long j = 0; j < Tp(); j++) w[i * Tp() + j] = j <= i && mask.Keep(Index(b, h, i, j)) ? a[i * Tp() + j] * mask.scale : 0.0f;
  }

  // out (T rows, ldo apart) = w · rows, w lower triangular (row i sums rows 0..i), or wᵀ · rows (row i sums rows
  // i..T-1), from w as it is stored.
  void Times(const float* w, bool transposed, const float* rows, long ldr, float* out, long ldo) const {
    ForRowBlocks(T, [&](long i0, int R) {
      if (transposed) {
        ATTENTION_DISPATCH(R, TransposedWeightedSum, w + i0, Tp(), i0, T, rows, ldr, hs, out + i0 * ldo, ldo);
      } else {
        ATTENTION_DISPATCH(R, LowerWeightedSum, w + i0 * Tp(), Tp(), 0, i0 + R, rows, ldr, hs, out + i0 * ldo, ldo);
      }
    });
  }

  // Per-thread scratch: n buffers of (T, Tp) floats, and two of (hs, Tp).
  template <typename Body>
  void ForHeads(int n, const Body& body) const {
    ForRows(B * nh, int(std::min(256L, B * nh)), [&](int, long r0, long r1) {
      // Kept between calls (every buffer is written before it is read), rather than a fresh, zeroed one each task.
      thread_local std::vector<float> scratch;
      const size_t need = size_t(n) * T * Tp() + 2 * hs * Tp();
      if (scratch.size() < need) scratch.resize(need);
      for (long r = r0; r < r1; r++) body(r / nh, r % nh, scratch.data());
    });
  }

  void Forward(const float* qkv, float* y) const {
    ForHeads(1, [&](long b, long h, float* scratch) {
      float* a = scratch;
      float* kt = a + T * Tp();
      Transposed(Part(qkv, b, 1, h), 3 * C(), kt);
      Weights(Part(qkv, b, 0, h), kt, a);
      if (mask.active) Drop(b, h, a, a);
      Times(a, false, Part(qkv, b, 2, h), 3 * C(), y + b * T * C() + h * hs, C());
    });
  }

  // The gradient: with a the weights, w = dropout(a) and dw = dy vᵀ,
  //   dv = wᵀ dy;  da = dropout's gradient of dw (kept ones scaled, the rest 0);  ds = a * (da − Σ a·da) * scale;
  //   dq = ds k;  dk = dsᵀ q.  dqkv (B, T, 3C) gets dq, dk, dv in qkv's layout.
  void Backward(const float* dy, const float* qkv, float* dqkv) const {
    ForHeads(4, [&](long b, long h, float* scratch) {
      float *a = scratch, *w = a + T * Tp(), *ds = w + T * Tp(), *t = ds + T * Tp(), *kt = t + T * Tp(), *vt = kt + hs * Tp();
      const float *q = Part(qkv, b, 0, h), *k = Part(qkv, b, 1, h), *v = Part(qkv, b, 2, h), *dyb = dy + b * T * C() + h * hs;
      Transposed(k, 3 * C(), kt);
      Transposed(v, 3 * C(), vt);
      Weights(q, kt, a);
      if (mask.active) {
        Drop(b, h, a, w);
      } else {
        std::copy(a, a + T * Tp(), w);
      }
      ForRowBlocks(T, [&](long i0, int R) {  // da = dy vᵀ, into ds
        ATTENTION_DISPATCH(R, RowsTimesT, dyb + i0 * C(), C(), vt, Tp(), hs, Causal8(i0 + R), ds + i0 * Tp(), Tp());
      });
      for (long i = 0; i < T; i++) {
        const long n = i + 1;
        const float* ai = a + i * Tp();
        float* di = ds + i * Tp();
        if (mask.active)
          for (long j = 0; j < n; j++) di[j] = mask.Keep(Index(b, h, i, j)) ? di[j] * mask.scale : 0.0f;
        float* prod = t;  // scratch for this row
        for (long j = 0; j < n; j++) prod[j] = di[j] * ai[j];
        const float dot = Sum(prod, n);
        for (long j = 0; j < n; j++) di[j] = ai[j] * (di[j] - dot) * scale;
        std::fill(di + n, di + Tp(), 0.0f);
      }
      Times(ds, false, k, 3 * C(), dqkv + b * T * 3 * C() + h * hs, 3 * C());  // dq = ds k
      Times(w, true, dyb, C(), dqkv + b * T * 3 * C() + 2 * C() + h * hs, 3 * C());  // dv = wᵀ dy
      Times(ds, true, q, 3 * C(), dqkv + b * T * 3 * C() + C() + h * hs, 3 * C());  // dk = dsᵀ q
    });
  }
};
#undef ATTENTION_DISPATCH

// Element-wise kernels, rounding as the wasm ones do (one IEEE operation an element): the same bits.
// out (n) = a op b, where one operand may be shorter and repeat along the leading axes (a bias over rows, a scalar).
enum class BinaryOp { kAdd = 0, kMul = 1 };
enum class UnaryOp { kRelu = 0, kStep = 1 };

constexpr long kElementChunk = 1 << 13;  // elements per task: model A's (512, 64) activations in 4

template <typename Body>
void ForChunks(long n, const Body& body) {
  const int tasks = int((n + kElementChunk - 1) / kElementChunk);
  auto task = [&](int t) { body(t * kElementChunk, std::min(n, (t + 1) * kElementChunk)); };
  if (tasks <= 1) {
    body(0, n);
  } else {
    ThePool().Run(tasks, task);
  }
}

template <BinaryOp kOp>
inline float Apply(float x, float y) {
  return kOp == BinaryOp::kAdd ? x + y : x * y;
}

template <BinaryOp kOp>
void BinaryRange(const float* a, long na, const float* b, long nb, float* out, long begin, long end) {
  if (na == nb) {
    for (long i = begin; i < end; i++) out[i] = Apply<kOp>(a[i], b[i]);
    return;
  }
  const long w = std::min(na, nb);  // the repeated operand's length
  for (long i = begin; i < end;) {
    const long j0 = i % w, run = std::min(end - i, w - j0);
    const float* x = na == w ? a + j0 : a + i;
    const float* y = nb == w ? b + j0 : b + i;
    float* o = out + i;
    for (long j = 0; j < run; j++) o[j] = Apply<kOp>(x[j], y[j]);
    i += run;
  }
}

void Binary(BinaryOp op, const float* a, long na, const float* b, long nb, float* out, long n) {
  ForChunks(n, [&](long begin, long end) {
    if (op == BinaryOp::kAdd) BinaryRange<BinaryOp::kAdd>(a, na, b, nb, out, begin, end);
    else BinaryRange<BinaryOp::kMul>(a, na, b, nb, out, begin, end);
  });
}

// relu: max(0, x) as Math.max (NaN stays NaN, -0 becomes 0); step: 1 where x > 0, else alpha (NaN stays NaN).
// Branch-free (blends): the signs of activations are as good as random, and a branch on each costs a misprediction.
inline __m256 Step8(__m256 v, __m256 low, __m256 high) {
  const __m256 r = _mm256_blendv_ps(low, high, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ));
  return _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

inline float Step1(float x, float low, float high) { return x > 0 ? high : (x != x ? x : low); }

void Unary(UnaryOp op, const float* x, float* out, long n, float alpha) {
  const bool relu = op == UnaryOp::kRelu;
  const float low = relu ? 0.0f : alpha;
  ForChunks(n, [&](long begin, long end) {
    long i = begin;
    for (; i + 8 <= end; i += 8) {
      const __m256 v = _mm256_loadu_ps(x + i);
      _mm256_storeu_ps(out + i, Step8(v, _mm256_set1_ps(low), relu ? v : _mm256_set1_ps(1.0f)));
    }
    for (; i < end; i++) out[i] = Step1(x[i], low, relu ? x[i] : 1.0f);
  });
}

// The gradient of relu, as tfjs computes it (dy · step(x), step(x) a float 0 or 1, NaN where x is): dx = dy * step(x).
void ReluGrad(const float* dy, const float* x, float* dx, long n) {
  ForChunks(n, [&](long begin, long end) {
    long i = begin;
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= end; i += 8) _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), Step8(_mm256_loadu_ps(x + i), zero, one)));
    for (; i < end; i++) dx[i] = dy[i] * Step1(x[i], 0.0f, 1.0f);
  });
}

#pragma GCC pop_options

// ---------------------------------------------------------------------------------------------------------------------
// Node-API bindings.

bool Throw(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return false;
}

bool GetFloats(napi_env env, napi_value value, float** data, size_t* length) {
  bool isTyped = false;
  napi_is_typedarray(env, value, &isTyped);
  if (!isTyped) return Throw(env, "expected a Float32Array");
  napi_typedarray_type type;
  void* raw = nullptr;
  napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr);
  if (type != napi_float32_array) return Throw(env, "expected a Float32Array");
  *data = static_cast<float*>(raw);
  return true;
}

// The call's arguments into argv; false (with a JavaScript error) unless there are exactly n.
bool GetArgs(napi_env env, napi_callback_info info, size_t n, napi_value* argv, const char* usage) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return argc == n || Throw(env, usage);
}

bool GetNumber(napi_env env, napi_value value, double* out) {
  if (napi_get_value_double(env, value, out) != napi_ok) return Throw(env, "expected a number");
  return true;
}

// matmul(a, b, c, batchA, batchB, M, K, N, transA, transB[, bias]): c = a @ b per slice (+ bias on every row); a batch
// of 1 is shared.
napi_value MatMulBinding(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  size_t argc = 13;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 10 || argc > 13) return Throw(env, "matmul takes 10 arguments, then a bias, relu (0 or 1) and sums of A"), nullptr;
  float *a, *b, *c;
  size_t la, lb, lc;
  double d[7];
  if (!GetFloats(env, argv[0], &a, &la) || !GetFloats(env, argv[1], &b, &lb) || !GetFloats(env, argv[2], &c, &lc)) return nullptr;
  for (int i = 0; i < 7; i++) {
    if (!GetNumber(env, argv[3 + i], &d[i])) return nullptr;
  }
  const long batchA = long(d[0]), batchB = long(d[1]), M = long(d[2]), K = long(d[3]), N = long(d[4]);
  const bool transA = d[5] != 0, transB = d[6] != 0;
  const long batch = std::max(batchA, batchB);
  if (M < 1 || K < 1 || N < 1 || (batchA != batch && batchA != 1) || (batchB != batch && batchB != 1)) {
    return Throw(env, "matmul: bad shapes"), nullptr;
  }
  if (size_t(batchA * M * K) != la || size_t(batchB * K * N) != lb || size_t(batch * M * N) != lc) {
    return Throw(env, "matmul: array lengths do not match the shapes"), nullptr;
  }
  MatMul mm{a, b, c, int(batch), int(M), int(K), int(N), transA, transB, batchA == 1 ? 0 : M * K, batchB == 1 ? 0 : K * N,
             g_isa.load()};
  napi_valuetype biasType = napi_undefined;
  if (argc >= 11) napi_typeof(env, argv[10], &biasType);
  if (biasType != napi_undefined && biasType != napi_null) {
    float* bias;
    size_t lbias;
    if (!GetFloats(env, argv[10], &bias, &lbias)) return nullptr;
    if (size_t(N) != lbias) return Throw(env, "matmul: the bias must have N values"), nullptr;
    mm.bias = bias;
  }
  if (argc >= 12) {
    double relu;
    if (!GetNumber(env, argv[11], &relu)) return nullptr;
    mm.relu = relu != 0;
  }
  napi_valuetype sumsType = napi_undefined;
  if (argc == 13) napi_typeof(env, argv[12], &sumsType);
  if (sumsType != napi_undefined && sumsType != napi_null) {  // transA, one slice: sums over k of each row of A
    float* sums;
    size_t lsums;
    if (!GetFloats(env, argv[12], &sums, &lsums)) return nullptr;
    if (!transA || batch != 1) return Throw(env, "matmul: sums of A need transA and one slice"), nullptr;
    if (size_t(M) != lsums) return Throw(env, "matmul: the sums of A must have M values"), nullptr;
    mm.sumsA = sums;
  }
  if (batchB == 1 && batchA > 1 && !transA) {  // a shared right operand: the slices of A are just more rows
    mm.M = int(batchA * M);
    mm.batch = 1;
    mm.strideA = 0;
  }
  mm.Run();
  return nullptr;
}

// adamw([p0, g0, m0, v0, p1, g1, m1, v1, ...], [beta1, 1-beta1, beta2, 1-beta2, bias2Sqrt, eps, 1-lr*wd, stepSize]):
// one AdamW step of every parameter; each p, m and v is overwritten. The caller guarantees that no two arrays overlap.
napi_value AdamWBinding(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!GetArgs(env, info, 2, argv, "adamw takes 2 arguments")) return nullptr;
  uint32_t count = 0;
  bool isArray = false;
  napi_is_array(env, argv[0], &isArray);
  if (!isArray || napi_get_array_length(env, argv[0], &count) != napi_ok || count % 4 != 0) {
    return Throw(env, "adamw: expected an array of Float32Arrays, four a parameter (p, g, m, v)"), nullptr;
  }
  std::vector<AdamWParam> params(count / 4);
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    napi_get_element(env, argv[0], i, &element);
    float* data;
    size_t length;
    if (!GetFloats(env, element, &data, &length)) return nullptr;
    AdamWParam& q = params[i / 4];
    if (i % 4 == 0) {
      q.p = data;
      q.n = length;
    } else if (length != q.n) {
      return Throw(env, "adamw: a parameter's p, g, m and v differ in length"), nullptr;
    }
    if (i % 4 == 1) q.g = data;
    if (i % 4 == 2) q.m = data;
    if (i % 4 == 3) q.v = data;
  }
  float* scalars;
  size_t n;
  if (!GetFloats(env, argv[1], &scalars, &n)) return nullptr;
  if (n != 8) return Throw(env, "adamw: expected 8 scalars"), nullptr;
  AdamW(params, AdamWScalars{scalars[0], scalars[1], scalars[2], scalars[3], scalars[4], scalars[5], scalars[6], scalars[7]});
  return nullptr;
}

// sumRows(x, out, rows, cols)
napi_value SumRowsBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "sumRows takes 4 arguments")) return nullptr;
  float *x, *out;
  size_t lx, lo;
  double rows, cols;
  if (!GetFloats(env, argv[0], &x, &lx) || !GetFloats(env, argv[1], &out, &lo) || !GetNumber(env, argv[2], &rows) ||
      !GetNumber(env, argv[3], &cols)) {
    return nullptr;
  }
  if (size_t(rows * cols) != lx || size_t(cols) != lo) return Throw(env, "sumRows: array lengths do not match the shape"), nullptr;
  SumRows(x, out, long(rows), long(cols));
  return nullptr;
}

// dropout(x, out, p, seed): out = x with each element zeroed with probability p (seeded) and the rest scaled by 1/(1-p)
napi_value DropoutBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "dropout takes 4 arguments")) return nullptr;
  float *x, *out;
  size_t lx, lo;
  double p, seed;
  if (!GetFloats(env, argv[0], &x, &lx) || !GetFloats(env, argv[1], &out, &lo) || !GetNumber(env, argv[2], &p) ||
      !GetNumber(env, argv[3], &seed)) {
    return nullptr;
  }
  if (lx != lo) return Throw(env, "dropout: x and out differ in length"), nullptr;
  if (!(p >= 0 && p < 1)) return Throw(env, "dropout: p must be in [0, 1)"), nullptr;
  Dropout d{x, out, lx, DropoutMask::Of(p, uint32_t(int64_t(seed)))};
  d.Run();
  return nullptr;
}

bool GetInts(napi_env env, napi_value value, int32_t** data, size_t* length) {
  bool isTyped = false;
  napi_is_typedarray(env, value, &isTyped);
  if (!isTyped) return Throw(env, "expected an Int32Array");
  napi_typedarray_type type;
  void* raw = nullptr;
  napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr);
  if (type != napi_int32_array) return Throw(env, "expected an Int32Array");
  *data = static_cast<int32_t*>(raw);
  return true;
}

// Reads argv[from ..) as `count` whole numbers >= 0 into out; false (with a JavaScript error) otherwise.
bool GetSizes(napi_env env, napi_value* argv, int count, long* out) {
  for (int i = 0; i < count; i++) {
    double d;
    if (!GetNumber(env, argv[i], &d)) return false;
    if (!(d >= 0) || d != std::floor(d)) return Throw(env, "expected a whole number >= 0");
    out[i] = long(d);
  }
  return true;
}

// Reads `count` Float32Arrays from argv, each of the length in `lengths` (-1: any); false with an error otherwise.
bool GetFloatArgs(napi_env env, napi_value* argv, int count, float** out, const long* lengths, const char* what) {
  for (int i = 0; i < count; i++) {
    size_t n;
    if (!GetFloats(env, argv[i], &out[i], &n)) return false;
    if (lengths[i] >= 0 && long(n) != lengths[i]) return Throw(env, what);
  }
  return true;
}

// layerNorm(x, w, b, y, rows, cols, eps)
napi_value LayerNormBinding(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!GetArgs(env, info, 7, argv, "layerNorm takes 7 arguments")) return nullptr;
  long s[2];
  double eps;
  if (!GetSizes(env, argv + 4, 2, s) || !GetNumber(env, argv[6], &eps)) return nullptr;
  float* a[4];
  const long lengths[4] = {s[0] * s[1], s[1], s[1], s[0] * s[1]};
  if (!GetFloatArgs(env, argv, 4, a, lengths, "layerNorm: array lengths do not match the shape")) return nullptr;
  LayerNormForward(a[0], a[1], a[2], a[3], s[0], s[1], float(eps));
  return nullptr;
}

// layerNormGrad(dy, x, w, dx, dw, db, rows, cols, eps)
napi_value LayerNormGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!GetArgs(env, info, 9, argv, "layerNormGrad takes 9 arguments")) return nullptr;
  long s[2];
  double eps;
  if (!GetSizes(env, argv + 6, 2, s) || !GetNumber(env, argv[8], &eps)) return nullptr;
  float* a[6];
  const long n = s[0] * s[1], lengths[6] = {n, n, s[1], n, s[1], s[1]};
  if (!GetFloatArgs(env, argv, 6, a, lengths, "layerNormGrad: array lengths do not match the shape")) return nullptr;
  LayerNormBackward(a[0], a[1], a[2], a[3], a[4], a[5], s[0], s[1], float(eps));
  return nullptr;
}

// causalSoftmax(x, y, rows, T)
napi_value CausalSoftmaxBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "causalSoftmax takes 4 arguments")) return nullptr;
  long s[2];
  if (!GetSizes(env, argv + 2, 2, s)) return nullptr;
  if (s[1] < 1 || s[0] % s[1] != 0) return Throw(env, "causalSoftmax: rows must be a multiple of T"), nullptr;
  float* a[2];
  const long lengths[2] = {s[0] * s[1], s[0] * s[1]};
  if (!GetFloatArgs(env, argv, 2, a, lengths, "causalSoftmax: array lengths do not match the shape")) return nullptr;
  CausalSoftmaxForward(a[0], a[1], s[0], s[1]);
  return nullptr;
}

// causalSoftmaxGrad(dy, y, dx, rows, T)
napi_value CausalSoftmaxGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!GetArgs(env, info, 5, argv, "causalSoftmaxGrad takes 5 arguments")) return nullptr;
  long s[2];
  if (!GetSizes(env, argv + 3, 2, s)) return nullptr;
  if (s[1] < 1 || s[0] % s[1] != 0) return Throw(env, "causalSoftmaxGrad: rows must be a multiple of T"), nullptr;
  float* a[3];
  const long lengths[3] = {s[0] * s[1], s[0] * s[1], s[0] * s[1]};
  if (!GetFloatArgs(env, argv, 3, a, lengths, "causalSoftmaxGrad: array lengths do not match the shape")) return nullptr;
  CausalSoftmaxBackward(a[0], a[1], a[2], s[0], s[1]);
  return nullptr;
}

// crossEntropy(logits, targets, N, V) -> the mean loss
napi_value CrossEntropyBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "crossEntropy takes 4 arguments")) return nullptr;
  long s[2];
  if (!GetSizes(env, argv + 2, 2, s)) return nullptr;
  float* logits;
  int32_t* targets;
  size_t nl, nt;
  if (!GetFloats(env, argv[0], &logits, &nl) || !GetInts(env, argv[1], &targets, &nt)) return nullptr;
  if (s[0] < 1 || s[1] < 1 || long(nl) != s[0] * s[1] || long(nt) != s[0]) return Throw(env, "crossEntropy: array lengths do not match the shape"), nullptr;
  napi_value out;
  napi_create_double(env, CrossEntropyForward(logits, targets, s[0], s[1]), &out);
  return out;
}

// crossEntropyGrad(logits, targets, dloss, dx, N, V)
napi_value CrossEntropyGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!GetArgs(env, info, 6, argv, "crossEntropyGrad takes 6 arguments")) return nullptr;
  long s[2];
  double dloss;
  if (!GetSizes(env, argv + 4, 2, s) || !GetNumber(env, argv[2], &dloss)) return nullptr;
  float *logits, *dx;
  int32_t* targets;
  size_t nl, nt, nd;
  if (!GetFloats(env, argv[0], &logits, &nl) || !GetInts(env, argv[1], &targets, &nt) || !GetFloats(env, argv[3], &dx, &nd)) return nullptr;
  if (s[0] < 1 || s[1] < 1 || long(nl) != s[0] * s[1] || long(nd) != s[0] * s[1] || long(nt) != s[0]) {
    return Throw(env, "crossEntropyGrad: array lengths do not match the shape"), nullptr;
  }
  CrossEntropyBackward(logits, targets, float(dloss), dx, s[0], s[1]);
  return nullptr;
}

// copyRows(src, srcOffset, srcStride, dst, dstOffset, dstStride, rows, width)
napi_value CopyRowsBinding(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!GetArgs(env, info, 8, argv, "copyRows takes 8 arguments")) return nullptr;
  float *src, *dst;
  size_t ns, nd;
  long a[2], b[4];
  if (!GetFloats(env, argv[0], &src, &ns) || !GetSizes(env, argv + 1, 2, a) || !GetFloats(env, argv[3], &dst, &nd) ||
      !GetSizes(env, argv + 4, 4, b)) {
    return nullptr;
  }
  const long srcOffset = a[0], srcStride = a[1], dstOffset = b[0], dstStride = b[1], rows = b[2], width = b[3];
  if (rows > 0 && width > 0 &&
      (srcOffset + (rows - 1) * srcStride + width > long(ns) || dstOffset + (rows - 1) * dstStride + width > long(nd))) {
    return Throw(env, "copyRows: the rows reach past the end of an array"), nullptr;
  }
  if (rows > 0 && width > 0) CopyRows(src, srcOffset, srcStride, dst, dstOffset, dstStride, rows, width);
  return nullptr;
}

// transpose(x, out, shape, perm): shape and perm Int32Arrays of the same rank (1..6); perm keeps the last axis.
napi_value TransposeBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "transpose takes 4 arguments")) return nullptr;
  float *x, *out;
  int32_t *shape, *perm;
  size_t nx, no, rank, np;
  if (!GetFloats(env, argv[0], &x, &nx) || !GetFloats(env, argv[1], &out, &no) || !GetInts(env, argv[2], &shape, &rank) ||
      !GetInts(env, argv[3], &perm, &np)) {
    return nullptr;
  }
  if (rank < 1 || rank > 6 || np != rank || perm[rank - 1] != int32_t(rank - 1)) return Throw(env, "transpose: rank 1..6, last axis kept"), nullptr;
  long s[6], p[6], size = 1;
  bool seen[6] = {false, false, false, false, false, false};
  for (size_t d = 0; d < rank; d++) {
    if (shape[d] < 0 || perm[d] < 0 || perm[d] >= int32_t(rank) || seen[perm[d]]) return Throw(env, "transpose: bad shape or perm"), nullptr;
    seen[perm[d]] = true;
    s[d] = shape[d];
    p[d] = perm[d];
    size *= s[d];
  }
  if (long(nx) != size || long(no) != size) return Throw(env, "transpose: array lengths do not match the shape"), nullptr;
  if (size > 0) TransposeKeepLast(x, out, s, p, int(rank));
  return nullptr;
}

// isa(): the instruction set the matmul runs on ("AVX-512" or "AVX2"); isa(name): switches to "avx512" or "avx2"
// (for the tests and the benchmark: both paths in one process) and returns the previous one.
napi_value IsaBinding(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  const Isa* previous = g_isa.load();
  if (argc >= 1) {
    char name[16] = {0};
    size_t length = 0;
    if (napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &length) != napi_ok) return Throw(env, "isa: expected a string"), nullptr;
    if (std::strcmp(name, "avx2") == 0) {
      g_isa.store(&kAvx2);
    } else if (std::strcmp(name, "avx512") == 0) {
      if (!HasAvx512()) return Throw(env, "isa: this CPU has no AVX-512"), nullptr;
      g_isa.store(&kAvx512);
    } else {
      return Throw(env, "isa: expected \"avx2\" or \"avx512\""), nullptr;
    }
  }
  napi_value out;
  napi_create_string_utf8(env, previous->name, NAPI_AUTO_LENGTH, &out);
  return out;
}

// causalAttention(qkv, y, B, T, nh, hs, scale, p, seed): p = 0 for no dropout
// causalAttentionGrad(dy, qkv, dqkv, B, T, nh, hs, scale, p, seed)
bool GetAttention(napi_env env, napi_value* argv, Attention* att) {
  long s[4];
  double scale, p, seed;
  if (!GetSizes(env, argv, 4, s) || !GetNumber(env, argv[4], &scale) || !GetNumber(env, argv[5], &p) || !GetNumber(env, argv[6], &seed)) return false;
  if (s[0] < 1 || s[1] < 1 || s[2] < 1 || s[3] < 1) return Throw(env, "causalAttention: B, T, nh and hs must be at least 1");
  if (!(p >= 0 && p < 1)) return Throw(env, "causalAttention: p must be in [0, 1)");
  *att = Attention{s[0], s[1], s[2], s[3], float(scale), p > 0 ? DropoutMask::Of(p, uint32_t(int64_t(seed))) : DropoutMask{}};
  return true;
}

napi_value CausalAttentionBinding(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!GetArgs(env, info, 9, argv, "causalAttention takes 9 arguments")) return nullptr;
  Attention att;
  if (!GetAttention(env, argv + 2, &att)) return nullptr;
  float* a[2];
  const long lengths[2] = {att.B * att.T * 3 * att.C(), att.B * att.T * att.C()};
  if (!GetFloatArgs(env, argv, 2, a, lengths, "causalAttention: array lengths do not match the shape")) return nullptr;
  att.Forward(a[0], a[1]);
  return nullptr;
}

napi_value CausalAttentionGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (!GetArgs(env, info, 10, argv, "causalAttentionGrad takes 10 arguments")) return nullptr;
  Attention att;
  if (!GetAttention(env, argv + 3, &att)) return nullptr;
  float* a[3];
  const long n = att.B * att.T * att.C(), lengths[3] = {n, 3 * n, 3 * n};
  if (!GetFloatArgs(env, argv, 3, a, lengths, "causalAttentionGrad: array lengths do not match the shape")) return nullptr;
  att.Backward(a[0], a[1], a[2]);
  return nullptr;
}

// binary(op, a, b, out): op 0 add, 1 multiply; a or b may be shorter than out, dividing its length (repeated)
napi_value BinaryBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "binary takes 4 arguments")) return nullptr;
  double op;
  float *a, *b, *out;
  size_t na, nb, n;
  if (!GetNumber(env, argv[0], &op) || !GetFloats(env, argv[1], &a, &na) || !GetFloats(env, argv[2], &b, &nb) || !GetFloats(env, argv[3], &out, &n)) return nullptr;
  if (op != 0 && op != 1) return Throw(env, "binary: op must be 0 (add) or 1 (multiply)"), nullptr;
  if (!(std::max(na, nb) == n && na > 0 && nb > 0 && n % na == 0 && n % nb == 0)) {
    return Throw(env, "binary: each operand must have out's length, or a length that divides it"), nullptr;
  }
  Binary(BinaryOp(int(op)), a, long(na), b, long(nb), out, long(n));
  return nullptr;
}

// unary(op, x, out, alpha): op 0 relu, 1 step (alpha where x <= 0)
napi_value UnaryBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "unary takes 4 arguments")) return nullptr;
  double op, alpha;
  float *x, *out;
  size_t nx, n;
  if (!GetNumber(env, argv[0], &op) || !GetFloats(env, argv[1], &x, &nx) || !GetFloats(env, argv[2], &out, &n) || !GetNumber(env, argv[3], &alpha)) return nullptr;
  if (op != 0 && op != 1) return Throw(env, "unary: op must be 0 (relu) or 1 (step)"), nullptr;
  if (nx != n) return Throw(env, "unary: x and out differ in length"), nullptr;
  Unary(UnaryOp(int(op)), x, out, long(n), float(alpha));
  return nullptr;
}

// reluGrad(dy, x, dx): dx = dy * step(x), all of one length
napi_value ReluGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!GetArgs(env, info, 3, argv, "reluGrad takes 3 arguments")) return nullptr;
  float *dy, *x, *dx;
  size_t n0, n1, n2;
  if (!GetFloats(env, argv[0], &dy, &n0) || !GetFloats(env, argv[1], &x, &n1) || !GetFloats(env, argv[2], &dx, &n2)) return nullptr;
  if (n0 != n1 || n0 != n2) return Throw(env, "reluGrad: dy, x and dx differ in length"), nullptr;
  ReluGrad(dy, x, dx, long(n0));
  return nullptr;
}

napi_value ThreadsBinding(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, ThePool().threads(), &out);
  return out;
}

}  // namespace

NAPI_MODULE_INIT() {
  const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  napi_value value;
  napi_get_boolean(env, supported, &value);
  napi_set_named_property(env, exports, "supported", value);
  if (!supported) return exports;  // the loader reads `supported` and falls back
  g_isa.store(ChooseIsa());
  napi_get_boolean(env, HasAvx512(), &value);
  napi_set_named_property(env, exports, "avx512", value);
  const std::pair<const char*, napi_callback> functions[] = {
      {"matmul", MatMulBinding}, {"adamw", AdamWBinding}, {"sumRows", SumRowsBinding}, {"dropout", DropoutBinding}, {"isa", IsaBinding}, {"threads", ThreadsBinding},
      {"layerNorm", LayerNormBinding}, {"layerNormGrad", LayerNormGradBinding}, {"causalSoftmax", CausalSoftmaxBinding},
      {"causalSoftmaxGrad", CausalSoftmaxGradBinding}, {"crossEntropy", CrossEntropyBinding},
      {"crossEntropyGrad", CrossEntropyGradBinding}, {"copyRows", CopyRowsBinding}, {"transpose", TransposeBinding},
      {"causalAttention", CausalAttentionBinding}, {"causalAttentionGrad", CausalAttentionGradBinding},
      {"binary", BinaryBinding}, {"unary", UnaryBinding}, {"reluGrad", ReluGradBinding}};
  for (const auto& [name, fn] : functions) {
    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &value);
    napi_set_named_property(env, exports, name, value);
  }
  return exports;
}
