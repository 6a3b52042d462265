// The matmul's driver, compiled for each instruction set: C (M, N) = A (M, K) @ B (K, N), where A and B may each be
// stored transposed, for each of `batch` slices. B is copied a tile's width of columns at a time into a panel (K,
// width); a micro-kernel (microkernel-*.cc) then computes a tile of C in registers, adding the products in order of k.
// How C is cut into tiles and tasks changes no element's arithmetic, so every tile size gives the same bits.
#include <vector>

#include "isa-kernels.h"
#include "pool.h"
#include "simd.h"

GPT_TARGET_PUSH
namespace gpt::GPT_ISA {
namespace {

// A per-thread, 64-byte aligned scratch panel of K x `cols` floats.
float* Panel(int K, int cols) {
  thread_local std::vector<float> storage;
  const size_t need = size_t(K) * cols + 16;
  if (storage.size() < need) storage.resize(need);
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~uintptr_t(63));
}

// dst[0..width) = src[0..width), width a multiple of 8 (a whole panel row).
inline void CopyPanelRow(const float* src, float* dst, int width) {
#if defined(GPT_ISA_AVX2)
  for (int j = 0; j < width; j += 8) _mm256_store_ps(dst + j, _mm256_loadu_ps(src + j));  // cheaper than a memmove call a row
#else
  for (int j = 0; j < width; j++) dst[j] = src[j];
#endif
}

// Rows i .. i+rows-1 of A stored (K, M), M floats a k apart, into out (K, rows): the rows of one k side by side. With
// sums, also sums[r] = Σ_k A(i + r, k), one float add at a time in order of k from +0, as sumRows adds the rows of A
// as stored (the same bits, one pass over A fewer).
inline void CopyTile(const float* as, long M, int K, int rows, float* out, float* sums) {
#if defined(GPT_ISA_AVX2)
  if (!sums) {
    for (int k = 0; k < K; k++) CopyFew(as + long(k) * M, out + k * rows, rows);
    return;
  }
  const __m256i m0 = FirstLanes(std::min(rows, 8)), m1 = FirstLanes(rows - 8);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (int k = 0; k < K; k++) {
    const float* ak = as + long(k) * M;
    CopyFew(ak, out + k * rows, rows);
    s0 = _mm256_add_ps(s0, _mm256_maskload_ps(ak, m0));
    s1 = _mm256_add_ps(s1, _mm256_maskload_ps(ak + 8, m1));
  }
  _mm256_maskstore_ps(sums, m0, s0);
  _mm256_maskstore_ps(sums + 8, m1, s1);
#else
  for (int k = 0; k < K; k++) std::copy(as + long(k) * M, as + long(k) * M + rows, out + k * rows);
  if (!sums) return;
  std::fill(sums, sums + rows, 0.0f);
  for (int k = 0; k < K; k++)
    for (int r = 0; r < rows; r++) sums[r] += as[long(k) * M + r];
#endif
}

// One product: its arguments, the micro-kernels it runs on, and A's tiles where RunTransposedA made them.
struct Product : MatMulArgs {
  const MicroKernels* tile;
  const float* tilesA = nullptr;  // A in tiles of the micro-kernel's rows (RunTransposedA), or none: A as it is stored

  // Columns j0 .. j0+cols-1 of B's slice, as a (K, cols) panel padded with zeros (cols: the tile's width).
  void Pack(const float* bs, int j0, float* panel) const {
    const int width = tile->cols;
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
    if (cols == width) {  // a whole panel
      for (int k = 0; k < K; k++) CopyPanelRow(bs + long(k) * N + j0, panel + k * width, width);
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
    float* panel = Panel(K, tile->cols);
    Pack(b + s * strideB, j0, panel);
    const int cols = std::min(tile->cols, N - j0);
    const int tiles = (M + tile->rows - 1) / tile->rows;
    for (int i = i0; i < i1; i += tile->rows) {
      const int rows = std::min(tile->rows, i1 - i);
      float* ci = cs + long(i) * N + j0;
      const float* bj = bias ? bias + j0 : nullptr;
      if (tilesA) {  // tile i / rows of slice s (i is a multiple of the tile height: Run's row blocks are)
        const float* t = tilesA + (size_t(strideA == 0 ? 0 : s) * tiles + i / tile->rows) * K * tile->rows;
        tile->kernels[rows](K, t, 1, rows, panel, bj, relu, ci, N, cols);
      } else {
        tile->kernels[rows](K, as + long(i) * K, K, 1, panel, bj, relu, ci, N, cols);
      }
    }
  }

  // A stored transposed, (K, M) per slice (a weight's gradient, dyᵀ x). Read as it is stored, each k of A lies M
  // floats after the one before: a long K walks through memory a page at a time, which starves the micro-kernel. So A
  // is first copied, on every thread, into tiles of the micro-kernel's rows: (K, rows) each, the rows of
  // one k side by side; then the product runs as for A untransposed, reading the tiles.
  void RunTransposedA() const {
    const int height = tile->rows, tiles = (M + height - 1) / height;
    const int slices = strideA == 0 ? 1 : batch;
    static std::vector<float> storage;  // reused: only the JavaScript thread starts a matmul
    storage.resize(size_t(slices) * tiles * K * height);
    float* packed = storage.data();
    auto task = [&](int t) {
      const int s = t / tiles, i = (t % tiles) * height, rows = std::min(height, M - i);
      CopyTile(a + s * strideA + i, M, K, rows, packed + size_t(t) * K * height, sumsA ? sumsA + i : nullptr);
    };
    if (double(slices) * M * K < 65536) {
      for (int t = 0; t < slices * tiles; t++) task(t);
    } else {
      ThePool().Run(slices * tiles, task);
    }
    Product plain = *this;
    plain.transA = false;
    plain.tilesA = packed;
    plain.Run();
  }

  void Run() const {
    if (transA) return RunTransposedA();
    Pool& pool = ThePool();
    const int width = tile->cols, height = tile->rows;
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

}  // namespace

void MatMul(const MatMulArgs& args, const MicroKernels& tile) {
  Product{args, &tile}.Run();
}

}  // namespace gpt::GPT_ISA
GPT_TARGET_POP
