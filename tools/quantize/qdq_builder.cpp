// qdq_builder.cpp: float graph -> QDQ / dynamic-range / FP16 graph (see
// qdq_builder.h for the layout and the range -> parameter rule).
// Depends on runtime/graph.h, runtime/error.h, runtime/quant_math.h (the one
// definition of QuantizeLinear rounding) and observers.h; no ONNX library.
#include "tools/quantize/qdq_builder.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/error.h"
#include "runtime/quant_math.h"

namespace vedge {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::FP32: return "fp32";
    case Precision::FP16: return "fp16";
    case Precision::Dynamic: return "dynamic";
    case Precision::INT8: return "int8";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  for (Precision p : {Precision::FP32, Precision::FP16, Precision::Dynamic, Precision::INT8})
    if (s == precision_name(p)) return p;
  fail("unknown precision '", s, "' (expected int8, fp16 or dynamic)");
}

QuantParams activation_params(TensorRange r, DType dtype) {
  VEDGE_CHECK(dtype == DType::I8 || dtype == DType::U8,
              "activation dtype must be int8 or uint8, got ", dtype_name(dtype));
  if (!std::isfinite(r.lo) || !std::isfinite(r.hi) || r.lo > r.hi)
    fail("invalid activation range [", r.lo, ", ", r.hi, "]");
  const double lo = std::min(0.0, static_cast<double>(r.lo));
  const double hi = std::max(0.0, static_cast<double>(r.hi));
  QuantParams q;
  float scale = static_cast<float>((hi - lo) / 255.0);
  if (!(scale > 0.f) || !std::isfinite(scale)) scale = 1.f;  // zero-width: only 0 occurs
  q.scale = {scale};
  if (dtype == DType::I8) {
    const double z = std::nearbyint(-128.0 - lo / scale);
    q.zero_point = {static_cast<int32_t>(std::clamp(z, -128.0, 127.0))};
  } else {
    const double z = std::nearbyint(-lo / scale);
    q.zero_point = {static_cast<int32_t>(std::clamp(z, 0.0, 255.0))};
  }
  return q;
}

std::vector<float> weight_scales(const Tensor& w) {
  VEDGE_CHECK(w.dtype() == DType::F32 && w.shape().size() >= 1 && w.shape()[0] > 0,
              "weights to quantize must be float32 with output channels on axis 0");
  const int64_t m = w.shape()[0], per = w.numel() / m;
  const float* p = w.data<float>();
  std::vector<float> s(static_cast<size_t>(m));
  for (int64_t c = 0; c < m; ++c) {
    float mx = 0.f;
    for (int64_t i = 0; i < per; ++i) {
      const float v = p[c * per + i];
      if (!std::isfinite(v)) fail("weights contain a non-finite value (channel ", c, ")");
      mx = std::max(mx, std::fabs(v));
    }
    s[static_cast<size_t>(c)] = mx > 0.f ? mx / 127.f : 1.f;
  }
  return s;
}

Tensor quantize_weights(const Tensor& w, const std::vector<float>& scales) {
  const int64_t m = w.shape().at(0), per = w.numel() / m;
  VEDGE_CHECK(static_cast<int64_t>(scales.size()) == m, "one weight scale per output channel");
  Tensor q(DType::I8, w.shape());
  const float* p = w.data<float>();
  int8_t* o = q.data<int8_t>();
  for (int64_t c = 0; c < m; ++c)
    for (int64_t i = 0; i < per; ++i)
      o[c * per + i] = static_cast<int8_t>(
          quantize_to(p[c * per + i], scales[static_cast<size_t>(c)], 0, -127, 127));
  return q;
}

namespace {

bool is_quant_op(const std::string& op) {
  return op == "QuantizeLinear" || op == "DequantizeLinear" || op == "Cast" || op == "QConv" ||
         op == "QAdd" || op == "QMul" || op == "QGlobalAveragePool" || op == "QLut" ||
         op == "QConcat";
}

// A Conv whose weights are a float constant (what gets int8 weights).
bool has_float_weights(const Graph& g, const Node& n) {
  if (n.op != "Conv" || n.inputs.size() < 2 || n.inputs[1] < 0) return false;
  const Value& w = g.values[static_cast<size_t>(n.inputs[1])];
  if (!w.is_constant() || w.dtype != DType::F32 || w.shape.size() != 4) return false;
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Value& b = g.values[static_cast<size_t>(n.inputs[2])];
    if (!b.is_constant() || b.dtype != DType::F32) return false;
  }
  return true;
}

// Ops whose output gets an activation Q/DQ pair when they run quantized.
bool quantizable(const Graph& g, const Node& n) {
  if (n.op == "Conv") return has_float_weights(g, n);
  return n.op == "GlobalAveragePool" || n.op == "HardSigmoid" || n.op == "HardSwish" ||
         n.op == "Sigmoid" || n.op == "Add" || n.op == "Mul";
}

// Ops that move quantized data unchanged.
bool pass_through(const std::string& op) { return op == "Reshape" || op == "Transpose"; }

const std::string kSplitSuffixes[] = {"_hardswish", "_sigmoid"};

// Node in float: listed, or the activation split off a listed Conv.
bool kept_float(const Graph& g, const std::vector<int>& producer, const Node& n,
                const std::set<std::string>& float_nodes) {
  if (float_nodes.count(n.name)) return true;
  if ((n.op == "HardSwish" || n.op == "Sigmoid") && !n.inputs.empty() && n.inputs[0] >= 0) {
    const int p = producer[static_cast<size_t>(n.inputs[0])];
    if (p < 0) return false;
    const Node& conv = g.nodes[static_cast<size_t>(p)];
    for (const std::string& s : kSplitSuffixes)
      if (conv.op == "Conv" && n.name == conv.name + s && float_nodes.count(conv.name)) return true;
  }
  return false;
}

std::vector<int> producers(const Graph& g) {
  std::vector<int> p(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int o : g.nodes[i].outputs) p[static_cast<size_t>(o)] = static_cast<int>(i);
  return p;
}

// Which values of the prepared graph get a Q/DQ pair (INT8), and how.
struct Plan {
  std::vector<bool> quantized_node;  // per node: runs quantized
  std::vector<bool> point;           // per value: has a Q (and DQ) after its producer
  std::vector<DType> dtype;          // per point value: I8 / U8
  std::vector<bool> q_only;          // per value: full-integer graph output (Q, no DQ)
  std::vector<int> order;            // point value ids in graph order
};

Plan make_plan(const Graph& g, const QdqOptions& opt) {
  const std::vector<int> prod = producers(g);
  Plan p;
  const size_t nv = g.values.size();
  p.quantized_node.assign(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    p.quantized_node[i] = quantizable(g, g.nodes[i]) && !kept_float(g, prod, g.nodes[i], opt.float_nodes);
  p.point.assign(nv, false);
  p.q_only.assign(nv, false);
  p.dtype.assign(nv, opt.activations);
  const bool io = opt.io != DType::F32;
  if (io) {
    for (int i : g.inputs) {
      p.point[static_cast<size_t>(i)] = true;
      p.dtype[static_cast<size_t>(i)] = opt.io;
    }
  }
  // Quantized nodes need every activation input on the int8 grid: mark the
  // uncovered ones as points until nothing changes (a point can cover the
  // pass-through values after it).
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<bool> covered(p.point);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (p.quantized_node[i]) {
        for (size_t k = 0; k < n.inputs.size(); ++k) {
          const int x = n.inputs[k];
          if (x < 0 || g.values[static_cast<size_t>(x)].is_constant()) continue;
          if (!covered[static_cast<size_t>(x)]) {
            p.point[static_cast<size_t>(x)] = covered[static_cast<size_t>(x)] = true;
            changed = true;
          }
        }
        for (int o : n.outputs) p.point[static_cast<size_t>(o)] = covered[static_cast<size_t>(o)] = true;
      } else if (pass_through(n.op) && covered[static_cast<size_t>(n.inputs.at(0))]) {
        covered[static_cast<size_t>(n.outputs.at(0))] = true;
      }
    }
  }
  if (io) {
    for (int o : g.outputs) {
      if (p.point[static_cast<size_t>(o)]) continue;  // already has a DQ; the Q goes after it
      p.point[static_cast<size_t>(o)] = true;
      p.q_only[static_cast<size_t>(o)] = true;
    }
  }
  for (int i : g.inputs)
    if (p.point[static_cast<size_t>(i)]) p.order.push_back(i);
  for (const Node& n : g.nodes)
    for (int o : n.outputs)
      if (p.point[static_cast<size_t>(o)]) p.order.push_back(o);
  return p;
}

class Names {
 public:
  explicit Names(const Graph& g) {
    for (const Value& v : g.values) taken_.insert(v.name);
    for (const Node& n : g.nodes) nodes_.insert(n.name);
  }
  std::string value(const std::string& base) { return unique(base, taken_); }
  void release(const std::string& name) { taken_.erase(name); }
  std::string node(const std::string& base) { return unique(base, nodes_); }

 private:
  static std::string unique(const std::string& base, std::set<std::string>& s) {
    std::string n = base;
    for (int k = 1; s.count(n); ++k) n = base + "_" + std::to_string(k);
    s.insert(n);
    return n;
  }
  std::set<std::string> taken_, nodes_;
};

Tensor scalar_tensor(DType t, double v) {
  Tensor x(t, {});
  switch (t) {
    case DType::F32: *x.data<float>() = static_cast<float>(v); break;
    case DType::I8: *x.data<int8_t>() = static_cast<int8_t>(v); break;
    case DType::U8: *x.data<uint8_t>() = static_cast<uint8_t>(v); break;
    case DType::I32: *x.data<int32_t>() = static_cast<int32_t>(v); break;
    default: fail("scalar of dtype ", dtype_name(t), " not supported");
  }
  return x;
}

// Builds the QDQ graph node by node into `q_` (a copy of the prepared graph's
// values; nodes re-emitted in order with their inputs re-routed).
class Builder {
 public:
  Builder(const Graph& prepared, const QdqOptions& opt)
      : p_(prepared), opt_(opt), names_(prepared) {
    q_.values = p_.values;
    q_.inputs = p_.inputs;
    q_.outputs = p_.outputs;
    q_.metadata = p_.metadata;
    q_.source = p_.source;
    read_.resize(p_.values.size());
    for (size_t i = 0; i < read_.size(); ++i) read_[i] = static_cast<int>(i);
    params_.resize(p_.values.size());
  }

  Graph int8(const std::map<std::string, TensorRange>& ranges, std::vector<QuantPoint>* points) {
    const Plan plan = make_plan(p_, opt_);
    const std::vector<int> prod = producers(p_);
    auto params_for = [&](int v, DType dtype) {
      const std::string& name = p_.values[static_cast<size_t>(v)].name;
      auto it = ranges.find(name);
      if (it == ranges.end()) fail(p_.source, ": no calibrated range for value '", name, "'");
      try {
        return activation_params(it->second, dtype);
      } catch (const Error& e) {
        fail(p_.source, ": value '", name, "': ", e.what());
      }
    };
    auto record = [&](int v) {
      if (!points) return;
      const int pn = prod[static_cast<size_t>(v)];
      QuantPoint qp;
      qp.value = p_.values[static_cast<size_t>(v)].name;
      if (pn >= 0) {
        qp.node = p_.nodes[static_cast<size_t>(pn)].name;
        qp.op = p_.nodes[static_cast<size_t>(pn)].op;
      }
      if (!plan.q_only[static_cast<size_t>(v)]) qp.dq_value = q_.values[static_cast<size_t>(read_[static_cast<size_t>(v)])].name;
      points->push_back(qp);
    };

    // Graph inputs.
    for (size_t k = 0; k < p_.inputs.size(); ++k) {
      const int v = p_.inputs[k];
      if (!plan.point[static_cast<size_t>(v)]) continue;
      const QuantParams qp = params_for(v, plan.dtype[static_cast<size_t>(v)]);
      if (opt_.io != DType::F32) {
        // Integer input with the original name, then a DequantizeLinear.
        Value in = p_.values[static_cast<size_t>(v)];
        const std::string name = take_name(v);
        in.name = names_.value(name);
        in.dtype = opt_.io;
        in.quant = qp;
        const int id = q_.add_value(in);
        q_.inputs[k] = id;
        read_[static_cast<size_t>(v)] = dequantize(id, point_constants(qp, opt_.io), name);
      } else {
        read_[static_cast<size_t>(v)] = quantize_dequantize(v, qp, plan.dtype[static_cast<size_t>(v)]);
      }
      params_[static_cast<size_t>(v)] = qp;
    }

    for (size_t i = 0; i < p_.nodes.size(); ++i) {
      const Node& n = p_.nodes[i];
      Node out = n;
      for (int& x : out.inputs)
        if (x >= 0) x = read_[static_cast<size_t>(x)];
      if (plan.quantized_node[i] && n.op == "Conv") quantize_conv_constants(n, out);
      q_.nodes.push_back(out);
      for (int o : n.outputs) {
        const size_t uo = static_cast<size_t>(o);
        if (plan.point[uo] && !plan.q_only[uo]) {
          const QuantParams qp = params_for(o, plan.dtype[uo]);
          read_[uo] = quantize_dequantize(o, qp, plan.dtype[uo]);
          params_[uo] = qp;
        } else if (pass_through(n.op) && params_[static_cast<size_t>(n.inputs.at(0))].present()) {
          params_[uo] = params_[static_cast<size_t>(n.inputs.at(0))];
        }
      }
    }

    // Graph outputs: the DQ output (float io) or a final Q (integer io),
    // under the original output name.
    for (size_t k = 0; k < p_.outputs.size(); ++k) {
      const int v = p_.outputs[k];
      int id = read_[static_cast<size_t>(v)];
      if (opt_.io != DType::F32) {
        const QuantParams qp = params_for(v, opt_.activations);
        id = quantize(id, point_constants(qp, opt_.activations), qp, opt_.activations);
      }
      if (id != v) q_.values[static_cast<size_t>(id)].name = take_name(v);
      q_.outputs[k] = id;
    }
    for (int v : plan.order) record(v);
    return finish();
  }

  Graph dynamic() {
    const std::vector<int> prod = producers(p_);
    for (size_t i = 0; i < p_.nodes.size(); ++i) {
      Node out = p_.nodes[i];
      if (has_float_weights(p_, out) && !kept_float(p_, prod, out, opt_.float_nodes)) {
        const int w = out.inputs[1];
        out.inputs[1] = weight_dq(w, weight_scales(p_.values[static_cast<size_t>(w)].constant));
      }
      q_.nodes.push_back(out);
    }
    return finish();
  }

  Graph fp16() {
    std::map<int, int> cast;  // float constant -> Cast output
    for (const Node& n : p_.nodes) {
      Node out = n;
      for (int& x : out.inputs) {
        if (x < 0) continue;
        const Value& v = p_.values[static_cast<size_t>(x)];
        if (!v.is_constant() || v.dtype != DType::F32 || v.constant.numel() <= 1) continue;
        auto it = cast.find(x);
        if (it == cast.end()) it = cast.emplace(x, half_cast(x)).first;
        x = it->second;
      }
      q_.nodes.push_back(out);
    }
    return finish();
  }

 private:
  Graph finish() {
    q_.prune();
    q_.validate();
    return std::move(q_);
  }

  int add_const(const std::string& base, Tensor t, const QuantParams& quant = {}) {
    Value v;
    v.name = names_.value(base);
    v.dtype = t.dtype();
    v.shape = t.shape();
    v.constant = std::move(t);
    v.quant = quant;
    return q_.add_value(std::move(v));
  }

  int add_node(const std::string& base, const std::string& op, std::vector<int> inputs,
               const std::string& out_name, DType dtype, const Shape& shape, Attrs attrs = {}) {
    Value v;
    v.name = names_.value(out_name);
    v.dtype = dtype;
    v.shape = shape;
    const int id = q_.add_value(std::move(v));
    Node n;
    n.name = names_.node(base);
    n.op = op;
    n.inputs = std::move(inputs);
    n.outputs = {id};
    n.attrs = std::move(attrs);
    q_.nodes.push_back(std::move(n));
    return id;
  }

  // Renames value `id` of q_ to "<name>_float" and frees its name for the
  // value that replaces it; returns the name.
  std::string take_name(int id) {
    const std::string name = q_.values[static_cast<size_t>(id)].name;
    q_.values[static_cast<size_t>(id)].name = names_.value(name + "_float");
    names_.release(name);
    return name;
  }

  // The scale and zero point constants of one per-tensor point (shared by
  // its QuantizeLinear and DequantizeLinear). The plumbing of point k is
  // named "qdq<k>_*" (short: the long value names would otherwise be
  // repeated ~10 times per point in the file).
  std::pair<int, int> point_constants(const QuantParams& qp, DType dtype) {
    tag_ = "qdq" + std::to_string(point_count_++);
    return {add_const(tag_ + "_s", scalar_tensor(DType::F32, qp.scale[0])),
            add_const(tag_ + "_z", scalar_tensor(dtype, qp.zero_point[0]))};
  }

  // All-zero per-channel zero points, one constant per dtype and length.
  int zeros(DType dtype, int64_t m) {
    const std::pair<int, int64_t> key{static_cast<int>(dtype), m};
    auto it = zeros_.find(key);
    if (it != zeros_.end()) return it->second;
    const int id = add_const(std::string("zeros_") + dtype_name(dtype) + "_" + std::to_string(m),
                             Tensor(dtype, {m}));
    zeros_[key] = id;
    return id;
  }

  // QuantizeLinear of x with the constants of the current point.
  int quantize(int x, std::pair<int, int> sz, const QuantParams& qp, DType dtype) {
    const int id = add_node(tag_ + "_Q", "QuantizeLinear", {x, sz.first, sz.second}, tag_ + "_q",
                            dtype, q_.values[static_cast<size_t>(x)].shape);
    q_.values[static_cast<size_t>(id)].quant = qp;
    return id;
  }

  // DequantizeLinear of q to "<src>_dq".
  int dequantize(int q, std::pair<int, int> sz, const std::string& src) {
    return add_node(tag_ + "_DQ", "DequantizeLinear", {q, sz.first, sz.second}, src + "_dq",
                    DType::F32, q_.values[static_cast<size_t>(q)].shape);
  }

  // x (float, id in q_) -> QuantizeLinear -> DequantizeLinear; returns the DQ output.
  int quantize_dequantize(int x, const QuantParams& qp, DType dtype) {
    const auto sz = point_constants(qp, dtype);
    return dequantize(quantize(x, sz, qp, dtype), sz, q_.values[static_cast<size_t>(x)].name);
  }

  // Per-channel int8 weights (+ DequantizeLinear axis 0); returns the float DQ output.
  int weight_dq(int w, const std::vector<float>& scales) {
    const Value& wv = p_.values[static_cast<size_t>(w)];
    const int64_t m = wv.shape.at(0);
    QuantParams qp;
    qp.scale = scales;
    qp.zero_point.assign(static_cast<size_t>(m), 0);
    qp.axis = 0;
    const int qw = add_const(wv.name + "_q", quantize_weights(wv.constant, scales), qp);
    const int s = add_const(wv.name + "_s", Tensor::from_floats({m}, scales));
    const int z = zeros(DType::I8, m);
    Attrs a;
    a.set("axis", int64_t{0});
    const std::string name = take_name(w);
    return add_node(name + "_DQ", "DequantizeLinear", {qw, s, z}, name, DType::F32,
                    wv.shape, a);
  }

  // A quantized Conv: int8 weights, int32 bias of scale sx * sw[c].
  void quantize_conv_constants(const Node& n, Node& out) {
    const int x = n.inputs.at(0);
    const QuantParams& xq = params_[static_cast<size_t>(x)];
    VEDGE_CHECK(xq.present(), p_.source, ": node ", n.label(), ": input is not quantized");
    const float sx = xq.scale[0];
    const Value& wv = p_.values[static_cast<size_t>(n.inputs[1])];
    std::vector<float> sw = weight_scales(wv.constant);
    const bool has_bias = n.inputs.size() > 2 && n.inputs[2] >= 0;
    const Value* bv = has_bias ? &p_.values[static_cast<size_t>(n.inputs[2])] : nullptr;
    // Keep |bias / (sx * sw)| within 2^30 so the int32 accumulator cannot
    // overflow (a tiny weight scale next to a large folded bias): such a
    // channel gets a coarser weight scale.
    constexpr double kBiasLimit = 1073741824.0;
    if (bv) {
      const float* b = bv->constant.data<float>();
      for (size_t c = 0; c < sw.size(); ++c) {
        if (!std::isfinite(b[c])) fail(p_.source, ": node ", n.label(), ": bias has a non-finite value");
        const double need = std::fabs(static_cast<double>(b[c])) / (static_cast<double>(sx) * kBiasLimit);
        if (sw[c] < need) sw[c] = static_cast<float>(need * (1.0 + 1e-6));
      }
    }
    out.inputs[1] = weight_dq(n.inputs[1], sw);
    if (!bv) return;
    const int64_t m = static_cast<int64_t>(sw.size());
    QuantParams bq;
    bq.axis = 0;
    bq.zero_point.assign(sw.size(), 0);
    Tensor bi(DType::I32, {m});
    const float* b = bv->constant.data<float>();
    for (size_t c = 0; c < sw.size(); ++c) {
      const float s = sx * sw[c];
      bq.scale.push_back(s);
      const double r = std::nearbyint(static_cast<double>(b[c]) / static_cast<double>(s));
      bi.data<int32_t>()[c] = static_cast<int32_t>(std::clamp(r, -2147483647.0, 2147483647.0));
    }
    const int qb = add_const(bv->name + "_q", bi, bq);
    const int s = add_const(bv->name + "_s", Tensor::from_floats({m}, bq.scale));
    const int z = zeros(DType::I32, m);
    Attrs a;
    a.set("axis", int64_t{0});
    const Shape shape = bv->shape;
    const std::string name = take_name(n.inputs[2]);
    out.inputs[2] = add_node(name + "_DQ", "DequantizeLinear", {qb, s, z}, name,
                             DType::F32, shape, a);
  }

  int half_cast(int x) {
    const Value& v = p_.values[static_cast<size_t>(x)];
    Tensor h(DType::F16, v.shape);
    const float* s = v.constant.data<float>();
    for (int64_t i = 0; i < v.constant.numel(); ++i) h.data<uint16_t>()[i] = float_to_half(s[i]);
    const int hc = add_const(v.name + "_fp16", h);
    Attrs a;
    a.set("to", std::string("float"));
    const std::string name = take_name(x);
    return add_node(name + "_Cast", "Cast", {hc}, name, DType::F32, v.shape, a);
  }

  const Graph& p_;
  const QdqOptions& opt_;
  Names names_;
  Graph q_;
  std::vector<int> read_;            // prepared value id -> id consumers read in q_
  std::vector<QuantParams> params_;  // prepared value id -> params of its DQ (if any)
  std::map<std::pair<int, int64_t>, int> zeros_;  // (dtype, length) -> zero-point constant
  int point_count_ = 0;
  std::string tag_;  // "qdq<k>" of the point being built
};

}  // namespace

Graph prepare_for_quantization(const Graph& float_graph) {
  const Graph& f = float_graph;
  const std::string src = f.source.empty() ? std::string("model") : f.source;
  for (const Node& n : f.nodes)
    if (is_quant_op(n.op))
      fail(src, ": already quantized (node ", n.label(),
           "); quantize the float model instead");
  for (const Value& v : f.values)
    if (v.is_constant() && (v.dtype == DType::I8 || v.dtype == DType::U8 || v.dtype == DType::F16))
      fail(src, ": already quantized (", dtype_name(v.dtype), " constant '", v.name,
           "'); quantize the float model instead");
  for (int i : f.inputs)
    if (f.values[static_cast<size_t>(i)].dtype != DType::F32)
      fail(src, ": input '", f.values[static_cast<size_t>(i)].name, "' is ",
           dtype_name(f.values[static_cast<size_t>(i)].dtype),
           ", expected a float32 model (already quantized?)");
  bool any = false;
  for (const Node& n : f.nodes) any = any || has_float_weights(f, n);
  if (!any) fail(src, ": no convolution with float weights to quantize");

  Graph g;
  g.values = f.values;
  g.inputs = f.inputs;
  g.outputs = f.outputs;
  g.metadata = f.metadata;
  g.source = f.source;
  Names names(f);
  for (const Node& n : f.nodes) {
    const std::string act = n.op == "Conv" ? n.attrs.get_s("activation", "") : "";
    if (act != "hardswish" && act != "sigmoid") {
      g.nodes.push_back(n);
      continue;
    }
    Node conv = n;
    conv.attrs.erase("activation");
    const int y = n.outputs.at(0);
    Value pre = g.values[static_cast<size_t>(y)];
    pre.name = names.value(pre.name + "_preact");
    const int pid = g.add_value(pre);
    conv.outputs = {pid};
    Node a;
    a.name = names.node(n.name + (act == "hardswish" ? "_hardswish" : "_sigmoid"));
    a.op = act == "hardswish" ? "HardSwish" : "Sigmoid";
    a.inputs = {pid};
    a.outputs = {y};
    g.nodes.push_back(conv);
    g.nodes.push_back(a);
  }
  g.validate();
  return g;
}

std::vector<QuantPoint> quantization_points(const Graph& prepared, const QdqOptions& opt) {
  if (opt.precision != Precision::INT8) return {};
  // Names of the QDQ graph: build it with unit ranges (cheap: weights only).
  const Plan plan = make_plan(prepared, opt);
  std::map<std::string, TensorRange> unit;
  for (int v : plan.order) unit[prepared.values[static_cast<size_t>(v)].name] = TensorRange{-1.f, 1.f};
  std::vector<QuantPoint> points;
  Builder(prepared, opt).int8(unit, &points);
  return points;
}

Graph build_qdq_graph(const Graph& prepared, const std::map<std::string, TensorRange>& ranges,
                      const QdqOptions& opt) {
  if (opt.activations != DType::I8 && opt.activations != DType::U8)
    fail("activations must be int8 or uint8, got ", dtype_name(opt.activations));
  if (opt.io != DType::F32 && opt.io != DType::I8 && opt.io != DType::U8)
    fail("io must be float, int8 or uint8, got ", dtype_name(opt.io));
  switch (opt.precision) {
    case Precision::INT8: return Builder(prepared, opt).int8(ranges, nullptr);
    case Precision::Dynamic: return Builder(prepared, opt).dynamic();
    case Precision::FP16: return Builder(prepared, opt).fp16();
    case Precision::FP32: break;
  }
  Graph g = prepared;
  return g;
}

}  // namespace vedge
