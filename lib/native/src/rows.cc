// Fused row kernels, compiled for each instruction set: LayerNorm, the causal softmax and cross-entropy, each with its
// gradient. Each replaces a chain of element-wise kernels with one pass over the rows, computing the maths of the
// reference routes in lib/src/nn (layer-norm.ts, attention.ts, loss.ts) in float32 in another order: their results
// agree with the reference within rounding, not bit for bit. Rows are split into a number of tasks that depends on the
// shape alone, and cross-row sums are added task by task in order: the same inputs give the same outputs on any
// thread count.
#include <vector>

#include "isa-kernels.h"
#include "pool.h"
#include "simd.h"

GPT_TARGET_PUSH
namespace gpt::GPT_ISA {
namespace {

// LayerNorm over the last axis: y = (x - mean) / sqrt(var + eps) * w + b, var biased (PyTorch's nn.LayerNorm).
// One row; restrict parameters, so that its loops are vectorised. d: C floats of scratch.
void LayerNormForwardRow(const float* __restrict xr, const float* __restrict w, const float* __restrict b, float* __restrict yr,
                         float* __restrict d, long C, float eps) {
  const float mean = Sum(xr, C) / float(C);
  for (long j = 0; j < C; j++) d[j] = (xr[j] - mean) * (xr[j] - mean);
  const float rstd = 1.0f / std::sqrt(Sum(d, C) / float(C) + eps);
  for (long j = 0; j < C; j++) yr[j] = (xr[j] - mean) * rstd * w[j] + b[j];
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

}  // namespace

void LayerNormForward(const float* x, const float* w, const float* b, float* y, long rows, long C, float eps) {
  ForRows(rows, IndependentRowTasks(rows, C), [&](int, long r0, long r1) {
    std::vector<float> d(C);
    for (long r = r0; r < r1; r++) LayerNormForwardRow(x + r * C, w, b, y + r * C, d.data(), C, eps);
  });
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

// Row i of the block becomes exp(x − max) / their sum (the sum in Sum's order), each element rounded as written. In two
// passes, so that the rows' exps are independent of each other's sums: the processor overlaps them, where one row at a
// time waited on each row's chain of max, exp, sum and division.
void CausalSoftmaxRows(float* a, long ld, long i0, long i1) {
#if defined(GPT_ISA_AVX2)
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
#else
  for (long i = i0; i < i1; i++) {
    float* row = a + i * ld;
    const float max = Max(row, i + 1);
    for (long j = 0; j <= i; j++) row[j] = Exp(row[j] - max);
  }
  for (long i = i0; i < i1; i++) {
    float* row = a + i * ld;
    const float sum = Sum(row, i + 1);
    for (long j = 0; j <= i; j++) row[j] = row[j] / sum;
  }
#endif
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

}  // namespace gpt::GPT_ISA
GPT_TARGET_POP
