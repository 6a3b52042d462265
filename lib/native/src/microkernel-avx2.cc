// The matmul's AVX2 micro-kernel: R <= 6 rows x 16 columns of C in registers, with fused multiply-adds in order of k
// (twice the throughput of a multiply and an add). WebAssembly has no fused multiply-add, so the results differ from
// the WebAssembly route's in the last bits (each product is rounded there before it is added). Compiled in the AVX2
// set only (x86-64).
#include "kernels.h"
#include "simd.h"

GPT_TARGET_PUSH
namespace gpt::avx2 {
namespace {

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
  // The sums in named variables: in arrays, GCC 12 stores all twelve to the stack at every k (a store for each
  // multiply-add); named, they stay in registers.
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

constexpr MicroKernelFn kMicroKernels[kRows + 1] = {nullptr,          MicroKernel<1>, MicroKernel<2>, MicroKernel<3>,
                                                    MicroKernel<4>, MicroKernel<5>, MicroKernel<6>};

}  // namespace

extern const MicroKernels kTile{kCols, kRows, kMicroKernels};

}  // namespace gpt::avx2
GPT_TARGET_POP
