// tflite_import.cpp: TFLite flatbuffer -> canonical Graph (see
// tflite_import.h for the contract and docs/tflite-format.md for the schema
// subset). The schema is not generated code: each table below is a thin
// view over flatbuffers::Table that reads fields by their vtable slot
// (4 + 2 * field number) and verifies exactly the fields it reads.
// Depends on graph.h, shape_inference.h, passes.h, tensor.h and Debian's
// flatbuffers headers; no TensorFlow.
#include "runtime/tflite_import.h"

#include <flatbuffers/flatbuffers.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "runtime/error.h"
#include "runtime/passes.h"
#include "runtime/shape_inference.h"
#include "runtime/tflite_hardswish.h"
#include "runtime/tflite_schema.h"

namespace vedge {

namespace {

namespace fb = flatbuffers;

// ---- schema subset ----------------------------------------------------------

constexpr fb::voffset_t field(int number) { return tflite_schema::field_slot(number); }

template <class T>
using Vec = fb::Vector<T>;
template <class T>
using TableVec = fb::Vector<fb::Offset<T>>;

// Verifies that the vector at `number` (if present) lies inside the buffer
// and that its elements are aligned for T (the flatbuffers verifier checks
// only the 4-byte length field; an 8-byte element vector can still be
// misaligned in a corrupt file).
template <class T, class Tab>
bool verify_vec(const Tab* t, fb::Verifier& v, int number) {
  if (!t->VerifyOffset(v, field(number))) return false;
  const Vec<T>* p = t->template GetPointer<const Vec<T>*>(field(number));
  return v.VerifyVector(p) &&
         (!p || reinterpret_cast<std::uintptr_t>(p->Data()) % alignof(T) == 0);
}
template <class T, class Tab>
bool verify_tables(const Tab* t, fb::Verifier& v, int number) {
  if (!t->VerifyOffset(v, field(number))) return false;  // before reading the offset
  auto* p = t->template GetPointer<const TableVec<T>*>(field(number));
  return v.VerifyVector(p) && v.VerifyVectorOfTables(p);
}

struct QuantDef : public fb::Table {  // QuantizationParameters
  const Vec<float>* scale() const { return GetPointer<const Vec<float>*>(field(2)); }
  const Vec<int64_t>* zero_point() const { return GetPointer<const Vec<int64_t>*>(field(3)); }
  uint8_t details_type() const { return GetField<uint8_t>(field(4), 0); }
  int32_t quantized_dimension() const { return GetField<int32_t>(field(6), 0); }
  bool Verify(fb::Verifier& v) const {
    return VerifyTableStart(v) && verify_vec<float>(this, v, 2) &&
           verify_vec<int64_t>(this, v, 3) && VerifyField<uint8_t>(v, field(4), 1) &&
           VerifyField<int32_t>(v, field(6), 4) && v.EndTable();
  }
};

struct TensorDef : public fb::Table {  // Tensor
  const Vec<int32_t>* shape() const { return GetPointer<const Vec<int32_t>*>(field(0)); }
  int8_t type() const { return GetField<int8_t>(field(1), 0); }
  uint32_t buffer() const { return GetField<uint32_t>(field(2), 0); }
  const fb::String* name() const { return GetPointer<const fb::String*>(field(3)); }
  const QuantDef* quantization() const { return GetPointer<const QuantDef*>(field(4)); }
  bool has_sparsity() const { return CheckField(field(6)); }
  bool Verify(fb::Verifier& v) const {
    return VerifyTableStart(v) && verify_vec<int32_t>(this, v, 0) &&
           VerifyField<int8_t>(v, field(1), 1) && VerifyField<uint32_t>(v, field(2), 4) &&
           VerifyOffset(v, field(3)) && v.VerifyString(name()) && VerifyOffset(v, field(4)) &&
           v.VerifyTable(quantization()) && v.EndTable();
  }
};

// Builtin options: every option table this importer reads holds scalars
// only; kOptionFields lists their byte sizes by field number so that the
// verifier checks each one the importer may read.
using namespace tflite_schema;  // the OptionsType values

const std::vector<int>* option_field_sizes(uint8_t type) {
  static const std::map<uint8_t, std::vector<int>> sizes = {
      {kConv2DOptions, {1, 4, 4, 1, 4, 4}},
      {kDepthwiseConv2DOptions, {1, 4, 4, 4, 1, 4, 4}},
      {kPool2DOptions, {1, 4, 4, 4, 4, 1}},
      {kFullyConnectedOptions, {1, 1, 1, 1}},
      {kSoftmaxOptions, {4}},
      {kConcatenationOptions, {4, 1}},
      {kAddOptions, {1}},
      {kMulOptions, {1}},
      {kSubOptions, {1}},
      {kDivOptions, {1}},
  };
  auto it = sizes.find(type);
  return it == sizes.end() ? nullptr : &it->second;
}

struct Options : public fb::Table {  // any builtin options table
  int32_t i32(int number, int32_t def) const { return GetField<int32_t>(field(number), def); }
  int8_t i8(int number, int8_t def) const { return GetField<int8_t>(field(number), def); }
  float f32(int number, float def) const { return GetField<float>(field(number), def); }
  // Checked by Operator::Verify with the options type (not by VerifyTable).
  bool verify_as(fb::Verifier& v, uint8_t type) const {
    if (!VerifyTableStart(v)) return false;
    if (const std::vector<int>* sz = option_field_sizes(type))
      for (size_t i = 0; i < sz->size(); ++i) {
        bool ok = (*sz)[i] == 1 ? VerifyField<uint8_t>(v, field(static_cast<int>(i)), 1)
                                : VerifyField<uint32_t>(v, field(static_cast<int>(i)), 4);
        if (!ok) return false;
      }
    return v.EndTable();
  }
};

struct OperatorDef : public fb::Table {  // Operator
  uint32_t opcode_index() const { return GetField<uint32_t>(field(0), 0); }
  const Vec<int32_t>* inputs() const { return GetPointer<const Vec<int32_t>*>(field(1)); }
  const Vec<int32_t>* outputs() const { return GetPointer<const Vec<int32_t>*>(field(2)); }
  uint8_t options_type() const { return GetField<uint8_t>(field(3), 0); }
  const Options* options() const { return GetPointer<const Options*>(field(4)); }
  bool Verify(fb::Verifier& v) const {
    return VerifyTableStart(v) && VerifyField<uint32_t>(v, field(0), 4) &&
           verify_vec<int32_t>(this, v, 1) && verify_vec<int32_t>(this, v, 2) &&
           VerifyField<uint8_t>(v, field(3), 1) && VerifyOffset(v, field(4)) &&
           (!options() || options()->verify_as(v, options_type())) && v.EndTable();
  }
};

struct OperatorCodeDef : public fb::Table {  // OperatorCode
  int8_t deprecated_builtin_code() const { return GetField<int8_t>(field(0), 0); }
  const fb::String* custom_code() const { return GetPointer<const fb::String*>(field(1)); }
  int32_t version() const { return GetField<int32_t>(field(2), 1); }
  int32_t builtin_code() const { return GetField<int32_t>(field(3), 0); }
  // The extended field wins when it is set (codes >= 127 only fit there).
  int32_t code() const { return std::max<int32_t>(deprecated_builtin_code(), builtin_code()); }
  bool Verify(fb::Verifier& v) const {
    return VerifyTableStart(v) && VerifyField<int8_t>(v, field(0), 1) &&
           VerifyOffset(v, field(1)) && v.VerifyString(custom_code()) &&
           VerifyField<int32_t>(v, field(2), 4) && VerifyField<int32_t>(v, field(3), 4) &&
           v.EndTable();
  }
};

struct SubGraphDef : public fb::Table {  // SubGraph
  const TableVec<TensorDef>* tensors() const {
    return GetPointer<const TableVec<TensorDef>*>(field(0));
  }
  const Vec<int32_t>* inputs() const { return GetPointer<const Vec<int32_t>*>(field(1)); }
  const Vec<int32_t>* outputs() const { return GetPointer<const Vec<int32_t>*>(field(2)); }
  const TableVec<OperatorDef>* operators() const {
    return GetPointer<const TableVec<OperatorDef>*>(field(3));
  }
  bool Verify(fb::Verifier& v) const {
    return VerifyTableStart(v) && verify_tables<TensorDef>(this, v, 0) &&
           verify_vec<int32_t>(this, v, 1) && verify_vec<int32_t>(this, v, 2) &&
           verify_tables<OperatorDef>(this, v, 3) && v.EndTable();
  }
};

struct BufferDef : public fb::Table {  // Buffer
  const Vec<uint8_t>* data() const { return GetPointer<const Vec<uint8_t>*>(field(0)); }
  uint64_t offset() const { return GetField<uint64_t>(field(1), 0); }
  uint64_t size() const { return GetField<uint64_t>(field(2), 0); }
  bool Verify(fb::Verifier& v) const {
    return VerifyTableStart(v) && verify_vec<uint8_t>(this, v, 0) &&
           VerifyField<uint64_t>(v, field(1), 8) && VerifyField<uint64_t>(v, field(2), 8) &&
           v.EndTable();
  }
};

struct MetadataDef : public fb::Table {  // Metadata
  const fb::String* name() const { return GetPointer<const fb::String*>(field(0)); }
  uint32_t buffer() const { return GetField<uint32_t>(field(1), 0); }
  bool Verify(fb::Verifier& v) const {
    return VerifyTableStart(v) && VerifyOffset(v, field(0)) && v.VerifyString(name()) &&
           VerifyField<uint32_t>(v, field(1), 4) && v.EndTable();
  }
};

struct ModelDef : public fb::Table {  // Model (root)
  uint32_t version() const { return GetField<uint32_t>(field(0), 0); }
  const TableVec<OperatorCodeDef>* operator_codes() const {
    return GetPointer<const TableVec<OperatorCodeDef>*>(field(1));
  }
  const TableVec<SubGraphDef>* subgraphs() const {
    return GetPointer<const TableVec<SubGraphDef>*>(field(2));
  }
  const fb::String* description() const { return GetPointer<const fb::String*>(field(3)); }
  const TableVec<BufferDef>* buffers() const {
    return GetPointer<const TableVec<BufferDef>*>(field(4));
  }
  const TableVec<MetadataDef>* metadata() const {
    return GetPointer<const TableVec<MetadataDef>*>(field(6));
  }
  bool Verify(fb::Verifier& v) const {
    return VerifyTableStart(v) && VerifyField<uint32_t>(v, field(0), 4) &&
           verify_tables<OperatorCodeDef>(this, v, 1) && verify_tables<SubGraphDef>(this, v, 2) &&
           VerifyOffset(v, field(3)) && v.VerifyString(description()) &&
           verify_tables<BufferDef>(this, v, 4) && verify_tables<MetadataDef>(this, v, 6) &&
           v.EndTable();
  }
};

// BuiltinOperator codes used here.
enum BuiltinOp : int32_t {
  kAdd = 0,
  kAveragePool2D = 1,
  kConcatenation = 2,
  kConv2D = 3,
  kDepthwiseConv2D = 4,
  kDequantize = 6,
  kFullyConnected = 9,
  kLogistic = 14,
  kMaxPool2D = 17,
  kMul = 18,
  kRelu = 19,
  kReluN1To1 = 20,
  kRelu6 = 21,
  kReshape = 22,
  kSoftmax = 25,
  kCustom = 32,
  kPad = 34,
  kMean = 40,
  kSub = 41,
  kDiv = 42,
  kSqueeze = 43,
  kTranspose = 39,
  kQuantize = 114,
  kHardSwish = 117,
};

// TensorType values and their element sizes (0: not a numeric type we read).
const char* type_name(int8_t t) {
  static const char* names[] = {"float32", "float16", "int32",     "uint8",   "int64",
                                "string",  "bool",    "int16",     "complex64", "int8",
                                "float64"};
  return t >= 0 && t <= 10 ? names[t] : "unknown type";
}
enum TensorType : int8_t {
  kFloat32 = 0,
  kFloat16 = 1,
  kInt32 = 2,
  kUInt8 = 3,
  kInt64 = 4,
  kInt16 = 7,
  kInt8 = 9,
};
size_t type_size(int8_t t) {
  switch (t) {
    case kFloat32: case kInt32: return 4;
    case kFloat16: case kInt16: return 2;
    case kUInt8: case kInt8: return 1;
    case kInt64: return 8;
    default: return 0;
  }
}
// Types an activation may have: the graph computes them all in float.
bool is_activation_type(int8_t t) {
  return t == kFloat32 || t == kFloat16 || t == kUInt8 || t == kInt8 || t == kInt16;
}

// Activation function codes (ActivationFunctionType).
enum Activation : int8_t { kActNone = 0, kActRelu = 1, kActReluN1To1 = 2, kActRelu6 = 3 };

constexpr int64_t kMaxDim = int64_t{1} << 24;
constexpr int64_t kMaxElements = int64_t{1} << 26;

// Element count above kMaxElements (computed without overflow).
bool too_many_elements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0 || d > kMaxElements) return true;
    n *= d;
    if (n > kMaxElements) return true;
  }
  return false;
}

// NHWC <-> NCHW.
const std::vector<int64_t> kToNchw = {0, 3, 1, 2};
const std::vector<int64_t> kToNhwc = {0, 2, 3, 1};

// A 4-D tensor of any dtype with its axes permuted (out axis i = in axis perm[i]).
Tensor permute4(const Tensor& t, const std::vector<int64_t>& perm) {
  const Shape& s = t.shape();
  Shape os = {s[perm[0]], s[perm[1]], s[perm[2]], s[perm[3]]};
  Tensor out(t.dtype(), os);
  const size_t es = dtype_size(t.dtype());
  const uint8_t* src = static_cast<const uint8_t*>(t.raw());
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  int64_t st[4] = {s[1] * s[2] * s[3], s[2] * s[3], s[3], 1};
  int64_t i = 0;
  for (int64_t a = 0; a < os[0]; ++a)
    for (int64_t b = 0; b < os[1]; ++b)
      for (int64_t c = 0; c < os[2]; ++c)
        for (int64_t d = 0; d < os[3]; ++d, ++i) {
          const int64_t k = a * st[perm[0]] + b * st[perm[1]] + c * st[perm[2]] + d * st[perm[3]];
          std::memcpy(dst + i * es, src + k * es, es);
        }
  return out;
}

// Strings from the file end up in one-line error messages.
std::string printable(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

// ---- the verified file ----------------------------------------------------------
// Shared by read_tflite_info and the importer: verification, checked tensor
// and buffer lookups, metadata, the operator listing.

const ModelDef& verify_model(const std::string& src, const uint8_t* data, size_t size) {
  if (size < 8 || std::memcmp(data + 4, "TFL3", 4) != 0)
    fail(src, ": not a TFLite model (no \"TFL3\" file identifier)");
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) fail(src, ": file is too large (", size, " bytes)");
  fb::Verifier verifier(data, size, /*max_depth=*/64, /*max_tables=*/1000000);
  if (!verifier.VerifyBuffer<ModelDef>("TFL3"))
    fail(src, ": not a valid TFLite model (flatbuffer verification failed: truncated or corrupt file)");
  const ModelDef* m = fb::GetRoot<ModelDef>(data);
  const auto* sgs = m->subgraphs();
  if (!sgs || sgs->size() == 0 || !sgs->Get(0)) fail(src, ": the model has no subgraph");
  return *m;
}

const TensorDef& tensor_at(const std::string& src, const SubGraphDef& sg, int t) {
  const auto* ts = sg.tensors();
  if (t < 0 || !ts || static_cast<uint32_t>(t) >= ts->size())
    fail(src, ": tensor index ", t, " out of range (", ts ? ts->size() : 0, " tensors)");
  const TensorDef* d = ts->Get(static_cast<uint32_t>(t));
  if (!d) fail(src, ": tensor ", t, " is missing");
  return *d;
}

std::string tensor_name(const std::string& src, const SubGraphDef& sg, int t) {
  const fb::String* n = tensor_at(src, sg, t).name();
  return n && n->size() ? printable(n->str()) : "tensor_" + std::to_string(t);
}

// The bytes of buffer b (*n = 0 when it holds none); `what` names the
// referrer in the error for an index out of range.
const uint8_t* buffer_data(const std::string& src, const ModelDef& m, const uint8_t* data,
                           size_t size, uint32_t b, const std::string& what, size_t* n) {
  const auto* bufs = m.buffers();
  if (!bufs || b >= bufs->size())
    fail(src, ": ", what, " refers to buffer ", b, " of ", bufs ? bufs->size() : 0);
  const BufferDef* buf = bufs->Get(b);
  *n = 0;
  if (!buf) return nullptr;
  if (buf->data() && buf->data()->size()) {
    *n = buf->data()->size();
    return buf->data()->data();
  }
  if (buf->offset() > 1) {  // data stored after the flatbuffer (models > 2 GB)
    if (buf->offset() > size || buf->size() > size - buf->offset())
      fail(src, ": buffer ", b, " lies outside the file (offset ", buf->offset(), ", size ", buf->size(), ")");
    *n = static_cast<size_t>(buf->size());
    return data + buf->offset();
  }
  return nullptr;
}

// Model.metadata: name -> text (see TfliteModelInfo::metadata).
std::map<std::string, std::string> read_metadata(const std::string& src, const ModelDef& m,
                                                 const uint8_t* data, size_t size) {
  std::map<std::string, std::string> out;
  const auto* md = m.metadata();
  if (!md) return out;
  for (uint32_t i = 0; i < md->size(); ++i) {
    const MetadataDef* e = md->Get(i);
    if (!e) fail(src, ": metadata entry ", i, " is missing");
    const std::string name = e->name() ? printable(e->name()->str()) : "";
    if (name.empty()) fail(src, ": metadata entry ", i, " has no name");
    size_t n = 0;
    const uint8_t* p = buffer_data(src, m, data, size, e->buffer(), "metadata '" + name + "'", &n);
    std::string v(reinterpret_cast<const char*>(p), n);
    while (!v.empty() && v.back() == '\0') v.pop_back();
    bool text = true;
    for (unsigned char c : v) text = text && (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') && c != 0x7f;
    out[name] = text ? v : "(binary, " + std::to_string(n) + " bytes)";
  }
  return out;
}

TfliteTensorInfo tensor_info(const std::string& src, const SubGraphDef& sg, int t) {
  const TensorDef& d = tensor_at(src, sg, t);
  TfliteTensorInfo i;
  i.name = tensor_name(src, sg, t);
  i.type = type_name(d.type());
  if (d.shape())
    for (int32_t v : *d.shape()) i.shape.push_back(v);
  if (const QuantDef* q = d.quantization()) {
    if (q->scale())
      for (float v : *q->scale()) i.scale.push_back(v);
    if (q->zero_point())
      for (int64_t z : *q->zero_point()) i.zero_point.push_back(z);
    i.zero_point.resize(i.scale.size(), 0);
  }
  return i;
}

TfliteModelInfo read_info(const std::string& src, const ModelDef& m, const uint8_t* data, size_t size) {
  const SubGraphDef& sg = *m.subgraphs()->Get(0);
  TfliteModelInfo info;
  info.schema_version = m.version();
  info.description = m.description() ? printable(m.description()->str()) : "";
  info.metadata = read_metadata(src, m, data, size);
  if (sg.inputs())
    for (int32_t t : *sg.inputs()) info.inputs.push_back(tensor_info(src, sg, t));
  if (sg.outputs())
    for (int32_t t : *sg.outputs()) info.outputs.push_back(tensor_info(src, sg, t));
  const auto* ops = sg.operators();
  const auto* codes = m.operator_codes();
  for (uint32_t i = 0; ops && i < ops->size(); ++i) {
    const OperatorDef* op = ops->Get(i);
    if (!op) fail(src, ": operator ", i, " is missing");
    const uint32_t ci = op->opcode_index();
    if (!codes || ci >= codes->size() || !codes->Get(ci))
      fail(src, ": operator ", i, ": opcode index ", ci, " out of range (", codes ? codes->size() : 0, " codes)");
    const OperatorCodeDef& code = *codes->Get(ci);
    TfliteOpInfo o;
    o.index = static_cast<int>(i);
    o.custom = code.code() == kCustom;
    o.op = tflite_schema::builtin_op_name(code.code());
    if (o.custom && code.custom_code() && code.custom_code()->size()) o.op = printable(code.custom_code()->str());
    o.version = code.version();
    auto list = [&](const Vec<int32_t>* v, std::vector<std::string>& types, std::vector<Shape>& shapes,
                    std::vector<bool>* constant) {
      for (uint32_t k = 0; v && k < v->size(); ++k) {
        const int32_t t = v->Get(k);
        if (t == -1) {  // an absent optional input
          types.push_back("none");
          shapes.emplace_back();
          if (constant) constant->push_back(false);
          continue;
        }
        TfliteTensorInfo ti = tensor_info(src, sg, t);
        types.push_back(ti.type);
        shapes.push_back(ti.shape);
        if (constant) {
          size_t n = 0;
          buffer_data(src, m, data, size, tensor_at(src, sg, t).buffer(), "tensor '" + ti.name + "'", &n);
          constant->push_back(n > 0);
        }
      }
    };
    list(op->inputs(), o.input_types, o.input_shapes, &o.input_constant);
    list(op->outputs(), o.output_types, o.output_shapes, nullptr);
    const Options* opt = op->options();
    const uint8_t ot = op->options_type();
    if ((code.code() == kConv2D && ot == kConv2DOptions) ||
        (code.code() == kDepthwiseConv2D && ot == kDepthwiseConv2DOptions)) {
      if (o.input_shapes.size() > 1 && o.input_shapes[1].size() == 4) {
        o.filter_h = static_cast<int>(o.input_shapes[1][1]);
        o.filter_w = static_cast<int>(o.input_shapes[1][2]);
      }
    } else if ((code.code() == kAveragePool2D || code.code() == kMaxPool2D) && ot == kPool2DOptions && opt) {
      o.filter_w = opt->i32(3, 0);
      o.filter_h = opt->i32(4, 0);
    }
    if (opt && (ot == kConv2DOptions || ot == kDepthwiseConv2DOptions || ot == kPool2DOptions) &&
        (o.filter_h || o.filter_w)) {
      o.stride_w = opt->i32(1, 0);
      o.stride_h = opt->i32(2, 0);
    }
    info.ops.push_back(std::move(o));
  }
  return info;
}

// Runs f(data, size) on an 8-byte aligned copy of `bytes` (flatbuffers reads
// scalars in place); other exceptions become one vedge::Error line.
template <class F>
auto with_aligned(const std::string& bytes, const std::string& src, F f) {
  if (bytes.empty()) fail(src, ": file is empty");
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8 + 1);
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  try {
    return f(reinterpret_cast<const uint8_t*>(aligned.data()), bytes.size());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(src + ": " + e.what());
  }
}

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, ": is a directory, not a TFLite file");
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open file (", std::strerror(errno), ")");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail(path, ": read error");
  return ss.str();
}

// ---- the importer -------------------------------------------------------------

class Importer {
 public:
  Importer(std::string src, const uint8_t* data, size_t size, const TfliteImportOptions& opt)
      : src_(std::move(src)), data_(data), size_(size), opt_(opt) {}
  Graph run(TfliteModelInfo* info);

 private:
  // IR values standing for one TFLite tensor: its NCHW form (4-D only) and
  // its plain form (the file's shape), each created when first needed.
  struct Ref {
    int nchw = -1;
    int plain = -1;
    // Integer import: the int8/uint8 value (a QuantizeLinear's output or a
    // graph input) that the float value above dequantizes, and its layout.
    int q = -1;
    bool q_nchw = false;
  };

  template <class... A>
  [[noreturn]] void err(const A&... a) const {
    fail(src_, ": ", a...);
  }
  template <class... A>
  [[noreturn]] void oerr(const A&... a) const {
    fail(src_, ": operator ", op_index_, " (", op_label_, "): ", a...);
  }

  // Tensors and constants
  int resolve(int t) const;
  const TensorDef& tdef(int t) const;
  std::string tname(int t) const;
  Shape tshape(int t) const;
  bool is_const(int t) const;
  const uint8_t* buffer_bytes(int t, size_t* n) const;
  Tensor const_float(int t) const;
  std::vector<int64_t> const_ints(int t) const;
  Tensor const_raw(int t) const;
  // Integer import
  bool integer() const { return opt_.numbers != TfliteNumbers::Float; }
  bool int_activation(int t) const;
  QuantParams tensor_quant(int t) const;
  std::pair<int, int> quant_consts(const std::string& name, const QuantParams& q, DType zp_type);
  int dequantize(int t, int q, bool is_nchw);
  int dequantize_pair(int t, int id, bool is_nchw);
  int dequantized_const(int t, const std::vector<int64_t>* perm);

  // IR values
  std::string unique_name(const std::string& base);
  int nchw(int t);
  int plain(int t);
  int rank4_const_nchw(int t);
  int emit(const std::string& op, std::vector<int> inputs, Attrs attrs, const std::string& name);
  // same_range_as: the op cannot leave the input's range (zero padding), so
  // an output quantized like that input needs no saturation or requantization.
  void bind(int t, int id, bool is_nchw, int same_range_as = -1);
  int activation(int id, int8_t act, const std::string& name);

  // Operators
  const OperatorDef& op() const { return *op_; }
  int in(size_t i) const;      // a required input
  int opt_in(size_t i) const;  // -1 when absent
  int out(size_t i) const;
  void need_io(size_t min_in, size_t max_in, size_t n_out) const;
  const Options* options(uint8_t type) const;
  void window(const Options* o, const Shape& x_nhwc, int64_t kh, int64_t kw, int stride_field,
              int dil_field, Attrs& a) const;
  void convert();
  void conv(bool depthwise);
  void pool(bool average);
  void binary(const std::string& ir_op, uint8_t opt_type);
  void unary(const std::string& ir_op, Attrs a = {});
  void mean();
  void pad();
  void reshape();
  void softmax();
  void concat();
  void fully_connected();
  void transpose();
  void quantize();
  void finish_outputs();
  void tflite_hardswish_tables();
  void check_canonical() const;

  std::string src_;
  const uint8_t* data_;
  size_t size_;
  TfliteImportOptions opt_;
  const ModelDef* model_ = nullptr;
  const SubGraphDef* sg_ = nullptr;
  Graph g_;
  std::vector<Ref> refs_;
  std::vector<int> alias_;  // tensor -> tensor it is an identity of, or -1
  std::set<std::string> names_;
  std::set<std::string> hard_swish_nodes_;  // IR names of the HARD_SWISH operators' nodes
  const OperatorDef* op_ = nullptr;
  int op_index_ = -1;
  int32_t op_code_ = -1;
  std::string op_label_;
};

// -- tensors

int Importer::resolve(int t) const {
  while (t >= 0 && alias_[static_cast<size_t>(t)] >= 0) t = alias_[static_cast<size_t>(t)];
  return t;
}

const TensorDef& Importer::tdef(int t) const { return tensor_at(src_, *sg_, t); }

std::string Importer::tname(int t) const { return tensor_name(src_, *sg_, t); }

Shape Importer::tshape(int t) const {
  const TensorDef& d = tdef(t);
  Shape s;
  if (d.shape()) {
    if (d.shape()->size() > 6) err("tensor '", tname(t), "' has rank ", d.shape()->size(), " (> 6)");
    for (int32_t v : *d.shape()) s.push_back(v);
  }
  int64_t n = 1;
  for (int64_t v : s) {
    if (v < 1 || v > kMaxDim)
      err("tensor '", tname(t), "' has shape ", shape_str(s), ": dimensions must be in 1..", kMaxDim);
    n *= v;
    if (n > kMaxElements) err("tensor '", tname(t), "' ", shape_str(s), " is too large");
  }
  return s;
}

bool Importer::is_const(int t) const {
  uint32_t b = tdef(t).buffer();
  if (b == 0) return false;
  size_t n = 0;
  buffer_bytes(t, &n);
  return n > 0;
}

const uint8_t* Importer::buffer_bytes(int t, size_t* n) const {
  return buffer_data(src_, *model_, data_, size_, tdef(t).buffer(), "tensor '" + tname(t) + "'", n);
}

Tensor Importer::const_float(int t) const {
  const TensorDef& d = tdef(t);
  const Shape s = tshape(t);
  const int8_t type = d.type();
  const size_t es = type_size(type);
  if (es == 0) err("constant '", tname(t), "' has unsupported type ", type_name(type));
  size_t n = 0;
  const uint8_t* p = buffer_bytes(t, &n);
  const size_t count = static_cast<size_t>(numel(s));
  if (!p || n != count * es)
    err("constant '", tname(t), "' ", type_name(type), " ", shape_str(s), " needs ", count * es,
        " bytes, its buffer has ", n);
  std::vector<double> raw(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* q = p + i * es;
    switch (type) {
      case kFloat32: { float v; std::memcpy(&v, q, 4); raw[i] = v; break; }
      case kFloat16: { uint16_t v; std::memcpy(&v, q, 2); raw[i] = half_to_float(v); break; }
      case kInt32: { int32_t v; std::memcpy(&v, q, 4); raw[i] = v; break; }
      case kInt64: { int64_t v; std::memcpy(&v, q, 8); raw[i] = static_cast<double>(v); break; }
      case kInt16: { int16_t v; std::memcpy(&v, q, 2); raw[i] = v; break; }
      case kUInt8: raw[i] = *q; break;
      default: raw[i] = static_cast<int8_t>(*q); break;  // kInt8
    }
  }
  // Dequantize: real = scale * (q - zero_point), per tensor or per channel.
  const QuantDef* qp = d.quantization();
  const bool quantized = qp && qp->scale() && qp->scale()->size() > 0 && type != kFloat32 &&
                         type != kFloat16;
  if (qp && qp->details_type() != 0)
    err("tensor '", tname(t), "' uses custom quantization, which is not supported");
  if (!quantized && (type == kUInt8 || type == kInt8 || type == kInt16))
    err("constant '", tname(t), "' is ", type_name(type), " without quantization parameters");
  Tensor out(DType::F32, s);
  float* o = out.data<float>();
  if (!quantized) {
    for (size_t i = 0; i < count; ++i) o[i] = static_cast<float>(raw[i]);
    return out;
  }
  const auto* sc = qp->scale();
  const auto* zp = qp->zero_point();
  const size_t nq = sc->size();
  if (zp && zp->size() != 0 && zp->size() != nq)
    err("tensor '", tname(t), "' has ", nq, " scales but ", zp->size(), " zero points");
  size_t inner = 1, dim = 1;
  if (nq > 1) {
    int32_t qd = qp->quantized_dimension();
    if (qd < 0 || static_cast<size_t>(qd) >= s.size() || static_cast<size_t>(s[qd]) != nq)
      err("tensor '", tname(t), "' ", shape_str(s), ": ", nq,
          " per-channel scales do not match quantized dimension ", qd);
    for (size_t k = static_cast<size_t>(qd) + 1; k < s.size(); ++k) inner *= static_cast<size_t>(s[k]);
    dim = nq;
  }
  for (size_t i = 0; i < count; ++i) {
    size_t c = nq > 1 ? (i / inner) % dim : 0;
    double scale = sc->Get(static_cast<uint32_t>(c));
    double z = zp && zp->size() ? static_cast<double>(zp->Get(static_cast<uint32_t>(c))) : 0.0;
    if (!std::isfinite(scale)) err("tensor '", tname(t), "' has a non-finite scale");
    o[i] = static_cast<float>(scale * (raw[i] - z));
  }
  return out;
}

std::vector<int64_t> Importer::const_ints(int t) const {
  const int8_t type = tdef(t).type();
  if (type != kInt32 && type != kInt64)
    oerr("'", tname(t), "' must be an int32 constant, is ", type_name(type));
  if (!is_const(t)) oerr("'", tname(t), "' must be constant");
  std::vector<int64_t> v;
  for (float f : const_float(t).to_floats()) v.push_back(static_cast<int64_t>(f));
  return v;
}

// An integer constant (int8, uint8, int32) with its stored values.
Tensor Importer::const_raw(int t) const {
  const int8_t type = tdef(t).type();
  const DType dt = type == kInt8 ? DType::I8 : type == kUInt8 ? DType::U8 : DType::I32;
  const Shape s = tshape(t);
  Tensor out(dt, s);
  size_t n = 0;
  const uint8_t* p = buffer_bytes(t, &n);
  if (!p || n != out.nbytes())
    err("constant '", tname(t), "' ", type_name(type), " ", shape_str(s), " needs ", out.nbytes(),
        " bytes, its buffer has ", n);
  std::memcpy(out.raw(), p, n);
  return out;
}

// -- integer import

QuantParams Importer::tensor_quant(int t) const {
  QuantParams q;
  if (const auto* qp = tdef(t).quantization()) {
    if (qp->scale())
      for (float v : *qp->scale()) q.scale.push_back(v);
    if (qp->zero_point())
      for (int64_t z : *qp->zero_point())
        q.zero_point.push_back(static_cast<int32_t>(std::clamp<int64_t>(z, INT32_MIN, INT32_MAX)));
    q.zero_point.resize(q.scale.size(), 0);
    if (q.scale.size() > 1) q.axis = qp->quantized_dimension();
  }
  return q;
}

// An int8/uint8 activation quantized per tensor, in integer import: it
// becomes a QuantizeLinear -> DequantizeLinear pair (others compute float).
bool Importer::int_activation(int t) const {
  if (!integer()) return false;
  const int8_t type = tdef(t).type();
  if (type != kInt8 && type != kUInt8) return false;
  const QuantParams q = tensor_quant(t);
  if (q.scale.size() != 1) return false;
  if (tdef(t).quantization()->details_type() != 0)
    err("tensor '", tname(t), "' uses custom quantization, which is not supported");
  const int32_t lo = type == kUInt8 ? 0 : -128, hi = type == kUInt8 ? 255 : 127;
  if (!(q.scale[0] > 0) || !std::isfinite(q.scale[0]) || q.zero_point[0] < lo || q.zero_point[0] > hi)
    err("tensor '", tname(t), "' has an invalid quantization (scale ", q.scale[0], ", zero point ",
        q.zero_point[0], ")");
  return true;
}

// Scale (float32) and zero point (zp_type) constants: scalars for one
// value, else 1-D.
std::pair<int, int> Importer::quant_consts(const std::string& name, const QuantParams& q, DType zp_type) {
  const Shape s = q.scale.size() == 1 ? Shape{} : Shape{static_cast<int64_t>(q.scale.size())};
  const int sc = g_.add_constant(unique_name(name + "/scale"), Tensor::from_floats(s, q.scale));
  Tensor z(zp_type, s);
  for (size_t i = 0; i < q.zero_point.size(); ++i) {
    if (zp_type == DType::I8) z.data<int8_t>()[i] = static_cast<int8_t>(q.zero_point[i]);
    else if (zp_type == DType::U8) z.data<uint8_t>()[i] = static_cast<uint8_t>(q.zero_point[i]);
    else z.data<int32_t>()[i] = q.zero_point[i];
  }
  return {sc, g_.add_constant(unique_name(name + "/zero_point"), z)};
}

// DequantizeLinear of tensor t's integer value q (layout is_nchw), which
// becomes t's float value.
int Importer::dequantize(int t, int q, bool is_nchw) {
  const DType dt = tdef(t).type() == kUInt8 ? DType::U8 : DType::I8;
  const auto [sc, zp] = quant_consts(tname(t), tensor_quant(t), dt);
  Ref& r = refs_[static_cast<size_t>(t)];
  r.q = q;
  r.q_nchw = is_nchw;
  return emit("DequantizeLinear", {q, sc, zp}, {}, tname(t) + "/dequantized");
}

// Float value `id` quantized with t's parameters and dequantized again.
int Importer::dequantize_pair(int t, int id, bool is_nchw) {
  const DType dt = tdef(t).type() == kUInt8 ? DType::U8 : DType::I8;
  const auto [sc, zp] = quant_consts(tname(t), tensor_quant(t), dt);
  return dequantize(t, emit("QuantizeLinear", {id, sc, zp}, {}, tname(t)), is_nchw);
}

// Integer import of a quantized weight or bias constant: the stored
// integers (axes permuted by perm) and a DequantizeLinear, so lower_qdq
// finds them; -1 when t is not such a constant (the caller dequantizes it
// at load: float16, float, or parameters DequantizeLinear cannot express).
int Importer::dequantized_const(int t, const std::vector<int64_t>* perm) {
  const int8_t type = tdef(t).type();
  if (!integer() || (type != kInt8 && type != kUInt8 && type != kInt32)) return -1;
  const_float(t);  // checks the buffer size and the per-channel parameters
  QuantParams q = tensor_quant(t);
  if (q.scale.empty()) return -1;
  const int64_t lo = type == kUInt8 ? 0 : type == kInt8 ? -128 : 0;
  const int64_t hi = type == kUInt8 ? 255 : type == kInt8 ? 127 : 0;
  for (size_t i = 0; i < q.scale.size(); ++i)
    if (!(q.scale[i] > 0) || !std::isfinite(q.scale[i]) || q.zero_point[i] < lo || q.zero_point[i] > hi)
      return -1;
  Tensor raw = const_raw(t);
  if (perm) {
    raw = permute4(raw, *perm);
    if (q.scale.size() > 1)
      q.axis = static_cast<int>(std::find(perm->begin(), perm->end(), q.axis) - perm->begin());
  }
  const int c = g_.add_constant(unique_name(tname(t) + "/q"), raw);
  const auto [sc, zp] = quant_consts(tname(t), q, raw.dtype());
  Attrs a;
  if (q.scale.size() > 1) a.set("axis", static_cast<int64_t>(q.axis));
  return emit("DequantizeLinear", {c, sc, zp}, a, tname(t) + "/dequantized");
}

// -- IR values

std::string Importer::unique_name(const std::string& base) {
  std::string n = base;
  for (int k = 1; names_.count(n); ++k) n = base + "_" + std::to_string(k);
  names_.insert(n);
  return n;
}

int Importer::emit(const std::string& ir_op, std::vector<int> inputs, Attrs attrs,
                   const std::string& name) {
  Node n;
  n.name = op_label_ + "_" + std::to_string(op_index_);
  for (int k = 1; names_.count(n.name); ++k)
    n.name = op_label_ + "_" + std::to_string(op_index_) + "/" + std::to_string(k);
  names_.insert(n.name);
  n.op = ir_op;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  Value v;
  v.name = unique_name(name);
  const int id = g_.add_value(std::move(v));
  n.outputs.push_back(id);
  std::vector<Shape> shapes = infer_node_shapes(g_, n);
  if (shapes.size() != 1 || too_many_elements(shapes[0]))
    oerr("result ", shapes.empty() ? "" : shape_str(shapes[0]), " is too large");
  g_.values[static_cast<size_t>(id)].shape = shapes[0];
  g_.values[static_cast<size_t>(id)].dtype = infer_node_dtype(g_, n);
  g_.nodes.push_back(std::move(n));
  return id;
}

int Importer::nchw(int t) {
  t = resolve(t);
  if (t < 0) oerr("a required input is absent (tensor index -1)");
  Ref& r = refs_[static_cast<size_t>(t)];
  if (r.nchw >= 0) return r.nchw;
  const Shape s = tshape(t);
  if (s.size() != 4) oerr("'", tname(t), "' must be 4-D (NHWC), is ", shape_str(s));
  if (is_const(t)) {
    r.nchw = g_.add_constant(unique_name(tname(t)), permute4(const_float(t), kToNchw));
    return r.nchw;
  }
  if (r.plain < 0) oerr("reads '", tname(t), "' before any operator writes it");
  Attrs a;
  int id;
  if (s[1] * s[2] == 1 || s[3] == 1) {  // same element order: a reshape
    a.set("shape", Shape{s[0], s[3], s[1], s[2]});
    id = emit("Reshape", {r.plain}, a, tname(t) + "/nchw");
  } else {
    a.set("perm", kToNchw);
    id = emit("Transpose", {r.plain}, a, tname(t) + "/nchw");
  }
  refs_[static_cast<size_t>(t)].nchw = id;
  return id;
}

int Importer::plain(int t) {
  t = resolve(t);
  if (t < 0) oerr("a required input is absent (tensor index -1)");
  Ref& r = refs_[static_cast<size_t>(t)];
  if (r.plain >= 0) return r.plain;
  const Shape s = tshape(t);
  if (is_const(t)) {
    r.plain = g_.add_constant(unique_name(tname(t)), const_float(t));
    return r.plain;
  }
  if (r.nchw < 0) oerr("reads '", tname(t), "' before any operator writes it");
  Attrs a;
  int id;
  if (s[1] * s[2] == 1 || s[3] == 1) {
    a.set("shape", s);
    id = emit("Reshape", {r.nchw}, a, tname(t) + "/nhwc");
  } else {
    a.set("perm", kToNhwc);
    id = emit("Transpose", {r.nchw}, a, tname(t) + "/nhwc");
  }
  refs_[static_cast<size_t>(t)].plain = id;
  return id;
}

// A constant of rank <= 4 broadcast against a 4-D NHWC tensor, in NCHW.
int Importer::rank4_const_nchw(int t) {
  t = resolve(t);
  Tensor c = const_float(t);
  Shape s = c.shape();
  if (s.size() > 4) oerr("'", tname(t), "' has rank ", s.size(), " (> 4)");
  s.insert(s.begin(), 4 - s.size(), 1);
  return g_.add_constant(unique_name(tname(t) + "/nchw"), permute4(c.reshaped(s), kToNchw));
}

void Importer::bind(int t, int id, bool is_nchw, int same_range_as) {
  if (t != resolve(t) || is_const(t)) oerr("writes '", tname(t), "', which is a constant");
  Ref& r = refs_[static_cast<size_t>(t)];
  if (r.nchw >= 0 || r.plain >= 0) oerr("writes '", tname(t), "', which is already written");
  const Shape s = tshape(t);
  if (!is_activation_type(tdef(t).type()))
    oerr("output '", tname(t), "' has type ", type_name(tdef(t).type()),
         "; only float and quantized activations are supported");
  Shape want = s;
  if (is_nchw) {
    if (s.size() != 4) oerr("output '", tname(t), "' must be 4-D, is ", shape_str(s));
    want = {s[0], s[3], s[1], s[2]};
  }
  const Shape got = g_.values[static_cast<size_t>(id)].shape;
  if (got != want)
    oerr("output '", tname(t), "' is declared ", shape_str(s), " but computes to ",
         is_nchw ? "(NCHW) " : "", shape_str(got));
  // A quantized tensor saturates at the ends of its integer range; converters
  // drop ReLU/ReLU6 whose clamp that range already does, so keep the clamp.
  const int8_t type = tdef(t).type();
  const QuantDef* q = tdef(t).quantization();
  const bool same = same_range_as >= 0 && tdef(same_range_as).type() == type &&
                    tensor_quant(same_range_as).scale == tensor_quant(t).scale &&
                    tensor_quant(same_range_as).zero_point == tensor_quant(t).zero_point;
  if (same) {
    // e.g. PAD: zeros stand for real 0, inside the range; no clamp, so the
    // zero padding stays directly before its convolution.
  } else if (int_activation(t)) {  // the QuantizeLinear saturates
    id = dequantize_pair(t, id, is_nchw);
  } else if ((type == kUInt8 || type == kInt8 || type == kInt16) && q && q->scale() &&
             q->scale()->size() == 1) {
    const double scale = q->scale()->Get(0);
    const double zp = q->zero_point() && q->zero_point()->size() ? static_cast<double>(q->zero_point()->Get(0)) : 0.0;
    const double qmin = type == kUInt8 ? 0 : type == kInt8 ? -128 : -32768;
    const double qmax = type == kUInt8 ? 255 : type == kInt8 ? 127 : 32767;
    if (!(scale > 0) || !std::isfinite(scale) || std::fabs(zp) > 1e9)
      oerr("output '", tname(t), "' has an invalid quantization (scale ", scale, ", zero point ", zp, ")");
    Attrs a;
    a.set("min", static_cast<float>(scale * (qmin - zp)));
    a.set("max", static_cast<float>(scale * (qmax - zp)));
    id = emit("Clip", {id}, a, tname(t) + "/saturated");
  }
  (is_nchw ? r.nchw : r.plain) = id;
}

int Importer::activation(int id, int8_t act, const std::string& name) {
  Attrs a;
  switch (act) {
    case kActNone: return id;
    case kActRelu: return emit("Relu", {id}, a, name);
    case kActRelu6: a.set("min", 0.f), a.set("max", 6.f); return emit("Clip", {id}, a, name);
    case kActReluN1To1: a.set("min", -1.f), a.set("max", 1.f); return emit("Clip", {id}, a, name);
    default: oerr("fused activation ", static_cast<int>(act), " is not supported");
  }
}

// -- operators

int Importer::opt_in(size_t i) const {
  const auto* v = op().inputs();
  if (!v || i >= v->size()) oerr("missing input ", i);
  int t = v->Get(static_cast<uint32_t>(i));
  if (t < 0) return -1;  // an absent optional input (e.g. a bias)
  tdef(t);               // range check
  return resolve(t);
}

int Importer::in(size_t i) const {
  const int t = opt_in(i);
  if (t < 0) oerr("input ", i, " is absent (tensor index -1)");
  return t;
}

int Importer::out(size_t i) const {
  const auto* v = op().outputs();
  if (!v || i >= v->size()) oerr("missing output ", i);
  int t = v->Get(static_cast<uint32_t>(i));
  tdef(t);
  return t;
}

void Importer::need_io(size_t min_in, size_t max_in, size_t n_out) const {
  size_t ni = op().inputs() ? op().inputs()->size() : 0;
  size_t no = op().outputs() ? op().outputs()->size() : 0;
  if (ni < min_in || ni > max_in) oerr("expects ", min_in, "..", max_in, " inputs, has ", ni);
  if (no != n_out) oerr("expects ", n_out, " outputs, has ", no);
  for (size_t i = 0; i < min_in; ++i)
    if (in(i) < 0) oerr("input ", i, " is absent");
}

const Options* Importer::options(uint8_t type) const {
  if (op().options_type() == 0 && !op().options()) return nullptr;  // all defaults
  if (op().options_type() != type)
    oerr("has builtin options of type ", static_cast<int>(op().options_type()), ", expected ",
         static_cast<int>(type));
  return op().options();
}

// Strides, dilations and TFLite padding (SAME / VALID) -> IR attributes.
// Field numbers of padding (0), stride_w, stride_h are shared by Conv2D,
// DepthwiseConv2D and Pool2D options.
void Importer::window(const Options* o, const Shape& x, int64_t kh, int64_t kw, int stride_field,
                      int dil_field, Attrs& a) const {
  auto get = [&](int f, int32_t def) { return f < 0 ? def : o ? o->i32(f, def) : def; };
  const int8_t padding = o ? o->i8(0, 0) : 0;
  const int64_t sw = get(stride_field, 0), sh = get(stride_field + 1, 0);
  const int64_t dw = get(dil_field, 1), dh = dil_field < 0 ? 1 : get(dil_field + 1, 1);
  for (int64_t v : {sw, sh, dw, dh, kh, kw})
    if (v < 1 || v > kMaxDim) oerr("strides, dilations and kernel sizes must be in 1..", kMaxDim);
  if (padding != 0 && padding != 1) oerr("unknown padding ", static_cast<int>(padding));
  int64_t pads[4] = {0, 0, 0, 0};  // top, left, bottom, right
  if (padding == 0) {              // SAME: output = ceil(input / stride)
    const int64_t in[2] = {x[1], x[2]}, k[2] = {kh, kw}, s[2] = {sh, sw}, d[2] = {dh, dw};
    for (int i = 0; i < 2; ++i) {
      int64_t outd = (in[i] + s[i] - 1) / s[i];
      int64_t total = std::max<int64_t>(0, (outd - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in[i]);
      pads[i] = total / 2;
      pads[i + 2] = total - total / 2;
    }
  }
  a.set("strides", std::vector<int64_t>{sh, sw});
  a.set("pads", std::vector<int64_t>{pads[0], pads[1], pads[2], pads[3]});
  if (dil_field >= 0) a.set("dilations", std::vector<int64_t>{dh, dw});
}

void Importer::conv(bool depthwise) {
  need_io(2, 3, 1);
  const Options* o = options(depthwise ? kDepthwiseConv2DOptions : kConv2DOptions);
  const int x = in(0), w = in(1), b = op().inputs()->size() > 2 ? opt_in(2) : -1;
  const Shape xs = tshape(x), ws = tshape(w);
  if (xs.size() != 4 || ws.size() != 4)
    oerr("input ", shape_str(xs), " and filter ", shape_str(ws), " must be 4-D");
  if (!is_const(w)) oerr("filter '", tname(w), "' must be constant");
  const int64_t C = xs[3];
  Tensor wt = const_float(w);
  Attrs a;
  int64_t O;
  if (depthwise) {  // [1, KH, KW, C*M] -> [C*M, 1, KH, KW], group C
    O = ws[3];
    if (ws[0] != 1 || O % C != 0)
      oerr("depthwise filter ", shape_str(ws), " does not fit ", C, " input channels");
    int32_t m = o ? o->i32(3, 0) : 0;
    if (m != 0 && m != O / C)
      oerr("depth_multiplier ", m, " does not match filter ", shape_str(ws));
    wt = permute4(wt, {3, 0, 1, 2});  // kDepthwiseToOihw
    a.set("group", C);
    window(o, xs, ws[1], ws[2], 1, 5, a);
  } else {  // [O, KH, KW, I] -> [O, I, KH, KW], group C / I
    O = ws[0];
    if (C % ws[3] != 0)
      oerr("filter ", shape_str(ws), " does not fit ", C, " input channels");
    wt = permute4(wt, kToNchw);
    a.set("group", C / ws[3]);
    window(o, xs, ws[1], ws[2], 1, 4, a);
  }
  static const std::vector<int64_t> kDepthwiseToOihw = {3, 0, 1, 2};
  int wi = dequantized_const(w, depthwise ? &kDepthwiseToOihw : &kToNchw);
  if (wi < 0) wi = g_.add_constant(unique_name(tname(w)), wt);
  std::vector<int> ins = {nchw(x), wi};
  if (b >= 0) {
    if (!is_const(b)) oerr("bias '", tname(b), "' must be constant");
    if (tshape(b) != Shape{O}) oerr("bias ", shape_str(tshape(b)), " must be [", O, "]");
    const int bi = dequantized_const(b, nullptr);
    ins.push_back(bi >= 0 ? bi : plain(b));
  }
  const int y = out(0);
  const int8_t act = o ? o->i8(depthwise ? 4 : 3, 0) : 0;
  int id = emit("Conv", ins, a, act == kActNone ? tname(y) : tname(y) + "/linear");
  bind(y, activation(id, act, tname(y)), true);
}

void Importer::pool(bool average) {
  need_io(1, 1, 1);
  const Options* o = options(kPool2DOptions);
  const int x = in(0);
  const Shape xs = tshape(x);
  if (xs.size() != 4) oerr("input ", shape_str(xs), " must be 4-D");
  const int64_t fw = o ? o->i32(3, 0) : 0, fh = o ? o->i32(4, 0) : 0;
  Attrs a;
  window(o, xs, fh, fw, 1, -1, a);
  a.set("kernel_shape", std::vector<int64_t>{fh, fw});
  const int y = out(0);
  const int8_t act = o ? o->i8(5, 0) : 0;
  const std::string nm = act == kActNone ? tname(y) : tname(y) + "/linear";
  int id;
  if (average && fh == xs[1] && fw == xs[2] && a.get_ints("pads") == std::vector<int64_t>{0, 0, 0, 0}) {
    id = emit("GlobalAveragePool", {nchw(x)}, {}, nm);
  } else {
    if (average) a.set("count_include_pad", int64_t{0});  // TFLite averages valid pixels only
    id = emit(average ? "AveragePool" : "MaxPool", {nchw(x)}, a, nm);
  }
  bind(y, activation(id, act, tname(y)), true);
}

void Importer::binary(const std::string& ir_op, uint8_t opt_type) {
  need_io(2, 2, 1);
  const Options* o = options(opt_type);
  const int y = out(0);
  const bool four = tshape(y).size() == 4;
  std::vector<int> ins;
  for (size_t i = 0; i < 2; ++i) {
    const int t = in(i);
    if (!four) ins.push_back(plain(t));
    else if (tshape(t).size() == 4) ins.push_back(nchw(t));
    else if (is_const(t)) ins.push_back(rank4_const_nchw(t));
    else oerr("broadcasting '", tname(t), "' ", shape_str(tshape(t)), " to a 4-D result is not supported");
  }
  const int8_t act = o ? o->i8(0, 0) : 0;
  int id = emit(ir_op, ins, {}, act == kActNone ? tname(y) : tname(y) + "/linear");
  bind(y, activation(id, act, tname(y)), four);
}

void Importer::unary(const std::string& ir_op, Attrs a) {
  need_io(1, 1, 1);
  const int x = in(0), y = out(0);
  const Ref& r = refs_[static_cast<size_t>(x)];
  const bool use_nchw = tshape(x).size() == 4 && (r.nchw >= 0 || r.plain < 0);
  const int xi = use_nchw ? nchw(x) : plain(x);
  bind(y, emit(ir_op, {xi}, std::move(a), tname(y)), use_nchw);
}

void Importer::mean() {
  need_io(2, 2, 1);
  const int x = in(0), y = out(0);
  const Shape xs = tshape(x), ys = tshape(y);
  std::set<int64_t> axes;
  for (int64_t v : const_ints(in(1))) axes.insert(v < 0 ? v + static_cast<int64_t>(xs.size()) : v);
  if (xs.size() != 4 || axes != std::set<int64_t>{1, 2})
    oerr("only the spatial mean of a 4-D tensor (axes 1, 2) is supported");
  int id = emit("GlobalAveragePool", {nchw(x)}, {}, tname(y));
  if (ys.size() == 4) return bind(y, id, true);
  Attrs a;
  a.set("shape", ys);
  bind(y, emit("Reshape", {id}, a, tname(y) + "/2d"), false);
}

void Importer::pad() {
  need_io(2, 2, 1);
  const int x = in(0);
  const Shape xs = tshape(x);
  std::vector<int64_t> p = const_ints(in(1));  // [[n0,n1],[h0,h1],[w0,w1],[c0,c1]]
  if (xs.size() != 4 || p.size() != 8 || p[0] || p[1] || p[6] || p[7])
    oerr("only spatial padding of a 4-D tensor is supported");
  Attrs a;
  a.set("pads", std::vector<int64_t>{p[2], p[4], p[3], p[5]});
  const int y = out(0);
  bind(y, emit("Pad", {nchw(x)}, a, tname(y)), true, x);
}

void Importer::reshape() {
  need_io(1, 2, 1);
  const int y = out(0);
  Attrs a;
  a.set("shape", tshape(y));  // the declared output shape is static and final
  bind(y, emit("Reshape", {plain(in(0))}, a, tname(y)), false);
}

void Importer::softmax() {
  need_io(1, 1, 1);
  const Options* o = options(kSoftmaxOptions);
  const float beta = o ? o->f32(0, 0.f) : 0.f;
  const int x = in(0), y = out(0);
  const Shape xs = tshape(x);
  if (xs.empty()) oerr("input must have at least one dimension");
  const Ref& r = refs_[static_cast<size_t>(x)];
  const bool use_nchw = xs.size() == 4 && (r.nchw >= 0 || r.plain < 0);
  int xi = use_nchw ? nchw(x) : plain(x);
  if (beta != 1.f) {
    if (!std::isfinite(beta)) oerr("beta is not finite");
    int bc = g_.add_constant(unique_name(tname(y) + "/beta"), Tensor::from_floats({}, {beta}));
    xi = emit("Mul", {xi, bc}, {}, tname(y) + "/scaled");
  }
  Attrs a;
  a.set("axis", use_nchw ? int64_t{1} : static_cast<int64_t>(xs.size()) - 1);
  bind(y, emit("Softmax", {xi}, a, tname(y)), use_nchw);
}

void Importer::concat() {
  const size_t n = op().inputs() ? op().inputs()->size() : 0;
  need_io(1, std::max<size_t>(n, 1), 1);
  const Options* o = options(kConcatenationOptions);
  const int y = out(0);
  const Shape ys = tshape(y);
  int64_t axis = o ? o->i32(0, 0) : 0;
  const int64_t rank = static_cast<int64_t>(ys.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) oerr("axis out of range for rank ", rank);
  const bool four = rank == 4;
  std::vector<int> ins;
  for (size_t i = 0; i < n; ++i) ins.push_back(four ? nchw(in(i)) : plain(in(i)));
  Attrs a;
  a.set("axis", four ? std::vector<int64_t>{0, 2, 3, 1}[static_cast<size_t>(axis)] : axis);
  const int8_t act = o ? o->i8(1, 0) : 0;
  int id = emit("Concat", ins, a, act == kActNone ? tname(y) : tname(y) + "/linear");
  bind(y, activation(id, act, tname(y)), four);
}

void Importer::fully_connected() {
  need_io(2, 3, 1);
  const Options* o = options(kFullyConnectedOptions);
  if (o && o->i8(1, 0) != 0) oerr("shuffled weights format is not supported");
  const int x = in(0), w = in(1), b = op().inputs()->size() > 2 ? opt_in(2) : -1;
  const Shape ws = tshape(w);
  if (ws.size() != 2 || !is_const(w)) oerr("weights must be a constant [out, in] matrix");
  const int64_t K = ws[1], O = ws[0];
  const int64_t total = numel(tshape(x));
  if (total % K != 0) oerr("input ", shape_str(tshape(x)), " does not divide into rows of ", K);
  int xi = plain(x);
  if (tshape(x) != Shape{total / K, K}) {
    Attrs r;
    r.set("shape", Shape{total / K, K});
    xi = emit("Reshape", {xi}, r, tname(x) + "/rows");
  }
  std::vector<int> ins = {xi, plain(w)};
  if (b >= 0) {
    if (!is_const(b) || tshape(b) != Shape{O}) oerr("bias must be a constant [", O, "]");
    ins.push_back(plain(b));
  }
  Attrs a;
  a.set("transB", int64_t{1});
  const int y = out(0);
  const int8_t act = o ? o->i8(0, 0) : 0;
  int id = emit("Gemm", ins, a, tname(y) + "/gemm");
  id = activation(id, act, tname(y) + "/act");
  if (g_.values[static_cast<size_t>(id)].shape != tshape(y)) {
    Attrs r;
    r.set("shape", tshape(y));
    id = emit("Reshape", {id}, r, tname(y));
  }
  bind(y, id, false);
}

void Importer::transpose() {
  need_io(2, 2, 1);
  const int x = in(0), y = out(0);
  const Shape xs = tshape(x);
  const std::vector<int64_t> perm = const_ints(in(1));
  std::vector<bool> seen(xs.size(), false);
  bool ok = perm.size() == xs.size();
  for (int64_t p : perm) {
    ok = ok && p >= 0 && p < static_cast<int64_t>(xs.size()) && !seen[static_cast<size_t>(p)];
    if (ok) seen[static_cast<size_t>(p)] = true;
  }
  if (!ok) oerr("perm is not a permutation of the ", xs.size(), " axes of ", shape_str(xs));
  Attrs a;
  a.set("perm", perm);
  bind(y, emit("Transpose", {plain(x)}, a, tname(y)), false);  // in the file's layout
}

// QUANTIZE to an int8/uint8 tensor in integer import (float -> int, or a
// requantization int -> int): the real values pass on, quantized with the
// output's parameters by bind().
void Importer::quantize() {
  need_io(1, 1, 1);
  const int x = in(0), y = out(0);
  if (tshape(x) != tshape(y)) oerr("input and output shapes differ");
  const Ref& r = refs_[static_cast<size_t>(x)];
  const bool use_nchw = tshape(x).size() == 4 && (r.nchw >= 0 || r.plain < 0);
  bind(y, use_nchw ? nchw(x) : plain(x), use_nchw);
}

void Importer::convert() {
  switch (op_code_) {
    case kConv2D: return conv(false);
    case kDepthwiseConv2D: return conv(true);
    case kAveragePool2D: return pool(true);
    case kMaxPool2D: return pool(false);
    case kAdd: return binary("Add", kAddOptions);
    case kSub: return binary("Sub", kSubOptions);
    case kMul: return binary("Mul", kMulOptions);
    case kDiv: return binary("Div", kDivOptions);
    case kHardSwish: {
      const size_t first = g_.nodes.size();  // unary may emit a layout op before it
      unary("HardSwish");
      for (size_t k = first; k < g_.nodes.size(); ++k)
        if (g_.nodes[k].op == "HardSwish") hard_swish_nodes_.insert(g_.nodes[k].name);
      return;
    }
    case kLogistic: return unary("Sigmoid");
    case kRelu: return unary("Relu");
    case kRelu6: {
      Attrs a;
      a.set("min", 0.f), a.set("max", 6.f);
      return unary("Clip", a);
    }
    case kReluN1To1: {
      Attrs a;
      a.set("min", -1.f), a.set("max", 1.f);
      return unary("Clip", a);
    }
    case kMean: return mean();
    case kPad: return pad();
    case kReshape: case kSqueeze: return reshape();
    case kSoftmax: return softmax();
    case kConcatenation: return concat();
    case kFullyConnected: return fully_connected();
    case kTranspose: return transpose();
    case kQuantize:
      if (int_activation(out(0))) return quantize();  // integer import: a new Q/DQ pair
      [[fallthrough]];
    case kDequantize: {  // identities on the real values
      need_io(1, 1, 1);
      const int x = in(0), y = out(0);
      if (tshape(x) != tshape(y)) oerr("input and output shapes differ");
      if (y == x || alias_[static_cast<size_t>(y)] >= 0 ||
          refs_[static_cast<size_t>(y)].nchw >= 0 || refs_[static_cast<size_t>(y)].plain >= 0 ||
          is_const(y))
        oerr("writes '", tname(y), "', which already has a value");
      if (!is_const(x) && refs_[static_cast<size_t>(x)].nchw < 0 &&
          refs_[static_cast<size_t>(x)].plain < 0)
        oerr("reads '", tname(x), "' before any operator writes it");
      alias_[static_cast<size_t>(y)] = x;
      return;
    }
    default: oerr("unsupported operator");
  }
}

void Importer::finish_outputs() {
  const auto* outs = sg_->outputs();
  if (!outs || outs->size() == 0) err("the subgraph declares no outputs");
  op_index_ = -1;
  op_label_ = "output";
  std::set<int> seen;
  for (int32_t t0 : *outs) {
    tdef(t0);
    const int t = resolve(t0);
    if (is_const(t)) err("output '", tname(t0), "' is a constant");
    const Ref& r = refs_[static_cast<size_t>(t)];
    if (r.plain < 0 && r.nchw < 0) err("output '", tname(t0), "' is never written");
    int id;
    if (t == t0 && int_activation(t) && r.q >= 0) {  // integer import: the int8/uint8 value
      id = r.q;
      if (r.q_nchw) {
        Attrs a;
        a.set("perm", kToNhwc);
        id = emit("Transpose", {id}, a, tname(t) + "/nhwc");
      }
      g_.values[static_cast<size_t>(id)].quant = tensor_quant(t);
    } else {
      id = plain(t);
    }
    for (int i : g_.inputs)
      if (i == id) err("output '", tname(t0), "' is a graph input: nothing is computed");
    if (!seen.insert(id).second) err("output '", tname(t0), "' is listed twice");
    // The output keeps the file's tensor name; a value holding it moves aside.
    const std::string want = tname(t0);
    for (Value& v : g_.values)
      if (v.name == want && &v != &g_.values[static_cast<size_t>(id)]) v.name = unique_name(want + "/inner");
    g_.values[static_cast<size_t>(id)].name = want;
    g_.outputs.push_back(id);
  }
}

// Integer import: lower_qdq gave each HARD_SWISH's QLut the exact-float
// table Q(hardswish(DQ(q))); the file means TFLite's fixed-point int8
// kernel, which differs by one step on a few entries, so those QLuts get
// TFLite's table (tflite_hardswish.h). A HardSwish fused from other ops, or
// one from an ONNX file, keeps the exact-float table.
void Importer::tflite_hardswish_tables() {
  for (Node& n : g_.nodes) {
    if (n.op != "QLut" || n.attrs.get_s("func") != "HardSwish" || !hard_swish_nodes_.count(n.name))
      continue;
    const QuantParams& qx = g_.values[static_cast<size_t>(n.inputs.at(0))].quant;
    const QuantParams& qy = g_.values[static_cast<size_t>(n.outputs.at(0))].quant;
    if (qx.scale.size() != 1 || qy.scale.size() != 1 || qx.zero_point.size() != 1 ||
        qy.zero_point.size() != 1)
      fail(src_, ": node ", n.label(), ": HARD_SWISH needs per-tensor input and output quantization");
    // uint8 tensors are lowered as int8 with zero point - 128: same table
    std::vector<int8_t> t;
    try {
      t = tflite_hardswish_table(qx.scale[0], qx.zero_point[0], qy.scale[0], qy.zero_point[0]);
    } catch (const Error& e) {
      fail(src_, ": node ", n.label(), ": ", e.what());
    }
    n.attrs.set("table", std::vector<int64_t>(t.begin(), t.end()));
  }
}

void Importer::check_canonical() const {
  static const std::set<std::string> ops = {
      "Conv", "Relu", "Sigmoid", "HardSwish", "Clip", "Add", "Sub", "Mul", "Div",
      "GlobalAveragePool", "AveragePool", "MaxPool", "Gemm", "Reshape", "Transpose", "Concat",
      "Softmax", "HardSigmoid",
      // integer import (quant_lower.h)
      "QuantizeLinear", "DequantizeLinear", "QConv", "QAdd", "QMul", "QGlobalAveragePool", "QLut",
      "QConcat"};
  for (const Node& n : g_.nodes) {
    if (n.op == "Pad")
      fail(src_, ": node ", n.label(),
           ": zero padding is supported only directly before a convolution or an average pool");
    if (!ops.count(n.op)) fail(src_, ": node ", n.label(), ": left in a non-canonical form");
  }
}

Graph Importer::run(TfliteModelInfo* info) {
  model_ = &verify_model(src_, data_, size_);
  sg_ = model_->subgraphs()->Get(0);
  const uint32_t nt = sg_->tensors() ? sg_->tensors()->size() : 0;
  if (nt == 0) err("the main subgraph has no tensors");
  refs_.assign(nt, Ref{});
  alias_.assign(nt, -1);
  g_.source = src_;
  g_.metadata = read_metadata(src_, *model_, data_, size_);
  g_.metadata["tflite.schema_version"] = std::to_string(model_->version());
  if (model_->description() && model_->description()->size())
    g_.metadata["tflite.description"] = printable(model_->description()->str());

  // Inputs: float values with the file's (NHWC) shapes, or NCHW (nchw_inputs).
  const auto* ins = sg_->inputs();
  if (!ins || ins->size() == 0) err("the subgraph declares no inputs");
  for (int32_t t : *ins) {
    const TensorDef& d = tdef(t);
    if (is_const(t)) err("input '", tname(t), "' is a constant");
    if (!is_activation_type(d.type()))
      err("input '", tname(t), "' has type ", type_name(d.type()), "; only float and quantized inputs are supported");
    Ref& r = refs_[static_cast<size_t>(t)];
    if (r.plain >= 0 || r.nchw >= 0) err("input '", tname(t), "' is listed twice");
    Value v;
    v.name = unique_name(tname(t));
    v.shape = tshape(t);
    const bool as_nchw = opt_.nchw_inputs && v.shape.size() == 4;
    if (as_nchw) v.shape = {v.shape[0], v.shape[3], v.shape[1], v.shape[2]};
    const bool quantized = int_activation(t);  // an int8/uint8 input read by a DequantizeLinear
    if (quantized) {
      v.dtype = d.type() == kUInt8 ? DType::U8 : DType::I8;
      v.quant = tensor_quant(t);
    }
    const int id = g_.add_value(std::move(v));
    g_.inputs.push_back(id);
    op_label_ = "input";
    (as_nchw ? r.nchw : r.plain) = quantized ? dequantize(t, id, as_nchw) : id;
  }

  const auto* ops = sg_->operators();
  const auto* codes = model_->operator_codes();
  if (!ops || ops->size() == 0) err("the subgraph has no operators");
  for (uint32_t i = 0; i < ops->size(); ++i) {
    op_ = ops->Get(i);
    op_index_ = static_cast<int>(i);
    op_label_ = "?";
    if (!op_) err("operator ", i, " is missing");
    const uint32_t ci = op_->opcode_index();
    if (!codes || ci >= codes->size() || !codes->Get(ci))
      err("operator ", i, ": opcode index ", ci, " out of range (", codes ? codes->size() : 0, " codes)");
    op_code_ = codes->Get(ci)->code();
    op_label_ = tflite_schema::builtin_op_name(op_code_);
    if (op_code_ == kCustom && codes->Get(ci)->custom_code())
      op_label_ = "custom op " + printable(codes->Get(ci)->custom_code()->str());
    convert();
  }
  finish_outputs();
  optimize_graph(g_, opt_.numbers == TfliteNumbers::Simulate ? QdqMode::Simulate : QdqMode::Integer);
  if (opt_.numbers == TfliteNumbers::Integer) tflite_hardswish_tables();
  check_canonical();
  infer_shapes(g_);
  g_.validate();

  if (info) *info = read_info(src_, *model_, data_, size_);
  for (int32_t t : *ins) {
    TfliteTensorInfo ti = tensor_info(src_, *sg_, t);
    if (ti.scale.size() == 1)
      g_.metadata["tflite.input." + ti.name] = ti.type + " scale=" + std::to_string(ti.scale[0]) +
                                               " zero_point=" + std::to_string(ti.zero_point[0]);
  }
  return std::move(g_);
}

}  // namespace

bool is_tflite_bytes(const std::string& bytes) {
  return bytes.size() >= 8 && bytes.compare(4, 4, "TFL3") == 0;
}

bool is_tflite_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char head[8];
  if (!f.read(head, 8)) return false;
  return is_tflite_bytes(std::string(head, 8));
}

Graph import_tflite_bytes(const std::string& bytes, const std::string& source_name,
                          TfliteModelInfo* info, const TfliteImportOptions& opt) {
  return with_aligned(bytes, source_name, [&](const uint8_t* data, size_t size) {
    return Importer(source_name, data, size, opt).run(info);
  });
}

Graph import_tflite_file(const std::string& path, TfliteModelInfo* info,
                         const TfliteImportOptions& opt) {
  return import_tflite_bytes(read_file_bytes(path), path, info, opt);
}

TfliteModelInfo read_tflite_info(const std::string& bytes, const std::string& source_name) {
  return with_aligned(bytes, source_name, [&](const uint8_t* data, size_t size) {
    return read_info(source_name, verify_model(source_name, data, size), data, size);
  });
}

TfliteModelInfo read_tflite_info_file(const std::string& path) {
  return read_tflite_info(read_file_bytes(path), path);
}

}  // namespace vedge
