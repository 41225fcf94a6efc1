// shape_inference.cpp: shape rules of the canonical ops, see
// shape_inference.h. Depends on graph.h and error.h only.
#include "runtime/shape_inference.h"

#include <algorithm>

#include "runtime/error.h"

namespace vedge {

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& what) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    VEDGE_CHECK(da == db || da == 1 || db == 1, what, "shapes ", shape_str(a), " and ",
                shape_str(b), " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

struct Ctx {
  const Graph& g;
  const Node& n;
  std::string prefix() const {
    return (g.source.empty() ? std::string("graph") : g.source) + ": node " + n.label() + ": ";
  }
  template <class... A>
  [[noreturn]] void error(const A&... a) const {
    fail(prefix(), a...);
  }
  const Shape& in(size_t i) const {
    if (i >= n.inputs.size() || n.inputs[i] < 0) error("missing input ", i);
    return g.values[static_cast<size_t>(n.inputs[i])].shape;
  }
  bool has_in(size_t i) const { return i < n.inputs.size() && n.inputs[i] >= 0; }
  void need_inputs(size_t lo, size_t hi) const {
    if (n.inputs.size() < lo || n.inputs.size() > hi)
      error("expects ", lo, "..", hi, " inputs, has ", n.inputs.size());
    for (size_t i = 0; i < lo; ++i)
      if (n.inputs[i] < 0) error("missing input ", i);
    for (int id : n.inputs)
      if (id >= static_cast<int>(g.values.size())) error("input id ", id, " out of range");
  }
  std::vector<int64_t> ints(const char* k, size_t len) const {
    std::vector<int64_t> v = n.attrs.get_ints(k);
    if (v.size() != len) error("attribute '", k, "' must have ", len, " values");
    return v;
  }
};

// Output size of a sliding window along one axis.
int64_t window_out(const Ctx& c, int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0,
                   int64_t p1) {
  constexpr int64_t kMax = int64_t{1} << 24;  // keeps the arithmetic below overflow-free
  if (k < 1 || s < 1 || d < 1 || p0 < 0 || p1 < 0 || k > kMax || s > kMax || d > kMax ||
      p0 > kMax || p1 > kMax || in > kMax)
    c.error("kernel, stride and dilation must be in 1..", kMax, " and pads in 0..", kMax);
  int64_t span = d * (k - 1) + 1;
  if (in + p0 + p1 < span)
    c.error("window ", span, " is larger than the padded input ", in + p0 + p1);
  return (in + p0 + p1 - span) / s + 1;
}

Shape conv_shape(const Ctx& c) {
  c.need_inputs(2, 3);
  const Shape& x = c.in(0);
  const Shape& w = c.in(1);
  if (x.size() != 4 || w.size() != 4) c.error("only 2-D convolution (4-D input and weights)");
  int64_t group = c.n.attrs.get_i("group", 1);
  if (group < 1 || x[1] % group != 0 || w[0] % group != 0)
    c.error("group ", group, " does not divide channels");
  if (w[1] * group != x[1])
    c.error("weights ", shape_str(w), " expect ", w[1] * group, " input channels, input is ",
            shape_str(x));
  if (c.has_in(2) && c.in(2) != Shape{w[0]}) c.error("bias must have shape [", w[0], "]");
  auto s = c.ints("strides", 2), p = c.ints("pads", 4), d = c.ints("dilations", 2);
  return {x[0], w[0], window_out(c, x[2], w[2], s[0], d[0], p[0], p[2]),
          window_out(c, x[3], w[3], s[1], d[1], p[1], p[3])};
}

Shape pool_shape(const Ctx& c) {
  c.need_inputs(1, 1);
  const Shape& x = c.in(0);
  if (x.size() != 4) c.error("only 2-D pooling (4-D input)");
  auto k = c.ints("kernel_shape", 2), s = c.ints("strides", 2), p = c.ints("pads", 4);
  if (p[0] >= k[0] || p[2] >= k[0] || p[1] >= k[1] || p[3] >= k[1])
    c.error("pads must be smaller than the kernel");
  return {x[0], x[1], window_out(c, x[2], k[0], s[0], 1, p[0], p[2]),
          window_out(c, x[3], k[1], s[1], 1, p[1], p[3])};
}

Shape gemm_shape(const Ctx& c) {
  c.need_inputs(2, 3);
  const Shape& a = c.in(0);
  const Shape& b = c.in(1);
  if (a.size() != 2 || b.size() != 2) c.error("A and B must be 2-D");
  bool ta = c.n.attrs.get_i("transA", 0) != 0, tb = c.n.attrs.get_i("transB", 0) != 0;
  int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  int64_t kb = tb ? b[1] : b[0], nn = tb ? b[0] : b[1];
  if (k != kb) c.error("inner dimensions differ: A ", shape_str(a), ", B ", shape_str(b));
  if (c.has_in(2)) {
    Shape out = broadcast_shapes(c.in(2), {m, nn}, c.prefix() + "C: ");
    if (out != Shape{m, nn})
      c.error("C ", shape_str(c.in(2)), " does not broadcast to [", m, ",", nn, "]");
  }
  return {m, nn};
}

Shape matmul_shape(const Ctx& c) {
  c.need_inputs(2, 2);
  Shape a = c.in(0), b = c.in(1);
  if (a.empty() || b.empty()) c.error("scalar operands");
  bool va = a.size() == 1, vb = b.size() == 1;
  if (va) a.insert(a.begin(), 1);
  if (vb) b.push_back(1);
  if (a.back() != b[b.size() - 2])
    c.error("inner dimensions differ: ", shape_str(c.in(0)), " x ", shape_str(c.in(1)));
  Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  Shape out = broadcast_shapes(ba, bb, c.prefix());
  if (!va) out.push_back(a[a.size() - 2]);
  if (!vb) out.push_back(b.back());
  return out;
}

Shape reshape_shape(const Ctx& c) {
  c.need_inputs(1, 1);
  Shape s = c.n.attrs.get_ints("shape");
  if (!c.n.attrs.has("shape")) c.error("missing resolved 'shape' attribute");
  for (int64_t d : s)
    if (d < 0) c.error("unresolved dimension in shape ", shape_str(s));
  if (numel(s) != numel(c.in(0)))
    c.error("cannot reshape ", shape_str(c.in(0)), " to ", shape_str(s));
  return s;
}

Shape transpose_shape(const Ctx& c) {
  c.need_inputs(1, 1);
  const Shape& x = c.in(0);
  auto perm = c.ints("perm", x.size());
  std::vector<bool> used(x.size(), false);
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(x.size()) || used[static_cast<size_t>(p)])
      c.error("invalid perm for rank ", x.size());
    used[static_cast<size_t>(p)] = true;
    out.push_back(x[static_cast<size_t>(p)]);
  }
  return out;
}

Shape concat_shape(const Ctx& c) {
  if (c.n.inputs.empty()) c.error("no inputs");
  c.need_inputs(c.n.inputs.size(), c.n.inputs.size());
  Shape out = c.in(0);
  int64_t axis = c.n.attrs.get_i("axis", -1);
  if (axis < 0 || axis >= static_cast<int64_t>(out.size()))
    c.error("axis ", axis, " out of range for rank ", out.size());
  for (size_t i = 1; i < c.n.inputs.size(); ++i) {
    const Shape& s = c.in(i);
    if (s.size() != out.size()) c.error("inputs of different rank");
    for (size_t d = 0; d < s.size(); ++d)
      if (static_cast<int64_t>(d) != axis && s[d] != out[d])
        c.error("input shapes ", shape_str(c.in(0)), " and ", shape_str(s), " differ off axis ",
                axis);
    out[static_cast<size_t>(axis)] += s[static_cast<size_t>(axis)];
  }
  return out;
}

Shape same_as_input(const Ctx& c, size_t lo, size_t hi) {
  c.need_inputs(lo, hi);
  return c.in(0);
}

// QuantizeLinear / DequantizeLinear: scale and zero point are one value
// (per-tensor) or one per index of attr axis.
Shape qdq_shape(const Ctx& c) {
  c.need_inputs(2, 3);
  const Shape& x = c.in(0);
  const int64_t ns = numel(c.in(1));
  if (c.has_in(2) && numel(c.in(2)) != ns)
    c.error("zero point has ", numel(c.in(2)), " values, scale has ", ns);
  if (c.n.attrs.has("axis")) {
    const int64_t axis = c.n.attrs.get_i("axis");
    if (axis < 0 || axis >= static_cast<int64_t>(x.size()))
      c.error("axis ", axis, " out of range for input ", shape_str(x));
    if (ns != x[static_cast<size_t>(axis)])
      c.error("scale has ", ns, " values, axis ", axis, " of ", shape_str(x), " has ",
              x[static_cast<size_t>(axis)]);
  } else if (ns != 1) {
    c.error("per-tensor scale must have one value, has ", ns);
  }
  return x;
}

}  // namespace

std::vector<Shape> infer_node_shapes(const Graph& g, const Node& n) {
  Ctx c{g, n};
  const std::string& op = n.op;
  for (int id : n.inputs)
    if (id < -1 || id >= static_cast<int>(g.values.size())) c.error("input id out of range");
  if (n.outputs.size() != 1) c.error("expects one output, has ", n.outputs.size());
  Shape out;
  if (op == "Conv" || op == "QConv") {
    out = conv_shape(c);
  } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    out = qdq_shape(c);
  } else if (op == "QLut" || op == "Cast") {
    out = same_as_input(c, 1, 1);
    if (op == "QLut" && n.attrs.get_ints("table").size() != 256)
      c.error("attribute 'table' must have 256 values");
  } else if (op == "QAdd" || op == "QMul") {
    c.need_inputs(2, 2);
    out = broadcast_shapes(c.in(0), c.in(1), c.prefix());
  } else if (op == "QConcat") {
    out = concat_shape(c);
  } else if (op == "Relu" || op == "Sigmoid" || op == "HardSwish" || op == "HardSigmoid" ||
             op == "Clip" || op == "Identity" || op == "Relayout") {
    out = same_as_input(c, 1, 1);
  } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    c.need_inputs(2, 2);
    out = broadcast_shapes(c.in(0), c.in(1), c.prefix());
  } else if (op == "GlobalAveragePool" || op == "QGlobalAveragePool") {
    out = same_as_input(c, 1, 1);
    if (out.size() != 4) c.error("expects a 4-D input");
    out[2] = out[3] = 1;
  } else if (op == "AveragePool" || op == "MaxPool") {
    out = pool_shape(c);
  } else if (op == "Gemm") {
    out = gemm_shape(c);
  } else if (op == "MatMul") {
    out = matmul_shape(c);
  } else if (op == "Reshape") {
    out = reshape_shape(c);
  } else if (op == "Transpose") {
    out = transpose_shape(c);
  } else if (op == "Concat") {
    out = concat_shape(c);
  } else if (op == "Softmax") {
    out = same_as_input(c, 1, 1);
    int64_t axis = n.attrs.get_i("axis", -1);
    if (axis < 0 || axis >= static_cast<int64_t>(out.size()))
      c.error("axis ", axis, " out of range for rank ", out.size());
  } else if (op == "Resize") {
    c.need_inputs(1, 1);
    int o = n.outputs[0];
    if (o < 0 || o >= static_cast<int>(g.values.size())) c.error("output id out of range");
    out = g.values[static_cast<size_t>(o)].shape;
    if (out.size() != c.in(0).size()) c.error("output shape is not resolved");
  } else if (op == "Pad") {
    out = same_as_input(c, 1, 1);
    auto p = c.ints("pads", 4);
    if (out.size() != 4) c.error("expects a 4-D input");
    for (int64_t v : p)
      if (v < 0) c.error("negative pads");
    out[2] += p[0] + p[2];
    out[3] += p[1] + p[3];
  } else if (op == "BatchNormalization") {
    c.need_inputs(5, 5);
    out = c.in(0);
    if (out.size() < 2) c.error("input must have a channel axis");
    for (size_t i = 1; i < 5; ++i)
      if (c.in(i) != Shape{out[1]}) c.error("parameter ", i, " must have shape [", out[1], "]");
  } else {
    c.error("no shape rule for this op");
  }
  return {out};
}

DType infer_node_dtype(const Graph& g, const Node& n) {
  auto dtype_of = [&](size_t i) {
    if (i >= n.inputs.size() || n.inputs[i] < 0) return DType::U8;
    return g.values[static_cast<size_t>(n.inputs[i])].dtype;
  };
  if (n.op == "QuantizeLinear") return dtype_of(2);
  if (n.op == "DequantizeLinear" || n.op == "Cast") return DType::F32;
  if (n.op == "QConv" || n.op == "QAdd" || n.op == "QMul" || n.op == "QGlobalAveragePool" ||
      n.op == "QLut" || n.op == "QConcat")
    return DType::I8;
  return n.inputs.empty() || n.inputs[0] < 0 ? DType::F32 : dtype_of(0);
}

void infer_shapes(Graph& g) {
  for (const Node& n : g.nodes) {
    std::vector<Shape> shapes = infer_node_shapes(g, n);
    const DType dt = infer_node_dtype(g, n);
    for (size_t i = 0; i < shapes.size(); ++i) {
      Value& v = g.values[static_cast<size_t>(n.outputs[i])];
      v.shape = shapes[i];
      v.dtype = dt;
    }
  }
}

}  // namespace vedge
