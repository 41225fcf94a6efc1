// tflite_model.h: a TFLite model in memory (one subgraph), the form the TFLite
// exporter builds (tflite_convert.h, tflite_postprocess.h) and the writer
// serializes (tflite_writer.h). Names and enum values are the TFLite schema's
// (schema version 3, field numbers in docs/tflite-format.md); nothing here
// depends on FlatBuffers, the graph IR or the runtime.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vedge::tflite {

enum class TensorType : int8_t {
  Float32 = 0, Float16 = 1, Int32 = 2, UInt8 = 3, Int64 = 4, Int8 = 9,
};

// BuiltinOperator codes of the ops the exporter writes.
enum class Op : int32_t {
  Add = 0, AveragePool2D = 1, Concatenation = 2, Conv2D = 3, DepthwiseConv2D = 4,
  Dequantize = 6, FullyConnected = 9, Logistic = 14, MaxPool2D = 17, Mul = 18, Relu = 19,
  Relu6 = 21, Reshape = 22, Softmax = 25, Custom = 32, Pad = 34, Gather = 36,
  Transpose = 39, Mean = 40, Sub = 41, Maximum = 55, Minimum = 57, Quantize = 114,
  HardSwish = 117,
};

enum class Activation : int8_t { None = 0, Relu = 1, ReluN1To1 = 2, Relu6 = 3 };
enum class Padding : int8_t { Same = 0, Valid = 1 };

// real = scale * (q - zero_point); per-channel when scale has more than one
// entry, along quantized_dimension.
struct Quantization {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int32_t quantized_dimension = 0;
  bool present() const { return !scale.empty(); }
};

struct Tensor {
  std::string name;
  TensorType type = TensorType::Float32;
  std::vector<int32_t> shape;
  uint32_t buffer = 0;  // index into Model::buffers; 0 = no data (an activation)
  Quantization quant;
};

// The builtin options of an operator. The writer emits only the fields of the
// options table that belongs to the op (Conv2DOptions for Conv2D, ...).
struct OpOptions {
  Padding padding = Padding::Valid;          // Conv2D, DepthwiseConv2D, pools
  int32_t stride_w = 1, stride_h = 1;        // Conv2D, DepthwiseConv2D, pools
  int32_t dilation_w = 1, dilation_h = 1;    // Conv2D, DepthwiseConv2D
  int32_t depth_multiplier = 1;              // DepthwiseConv2D
  int32_t filter_w = 1, filter_h = 1;        // pools
  Activation activation = Activation::None;  // ops with fused_activation_function
  int32_t axis = 0;                          // Concatenation, Gather
  float beta = 1.f;                          // Softmax
  bool keep_dims = false;                    // Mean
  std::vector<int32_t> new_shape;            // Reshape (also given as input 1)
};

struct Operator {
  Op op = Op::Add;
  std::string custom_code;               // Op::Custom only
  std::vector<int32_t> inputs, outputs;  // tensor indices; -1 = absent optional input
  OpOptions options;
  std::vector<uint8_t> custom_options;   // Op::Custom only (a FlexBuffer map)
};

struct Model {
  std::vector<Tensor> tensors;
  std::vector<Operator> operators;  // in execution order
  std::vector<int32_t> inputs, outputs;
  std::vector<std::vector<uint8_t>> buffers{{}};  // buffers[0]: the empty sentinel
  // Model.metadata entries (name -> bytes, each stored in its own buffer):
  // "vedge.detector", "vedge.quantization", "vedge.tflite", ...
  std::map<std::string, std::string> metadata;
  std::string description;

  // Appends and returns the index.
  int32_t add_buffer(std::vector<uint8_t> data) {
    buffers.push_back(std::move(data));
    return static_cast<int32_t>(buffers.size() - 1);
  }
  int32_t add_tensor(Tensor t) {
    tensors.push_back(std::move(t));
    return static_cast<int32_t>(tensors.size() - 1);
  }
  // A constant tensor owning a new buffer with `data` (little-endian bytes).
  int32_t add_constant(std::string name, TensorType type, std::vector<int32_t> shape,
                       std::vector<uint8_t> data, Quantization quant = {}) {
    Tensor t;
    t.name = std::move(name);
    t.type = type;
    t.shape = std::move(shape);
    t.buffer = static_cast<uint32_t>(add_buffer(std::move(data)));
    t.quant = std::move(quant);
    return add_tensor(std::move(t));
  }
  int32_t find_tensor(const std::string& name) const {  // -1 if absent
    for (size_t i = 0; i < tensors.size(); ++i)
      if (tensors[i].name == name) return static_cast<int32_t>(i);
    return -1;
  }
};

}  // namespace vedge::tflite
