// The table of the kernels of the instruction set this file is compiled for (target.h), as the bindings call them.
#include "isa-kernels.h"

namespace gpt::GPT_ISA {

extern const Kernels kKernels{
#if defined(GPT_ISA_AVX2)
    "AVX2",
#else
    "portable",
#endif
    &kTile, MatMul, AdamW, SumRows, Dropout, LayerNormForward, LayerNormBackward, CausalSoftmaxForward, CausalSoftmaxBackward,
    CrossEntropyForward, CrossEntropyBackward, AttentionForward, AttentionBackward, Binary, Unary, ReluGrad,
};

}  // namespace gpt::GPT_ISA
