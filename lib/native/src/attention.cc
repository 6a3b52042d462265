// Causal self-attention, compiled for each instruction set: every head at once, from nanoGPT's c_attn output, forward
// and backward, in one kernel each. Its small products add in the matmul's order (fused multiply-adds from zero, in
// order of the summed index), so its results are the op-by-op route's bits on the same instruction set.
#include <vector>

#include "isa-kernels.h"
#include "pool.h"
#include "simd.h"

GPT_TARGET_PUSH
namespace gpt::GPT_ISA {
namespace {

// Small blocked products, R <= 4 rows at a time (four independent sums in flight). Each element is a sum of products
// in a fixed order by fused multiply-adds from zero, as the matmul's micro-kernels add: the same bits as the op-by-op
// route's matmuls, whose extra terms (the weights above the diagonal) are exact zeros.
//   RowsTimesT: out[r][j] = Σ_d x[r][d] · mt[d][j] for r < R, j < n8 (a multiple of 8): rows times a matrix stored
//     transposed.
//   WeightedSum: out[r][d] = Σ_{lo <= j < hi} w(r, j) · rows[j][d] for r < R, d < width: weighted sums of rows, in
//     order of j. The weights w(r, j) are w[r][j], or w[j][r] (kTransposed: the sums that wᵀ gives, read from w as it
//     is stored).
#if defined(GPT_ISA_AVX2)

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

#else  // portable: 8 columns at a time, the sums of each in an array the compiler keeps in vector registers

template <int R>
void RowsTimesT(const float* x, long ldx, const float* mt, long ldm, long depth, long n8, float* out, long ldo) {
  for (long j = 0; j < n8; j += 8) {
    float acc[R][8] = {};
    for (long d = 0; d < depth; d++) {
      const float* m = mt + d * ldm + j;
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        const float xr = x[r * ldx + d];
#pragma GCC unroll 8
        for (int l = 0; l < 8; l++) acc[r][l] = MulAdd(xr, m[l], acc[r][l]);
      }
    }
    for (int r = 0; r < R; r++) std::copy(acc[r], acc[r] + 8, out + r * ldo + j);
  }
}

template <int R, bool kTransposed>
void WeightedSum(const float* w, long ldw, long lo, long hi, const float* rows, long ldr, long width, float* out, long ldo) {
  auto weight = [&](int r, long j) { return kTransposed ? w[j * ldw + r] : w[r * ldw + j]; };
  for (long d = 0; d < width; d += 8) {
    const int n = int(std::min(8L, width - d));
    float acc[R][8] = {};
    for (long j = lo; j < hi; j++) {
      const float* v = rows + j * ldr + d;
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        const float wr = weight(r, j);
        if (n == 8) {
#pragma GCC unroll 8
          for (int l = 0; l < 8; l++) acc[r][l] = MulAdd(wr, v[l], acc[r][l]);
        } else {
          for (int l = 0; l < n; l++) acc[r][l] = MulAdd(wr, v[l], acc[r][l]);
        }
      }
    }
    for (int r = 0; r < R; r++) std::copy(acc[r], acc[r] + n, out + r * ldo + d);
  }
}

#endif

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

// qkv (B, T, 3C) holds each token's queries, keys and values of heads 0..nh-1 ([q | k | v], head h at columns
// h*hs .. h*hs+hs-1 of each third), and y (B, T, C) gets each head's output in the same columns. Per head, as
// CausalSelfAttention's op-by-op route:
//   scores = q kᵀ * scale;  att = causal softmax(scores);  att = dropout(att) in training;  y = att v.
// One task per (batch, head) pair, so the results do not depend on the thread count. The weights are not kept: the
// backward pass computes them again (T x T per head is cheaper to recompute than to store and read back).
struct Attention : AttentionShape {
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

}  // namespace

void AttentionForward(const AttentionShape& shape, const float* qkv, float* y) { Attention{shape}.Forward(qkv, y); }

void AttentionBackward(const AttentionShape& shape, const float* dy, const float* qkv, float* dqkv) {
  Attention{shape}.Backward(dy, qkv, dqkv);
}

}  // namespace gpt::GPT_ISA
GPT_TARGET_POP
