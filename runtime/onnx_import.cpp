// onnx_import.cpp: ONNX ModelProto -> canonical Graph (see graph.h for the
// canonical forms and onnx_import.h for the contract).
//
// Nodes are translated one by one in topological order (the file's order
// where it is valid). Every value gets a static shape as soon as it is
// created, so shape computations (Shape, Gather, Unsqueeze, Concat, Cast,
// Slice, ...) over them are evaluated right away into constants by
// onnx_fold.h; canonical float ops whose inputs are all constant are
// evaluated with the reference kernels (passes.h). Two importer-internal
// ops are left for the passes: BatchNormalization and a spatial zero Pad.
// optimize_graph() then folds/merges them and fuses activations, and the
// result is checked to contain canonical ops only. QuantizeLinear /
// DequantizeLinear are checked and canonicalized here (convert_qdq); a
// DequantizeLinear of constants is not folded at import, so QDQ weights
// reach lower_qdq (ImportOptions::qdq, quant_lower.h) as int8.
// Depends on graph.h, shape_inference.h, passes.h, onnx_fold.h and the ONNX
// protobuf.
#include "runtime/onnx_import.h"

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>  // defines ONNX_API, includes onnx-ml.pb.h

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "runtime/error.h"
#include "runtime/onnx_fold.h"
#include "runtime/passes.h"
#include "runtime/shape_inference.h"

namespace vedge {

namespace {

const std::set<std::string>& canonical_ops() {
  static const std::set<std::string> ops = {
      "Conv",    "Relu",  "Sigmoid", "HardSwish", "HardSigmoid",       "Clip",
      "Add",     "Sub",   "Mul",     "Div",       "GlobalAveragePool", "AveragePool",
      "MaxPool", "Gemm",  "MatMul",  "Reshape",   "Transpose",         "Concat",
      "Softmax", "Resize",
      // quantization (graph.h): Q/DQ and the integer ops of lower_qdq
      "QuantizeLinear", "DequantizeLinear", "QConv", "QAdd", "QMul", "QGlobalAveragePool", "QLut",
      "QConcat"};
  return ops;
}

// ---- the importer ----------------------------------------------------------

class Importer {
 public:
  Importer(std::string src, const ImportOptions& opt) : src_(std::move(src)), opt_(opt) {}
  Graph run(const onnx::ModelProto& m);

 private:
  struct NodeCtx {
    const onnx::NodeProto* p;
    std::string name;
    std::string op;
  };

  template <class... A>
  [[noreturn]] void err(const A&... a) const {
    fail(src_, ": ", a...);
  }
  template <class... A>
  [[noreturn]] void nerr(const NodeCtx& n, const A&... a) const {
    fail(src_, ": node '", n.name, "' (", n.op, "): ", a...);
  }

  // Values
  int input_id(const NodeCtx& n, size_t i) const;  // -1 when absent
  const Value& in_val(const NodeCtx& n, size_t i) const;
  const Tensor& const_in(const NodeCtx& n, size_t i, const char* what) const;
  bool all_const(const NodeCtx& n) const;
  void bind_output(const NodeCtx& n, size_t i, int id);
  std::string out_name(const NodeCtx& n) const;  // name for output 0
  int new_value(const std::string& name, DType dt, Shape shape);
  void set_const_output(const NodeCtx& n, size_t i, Tensor t);

  // Attributes
  const onnx::AttributeProto* attr(const NodeCtx& n, const char* k) const;
  int64_t attr_i(const NodeCtx& n, const char* k, int64_t def) const;
  float attr_f(const NodeCtx& n, const char* k, float def) const;
  std::string attr_s(const NodeCtx& n, const char* k, const std::string& def) const;
  std::vector<int64_t> attr_ints(const NodeCtx& n, const char* k,
                                 const std::vector<int64_t>& def) const;
  std::vector<float> attr_floats(const NodeCtx& n, const char* k) const;

  // Translation
  void import_inputs(const onnx::GraphProto& gp);
  void convert(const NodeCtx& n);
  bool eval_constant(const NodeCtx& n);  // true if handled (outputs are constants)
  int emit(const NodeCtx& n, const std::string& op, std::vector<int> inputs, Attrs attrs,
           const std::string& out_name, Shape resolved_shape = {});
  void emit_output(const NodeCtx& n, const std::string& op, std::vector<int> inputs,
                   Attrs attrs = {}, Shape resolved_shape = {});
  int emit_reshape(const NodeCtx& n, int x, const Shape& s, const std::string& out_name);
  void window_attrs(const NodeCtx& n, const Shape& x, const Shape& kernel, Attrs& a, bool is_pool);
  void convert_resize(const NodeCtx& n);
  void convert_softmax(const NodeCtx& n);
  void convert_qdq(const NodeCtx& n);
  bool const_or_dequantized(int id) const;
  void set_io_quant();
  Shape resolve_reshape(const NodeCtx& n, const Shape& in, const std::vector<int64_t>& spec,
                        bool allowzero) const;
  std::vector<int64_t> axes_arg(const NodeCtx& n, size_t input_index) const;
  void finish_outputs(const onnx::GraphProto& gp);
  std::vector<int> topological_order(const onnx::GraphProto& gp) const;
  void check_canonical() const;

  std::string src_;
  ImportOptions opt_;
  int64_t opset_ = 0;
  Graph g_;
  std::map<std::string, int> ids_;             // ONNX value name -> value id
  std::map<std::string, std::string> poison_;  // outputs we do not produce
  int unique_ = 0;
};

// -- values

int Importer::input_id(const NodeCtx& n, size_t i) const {
  if (i >= static_cast<size_t>(n.p->input_size())) return -1;
  const std::string& nm = n.p->input(static_cast<int>(i));
  if (nm.empty()) return -1;
  auto pz = poison_.find(nm);
  if (pz != poison_.end()) nerr(n, "reads '", nm, "': ", pz->second);
  auto it = ids_.find(nm);
  if (it == ids_.end()) nerr(n, "input '", nm, "' is not produced by any earlier node");
  return it->second;
}

const Value& Importer::in_val(const NodeCtx& n, size_t i) const {
  int id = input_id(n, i);
  if (id < 0) nerr(n, "missing input ", i);
  return g_.values[static_cast<size_t>(id)];
}

const Tensor& Importer::const_in(const NodeCtx& n, size_t i, const char* what) const {
  const Value& v = in_val(n, i);
  if (!v.is_constant()) nerr(n, what, " ('", v.name, "') must be constant");
  return v.constant;
}

bool Importer::all_const(const NodeCtx& n) const {
  for (int i = 0; i < n.p->input_size(); ++i) {
    int id = input_id(n, static_cast<size_t>(i));
    if (id >= 0 && !g_.values[static_cast<size_t>(id)].is_constant()) return false;
  }
  return true;
}

int Importer::new_value(const std::string& name, DType dt, Shape shape) {
  Value v;
  v.name = name;
  v.dtype = dt;
  v.shape = std::move(shape);
  return g_.add_value(std::move(v));
}

void Importer::bind_output(const NodeCtx& n, size_t i, int id) {
  if (i >= static_cast<size_t>(n.p->output_size())) nerr(n, "missing output ", i);
  const std::string& nm = n.p->output(static_cast<int>(i));
  if (nm.empty()) return;
  if (ids_.count(nm)) nerr(n, "output '", nm, "' is produced twice");
  ids_[nm] = id;
}

std::string Importer::out_name(const NodeCtx& n) const {
  if (n.p->output_size() < 1) nerr(n, "has no outputs");
  return n.p->output(0).empty() ? n.name + ":0" : n.p->output(0);
}

void Importer::set_const_output(const NodeCtx& n, size_t i, Tensor t) {
  if (t.numel() > kMaxImportElements) nerr(n, "constant result is too large");
  std::string nm =
      i < static_cast<size_t>(n.p->output_size()) ? n.p->output(static_cast<int>(i)) : "";
  bind_output(n, i, g_.add_constant(nm.empty() ? n.name + ":" + std::to_string(i) : nm, t));
}

// -- attributes

const onnx::AttributeProto* Importer::attr(const NodeCtx& n, const char* k) const {
  for (const auto& a : n.p->attribute())
    if (a.name() == k) return &a;
  return nullptr;
}

int64_t Importer::attr_i(const NodeCtx& n, const char* k, int64_t def) const {
  const auto* a = attr(n, k);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto_AttributeType_INT)
    nerr(n, "attribute '", k, "' must be an int");
  return a->i();
}

float Importer::attr_f(const NodeCtx& n, const char* k, float def) const {
  const auto* a = attr(n, k);
  if (!a) return def;
  if (a->type() == onnx::AttributeProto_AttributeType_INT) return static_cast<float>(a->i());
  if (a->type() != onnx::AttributeProto_AttributeType_FLOAT)
    nerr(n, "attribute '", k, "' must be a float");
  return a->f();
}

std::string Importer::attr_s(const NodeCtx& n, const char* k, const std::string& def) const {
  const auto* a = attr(n, k);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto_AttributeType_STRING)
    nerr(n, "attribute '", k, "' must be a string");
  return a->s();
}

std::vector<int64_t> Importer::attr_ints(const NodeCtx& n, const char* k,
                                         const std::vector<int64_t>& def) const {
  const auto* a = attr(n, k);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto_AttributeType_INTS)
    nerr(n, "attribute '", k, "' must be a list of ints");
  return {a->ints().begin(), a->ints().end()};
}

std::vector<float> Importer::attr_floats(const NodeCtx& n, const char* k) const {
  const auto* a = attr(n, k);
  if (!a) return {};
  if (a->type() != onnx::AttributeProto_AttributeType_FLOATS)
    nerr(n, "attribute '", k, "' must be a list of floats");
  return {a->floats().begin(), a->floats().end()};
}

// -- graph inputs

void Importer::import_inputs(const onnx::GraphProto& gp) {
  for (const auto& init : gp.initializer()) {
    if (init.name().empty()) err("an initializer has no name");
    if (ids_.count(init.name())) err("initializer '", init.name(), "' is defined twice");
    ids_[init.name()] = g_.add_constant(
        init.name(), tensor_from_onnx(init, src_ + ": initializer '" + init.name() + "'"));
  }
  for (const auto& in : gp.input()) {
    if (ids_.count(in.name())) continue;  // an initializer listed as input: a constant
    const std::string what = "input '" + in.name() + "'";
    if (!in.type().has_tensor_type()) err(what, ": not a tensor");
    const auto& tt = in.type().tensor_type();
    const DType in_dt = tt.elem_type() == onnx::TensorProto_DataType_FLOAT  ? DType::F32
                        : tt.elem_type() == onnx::TensorProto_DataType_UINT8 ? DType::U8
                        : tt.elem_type() == onnx::TensorProto_DataType_INT8  ? DType::I8
                                                                             : DType::Bool;
    if (in_dt == DType::Bool)
      err(what, ": data type ", tt.elem_type(),
          " is not supported (inputs must be float32, or uint8/int8 read by a DequantizeLinear)");
    Shape shape;
    auto ov = opt_.input_shapes.find(in.name());
    if (ov != opt_.input_shapes.end()) {
      shape = ov->second;
      if (tt.has_shape() && tt.shape().dim_size() != static_cast<int>(shape.size()))
        err(what, ": given shape ", shape_str(shape), " has rank ", shape.size(),
            ", the model declares rank ", tt.shape().dim_size());
    } else {
      if (!tt.has_shape())
        err(what, ": has no declared shape; pass one in ImportOptions::input_shapes");
      for (int d = 0; d < tt.shape().dim_size(); ++d) {
        const auto& dim = tt.shape().dim(d);
        if (dim.has_dim_value() && dim.dim_value() > 0) {
          shape.push_back(dim.dim_value());
        } else if (d == 0 && opt_.batch > 0) {
          shape.push_back(opt_.batch);
        } else {
          err(what, ": dimension ", d, " ('", dim.dim_param(),
              "') is dynamic and cannot be made static; pass the shape in "
              "ImportOptions::input_shapes");
        }
      }
    }
    for (int64_t d : shape)
      if (d <= 0 || d > kMaxImportElements) err(what, ": invalid dimension in ", shape_str(shape));
    if (too_large_for_import(shape)) err(what, ": shape ", shape_str(shape), " is too large");
    int id = new_value(in.name(), in_dt, shape);
    ids_[in.name()] = id;
    g_.inputs.push_back(id);
  }
  for (const auto& kv : opt_.input_shapes) {
    bool found = false;
    for (int i : g_.inputs) found = found || g_.values[static_cast<size_t>(i)].name == kv.first;
    if (!found) err("a shape is given for '", kv.first, "', which is not an input of the model");
  }
}

// -- emitting canonical nodes

int Importer::emit(const NodeCtx& n, const std::string& op, std::vector<int> inputs, Attrs attrs,
                   const std::string& out_name, Shape resolved_shape) {
  Node node;
  node.name = n.name;
  node.op = op;
  node.inputs = std::move(inputs);
  node.attrs = std::move(attrs);
  // Non-float tensors exist only as folded constants, as the integer side
  // of QuantizeLinear/DequantizeLinear (checked by convert_qdq), and as
  // int8/uint8 data moved by Reshape/Transpose.
  const bool moves = op == "Reshape" || op == "Transpose";
  if (op != "QuantizeLinear" && op != "DequantizeLinear")
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int i = node.inputs[k];
      if (i < 0) continue;
      const DType t = g_.values[static_cast<size_t>(i)].dtype;
      if (t == DType::F32 || (moves && k == 0 && (t == DType::I8 || t == DType::U8))) continue;
      nerr(n, "input '", g_.values[static_cast<size_t>(i)].name, "' has type ", dtype_name(t),
           "; only float32 is supported here",
           t == DType::I8 || t == DType::U8 ? " (dequantize it with DequantizeLinear first)" : "");
    }
  int out = new_value(out_name, DType::F32, std::move(resolved_shape));
  node.outputs = {out};
  Shape s = infer_node_shapes(g_, node).at(0);
  if (too_large_for_import(s)) nerr(n, "output shape ", shape_str(s), " is too large");
  g_.values[static_cast<size_t>(out)].shape = s;
  g_.values[static_cast<size_t>(out)].dtype = infer_node_dtype(g_, node);
  // Importer-internal ops, and dequantized weights (kept integer for
  // lower_qdq; fold_dequantized_constants folds the rest).
  bool foldable = op != "BatchNormalization" && op != "Pad" && op != "DequantizeLinear";
  for (int i : node.inputs)
    if (i >= 0 && !g_.values[static_cast<size_t>(i)].is_constant()) foldable = false;
  if (foldable) {
    g_.values[static_cast<size_t>(out)].constant = evaluate_constant_node(g_, node).at(0);
  } else {
    g_.nodes.push_back(std::move(node));
  }
  return out;
}

void Importer::emit_output(const NodeCtx& n, const std::string& op, std::vector<int> inputs,
                           Attrs attrs, Shape resolved_shape) {
  std::string nm = out_name(n);
  bind_output(n, 0,
              emit(n, op, std::move(inputs), std::move(attrs), nm, std::move(resolved_shape)));
}

int Importer::emit_reshape(const NodeCtx& n, int x, const Shape& s, const std::string& out_name) {
  const Value& v = g_.values[static_cast<size_t>(x)];
  if (numel(s) != numel(v.shape))
    nerr(n, "cannot reshape ", shape_str(v.shape), " to ", shape_str(s));
  if (v.is_constant()) return g_.add_constant(out_name, v.constant.reshaped(s));
  Attrs a;
  a.set("shape", s);
  return emit(n, "Reshape", {x}, a, out_name);
}

Shape Importer::resolve_reshape(const NodeCtx& n, const Shape& in, const std::vector<int64_t>& spec,
                                bool allowzero) const {
  Shape out;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == 0 && !allowzero) {
      if (i >= in.size())
        nerr(n, "shape ", shape_str(spec), " copies a dimension the input ", shape_str(in),
             " lacks");
      d = in[i];
    }
    if (d == -1) {
      if (infer >= 0) nerr(n, "shape ", shape_str(spec), " has more than one -1");
      infer = static_cast<int>(i);
      d = 1;
    } else if (d < 0) {
      nerr(n, "invalid target shape ", shape_str(spec));
    } else {
      if (d > 0 && known > kMaxImportElements / d) nerr(n, "invalid target shape ", shape_str(spec));
      known *= d;
    }
    out.push_back(d);
  }
  if (infer >= 0) {
    if (known == 0 || numel(in) % known != 0)
      nerr(n, "cannot reshape ", shape_str(in), " to ", shape_str(spec));
    out[static_cast<size_t>(infer)] = numel(in) / known;
  }
  if (numel(out) != numel(in)) nerr(n, "cannot reshape ", shape_str(in), " to ", shape_str(spec));
  return out;
}

std::vector<int64_t> Importer::axes_arg(const NodeCtx& n, size_t input_index) const {
  if (opset_ >= 13) {
    if (input_id(n, input_index) < 0) return {};
    return const_in(n, input_index, "axes").to_int64s();
  }
  return attr_ints(n, "axes", {});
}

// Conv and pool windows: strides, dilations, resolved pads (auto_pad,
// ceil_mode), written to `a` in the canonical form.
void Importer::window_attrs(const NodeCtx& n, const Shape& x, const Shape& kernel, Attrs& a,
                            bool is_pool) {
  if (x.size() != 4)
    nerr(n, "only 2-D windows (4-D NCHW input) are supported, input is ", shape_str(x));
  std::vector<int64_t> s = attr_ints(n, "strides", {1, 1});
  std::vector<int64_t> d = attr_ints(n, "dilations", {1, 1});
  std::vector<int64_t> p = attr_ints(n, "pads", {0, 0, 0, 0});
  if (s.size() != 2 || d.size() != 2 || p.size() != 4 || kernel.size() != 2)
    nerr(n, "strides/dilations/pads/kernel_shape must describe 2 spatial axes");
  constexpr int64_t kMax = int64_t{1} << 24;
  for (int i = 0; i < 2; ++i)
    if (s[i] < 1 || d[i] < 1 || kernel[i] < 1 || s[i] > kMax || d[i] > kMax || kernel[i] > kMax)
      nerr(n, "kernel, strides and dilations must be in 1..", kMax);
  for (int64_t v : p)
    if (v < 0 || v > kMax) nerr(n, "pads must be in 0..", kMax);
  if (is_pool && (d[0] != 1 || d[1] != 1)) nerr(n, "dilated pooling is not supported");
  std::string ap = attr_s(n, "auto_pad", "NOTSET");
  if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
    for (int i = 0; i < 2; ++i) {
      int64_t in = x[static_cast<size_t>(i) + 2];
      int64_t out = (in + s[i] - 1) / s[i];
      int64_t total = std::max<int64_t>(0, (out - 1) * s[i] + (kernel[i] - 1) * d[i] + 1 - in);
      int64_t small = total / 2;
      p[i] = ap == "SAME_UPPER" ? small : total - small;
      p[i + 2] = total - p[i];
    }
  } else if (ap == "VALID") {
    p = {0, 0, 0, 0};
  } else if (ap != "NOTSET") {
    nerr(n, "unknown auto_pad '", ap, "'");
  }
  if (is_pool && attr_i(n, "ceil_mode", 0) != 0) {
    for (int i = 0; i < 2; ++i) {
      int64_t in = x[static_cast<size_t>(i) + 2], k = kernel[i];
      int64_t span = in + p[i] + p[i + 2] - k;
      if (span < 0) nerr(n, "kernel larger than the padded input");
      int64_t out = (span + s[i] - 1) / s[i] + 1;
      if ((out - 1) * s[i] >= in + p[i]) --out;  // last window must start inside
      int64_t extra = (out - 1) * s[i] + k - (in + p[i] + p[i + 2]);
      if (extra > 0) {
        if (n.op == "AveragePool" && attr_i(n, "count_include_pad", 0) != 0)
          nerr(n, "ceil_mode with count_include_pad is not supported");
        p[i + 2] += extra;
      }
    }
  }
  a.set("strides", s);
  a.set("pads", p);
  if (!is_pool) a.set("dilations", d);
}

// -- node translation

void Importer::convert(const NodeCtx& n) {
  const std::string& op = n.op;
  if (eval_constant(n)) return;
  auto in_shape = [&](size_t i) { return in_val(n, i).shape; };
  auto x_id = [&]() {
    int id = input_id(n, 0);
    if (id < 0) nerr(n, "missing input 0");
    return id;
  };
  auto extra_outputs_unused = [&](const char* why) {
    for (int i = 1; i < n.p->output_size(); ++i)
      if (!n.p->output(i).empty())
        poison_[n.p->output(i)] = std::string("output of ") + n.op + " " + why;
  };

  if (op == "Conv") {
    const Value& w = in_val(n, 1);
    if (!const_or_dequantized(input_id(n, 1)))
      nerr(n, "weights ('", w.name, "') must be constant (or dequantized constants)");
    int b = input_id(n, 2);
    if (b >= 0 && !const_or_dequantized(b))
      nerr(n, "bias must be constant (or dequantized constants)");
    if (w.shape.size() != 4)
      nerr(n, "only 2-D convolution is supported (weights ", shape_str(w.shape), ")");
    Shape k{w.shape[2], w.shape[3]};
    std::vector<int64_t> ks = attr_ints(n, "kernel_shape", k);
    if (ks != k)
      nerr(n, "kernel_shape ", shape_str(ks), " differs from the weights ", shape_str(w.shape));
    Attrs a;
    window_attrs(n, in_shape(0), k, a, false);
    a.set("group", attr_i(n, "group", 1));
    std::vector<int> ins{x_id(), input_id(n, 1)};
    if (b >= 0) ins.push_back(b);
    emit_output(n, "Conv", ins, a);
  } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    convert_qdq(n);
  } else if (op == "BatchNormalization") {
    extra_outputs_unused("in training mode is not supported");
    if (attr_i(n, "training_mode", 0) != 0) nerr(n, "training mode is not supported");
    std::vector<int> ins{x_id()};
    for (size_t i = 1; i < 5; ++i) {
      const_in(n, i, "scale, bias, mean and variance");
      ins.push_back(input_id(n, i));
    }
    Attrs a;
    a.set("epsilon", attr_f(n, "epsilon", 1e-5f));
    emit_output(n, "BatchNormalization", ins, a);
  } else if (op == "Relu" || op == "Sigmoid" || op == "HardSwish") {
    emit_output(n, op, {x_id()});
  } else if (op == "HardSigmoid") {
    Attrs a;
    a.set("alpha", attr_f(n, "alpha", 0.2f));
    a.set("beta", attr_f(n, "beta", 0.5f));
    emit_output(n, op, {x_id()}, a);
  } else if (op == "Clip") {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (opset_ < 11) {
      lo = attr_f(n, "min", lo);
      hi = attr_f(n, "max", hi);
    } else {
      if (input_id(n, 1) >= 0) lo = static_cast<float>(const_in(n, 1, "min").at_f64(0));
      if (input_id(n, 2) >= 0) hi = static_cast<float>(const_in(n, 2, "max").at_f64(0));
      for (size_t i = 1; i < 3; ++i)
        if (input_id(n, i) >= 0 && const_in(n, i, "bound").numel() != 1)
          nerr(n, "min/max must be scalars");
    }
    Attrs a;
    a.set("min", lo);
    a.set("max", hi);
    emit_output(n, op, {x_id()}, a);
  } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    if (opset_ < 7 && attr(n, "broadcast"))
      nerr(n, "legacy broadcast attribute (opset < 7) is not supported");
    emit_output(n, op, {x_id(), input_id(n, 1)});
  } else if (op == "GlobalAveragePool") {
    emit_output(n, op, {x_id()});
  } else if (op == "AveragePool" || op == "MaxPool") {
    if (op == "MaxPool") extra_outputs_unused("Indices is not supported");
    if (attr_i(n, "storage_order", 0) != 0) nerr(n, "storage_order 1 is not supported");
    std::vector<int64_t> k = attr_ints(n, "kernel_shape", {});
    if (k.size() != 2) nerr(n, "kernel_shape must have 2 values");
    Attrs a;
    a.set("kernel_shape", k);
    window_attrs(n, in_shape(0), k, a, true);
    if (op == "AveragePool") a.set("count_include_pad", attr_i(n, "count_include_pad", 0));
    emit_output(n, op, {x_id()}, a);
  } else if (op == "Gemm") {
    Attrs a;
    a.set("transA", attr_i(n, "transA", 0));
    a.set("transB", attr_i(n, "transB", 0));
    a.set("alpha", attr_f(n, "alpha", 1.f));
    a.set("beta", attr_f(n, "beta", 1.f));
    std::vector<int> ins{x_id(), input_id(n, 1)};
    if (input_id(n, 2) >= 0) ins.push_back(input_id(n, 2));
    emit_output(n, op, ins, a);
  } else if (op == "MatMul") {
    emit_output(n, op, {x_id(), input_id(n, 1)});
  } else if (op == "Flatten") {
    Shape s = in_shape(0);
    int64_t axis = attr_i(n, "axis", 1), r = static_cast<int64_t>(s.size());
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r) nerr(n, "axis out of range");
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= s[static_cast<size_t>(i)];
    bind_output(
        n, 0,
        emit_reshape(n, x_id(), {outer, numel(s) / std::max<int64_t>(outer, 1)}, out_name(n)));
  } else if (op == "Reshape") {
    std::vector<int64_t> spec =
        opset_ < 5 ? attr_ints(n, "shape", {}) : const_in(n, 1, "shape").to_int64s();
    Shape s = resolve_reshape(n, in_shape(0), spec, attr_i(n, "allowzero", 0) != 0);
    bind_output(n, 0, emit_reshape(n, x_id(), s, out_name(n)));
  } else if (op == "Unsqueeze" || op == "Squeeze") {
    Shape s = in_shape(0);
    std::vector<int64_t> axes = axes_arg(n, 1);
    int64_t r = static_cast<int64_t>(s.size()) +
                (op == "Unsqueeze" ? static_cast<int64_t>(axes.size()) : 0);
    for (int64_t& a : axes) {
      if (a < 0) a += r;
      if (a < 0 || a >= r) nerr(n, "axis out of range");
    }
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) nerr(n, "repeated axis");
    Shape out;
    if (op == "Unsqueeze") {
      for (int64_t i = 0, k = 0; i < r; ++i)
        out.push_back(std::count(axes.begin(), axes.end(), i) ? 1 : s[static_cast<size_t>(k++)]);
    } else {
      for (int64_t i = 0; i < r; ++i) {
        bool drop = axes.empty() ? s[static_cast<size_t>(i)] == 1
                                 : std::count(axes.begin(), axes.end(), i) > 0;
        if (drop && s[static_cast<size_t>(i)] != 1)
          nerr(n, "cannot squeeze a dimension of size ", s[static_cast<size_t>(i)]);
        if (!drop) out.push_back(s[static_cast<size_t>(i)]);
      }
    }
    bind_output(n, 0, emit_reshape(n, x_id(), out, out_name(n)));
  } else if (op == "Transpose") {
    Shape s = in_shape(0);
    std::vector<int64_t> rev;
    for (size_t i = s.size(); i-- > 0;) rev.push_back(static_cast<int64_t>(i));
    Attrs a;
    a.set("perm", attr_ints(n, "perm", rev));
    emit_output(n, op, {x_id()}, a);
  } else if (op == "Concat") {
    int64_t r = static_cast<int64_t>(in_shape(0).size());
    int64_t axis = attr_i(n, "axis", opset_ < 4 ? 1 : std::numeric_limits<int64_t>::min());
    if (axis == std::numeric_limits<int64_t>::min()) nerr(n, "missing axis attribute");
    if (axis < 0) axis += r;
    Attrs a;
    a.set("axis", axis);
    std::vector<int> ins;
    for (int i = 0; i < n.p->input_size(); ++i) ins.push_back(input_id(n, static_cast<size_t>(i)));
    if (std::count(ins.begin(), ins.end(), -1)) nerr(n, "empty input name");
    emit_output(n, op, ins, a);
  } else if (op == "Softmax") {
    convert_softmax(n);
  } else if (op == "Resize" || op == "Upsample") {
    convert_resize(n);
  } else if (op == "Identity" || op == "Dropout") {
    if (op == "Dropout") extra_outputs_unused("mask is not supported");
    emit_output(n, "Identity", {x_id()});
  } else if (op == "Pad") {
    // PyTorch writes a Pad before AveragePool even when it pads nothing;
    // real zero padding of H/W is merged into the next Conv by merge_pad.
    std::vector<int64_t> pads =
        opset_ < 11 ? attr_ints(n, "pads", {}) : const_in(n, 1, "pads").to_int64s();
    if (attr(n, "axes") || input_id(n, 3) >= 0) nerr(n, "the axes input is not supported");
    const Shape s = in_shape(0);
    if (pads.size() != 2 * s.size()) nerr(n, "pads must have 2 values per axis");
    if (std::all_of(pads.begin(), pads.end(), [](int64_t v) { return v == 0; })) {
      emit_output(n, "Identity", {x_id()});
      return;
    }
    const std::string mode = attr_s(n, "mode", "constant");
    double value = opset_ < 11           ? attr_f(n, "value", 0.f)
                   : input_id(n, 2) >= 0 ? const_in(n, 2, "constant_value").at_f64(0)
                                         : 0.0;
    if (mode != "constant" || value != 0.0 || s.size() != 4 || pads[0] || pads[1] || pads[4] ||
        pads[5])
      nerr(n, "only zero padding of the two spatial axes of a 4-D tensor is supported");
    for (int64_t v : pads)
      if (v < 0 || v > (int64_t{1} << 24)) nerr(n, "pads must be in 0..", int64_t{1} << 24);
    Attrs a;
    a.set("pads", std::vector<int64_t>{pads[2], pads[3], pads[6], pads[7]});
    emit_output(n, "Pad", {x_id()}, a);
  } else if (op == "Cast") {
    int64_t to = attr_i(n, "to", 0);
    if (to != onnx::TensorProto_DataType_FLOAT || in_val(n, 0).dtype != DType::F32)
      nerr(n, "cast of a non-constant tensor to type ", to, " is not supported");
    emit_output(n, "Identity", {x_id()});
  } else if (is_foldable_onnx_op(op)) {
    nerr(n, "supported only on constant inputs (its result must fold to a constant)");
  } else {
    nerr(n, "unsupported operator");
  }
}

// QuantizeLinear(x, scale, [zero_point]) / DequantizeLinear(x, scale,
// [zero_point]): checked and written in the canonical form, with the zero
// point always present (uint8 zeros for an absent QuantizeLinear one, zeros
// of x's type for DequantizeLinear) and attr axis (non-negative) only for
// the per-axis form (scale with more than one value; opset >= 13).
void Importer::convert_qdq(const NodeCtx& n) {
  const bool quantize = n.op == "QuantizeLinear";
  if (n.p->input_size() > 3 || n.p->output_size() != 1)
    nerr(n, "expects 2-3 inputs and 1 output");
  // Copies (a Tensor copy shares its bytes): adding the default zero point
  // below may reallocate the graph's values.
  const Value x = in_val(n, 0);
  const Tensor scale = const_in(n, 1, "scale");
  if (scale.dtype() != DType::F32)
    nerr(n, "scale has type ", dtype_name(scale.dtype()), ", expected float32");
  if (scale.shape().size() > 1)
    nerr(n, "scale must be a scalar or 1-D, is ", shape_str(scale.shape()));
  for (float v : scale.to_floats())
    if (!(v > 0.f) || !std::isfinite(v)) nerr(n, "scale ", v, " is not positive and finite");
  if (quantize && x.dtype != DType::F32)
    nerr(n, "input '", x.name, "' has type ", dtype_name(x.dtype), ", expected float32");
  if (!quantize && x.dtype != DType::I8 && x.dtype != DType::U8 && x.dtype != DType::I32)
    nerr(n, "input '", x.name, "' has type ", dtype_name(x.dtype),
         ", expected int8, uint8 or int32");
  int zp = input_id(n, 2);
  if (zp >= 0) {
    const Tensor& z = const_in(n, 2, "zero point");
    if (quantize && z.dtype() != DType::I8 && z.dtype() != DType::U8)
      nerr(n, "zero point has type ", dtype_name(z.dtype()), ", expected int8 or uint8");
    if (!quantize && z.dtype() != x.dtype)
      nerr(n, "zero point has type ", dtype_name(z.dtype()), ", the input is ",
           dtype_name(x.dtype));
    if (z.shape() != scale.shape())
      nerr(n, "zero point shape ", shape_str(z.shape()), " differs from scale shape ",
           shape_str(scale.shape()));
    if (!quantize && x.dtype == DType::I32)
      for (int64_t i = 0; i < z.numel(); ++i)
        if (z.at_i64(i) != 0) nerr(n, "an int32 input needs zero point 0");
  } else {
    zp = g_.add_constant(n.name + "/zero_point",
                         Tensor(quantize ? DType::U8 : x.dtype, scale.shape()));
  }
  Attrs a;
  if (scale.numel() != 1) {
    if (opset_ < 13) nerr(n, "per-axis scales need opset 13 (the model has opset ", opset_, ")");
    const int64_t r = static_cast<int64_t>(x.shape.size());
    int64_t axis = attr_i(n, "axis", 1);
    if (axis < -r || axis >= r)
      nerr(n, "axis ", axis, " out of range for input ", shape_str(x.shape));
    if (axis < 0) axis += r;
    if (scale.numel() != x.shape[static_cast<size_t>(axis)])
      nerr(n, "scale has ", scale.numel(), " values, axis ", axis, " of input ",
           shape_str(x.shape), " has ", x.shape[static_cast<size_t>(axis)]);
    a.set("axis", axis);
  }
  emit_output(n, n.op, {input_id(n, 0), input_id(n, 1), zp}, a);
}

// A constant, or the output of a DequantizeLinear of constants (weights and
// biases of QDQ models stay integer until lowering).
bool Importer::const_or_dequantized(int id) const {
  if (id < 0) return false;
  if (g_.values[static_cast<size_t>(id)].is_constant()) return true;
  for (const Node& nd : g_.nodes)
    if (nd.outputs[0] == id)
      return nd.op == "DequantizeLinear" &&
             g_.values[static_cast<size_t>(nd.inputs[0])].is_constant();
  return false;
}

// Value::quant of integer graph inputs (from the DequantizeLinear reading
// them) and outputs (from the QuantizeLinear writing them).
void Importer::set_io_quant() {
  auto params = [&](const Node& nd) {
    QuantParams q;
    q.scale = g_.values[static_cast<size_t>(nd.inputs[1])].constant.to_floats();
    for (int64_t z : g_.values[static_cast<size_t>(nd.inputs[2])].constant.to_int64s())
      q.zero_point.push_back(static_cast<int32_t>(z));
    q.axis = static_cast<int>(nd.attrs.get_i("axis", -1));
    return q;
  };
  for (int v : g_.inputs) {
    Value& val = g_.values[static_cast<size_t>(v)];
    if (val.dtype == DType::F32) continue;
    const Node* reader = nullptr;
    for (const Node& nd : g_.nodes)
      for (int i : nd.inputs)
        if (i == v && !reader) reader = &nd;
    if (!reader || reader->op != "DequantizeLinear" || reader->inputs[0] != v)
      err("input '", val.name, "' has type ", dtype_name(val.dtype),
          " and must be read by a DequantizeLinear");
    val.quant = params(*reader);
  }
  for (int v : g_.outputs) {
    Value& val = g_.values[static_cast<size_t>(v)];
    if (val.dtype != DType::I8 && val.dtype != DType::U8) continue;
    for (const Node& nd : g_.nodes)
      if (nd.outputs[0] == v && nd.op == "QuantizeLinear") val.quant = params(nd);
  }
}

void Importer::convert_softmax(const NodeCtx& n) {
  const Shape s = in_val(n, 0).shape;
  const int64_t r = static_cast<int64_t>(s.size());
  int64_t axis = attr_i(n, "axis", opset_ < 13 ? 1 : -1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) nerr(n, "axis out of range for input ", shape_str(s));
  int x = input_id(n, 0);
  Attrs a;
  if (opset_ >= 13 || axis == r - 1) {
    a.set("axis", axis);
    emit_output(n, "Softmax", {x}, a);
    return;
  }
  // Before opset 13 the input is coerced to 2-D [prod(d[:axis]), prod(d[axis:])].
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[static_cast<size_t>(i)];
  int flat =
      emit_reshape(n, x, {outer, numel(s) / std::max<int64_t>(outer, 1)}, n.name + "/softmax_in");
  a.set("axis", int64_t{1});
  int sm = emit(n, "Softmax", {flat}, a, n.name + "/softmax_2d");
  bind_output(n, 0, emit_reshape(n, sm, s, out_name(n)));
}

void Importer::convert_resize(const NodeCtx& n) {
  const Shape s = in_val(n, 0).shape;
  std::string mode = attr_s(n, "mode", "nearest");
  std::transform(mode.begin(), mode.end(), mode.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  if (mode == "bilinear") mode = "linear";
  if (mode != "nearest" && mode != "linear")
    nerr(n, "mode '", mode, "' is not supported (nearest, linear)");
  std::vector<float> scales;
  Shape out;
  std::string ctm = "asymmetric", nearest = "floor";
  const bool legacy = n.op == "Upsample" || opset_ < 11;
  if (legacy) {
    if (n.op == "Upsample" && opset_ < 9) {
      scales = attr_floats(n, "scales");
    } else {
      scales = const_in(n, 1, "scales").to_floats();
    }
  } else {
    if (attr(n, "axes")) nerr(n, "the axes attribute is not supported");
    ctm = attr_s(n, "coordinate_transformation_mode", "half_pixel");
    nearest = attr_s(n, "nearest_mode", "round_prefer_floor");
    if (ctm == "tf_crop_and_resize")
      nerr(n, "coordinate_transformation_mode 'tf_crop_and_resize' is not supported");
    if (input_id(n, 3) >= 0 && const_in(n, 3, "sizes").numel() > 0) {
      out = const_in(n, 3, "sizes").to_int64s();
      if (input_id(n, 2) >= 0 && const_in(n, 2, "scales").numel() > 0)
        nerr(n, "only one of scales and sizes may be given");
    } else if (input_id(n, 2) >= 0) {
      scales = const_in(n, 2, "scales").to_floats();
    } else {
      nerr(n, "neither scales nor sizes is given");
    }
  }
  const bool from_sizes = !out.empty();
  if (!from_sizes) {
    if (scales.size() != s.size())
      nerr(n, "scales has ", scales.size(), " values for input ", shape_str(s));
    for (size_t i = 0; i < s.size(); ++i) {
      if (!(scales[i] > 0.f) || scales[i] > 1e4f) nerr(n, "invalid scale ", scales[i]);
      out.push_back(static_cast<int64_t>(std::floor(static_cast<double>(s[i]) * scales[i])));
    }
  } else {
    if (out.size() != s.size())
      nerr(n, "sizes has ", out.size(), " values for input ", shape_str(s));
    for (size_t i = 0; i < s.size(); ++i) {
      if (out[i] <= 0 || out[i] > kMaxImportElements)
        nerr(n, "invalid output size ", shape_str(out));
      scales.push_back(static_cast<float>(static_cast<double>(out[i]) / static_cast<double>(s[i])));
    }
  }
  for (int64_t d : out)
    if (d <= 0) nerr(n, "output shape ", shape_str(out), " is empty");
  if (too_large_for_import(out)) nerr(n, "output shape ", shape_str(out), " is too large");
  if (legacy) {
    bool down = false;
    for (float f : scales) down = down || f < 1.f;
    nearest = down ? "ceil" : "floor";
  }
  if (s.size() < 2) nerr(n, "input must have rank >= 2");
  for (size_t i = 0; i + 2 < s.size(); ++i)
    if (out[i] != s[i])
      nerr(n, "only the last two axes can be resized (", shape_str(s), " -> ", shape_str(out), ")");
  static const std::set<std::string> kCtm = {"half_pixel", "asymmetric", "align_corners",
                                             "pytorch_half_pixel", "tf_half_pixel_for_nn"};
  if (!kCtm.count(ctm)) nerr(n, "coordinate_transformation_mode '", ctm, "' is not supported");
  static const std::set<std::string> kNearest = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                                 "ceil"};
  if (!kNearest.count(nearest)) nerr(n, "nearest_mode '", nearest, "' is not supported");
  Attrs a;
  a.set("mode", mode);
  a.set("coordinate_transformation_mode", ctm);
  a.set("nearest_mode", nearest);
  if (!from_sizes) {  // ONNX maps coordinates with the given scales, not the size ratio
    a.set("scale_h", scales[s.size() - 2]);
    a.set("scale_w", scales[s.size() - 1]);
  }
  emit_output(n, "Resize", {input_id(n, 0)}, a, out);
}

// Turns Constant, Shape and Size into constants, and evaluates the ops of
// onnx_fold.h when all their inputs are constant. Returns false when the
// node is not of that kind or an input is not constant.
bool Importer::eval_constant(const NodeCtx& n) {
  const std::string& op = n.op;
  if (op == "Constant") {
    const auto& attrs = n.p->attribute();
    if (attrs.size() != 1) nerr(n, "expects exactly one attribute");
    const auto& a = attrs[0];
    if (a.name() == "value")
      set_const_output(n, 0, tensor_from_onnx(a.t(), src_ + ": node '" + n.name + "' value"));
    else if (a.name() == "value_float")
      set_const_output(n, 0, Tensor::from_floats({}, {a.f()}));
    else if (a.name() == "value_floats")
      set_const_output(
          n, 0, Tensor::from_floats({a.floats_size()}, {a.floats().begin(), a.floats().end()}));
    else if (a.name() == "value_int")
      set_const_output(n, 0, Tensor::from_int64s({}, {a.i()}));
    else if (a.name() == "value_ints")
      set_const_output(n, 0,
                       Tensor::from_int64s({a.ints_size()}, {a.ints().begin(), a.ints().end()}));
    else
      nerr(n, "attribute '", a.name(), "' is not supported");
    return true;
  }
  if (op == "Shape" || op == "Size") {
    const Shape s = in_val(n, 0).shape;
    if (op == "Size") {
      set_const_output(n, 0, Tensor::from_int64s({}, {numel(s)}));
      return true;
    }
    int64_t r = static_cast<int64_t>(s.size());
    int64_t b = attr_i(n, "start", 0), e = attr_i(n, "end", r);
    if (b < 0) b += r;
    if (e < 0) e += r;
    b = std::clamp<int64_t>(b, 0, r);
    e = std::clamp<int64_t>(e, b, r);
    Shape part(s.begin() + b, s.begin() + e);
    set_const_output(n, 0, Tensor::from_int64s({static_cast<int64_t>(part.size())}, part));
    return true;
  }
  if (!is_foldable_onnx_op(op) || !all_const(n)) return false;
  if (op == "Dropout")
    for (int i = 1; i < n.p->output_size(); ++i)
      if (!n.p->output(i).empty()) poison_[n.p->output(i)] = "Dropout mask is not supported";
  std::vector<const Tensor*> ins;
  for (int i = 0; i < n.p->input_size(); ++i) {
    int id = input_id(n, static_cast<size_t>(i));
    ins.push_back(id < 0 ? nullptr : &g_.values[static_cast<size_t>(id)].constant);
  }
  std::optional<Tensor> r = fold_onnx_node(*n.p, ins, opset_, src_, n.name);
  if (!r) return false;
  set_const_output(n, 0, std::move(*r));
  return true;
}

void Importer::finish_outputs(const onnx::GraphProto& gp) {
  if (gp.output_size() == 0) err("the graph has no outputs");
  std::set<int> seen;
  for (const auto& o : gp.output()) {
    auto pz = poison_.find(o.name());
    if (pz != poison_.end()) err("graph output '", o.name(), "': ", pz->second);
    auto it = ids_.find(o.name());
    if (it == ids_.end()) err("graph output '", o.name(), "' is not produced by any node");
    if (!seen.insert(it->second).second) err("graph output '", o.name(), "' is listed twice");
    g_.outputs.push_back(it->second);
  }
}

void Importer::check_canonical() const {
  for (const Node& n : g_.nodes) {
    if (n.op == "Pad")
      fail(src_, ": node ", n.label(),
           ": zero padding is supported only directly before a Conv or an AveragePool");
    if (!canonical_ops().count(n.op))
      fail(src_, ": node ", n.label(), ": left in a non-canonical form after import");
    if (n.op == "Conv" && !g_.values[static_cast<size_t>(n.inputs[1])].is_constant())
      fail(src_, ": node ", n.label(), ": weights must be constant");
  }
}

// Node indices in an order where every node follows the producers of its
// inputs (ONNX requires files to be sorted; some tools do not sort), keeping
// the file order where it is already valid.
std::vector<int> Importer::topological_order(const onnx::GraphProto& gp) const {
  const int n = gp.node_size();
  std::map<std::string, int> producer;
  for (int i = 0; i < n; ++i)
    for (const auto& o : gp.node(i).output())
      if (!o.empty()) producer.emplace(o, i);
  std::vector<std::vector<int>> readers(static_cast<size_t>(n));
  std::vector<int> pending(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i)
    for (const auto& in : gp.node(i).input()) {
      auto it = producer.find(in);
      if (in.empty() || it == producer.end() || it->second == i) continue;
      readers[static_cast<size_t>(it->second)].push_back(i);
      ++pending[static_cast<size_t>(i)];
    }
  std::set<int> ready;
  for (int i = 0; i < n; ++i)
    if (pending[static_cast<size_t>(i)] == 0) ready.insert(i);
  std::vector<int> order;
  while (!ready.empty()) {
    int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int r : readers[static_cast<size_t>(i)])
      if (--pending[static_cast<size_t>(r)] == 0) ready.insert(r);
  }
  if (static_cast<int>(order.size()) != n) err("the graph has a cycle");
  return order;
}

Graph Importer::run(const onnx::ModelProto& m) {
  if (!m.has_graph() || m.graph().node_size() == 0)
    err("not an ONNX model or an empty graph (no nodes)");
  for (const auto& os : m.opset_import())
    if (os.domain().empty() || os.domain() == "ai.onnx") opset_ = os.version();
  if (opset_ <= 0) err("the model imports no opset of the default ONNX domain");
  for (const auto& kv : m.metadata_props()) g_.metadata[kv.key()] = kv.value();
  g_.source = src_;
  const onnx::GraphProto& gp = m.graph();
  import_inputs(gp);
  for (int i : topological_order(gp)) {
    const onnx::NodeProto& p = gp.node(i);
    NodeCtx n{&p, p.name(), p.op_type()};
    if (!p.domain().empty() && p.domain() != "ai.onnx") n.op = p.domain() + "." + p.op_type();
    if (n.name.empty()) n.name = p.op_type() + "_" + std::to_string(i);
    if (n.op.empty()) nerr(n, "node has no op_type");
    if (n.op != p.op_type()) nerr(n, "unsupported operator");
    size_t before = g_.nodes.size();
    convert(n);
    for (size_t k = before + 1; k < g_.nodes.size(); ++k)  // keep node names unique
      g_.nodes[k].name = n.name + "/" + std::to_string(k - before);
  }
  finish_outputs(gp);
  set_io_quant();
  optimize_graph(g_, opt_.qdq);
  check_canonical();
  infer_shapes(g_);  // re-checks every node after the rewrites
  g_.validate();
  return std::move(g_);
}

}  // namespace

Graph import_onnx_bytes(const std::string& bytes, const std::string& source_name,
                        const ImportOptions& opt) {
  if (bytes.empty()) fail(source_name, ": file is empty");
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes))
    fail(source_name,
         ": not a valid ONNX model (protobuf parse failed: truncated or corrupt file)");
  // Names inside a corrupt file may hold control characters; the message
  // must stay one printable line.
  auto one_line = [](std::string msg) {
    for (char& c : msg)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return Error(msg);
  };
  try {
    return Importer(source_name, opt).run(m);
  } catch (const Error& e) {
    throw one_line(e.what());
  } catch (const std::exception& e) {
    throw one_line(source_name + ": " + e.what());
  }
}

Graph import_onnx_file(const std::string& path, const ImportOptions& opt) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, ": is a directory, not an ONNX file");
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open file (", std::strerror(errno), ")");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail(path, ": read error");
  return import_onnx_bytes(ss.str(), path, opt);
}

}  // namespace vedge
