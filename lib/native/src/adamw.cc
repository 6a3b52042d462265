// AdamW, compiled for each instruction set: every parameter of a step in one call, in place, element by element in
// float32, in the order lib/src/train/adamw.ts computes it (kernels.h, AdamWScalars). One IEEE operation at a time,
// so every instruction set gives the WebAssembly route's bits.
#include "isa-kernels.h"
#include "pool.h"
#include "simd.h"

GPT_TARGET_PUSH
namespace gpt::GPT_ISA {
namespace {

// Restrict pointers (the four arrays are distinct; each element is read before it is written) and the scalars by
// value, so that the loop is vectorised.
void AdamWRange(size_t begin, size_t end, float* __restrict p, const float* __restrict g, float* __restrict m,
                float* __restrict v, const AdamWScalars s) {
  for (size_t i = begin; i < end; i++) {
    const float mi = m[i] * s.beta1 + g[i] * s.oneMinusBeta1;
    const float vi = v[i] * s.beta2 + (g[i] * g[i]) * s.oneMinusBeta2;
    const float denom = std::sqrt(vi) / s.bias2Sqrt + s.eps;
    p[i] = p[i] * s.decay - (mi / denom) * s.stepSize;
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace

// Element by element, so how the parameters are cut into tasks (a chunk of a large one, or a whole small one) and
// spread over the threads changes nothing in the result.
void AdamW(const std::vector<AdamWParam>& params, const AdamWScalars& s) {
  constexpr size_t kChunk = 1 << 14;
  struct Task {
    int param;
    size_t begin, end;
  };
  std::vector<Task> tasks;
  size_t total = 0;
  for (int i = 0; i < int(params.size()); i++) {
    for (size_t b = 0; b < params[i].n; b += kChunk) tasks.push_back({i, b, std::min(params[i].n, b + kChunk)});
    total += params[i].n;
  }
  auto run = [&](int t) {
    const Task& task = tasks[t];
    const AdamWParam& q = params[task.param];
    AdamWRange(task.begin, task.end, q.p, q.g, q.m, q.v, s);
  };
  if (total < 2 * kChunk) {
    for (int t = 0; t < int(tasks.size()); t++) run(t);
  } else {
    ThePool().Run(int(tasks.size()), run);
  }
}

}  // namespace gpt::GPT_ISA
GPT_TARGET_POP
