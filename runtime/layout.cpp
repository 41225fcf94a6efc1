#include "runtime/layout.h"

#include <algorithm>

#include "runtime/kernel.h"

namespace vedge {

// Walks the old dims from the innermost, in runs of dims that are mutually
// contiguous, and requires each run to be covered exactly by a run of new
// dims, which then get strides inside that run.
bool view_strides(const Shape& old_shape, const std::vector<int64_t>& old_strides,
                  const Shape& new_shape, std::vector<int64_t>* out) {
  out->assign(new_shape.size(), 0);
  if (old_shape.empty() || numel(old_shape) == 0) {
    *out = plain_strides(new_shape);
    return numel(old_shape) == numel(new_shape);
  }
  int vd = static_cast<int>(new_shape.size()) - 1;
  int64_t run_stride = old_strides.back();
  int64_t old_run = 1, new_run = 1;
  for (int od = static_cast<int>(old_shape.size()) - 1; od >= 0; --od) {
    old_run *= old_shape[od];
    bool run_ends =
        od == 0 || (old_shape[od - 1] != 1 && old_strides[od - 1] != old_run * run_stride);
    if (!run_ends) continue;
    while (vd >= 0 && (new_run < old_run || new_shape[vd] == 1)) {
      (*out)[vd] = new_run * run_stride;
      new_run *= new_shape[vd];
      --vd;
    }
    if (new_run != old_run) return false;
    if (od > 0) {
      run_stride = old_strides[od - 1];
      old_run = new_run = 1;
    }
  }
  return vd == -1;
}

bool same_strides(const Shape& s, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() != s.size() || b.size() != s.size()) return false;
  for (size_t d = 0; d < s.size(); ++d)
    if (s[d] != 1 && a[d] != b[d]) return false;
  return true;
}

bool is_dense(const Shape& shape, const std::vector<int64_t>& strides) {
  std::vector<size_t> order(shape.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return strides[a] != strides[b] ? strides[a] > strides[b] : a < b;
  });
  int64_t expect = 1;
  for (size_t k = order.size(); k-- > 0;) {
    size_t d = order[k];
    if (shape[d] == 1) continue;
    if (strides[d] != expect) return false;
    expect *= shape[d];
  }
  return true;
}

}  // namespace vedge
