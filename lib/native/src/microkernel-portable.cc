// The matmul's portable micro-kernel: R <= 6 rows x 16 columns of C, in plain loops that the compiler vectorises (on
// AArch64 the sums fill 24 of the 32 NEON registers). Each element is the AVX2 kernel's sum: products added in order of
// k from zero, fused where MulAdd fuses (simd.h), then the bias, then relu. Compiled in the portable set only.
#include "kernels.h"
#include "simd.h"

namespace gpt::portable {
namespace {

constexpr int kCols = 16;
constexpr int kRows = 6;

// relu as Math.max(0, x): NaN stays NaN, -0 becomes 0 (the bits of the AVX2 kernel's Relu8).
inline float Relu(float v) { return v > 0 ? v : (v != v ? v : 0.0f); }

// a(i, k) = a[i * rowStride + k * colStride]
template <int R>
void MicroKernel(int K, const float* a, long rowStride, long colStride, const float* panel, const float* bias, bool relu, float* c, long ldc, int cols) {
  float sums[R][kCols] = {};
  for (int k = 0; k < K; k++) {
    const float* bk = panel + k * kCols;
    const float* ak = a + k * colStride;
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      const float x = ak[r * rowStride];
#pragma GCC unroll 16
      for (int j = 0; j < kCols; j++) sums[r][j] = MulAdd(x, bk[j], sums[r][j]);
    }
  }
  for (int r = 0; r < R; r++) {
    for (int j = 0; j < cols; j++) {
      float v = sums[r][j];
      if (bias) v += bias[j];  // rounded once, as a separate addition would
      if (relu) v = Relu(v);  // then relu, as a separate Relu would
      c[r * ldc + j] = v;
    }
  }
}

constexpr MicroKernelFn kMicroKernels[kRows + 1] = {nullptr,          MicroKernel<1>, MicroKernel<2>, MicroKernel<3>,
                                                    MicroKernel<4>, MicroKernel<5>, MicroKernel<6>};

}  // namespace

extern const MicroKernels kTile{kCols, kRows, kMicroKernels};

}  // namespace gpt::portable

namespace gpt {

bool PortableFusesMultiplyAdds() {
#if defined(GPT_FUSED_MULTIPLY_ADD)
  return true;
#else
  return false;
#endif
}

}  // namespace gpt
