// passes.cpp: graph rewrites on the canonical IR, see passes.h.
// Depends on graph.h, shape_inference.h and executor.h (reference
// evaluation of constant nodes only); no ONNX.
#include "runtime/passes.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"
#include "runtime/executor.h"

namespace vedge {

namespace {

std::string where(const Graph& g) { return g.source.empty() ? std::string("graph") : g.source; }

Value& val(Graph& g, int id) { return g.values[static_cast<size_t>(id)]; }
const Value& val(const Graph& g, int id) { return g.values[static_cast<size_t>(id)]; }

bool all_inputs_constant(const Graph& g, const Node& n) {
  for (int i : n.inputs)
    if (i >= 0 && !val(g, i).is_constant()) return false;
  return true;
}

bool is_graph_output(const Graph& g, int id) {
  for (int o : g.outputs)
    if (o == id) return true;
  return false;
}

// producer[v] = index of the node writing value v, or -1.
std::vector<int> producers(const Graph& g) {
  std::vector<int> p(g.values.size(), -1);
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (int o : g.nodes[k].outputs) p[static_cast<size_t>(o)] = static_cast<int>(k);
  return p;
}

// consumer[v] = index of the (last) node reading value v, or -1.
std::vector<int> consumers(const Graph& g) {
  std::vector<int> c(g.values.size(), -1);
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (int i : g.nodes[k].inputs)
      if (i >= 0) c[static_cast<size_t>(i)] = static_cast<int>(k);
  return c;
}

void erase_nodes(Graph& g, const std::vector<bool>& dead) {
  std::vector<Node> keep;
  keep.reserve(g.nodes.size());
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (!dead[k]) keep.push_back(std::move(g.nodes[k]));
  g.nodes = std::move(keep);
}

int add_float_constant(Graph& g, const std::string& name, Shape shape,
                       const std::vector<float>& v) {
  return g.add_constant(name, Tensor::from_floats(std::move(shape), v));
}

}  // namespace

std::vector<Tensor> evaluate_constant_node(const Graph& g, const Node& n) {
  std::vector<Tensor> in;
  for (int i : n.inputs) {
    if (i < 0) {
      in.emplace_back();
      continue;
    }
    VEDGE_CHECK(val(g, i).is_constant(), where(g), ": node ", n.label(),
                ": cannot evaluate, input '", val(g, i).name, "' is not constant");
    in.push_back(val(g, i).constant);
  }
  if (n.op == "Identity") return {in.at(0)};
  std::vector<Tensor> out = eval_node_reference(g, n, in);
  VEDGE_CHECK(out.size() == n.outputs.size(), where(g), ": node ", n.label(),
              ": evaluation returned ", out.size(), " outputs");
  for (size_t i = 0; i < out.size(); ++i) {
    const Value& v = val(g, n.outputs[i]);
    VEDGE_CHECK(out[i].shape() == v.shape && out[i].dtype() == v.dtype, where(g), ": node ",
                n.label(), ": evaluated output ", shape_str(out[i].shape()),
                " does not match its declared shape ", shape_str(v.shape));
  }
  return out;
}

int fold_constants(Graph& g) {
  std::vector<bool> dead(g.nodes.size(), false);
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& n = g.nodes[k];
    if (n.op == "BatchNormalization" || n.op == "Pad" || n.op == "DequantizeLinear" ||
        !all_inputs_constant(g, n))
      continue;
    std::vector<Tensor> out = evaluate_constant_node(g, n);
    for (size_t i = 0; i < out.size(); ++i) val(g, n.outputs[i]).constant = out[i];
    dead[k] = true;
    ++count;
  }
  erase_nodes(g, dead);
  return count;
}

int fold_batchnorm(Graph& g) {
  std::vector<int> prod = producers(g);
  std::vector<int> uses = g.use_counts();
  std::vector<Node> out;
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    Node& n = g.nodes[k];
    if (n.op != "BatchNormalization") {
      out.push_back(std::move(n));
      continue;
    }
    ++count;
    VEDGE_CHECK(n.inputs.size() == 5 && n.outputs.size() == 1, where(g), ": node ", n.label(),
                ": expects 5 inputs and 1 output");
    for (size_t i = 1; i < 5; ++i)
      VEDGE_CHECK(n.inputs[i] >= 0 && val(g, n.inputs[i]).is_constant(), where(g), ": node ",
                  n.label(), ": scale, bias, mean and variance must be constant");
    const Shape xs = val(g, n.inputs[0]).shape;
    VEDGE_CHECK(xs.size() >= 2, where(g), ": node ", n.label(), ": input must have a channel axis");
    const int64_t C = xs[1];
    std::vector<float> scale = val(g, n.inputs[1]).constant.to_floats();
    std::vector<float> beta = val(g, n.inputs[2]).constant.to_floats();
    std::vector<float> mean = val(g, n.inputs[3]).constant.to_floats();
    std::vector<float> var = val(g, n.inputs[4]).constant.to_floats();
    for (auto* v : {&scale, &beta, &mean, &var})
      VEDGE_CHECK(static_cast<int64_t>(v->size()) == C, where(g), ": node ", n.label(),
                  ": parameters must have ", C, " elements");
    const float eps = n.attrs.get_f("epsilon", 1e-5f);
    // y = a * x + b with a = scale / sqrt(var + eps), b = beta - a * mean.
    std::vector<float> a(static_cast<size_t>(C)), b(static_cast<size_t>(C));
    for (size_t c = 0; c < a.size(); ++c) {
      a[c] = scale[c] / std::sqrt(var[c] + eps);
      b[c] = beta[c] - a[c] * mean[c];
    }
    const int x = n.inputs[0], y = n.outputs[0];
    const int p = prod[static_cast<size_t>(x)];
    Node* conv = nullptr;
    if (p >= 0 && uses[static_cast<size_t>(x)] == 1) {
      // The producer precedes n, so it is already in `out`, at the back or
      // earlier; find it there.
      for (size_t j = out.size(); j-- > 0;)
        if (!out[j].outputs.empty() && out[j].outputs[0] == x) {
          conv = &out[j];
          break;
        }
    }
    bool foldable =
        conv && conv->op == "Conv" && !conv->attrs.has("activation") && conv->inputs.size() >= 2 &&
        val(g, conv->inputs[1]).is_constant() &&
        (conv->inputs.size() < 3 || conv->inputs[2] < 0 || val(g, conv->inputs[2]).is_constant());
    if (foldable) {
      const Tensor w = val(g, conv->inputs[1]).constant;  // copy: g.values grows below
      VEDGE_CHECK(w.shape().size() == 4 && w.shape()[0] == C, where(g), ": node ", n.label(),
                  ": channel count differs from the convolution's");
      std::vector<float> wf = w.to_floats();
      const size_t per_oc = wf.size() / static_cast<size_t>(C);
      for (size_t c = 0; c < a.size(); ++c)
        for (size_t i = 0; i < per_oc; ++i) wf[c * per_oc + i] *= a[c];
      std::vector<float> bias(static_cast<size_t>(C), 0.f);
      if (conv->inputs.size() >= 3 && conv->inputs[2] >= 0)
        bias = val(g, conv->inputs[2]).constant.to_floats();
      for (size_t c = 0; c < bias.size(); ++c) bias[c] = a[c] * bias[c] + b[c];
      const std::string base = conv->name;
      int wid = add_float_constant(g, base + ".weight_bn", w.shape(), wf);
      int bid = add_float_constant(g, base + ".bias_bn", {C}, bias);
      conv->inputs.resize(3);
      conv->inputs[1] = wid;
      conv->inputs[2] = bid;
      conv->outputs[0] = y;  // n is dropped; x becomes unused
      continue;
    }
    Shape cshape{C};
    for (size_t i = 2; i < xs.size(); ++i) cshape.push_back(1);
    int aid = add_float_constant(g, n.name + ".scale", cshape, a);
    int bid = add_float_constant(g, n.name + ".shift", cshape, b);
    Value mid;
    mid.name = n.name + ".scaled";
    mid.dtype = DType::F32;
    mid.shape = xs;
    int mid_id = g.add_value(std::move(mid));
    Node mul;
    mul.name = n.name + ".mul";
    mul.op = "Mul";
    mul.inputs = {x, aid};
    mul.outputs = {mid_id};
    Node add;
    add.name = n.name + ".add";
    add.op = "Add";
    add.inputs = {mid_id, bid};
    add.outputs = {y};
    out.push_back(std::move(mul));
    out.push_back(std::move(add));
  }
  g.nodes = std::move(out);
  return count;
}

int remove_identity(Graph& g) {
  int count = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    Node& n = g.nodes[k];
    if (n.op != "Identity") continue;
    VEDGE_CHECK(n.inputs.size() == 1 && n.outputs.size() == 1 && n.inputs[0] >= 0, where(g),
                ": node ", n.label(), ": expects one input and one output");
    const int x = n.inputs[0], y = n.outputs[0];
    for (size_t j = k + 1; j < g.nodes.size(); ++j)
      for (int& i : g.nodes[j].inputs)
        if (i == y) i = x;
    if (is_graph_output(g, y)) {
      bool x_is_io = is_graph_output(g, x) || val(g, x).is_constant();
      for (int i : g.inputs) x_is_io = x_is_io || i == x;
      if (!x_is_io) val(g, x).name = val(g, y).name;
      for (int& o : g.outputs)
        if (o == y) o = x;
    }
    dead[k] = true;
    ++count;
  }
  erase_nodes(g, dead);
  return count;
}

int merge_pad(Graph& g) {
  std::vector<int> cons = consumers(g);
  std::vector<int> uses = g.use_counts();
  std::vector<bool> dead(g.nodes.size(), false);
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& pad = g.nodes[k];
    if (pad.op != "Pad" || pad.inputs.size() != 1 || pad.outputs.size() != 1) continue;
    const int y = pad.outputs[0];
    const int c = cons[static_cast<size_t>(y)];
    if (uses[static_cast<size_t>(y)] != 1 || c < 0) continue;
    Node& next = g.nodes[static_cast<size_t>(c)];
    std::vector<int64_t> p = pad.attrs.get_ints("pads"), q = next.attrs.get_ints("pads");
    if (p.size() != 4 || q.size() != 4) continue;
    // The padded zeros are data to the pool: they count in every window,
    // which is count_include_pad=1 (equivalent when the pool pads nothing).
    const bool unpadded_pool = q == std::vector<int64_t>{0, 0, 0, 0};
    const bool ok = (next.op == "Conv" && next.inputs.at(0) == y) ||
                    (next.op == "AveragePool" &&
                     (next.attrs.get_i("count_include_pad", 0) != 0 || unpadded_pool));
    if (!ok) continue;
    for (size_t i = 0; i < 4; ++i) q[i] += p[i];
    next.attrs.set("pads", q);
    if (next.op == "AveragePool") next.attrs.set("count_include_pad", int64_t{1});
    next.inputs[0] = pad.inputs[0];
    dead[k] = true;
    ++count;
  }
  erase_nodes(g, dead);
  return count;
}

namespace {

bool is_scalar_constant(const Graph& g, int id, float want) {
  if (id < 0) return false;
  const Value& v = val(g, id);
  return v.is_constant() && v.constant.numel() == 1 &&
         std::fabs(v.constant.at_f64(0) - want) <= 1e-6 * std::max(1.f, std::fabs(want));
}

// Matches value v = clamp(x + 3, 0, 6) written as Add(x, 3) followed by
// Relu/Clip nodes whose ranges intersect to [0, 6], each intermediate read
// once. Returns x (or -1) and appends the matched nodes to `chain`.
int match_relu6_of_x_plus_3(const Graph& g, const std::vector<int>& prod,
                            const std::vector<int>& uses, int v, std::vector<int>& chain) {
  float lo = -INFINITY, hi = INFINITY;
  int p = prod[static_cast<size_t>(v)];
  while (p >= 0 && (g.nodes[static_cast<size_t>(p)].op == "Relu" ||
                    g.nodes[static_cast<size_t>(p)].op == "Clip")) {
    const Node& c = g.nodes[static_cast<size_t>(p)];
    lo = std::max(lo, c.op == "Relu" ? 0.f : c.attrs.get_f("min", -INFINITY));
    hi = std::min(hi, c.op == "Relu" ? INFINITY : c.attrs.get_f("max", INFINITY));
    chain.push_back(p);
    v = c.inputs.at(0);
    if (uses[static_cast<size_t>(v)] != 1) return -1;
    p = prod[static_cast<size_t>(v)];
  }
  if (lo != 0.f || hi != 6.f || p < 0) return -1;
  const Node& add = g.nodes[static_cast<size_t>(p)];
  if (add.op != "Add" || add.inputs.size() != 2) return -1;
  for (int side = 0; side < 2; ++side)
    if (is_scalar_constant(g, add.inputs[static_cast<size_t>(side)], 3.f)) {
      chain.push_back(p);
      return add.inputs[static_cast<size_t>(1 - side)];
    }
  return -1;
}

}  // namespace

int fuse_relu6_hardswish(Graph& g) {
  std::vector<int> prod = producers(g);
  std::vector<int> uses = g.use_counts();
  std::vector<bool> dead(g.nodes.size(), false);
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    Node& d = g.nodes[k];
    if (d.inputs.size() != 2 || d.outputs.size() != 1) continue;
    // d = t / 6 or t * (1/6)
    int t = -1;
    if (d.op == "Div" && is_scalar_constant(g, d.inputs[1], 6.f)) t = d.inputs[0];
    for (int side = 0; side < 2 && d.op == "Mul" && t < 0; ++side)
      if (is_scalar_constant(g, d.inputs[static_cast<size_t>(side)], 1.f / 6.f))
        t = d.inputs[static_cast<size_t>(1 - side)];
    if (t < 0 || uses[static_cast<size_t>(t)] != 1) continue;
    std::vector<int> chain;
    const int tp = prod[static_cast<size_t>(t)];
    int x = -1;
    std::string op = "HardSigmoid";
    if (tp >= 0 && g.nodes[static_cast<size_t>(tp)].op == "Mul") {
      // hardswish: (x * relu6(x + 3)) / 6
      const Node& m = g.nodes[static_cast<size_t>(tp)];
      for (int side = 0; side < 2 && x < 0; ++side) {
        std::vector<int> c;
        int s = m.inputs.at(static_cast<size_t>(side));
        if (uses[static_cast<size_t>(s)] != 1) continue;
        int cand = match_relu6_of_x_plus_3(g, prod, uses, s, c);
        if (cand >= 0 && cand == m.inputs.at(static_cast<size_t>(1 - side))) {
          x = cand;
          chain = c;
          chain.push_back(tp);
          op = "HardSwish";
        }
      }
    } else {
      x = match_relu6_of_x_plus_3(g, prod, uses, t, chain);  // hardsigmoid: relu6(x + 3) / 6
    }
    if (x < 0) continue;
    if (val(g, x).shape != val(g, d.outputs[0]).shape) continue;  // no broadcasting hidden in it
    bool clash = false;
    for (int c : chain) clash = clash || dead[static_cast<size_t>(c)];
    if (clash) continue;
    for (int c : chain) dead[static_cast<size_t>(c)] = true;
    d.op = op;
    d.inputs = {x};
    d.attrs = Attrs();
    if (op == "HardSigmoid") {
      d.attrs.set("alpha", 1.f / 6.f);
      d.attrs.set("beta", 0.5f);
    }
    ++count;
  }
  erase_nodes(g, dead);
  return count;
}

int fuse_hardswish(Graph& g) {
  std::vector<int> prod = producers(g);
  std::vector<int> uses = g.use_counts();
  std::vector<bool> dead(g.nodes.size(), false);
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    Node& m = g.nodes[k];
    if (m.op != "Mul" || m.inputs.size() != 2) continue;
    for (int side = 0; side < 2; ++side) {
      const int h = m.inputs[static_cast<size_t>(side)],
                x = m.inputs[static_cast<size_t>(1 - side)];
      if (h < 0 || x < 0) continue;
      const int p = prod[static_cast<size_t>(h)];
      if (p < 0 || dead[static_cast<size_t>(p)] || uses[static_cast<size_t>(h)] != 1) continue;
      const Node& hs = g.nodes[static_cast<size_t>(p)];
      if (hs.op != "HardSigmoid" || hs.inputs.at(0) != x) continue;
      if (std::fabs(hs.attrs.get_f("alpha", 0.2f) - 1.f / 6.f) > 1e-6f ||
          std::fabs(hs.attrs.get_f("beta", 0.5f) - 0.5f) > 1e-6f)
        continue;
      if (val(g, x).shape != val(g, m.outputs[0]).shape) continue;
      dead[static_cast<size_t>(p)] = true;
      m.op = "HardSwish";
      m.inputs = {x};
      m.attrs = Attrs();
      ++count;
      break;
    }
  }
  erase_nodes(g, dead);
  return count;
}

bool activation_range(const Attrs& a, float& lo, float& hi) {
  const std::string act = a.get_s("activation", "");
  lo = -INFINITY;
  hi = INFINITY;
  if (act.empty()) return true;
  if (act == "relu")
    lo = 0.f;
  else if (act == "relu6")
    lo = 0.f, hi = 6.f;
  else if (act == "clip")
    lo = a.get_f("act_min", -INFINITY), hi = a.get_f("act_max", INFINITY);
  else
    return false;
  return true;
}

void set_activation_range(Attrs& a, float lo, float hi) {
  a.erase("act_min");
  a.erase("act_max");
  if (lo == -INFINITY && hi == INFINITY) {
    a.erase("activation");
  } else if (lo == 0.f && hi == INFINITY) {
    a.set("activation", std::string("relu"));
  } else if (lo == 0.f && hi == 6.f) {
    a.set("activation", std::string("relu6"));
  } else {
    a.set("activation", std::string("clip"));
    a.set("act_min", lo);
    a.set("act_max", hi);
  }
}

int fuse_conv_activation(Graph& g) {
  std::vector<int> cons = consumers(g);
  std::vector<int> uses = g.use_counts();
  std::vector<bool> dead(g.nodes.size(), false);
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    Node& conv = g.nodes[k];
    if (conv.op != "Conv" || conv.outputs.size() != 1) continue;
    // Absorb a chain of activations: Conv -> Relu -> Clip(0,6) becomes relu6.
    for (;;) {
      const int y = conv.outputs[0];
      if (uses[static_cast<size_t>(y)] != 1 || is_graph_output(g, y)) break;
      const int c = cons[static_cast<size_t>(y)];
      if (c < 0 || dead[static_cast<size_t>(c)]) break;
      Node& act = g.nodes[static_cast<size_t>(c)];
      if (act.inputs.size() != 1 || act.inputs[0] != y || act.outputs.size() != 1) break;
      float lo, hi;
      const bool clamp_only = activation_range(conv.attrs, lo, hi);
      if (act.op == "Relu" || act.op == "Clip") {
        if (!clamp_only) break;
        float a = act.op == "Relu" ? 0.f : act.attrs.get_f("min", -INFINITY);
        float b = act.op == "Relu" ? INFINITY : act.attrs.get_f("max", INFINITY);
        float nlo = std::max(lo, a), nhi = std::min(hi, b);
        if (!(nlo <= nhi)) break;  // empty intersection: not a single clamp
        set_activation_range(conv.attrs, nlo, nhi);
      } else if ((act.op == "HardSwish" || act.op == "Sigmoid") && !conv.attrs.has("activation")) {
        conv.attrs.set("activation", std::string(act.op == "HardSwish" ? "hardswish" : "sigmoid"));
      } else {
        break;
      }
      conv.outputs[0] = act.outputs[0];
      dead[static_cast<size_t>(c)] = true;
      ++count;
    }
  }
  erase_nodes(g, dead);
  return count;
}

void optimize_graph(Graph& g, QdqMode qdq) {
  remove_identity(g);
  if (qdq == QdqMode::Simulate) fold_dequantized_constants(g);
  fold_batchnorm(g);
  fold_constants(g);
  merge_pad(g);
  fuse_relu6_hardswish(g);
  fuse_hardswish(g);
  fuse_conv_activation(g);
  if (qdq == QdqMode::Integer) {
    lower_qdq(g);
    g.prune();  // the weights' DQ nodes lowering left unread
    fold_dequantized_constants(g);
    fold_constants(g);  // e.g. a Transpose of dequantized weights
  }
  g.prune();
}

}  // namespace vedge
