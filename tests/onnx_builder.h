// onnx_builder.h: builds small ONNX models in C++ for tests (importer,
// passes, fuzzing, parity against ONNX Runtime). Header-only; wraps the
// protobuf onnx::ModelProto from Debian's libonnx.
//
//   vedge::test::OnnxBuilder b(13);               // default-domain opset
//   b.input("x", {1, 3, 8, 8});                    // float32 input; -1 = symbolic "N"
//   b.initializer("w", {4, 3, 3, 3}, weights);     // float32 constant
//   b.node("Conv", {"x", "w"}, {"y"}, {attr_ints("pads", {1, 1, 1, 1})});
//   b.output("y");
//   b.save(path);  or  std::string bytes = b.bytes();
//
// Node names default to "<op>_<index>". Depends on the ONNX protobuf and
// runtime/tensor.h only (no importer code), so tests build their inputs
// independently of what they test.
#pragma once

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace vedge::test {

// -- attributes ---------------------------------------------------------------

inline onnx::AttributeProto attr_i(const std::string& name, int64_t v) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto_AttributeType_INT);
  a.set_i(v);
  return a;
}
inline onnx::AttributeProto attr_f(const std::string& name, float v) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto_AttributeType_FLOAT);
  a.set_f(v);
  return a;
}
inline onnx::AttributeProto attr_s(const std::string& name, const std::string& v) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto_AttributeType_STRING);
  a.set_s(v);
  return a;
}
inline onnx::AttributeProto attr_ints(const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto_AttributeType_INTS);
  for (int64_t x : v) a.add_ints(x);
  return a;
}
inline onnx::AttributeProto attr_floats(const std::string& name, const std::vector<float>& v) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto_AttributeType_FLOATS);
  for (float x : v) a.add_floats(x);
  return a;
}

// -- tensors ------------------------------------------------------------------

// float32 tensor stored as raw_data (what exporters write).
inline onnx::TensorProto make_tensor(const std::string& name, const Shape& shape,
                                     const std::vector<float>& v) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto_DataType_FLOAT);
  for (int64_t d : shape) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  return t;
}
// int64 tensor stored in int64_data.
inline onnx::TensorProto make_tensor_i64(const std::string& name, const Shape& shape,
                                         const std::vector<int64_t>& v) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto_DataType_INT64);
  for (int64_t d : shape) t.add_dims(d);
  for (int64_t x : v) t.add_int64_data(x);
  return t;
}
inline onnx::AttributeProto attr_tensor(const std::string& name, const onnx::TensorProto& t) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto_AttributeType_TENSOR);
  *a.mutable_t() = t;
  return a;
}

// -- the model ----------------------------------------------------------------

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int64_t opset = 13) {
    model_.set_ir_version(opset >= 15 ? 8 : opset >= 9 ? 6 : 4);
    model_.set_producer_name("vedge-test");
    auto* os = model_.add_opset_import();
    os->set_domain("");
    os->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  // A graph input; dims < 0 become the symbolic dimension "N".
  OnnxBuilder& input(const std::string& name, const Shape& shape,
                     int elem_type = onnx::TensorProto_DataType_FLOAT) {
    add_value_info(graph()->add_input(), name, shape, elem_type);
    return *this;
  }
  // A graph output; shape is optional (importers recompute it).
  OnnxBuilder& output(const std::string& name, const Shape& shape = {},
                      int elem_type = onnx::TensorProto_DataType_FLOAT) {
    add_value_info(graph()->add_output(), name, shape, elem_type);
    return *this;
  }
  // A float32 initializer; also_as_input lists it in graph.input too, as
  // exporters for IR version < 4 (e.g. opset 9 PyTorch) do.
  OnnxBuilder& initializer(const std::string& name, const Shape& shape, const std::vector<float>& v,
                           bool also_as_input = false) {
    *graph()->add_initializer() = make_tensor(name, shape, v);
    if (also_as_input)
      add_value_info(graph()->add_input(), name, shape, onnx::TensorProto_DataType_FLOAT);
    return *this;
  }
  OnnxBuilder& initializer_i64(const std::string& name, const Shape& shape,
                               const std::vector<int64_t>& v) {
    *graph()->add_initializer() = make_tensor_i64(name, shape, v);
    return *this;
  }
  OnnxBuilder& initializer(const onnx::TensorProto& t) {
    *graph()->add_initializer() = t;
    return *this;
  }
  // A node; empty strings in `inputs` mark absent optional inputs.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs,
                        const std::vector<onnx::AttributeProto>& attrs = {},
                        const std::string& name = "") {
    onnx::NodeProto* n = graph()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(graph()->node_size() - 1) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    for (const auto& a : attrs) *n->add_attribute() = a;
    return *n;
  }
  // Constant node producing a float32 / int64 tensor.
  OnnxBuilder& constant(const std::string& out, const Shape& shape, const std::vector<float>& v) {
    node("Constant", {}, {out}, {attr_tensor("value", make_tensor(out, shape, v))});
    return *this;
  }
  OnnxBuilder& constant_i64(const std::string& out, const Shape& shape,
                            const std::vector<int64_t>& v) {
    node("Constant", {}, {out}, {attr_tensor("value", make_tensor_i64(out, shape, v))});
    return *this;
  }
  OnnxBuilder& metadata(const std::string& key, const std::string& value) {
    auto* p = model_.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
    return *this;
  }

  onnx::ModelProto& proto() { return model_; }
  onnx::GraphProto* graph() { return model_.mutable_graph(); }

  std::string bytes() const {
    std::string s;
    if (!model_.SerializeToString(&s))
      throw std::runtime_error("OnnxBuilder: serialization failed");
    return s;
  }
  void save(const std::string& path) const { write_file(path, bytes()); }

  static void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("OnnxBuilder: cannot write " + path);
  }

 private:
  static void add_value_info(onnx::ValueInfoProto* vi, const std::string& name, const Shape& shape,
                             int elem_type) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    if (shape.empty()) return;
    auto* sh = tt->mutable_shape();
    for (int64_t d : shape) {
      auto* dim = sh->add_dim();
      if (d < 0)
        dim->set_dim_param("N");
      else
        dim->set_dim_value(d);
    }
  }

  onnx::ModelProto model_;
};

}  // namespace vedge::test
