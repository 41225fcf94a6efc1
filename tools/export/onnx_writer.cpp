// onnx_writer.cpp: graph IR -> ONNX ModelProto bytes (opset 13), encoded
// with the protobuf wire format by hand (field numbers from onnx.proto).
// Depends on runtime/graph.h, runtime/error.h and data/files.h (atomic
// write); no protobuf library, no LibTorch.
#include "tools/export/onnx_writer.h"

#include <cmath>
#include <cstring>
#include <set>

#include "data/files.h"
#include "runtime/error.h"

// The build defines VEDGE_VERSION (the CMake project version) for vedge_tools;
// a build that does not says so in the file instead of guessing a number.
#ifndef VEDGE_VERSION
#define VEDGE_VERSION "unversioned"
#endif

namespace vedge {
namespace {

// -- protobuf wire format

class Proto {
 public:
  void varint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  void tag(int field, int wire) { varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire)); }
  void int_field(int field, int64_t v) {
    tag(field, 0);
    varint(static_cast<uint64_t>(v));  // negative int64: 10-byte two's complement
  }
  void float_field(int field, float v) {
    tag(field, 5);
    char b[4];
    std::memcpy(b, &v, 4);  // little-endian hosts only (x86-64, aarch64)
    buf_.append(b, 4);
  }
  void bytes_field(int field, const std::string& s) { bytes_field(field, s.data(), s.size()); }
  void bytes_field(int field, const void* p, size_t n) {
    tag(field, 2);
    varint(n);
    buf_.append(static_cast<const char*>(p), n);
  }
  void message(int field, const Proto& m) { bytes_field(field, m.buf_); }
  const std::string& bytes() const { return buf_; }

 private:
  std::string buf_;
};

// onnx.proto field numbers.
namespace f {
constexpr int kModelIrVersion = 1, kModelProducerName = 2, kModelProducerVersion = 3,
              kModelGraph = 7, kModelOpset = 8, kModelMetadata = 14;
constexpr int kOpsetDomain = 1, kOpsetVersion = 2;
constexpr int kEntryKey = 1, kEntryValue = 2;
constexpr int kGraphNode = 1, kGraphName = 2, kGraphInitializer = 5, kGraphInput = 11,
              kGraphOutput = 12;
constexpr int kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4,
              kNodeAttribute = 5;
constexpr int kAttrName = 1, kAttrF = 2, kAttrI = 3, kAttrS = 4, kAttrFloats = 7, kAttrInts = 8,
              kAttrType = 20;
constexpr int kAttrTypeFloat = 1, kAttrTypeInt = 2, kAttrTypeString = 3, kAttrTypeFloats = 6,
              kAttrTypeInts = 7;
constexpr int kTensorDims = 1, kTensorDataType = 2, kTensorName = 8, kTensorRawData = 9;
constexpr int kValueInfoName = 1, kValueInfoType = 2;
constexpr int kTypeTensor = 1, kTensorElemType = 1, kTensorShape = 2, kShapeDim = 1,
              kDimValue = 1;
}  // namespace f

int onnx_dtype(DType t) {
  switch (t) {
    case DType::F32: return 1;
    case DType::U8: return 2;
    case DType::I8: return 3;
    case DType::I32: return 6;
    case DType::I64: return 7;
    case DType::Bool: return 9;
    case DType::F16: return 10;
  }
  return 0;
}

Proto attribute(const std::string& name, const AttrValue& v) {
  Proto a;
  a.bytes_field(f::kAttrName, name);
  if (auto* i = std::get_if<int64_t>(&v)) {
    a.int_field(f::kAttrI, *i);
    a.int_field(f::kAttrType, f::kAttrTypeInt);
  } else if (auto* x = std::get_if<float>(&v)) {
    a.float_field(f::kAttrF, *x);
    a.int_field(f::kAttrType, f::kAttrTypeFloat);
  } else if (auto* s = std::get_if<std::string>(&v)) {
    a.bytes_field(f::kAttrS, *s);
    a.int_field(f::kAttrType, f::kAttrTypeString);
  } else if (auto* is = std::get_if<std::vector<int64_t>>(&v)) {
    for (int64_t e : *is) a.int_field(f::kAttrInts, e);
    a.int_field(f::kAttrType, f::kAttrTypeInts);
  } else {
    for (float e : std::get<std::vector<float>>(v)) a.float_field(f::kAttrFloats, e);
    a.int_field(f::kAttrType, f::kAttrTypeFloats);
  }
  return a;
}

Proto tensor_proto(const std::string& name, const Tensor& t) {
  Proto p;
  for (int64_t d : t.shape()) p.int_field(f::kTensorDims, d);
  p.int_field(f::kTensorDataType, onnx_dtype(t.dtype()));
  p.bytes_field(f::kTensorName, name);
  p.bytes_field(f::kTensorRawData, t.raw(), t.nbytes());
  return p;
}

Proto value_info(const Value& v) {
  Proto shape;
  for (int64_t d : v.shape) {
    Proto dim;
    dim.int_field(f::kDimValue, d);
    shape.message(f::kShapeDim, dim);
  }
  Proto tensor;
  tensor.int_field(f::kTensorElemType, onnx_dtype(v.dtype));
  tensor.message(f::kTensorShape, shape);
  Proto type;
  type.message(f::kTypeTensor, tensor);
  Proto info;
  info.bytes_field(f::kValueInfoName, v.name);
  info.message(f::kValueInfoType, type);
  return info;
}

// -- graph translation

class Writer {
 public:
  explicit Writer(const Graph& g) : g_(g) {
    names_.resize(g.values.size());
    for (size_t i = 0; i < g.values.size(); ++i) {
      const std::string& n = g.values[i].name;
      names_[i] = unique(n.empty() ? "v" + std::to_string(i) : n);
    }
  }

  Proto graph() {
    std::vector<bool> used(g_.values.size(), false);
    for (const Node& n : g_.nodes) {
      for (int i : n.inputs)
        if (i >= 0) used[static_cast<size_t>(i)] = true;
      translate(n);
    }
    for (int o : g_.outputs) used[static_cast<size_t>(o)] = true;
    Proto gp;
    for (const Proto& n : nodes_) gp.message(f::kGraphNode, n);
    gp.bytes_field(f::kGraphName, "vedge");
    for (size_t i = 0; i < g_.values.size(); ++i)
      if (used[i] && g_.values[i].is_constant())
        gp.message(f::kGraphInitializer, tensor_proto(names_[i], g_.values[i].constant));
    for (const Proto& t : extra_initializers_) gp.message(f::kGraphInitializer, t);
    for (int i : g_.inputs) {
      Value v = g_.values[static_cast<size_t>(i)];
      v.name = names_[static_cast<size_t>(i)];
      gp.message(f::kGraphInput, value_info(v));
    }
    for (int o : g_.outputs) {
      Value v = g_.values[static_cast<size_t>(o)];
      v.name = names_[static_cast<size_t>(o)];
      gp.message(f::kGraphOutput, value_info(v));
    }
    return gp;
  }

 private:
  std::string unique(const std::string& base) {
    std::string n = base;
    for (int k = 1; taken_.count(n); ++k) n = base + "_" + std::to_string(k);
    taken_.insert(n);
    return n;
  }

  std::string in_name(int id) const { return id < 0 ? std::string() : names_[static_cast<size_t>(id)]; }

  std::string constant(const std::string& base, const Tensor& t) {
    std::string n = unique(base);
    extra_initializers_.push_back(tensor_proto(n, t));
    return n;
  }

  std::string scalar(const std::string& base, float v) {
    return constant(base, Tensor::from_floats({}, {v}));
  }

  void emit(const std::string& name, const std::string& op, const std::vector<std::string>& ins,
            const std::vector<std::string>& outs, const std::map<std::string, AttrValue>& attrs) {
    Proto p;
    for (const std::string& i : ins) p.bytes_field(f::kNodeInput, i);
    for (const std::string& o : outs) p.bytes_field(f::kNodeOutput, o);
    p.bytes_field(f::kNodeName, unique_node(name));
    p.bytes_field(f::kNodeOpType, op);
    for (const auto& [k, v] : attrs) p.message(f::kNodeAttribute, attribute(k, v));
    nodes_.push_back(p);
  }

  std::string unique_node(const std::string& base) {
    std::string n = base;
    for (int k = 1; node_names_.count(n); ++k) n = base + "_" + std::to_string(k);
    node_names_.insert(n);
    return n;
  }

  // Writes `act` (relu | relu6 | clip | hardswish | sigmoid) from x to y.
  void activation(const Node& n, const std::string& act, const std::string& x, const std::string& y) {
    const std::string base = n.name + "_" + act;
    if (act == "relu") {
      emit(base, "Relu", {x}, {y}, {});
    } else if (act == "sigmoid") {
      emit(base, "Sigmoid", {x}, {y}, {});
    } else if (act == "hardswish") {
      hardswish(base, x, y);
    } else if (act == "relu6" || act == "clip") {
      const float lo = act == "relu6" ? 0.f : n.attrs.get_f("act_min", -INFINITY);
      const float hi = act == "relu6" ? 6.f : n.attrs.get_f("act_max", INFINITY);
      clip(base, x, y, lo, hi);
    } else {
      fail(g_.source, ": node ", n.label(), ": unknown fused activation '", act, "'");
    }
  }

  void hardswish(const std::string& base, const std::string& x, const std::string& y) {
    const std::string hs = unique(base + "_hardsigmoid");
    emit(base + "_hardsigmoid", "HardSigmoid", {x}, {hs},
         {{"alpha", AttrValue(1.f / 6.f)}, {"beta", AttrValue(0.5f)}});
    emit(base, "Mul", {x, hs}, {y}, {});
  }

  void clip(const std::string& base, const std::string& x, const std::string& y, float lo, float hi) {
    std::vector<std::string> ins{x, "", ""};
    if (std::isfinite(lo)) ins[1] = scalar(base + "_min", lo);
    if (std::isfinite(hi)) ins[2] = scalar(base + "_max", hi);
    while (ins.back().empty()) ins.pop_back();
    emit(base, "Clip", ins, {y}, {});
  }

  void translate(const Node& n) {
    std::vector<std::string> ins, outs;
    for (int i : n.inputs) ins.push_back(in_name(i));
    while (!ins.empty() && ins.back().empty()) ins.pop_back();
    for (int o : n.outputs) outs.push_back(in_name(o));
    const std::string& op = n.op;
    const auto& attrs = n.attrs.all();
    auto only = [&](std::initializer_list<const char*> keys) {
      std::map<std::string, AttrValue> out;
      for (const char* k : keys)
        if (n.attrs.has(k)) out[k] = attrs.at(k);
      return out;
    };
    if (op == "Conv") {
      const Value& w = g_.values.at(static_cast<size_t>(n.inputs.at(1)));
      auto a = only({"strides", "pads", "dilations", "group"});
      a["kernel_shape"] = std::vector<int64_t>{w.shape.at(2), w.shape.at(3)};
      const std::string act = n.attrs.get_s("activation", "");
      if (act.empty()) {
        emit(n.name, "Conv", ins, outs, a);
      } else {
        const std::string pre = unique(outs.at(0) + "_preact");
        emit(n.name, "Conv", ins, {pre}, a);
        activation(n, act, pre, outs.at(0));
      }
    } else if (op == "HardSwish") {
      hardswish(n.name, ins.at(0), outs.at(0));
    } else if (op == "Clip") {
      clip(n.name, ins.at(0), outs.at(0), n.attrs.get_f("min", -INFINITY),
           n.attrs.get_f("max", INFINITY));
    } else if (op == "Reshape") {
      const std::vector<int64_t> shape = n.attrs.get_ints("shape");
      const std::string s = constant(n.name + "_shape",
                                     Tensor::from_int64s({static_cast<int64_t>(shape.size())}, shape));
      emit(n.name, "Reshape", {ins.at(0), s}, outs, {});
    } else if (op == "Resize") {
      const Shape& out_shape = g_.values.at(static_cast<size_t>(n.outputs.at(0))).shape;
      const std::string sizes = constant(
          n.name + "_sizes", Tensor::from_int64s({static_cast<int64_t>(out_shape.size())}, out_shape));
      emit(n.name, "Resize", {ins.at(0), "", "", sizes}, outs,
           only({"mode", "coordinate_transformation_mode", "nearest_mode"}));
    } else if (op == "AveragePool" || op == "MaxPool") {
      auto a = only({"kernel_shape", "strides", "pads"});
      if (op == "AveragePool") a["count_include_pad"] = n.attrs.get_i("count_include_pad", 0);
      emit(n.name, op, ins, outs, a);
    } else if (op == "HardSigmoid") {
      emit(n.name, op, ins, outs, only({"alpha", "beta"}));
    } else if (op == "Gemm") {
      emit(n.name, op, ins, outs, only({"transA", "transB", "alpha", "beta"}));
    } else if (op == "Transpose") {
      emit(n.name, op, ins, outs, only({"perm"}));
    } else if (op == "Concat" || op == "Softmax") {
      emit(n.name, op, ins, outs, only({"axis"}));
    } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
      emit(n.name, op, ins, outs, only({"axis"}));  // per-axis form only when set
    } else if (op == "Cast") {
      const std::string to = n.attrs.get_s("to", "");
      if (to != "float") fail(g_.source, ": node ", n.label(), ": Cast to '", to, "' is not supported");
      emit(n.name, op, ins, outs, {{"to", AttrValue(int64_t{onnx_dtype(DType::F32)})}});
    } else if (op == "Relu" || op == "Sigmoid" || op == "Add" || op == "Sub" || op == "Mul" ||
               op == "Div" || op == "GlobalAveragePool" || op == "MatMul") {
      emit(n.name, op, ins, outs, {});
    } else {
      fail(g_.source, ": node ", n.label(), ": no ONNX form for this op");
    }
  }

  const Graph& g_;
  std::vector<std::string> names_;
  std::set<std::string> taken_, node_names_;
  std::vector<Proto> nodes_, extra_initializers_;
};

}  // namespace

std::string serialize_onnx(const Graph& g, const std::map<std::string, std::string>& metadata) {
  g.validate();
  Proto model;
  model.int_field(f::kModelIrVersion, 7);  // IR version of opset 13 (ONNX 1.8)
  model.bytes_field(f::kModelProducerName, "vision-edge");
  model.bytes_field(f::kModelProducerVersion, VEDGE_VERSION);
  Proto graph = Writer(g).graph();
  model.message(f::kModelGraph, graph);
  Proto opset;
  opset.bytes_field(f::kOpsetDomain, "");
  opset.int_field(f::kOpsetVersion, kOnnxWriterOpset);
  model.message(f::kModelOpset, opset);
  for (const auto& [k, v] : metadata) {
    Proto e;
    e.bytes_field(f::kEntryKey, k);
    e.bytes_field(f::kEntryValue, v);
    model.message(f::kModelMetadata, e);
  }
  return model.bytes();
}

void write_onnx(const Graph& g, const std::map<std::string, std::string>& metadata,
                const std::string& path) {
  write_text_file_atomic(path, serialize_onnx(g, metadata));
}

}  // namespace vedge
