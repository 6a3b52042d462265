// The matmul's AVX-512 micro-kernel: R <= 12 rows x 32 columns in registers (24 of the 32 zmm registers), products
// fused multiply-adds in order of k as in the AVX2 kernel, so its results are bit for bit that kernel's. Compiled in
// the AVX2 set (x86-64), for AVX-512 alone, and called only where the CPU has it (isa.cc).
#include "kernels.h"
#include "simd.h"

GPT_TARGET_AVX512_PUSH
namespace gpt::avx512 {
namespace {

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
  if (relu) {  // then relu, as the AVX2 kernel's Relu8: 0 unless x > 0 or x is NaN
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

}  // namespace

extern const MicroKernels kTile{kCols512, kRows512, kMicroKernels512};

}  // namespace gpt::avx512
GPT_TARGET_AVX512_POP
