// The instruction sets the kernels run on: which this CPU has, the one chosen when the module loads (the best it has,
// or GPT_NATIVE_ISA's), and switching between them (the tests and the benchmark compare them in one process).
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace gpt {
namespace {

#if defined(__x86_64__)
// AVX2's kernels on AVX-512's micro-kernels: the rest of AVX2's code is as fast on an AVX-512 CPU.
const Kernels& Avx512Kernels() {
  static const Kernels kernels = [] {
    Kernels k = avx2::kKernels;
    k.name = "AVX-512";
    k.tile = &avx512::kTile;
    return k;
  }();
  return kernels;
}
#endif

// The best this CPU runs, unless GPT_NATIVE_ISA names another it runs.
const Kernels* Choose() {
  const char* env = std::getenv("GPT_NATIVE_ISA");
  if (env != nullptr) {
    char name[16] = {0};
    for (size_t i = 0, j = 0; env[i] != '\0' && j + 1 < sizeof(name); i++) {
      if (env[i] != '-') name[j++] = char(env[i] >= 'A' && env[i] <= 'Z' ? env[i] - 'A' + 'a' : env[i]);
    }
    if (const Kernels* named = KernelsNamed(name)) return named;
  }
  for (const char* name : {"avx512", "avx2", "portable"}) {
    if (const Kernels* kernels = KernelsNamed(name)) return kernels;
  }
  return &portable::kKernels;
}

std::atomic<const Kernels*> g_active{nullptr};

}  // namespace

bool HasAvx2() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool HasAvx512() {
#if defined(__x86_64__)
  return HasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

const Kernels* KernelsNamed(const char* name) {
  if (std::strcmp(name, "portable") == 0) return &portable::kKernels;
#if defined(__x86_64__)
  if (std::strcmp(name, "avx2") == 0 && HasAvx2()) return &avx2::kKernels;
  if (std::strcmp(name, "avx512") == 0 && HasAvx512()) return &Avx512Kernels();
#endif
  return nullptr;
}

const Kernels& Active() {
  const Kernels* kernels = g_active.load();
  if (kernels == nullptr) {
    kernels = Choose();
    g_active.store(kernels);
  }
  return *kernels;
}

void SetActive(const Kernels& kernels) { g_active.store(&kernels); }

}  // namespace gpt
