// Which instruction set a kernel file is compiled for. The files compiled once for each instruction set (see
// ../sources.cjs) are built with -DGPT_ISA_AVX2 on x86-64, into namespace gpt::avx2 with AVX2 and FMA enabled for
// their functions alone (so that the module still loads on an older CPU), and without it, into gpt::portable: plain
// C++ that the compiler vectorises for whatever it targets (SSE2 on x86-64, NEON on AArch64). Elsewhere only the
// portable objects are built.
#pragma once

#if defined(GPT_ISA_AVX2)
#define GPT_ISA avx2
#define GPT_TARGET_PUSH _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")
#define GPT_TARGET_POP _Pragma("GCC pop_options")
#else
#define GPT_ISA portable
#define GPT_TARGET_PUSH
#define GPT_TARGET_POP
#endif
