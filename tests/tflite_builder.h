// tflite_builder.h: builds small .tflite flatbuffers in tests with
// flatbuffers::FlatBufferBuilder, from the field numbers documented in
// docs/tflite-format.md (independent of the importer's table views).
// Describe buffers, tensors, operators (builtin or custom) and metadata
// entries, then finish() serializes them.
// Header-only; depends on Debian's flatbuffers headers only.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace vedge {
namespace test {

class TfliteBuilder {
 public:
  // TensorType values.
  enum Type : int8_t { F32 = 0, F16 = 1, I32 = 2, U8 = 3, I64 = 4, I8 = 9 };
  // One scalar field of a builtin options table: kind 'b' (int8/bool),
  // 'i' (int32) or 'f' (float).
  struct Opt {
    int field;
    char kind;
    double value;
  };

  TfliteBuilder() { buffers_.emplace_back(); }  // buffer 0: the empty sentinel

  template <class T>
  uint32_t buffer(const std::vector<T>& v) {
    std::vector<uint8_t> b(v.size() * sizeof(T));
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
    buffers_.push_back(b);
    return static_cast<uint32_t>(buffers_.size() - 1);
  }

  int tensor(const std::string& name, std::vector<int32_t> shape, int8_t type,
             uint32_t buffer = 0, std::vector<float> scale = {}, std::vector<int64_t> zp = {},
             int32_t qdim = 0) {
    tensors_.push_back({name, std::move(shape), type, buffer, std::move(scale), std::move(zp), qdim});
    return static_cast<int>(tensors_.size() - 1);
  }
  // A constant tensor with its own buffer.
  template <class T>
  int constant(const std::string& name, std::vector<int32_t> shape, int8_t type,
               const std::vector<T>& data, std::vector<float> scale = {},
               std::vector<int64_t> zp = {}, int32_t qdim = 0) {
    return tensor(name, std::move(shape), type, buffer(data), std::move(scale), std::move(zp), qdim);
  }

  // Appends an operator; `code` is the BuiltinOperator value.
  void op(int32_t code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
          uint8_t options_type = 0, std::vector<Opt> opts = {}) {
    ops_.push_back(
        {code_index(code, ""), std::move(inputs), std::move(outputs), options_type, std::move(opts), {}});
  }
  // Appends a CUSTOM (32) operator with that custom code and raw
  // custom_options bytes (e.g. a FlexBuffer map).
  void custom_op(const std::string& custom_code, std::vector<int32_t> inputs,
                 std::vector<int32_t> outputs, std::vector<uint8_t> custom_options = {}) {
    ops_.push_back({code_index(32, custom_code), std::move(inputs), std::move(outputs), 0, {},
                    std::move(custom_options)});
  }
  // A Model.metadata entry whose bytes get a buffer of their own.
  void metadata(const std::string& name, const std::string& bytes) {
    metadata_.push_back({name, buffer(std::vector<char>(bytes.begin(), bytes.end()))});
  }
  // Test hook for malformed files: a metadata entry with a raw buffer index.
  void raw_metadata(const std::string& name, uint32_t buffer_index) {
    metadata_.push_back({name, buffer_index});
  }
  // Test hook for malformed files: an operator with a raw opcode index.
  void raw_op(uint32_t opcode_index, std::vector<int32_t> inputs, std::vector<int32_t> outputs) {
    ops_.push_back({opcode_index, std::move(inputs), std::move(outputs), 0, {}, {}});
  }

  std::string finish(const std::vector<int32_t>& inputs, const std::vector<int32_t>& outputs) {
    flatbuffers::FlatBufferBuilder b;
    b.ForceDefaults(true);
    using Off = flatbuffers::uoffset_t;
    auto F = [](int n) { return static_cast<flatbuffers::voffset_t>(4 + 2 * n); };

    std::vector<flatbuffers::Offset<void>> tensors;
    for (const TensorSpec& t : tensors_) {
      auto shape = b.CreateVector(t.shape);
      auto name = b.CreateString(t.name);
      flatbuffers::Offset<void> quant;
      if (!t.scale.empty()) {
        auto sc = b.CreateVector(t.scale);
        auto zp = b.CreateVector(t.zp);
        Off s = b.StartTable();
        b.AddOffset(F(2), sc);
        b.AddOffset(F(3), zp);
        b.AddElement<int32_t>(F(6), t.qdim, 0);
        quant = flatbuffers::Offset<void>(b.EndTable(s));
      }
      Off s = b.StartTable();
      b.AddOffset(F(0), shape);
      b.AddElement<int8_t>(F(1), t.type, 0);
      b.AddElement<uint32_t>(F(2), t.buffer, 0);
      b.AddOffset(F(3), name);
      if (!quant.IsNull()) b.AddOffset(F(4), quant);
      tensors.push_back(flatbuffers::Offset<void>(b.EndTable(s)));
    }
    std::vector<flatbuffers::Offset<void>> ops;
    for (const OpSpec& o : ops_) {
      auto in = b.CreateVector(o.inputs);
      auto out = b.CreateVector(o.outputs);
      flatbuffers::Offset<flatbuffers::Vector<uint8_t>> custom;
      if (!o.custom_options.empty()) custom = b.CreateVector(o.custom_options);
      flatbuffers::Offset<void> opts;
      if (o.options_type != 0) {
        Off s = b.StartTable();
        for (const Opt& f : o.opts) {
          if (f.kind == 'b') b.AddElement<int8_t>(F(f.field), static_cast<int8_t>(f.value), 0);
          else if (f.kind == 'i') b.AddElement<int32_t>(F(f.field), static_cast<int32_t>(f.value), 0);
          else b.AddElement<float>(F(f.field), static_cast<float>(f.value), 0.f);
        }
        opts = flatbuffers::Offset<void>(b.EndTable(s));
      }
      Off s = b.StartTable();
      b.AddElement<uint32_t>(F(0), o.opcode_index, 0);
      b.AddOffset(F(1), in);
      b.AddOffset(F(2), out);
      if (o.options_type != 0) {
        b.AddElement<uint8_t>(F(3), o.options_type, 0);
        b.AddOffset(F(4), opts);
      }
      if (!custom.IsNull()) b.AddOffset(F(5), custom);
      ops.push_back(flatbuffers::Offset<void>(b.EndTable(s)));
    }
    auto tvec = b.CreateVector(tensors);
    auto ovec = b.CreateVector(ops);
    auto ins = b.CreateVector(inputs);
    auto outs = b.CreateVector(outputs);
    auto sgname = b.CreateString("main");
    Off s = b.StartTable();
    b.AddOffset(F(0), tvec);
    b.AddOffset(F(1), ins);
    b.AddOffset(F(2), outs);
    b.AddOffset(F(3), ovec);
    b.AddOffset(F(4), sgname);
    auto subgraph = flatbuffers::Offset<void>(b.EndTable(s));

    std::vector<flatbuffers::Offset<void>> codes;
    for (const CodeSpec& cd : codes_) {
      const int32_t c = cd.code;
      flatbuffers::Offset<flatbuffers::String> custom;
      if (!cd.custom.empty()) custom = b.CreateString(cd.custom);
      Off cs = b.StartTable();
      b.AddElement<int8_t>(F(0), static_cast<int8_t>(c < 127 ? c : 127), 0);
      if (!custom.IsNull()) b.AddOffset(F(1), custom);
      b.AddElement<int32_t>(F(2), 1, 0);
      b.AddElement<int32_t>(F(3), c, 0);
      codes.push_back(flatbuffers::Offset<void>(b.EndTable(cs)));
    }
    std::vector<flatbuffers::Offset<void>> bufs;
    for (const auto& d : buffers_) {
      flatbuffers::Offset<flatbuffers::Vector<uint8_t>> data;
      if (!d.empty()) {
        b.ForceVectorAlignment(d.size(), 1, 16);
        data = b.CreateVector(d);
      }
      Off bs = b.StartTable();
      if (!d.empty()) b.AddOffset(F(0), data);
      bufs.push_back(flatbuffers::Offset<void>(b.EndTable(bs)));
    }
    auto cvec = b.CreateVector(codes);
    auto svec = b.CreateVector(std::vector<flatbuffers::Offset<void>>{subgraph});
    auto bvec = b.CreateVector(bufs);
    auto desc = b.CreateString("vedge test model");
    std::vector<flatbuffers::Offset<void>> metas;
    for (const MetaSpec& m : metadata_) {
      auto name = b.CreateString(m.name);
      Off es = b.StartTable();
      b.AddOffset(F(0), name);
      b.AddElement<uint32_t>(F(1), m.buffer, 0);
      metas.push_back(flatbuffers::Offset<void>(b.EndTable(es)));
    }
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<void>>> mvec;
    if (!metas.empty()) mvec = b.CreateVector(metas);
    Off ms = b.StartTable();
    b.AddElement<uint32_t>(F(0), 3, 0);
    b.AddOffset(F(1), cvec);
    b.AddOffset(F(2), svec);
    b.AddOffset(F(3), desc);
    b.AddOffset(F(4), bvec);
    if (!mvec.IsNull()) b.AddOffset(F(6), mvec);
    b.Finish(flatbuffers::Offset<void>(b.EndTable(ms)), "TFL3");
    return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  }

 private:
  struct TensorSpec {
    std::string name;
    std::vector<int32_t> shape;
    int8_t type;
    uint32_t buffer;
    std::vector<float> scale;
    std::vector<int64_t> zp;
    int32_t qdim;
  };
  struct OpSpec {
    uint32_t opcode_index;
    std::vector<int32_t> inputs, outputs;
    uint8_t options_type;
    std::vector<Opt> opts;
    std::vector<uint8_t> custom_options;
  };
  struct CodeSpec {
    int32_t code;
    std::string custom;  // custom_code of a CUSTOM operator
  };
  struct MetaSpec {
    std::string name;
    uint32_t buffer;
  };
  uint32_t code_index(int32_t code, const std::string& custom) {
    uint32_t idx = 0;
    while (idx < codes_.size() && (codes_[idx].code != code || codes_[idx].custom != custom)) ++idx;
    if (idx == codes_.size()) codes_.push_back({code, custom});
    return idx;
  }
  std::vector<std::vector<uint8_t>> buffers_;
  std::vector<TensorSpec> tensors_;
  std::vector<OpSpec> ops_;
  std::vector<CodeSpec> codes_;
  std::vector<MetaSpec> metadata_;
};

}  // namespace test
}  // namespace vedge
