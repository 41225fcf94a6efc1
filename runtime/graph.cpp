// graph.cpp: the graph IR's bookkeeping (attribute getters, value lookup,
// pruning, validation) and simple statistics (MACs, op histogram, params).
// Depends on tensor.h and error.h only; knows nothing about ONNX or kernels.
#include "runtime/graph.h"

#include <cmath>
#include <set>

#include "runtime/error.h"

namespace vedge {

namespace {
const AttrValue* lookup(const std::map<std::string, AttrValue>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? nullptr : &it->second;
}
[[noreturn]] void type_error(const std::string& k, const char* want) {
  fail("attribute '", k, "' is not ", want);
}
}  // namespace

int64_t Attrs::get_i(const std::string& k, int64_t def) const {
  const AttrValue* v = lookup(m_, k);
  if (!v) return def;
  if (auto p = std::get_if<int64_t>(v)) return *p;
  if (auto p = std::get_if<float>(v)) {
    if (std::nearbyint(*p) == *p) return static_cast<int64_t>(*p);
  }
  type_error(k, "an integer");
}

float Attrs::get_f(const std::string& k, float def) const {
  const AttrValue* v = lookup(m_, k);
  if (!v) return def;
  if (auto p = std::get_if<float>(v)) return *p;
  if (auto p = std::get_if<int64_t>(v)) return static_cast<float>(*p);
  type_error(k, "a float");
}

std::string Attrs::get_s(const std::string& k, const std::string& def) const {
  const AttrValue* v = lookup(m_, k);
  if (!v) return def;
  if (auto p = std::get_if<std::string>(v)) return *p;
  type_error(k, "a string");
}

std::vector<int64_t> Attrs::get_ints(const std::string& k, const std::vector<int64_t>& def) const {
  const AttrValue* v = lookup(m_, k);
  if (!v) return def;
  if (auto p = std::get_if<std::vector<int64_t>>(v)) return *p;
  type_error(k, "a list of integers");
}

std::vector<float> Attrs::get_floats(const std::string& k, const std::vector<float>& def) const {
  const AttrValue* v = lookup(m_, k);
  if (!v) return def;
  if (auto p = std::get_if<std::vector<float>>(v)) return *p;
  if (auto p = std::get_if<std::vector<int64_t>>(v)) return {p->begin(), p->end()};
  type_error(k, "a list of floats");
}

std::string Node::label() const { return "'" + name + "' (" + op + ")"; }

int Graph::add_value(Value v) {
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_constant(const std::string& name, Tensor t) {
  Value v;
  v.name = name;
  v.dtype = t.dtype();
  v.shape = t.shape();
  v.constant = std::move(t);
  return add_value(std::move(v));
}

int Graph::find_value(const std::string& name) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<int> Graph::use_counts() const {
  std::vector<int> c(values.size(), 0);
  for (const Node& n : nodes)
    for (int i : n.inputs)
      if (i >= 0 && i < static_cast<int>(c.size())) ++c[static_cast<size_t>(i)];
  for (int o : outputs)
    if (o >= 0 && o < static_cast<int>(c.size())) ++c[static_cast<size_t>(o)];
  return c;
}

void Graph::prune() {
  // Backwards liveness: a node is kept if any of its outputs is needed.
  std::vector<bool> needed(values.size(), false);
  for (int o : outputs) needed[static_cast<size_t>(o)] = true;
  std::vector<bool> keep(nodes.size(), false);
  for (size_t k = nodes.size(); k-- > 0;) {
    for (int o : nodes[k].outputs)
      if (needed[static_cast<size_t>(o)]) keep[k] = true;
    if (keep[k])
      for (int i : nodes[k].inputs)
        if (i >= 0) needed[static_cast<size_t>(i)] = true;
  }
  for (int i : inputs) needed[static_cast<size_t>(i)] = true;
  // Outputs of kept nodes stay even if unused (a node writes all of them).
  for (size_t k = 0; k < nodes.size(); ++k)
    if (keep[k])
      for (int o : nodes[k].outputs) needed[static_cast<size_t>(o)] = true;

  std::vector<int> remap(values.size(), -1);
  std::vector<Value> nv;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!needed[i]) continue;
    remap[i] = static_cast<int>(nv.size());
    nv.push_back(std::move(values[i]));
  }
  std::vector<Node> nn;
  for (size_t k = 0; k < nodes.size(); ++k) {
    if (!keep[k]) continue;
    Node n = std::move(nodes[k]);
    for (int& i : n.inputs)
      if (i >= 0) i = remap[static_cast<size_t>(i)];
    for (int& o : n.outputs) o = remap[static_cast<size_t>(o)];
    nn.push_back(std::move(n));
  }
  for (int& i : inputs) i = remap[static_cast<size_t>(i)];
  for (int& o : outputs) o = remap[static_cast<size_t>(o)];
  values = std::move(nv);
  nodes = std::move(nn);
}

void Graph::validate() const {
  const std::string where = source.empty() ? std::string("graph") : source;
  const int nv = static_cast<int>(values.size());
  std::vector<bool> defined(values.size(), false);
  for (const Value& v : values) {
    for (int64_t d : v.shape)
      VEDGE_CHECK(d >= 0, where, ": value '", v.name, "' has a non-static shape ",
                  shape_str(v.shape));
    if (v.is_constant()) {
      VEDGE_CHECK(v.constant.shape() == v.shape && v.constant.dtype() == v.dtype, where,
                  ": constant '", v.name, "' does not match its declared type/shape");
    }
  }
  for (size_t i = 0; i < values.size(); ++i) defined[i] = values[i].is_constant();
  for (int i : inputs) {
    VEDGE_CHECK(i >= 0 && i < nv, where, ": graph input id ", i, " out of range");
    VEDGE_CHECK(!values[static_cast<size_t>(i)].is_constant(), where, ": graph input '",
                values[static_cast<size_t>(i)].name, "' is a constant");
    defined[static_cast<size_t>(i)] = true;
  }
  for (const Node& n : nodes) {
    for (int i : n.inputs) {
      if (i == -1) continue;
      VEDGE_CHECK(i >= 0 && i < nv, where, ": node ", n.label(), " reads value id ", i,
                  " out of range");
      VEDGE_CHECK(defined[static_cast<size_t>(i)], where, ": node ", n.label(), " reads '",
                  values[static_cast<size_t>(i)].name, "' before it is produced");
    }
    for (int o : n.outputs) {
      VEDGE_CHECK(o >= 0 && o < nv, where, ": node ", n.label(), " writes value id ", o,
                  " out of range");
      VEDGE_CHECK(!defined[static_cast<size_t>(o)], where, ": node ", n.label(), " writes '",
                  values[static_cast<size_t>(o)].name, "' which is already defined");
      defined[static_cast<size_t>(o)] = true;
    }
  }
  for (int o : outputs) {
    VEDGE_CHECK(o >= 0 && o < nv, where, ": graph output id ", o, " out of range");
    VEDGE_CHECK(defined[static_cast<size_t>(o)], where, ": graph output '",
                values[static_cast<size_t>(o)].name, "' is never produced");
  }
}

int64_t node_macs(const Graph& g, const Node& n) {
  auto shape = [&](int id) -> const Shape& { return g.values[static_cast<size_t>(id)].shape; };
  if ((n.op == "Conv" || n.op == "QConv") && n.inputs.size() >= 2 && !n.outputs.empty()) {
    const Shape& w = shape(n.inputs[1]);  // [Cout, Cin/group, kh, kw]
    int64_t per_out = 1;
    for (size_t i = 1; i < w.size(); ++i) per_out *= w[i];
    return numel(shape(n.outputs[0])) * per_out;
  }
  if (n.op == "Gemm" && n.inputs.size() >= 2 && !n.outputs.empty()) {
    const Shape& a = shape(n.inputs[0]);
    if (a.size() != 2) return 0;
    int64_t k = n.attrs.get_i("transA", 0) ? a[0] : a[1];
    return numel(shape(n.outputs[0])) * k;
  }
  if (n.op == "MatMul" && n.inputs.size() >= 2 && !n.outputs.empty()) {
    const Shape& a = shape(n.inputs[0]);
    if (a.empty()) return 0;
    return numel(shape(n.outputs[0])) * a.back();
  }
  return 0;
}

std::map<std::string, int> op_histogram(const Graph& g) {
  std::map<std::string, int> h;
  for (const Node& n : g.nodes) ++h[n.op];
  return h;
}

int64_t param_count(const Graph& g) {
  // Every float or quantized (int8 weight, int32 bias) constant read by a
  // node counts once, whatever reads it (weights, biases, broadcast scales);
  // shape constants (int64) and quantization parameters are not parameters.
  std::set<int> seen;
  int64_t total = 0;
  for (const Node& n : g.nodes)
    for (int i : n.inputs) {
      if (i < 0 || !seen.insert(i).second) continue;
      const Value& v = g.values[static_cast<size_t>(i)];
      if (v.is_constant() && (v.dtype == DType::F32 || v.dtype == DType::F16 || v.dtype == DType::I8 ||
                              v.dtype == DType::I32))
        total += numel(v.shape);
    }
  return total;
}

}  // namespace vedge
