// A check of the kernels without Node: each kernel of the instruction set in use (GPT_NATIVE_ISA, else the best this
// CPU runs; on AArch64 the portable one) against a plain reference, on seeded inputs. Where the reference does the
// same float32 operations in the same order (the matmul, AdamW, the column sum, dropout, the element-wise kernels and
// the copies) the bits must be equal; where the kernel adds in another order (the row kernels, attention), the
// reference is computed in double and each tolerance below is argued where it is used. check.mjs builds it for
// AArch64 and runs it under qemu-user; it prints one line a kernel, then "N passed, M failed".
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "../src/kernels.h"

namespace {

using gpt::Kernels;
using Floats = std::vector<float>;

int passed = 0, failed = 0;

void Report(const char* what, bool ok, const char* detail = "") {
  (ok ? passed : failed)++;
  std::printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, *detail ? ": " : "", detail);
}

uint32_t state = 12345;
float Random(float scale = 1) {  // uniform in [-scale, scale)
  state = state * 1103515245u + 12345u;
  return (float(state >> 8) / 16777216.0f * 2 - 1) * scale;
}
Floats Randoms(size_t n, float scale = 1) {
  Floats x(n);
  for (float& v : x) v = Random(scale);
  return x;
}

bool SameBits(const Floats& a, const Floats& b) { return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0; }

// The largest of |a − b| / (atol + rtol·|b|) over the elements: at most 1 when every element is within tolerance.
double Worst(const Floats& a, const std::vector<double>& b, double atol, double rtol) {
  double worst = a.size() == b.size() ? 0 : INFINITY;
  for (size_t i = 0; i < a.size() && i < b.size(); i++) worst = std::max(worst, std::fabs(a[i] - b[i]) / (atol + rtol * std::fabs(b[i])));
  return worst;
}

void ReportClose(const char* what, const Floats& a, const std::vector<double>& b, double atol, double rtol) {
  char detail[96];
  const double worst = Worst(a, b, atol, rtol);
  std::snprintf(detail, sizeof detail, "%.2f of the tolerance", worst);
  Report(what, worst <= 1, detail);
}

float Relu(float v) { return v > 0 ? v : (v != v ? v : 0.0f); }

// The matmul: each element's products in order of k from zero, fused where the kernels fuse them, then the bias and
// relu: the kernels' arithmetic exactly, so the bits must agree.
void CheckMatMul(const Kernels& k, bool fused) {
  const int shapes[][5] = {{1, 1, 1, 1, 1}, {1, 1, 7, 5, 3}, {1, 1, 13, 17, 33}, {4, 4, 12, 32, 32}, {3, 1, 25, 64, 31}, {1, 3, 11, 9, 65}, {1, 1, 96, 64, 200}, {1, 1, 70, 300, 33}};
  int bad = 0, cases = 0;
  for (const auto& shape : shapes) {
    const int batchA = shape[0], batchB = shape[1], M = shape[2], K = shape[3], N = shape[4], batch = std::max(batchA, batchB);
    for (int variant = 0; variant < 8; variant++) {
      const bool transA = variant & 1, transB = variant & 2, epilogue = variant & 4;
      if (epilogue && batch > 1) continue;
      const Floats a = Randoms(size_t(batchA) * M * K), b = Randoms(size_t(batchB) * K * N), bias = Randoms(N);
      Floats c(size_t(batch) * M * N, NAN), sums(M, NAN), expected(c.size()), expectedSums(M, 0.0f);
      gpt::MatMulArgs args{a.data(), b.data(), c.data(), batch, M, K, N, transA, transB, batchA == 1 ? 0 : long(M) * K, batchB == 1 ? 0 : long(K) * N};
      if (epilogue) args.bias = bias.data(), args.relu = true;
      if (epilogue && transA) args.sumsA = sums.data();
      k.matmul(args, *k.tile);
      for (int s = 0; s < batch; s++) {
        const float* as = a.data() + (batchA == 1 ? 0 : size_t(s) * M * K);
        const float* bs = b.data() + (batchB == 1 ? 0 : size_t(s) * K * N);
        for (int i = 0; i < M; i++) {
          for (int j = 0; j < N; j++) {
            float sum = 0;
            for (int q = 0; q < K; q++) {
              const float x = as[transA ? size_t(q) * M + i : size_t(i) * K + q], y = bs[transB ? size_t(j) * K + q : size_t(q) * N + j];
              sum = fused ? std::fma(x, y, sum) : x * y + sum;
            }
            if (epilogue) sum = Relu(sum + bias[j]);
            expected[(size_t(s) * M + i) * N + j] = sum;
          }
        }
      }
      if (args.sumsA)
        for (int q = 0; q < K; q++)
          for (int i = 0; i < M; i++) expectedSums[i] += a[size_t(q) * M + i];
      cases++;
      if (!SameBits(c, expected) || (args.sumsA && !SameBits(sums, expectedSums))) bad++;
    }
  }
  char detail[64];
  std::snprintf(detail, sizeof detail, "%d of %d products differ", bad, cases);
  Report(fused ? "matmul (fused multiply-adds): the reference's bits" : "matmul (products rounded, then added): the reference's bits", bad == 0, bad ? detail : "");
}

void CheckAdamW(const Kernels& k) {
  const gpt::AdamWScalars s{0.9f, 0.1f, 0.999f, 0.001f, 0.7f, 1e-8f, 0.9997f, 0.003f};
  bool ok = true;
  for (size_t n : {size_t(3), size_t(70000)}) {
    Floats p = Randoms(n), g = Randoms(n), m = Randoms(n), v = Randoms(n);
    for (float& x : v) x = std::fabs(x);
    Floats p0 = p, m0 = m, v0 = v;
    k.adamw({{p.data(), g.data(), m.data(), v.data(), n}}, s);
    for (size_t i = 0; i < n; i++) {  // lib/src/train/adamw.ts, one float32 operation at a time
      const float mi = m0[i] * s.beta1 + g[i] * s.oneMinusBeta1;
      const float vi = v0[i] * s.beta2 + (g[i] * g[i]) * s.oneMinusBeta2;
      const float pi = p0[i] * s.decay - (mi / (std::sqrt(vi) / s.bias2Sqrt + s.eps)) * s.stepSize;
      ok = ok && std::memcmp(&pi, &p[i], 4) == 0 && std::memcmp(&mi, &m[i], 4) == 0 && std::memcmp(&vi, &v[i], 4) == 0;
    }
  }
  Report("adamw: the element-wise update's bits", ok);
}

void CheckElementWise(const Kernels& k) {
  const long rows = 37, cols = 300;
  const Floats x = Randoms(rows * cols);
  Floats sums(cols), expected(cols, 0.0f);
  k.sumRows(x.data(), sums.data(), rows, cols);
  for (long r = 0; r < rows; r++)
    for (long c = 0; c < cols; c++) expected[c] += x[r * cols + c];
  Report("sumRows: the bits of the rows added in order", SameBits(sums, expected));

  const size_t n = 200003;
  Floats values = Randoms(n, 3), other = Randoms(n), out(n), want(n);
  values[11] = NAN, values[12] = -0.0f, values[13] = 0.0f;
  const gpt::DropoutMask mask = gpt::DropoutMask::Of(0.2, 1337);
  k.dropout(values.data(), out.data(), n, mask);
  for (size_t i = 0; i < n; i++) want[i] = mask.Keep(uint32_t(i)) ? values[i] * mask.scale : 0.0f;
  Report("dropout: the seeded mask's bits", SameBits(out, want));

  for (long nb : {long(n), 100L, 1L}) {
    k.binary(gpt::BinaryOp::kAdd, values.data(), long(n), other.data(), nb, out.data(), long(n));
    for (size_t i = 0; i < n; i++) want[i] = values[i] + other[i % nb];
    const bool add = SameBits(out, want);
    k.binary(gpt::BinaryOp::kMul, other.data(), nb, values.data(), long(n), out.data(), long(n));
    for (size_t i = 0; i < n; i++) want[i] = other[i % nb] * values[i];
    Report(nb == long(n) ? "binary: add and multiply" : nb == 100 ? "binary: a repeated row" : "binary: a scalar", add && SameBits(out, want));
  }
  k.unary(gpt::UnaryOp::kRelu, values.data(), out.data(), long(n), 0);
  for (size_t i = 0; i < n; i++) want[i] = Relu(values[i]);
  const bool relu = SameBits(out, want);
  k.unary(gpt::UnaryOp::kStep, values.data(), out.data(), long(n), 0.3f);
  for (size_t i = 0; i < n; i++) want[i] = values[i] > 0 ? 1.0f : (values[i] != values[i] ? values[i] : 0.3f);
  const bool step = SameBits(out, want);
  k.reluGrad(other.data(), values.data(), out.data(), long(n));
  for (size_t i = 0; i < n; i++) want[i] = other[i] * (values[i] > 0 ? 1.0f : (values[i] != values[i] ? values[i] : 0.0f));
  Report("unary and reluGrad: relu, step and relu's gradient, NaN and -0 included", relu && step && SameBits(out, want));
}

// LayerNorm against double precision. Its float32 sums run over C <= 129 terms (relative error at most C·2^-24 ≈ 8e-6
// of the sum of magnitudes) and each output takes a few more roundings: 2e-5 + 1e-5·|value| covers them, as the
// TypeScript tests' 2e-5 does against the op-by-op route.
void CheckLayerNorm(const Kernels& k) {
  const long shapes[][2] = {{5, 64}, {14, 37}, {3, 1}, {24, 129}};
  for (const auto& shape : shapes) {
    const long rows = shape[0], C = shape[1];
    Floats x = Randoms(rows * C, 2), w = Randoms(C), b = Randoms(C), dy = Randoms(rows * C);
    for (float& v : x) v += 3;  // not centred: the mean matters
    Floats y(rows * C), dx(rows * C), dw(C), db(C);
    k.layerNorm(x.data(), w.data(), b.data(), y.data(), rows, C, 1e-5f);
    k.layerNormGrad(dy.data(), x.data(), w.data(), dx.data(), dw.data(), db.data(), rows, C, 1e-5f);
    std::vector<double> ey(rows * C), edx(rows * C), edw(C, 0), edb(C, 0);
    for (long r = 0; r < rows; r++) {
      const float* xr = x.data() + r * C;
      double mean = 0, var = 0, meanG = 0, meanGX = 0;
      for (long j = 0; j < C; j++) mean += xr[j] / double(C);
      for (long j = 0; j < C; j++) var += (xr[j] - mean) * (xr[j] - mean) / double(C);
      const double rstd = 1 / std::sqrt(var + 1e-5);
      for (long j = 0; j < C; j++) {
        const double xhat = (xr[j] - mean) * rstd, g = double(dy[r * C + j]) * w[j];
        ey[r * C + j] = xhat * w[j] + b[j];
        meanG += g / double(C);
        meanGX += g * xhat / double(C);
        edw[j] += double(dy[r * C + j]) * xhat;
        edb[j] += dy[r * C + j];
      }
      for (long j = 0; j < C; j++) edx[r * C + j] = rstd * (double(dy[r * C + j]) * w[j] - meanG - (xr[j] - mean) * rstd * meanGX);
    }
    char what[64];
    std::snprintf(what, sizeof what, "layerNorm (%ld, %ld): y, dx, dw, db", rows, C);
    Floats all = y;
    all.insert(all.end(), dx.begin(), dx.end()), all.insert(all.end(), dw.begin(), dw.end()), all.insert(all.end(), db.begin(), db.end());
    std::vector<double> want = ey;
    want.insert(want.end(), edx.begin(), edx.end()), want.insert(want.end(), edw.begin(), edw.end()), want.insert(want.end(), edb.begin(), edb.end());
    ReportClose(what, all, want, 2e-5, 1e-5);
  }
}

// The causal softmax against double precision: each weight is an exp (within an ulp of the correctly rounded one)
// divided by a float32 sum of T <= 40 terms in [0, 1] (relative error at most T·2^-24 ≈ 2.4e-6), so 3e-6 relative,
// and 1e-7 absolute for the gradient's cancellations (its terms are products of values below 1).
void CheckCausalSoftmax(const Kernels& k) {
  const long shapes[][2] = {{54, 9}, {148, 37}, {1, 1}, {80, 40}};
  for (const auto& shape : shapes) {
    const long rows = shape[0], T = shape[1];
    const Floats x = Randoms(rows * T, 9), dy = Randoms(rows * T);
    Floats y(rows * T), dx(rows * T);
    k.causalSoftmax(x.data(), y.data(), rows, T);
    k.causalSoftmaxGrad(dy.data(), y.data(), dx.data(), rows, T);
    std::vector<double> ey(rows * T, 0), edx(rows * T, 0);
    for (long r = 0; r < rows; r++) {
      const long n = r % T + 1;
      double max = -INFINITY, sum = 0, dot = 0;
      for (long j = 0; j < n; j++) max = std::max(max, double(x[r * T + j]));
      for (long j = 0; j < n; j++) sum += std::exp(x[r * T + j] - max);
      for (long j = 0; j < n; j++) ey[r * T + j] = std::exp(x[r * T + j] - max) / sum;
      for (long j = 0; j < n; j++) dot += double(dy[r * T + j]) * y[r * T + j];
      for (long j = 0; j < n; j++) edx[r * T + j] = double(y[r * T + j]) * (dy[r * T + j] - dot);
    }
    char what[64];
    std::snprintf(what, sizeof what, "causalSoftmax (%ld, %ld): y", rows, T);
    ReportClose(what, y, ey, 1e-9, 3e-6);
    std::snprintf(what, sizeof what, "causalSoftmaxGrad (%ld, %ld): dx", rows, T);
    ReportClose(what, dx, edx, 1e-7, 3e-6);
  }
}

// Cross-entropy against double precision: a float32 sum of V exps (relative error at most V·2^-24 ≈ 6e-5 for
// V = 1000, far less in practice) and its log; 1e-5 of the loss, and 1e-7 absolute for the gradient (entries below
// dloss/N).
void CheckCrossEntropy(const Kernels& k) {
  const long shapes[][2] = {{7, 65}, {256, 65}, {3, 1000}};
  for (const auto& shape : shapes) {
    const long N = shape[0], V = shape[1];
    const Floats logits = Randoms(N * V, 4);
    std::vector<int32_t> targets(N);
    for (long r = 0; r < N; r++) targets[r] = int32_t((r * 7) % V);
    const float loss = k.crossEntropy(logits.data(), targets.data(), N, V);
    Floats dx(N * V);
    k.crossEntropyGrad(logits.data(), targets.data(), 3.0f, dx.data(), N, V);
    double total = 0;
    std::vector<double> edx(N * V);
    for (long r = 0; r < N; r++) {
      const float* xr = logits.data() + r * V;
      double max = -INFINITY, sum = 0;
      for (long j = 0; j < V; j++) max = std::max(max, double(xr[j]));
      for (long j = 0; j < V; j++) sum += std::exp(xr[j] - max);
      total += std::log(sum) + max - xr[targets[r]];
      for (long j = 0; j < V; j++) edx[r * V + j] = (std::exp(xr[j] - max) / sum - (j == targets[r])) * 3.0 / double(N);
    }
    char what[64];
    std::snprintf(what, sizeof what, "crossEntropy (%ld, %ld): the loss", N, V);
    ReportClose(what, Floats{loss}, {total / double(N)}, 0, 1e-5);
    std::snprintf(what, sizeof what, "crossEntropyGrad (%ld, %ld): dlogits", N, V);
    ReportClose(what, dx, edx, 1e-7, 1e-5);
  }
  const std::vector<int32_t> bad = {1, 4};
  Report("crossEntropy: a target outside [0, V) gives NaN", std::isnan(k.crossEntropy(Floats(8, 0.0f).data(), bad.data(), 2, 4)));
}

// Attention against double precision: scores are hs-term products (hs <= 48), weights a softmax (see above), outputs
// T-term weighted sums; float32 roundings along that chain stay within 2e-5 of O(1) outputs, the TypeScript tests'
// tolerance against the op-by-op route.
void CheckAttention(const Kernels& k) {
  const double cases[][5] = {{3, 32, 64, 4, 0}, {2, 13, 12, 3, 0}, {2, 9, 20, 4, 0.3}, {2, 40, 96, 2, 0.2}};
  for (const auto& c : cases) {
    const long B = long(c[0]), T = long(c[1]), C = long(c[2]), nh = long(c[3]), hs = C / nh;
    const double p = c[4];
    const gpt::AttentionShape shape{B, T, nh, hs, float(1 / std::sqrt(double(hs))), p > 0 ? gpt::DropoutMask::Of(p, 77) : gpt::DropoutMask{}};
    const Floats qkv = Randoms(B * T * 3 * C), dy = Randoms(B * T * C);
    Floats y(B * T * C), dqkv(B * T * 3 * C);
    k.attention(shape, qkv.data(), y.data());
    k.attentionGrad(shape, dy.data(), qkv.data(), dqkv.data());
    std::vector<double> ey(y.size(), 0), edqkv(dqkv.size(), 0), att(T * T), drop(T * T), da(T * T);
    auto at = [&](long b, long t, int part, long h, long d) { return b * T * 3 * C + t * 3 * C + part * C + h * hs + d; };
    for (long b = 0; b < B; b++) {
      for (long h = 0; h < nh; h++) {
        for (long i = 0; i < T; i++) {
          double max = -INFINITY, sum = 0;
          for (long j = 0; j <= i; j++) {
            double s = 0;
            for (long d = 0; d < hs; d++) s += double(qkv[at(b, i, 0, h, d)]) * qkv[at(b, j, 1, h, d)];
            att[i * T + j] = s * shape.scale;
            max = std::max(max, att[i * T + j]);
          }
          for (long j = 0; j <= i; j++) sum += (att[i * T + j] = std::exp(att[i * T + j] - max));
          for (long j = 0; j < T; j++) {
            att[i * T + j] = j <= i ? att[i * T + j] / sum : 0;
            const bool keep = !shape.mask.active || shape.mask.Keep(uint32_t(((b * nh + h) * T + i) * T + j));
            drop[i * T + j] = keep ? att[i * T + j] * shape.mask.scale : 0;
          }
          for (long d = 0; d < hs; d++) {
            for (long j = 0; j <= i; j++) ey[b * T * C + i * C + h * hs + d] += drop[i * T + j] * qkv[at(b, j, 2, h, d)];
          }
        }
        for (long i = 0; i < T; i++) {  // dv = dropᵀ dy; da = dropout'(dy vᵀ); ds = att (da − Σ att·da) scale
          double dot = 0;
          for (long j = 0; j <= i; j++) {
            double s = 0;
            for (long d = 0; d < hs; d++) {
              s += double(dy[b * T * C + i * C + h * hs + d]) * qkv[at(b, j, 2, h, d)];
              edqkv[at(b, j, 2, h, d)] += drop[i * T + j] * dy[b * T * C + i * C + h * hs + d];
            }
            const bool keep = !shape.mask.active || shape.mask.Keep(uint32_t(((b * nh + h) * T + i) * T + j));
            da[i * T + j] = keep ? s * shape.mask.scale : 0;
            dot += att[i * T + j] * da[i * T + j];
          }
          for (long j = 0; j <= i; j++) {
            const double ds = att[i * T + j] * (da[i * T + j] - dot) * shape.scale;
            for (long d = 0; d < hs; d++) {
              edqkv[at(b, i, 0, h, d)] += ds * qkv[at(b, j, 1, h, d)];
              edqkv[at(b, j, 1, h, d)] += ds * qkv[at(b, i, 0, h, d)];
            }
          }
        }
      }
    }
    char what[80];
    std::snprintf(what, sizeof what, "attention (B %ld, T %ld, C %ld, %ld heads, dropout %.1f): y, dqkv", B, T, C, nh, p);
    Floats all = y;
    all.insert(all.end(), dqkv.begin(), dqkv.end());
    std::vector<double> want = ey;
    want.insert(want.end(), edqkv.begin(), edqkv.end());
    ReportClose(what, all, want, 2e-5, 0);
  }
}

void CheckCopies() {
  const Floats x = Randoms(2 * 5 * 3 * 4);
  Floats out(x.size()), want(x.size());
  const long shape[] = {2, 5, 3, 4}, perm[] = {2, 0, 1, 3};
  gpt::TransposeKeepLast(x.data(), out.data(), shape, perm, 4);
  for (long a = 0; a < 3; a++)
    for (long b = 0; b < 2; b++)
      for (long c = 0; c < 5; c++)
        for (long d = 0; d < 4; d++) want[((a * 2 + b) * 5 + c) * 4 + d] = x[((b * 5 + c) * 3 + a) * 4 + d];
  const bool transpose = SameBits(out, want);
  Floats dst(200, 0.0f), expected(200, 0.0f);
  gpt::CopyRows(x.data(), 3, 17, dst.data(), 1, 20, 6, 15);
  for (long r = 0; r < 6; r++)
    for (long j = 0; j < 15; j++) expected[1 + r * 20 + j] = x[3 + r * 17 + j];
  Report("copyRows and transpose", transpose && SameBits(dst, expected));
}

}  // namespace

int main() {
  const Kernels& k = gpt::Active();
  const bool fused = std::strcmp(k.name, "portable") != 0 || gpt::PortableFusesMultiplyAdds();
  std::printf("kernels: %s\n", k.name);
  CheckMatMul(k, fused);
  CheckAdamW(k);
  CheckElementWise(k);
  CheckLayerNorm(k);
  CheckCausalSoftmax(k);
  CheckCrossEntropy(k);
  CheckAttention(k);
  CheckCopies();
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
