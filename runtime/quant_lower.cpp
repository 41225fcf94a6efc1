// quant_lower.cpp: fold_dequantized_constants and lower_qdq (see
// quant_lower.h and docs/quantization.md for the patterns and numerics).
// Works on the canonical IR only: QuantizeLinear/DequantizeLinear nodes with
// constant scale and zero point inputs (the importer's canonical form).
// Depends on graph.h, passes.h (evaluation of constant nodes),
// executor.h (reference evaluation for lookup tables) and quant_math.h;
// no ONNX.
#include "runtime/quant_lower.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/passes.h"
#include "runtime/quant_math.h"

namespace vedge {

const char* qdq_mode_name(QdqMode m) { return m == QdqMode::Integer ? "integer" : "simulate"; }

namespace {

Value& val(Graph& g, int id) { return g.values[static_cast<size_t>(id)]; }

bool is_qdq(const Node& n) { return n.op == "QuantizeLinear" || n.op == "DequantizeLinear"; }

bool is_graph_output(const Graph& g, int id) {
  return std::find(g.outputs.begin(), g.outputs.end(), id) != g.outputs.end();
}
bool is_graph_input(const Graph& g, int id) {
  return std::find(g.inputs.begin(), g.inputs.end(), id) != g.inputs.end();
}

// Scale / zero point / axis of a canonical Q or DQ node.
QuantParams node_params(const Graph& g, const Node& n) {
  QuantParams q;
  q.scale = g.values[static_cast<size_t>(n.inputs.at(1))].constant.to_floats();
  if (n.inputs.size() > 2 && n.inputs[2] >= 0)
    for (int64_t z : g.values[static_cast<size_t>(n.inputs[2])].constant.to_int64s())
      q.zero_point.push_back(static_cast<int32_t>(z));
  else
    q.zero_point.assign(q.scale.size(), 0);
  q.axis = static_cast<int>(n.attrs.get_i("axis", -1));
  return q;
}

bool per_tensor(const QuantParams& q) { return q.scale.size() == 1 && q.zero_point.size() == 1; }

// An int8 zero point constant (scalar or per-axis, like the scale).
int add_i8_zero_point(Graph& g, const std::string& name, const Shape& shape,
                      const std::vector<int32_t>& zp) {
  Tensor t(DType::I8, shape);
  for (size_t i = 0; i < zp.size(); ++i) t.data<int8_t>()[i] = static_cast<int8_t>(zp[i]);
  return g.add_constant(name, t);
}

Node make_node(const std::string& name, const std::string& op, std::vector<int> in,
               std::vector<int> out, Attrs attrs = {}) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

// ---- uint8 -> int8 -----------------------------------------------------------------
// A uint8 value q with zero point z is the int8 value q - 128 with zero
// point z - 128 (same real value). Inner uint8 values are rewritten in
// place; a uint8 graph input becomes int8 through DQ -> Q (exact: (q - z) *
// s / s rounds back to q - z), a uint8 graph output is written by Q(DQ(int8)).
int uint8_to_int8(Graph& g) {
  int count = 0;
  std::vector<Node> out;
  std::vector<Node> src = std::move(g.nodes);
  for (Node& n : src) {
    if (!is_qdq(n) || n.inputs.size() < 3 || n.inputs[2] < 0 ||
        val(g, n.inputs[2]).constant.dtype() != DType::U8) {
      out.push_back(std::move(n));
      continue;
    }
    ++count;
    const Tensor zp_u8 = val(g, n.inputs[2]).constant;
    QuantParams p = node_params(g, n);
    std::vector<int32_t> zp8;
    for (int32_t z : p.zero_point) zp8.push_back(z - 128);
    const int zp_i8 = add_i8_zero_point(g, n.name + "/zero_point_i8", zp_u8.shape(), zp8);
    const int x = n.inputs[0], y = n.outputs[0];
    if (n.op == "QuantizeLinear") {
      if (is_graph_output(g, y)) {
        // Q_i8 -> DQ -> Q_u8 (the original node, now reading float again).
        Value v8 = val(g, y);
        v8.name = val(g, y).name + "/int8";
        v8.dtype = DType::I8;
        v8.quant = {};
        const int y8 = g.add_value(v8);
        Value vf = val(g, y);
        vf.name = val(g, y).name + "/dequantized";
        vf.dtype = DType::F32;
        vf.quant = {};
        const int yf = g.add_value(vf);
        out.push_back(
            make_node(n.name + "/int8", "QuantizeLinear", {x, n.inputs[1], zp_i8}, {y8}, n.attrs));
        out.push_back(make_node(n.name + "/to_uint8", "DequantizeLinear", {y8, n.inputs[1], zp_i8},
                                {yf}, n.attrs));
        n.inputs[0] = yf;
        out.push_back(std::move(n));
      } else {
        n.inputs[2] = zp_i8;
        val(g, y).dtype = DType::I8;
        out.push_back(std::move(n));
      }
      continue;
    }
    // DequantizeLinear of uint8.
    if (val(g, x).is_constant()) {
      Tensor c(DType::I8, val(g, x).shape);
      const Tensor& u = val(g, x).constant;
      for (int64_t i = 0; i < c.numel(); ++i)
        c.data<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(u.data<uint8_t>()[i]) - 128);
      n.inputs[0] = g.add_constant(val(g, x).name + "/int8", c);
    } else if (is_graph_input(g, x) || val(g, x).dtype == DType::U8) {
      Value vf = val(g, y);
      vf.name = val(g, x).name + "/dequantized";
      const int xf = g.add_value(vf);
      Value v8 = val(g, x);
      v8.name = val(g, x).name + "/int8";
      v8.dtype = DType::I8;
      v8.quant = {};
      const int x8 = g.add_value(v8);
      out.push_back(make_node(n.name + "/from_uint8", "DequantizeLinear",
                              {x, n.inputs[1], n.inputs[2]}, {xf}, n.attrs));
      out.push_back(make_node(n.name + "/to_int8", "QuantizeLinear", {xf, n.inputs[1], zp_i8}, {x8},
                              n.attrs));
      n.inputs[0] = x8;
    }
    n.inputs[2] = zp_i8;
    out.push_back(std::move(n));
  }
  g.nodes = std::move(out);
  return count;
}

// Value::quant of the integer side of every Q/DQ node (int8 only).
void set_qdq_quant(Graph& g) {
  for (const Node& n : g.nodes) {
    if (!is_qdq(n)) continue;
    const int v = n.op == "QuantizeLinear" ? n.outputs[0] : n.inputs[0];
    Value& x = val(g, v);
    if (x.dtype == DType::I8 && !x.quant.present()) x.quant = node_params(g, n);
  }
}

// ---- pattern helpers -----------------------------------------------------------------

struct Index {
  std::vector<int> prod;                  // value -> producing node, -1
  std::vector<std::vector<int>> readers;  // value -> reading nodes
  Index(const Graph& g) : prod(g.values.size(), -1), readers(g.values.size()) {
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      for (int o : g.nodes[k].outputs) prod[static_cast<size_t>(o)] = static_cast<int>(k);
      for (int i : g.nodes[k].inputs)
        if (i >= 0) readers[static_cast<size_t>(i)].push_back(static_cast<int>(k));
    }
  }
};

// The int8 per-tensor value behind a float value produced by a DQ node, or -1.
int dq_source(const Graph& g, const Index& ix, int v, const std::vector<bool>& dead) {
  if (v < 0) return -1;
  const int p = ix.prod[static_cast<size_t>(v)];
  if (p < 0 || dead[static_cast<size_t>(p)]) return -1;
  const Node& d = g.nodes[static_cast<size_t>(p)];
  if (d.op != "DequantizeLinear") return -1;
  const Value& x = g.values[static_cast<size_t>(d.inputs[0])];
  if (x.dtype != DType::I8 || d.attrs.has("axis")) return -1;
  const QuantParams q = node_params(g, d);
  if (!per_tensor(q)) return -1;
  return d.inputs[0];
}

// The QuantizeLinear node (per-tensor int8) that is the only reader of v,
// possibly through one Relu / Clip that only it reads (returned in *act,
// -1 otherwise). -1 when there is none.
int q_reader(const Graph& g, const Index& ix, int v, const std::vector<bool>& dead, int* act) {
  *act = -1;
  for (int hop = 0; hop < 2; ++hop) {
    if (is_graph_output(g, v) || ix.readers[static_cast<size_t>(v)].size() != 1) return -1;
    const int r = ix.readers[static_cast<size_t>(v)][0];
    if (dead[static_cast<size_t>(r)]) return -1;
    const Node& n = g.nodes[static_cast<size_t>(r)];
    if (n.op == "QuantizeLinear") {
      if (n.attrs.has("axis") || g.values[static_cast<size_t>(n.outputs[0])].dtype != DType::I8)
        return -1;
      return per_tensor(node_params(g, n)) ? r : -1;
    }
    if (hop == 0 && (n.op == "Relu" || n.op == "Clip")) {
      *act = r;
      v = n.outputs[0];
      continue;
    }
    return -1;
  }
  return -1;
}

// Writes the clamp of a Relu/Clip node (and any already on `a`) as the
// "activation" attributes; false when the ranges do not intersect or the
// existing activation is not a clamp.
bool merge_clamp(const Node* act, Attrs& a) {
  float lo, hi;
  if (!activation_range(a, lo, hi)) return false;
  if (act) {
    lo = std::max(lo, act->op == "Relu" ? 0.f : act->attrs.get_f("min", -INFINITY));
    hi = std::min(hi, act->op == "Relu" ? INFINITY : act->attrs.get_f("max", INFINITY));
  }
  if (!(lo <= hi)) return false;
  set_activation_range(a, lo, hi);
  return true;
}

bool is_elementwise_unary(const std::string& op) {
  return op == "Relu" || op == "Clip" || op == "Sigmoid" || op == "HardSwish" ||
         op == "HardSigmoid";
}

// Table of an element-wise float node: Q(f(DQ(x))) for x in [-128, 127],
// f evaluated by the reference kernel of the node itself.
std::vector<int64_t> lut_for(const Graph& g, const Node& n, const QuantParams& qx,
                             const QuantParams& qy) {
  Graph t;
  t.source = g.source;
  Value in, out;
  in.name = "x";
  in.shape = {256};
  out.name = "y";
  out.shape = {256};
  const int xi = t.add_value(in), yi = t.add_value(out);
  Node f = make_node(n.name, n.op, {xi}, {yi}, n.attrs);
  Tensor x(DType::F32, {256});
  for (int q = kQMinI8; q <= kQMaxI8; ++q)
    x.data<float>()[q + 128] = dequantize(q, qx.scale[0], qx.zero_point[0]);
  const Tensor y = eval_node_reference(t, f, {x}).at(0);
  std::vector<int64_t> table(256);
  for (size_t i = 0; i < 256; ++i)
    table[i] = quantize(y.data<float>()[i], qy.scale[0], qy.zero_point[0]);
  return table;
}

// QConv's weights and bias from the DQ (or float constant) inputs of a
// Conv, or false when they do not fit (non-constant, non-zero weight zero
// point, per-axis on an axis other than 0).
bool qconv_params(Graph& g, const Index& ix, const Node& conv, const QuantParams& qx, int* w_out,
                  int* b_out) {
  const int wp = ix.prod[static_cast<size_t>(conv.inputs[1])];
  if (wp < 0) return false;
  const Node& wdq = g.nodes[static_cast<size_t>(wp)];
  if (wdq.op != "DequantizeLinear") return false;
  const Value& w8 = val(g, wdq.inputs[0]);
  if (!w8.is_constant() || w8.dtype != DType::I8 || w8.shape.size() != 4) return false;
  const QuantParams qw = node_params(g, wdq);
  for (int32_t z : qw.zero_point)
    if (z != 0) return false;
  const int64_t M = w8.shape[0];
  if (!per_tensor(qw) && (qw.axis != 0 || static_cast<int64_t>(qw.scale.size()) != M)) return false;
  QuantParams wq;
  wq.axis = 0;
  for (int64_t m = 0; m < M; ++m)
    wq.scale.push_back(qw.scale[per_tensor(qw) ? 0 : static_cast<size_t>(m)]);
  wq.zero_point.assign(static_cast<size_t>(M), 0);
  // Bias: int32 at scale sx * sw[c]; a bias at another scale (or in float)
  // is requantized: round_half_even(real / (sx * sw[c])), saturated.
  QuantParams bq;
  bq.axis = 0;
  for (float sw : wq.scale) bq.scale.push_back(qx.scale[0] * sw);
  bq.zero_point.assign(static_cast<size_t>(M), 0);
  const int bv = conv.inputs.size() > 2 ? conv.inputs[2] : -1;
  Tensor b32(DType::I32, {M});
  if (bv >= 0) {
    std::vector<double> real(static_cast<size_t>(M));
    const Tensor* exact = nullptr;
    if (val(g, bv).is_constant()) {
      const std::vector<float> f = val(g, bv).constant.to_floats();
      if (static_cast<int64_t>(f.size()) != M) return false;
      for (size_t m = 0; m < f.size(); ++m) real[m] = f[m];
    } else {
      const int bp = ix.prod[static_cast<size_t>(bv)];
      if (bp < 0 || g.nodes[static_cast<size_t>(bp)].op != "DequantizeLinear") return false;
      const Node& bdq = g.nodes[static_cast<size_t>(bp)];
      const Value& bi = val(g, bdq.inputs[0]);
      if (!bi.is_constant() || bi.constant.numel() != M) return false;
      const QuantParams qb = node_params(g, bdq);
      bool same = bi.dtype == DType::I32;
      for (int64_t m = 0; m < M; ++m) {
        const size_t k = per_tensor(qb) ? 0 : static_cast<size_t>(m);
        const float s = qb.scale[k];
        same = same && qb.zero_point[k] == 0 && s == bq.scale[static_cast<size_t>(m)];
        real[static_cast<size_t>(m)] =
            (static_cast<double>(bi.constant.at_i64(m)) - qb.zero_point[k]) *
            static_cast<double>(s);
      }
      if (same) exact = &bi.constant;
    }
    for (int64_t m = 0; m < M; ++m) {
      int32_t v;
      if (exact) {
        v = exact->data<int32_t>()[m];
      } else {
        const double q =
            std::nearbyint(real[static_cast<size_t>(m)] / bq.scale[static_cast<size_t>(m)]);
        v = static_cast<int32_t>(std::clamp(q, -2147483648.0, 2147483647.0));
      }
      b32.data<int32_t>()[m] = v;
    }
  }
  Value w;
  w.name = w8.name + "/qconv";
  w.dtype = DType::I8;
  w.shape = w8.shape;
  w.constant = w8.constant;
  w.quant = wq;
  Value b;
  b.name = conv.name + "/bias_int32";
  b.dtype = DType::I32;
  b.shape = {M};
  b.constant = b32;
  b.quant = bq;
  *w_out = g.add_value(std::move(w));
  *b_out = g.add_value(std::move(b));
  return true;
}

// DQ(x) (per-tensor) -> Reshape / Transpose  ==>  Reshape / Transpose on
// int8 -> DQ, so int8 data flows through data movement.
int move_dq_past_reshape(Graph& g) {
  int count = 0;
  std::vector<int> prod(g.values.size(), -1);
  std::vector<Node> out;
  std::vector<Node> src = std::move(g.nodes);
  for (Node& n : src) {
    const bool moves = (n.op == "Reshape" || n.op == "Transpose") && n.inputs.size() == 1;
    const int p = moves ? prod[static_cast<size_t>(n.inputs[0])] : -1;
    if (p >= 0 && out[static_cast<size_t>(p)].op == "DequantizeLinear" &&
        !out[static_cast<size_t>(p)].attrs.has("axis") &&
        val(g, out[static_cast<size_t>(p)].inputs[0]).dtype == DType::I8 &&
        !val(g, out[static_cast<size_t>(p)].inputs[0]).is_constant()) {  // weights fold instead
      const Node dq = out[static_cast<size_t>(p)];
      const int y = n.outputs[0];
      Value v8 = val(g, y);
      v8.name = val(g, y).name + "/int8";
      v8.dtype = DType::I8;
      v8.quant = val(g, dq.inputs[0]).quant;
      const int y8 = g.add_value(v8);
      prod.resize(g.values.size(), -1);
      n.inputs[0] = dq.inputs[0];
      n.outputs[0] = y8;
      prod[static_cast<size_t>(y8)] = static_cast<int>(out.size());
      const std::string name = n.name;
      out.push_back(std::move(n));
      prod[static_cast<size_t>(y)] = static_cast<int>(out.size());
      out.push_back(make_node(name + "/dequantize", "DequantizeLinear",
                              {y8, dq.inputs[1], dq.inputs[2]}, {y}, dq.attrs));
      ++count;
      continue;
    }
    for (int o : n.outputs) prod[static_cast<size_t>(o)] = static_cast<int>(out.size());
    out.push_back(std::move(n));
  }
  g.nodes = std::move(out);
  return count;
}

// The DQ -> op -> Q patterns.
int lower_patterns(Graph& g) {
  Index ix(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node n = g.nodes[k];  // copy: g.values / g.nodes[k] change below
    if (is_qdq(n) || n.outputs.size() != 1 || n.op[0] == 'Q') continue;
    int act = -1;
    const int q = q_reader(g, ix, n.outputs[0], dead, &act);
    if (q < 0) continue;
    const Node& qn = g.nodes[static_cast<size_t>(q)];
    const int y8 = qn.outputs[0];
    std::vector<int> xs;
    for (int i : n.inputs) xs.push_back(i < 0 ? -1 : dq_source(g, ix, i, dead));
    const Node* act_node = act >= 0 ? &g.nodes[static_cast<size_t>(act)] : nullptr;
    Node r;
    if (n.op == "Conv" && xs[0] >= 0) {
      Attrs a = n.attrs;
      if (!merge_clamp(act_node, a)) continue;
      int w = -1, b = -1;
      const QuantParams qx = val(g, xs[0]).quant;  // copy: qconv_params adds values
      if (!qconv_params(g, ix, n, qx, &w, &b)) continue;
      r = make_node(n.name, "QConv", {xs[0], w, b}, {y8}, a);
    } else if ((n.op == "Add" || n.op == "Mul") && xs[0] >= 0 && xs[1] >= 0) {
      Attrs a;
      if (!merge_clamp(act_node, a)) continue;
      r = make_node(n.name, n.op == "Add" ? "QAdd" : "QMul", {xs[0], xs[1]}, {y8}, a);
    } else if (act >= 0) {
      continue;  // a clamp after the other ops stays in float
    } else if (n.op == "GlobalAveragePool" && xs[0] >= 0) {
      r = make_node(n.name, "QGlobalAveragePool", {xs[0]}, {y8});
    } else if (is_elementwise_unary(n.op) && xs[0] >= 0) {
      Attrs a = n.attrs;  // the float op's own attributes (alpha, beta, min, max)
      a.set("func", n.op);  // exporters map the table back to this op
      a.set("table", lut_for(g, n, val(g, xs[0]).quant, val(g, y8).quant));
      r = make_node(n.name, "QLut", {xs[0]}, {y8}, a);
    } else if (n.op == "Concat" && std::count(xs.begin(), xs.end(), -1) == 0) {
      Attrs a;
      a.set("axis", n.attrs.get_i("axis"));
      r = make_node(n.name, "QConcat", xs, {y8}, a);
    } else {
      continue;
    }
    g.nodes[k] = std::move(r);
    dead[static_cast<size_t>(q)] = true;
    if (act >= 0) dead[static_cast<size_t>(act)] = true;
    ++count;
  }
  std::vector<Node> keep;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (!dead[k]) keep.push_back(std::move(g.nodes[k]));
  g.nodes = std::move(keep);
  return count;
}

}  // namespace

int fold_dequantized_constants(Graph& g) {
  std::vector<Node> keep;
  int count = 0;
  for (Node& n : g.nodes) {
    bool fold = n.op == "DequantizeLinear" || (n.op == "Cast" && n.inputs.size() == 1);
    for (int i : n.inputs)
      if (i >= 0 && !val(g, i).is_constant()) fold = false;
    if (!fold) {
      keep.push_back(std::move(n));
      continue;
    }
    Value& y = val(g, n.outputs[0]);
    if (n.op == "Cast") {
      y.constant = Tensor::from_floats(y.shape, val(g, n.inputs[0]).constant.to_floats());
    } else {
      y.constant = evaluate_constant_node(g, n).at(0);
    }
    ++count;
  }
  g.nodes = std::move(keep);
  return count;
}

int lower_qdq(Graph& g) {
  bool any = false;
  for (const Node& n : g.nodes) any = any || is_qdq(n);
  if (!any) return 0;
  int count = uint8_to_int8(g);
  set_qdq_quant(g);
  count += move_dq_past_reshape(g);
  count += lower_patterns(g);
  return count;
}

}  // namespace vedge
