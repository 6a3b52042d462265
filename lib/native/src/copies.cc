// Copies, the same on every instruction set (memcpy picks its own): strided rows, and transposes that keep the last
// axis. Split and concatenation along an axis (each piece is a strided copy), and those transposes (a run of the last
// axis per row), are built on them.
#include <cstring>

#include "kernels.h"

namespace gpt {

void CopyRows(const float* src, long srcOffset, long srcStride, float* dst, long dstOffset, long dstStride, long rows, long width) {
  for (long r = 0; r < rows; r++) std::memcpy(dst + dstOffset + r * dstStride, src + srcOffset + r * srcStride, size_t(width) * sizeof(float));
}

// One contiguous run per output row.
void TransposeKeepLast(const float* x, float* out, const long* shape, const long* perm, int rank) {
  long inStride[6], outShape[6];
  inStride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * shape[d + 1];
  for (int d = 0; d < rank; d++) outShape[d] = shape[perm[d]];
  const long width = shape[rank - 1];
  long rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= outShape[d];
  long index[6] = {0, 0, 0, 0, 0, 0};  // the output row's index, over the first rank-1 axes
  for (long r = 0; r < rows; r++) {
    long offset = 0;
    for (int d = 0; d < rank - 1; d++) offset += index[d] * inStride[perm[d]];
    std::memcpy(out + r * width, x + offset, size_t(width) * sizeof(float));
    for (int d = rank - 2; d >= 0 && ++index[d] == outShape[d]; d--) index[d] = 0;
  }
}

}  // namespace gpt
