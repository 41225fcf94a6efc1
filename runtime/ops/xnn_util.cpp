// xnn_util.cpp: XNNPACK initialization and the shared helpers of the fast
// kernels declared in xnn_util.h. No dependency on the executor or the
// reference kernels.
#include "runtime/ops/xnn_util.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "runtime/error.h"

namespace vedge {

void ensure_xnnpack() {
  static std::once_flag once;
  static xnn_status status = xnn_status_uninitialized;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  VEDGE_CHECK(status == xnn_status_success, "XNNPACK initialization failed: ", xnn_status_name(status),
              " (unsupported CPU?)");
}

const char* xnn_status_name(xnn_status s) {
  switch (s) {
    case xnn_status_success:
      return "success";
    case xnn_status_uninitialized:
      return "uninitialized";
    case xnn_status_invalid_parameter:
      return "invalid parameter";
    case xnn_status_invalid_state:
      return "invalid state";
    case xnn_status_unsupported_parameter:
      return "unsupported parameter";
    case xnn_status_unsupported_hardware:
      return "unsupported hardware";
    case xnn_status_out_of_memory:
      return "out of memory";
  }
  return "unknown status";
}

void xnn_check(xnn_status s, const char* what) {
  if (s != xnn_status_success) fail("XNNPACK ", what, " failed: ", xnn_status_name(s));
}

std::string node_label(const KernelArgs& a) {
  std::string src = a.graph && !a.graph->source.empty() ? a.graph->source + ": " : "";
  return src + "node " + (a.node ? a.node->label() : std::string("?"));
}

XnnOp::~XnnOp() {
  if (op_) xnn_delete_operator(op_);
}

XnnOp& XnnOp::operator=(XnnOp&& o) noexcept {
  if (this != &o) {
    if (op_) xnn_delete_operator(op_);
    op_ = o.op_;
    o.op_ = nullptr;
  }
  return *this;
}

void XnnOp::run(pthreadpool_t pool, const std::string& label) const {
  const xnn_status s = xnn_run_operator(op_, pool);
  if (s != xnn_status_success) fail(label, ": XNNPACK run failed: ", xnn_status_name(s));
}

bool input_is_constant(const KernelArgs& a, size_t i) {
  if (!a.graph || !a.node) return true;
  if (i >= a.node->inputs.size()) return false;
  const int v = a.node->inputs[i];
  return v >= 0 && static_cast<size_t>(v) < a.graph->values.size() && a.graph->values[v].is_constant();
}

bool is_plain_layout(const TensorRef& t) {
  if (t.strides.size() != t.shape.size()) return false;
  const std::vector<int64_t> plain = plain_strides(t.shape);
  for (size_t d = 0; d < t.shape.size(); ++d)
    if (t.shape[d] != 1 && t.strides[d] != plain[d]) return false;
  return true;
}

int64_t nhwc_pixel_stride(const TensorRef& t) {
  if (t.shape.size() != 4 || t.strides.size() != 4) return 0;
  const int64_t N = t.shape[0], C = t.shape[1], H = t.shape[2], W = t.shape[3];
  const std::vector<int64_t>& s = t.strides;
  // The stride of a size-1 dim is meaningless: take P from a dim that has one.
  const int64_t P = W > 1 ? s[3] : H > 1 ? s[2] : N > 1 ? s[0] : C;
  auto fits = [](int64_t size, int64_t stride, int64_t want) { return size == 1 || stride == want; };
  if (P < C || !fits(C, s[1], 1) || !fits(W, s[3], P) || !fits(H, s[2], W * P) || !fits(N, s[0], H * W * P))
    return 0;
  return P;
}

LoopNest make_loop_nest(const Shape& shape, const std::vector<std::vector<int64_t>>& strides) {
  VEDGE_CHECK(!strides.empty() && strides.size() <= 3, "a loop nest takes 1 to 3 operands");
  LoopNest n;
  n.num_operands = static_cast<int>(strides.size());
  std::vector<int> dims;
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] != 1) dims.push_back(static_cast<int>(d));
  // Operand 0's memory order, outermost first (stable: ties keep logical order).
  std::stable_sort(dims.begin(), dims.end(),
                   [&](int a, int b) { return std::abs(strides[0][a]) > std::abs(strides[0][b]); });
  n.stride.assign(strides.size(), {});
  for (int d : dims) {
    const int last = n.rank() - 1;
    bool merge = last >= 0;
    for (size_t k = 0; merge && k < strides.size(); ++k)
      merge = n.stride[k][last] == strides[k][d] * shape[d];
    if (merge) {
      n.size[last] *= shape[d];
      for (size_t k = 0; k < strides.size(); ++k) n.stride[k][last] = strides[k][d];
    } else {
      n.size.push_back(shape[d]);
      for (size_t k = 0; k < strides.size(); ++k) n.stride[k].push_back(strides[k][d]);
    }
  }
  VEDGE_CHECK(n.rank() <= kMaxNestRank, "strided loop over ", shape_str(shape),
              " has too many non-mergeable dims (max ", kMaxNestRank, ")");
  if (n.size.empty()) {
    n.size.push_back(1);
    for (auto& s : n.stride) s.push_back(0);
  }
  return n;
}

std::vector<int64_t> broadcast_strides(const TensorRef& t, const Shape& shape) {
  std::vector<int64_t> r(shape.size(), 0);
  const size_t off = shape.size() - t.shape.size();
  for (size_t d = 0; d < t.shape.size(); ++d)
    if (t.shape[d] != 1) r[off + d] = t.strides[d];
  return r;
}

}  // namespace vedge
