// The module's JavaScript functions (Node-API): each checks its arguments, then runs the kernel of the instruction set
// in use (isa.cc). lib/src/engine/native-kernels.ts documents what each computes; the module also says which
// instruction sets this CPU runs, and the sha256 of the sources it was built from (GPT_SOURCE_SHA256, set by
// ../build.mjs), so that a stale build can be told from a current one.
#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>
#include <vector>

#include "kernels.h"
#include "napi-args.h"
#include "pool.h"

#ifndef GPT_SOURCE_SHA256
#error "GPT_SOURCE_SHA256 is not defined: build with node lib/native/build.mjs, which stamps the sources' hash"
#endif

namespace gpt {
namespace {

// The stamp, after a marker, so that it can be read from the file without loading it (test/native-stamp.test.ts reads
// every committed module's).
constexpr char kStampMarker[] = "gpt-native-sources-sha256:";
constexpr char kStamp[] = "gpt-native-sources-sha256:" GPT_SOURCE_SHA256;

// matmul(a, b, c, batchA, batchB, M, K, N, transA, transB[, bias, relu, sumsA]): c = a @ b per slice (+ bias on every
// row, then relu); a batch of 1 is shared.
napi_value MatMulBinding(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  size_t argc = 13;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 10 || argc > 13) return Throw(env, "matmul takes 10 arguments, then a bias, relu (0 or 1) and sums of A"), nullptr;
  float *a, *b, *c;
  size_t la, lb, lc;
  double d[7];
  if (!GetFloats(env, argv[0], &a, &la) || !GetFloats(env, argv[1], &b, &lb) || !GetFloats(env, argv[2], &c, &lc)) return nullptr;
  for (int i = 0; i < 7; i++) {
    if (!GetNumber(env, argv[3 + i], &d[i])) return nullptr;
  }
  const long batchA = long(d[0]), batchB = long(d[1]), M = long(d[2]), K = long(d[3]), N = long(d[4]);
  const bool transA = d[5] != 0, transB = d[6] != 0;
  const long batch = std::max(batchA, batchB);
  if (M < 1 || K < 1 || N < 1 || (batchA != batch && batchA != 1) || (batchB != batch && batchB != 1)) {
    return Throw(env, "matmul: bad shapes"), nullptr;
  }
  if (size_t(batchA * M * K) != la || size_t(batchB * K * N) != lb || size_t(batch * M * N) != lc) {
    return Throw(env, "matmul: array lengths do not match the shapes"), nullptr;
  }
  MatMulArgs mm{a, b, c, int(batch), int(M), int(K), int(N), transA, transB, batchA == 1 ? 0 : M * K, batchB == 1 ? 0 : K * N};
  if (argc >= 11 && !IsAbsent(env, argv[10])) {
    float* bias;
    size_t lbias;
    if (!GetFloats(env, argv[10], &bias, &lbias)) return nullptr;
    if (size_t(N) != lbias) return Throw(env, "matmul: the bias must have N values"), nullptr;
    mm.bias = bias;
  }
  if (argc >= 12) {
    double relu;
    if (!GetNumber(env, argv[11], &relu)) return nullptr;
    mm.relu = relu != 0;
  }
  if (argc == 13 && !IsAbsent(env, argv[12])) {  // transA, one slice: sums over k of each row of A
    float* sums;
    size_t lsums;
    if (!GetFloats(env, argv[12], &sums, &lsums)) return nullptr;
    if (!transA || batch != 1) return Throw(env, "matmul: sums of A need transA and one slice"), nullptr;
    if (size_t(M) != lsums) return Throw(env, "matmul: the sums of A must have M values"), nullptr;
    mm.sumsA = sums;
  }
  if (batchB == 1 && batchA > 1 && !transA) {  // a shared right operand: the slices of A are just more rows
    mm.M = int(batchA * M);
    mm.batch = 1;
    mm.strideA = 0;
  }
  const Kernels& kernels = Active();
  kernels.matmul(mm, *kernels.tile);
  return nullptr;
}

// adamw([p0, g0, m0, v0, p1, g1, m1, v1, ...], [beta1, 1-beta1, beta2, 1-beta2, bias2Sqrt, eps, 1-lr*wd, stepSize]):
// one AdamW step of every parameter; each p, m and v is overwritten. The caller guarantees that no two arrays overlap.
napi_value AdamWBinding(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!GetArgs(env, info, 2, argv, "adamw takes 2 arguments")) return nullptr;
  uint32_t count = 0;
  bool isArray = false;
  napi_is_array(env, argv[0], &isArray);
  if (!isArray || napi_get_array_length(env, argv[0], &count) != napi_ok || count % 4 != 0) {
    return Throw(env, "adamw: expected an array of Float32Arrays, four a parameter (p, g, m, v)"), nullptr;
  }
  std::vector<AdamWParam> params(count / 4);
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    napi_get_element(env, argv[0], i, &element);
    float* data;
    size_t length;
    if (!GetFloats(env, element, &data, &length)) return nullptr;
    AdamWParam& q = params[i / 4];
    if (i % 4 == 0) {
      q.p = data;
      q.n = length;
    } else if (length != q.n) {
      return Throw(env, "adamw: a parameter's p, g, m and v differ in length"), nullptr;
    }
    if (i % 4 == 1) q.g = data;
    if (i % 4 == 2) q.m = data;
    if (i % 4 == 3) q.v = data;
  }
  float* scalars;
  size_t n;
  if (!GetFloats(env, argv[1], &scalars, &n)) return nullptr;
  if (n != 8) return Throw(env, "adamw: expected 8 scalars"), nullptr;
  Active().adamw(params, AdamWScalars{scalars[0], scalars[1], scalars[2], scalars[3], scalars[4], scalars[5], scalars[6], scalars[7]});
  return nullptr;
}

// sumRows(x, out, rows, cols)
napi_value SumRowsBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "sumRows takes 4 arguments")) return nullptr;
  float *x, *out;
  size_t lx, lo;
  double rows, cols;
  if (!GetFloats(env, argv[0], &x, &lx) || !GetFloats(env, argv[1], &out, &lo) || !GetNumber(env, argv[2], &rows) ||
      !GetNumber(env, argv[3], &cols)) {
    return nullptr;
  }
  if (size_t(rows * cols) != lx || size_t(cols) != lo) return Throw(env, "sumRows: array lengths do not match the shape"), nullptr;
  Active().sumRows(x, out, long(rows), long(cols));
  return nullptr;
}

// dropout(x, out, p, seed): out = x with each element zeroed with probability p (seeded) and the rest scaled by 1/(1-p)
napi_value DropoutBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "dropout takes 4 arguments")) return nullptr;
  float *x, *out;
  size_t lx, lo;
  double p, seed;
  if (!GetFloats(env, argv[0], &x, &lx) || !GetFloats(env, argv[1], &out, &lo) || !GetNumber(env, argv[2], &p) ||
      !GetNumber(env, argv[3], &seed)) {
    return nullptr;
  }
  if (lx != lo) return Throw(env, "dropout: x and out differ in length"), nullptr;
  if (!(p >= 0 && p < 1)) return Throw(env, "dropout: p must be in [0, 1)"), nullptr;
  Active().dropout(x, out, lx, DropoutMask::Of(p, uint32_t(int64_t(seed))));
  return nullptr;
}

// layerNorm(x, w, b, y, rows, cols, eps)
napi_value LayerNormBinding(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!GetArgs(env, info, 7, argv, "layerNorm takes 7 arguments")) return nullptr;
  long s[2];
  double eps;
  if (!GetSizes(env, argv + 4, 2, s) || !GetNumber(env, argv[6], &eps)) return nullptr;
  float* a[4];
  const long lengths[4] = {s[0] * s[1], s[1], s[1], s[0] * s[1]};
  if (!GetFloatArgs(env, argv, 4, a, lengths, "layerNorm: array lengths do not match the shape")) return nullptr;
  Active().layerNorm(a[0], a[1], a[2], a[3], s[0], s[1], float(eps));
  return nullptr;
}

// layerNormGrad(dy, x, w, dx, dw, db, rows, cols, eps)
napi_value LayerNormGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!GetArgs(env, info, 9, argv, "layerNormGrad takes 9 arguments")) return nullptr;
  long s[2];
  double eps;
  if (!GetSizes(env, argv + 6, 2, s) || !GetNumber(env, argv[8], &eps)) return nullptr;
  float* a[6];
  const long n = s[0] * s[1], lengths[6] = {n, n, s[1], n, s[1], s[1]};
  if (!GetFloatArgs(env, argv, 6, a, lengths, "layerNormGrad: array lengths do not match the shape")) return nullptr;
  Active().layerNormGrad(a[0], a[1], a[2], a[3], a[4], a[5], s[0], s[1], float(eps));
  return nullptr;
}

// causalSoftmax(x, y, rows, T)
napi_value CausalSoftmaxBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "causalSoftmax takes 4 arguments")) return nullptr;
  long s[2];
  if (!GetSizes(env, argv + 2, 2, s)) return nullptr;
  if (s[1] < 1 || s[0] % s[1] != 0) return Throw(env, "causalSoftmax: rows must be a multiple of T"), nullptr;
  float* a[2];
  const long lengths[2] = {s[0] * s[1], s[0] * s[1]};
  if (!GetFloatArgs(env, argv, 2, a, lengths, "causalSoftmax: array lengths do not match the shape")) return nullptr;
  Active().causalSoftmax(a[0], a[1], s[0], s[1]);
  return nullptr;
}

// causalSoftmaxGrad(dy, y, dx, rows, T)
napi_value CausalSoftmaxGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!GetArgs(env, info, 5, argv, "causalSoftmaxGrad takes 5 arguments")) return nullptr;
  long s[2];
  if (!GetSizes(env, argv + 3, 2, s)) return nullptr;
  if (s[1] < 1 || s[0] % s[1] != 0) return Throw(env, "causalSoftmaxGrad: rows must be a multiple of T"), nullptr;
  float* a[3];
  const long lengths[3] = {s[0] * s[1], s[0] * s[1], s[0] * s[1]};
  if (!GetFloatArgs(env, argv, 3, a, lengths, "causalSoftmaxGrad: array lengths do not match the shape")) return nullptr;
  Active().causalSoftmaxGrad(a[0], a[1], a[2], s[0], s[1]);
  return nullptr;
}

// crossEntropy(logits, targets, N, V) -> the mean loss
napi_value CrossEntropyBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "crossEntropy takes 4 arguments")) return nullptr;
  long s[2];
  if (!GetSizes(env, argv + 2, 2, s)) return nullptr;
  float* logits;
  int32_t* targets;
  size_t nl, nt;
  if (!GetFloats(env, argv[0], &logits, &nl) || !GetInts(env, argv[1], &targets, &nt)) return nullptr;
  if (s[0] < 1 || s[1] < 1 || long(nl) != s[0] * s[1] || long(nt) != s[0]) return Throw(env, "crossEntropy: array lengths do not match the shape"), nullptr;
  napi_value out;
  napi_create_double(env, Active().crossEntropy(logits, targets, s[0], s[1]), &out);
  return out;
}

// crossEntropyGrad(logits, targets, dloss, dx, N, V)
napi_value CrossEntropyGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!GetArgs(env, info, 6, argv, "crossEntropyGrad takes 6 arguments")) return nullptr;
  long s[2];
  double dloss;
  if (!GetSizes(env, argv + 4, 2, s) || !GetNumber(env, argv[2], &dloss)) return nullptr;
  float *logits, *dx;
  int32_t* targets;
  size_t nl, nt, nd;
  if (!GetFloats(env, argv[0], &logits, &nl) || !GetInts(env, argv[1], &targets, &nt) || !GetFloats(env, argv[3], &dx, &nd)) return nullptr;
  if (s[0] < 1 || s[1] < 1 || long(nl) != s[0] * s[1] || long(nd) != s[0] * s[1] || long(nt) != s[0]) {
    return Throw(env, "crossEntropyGrad: array lengths do not match the shape"), nullptr;
  }
  Active().crossEntropyGrad(logits, targets, float(dloss), dx, s[0], s[1]);
  return nullptr;
}

// copyRows(src, srcOffset, srcStride, dst, dstOffset, dstStride, rows, width)
napi_value CopyRowsBinding(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!GetArgs(env, info, 8, argv, "copyRows takes 8 arguments")) return nullptr;
  float *src, *dst;
  size_t ns, nd;
  long a[2], b[4];
  if (!GetFloats(env, argv[0], &src, &ns) || !GetSizes(env, argv + 1, 2, a) || !GetFloats(env, argv[3], &dst, &nd) ||
      !GetSizes(env, argv + 4, 4, b)) {
    return nullptr;
  }
  const long srcOffset = a[0], srcStride = a[1], dstOffset = b[0], dstStride = b[1], rows = b[2], width = b[3];
  if (rows > 0 && width > 0 &&
      (srcOffset + (rows - 1) * srcStride + width > long(ns) || dstOffset + (rows - 1) * dstStride + width > long(nd))) {
    return Throw(env, "copyRows: the rows reach past the end of an array"), nullptr;
  }
  if (rows > 0 && width > 0) CopyRows(src, srcOffset, srcStride, dst, dstOffset, dstStride, rows, width);
  return nullptr;
}

// transpose(x, out, shape, perm): shape and perm Int32Arrays of the same rank (1..6); perm keeps the last axis.
napi_value TransposeBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "transpose takes 4 arguments")) return nullptr;
  float *x, *out;
  int32_t *shape, *perm;
  size_t nx, no, rank, np;
  if (!GetFloats(env, argv[0], &x, &nx) || !GetFloats(env, argv[1], &out, &no) || !GetInts(env, argv[2], &shape, &rank) ||
      !GetInts(env, argv[3], &perm, &np)) {
    return nullptr;
  }
  if (rank < 1 || rank > 6 || np != rank || perm[rank - 1] != int32_t(rank - 1)) return Throw(env, "transpose: rank 1..6, last axis kept"), nullptr;
  long s[6], p[6], size = 1;
  bool seen[6] = {false, false, false, false, false, false};
  for (size_t d = 0; d < rank; d++) {
    if (shape[d] < 0 || perm[d] < 0 || perm[d] >= int32_t(rank) || seen[perm[d]]) return Throw(env, "transpose: bad shape or perm"), nullptr;
    seen[perm[d]] = true;
    s[d] = shape[d];
    p[d] = perm[d];
    size *= s[d];
  }
  if (long(nx) != size || long(no) != size) return Throw(env, "transpose: array lengths do not match the shape"), nullptr;
  if (size > 0) TransposeKeepLast(x, out, s, p, int(rank));
  return nullptr;
}

// isa(): the instruction set the kernels run on ("AVX-512", "AVX2" or "portable"); isa(name): switches to "avx512",
// "avx2" or "portable" (for the tests and the benchmark: every path in one process) and returns the previous one.
napi_value IsaBinding(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  const Kernels& previous = Active();
  if (argc >= 1) {
    char name[16] = {0};
    size_t length = 0;
    if (napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &length) != napi_ok) return Throw(env, "isa: expected a string"), nullptr;
    const Kernels* kernels = KernelsNamed(name);
    if (kernels == nullptr) {
      if (std::strcmp(name, "avx512") == 0) return Throw(env, "isa: this CPU has no AVX-512"), nullptr;
      if (std::strcmp(name, "avx2") == 0) return Throw(env, "isa: this CPU has no AVX2 and FMA"), nullptr;
      return Throw(env, "isa: expected \"avx512\", \"avx2\" or \"portable\""), nullptr;
    }
    SetActive(*kernels);
  }
  napi_value out;
  napi_create_string_utf8(env, previous.name, NAPI_AUTO_LENGTH, &out);
  return out;
}

// causalAttention(qkv, y, B, T, nh, hs, scale, p, seed): p = 0 for no dropout
// causalAttentionGrad(dy, qkv, dqkv, B, T, nh, hs, scale, p, seed)
bool GetAttention(napi_env env, napi_value* argv, AttentionShape* att) {
  long s[4];
  double scale, p, seed;
  if (!GetSizes(env, argv, 4, s) || !GetNumber(env, argv[4], &scale) || !GetNumber(env, argv[5], &p) || !GetNumber(env, argv[6], &seed)) return false;
  if (s[0] < 1 || s[1] < 1 || s[2] < 1 || s[3] < 1) return Throw(env, "causalAttention: B, T, nh and hs must be at least 1");
  if (!(p >= 0 && p < 1)) return Throw(env, "causalAttention: p must be in [0, 1)");
  *att = AttentionShape{s[0], s[1], s[2], s[3], float(scale), p > 0 ? DropoutMask::Of(p, uint32_t(int64_t(seed))) : DropoutMask{}};
  return true;
}

napi_value CausalAttentionBinding(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!GetArgs(env, info, 9, argv, "causalAttention takes 9 arguments")) return nullptr;
  AttentionShape att;
  if (!GetAttention(env, argv + 2, &att)) return nullptr;
  float* a[2];
  const long lengths[2] = {att.B * att.T * 3 * att.C(), att.B * att.T * att.C()};
  if (!GetFloatArgs(env, argv, 2, a, lengths, "causalAttention: array lengths do not match the shape")) return nullptr;
  Active().attention(att, a[0], a[1]);
  return nullptr;
}

napi_value CausalAttentionGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (!GetArgs(env, info, 10, argv, "causalAttentionGrad takes 10 arguments")) return nullptr;
  AttentionShape att;
  if (!GetAttention(env, argv + 3, &att)) return nullptr;
  float* a[3];
  const long n = att.B * att.T * att.C(), lengths[3] = {n, 3 * n, 3 * n};
  if (!GetFloatArgs(env, argv, 3, a, lengths, "causalAttentionGrad: array lengths do not match the shape")) return nullptr;
  Active().attentionGrad(att, a[0], a[1], a[2]);
  return nullptr;
}

// binary(op, a, b, out): op 0 add, 1 multiply; a or b may be shorter than out, dividing its length (repeated)
napi_value BinaryBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "binary takes 4 arguments")) return nullptr;
  double op;
  float *a, *b, *out;
  size_t na, nb, n;
  if (!GetNumber(env, argv[0], &op) || !GetFloats(env, argv[1], &a, &na) || !GetFloats(env, argv[2], &b, &nb) || !GetFloats(env, argv[3], &out, &n)) return nullptr;
  if (op != 0 && op != 1) return Throw(env, "binary: op must be 0 (add) or 1 (multiply)"), nullptr;
  if (!(std::max(na, nb) == n && na > 0 && nb > 0 && n % na == 0 && n % nb == 0)) {
    return Throw(env, "binary: each operand must have out's length, or a length that divides it"), nullptr;
  }
  Active().binary(BinaryOp(int(op)), a, long(na), b, long(nb), out, long(n));
  return nullptr;
}

// unary(op, x, out, alpha): op 0 relu, 1 step (alpha where x <= 0)
napi_value UnaryBinding(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv, "unary takes 4 arguments")) return nullptr;
  double op, alpha;
  float *x, *out;
  size_t nx, n;
  if (!GetNumber(env, argv[0], &op) || !GetFloats(env, argv[1], &x, &nx) || !GetFloats(env, argv[2], &out, &n) || !GetNumber(env, argv[3], &alpha)) return nullptr;
  if (op != 0 && op != 1) return Throw(env, "unary: op must be 0 (relu) or 1 (step)"), nullptr;
  if (nx != n) return Throw(env, "unary: x and out differ in length"), nullptr;
  Active().unary(UnaryOp(int(op)), x, out, long(n), float(alpha));
  return nullptr;
}

// reluGrad(dy, x, dx): dx = dy * step(x), all of one length
napi_value ReluGradBinding(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!GetArgs(env, info, 3, argv, "reluGrad takes 3 arguments")) return nullptr;
  float *dy, *x, *dx;
  size_t n0, n1, n2;
  if (!GetFloats(env, argv[0], &dy, &n0) || !GetFloats(env, argv[1], &x, &n1) || !GetFloats(env, argv[2], &dx, &n2)) return nullptr;
  if (n0 != n1 || n0 != n2) return Throw(env, "reluGrad: dy, x and dx differ in length"), nullptr;
  Active().reluGrad(dy, x, dx, long(n0));
  return nullptr;
}

napi_value ThreadsBinding(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, ThePool().threads(), &out);
  return out;
}

void SetBoolean(napi_env env, napi_value exports, const char* name, bool value) {
  napi_value v;
  napi_get_boolean(env, value, &v);
  napi_set_named_property(env, exports, name, v);
}

// A binding whose C++ exceptions become JavaScript errors: a scratch buffer the system cannot give (std::bad_alloc,
// a huge block size) must be an error the caller can read, not an abort of the process.
template <napi_callback Binding>
napi_value Guarded(napi_env env, napi_callback_info info) {
  try {
    return Binding(env, info);
  } catch (const std::bad_alloc&) {
    Throw(env, "native CPU kernels: out of memory for a kernel's scratch space (the shapes are too large for this machine): use a smaller block size or batch");
  } catch (const std::exception& e) {
    Throw(env, e.what());
  }
  return nullptr;
}

}  // namespace
}  // namespace gpt

NAPI_MODULE_INIT() {
  using namespace gpt;
  SetBoolean(env, exports, "supported", true);  // the portable kernels run on any CPU
  SetBoolean(env, exports, "avx2", HasAvx2());
  SetBoolean(env, exports, "avx512", HasAvx512());
  SetBoolean(env, exports, "portableFma", PortableFusesMultiplyAdds());
  napi_value value;
  napi_create_string_utf8(env, kStamp + sizeof(kStampMarker) - 1, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, exports, "sourceSha256", value);
  Active();  // chosen now: GPT_NATIVE_ISA is read once, at load
  const std::pair<const char*, napi_callback> functions[] = {
      {"matmul", Guarded<MatMulBinding>}, {"adamw", Guarded<AdamWBinding>}, {"sumRows", Guarded<SumRowsBinding>}, {"dropout", Guarded<DropoutBinding>}, {"isa", Guarded<IsaBinding>}, {"threads", Guarded<ThreadsBinding>},
      {"layerNorm", Guarded<LayerNormBinding>}, {"layerNormGrad", Guarded<LayerNormGradBinding>}, {"causalSoftmax", Guarded<CausalSoftmaxBinding>},
      {"causalSoftmaxGrad", Guarded<CausalSoftmaxGradBinding>}, {"crossEntropy", Guarded<CrossEntropyBinding>},
      {"crossEntropyGrad", Guarded<CrossEntropyGradBinding>}, {"copyRows", Guarded<CopyRowsBinding>}, {"transpose", Guarded<TransposeBinding>},
      {"causalAttention", Guarded<CausalAttentionBinding>}, {"causalAttentionGrad", Guarded<CausalAttentionGradBinding>},
      {"binary", Guarded<BinaryBinding>}, {"unary", Guarded<UnaryBinding>}, {"reluGrad", Guarded<ReluGradBinding>}};
  for (const auto& [name, fn] : functions) {
    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &value);
    napi_set_named_property(env, exports, name, value);
  }
  return exports;
}
