// ref_registry.cpp: make_ref_kernel(), the one table from canonical op name
// to reference kernel factory; the helpers shared by the reference kernels
// (ref.h); and the small TensorRef helpers declared in kernel.h.
// Depends on runtime/ only (no XNNPACK, no ONNX).
#include <cstring>
#include <utility>

#include "runtime/ops/ref.h"

namespace vedge {

std::vector<int64_t> plain_strides(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t d = s.size(); d-- > 0;) {
    st[d] = acc;
    acc *= s[d];
  }
  return st;
}

std::vector<int64_t> nhwc_strides(const Shape& s) {
  VEDGE_CHECK(s.size() == 4, "nhwc_strides: shape ", shape_str(s), " is not 4-D");
  const int64_t c = s[1], h = s[2], w = s[3];
  return {h * w * c, 1, w * c, c};
}

TensorRef make_ref(Tensor& t) {
  TensorRef r;
  r.dtype = t.dtype();
  r.shape = t.shape();
  r.strides = plain_strides(r.shape);
  r.data = t.raw();
  return r;
}

namespace ref {

Activation parse_activation(const Attrs& attrs) {
  Activation act;
  const std::string name = attrs.get_s("activation");
  if (name.empty()) return act;
  if (name == "relu") {
    act.kind = Activation::Kind::Relu;
  } else if (name == "relu6") {
    act.kind = Activation::Kind::Clip;
    act.lo = 0.f;
    act.hi = 6.f;
  } else if (name == "clip") {
    act.kind = Activation::Kind::Clip;
    act.lo = attrs.get_f("act_min", act.lo);
    act.hi = attrs.get_f("act_max", act.hi);
  } else if (name == "hardswish") {
    act.kind = Activation::Kind::HardSwish;
  } else if (name == "sigmoid") {
    act.kind = Activation::Kind::Sigmoid;
  } else {
    fail("unknown fused activation '", name, "'");
  }
  return act;
}

void check_arity(const KernelArgs& a, size_t min_in, size_t max_in, size_t n_out) {
  VEDGE_CHECK(a.in.size() >= min_in && a.in.size() <= max_in, "expected ", min_in,
              min_in == max_in ? "" : " to " + std::to_string(max_in), " inputs, got ",
              a.in.size());
  VEDGE_CHECK(a.out.size() == n_out, "expected ", n_out, " outputs, got ", a.out.size());
  for (size_t i = 0; i < a.in.size(); ++i) {
    const TensorRef& r = a.in[i];
    VEDGE_CHECK(r.present() || i >= min_in, "input ", i, " is missing");
    VEDGE_CHECK(!r.present() || r.is_plain(), "input ", i, " is not a plain tensor");
  }
  for (size_t i = 0; i < a.out.size(); ++i) {
    VEDGE_CHECK(a.out[i].present() || a.out[i].numel() == 0, "output ", i, " has no buffer");
    VEDGE_CHECK(a.out[i].is_plain(), "output ", i, " is not a plain tensor");
  }
}

bool all_dtype(const KernelArgs& a, DType t) {
  for (const TensorRef& r : a.in)
    if (r.present() && r.dtype != t) return false;
  for (const TensorRef& r : a.out)
    if (r.dtype != t) return false;
  return true;
}

void check_shape(const char* what, const Shape& got, const Shape& want) {
  VEDGE_CHECK(got == want, what, " shape is ", shape_str(got), ", expected ", shape_str(want));
}

std::vector<int64_t> attr_ints(const Attrs& attrs, const char* key, size_t n,
                               const std::vector<int64_t>& def) {
  std::vector<int64_t> v = attrs.get_ints(key, def);
  VEDGE_CHECK(v.size() == n, "attribute '", key, "' must have ", n, " values, has ", v.size());
  return v;
}

Shape broadcast_shape(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    // Right-aligned dims; a missing leading dim acts as 1.
    const int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    VEDGE_CHECK(da == db || da == 1 || db == 1, "shapes ", shape_str(a), " and ",
                shape_str(b), " do not broadcast");
    out[out.size() - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  VEDGE_CHECK(in.size() <= out.size(), "cannot broadcast ", shape_str(in), " to ",
              shape_str(out));
  const std::vector<int64_t> plain = plain_strides(in);
  std::vector<int64_t> st(out.size(), 0);
  const size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    VEDGE_CHECK(in[i] == out[lead + i] || in[i] == 1, "cannot broadcast ", shape_str(in),
                " to ", shape_str(out));
    st[lead + i] = in[i] == 1 ? 0 : plain[i];
  }
  return st;
}

namespace {

// One table: canonical op name -> factory. Ops sharing a kernel family are
// told apart inside the factory by node->op.
const std::pair<const char*, KernelFactory> kTable[] = {
    {"Conv", make_conv},
    {"Relu", make_unary},
    {"Clip", make_unary},
    {"Sigmoid", make_unary},
    {"HardSwish", make_unary},
    {"HardSigmoid", make_unary},
    {"Add", make_binary},
    {"Sub", make_binary},
    {"Mul", make_binary},
    {"Div", make_binary},
    {"GlobalAveragePool", make_global_avg_pool},
    {"AveragePool", make_pool},
    {"MaxPool", make_pool},
    {"Gemm", make_gemm},
    {"MatMul", make_matmul},
    {"Reshape", make_copy},
    {"Identity", make_copy},
    {"Relayout", make_copy},
    {"Transpose", make_transpose},
    {"Concat", make_concat},
    {"Softmax", make_softmax},
    {"Resize", make_resize},
    {"QuantizeLinear", make_quantize_linear},
    {"DequantizeLinear", make_dequantize_linear},
    {"QConv", make_qconv},
    {"QAdd", make_qbinary},
    {"QMul", make_qbinary},
    {"QGlobalAveragePool", make_qglobal_avg_pool},
    {"QLut", make_qlut},
    {"QConcat", make_qconcat},
};

}  // namespace
}  // namespace ref

std::unique_ptr<Kernel> make_ref_kernel(const KernelArgs& a) {
  VEDGE_CHECK(a.node != nullptr, "make_ref_kernel: no node");
  for (const auto& [op, factory] : ref::kTable) {
    if (a.node->op != op) continue;
    try {
      return factory(a);
    } catch (const Error& e) {
      const std::string src = a.graph && !a.graph->source.empty() ? a.graph->source + ": " : "";
      fail(src, "node ", a.node->label(), ": ", e.what());
    }
  }
  return nullptr;
}

}  // namespace vedge
