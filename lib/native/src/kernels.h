// What the bindings call: the kernels' arguments, and the table of one instruction set's kernels. Each table is the
// same maths: AVX-512 and AVX2 give the same bits; the portable kernels give them too where the compiler targets
// fused multiply-adds (AArch64), and round each product of a matmul separately where it does not (x86-64's baseline).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gpt {

// A micro-kernel: C (rows x cols, ldc apart) = A (rows x K; a(i, k) = a[i * rowStride + k * colStride]) times a panel
// of B (K x tile columns, zero past `cols`), in fused multiply-adds in order of k from zero; then + bias (each column,
// one rounding) and relu (as Math.max(0, x)) where asked.
using MicroKernelFn = void (*)(int K, const float* a, long rowStride, long colStride, const float* panel, const float* bias,
                               bool relu, float* c, long ldc, int cols);

// An instruction set's micro-kernels and their tile: kernels[r] computes r rows (1 <= r <= rows), `cols` columns.
struct MicroKernels {
  int cols, rows;
  const MicroKernelFn* kernels;
};

// C (M, N) = A (M, K) @ B (K, N), where A and B may each be stored transposed, for each of `batch` slices.
struct MatMulArgs {
  const float* a;
  const float* b;
  float* c;
  int batch, M, K, N;
  bool transA, transB;
  long strideA, strideB;  // elements between batch slices (0: shared)
  const float* bias = nullptr;  // N floats added to every row of C, or none
  bool relu = false;  // C = relu(A B (+ bias)), relu applied as each tile is stored
  float* sumsA = nullptr;  // transA, one slice: sumsA[i] = Σ_k A(i, k), in order of k (a bias gradient), or none
};

// AdamW's scalars for one step (lib/src/train/adamw.ts):
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

// The GPU route's hash (lib/src/engine/webgpu.ts, lowbias32).
inline uint32_t Hash(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  return x ^ (x >> 16);
}

// The mask of one seeded dropout draw: element i is kept when Keep(i), and then scaled by `scale`. Keep(i) is a hash of
// (seed, i) alone, so the mask does not depend on how the work is split between threads: a seed gives the same mask on
// every run, on any thread count, and on the GPU route: u = (hash(hash(i + k1) ^ k2) >> 8) / 2^24, kept when u >= p.
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

// Causal self-attention of nh heads of hs channels over (B, T) tokens: scores scaled by `scale`, dropout on the weights
// where mask.active (training at p > 0).
struct AttentionShape {
  long B, T, nh, hs;
  float scale;
  DropoutMask mask;
  long C() const { return nh * hs; }
};

enum class BinaryOp { kAdd = 0, kMul = 1 };
enum class UnaryOp { kRelu = 0, kStep = 1 };

// One instruction set's kernels (see the bindings, bindings.cc, for what each computes).
struct Kernels {
  const char* name;
  const MicroKernels* tile;  // the matmul's micro-kernels
  void (*matmul)(const MatMulArgs& args, const MicroKernels& tile);
  void (*adamw)(const std::vector<AdamWParam>& params, const AdamWScalars& s);
  void (*sumRows)(const float* x, float* out, long rows, long cols);
  void (*dropout)(const float* x, float* out, size_t n, const DropoutMask& mask);
  void (*layerNorm)(const float* x, const float* w, const float* b, float* y, long rows, long C, float eps);
  void (*layerNormGrad)(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db, long rows, long C, float eps);
  void (*causalSoftmax)(const float* x, float* y, long rows, long T);
  void (*causalSoftmaxGrad)(const float* dy, const float* y, float* dx, long rows, long T);
  float (*crossEntropy)(const float* logits, const int32_t* targets, long N, long V);
  void (*crossEntropyGrad)(const float* logits, const int32_t* targets, float dloss, float* dx, long N, long V);
  void (*attention)(const AttentionShape& shape, const float* qkv, float* y);
  void (*attentionGrad)(const AttentionShape& shape, const float* dy, const float* qkv, float* dqkv);
  void (*binary)(BinaryOp op, const float* a, long na, const float* b, long nb, float* out, long n);
  void (*unary)(UnaryOp op, const float* x, float* out, long n, float alpha);
  void (*reluGrad)(const float* dy, const float* x, float* dx, long n);
};

// Each instruction set's table (table.cc, compiled for each) and micro-kernels (microkernel-*.cc).
namespace portable {
extern const Kernels kKernels;
extern const MicroKernels kTile;
}  // namespace portable
#if defined(__x86_64__)
namespace avx2 {
extern const Kernels kKernels;
extern const MicroKernels kTile;
}  // namespace avx2
namespace avx512 {
extern const MicroKernels kTile;
}  // namespace avx512
#endif

// Whether the portable kernels fuse the matmul's multiply-adds (simd.h, MulAdd): then they give AVX2's bits.
bool PortableFusesMultiplyAdds();

// The instruction sets (isa.cc): which this CPU runs, the one in use, and switching it.
bool HasAvx2();
bool HasAvx512();
const Kernels& Active();
// The kernels named "avx512", "avx2" or "portable"; nullptr for another name or one this CPU lacks.
const Kernels* KernelsNamed(const char* name);
void SetActive(const Kernels& kernels);

// Copies, the same on every instruction set (copies.cc). For each of `rows` rows, `width` floats from src + srcOffset +
// r * srcStride to dst + dstOffset + r * dstStride.
void CopyRows(const float* src, long srcOffset, long srcStride, float* dst, long dstOffset, long dstStride, long rows, long width);
// out = x transposed by perm (rank <= 6), for a perm that keeps the last axis.
void TransposeKeepLast(const float* x, float* out, const long* shape, const long* perm, int rank);

}  // namespace gpt
