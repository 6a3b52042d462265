// The kernels compiled once for each instruction set (target.h), in namespace gpt::GPT_ISA: table.cc gathers them into
// that instruction set's table (kernels.h).
#pragma once

#include "kernels.h"
#include "target.h"

GPT_TARGET_PUSH
namespace gpt::GPT_ISA {

// matmul.cc
void MatMul(const MatMulArgs& args, const MicroKernels& tile);

// adamw.cc: every parameter of a step in one call, in place.
void AdamW(const std::vector<AdamWParam>& params, const AdamWScalars& s);

// elementwise.cc
void SumRows(const float* x, float* out, long rows, long cols);
void Dropout(const float* x, float* out, size_t n, const DropoutMask& mask);
void Binary(BinaryOp op, const float* a, long na, const float* b, long nb, float* out, long n);
void Unary(UnaryOp op, const float* x, float* out, long n, float alpha);
void ReluGrad(const float* dy, const float* x, float* dx, long n);

// rows.cc
void LayerNormForward(const float* x, const float* w, const float* b, float* y, long rows, long C, float eps);
void LayerNormBackward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db, long rows, long C, float eps);
void CausalSoftmaxForward(const float* x, float* y, long rows, long T);
void CausalSoftmaxBackward(const float* dy, const float* y, float* dx, long rows, long T);
float CrossEntropyForward(const float* logits, const int32_t* targets, long N, long V);
void CrossEntropyBackward(const float* logits, const int32_t* targets, float dloss, float* dx, long N, long V);
// The causal softmax of rows i0..i1-1 of a block, in place (row i, ld floats apart, holds positions 0..i); attention.cc
// runs it on each head's weights.
void CausalSoftmaxRows(float* a, long ld, long i0, long i1);

// attention.cc
void AttentionForward(const AttentionShape& shape, const float* qkv, float* y);
void AttentionBackward(const AttentionShape& shape, const float* dy, const float* qkv, float* dqkv);

}  // namespace gpt::GPT_ISA
GPT_TARGET_POP
