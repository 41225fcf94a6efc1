// layout.h: stride arithmetic for the executor's layout pass: which memory
// layouts can be reinterpreted as a reshape without moving data.
// Depends on tensor.h only.
#pragma once

#include <vector>

#include "runtime/tensor.h"

namespace vedge {

// Strides that describe `new_shape` as a row-major reshape of a tensor of
// `old_shape` laid out with `old_strides`, without moving data. Returns false
// when no such strides exist (the data must then be copied).
bool view_strides(const Shape& old_shape, const std::vector<int64_t>& old_strides,
                  const Shape& new_shape, std::vector<int64_t>* out);

// True when some permutation of the dims is row-major contiguous, i.e. the
// tensor occupies exactly numel consecutive elements (size-1 dims ignored).
bool is_dense(const Shape& shape, const std::vector<int64_t>& strides);

}  // namespace vedge
