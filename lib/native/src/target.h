// Which instruction set a kernel file is compiled for. The files compiled once for each instruction set (see
// ../sources.cjs) are built with -DGPT_ISA_AVX2 on x86-64, into namespace gpt::avx2 with AVX2 and FMA enabled for
// their functions alone (so that the module still loads on an older CPU), and without it, into gpt::portable: plain
// C++ that the compiler vectorises for whatever it targets (SSE2 on x86-64, NEON on AArch64). Elsewhere only the
// portable objects are built.
#pragma once

#if defined(GPT_ISA_AVX2)
#define GPT_ISA avx2
#if defined(__clang__)  // Clang has no target pragma: an attribute on every function until the pop
#define GPT_TARGET_PUSH _Pragma("clang attribute push(__attribute__((target(\"avx2,fma\"))), apply_to = function)")
#define GPT_TARGET_POP _Pragma("clang attribute pop")
// The AVX-512 micro-kernel's target, a whole set: a second target attribute would not add to the first.
#define GPT_TARGET_AVX512_PUSH \
  _Pragma("clang attribute push(__attribute__((target(\"avx2,fma,avx512f,avx512bw,avx512dq,avx512vl\"))), apply_to = function)")
#define GPT_TARGET_AVX512_POP _Pragma("clang attribute pop")
#else
#define GPT_TARGET_PUSH _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")
#define GPT_TARGET_POP _Pragma("GCC pop_options")
// The AVX-512 micro-kernel's target: GCC adds a target pragma's options to those in force.
#define GPT_TARGET_AVX512_PUSH \
  GPT_TARGET_PUSH _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512bw,avx512dq,avx512vl,fma\")")
#define GPT_TARGET_AVX512_POP _Pragma("GCC pop_options") GPT_TARGET_POP
#endif
#else
#define GPT_ISA portable
#define GPT_TARGET_PUSH
#define GPT_TARGET_POP
#endif
