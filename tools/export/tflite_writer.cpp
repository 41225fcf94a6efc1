// tflite_writer.cpp: tflite::Model -> TFLite FlatBuffer bytes (see
// tflite_writer.h; field numbers and option tables in docs/tflite-format.md).
// Tables are written with FlatBufferBuilder::StartTable/AddElement/AddOffset
// by vtable slot (4 + 2 * field number), as the importer reads them.
// Depends on tflite_model.h, error.h, files.h and Debian's flatbuffers
// headers; not on the graph IR or the runtime.
#include "tools/export/tflite_writer.h"

#include <flatbuffers/flatbuffers.h>
#include <flatbuffers/flexbuffers.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "runtime/error.h"
#include "runtime/files.h"
#include "runtime/tflite_schema.h"

namespace vedge::tflite {

namespace {

namespace fb = flatbuffers;

constexpr fb::voffset_t slot(int field_number) { return tflite_schema::field_slot(field_number); }

using namespace tflite_schema;  // the OptionsType values

// What the writer knows about each builtin op: its options table and
// input arity (max_in < 0: any number).
struct OpSpec {
  uint8_t options;
  int min_in, max_in;
};

const OpSpec* op_spec(Op op) {
  static const std::map<Op, OpSpec> specs = {
      {Op::Add, {kAddOptions, 2, 2}},
      {Op::AveragePool2D, {kPool2DOptions, 1, 1}},
      {Op::Concatenation, {kConcatenationOptions, 1, -1}},
      {Op::Conv2D, {kConv2DOptions, 2, 3}},
      {Op::DepthwiseConv2D, {kDepthwiseConv2DOptions, 2, 3}},
      {Op::Dequantize, {kDequantizeOptions, 1, 1}},
      {Op::FullyConnected, {kFullyConnectedOptions, 2, 3}},
      {Op::Logistic, {kNoOptions, 1, 1}},
      {Op::MaxPool2D, {kPool2DOptions, 1, 1}},
      {Op::Mul, {kMulOptions, 2, 2}},
      {Op::Relu, {kNoOptions, 1, 1}},
      {Op::Relu6, {kNoOptions, 1, 1}},
      {Op::Reshape, {kReshapeOptions, 1, 2}},
      {Op::Softmax, {kSoftmaxOptions, 1, 1}},
      {Op::Custom, {kNoOptions, 0, -1}},
      {Op::Pad, {kPadOptions, 2, 2}},
      {Op::Gather, {kGatherOptions, 2, 2}},
      {Op::Transpose, {kTransposeOptions, 2, 2}},
      {Op::Mean, {kReducerOptions, 2, 2}},
      {Op::Sub, {kSubOptions, 2, 2}},
      {Op::Maximum, {kMaximumMinimumOptions, 2, 2}},
      {Op::Minimum, {kMaximumMinimumOptions, 2, 2}},
      {Op::Quantize, {kQuantizeOptions, 1, 1}},
      {Op::HardSwish, {kHardSwishOptions, 1, 1}},
  };
  auto it = specs.find(op);
  return it == specs.end() ? nullptr : &it->second;
}

// Element size of a tensor type; 0 for a type the writer does not know.
size_t type_size(TensorType t) {
  switch (t) {
    case TensorType::Float32: case TensorType::Int32: return 4;
    case TensorType::Float16: return 2;
    case TensorType::UInt8: case TensorType::Int8: return 1;
    case TensorType::Int64: return 8;
  }
  return 0;
}

// Limits that keep every size computation far from overflow and the whole
// file below the 2 GB a FlatBuffer can address.
constexpr int64_t kMaxElements = int64_t{1} << 30;
constexpr uint64_t kMaxBytes = uint64_t{1} << 31;

std::string label(const Model& m, int32_t t) {
  return "tensor " + std::to_string(t) + " '" + m.tensors[static_cast<size_t>(t)].name + "'";
}

bool has_data(const Model& m, const Tensor& t) { return !m.buffers[t.buffer].empty(); }

// ---- validation ---------------------------------------------------------------

void validate_tensor(const Model& m, int32_t index) {
  const Tensor& t = m.tensors[static_cast<size_t>(index)];
  const std::string who = label(m, index);
  size_t esize = type_size(t.type);
  VEDGE_CHECK(esize != 0, "TFLite model: ", who, ": unsupported tensor type ",
              static_cast<int>(t.type));
  int64_t n = 1;
  for (int32_t d : t.shape) {
    VEDGE_CHECK(d >= 0, "TFLite model: ", who, ": dimension ", d,
                " (dynamic shapes are not supported)");
    n *= d;
    VEDGE_CHECK(n <= kMaxElements, "TFLite model: ", who, ": too many elements");
  }
  VEDGE_CHECK(t.buffer < m.buffers.size(), "TFLite model: ", who, ": buffer index ", t.buffer,
              " out of range (", m.buffers.size(), " buffers)");
  if (has_data(m, t)) {
    uint64_t want = static_cast<uint64_t>(n) * esize;
    VEDGE_CHECK(m.buffers[t.buffer].size() == want, "TFLite model: ", who, ": buffer ", t.buffer,
                " holds ", m.buffers[t.buffer].size(), " bytes, shape and type need ", want);
  }
  const Quantization& q = t.quant;
  if (q.present() || !q.zero_point.empty()) {
    VEDGE_CHECK(q.zero_point.size() == q.scale.size(), "TFLite model: ", who, ": ",
                q.scale.size(), " scales but ", q.zero_point.size(), " zero points");
    for (float s : q.scale)
      VEDGE_CHECK(std::isfinite(s) && s > 0.f, "TFLite model: ", who,
                  ": quantization scale ", s, " is not positive and finite");
    if (q.scale.size() > 1) {
      int32_t qd = q.quantized_dimension;
      VEDGE_CHECK(qd >= 0 && static_cast<size_t>(qd) < t.shape.size() &&
                      static_cast<size_t>(t.shape[static_cast<size_t>(qd)]) == q.scale.size(),
                  "TFLite model: ", who, ": ", q.scale.size(),
                  " per-channel scales do not match dimension ", qd, " of the shape");
    }
  }
}

void validate_operator(const Model& m, size_t index, std::vector<char>& ready) {
  const Operator& o = m.operators[index];
  const OpSpec* spec = op_spec(o.op);
  VEDGE_CHECK(spec, "TFLite model: operator ", index, ": builtin code ",
              static_cast<int>(o.op), " is not supported by the writer");
  std::string who = "TFLite model: operator " + std::to_string(index) + " (" +
                    (o.op == Op::Custom ? o.custom_code : op_name(o.op)) + ")";
  if (o.op == Op::Custom) {
    VEDGE_CHECK(!o.custom_code.empty(), who, ": a CUSTOM operator needs a custom code");
    VEDGE_CHECK(o.custom_options.empty() ||
                    flexbuffers::VerifyBuffer(o.custom_options.data(), o.custom_options.size()),
                who, ": custom_options is not a valid FlexBuffer");
  } else {
    VEDGE_CHECK(o.custom_code.empty() && o.custom_options.empty(), who,
                ": custom code/options on a builtin operator");
  }
  int n_in = static_cast<int>(o.inputs.size());
  VEDGE_CHECK(n_in >= spec->min_in && (spec->max_in < 0 || n_in <= spec->max_in), who,
              ": ", n_in, " inputs (expected ", spec->min_in,
              spec->max_in < 0 ? std::string(" or more")
                               : (spec->max_in == spec->min_in
                                      ? std::string()
                                      : ".." + std::to_string(spec->max_in)),
              ")");
  VEDGE_CHECK(!o.outputs.empty(), who, ": no outputs");
  const int32_t nt = static_cast<int32_t>(m.tensors.size());
  for (size_t i = 0; i < o.inputs.size(); ++i) {
    int32_t t = o.inputs[i];
    if (t == -1 && (i > 0 || o.op == Op::Custom)) continue;  // an absent optional input
    VEDGE_CHECK(t >= 0 && t < nt, who, ": input ", i, " is tensor index ", t,
                " (the model has ", nt, " tensors)");
    VEDGE_CHECK(ready[static_cast<size_t>(t)], who, ": input ", i, " (", label(m, t),
                ") is read before any operator writes it");
  }
  for (size_t i = 0; i < o.outputs.size(); ++i) {
    int32_t t = o.outputs[i];
    VEDGE_CHECK(t >= 0 && t < nt, who, ": output ", i, " is tensor index ", t,
                " (the model has ", nt, " tensors)");
    VEDGE_CHECK(!ready[static_cast<size_t>(t)], who, ": output ", i, " (", label(m, t),
                ") is a constant, a model input or already written");
    ready[static_cast<size_t>(t)] = 1;
  }
  if (o.op == Op::Conv2D || o.op == Op::DepthwiseConv2D) {
    // TFLite's convolution kernels refuse a missing bias (write zeros).
    VEDGE_CHECK(o.inputs.size() == 3 && o.inputs[2] >= 0, who,
                ": needs a bias input (TFLite's kernels require one)");
    const Tensor& x = m.tensors[static_cast<size_t>(o.inputs[0])];
    const Tensor& w = m.tensors[static_cast<size_t>(o.inputs[1])];
    VEDGE_CHECK(x.shape.size() == 4 && w.shape.size() == 4, who,
                ": input and filter must be 4-D (NHWC, OHWI)");
    VEDGE_CHECK(o.op == Op::Conv2D || w.shape[0] == 1, who,
                ": a depthwise filter is [1, KH, KW, C*M]");
  }
  const OpOptions& p = o.options;
  if (spec->options == kConv2DOptions || spec->options == kDepthwiseConv2DOptions ||
      spec->options == kPool2DOptions) {
    VEDGE_CHECK(p.stride_w > 0 && p.stride_h > 0 && p.dilation_w > 0 && p.dilation_h > 0 &&
                    p.filter_w > 0 && p.filter_h > 0,
                who, ": strides, dilations and filter sizes must be positive");
  }
  if (o.op == Op::DepthwiseConv2D)
    VEDGE_CHECK(p.depth_multiplier > 0, who, ": depth_multiplier must be positive");
}

void validate(const Model& m) {
  VEDGE_CHECK(!m.buffers.empty(), "TFLite model: no buffers (buffer 0 is the empty sentinel)");
  VEDGE_CHECK(m.buffers[0].empty(), "TFLite model: buffer 0 must be empty (it holds ",
              m.buffers[0].size(), " bytes)");
  uint64_t total = 0;
  for (const auto& b : m.buffers) total += b.size() + 16;
  for (const auto& [name, value] : m.metadata) {
    VEDGE_CHECK(!name.empty(), "TFLite model: a metadata entry has an empty name");
    total += value.size() + 16;
  }
  VEDGE_CHECK(total < kMaxBytes - (uint64_t{1} << 24),
              "TFLite model: ", total, " bytes of buffers do not fit one FlatBuffer (2 GB)");
  const int32_t nt = static_cast<int32_t>(m.tensors.size());
  for (int32_t t = 0; t < nt; ++t) validate_tensor(m, t);

  // Data flow in execution order: constants and model inputs are ready at
  // the start, every other tensor once an operator has written it.
  std::vector<char> ready(m.tensors.size(), 0);
  for (int32_t t = 0; t < nt; ++t) ready[static_cast<size_t>(t)] = has_data(m, m.tensors[static_cast<size_t>(t)]);
  VEDGE_CHECK(!m.inputs.empty() && !m.outputs.empty(), "TFLite model: no inputs or no outputs");
  for (int32_t t : m.inputs) {
    VEDGE_CHECK(t >= 0 && t < nt, "TFLite model: model input is tensor index ", t,
                " (the model has ", nt, " tensors)");
    VEDGE_CHECK(!ready[static_cast<size_t>(t)], "TFLite model: model input ", label(m, t),
                " is a constant or listed twice");
    ready[static_cast<size_t>(t)] = 1;
  }
  for (size_t i = 0; i < m.operators.size(); ++i) validate_operator(m, i, ready);
  for (int32_t t : m.outputs) {
    VEDGE_CHECK(t >= 0 && t < nt, "TFLite model: model output is tensor index ", t,
                " (the model has ", nt, " tensors)");
    VEDGE_CHECK(ready[static_cast<size_t>(t)], "TFLite model: model output ", label(m, t),
                " is never written");
  }
}

// ---- operator versions -----------------------------------------------------------

// The published op-version rules (tensorflow/lite/tools/versioning), for
// the types and options this writer can express.
int version_of(const Model& m, const Operator& o) {
  auto tensor = [&](const std::vector<int32_t>& v, size_t i) -> const Tensor* {
    return i < v.size() && v[i] >= 0 ? &m.tensors[static_cast<size_t>(v[i])] : nullptr;
  };
  const Tensor* in0 = tensor(o.inputs, 0);
  const Tensor* in1 = tensor(o.inputs, 1);
  const Tensor* out0 = tensor(o.outputs, 0);
  auto type_is = [](const Tensor* t, TensorType ty) { return t && t->type == ty; };
  const TensorType F32 = TensorType::Float32, I8 = TensorType::Int8;
  const bool int8_io = type_is(in0, I8) && type_is(in1, I8) && type_is(out0, I8);
  const bool hybrid = type_is(in0, F32) && type_is(in1, I8) && type_is(out0, F32);
  const bool per_channel = in1 && in1->quant.scale.size() > 1;
  auto max_rank = [&]() {
    size_t r = 0;
    for (size_t i = 0; i < o.inputs.size(); ++i)
      if (const Tensor* t = tensor(o.inputs, i)) r = std::max(r, t->shape.size());
    return r;
  };
  auto broadcast_above_4d = [&]() {
    return in0 && in1 && in0->shape != in1->shape && max_rank() > 4;
  };
  switch (o.op) {
    case Op::Conv2D:
      if (in0 && in1 && in0->shape.size() == 4 && in1->shape.size() == 4 &&
          in0->shape[3] != in1->shape[3])
        return 6;  // grouped convolution
      if (int8_io) return 3;
      if (hybrid) return per_channel ? 5 : 2;
      return 1;
    case Op::DepthwiseConv2D:
      if (hybrid) return per_channel ? 6 : 4;
      if (int8_io) return 3;
      if (o.options.dilation_w != 1 || o.options.dilation_h != 1) return 2;
      return 1;
    case Op::FullyConnected:
      if (o.inputs.size() == 2) return 6;
      if (int8_io) return 4;
      if (hybrid) return 3;
      return 1;
    case Op::Mul:
      if (type_is(in0, TensorType::Int64)) return 5;
      if (in0 && in1 && out0 && in0->quant.scale.size() == 1 && in1->quant.scale.size() == 1 &&
          out0->quant.scale.size() == 1 &&
          double(in0->quant.scale[0]) * in1->quant.scale[0] / out0->quant.scale[0] >= 1.0)
        return 3;
      return type_is(in0, I8) ? 2 : 1;
    case Op::Add:
      if (type_is(in0, TensorType::Int64)) return 4;
      return type_is(in0, I8) ? 2 : 1;
    case Op::Sub:
      if (type_is(in0, TensorType::Int64)) return 4;
      if (broadcast_above_4d()) return 3;
      return type_is(in0, I8) ? 2 : 1;
    case Op::Maximum:
    case Op::Minimum:
      if (broadcast_above_4d()) return 3;
      return type_is(in0, I8) ? 2 : 1;
    case Op::Transpose:
      if (in0 && in0->shape.size() > 5) return 6;
      if (in0 && in0->shape.size() > 4) return 4;
      return type_is(in0, I8) ? 2 : 1;
    case Op::Pad:
      if (in0 && in0->shape.size() > 4) return 4;
      return type_is(in0, I8) ? 2 : 1;
    case Op::Relu:
      return type_is(in0, I8) || type_is(in0, TensorType::UInt8) ? 2 : 1;
    case Op::Dequantize:
      if (type_is(in0, TensorType::Float16)) return 3;
      if (type_is(in0, I8)) return in0->quant.scale.size() > 1 ? 5 : 2;
      return 1;
    case Op::Quantize:
      return out0 && out0->quant.scale.size() > 1 ? 3 : 1;
    case Op::AveragePool2D:
    case Op::MaxPool2D:
    case Op::Gather:
    case Op::Logistic:
    case Op::Concatenation:
    case Op::Softmax:
    case Op::Mean:
    case Op::Relu6:
      return type_is(in0, I8) ? 2 : 1;
    case Op::Reshape:
    case Op::HardSwish:
    case Op::Custom:
      return 1;
  }
  return 1;
}

// ---- serialization ------------------------------------------------------------

class Writer {
 public:
  explicit Writer(const Model& m) : m_(m) {}
  std::string run();

 private:
  using Off = fb::Offset<void>;
  Off options_table(const Operator& o, uint8_t type);
  Off quantization(const Quantization& q);
  Off tensor(const Tensor& t);
  Off op(const Operator& o, uint32_t opcode_index);
  Off opcode(Op op, const std::string& custom_code, int version);
  Off buffer(const uint8_t* data, size_t size);

  const Model& m_;
  fb::FlatBufferBuilder b_{1 << 16};
};

Writer::Off Writer::options_table(const Operator& o, uint8_t type) {
  const OpOptions& p = o.options;
  auto act = [](Activation a) { return static_cast<int8_t>(a); };
  auto pad = [](Padding x) { return static_cast<int8_t>(x); };
  // Vectors go before the table that refers to them.
  fb::Offset<fb::Vector<int32_t>> new_shape;
  if (type == kReshapeOptions && !p.new_shape.empty()) new_shape = b_.CreateVector(p.new_shape);
  fb::uoffset_t s = b_.StartTable();
  switch (type) {
    case kConv2DOptions:
      b_.AddElement<int8_t>(slot(0), pad(p.padding), 0);
      b_.AddElement<int32_t>(slot(1), p.stride_w, 0);
      b_.AddElement<int32_t>(slot(2), p.stride_h, 0);
      b_.AddElement<int8_t>(slot(3), act(p.activation), 0);
      b_.AddElement<int32_t>(slot(4), p.dilation_w, 1);
      b_.AddElement<int32_t>(slot(5), p.dilation_h, 1);
      break;
    case kDepthwiseConv2DOptions:
      b_.AddElement<int8_t>(slot(0), pad(p.padding), 0);
      b_.AddElement<int32_t>(slot(1), p.stride_w, 0);
      b_.AddElement<int32_t>(slot(2), p.stride_h, 0);
      b_.AddElement<int32_t>(slot(3), p.depth_multiplier, 0);
      b_.AddElement<int8_t>(slot(4), act(p.activation), 0);
      b_.AddElement<int32_t>(slot(5), p.dilation_w, 1);
      b_.AddElement<int32_t>(slot(6), p.dilation_h, 1);
      break;
    case kPool2DOptions:
      b_.AddElement<int8_t>(slot(0), pad(p.padding), 0);
      b_.AddElement<int32_t>(slot(1), p.stride_w, 0);
      b_.AddElement<int32_t>(slot(2), p.stride_h, 0);
      b_.AddElement<int32_t>(slot(3), p.filter_w, 0);
      b_.AddElement<int32_t>(slot(4), p.filter_h, 0);
      b_.AddElement<int8_t>(slot(5), act(p.activation), 0);
      break;
    case kFullyConnectedOptions:  // weights_format DEFAULT, keep_num_dims false
    case kAddOptions:
    case kMulOptions:
    case kSubOptions:
      b_.AddElement<int8_t>(slot(0), act(p.activation), 0);
      break;
    case kSoftmaxOptions:
      b_.AddElement<float>(slot(0), p.beta, 0.f);
      break;
    case kConcatenationOptions:
      b_.AddElement<int32_t>(slot(0), p.axis, 0);
      b_.AddElement<int8_t>(slot(1), act(p.activation), 0);
      break;
    case kReshapeOptions:
      if (!new_shape.IsNull()) b_.AddOffset(slot(0), new_shape);
      break;
    case kGatherOptions:  // batch_dims 0
      b_.AddElement<int32_t>(slot(0), p.axis, 0);
      break;
    case kReducerOptions:
      b_.AddElement<uint8_t>(slot(0), p.keep_dims ? 1 : 0, 0);
      break;
    default:  // tables without fields: Pad, Transpose, (De)Quantize, Max/Min, HardSwish
      break;
  }
  return Off(b_.EndTable(s));
}

Writer::Off Writer::quantization(const Quantization& q) {
  auto scale = b_.CreateVector(q.scale);
  auto zp = b_.CreateVector(q.zero_point);
  fb::uoffset_t s = b_.StartTable();
  b_.AddOffset(slot(2), scale);
  b_.AddOffset(slot(3), zp);
  b_.AddElement<int32_t>(slot(6), q.quantized_dimension, 0);
  return Off(b_.EndTable(s));
}

Writer::Off Writer::tensor(const Tensor& t) {
  auto shape = b_.CreateVector(t.shape);
  auto name = b_.CreateString(t.name);
  Off quant;
  if (t.quant.present()) quant = quantization(t.quant);
  fb::uoffset_t s = b_.StartTable();
  b_.AddOffset(slot(0), shape);
  b_.AddElement<int8_t>(slot(1), static_cast<int8_t>(t.type), 0);
  b_.AddElement<uint32_t>(slot(2), has_data(m_, t) ? t.buffer : 0u, 0);
  b_.AddOffset(slot(3), name);
  if (!quant.IsNull()) b_.AddOffset(slot(4), quant);
  return Off(b_.EndTable(s));
}

Writer::Off Writer::op(const Operator& o, uint32_t opcode_index) {
  auto in = b_.CreateVector(o.inputs);
  auto out = b_.CreateVector(o.outputs);
  uint8_t type = op_spec(o.op)->options;
  Off opts;
  if (type != kNoOptions) opts = options_table(o, type);
  fb::Offset<fb::Vector<uint8_t>> custom;
  if (!o.custom_options.empty()) custom = b_.CreateVector(o.custom_options);
  fb::uoffset_t s = b_.StartTable();
  b_.AddElement<uint32_t>(slot(0), opcode_index, 0);
  b_.AddOffset(slot(1), in);
  b_.AddOffset(slot(2), out);
  if (type != kNoOptions) {
    b_.AddElement<uint8_t>(slot(3), type, 0);
    b_.AddOffset(slot(4), opts);
  }
  if (!custom.IsNull()) b_.AddOffset(slot(5), custom);  // custom_options_format 0 = FLEXBUFFERS
  return Off(b_.EndTable(s));
}

Writer::Off Writer::opcode(Op op, const std::string& custom_code, int version) {
  fb::Offset<fb::String> cc;
  if (op == Op::Custom) cc = b_.CreateString(custom_code);
  int32_t code = static_cast<int32_t>(op);
  fb::uoffset_t s = b_.StartTable();
  // Codes above 126 only fit the int field 3; field 0 then holds 127
  // (PLACEHOLDER_FOR_GREATER_OP_CODES), as readers take the larger of both.
  b_.AddElement<int8_t>(slot(0), static_cast<int8_t>(code < 127 ? code : 127), 0);
  if (!cc.IsNull()) b_.AddOffset(slot(1), cc);
  b_.AddElement<int32_t>(slot(2), version, 1);
  b_.AddElement<int32_t>(slot(3), code, 0);
  return Off(b_.EndTable(s));
}

Writer::Off Writer::buffer(const uint8_t* data, size_t size) {
  fb::Offset<fb::Vector<uint8_t>> v;
  if (size > 0) {
    b_.ForceVectorAlignment(size, 1, 16);
    v = b_.CreateVector(data, size);
  }
  fb::uoffset_t s = b_.StartTable();
  if (size > 0) b_.AddOffset(slot(0), v);
  return Off(b_.EndTable(s));
}

std::string Writer::run() {
  // Buffers first: they end up at the back of the file, after the tables.
  std::vector<Off> bufs;
  for (const auto& d : m_.buffers) bufs.push_back(buffer(d.data(), d.size()));
  std::vector<std::pair<std::string, uint32_t>> meta;
  for (const auto& [name, value] : m_.metadata) {
    meta.emplace_back(name, static_cast<uint32_t>(bufs.size()));
    bufs.push_back(buffer(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  }

  // Operator codes, deduplicated by (op, custom code, version).
  std::map<std::tuple<int32_t, std::string, int>, uint32_t> code_index;
  std::vector<std::tuple<Op, std::string, int>> codes;
  std::vector<uint32_t> op_code(m_.operators.size());
  for (size_t i = 0; i < m_.operators.size(); ++i) {
    const Operator& o = m_.operators[i];
    int v = version_of(m_, o);
    auto key = std::make_tuple(static_cast<int32_t>(o.op), o.custom_code, v);
    auto it = code_index.find(key);
    if (it == code_index.end()) {
      it = code_index.emplace(key, static_cast<uint32_t>(codes.size())).first;
      codes.emplace_back(o.op, o.custom_code, v);
    }
    op_code[i] = it->second;
  }

  std::vector<Off> tensors, ops, opcodes, metas;
  for (const Tensor& t : m_.tensors) tensors.push_back(tensor(t));
  for (size_t i = 0; i < m_.operators.size(); ++i) ops.push_back(op(m_.operators[i], op_code[i]));
  auto tvec = b_.CreateVector(tensors);
  auto ovec = b_.CreateVector(ops);
  auto ins = b_.CreateVector(m_.inputs);
  auto outs = b_.CreateVector(m_.outputs);
  auto sg_name = b_.CreateString("main");
  fb::uoffset_t s = b_.StartTable();
  b_.AddOffset(slot(0), tvec);
  b_.AddOffset(slot(1), ins);
  b_.AddOffset(slot(2), outs);
  b_.AddOffset(slot(3), ovec);
  b_.AddOffset(slot(4), sg_name);
  Off subgraph(b_.EndTable(s));

  for (const auto& [op, cc, v] : codes) opcodes.push_back(opcode(op, cc, v));
  for (const auto& [name, index] : meta) {
    auto n = b_.CreateString(name);
    fb::uoffset_t ms = b_.StartTable();
    b_.AddOffset(slot(0), n);
    b_.AddElement<uint32_t>(slot(1), index, 0);
    metas.push_back(Off(b_.EndTable(ms)));
  }
  auto cvec = b_.CreateVector(opcodes);
  auto svec = b_.CreateVector(std::vector<Off>{subgraph});
  auto bvec = b_.CreateVector(bufs);
  fb::Offset<fb::Vector<Off>> mvec;
  if (!metas.empty()) mvec = b_.CreateVector(metas);
  fb::Offset<fb::String> desc;
  if (!m_.description.empty()) desc = b_.CreateString(m_.description);
  s = b_.StartTable();
  b_.AddElement<uint32_t>(slot(0), 3, 0);  // schema version
  b_.AddOffset(slot(1), cvec);
  b_.AddOffset(slot(2), svec);
  if (!desc.IsNull()) b_.AddOffset(slot(3), desc);
  b_.AddOffset(slot(4), bvec);
  if (!mvec.IsNull()) b_.AddOffset(slot(6), mvec);
  b_.Finish(Off(b_.EndTable(s)), "TFL3");
  return std::string(reinterpret_cast<const char*>(b_.GetBufferPointer()), b_.GetSize());
}

}  // namespace

std::string op_name(Op op) { return tflite_schema::builtin_op_name(static_cast<int32_t>(op)); }

int op_version(const Model& m, size_t op_index) {
  validate(m);
  VEDGE_CHECK(op_index < m.operators.size(), "TFLite model: operator ", op_index,
              " out of range");
  return version_of(m, m.operators[op_index]);
}

std::string serialize(const Model& m) {
  validate(m);
  return Writer(m).run();
}

void write_file(const Model& m, const std::string& path) {
  std::string bytes;
  try {
    bytes = serialize(m);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  write_text_file_atomic(path, bytes);
}

}  // namespace vedge::tflite
