// Building blocks shared by the kernels of one instruction set (target.h): sums, maxima and exp of float rows, and
// small copies and transposes. The AVX2 versions use intrinsics; the portable ones are plain loops that compute the
// same values (the same bits, except where a fused multiply-add is not available: see MulAdd).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "target.h"
#if defined(GPT_ISA_AVX2)
#include <immintrin.h>
#endif

GPT_TARGET_PUSH
namespace gpt::GPT_ISA {

// Sums of n floats in 8 independent lanes (vectorised), then the lanes in order.
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

// exp of floats, computed in double and rounded once to float: within about 1e-11 of exp(x) before the rounding, so
// the result is the correctly rounded one (as glibc's expf gives, itself within 0.502 ulp) except in rare near-ties,
// where the two can differ by 1 ulp. x = k·ln2 + r, |r| <= ln2/2 (ln2 in two parts, so r is exact to double
// precision), exp(r) by its Taylor series to r^11 (error < 1e-13), times 2^k. Below −200 the result is 0; NaN stays NaN.
constexpr double kLn2Hi = 0x1.62e42fefa39efp-1, kLn2Lo = 0x1.abc9e3b39803fp-56, kInvLn2 = 0x1.71547652b82fep0;
constexpr double kExpTaylor[12] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
                                   1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800};

#if defined(GPT_ISA_AVX2)

// Lanes 0..n-1 of 8 (1 <= n <= 8; none for n <= 0): the mask of a row's last, partial vector.
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

#else  // portable

// a·b + c, rounded once where the compiler targets fused multiply-adds (AArch64, or x86 built with FMA: GCC says so
// with __FP_FAST_FMAF, Clang with the instruction sets' macros), as the AVX2 kernels compute it; elsewhere rounded
// twice, since a library call for each would cost more than the WebAssembly kernels take. -ffp-contract=off keeps the
// compiler from fusing anything else.
#if defined(__FP_FAST_FMAF) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define GPT_FUSED_MULTIPLY_ADD 1
inline float MulAdd(float a, float b, float c) { return std::fma(a, b, c); }
inline double MulAdd(double a, double b, double c) { return std::fma(a, b, c); }
#else
inline float MulAdd(float a, float b, float c) { return a * b + c; }
inline double MulAdd(double a, double b, double c) { return a * b + c; }
#endif

// dst (8 rows, ldd apart) = the 8 x 8 block at src (lds apart) transposed.
inline void Transpose8x8(const float* src, long lds, float* dst, long ldd) {
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 8; j++) dst[j * ldd + i] = src[i * lds + j];
}

// ExpDoubles4's steps for one float. k = x/ln2 rounded to the nearest integer, ties to even (as _mm256_round_pd), by
// adding 1.5·2^52: the sum's last bit is then the units, and its low bits are k + 2^51, which give 2^k's exponent.
inline float Exp(float x) {
  constexpr double kShift = 0x1.8p52;
  double xd = double(x);
  xd = -200.0 > xd ? -200.0 : xd;  // as _mm256_max_pd: NaN stays NaN
  const double shifted = xd * kInvLn2 + kShift;
  const double k = shifted - kShift;
  const double r = MulAdd(k, -kLn2Lo, MulAdd(k, -kLn2Hi, xd));
  double p = kExpTaylor[11];
  for (int i = 10; i >= 0; i--) p = MulAdd(p, r, kExpTaylor[i]);
  uint64_t bits, shiftBits;
  std::memcpy(&bits, &shifted, sizeof bits);
  std::memcpy(&shiftBits, &kShift, sizeof shiftBits);
  const uint64_t exponent = (bits - shiftBits + 1023) << 52;  // NaN's gives garbage, but p is NaN then
  double scale;
  std::memcpy(&scale, &exponent, sizeof scale);
  return float(p * scale);
}

// The largest of x[0..n), n >= 1 (max is exact in any order; NaN is not expected here).
inline float Max(const float* x, long n) {
  float max = x[0];
  for (long j = 1; j < n; j++) max = std::max(max, x[j]);
  return max;
}

#endif

}  // namespace gpt::GPT_ISA
GPT_TARGET_POP
