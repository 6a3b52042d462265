// Element-wise kernels, compiled for each instruction set: seeded dropout, add and multiply (with a repeated operand),
// relu, step and relu's gradient, and the column sum (a bias gradient). Each rounds as the wasm kernels do, one IEEE
// operation an element, so every instruction set gives the WebAssembly route's bits.
#include "isa-kernels.h"
#include "pool.h"
#include "simd.h"

GPT_TARGET_PUSH
namespace gpt::GPT_ISA {

// Sum over the leading axis of a (rows, cols) matrix: out[c] = x[0, c] + x[1, c] + ... in that order, as the wasm
// backend's Sum adds them after its transpose. (The gradient of a bias: dy summed over every row of a batch.)
void SumRows(const float* x, float* out, long rows, long cols) {
  std::fill(out, out + cols, 0.0f);
  for (long r = 0; r < rows; r++) {
    const float* row = x + r * cols;
    for (long c = 0; c < cols; c++) out[c] += row[c];
  }
}

namespace {

#if defined(GPT_ISA_AVX2)
// Hash (kernels.h) of 8 lanes.
inline __m256i Hash8(__m256i x) {
  x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
  x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0x7feb352d));
  x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 15));
  x = _mm256_mullo_epi32(x, _mm256_set1_epi32(int(0x846ca68bu)));
  return _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
}
#endif

// out[i] = mask.Keep(i) ? x[i] * scale : 0 for i in [begin, end).
void DropoutRange(const float* x, float* out, const DropoutMask& mask, size_t begin, size_t end) {
  size_t i = begin;
#if defined(GPT_ISA_AVX2)
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i k1v = _mm256_set1_epi32(int(mask.k1)), k2v = _mm256_set1_epi32(int(mask.k2));
  const __m256i below = _mm256_set1_epi32(mask.threshold - 1);
  const __m256 scalev = _mm256_set1_ps(mask.scale);
  for (; i + 8 <= end; i += 8) {
    __m256i h = _mm256_add_epi32(_mm256_add_epi32(_mm256_set1_epi32(int(uint32_t(i))), lanes), k1v);
    h = _mm256_srli_epi32(Hash8(_mm256_xor_si256(Hash8(h), k2v)), 8);
    const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(h, below));  // h < 2^24: a signed compare is exact
    _mm256_storeu_ps(out + i, _mm256_and_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), scalev), keep));
  }
#endif
  for (; i < end; i++) out[i] = mask.Keep(uint32_t(i)) ? x[i] * mask.scale : 0.0f;
}

}  // namespace

void Dropout(const float* x, float* out, size_t n, const DropoutMask& mask) {
  constexpr size_t kChunk = 1 << 16;  // elements per task
  const int tasks = int((n + kChunk - 1) / kChunk);
  auto task = [&](int t) { DropoutRange(x, out, mask, size_t(t) * kChunk, std::min(n, size_t(t + 1) * kChunk)); };
  if (tasks <= 1) {
    DropoutRange(x, out, mask, 0, n);
  } else {
    ThePool().Run(tasks, task);
  }
}

namespace {

template <BinaryOp kOp>
inline float Apply(float x, float y) {
  return kOp == BinaryOp::kAdd ? x + y : x * y;
}

// out (n) = a op b, where one operand may be shorter and repeat along the leading axes (a bias over rows, a scalar).
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

// relu: max(0, x) as Math.max (NaN stays NaN, -0 becomes 0); step: 1 where x > 0, else alpha (NaN stays NaN). Both
// are Step1(x, low, high): high where x > 0, NaN where x is, else low.
inline float Step1(float x, float low, float high) { return x > 0 ? high : (x != x ? x : low); }

#if defined(GPT_ISA_AVX2)
// Step1 of 8 lanes, branch-free (blends): the signs of activations are as good as random, and a branch on each costs a
// misprediction.
inline __m256 Step8(__m256 v, __m256 low, __m256 high) {
  const __m256 r = _mm256_blendv_ps(low, high, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ));
  return _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}
#endif

}  // namespace

void Binary(BinaryOp op, const float* a, long na, const float* b, long nb, float* out, long n) {
  ForChunks(n, [&](long begin, long end) {
    if (op == BinaryOp::kAdd) BinaryRange<BinaryOp::kAdd>(a, na, b, nb, out, begin, end);
    else BinaryRange<BinaryOp::kMul>(a, na, b, nb, out, begin, end);
  });
}

void Unary(UnaryOp op, const float* x, float* out, long n, float alpha) {
  const bool relu = op == UnaryOp::kRelu;
  const float low = relu ? 0.0f : alpha;
  ForChunks(n, [&](long begin, long end) {
    long i = begin;
#if defined(GPT_ISA_AVX2)
    for (; i + 8 <= end; i += 8) {
      const __m256 v = _mm256_loadu_ps(x + i);
      _mm256_storeu_ps(out + i, Step8(v, _mm256_set1_ps(low), relu ? v : _mm256_set1_ps(1.0f)));
    }
#endif
    for (; i < end; i++) out[i] = Step1(x[i], low, relu ? x[i] : 1.0f);
  });
}

// The gradient of relu, as tfjs computes it (dy · step(x), step(x) a float 0 or 1, NaN where x is): dx = dy * step(x).
void ReluGrad(const float* dy, const float* x, float* dx, long n) {
  ForChunks(n, [&](long begin, long end) {
    long i = begin;
#if defined(GPT_ISA_AVX2)
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= end; i += 8) _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), Step8(_mm256_loadu_ps(x + i), zero, one)));
#endif
    for (; i < end; i++) dx[i] = dy[i] * Step1(x[i], 0.0f, 1.0f);
  });
}

}  // namespace gpt::GPT_ISA
GPT_TARGET_POP
