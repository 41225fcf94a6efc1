// binary_row.h: the inner loop of the fast broadcasting binary kernels
// (fast_elementwise.cpp for float, fast_quant_elementwise.cpp for int8): one
// row of `len` elements with element strides sy, sa, sb (0 = broadcast), with
// the contiguous and scalar-broadcast cases written out so they vectorize.
// Arguments are by value, so stores through `y` (which may alias anything
// for int8) do not force reloads. Always inlined, so a caller compiled for
// another ISA (an AVX2 clone) gets its own copy. Depends on nothing.
#pragma once

#include <cstdint>

namespace vedge {

template <class T, class F>
__attribute__((always_inline)) inline void binary_row_body(T* y, const T* pa, const T* pb, int64_t len, int64_t sy,
                                                           int64_t sa, int64_t sb, const F f) {
  if (sy == 1 && sa == 1 && sb == 1) {
    for (int64_t i = 0; i < len; ++i) y[i] = f(pa[i], pb[i]);
  } else if (sy == 1 && sa == 1 && sb == 0) {
    const T q = *pb;
    for (int64_t i = 0; i < len; ++i) y[i] = f(pa[i], q);
  } else if (sy == 1 && sa == 0 && sb == 1) {
    const T p = *pa;
    for (int64_t i = 0; i < len; ++i) y[i] = f(p, pb[i]);
  } else {
    for (int64_t i = 0; i < len; ++i) y[i * sy] = f(pa[i * sa], pb[i * sb]);
  }
}

}  // namespace vedge
