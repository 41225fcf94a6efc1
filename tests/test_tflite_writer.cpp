// test_tflite_writer.cpp: tools/export/tflite_writer.h. Small hand-built
// tflite::Model instances are serialized and read back two ways: through
// the importer (runtime/tflite_import.h, numbers through Session against
// values computed by hand or by a naive NHWC loop here) and through raw
// flatbuffers::Table reads by field number (independent of both the writer
// and the importer). Inconsistent models must give one-line errors and no
// file. One model also runs in LiteRT.js (tests/litert_peer.h).
#include <flatbuffers/flatbuffers.h>
#include <flatbuffers/flexbuffers.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "litert_peer.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/files.h"
#include "runtime/tflite_import.h"
#include "tools/export/tflite_writer.h"

namespace vedge {
namespace {

namespace fs = std::filesystem;
namespace fb = flatbuffers;
using tflite::Model;
using tflite::Op;
using tflite::Operator;
using tflite::Quantization;
using tflite::Tensor;
using TT = tflite::TensorType;

const std::string kWork = std::string(VEDGE_TEST_WORK_DIR) + "/tflite_writer";

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

int32_t activation(Model& m, const std::string& name, TT type, std::vector<int32_t> shape,
                   Quantization q = {}) {
  Tensor t;
  t.name = name;
  t.type = type;
  t.shape = std::move(shape);
  t.quant = std::move(q);
  return m.add_tensor(t);
}

Operator make_op(Op op, std::vector<int32_t> in, std::vector<int32_t> out) {
  Operator o;
  o.op = op;
  o.inputs = std::move(in);
  o.outputs = std::move(out);
  return o;
}

std::vector<float> floats(const vedge::Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// ---- raw FlatBuffer reads (field numbers of the published schema) -------------

constexpr fb::voffset_t F(int n) { return static_cast<fb::voffset_t>(4 + 2 * n); }
using Tables = fb::Vector<fb::Offset<fb::Table>>;

const fb::Table* root(const std::string& b) { return fb::GetRoot<fb::Table>(b.data()); }
const Tables* tables(const fb::Table* t, int n) { return t->GetPointer<const Tables*>(F(n)); }
template <class T>
std::vector<T> vec(const fb::Table* t, int n) {
  auto* v = t->GetPointer<const fb::Vector<T>*>(F(n));
  return v ? std::vector<T>(v->begin(), v->end()) : std::vector<T>{};
}
std::string str(const fb::Table* t, int n) {
  auto* s = t->GetPointer<const fb::String*>(F(n));
  return s ? s->str() : "";
}
const fb::Table* subgraph0(const std::string& b) { return tables(root(b), 2)->Get(0); }

// (builtin code, custom code, version) of each OperatorCode.
struct Code {
  int32_t builtin;
  std::string custom;
  int32_t version;
};
std::vector<Code> op_codes(const std::string& b) {
  std::vector<Code> out;
  for (const fb::Table* c : *tables(root(b), 1))
    out.push_back({std::max<int32_t>(c->GetField<int8_t>(F(0), 0), c->GetField<int32_t>(F(3), 0)),
                   str(c, 1), c->GetField<int32_t>(F(2), 1)});
  return out;
}

// Every non-empty Buffer.data starts at a multiple of 16 from the file start.
void expect_aligned_buffers(const std::string& b) {
  int with_data = 0;
  for (const fb::Table* buf : *tables(root(b), 4)) {
    auto* d = buf->GetPointer<const fb::Vector<uint8_t>*>(F(0));
    if (!d || d->size() == 0) continue;
    ++with_data;
    EXPECT_EQ((reinterpret_cast<const char*>(d->Data()) - b.data()) % 16, 0);
  }
  EXPECT_GT(with_data, 0);
}

std::string import_error(const std::string& bytes) {
  try {
    import_tflite_bytes(bytes, "w.tflite");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// ---- model 1: two float convolutions -------------------------------------------

// x [1,3,3,2] -> CONV_2D 2x2 SAME stride 1, bias, RELU6 -> h [1,3,3,2]
//             -> CONV_2D 1x1, bias 0.25 -> y [1,3,3,1]
struct FloatConvNet {
  std::vector<float> x, w1, b1, w2, b2;
  Model m;
  FloatConvNet() {
    for (int i = 0; i < 18; ++i) x.push_back(0.5f * static_cast<float>(i % 7) - 1.f);
    for (int i = 0; i < 16; ++i) w1.push_back(0.25f * static_cast<float>((i * 5) % 9) - 1.f);
    b1 = {0.5f, -0.25f};
    w2 = {1.5f, -0.5f};
    b2 = {0.25f};
    int32_t xi = activation(m, "x", TT::Float32, {1, 3, 3, 2});
    int32_t w1i = m.add_constant("w1", TT::Float32, {2, 2, 2, 2}, bytes_of(w1));
    int32_t b1i = m.add_constant("b1", TT::Float32, {2}, bytes_of(b1));
    int32_t hi = activation(m, "h", TT::Float32, {1, 3, 3, 2});
    int32_t w2i = m.add_constant("w2", TT::Float32, {1, 1, 1, 2}, bytes_of(w2));
    int32_t b2i = m.add_constant("b2", TT::Float32, {1}, bytes_of(b2));
    int32_t yi = activation(m, "y", TT::Float32, {1, 3, 3, 1});
    Operator c1 = make_op(Op::Conv2D, {xi, w1i, b1i}, {hi});
    c1.options.padding = tflite::Padding::Same;
    c1.options.activation = tflite::Activation::Relu6;
    Operator c2 = make_op(Op::Conv2D, {hi, w2i, b2i}, {yi});
    m.operators = {c1, c2};
    m.inputs = {xi};
    m.outputs = {yi};
    m.metadata["vedge.tflite"] = R"({"precision":"fp32"})";
    m.description = "writer test";
  }
  // Naive NHWC reference: SAME with total padding 1 -> top/left 0, bottom/right 1.
  std::vector<float> expected() const {
    std::vector<float> h(18), y(9);
    for (int oy = 0; oy < 3; ++oy)
      for (int ox = 0; ox < 3; ++ox)
        for (int o = 0; o < 2; ++o) {
          float acc = b1[o];
          for (int ky = 0; ky < 2; ++ky)
            for (int kx = 0; kx < 2; ++kx)
              for (int c = 0; c < 2; ++c) {
                int iy = oy + ky, ix = ox + kx;
                if (iy > 2 || ix > 2) continue;
                acc += x[(iy * 3 + ix) * 2 + c] * w1[((o * 2 + ky) * 2 + kx) * 2 + c];
              }
          h[(oy * 3 + ox) * 2 + o] = std::min(6.f, std::max(0.f, acc));
        }
    for (int p = 0; p < 9; ++p) y[p] = h[p * 2] * w2[0] + h[p * 2 + 1] * w2[1] + b2[0];
    return y;
  }
};

TEST(TfliteWriter, FloatConvRunsThroughTheImporter) {
  FloatConvNet net;
  const std::string b = tflite::serialize(net.m);
  ASSERT_TRUE(is_tflite_bytes(b));
  TfliteModelInfo info;
  Session s(import_tflite_bytes(b, "conv.tflite", &info));
  EXPECT_EQ(info.schema_version, 3u);
  EXPECT_EQ(info.description, "writer test");
  EXPECT_EQ(info.metadata, net.m.metadata);  // Model.metadata read back by the importer
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].name, "x");
  EXPECT_EQ(info.inputs[0].shape, (Shape{1, 3, 3, 2}));
  s.set_input(0, vedge::Tensor::from_floats({1, 3, 3, 2}, net.x));
  s.run();
  const std::vector<float> got = floats(s.output(0)), want = net.expected();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f) << i;
  // The clamp of RELU6 and the bottom/right padding both matter here.
  EXPECT_NE(*std::max_element(want.begin(), want.end()), *std::min_element(want.begin(), want.end()));
}

TEST(TfliteWriter, RawFieldsFollowTheSchema) {
  FloatConvNet net;
  const std::string b = tflite::serialize(net.m);
  ASSERT_TRUE(fb::BufferHasIdentifier(b.data(), "TFL3"));
  const fb::Table* model = root(b);
  EXPECT_EQ(model->GetField<uint32_t>(F(0), 0), 3u);
  EXPECT_EQ(str(model, 3), "writer test");
  // Two CONV_2D operators share one operator code, version 1 (float).
  const std::vector<Code> codes = op_codes(b);
  ASSERT_EQ(codes.size(), 1u);
  EXPECT_EQ(codes[0].builtin, 3);
  EXPECT_EQ(codes[0].version, 1);
  const fb::Table* sg = subgraph0(b);
  EXPECT_EQ(vec<int32_t>(sg, 1), (std::vector<int32_t>{0}));
  EXPECT_EQ(vec<int32_t>(sg, 2), (std::vector<int32_t>{6}));
  ASSERT_EQ(tables(sg, 0)->size(), 7u);
  const fb::Table* w1 = tables(sg, 0)->Get(1);
  EXPECT_EQ(str(w1, 3), "w1");
  EXPECT_EQ(vec<int32_t>(w1, 0), (std::vector<int32_t>{2, 2, 2, 2}));
  EXPECT_EQ(w1->GetField<int8_t>(F(1), 0), 0);  // FLOAT32 (the schema default)
  // The constant's bytes are in the buffer it names, activations use buffer 0.
  uint32_t wb = w1->GetField<uint32_t>(F(2), 0);
  ASSERT_GT(wb, 0u);
  const fb::Table* wbuf = tables(model, 4)->Get(wb);
  EXPECT_EQ(vec<uint8_t>(wbuf, 0), bytes_of(net.w1));
  EXPECT_EQ(tables(sg, 0)->Get(0)->GetField<uint32_t>(F(2), 0), 0u);
  expect_aligned_buffers(b);
  // Operator 0: Conv2DOptions (union type 1): SAME, strides 1, RELU6 (3).
  const fb::Table* op0 = tables(sg, 3)->Get(0);
  EXPECT_EQ(op0->GetField<uint32_t>(F(0), 0), 0u);
  EXPECT_EQ(vec<int32_t>(op0, 1), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(op0->GetField<uint8_t>(F(3), 0), 1);
  const fb::Table* opt = op0->GetPointer<const fb::Table*>(F(4));
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->GetField<int8_t>(F(0), 0), 0);  // SAME
  EXPECT_EQ(opt->GetField<int32_t>(F(1), 0), 1);
  EXPECT_EQ(opt->GetField<int32_t>(F(2), 0), 1);
  EXPECT_EQ(opt->GetField<int8_t>(F(3), 0), 3);
  EXPECT_EQ(opt->GetField<int32_t>(F(4), 1), 1);
  EXPECT_EQ(vec<int32_t>(tables(sg, 3)->Get(1), 1), (std::vector<int32_t>{3, 4, 5}));
  // Model.metadata (field 6): name + index of the buffer with the bytes.
  const Tables* meta = tables(model, 6);
  ASSERT_NE(meta, nullptr);
  ASSERT_EQ(meta->size(), 1u);
  EXPECT_EQ(str(meta->Get(0), 0), "vedge.tflite");
  uint32_t mb = meta->Get(0)->GetField<uint32_t>(F(1), 0);
  ASSERT_LT(mb, tables(model, 4)->size());
  const std::vector<uint8_t> mdata = vec<uint8_t>(tables(model, 4)->Get(mb), 0);
  EXPECT_EQ(std::string(mdata.begin(), mdata.end()), R"({"precision":"fp32"})");
}

// ---- model 2: full-integer depthwise, per-channel --------------------------------

// x (float) -> QUANTIZE (int8, s 0.5) -> DEPTHWISE_CONV_2D 2x2 VALID with
// int8 per-channel filter (scales 0.25, 0.5 on dimension 3) and int32 bias
// (scales 0.125, 0.25) -> int8 (s 0.25, zp -3) -> DEQUANTIZE -> y (float).
// By hand: channel 0 = 1*1 + 3*(-1) + (-1)*0.5 + 2*2 + 0.5 = 2,
//          channel 1 = 2*0.5 + 4*1 + 0.5*(-1) + (-2)*1.5 - 1 = 0.5;
// all values lie on their quantization grids, so float and integer
// evaluation agree exactly.
const std::vector<float> kDwX = {1, 2, 3, 4, -1, 0.5f, 2, -2};
const std::vector<float> kDwY = {2.f, 0.5f};

Model depthwise_int8() {
  Model m;
  int32_t x = activation(m, "x", TT::Float32, {1, 2, 2, 2});
  int32_t xq = activation(m, "x_q", TT::Int8, {1, 2, 2, 2}, {{0.5f}, {0}, 0});
  Quantization wq{{0.25f, 0.5f}, {0, 0}, 3};
  int32_t w = m.add_constant("dw_w", TT::Int8, {1, 2, 2, 2},
                             bytes_of(std::vector<int8_t>{4, 1, -4, 2, 2, -2, 8, 3}), wq);
  Quantization bq{{0.125f, 0.25f}, {0, 0}, 0};
  int32_t bias = m.add_constant("dw_b", TT::Int32, {2}, bytes_of(std::vector<int32_t>{4, -4}), bq);
  int32_t yq = activation(m, "y_q", TT::Int8, {1, 1, 1, 2}, {{0.25f}, {-3}, 0});
  int32_t y = activation(m, "y", TT::Float32, {1, 1, 1, 2});
  Operator dw = make_op(Op::DepthwiseConv2D, {xq, w, bias}, {yq});
  dw.options.depth_multiplier = 1;
  m.operators = {make_op(Op::Quantize, {x}, {xq}), dw, make_op(Op::Dequantize, {yq}, {y})};
  m.inputs = {x};
  m.outputs = {y};
  return m;
}

TEST(TfliteWriter, DepthwiseInt8PerChannelRunsThroughTheImporter) {
  const std::string b = tflite::serialize(depthwise_int8());
  Session s(import_tflite_bytes(b, "dw.tflite"));
  s.set_input(0, vedge::Tensor::from_floats({1, 2, 2, 2}, kDwX));
  s.run();
  EXPECT_EQ(s.output(0).shape(), (Shape{1, 1, 1, 2}));
  const std::vector<float> got = floats(s.output(0));
  EXPECT_NEAR(got.at(0), kDwY[0], 1e-6f);
  EXPECT_NEAR(got.at(1), kDwY[1], 1e-6f);
}

TEST(TfliteWriter, DepthwiseInt8RawQuantizationAndVersions) {
  const Model m = depthwise_int8();
  const std::string b = tflite::serialize(m);
  // QUANTIZE 1, DEPTHWISE_CONV_2D int8 in/filter/out 3, DEQUANTIZE int8 2.
  const std::vector<Code> codes = op_codes(b);
  ASSERT_EQ(codes.size(), 3u);
  EXPECT_EQ(codes[0].builtin, 114);
  EXPECT_EQ(codes[0].version, 1);
  EXPECT_EQ(codes[1].builtin, 4);
  EXPECT_EQ(codes[1].version, 3);
  EXPECT_EQ(codes[2].builtin, 6);
  EXPECT_EQ(codes[2].version, 2);
  const fb::Table* w = tables(subgraph0(b), 0)->Get(2);
  EXPECT_EQ(w->GetField<int8_t>(F(1), 0), 9);  // INT8
  const fb::Table* q = w->GetPointer<const fb::Table*>(F(4));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(vec<float>(q, 2), (std::vector<float>{0.25f, 0.5f}));
  EXPECT_EQ(vec<int64_t>(q, 3), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(q->GetField<int32_t>(F(6), 0), 3);
  const fb::Table* dwopt = tables(subgraph0(b), 3)->Get(1)->GetPointer<const fb::Table*>(F(4));
  ASSERT_NE(dwopt, nullptr);
  EXPECT_EQ(dwopt->GetField<int8_t>(F(0), -1), 1);    // VALID
  EXPECT_EQ(dwopt->GetField<int32_t>(F(3), 0), 1);    // depth_multiplier
  expect_aligned_buffers(b);
}

TEST(TfliteWriter, OpVersionsFollowThePublishedRules) {
  // Float input, int8 per-channel filter, float output: hybrid CONV_2D 5,
  // per-tensor 2; DEQUANTIZE of per-channel int8 5; of float16 3.
  Model m;
  int32_t x = activation(m, "x", TT::Float32, {1, 1, 1, 2});
  int32_t w = m.add_constant("w", TT::Int8, {2, 1, 1, 2}, bytes_of(std::vector<int8_t>{1, 2, 3, 4}),
                             {{0.5f, 0.25f}, {0, 0}, 0});
  int32_t w1 = m.add_constant("w1", TT::Int8, {2, 1, 1, 2}, bytes_of(std::vector<int8_t>{1, 2, 3, 4}),
                              {{0.5f}, {0}, 0});
  int32_t bz = m.add_constant("bz", TT::Float32, {2}, bytes_of(std::vector<float>{0, 0}));
  int32_t h = activation(m, "h", TT::Float32, {1, 1, 1, 2});
  int32_t y = activation(m, "y", TT::Float32, {1, 1, 1, 2});
  int32_t wd = activation(m, "w_deq", TT::Float32, {2, 1, 1, 2});
  int32_t w16 = m.add_constant("w16", TT::Float16, {2}, bytes_of(std::vector<uint16_t>{0x3c00, 0x4000}));
  int32_t w16d = activation(m, "w16_deq", TT::Float32, {2});
  m.operators = {make_op(Op::Conv2D, {x, w, bz}, {h}), make_op(Op::Conv2D, {h, w1, bz}, {y}),
                 make_op(Op::Dequantize, {w}, {wd}), make_op(Op::Dequantize, {w16}, {w16d})};
  m.inputs = {x};
  m.outputs = {y, wd, w16d};
  EXPECT_EQ(tflite::op_version(m, 0), 5);
  EXPECT_EQ(tflite::op_version(m, 1), 2);
  EXPECT_EQ(tflite::op_version(m, 2), 5);
  EXPECT_EQ(tflite::op_version(m, 3), 3);
  // Same op, different versions: separate operator codes.
  const std::vector<Code> codes = op_codes(tflite::serialize(m));
  ASSERT_EQ(codes.size(), 4u);
  EXPECT_EQ(tflite::op_name(Op::HardSwish), "HARD_SWISH");
}

// ---- float16 weights: DEQUANTIZE (version 3) feeding a convolution ----------------

// x [1,1,1,2] -> CONV_2D 1x1 whose float16 filter (1.5, -2, 0.25, 4) and
// bias (0.5, -1) pass through DEQUANTIZE: y = (1.5a - 2b + 0.5, 0.25a + 4b - 1).
const std::vector<float> kF16X = {2.f, 0.5f};
const std::vector<float> kF16Y = {2.5f, 1.5f};

Model fp16_conv() {
  Model m;
  int32_t x = activation(m, "x", TT::Float32, {1, 1, 1, 2});
  // IEEE half bits: 1.5 = 0x3e00, -2 = 0xc000, 0.25 = 0x3400, 4 = 0x4400, 0.5 = 0x3800, -1 = 0xbc00.
  int32_t w16 = m.add_constant("w16", TT::Float16, {2, 1, 1, 2},
                               bytes_of(std::vector<uint16_t>{0x3e00, 0xc000, 0x3400, 0x4400}));
  int32_t b16 = m.add_constant("b16", TT::Float16, {2}, bytes_of(std::vector<uint16_t>{0x3800, 0xbc00}));
  int32_t w = activation(m, "w", TT::Float32, {2, 1, 1, 2});
  int32_t b = activation(m, "b", TT::Float32, {2});
  int32_t y = activation(m, "y", TT::Float32, {1, 1, 1, 2});
  m.operators = {make_op(Op::Dequantize, {w16}, {w}), make_op(Op::Dequantize, {b16}, {b}),
                 make_op(Op::Conv2D, {x, w, b}, {y})};
  m.inputs = {x};
  m.outputs = {y};
  return m;
}

TEST(TfliteWriter, Float16WeightsThroughDequantize) {
  const Model m = fp16_conv();
  EXPECT_EQ(tflite::op_version(m, 0), 3);
  const std::string b = tflite::serialize(m);
  const std::vector<Code> codes = op_codes(b);
  ASSERT_EQ(codes.size(), 2u);  // one DEQUANTIZE code for both, one CONV_2D
  EXPECT_EQ(codes[0].builtin, 6);
  EXPECT_EQ(codes[0].version, 3);
  Session s(import_tflite_bytes(b, "fp16.tflite"));
  s.set_input(0, vedge::Tensor::from_floats({1, 1, 1, 2}, kF16X));
  s.run();
  EXPECT_EQ(floats(s.output(0)), kF16Y);
}

// ---- model 3: concatenation + reshape ---------------------------------------------

TEST(TfliteWriter, ConcatAndReshapeKeepNhwcOrder) {
  Model m;
  int32_t a = activation(m, "a", TT::Float32, {1, 2, 2, 1});
  int32_t bb = activation(m, "b", TT::Float32, {1, 2, 2, 2});
  int32_t c = activation(m, "cat", TT::Float32, {1, 2, 2, 3});
  int32_t shape = m.add_constant("shape", TT::Int32, {2}, bytes_of(std::vector<int32_t>{1, 12}));
  int32_t y = activation(m, "flat", TT::Float32, {1, 12});
  Operator cat = make_op(Op::Concatenation, {a, bb}, {c});
  cat.options.axis = 3;
  Operator rs = make_op(Op::Reshape, {c, shape}, {y});
  rs.options.new_shape = {1, 12};
  m.operators = {cat, rs};
  m.inputs = {a, bb};
  m.outputs = {y};
  const std::string b = tflite::serialize(m);
  Session s(import_tflite_bytes(b, "cat.tflite"));
  s.set_input(0, vedge::Tensor::from_floats({1, 2, 2, 1}, {1, 2, 3, 4}));
  s.set_input(1, vedge::Tensor::from_floats({1, 2, 2, 2}, {10, 11, 20, 21, 30, 31, 40, 41}));
  s.run();
  EXPECT_EQ(floats(s.output(0)),
            (std::vector<float>{1, 10, 11, 2, 20, 21, 3, 30, 31, 4, 40, 41}));
  // ConcatenationOptions (10): axis 3; ReshapeOptions (17): new_shape.
  const fb::Table* sg = subgraph0(b);
  const fb::Table* op0 = tables(sg, 3)->Get(0);
  EXPECT_EQ(op0->GetField<uint8_t>(F(3), 0), 10);
  EXPECT_EQ(op0->GetPointer<const fb::Table*>(F(4))->GetField<int32_t>(F(0), 0), 3);
  const fb::Table* op1 = tables(sg, 3)->Get(1);
  EXPECT_EQ(op1->GetField<uint8_t>(F(3), 0), 17);
  EXPECT_EQ(vec<int32_t>(op1->GetPointer<const fb::Table*>(F(4)), 0), (std::vector<int32_t>{1, 12}));
}

// ---- model 4: a custom operator with FlexBuffer options + metadata ----------------

TEST(TfliteWriter, CustomOperatorAndMetadataAreWritten) {
  flexbuffers::Builder fbb;
  fbb.Map([&]() {
    fbb.Int("max_detections", 7);
    fbb.Float("nms_iou_threshold", 0.5f);
  });
  fbb.Finish();
  Model m;
  int32_t x = activation(m, "x", TT::Float32, {1, 4});
  int32_t g = m.add_constant("idx", TT::Int32, {4}, bytes_of(std::vector<int32_t>{1, 0, 3, 2}));
  int32_t xg = activation(m, "x_g", TT::Float32, {1, 4});
  int32_t y = activation(m, "y", TT::Float32, {1, 4});
  Operator ga = make_op(Op::Gather, {x, g}, {xg});
  ga.options.axis = 1;
  Operator cu = make_op(Op::Custom, {xg}, {y});
  cu.custom_code = "VedgeTestOp";
  cu.custom_options = fbb.GetBuffer();
  m.operators = {ga, cu};
  m.inputs = {x};
  m.outputs = {y};
  m.metadata["vedge.detector"] = R"({"labels":["a"]})";
  m.metadata["vedge.tflite"] = R"({"precision":"fp32"})";
  const std::string b = tflite::serialize(m);

  const std::vector<Code> codes = op_codes(b);
  ASSERT_EQ(codes.size(), 2u);
  EXPECT_EQ(codes[0].builtin, 36);  // GATHER
  EXPECT_EQ(codes[1].builtin, 32);  // CUSTOM
  EXPECT_EQ(codes[1].custom, "VedgeTestOp");
  EXPECT_EQ(codes[1].version, 1);
  const fb::Table* sg = subgraph0(b);
  const fb::Table* gop = tables(sg, 3)->Get(0);
  EXPECT_EQ(gop->GetField<uint8_t>(F(3), 0), 23);  // GatherOptions
  EXPECT_EQ(gop->GetPointer<const fb::Table*>(F(4))->GetField<int32_t>(F(0), 0), 1);
  const fb::Table* cop = tables(sg, 3)->Get(1);
  EXPECT_EQ(cop->GetField<uint8_t>(F(3), 0), 0);  // no builtin options
  const std::vector<uint8_t> opts = vec<uint8_t>(cop, 5);
  EXPECT_EQ(opts, fbb.GetBuffer());
  ASSERT_FALSE(opts.empty());
  auto map = flexbuffers::GetRoot(opts).AsMap();
  EXPECT_EQ(map["max_detections"].AsInt32(), 7);
  EXPECT_FLOAT_EQ(map["nms_iou_threshold"].AsFloat(), 0.5f);

  const fb::Table* model = root(b);
  std::map<std::string, std::string> meta;
  for (const fb::Table* e : *tables(model, 6)) {
    const std::vector<uint8_t> d = vec<uint8_t>(tables(model, 4)->Get(e->GetField<uint32_t>(F(1), 0)), 0);
    meta[str(e, 0)] = std::string(d.begin(), d.end());
  }
  EXPECT_EQ(meta, m.metadata);
  expect_aligned_buffers(b);
}

// ---- bad models: one line, no file -------------------------------------------------

void expect_rejected(const Model& m, const std::string& fragment) {
  fs::create_directories(kWork);
  const std::string path = kWork + "/bad.tflite";
  fs::remove(path);
  std::string msg;
  try {
    tflite::write_file(m, path);
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find(fragment), std::string::npos) << "message: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind(path, 0), 0u) << "names the file: " << msg;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(TfliteWriter, BadModelsGiveOneLineErrorsAndNoFile) {
  {
    Model m = depthwise_int8();
    m.operators[1].inputs[0] = 42;
    expect_rejected(m, "operator 1 (DEPTHWISE_CONV_2D): input 0 is tensor index 42");
  }
  {
    Model m = depthwise_int8();
    m.buffers[m.tensors[2].buffer].pop_back();
    expect_rejected(m, "tensor 2 'dw_w': buffer 1 holds 7 bytes, shape and type need 8");
  }
  {
    Model m = depthwise_int8();
    m.buffers[0] = {1, 2, 3};
    expect_rejected(m, "buffer 0 must be empty");
  }
  {
    Model m = depthwise_int8();
    std::swap(m.operators[0], m.operators[1]);  // reads x_q before QUANTIZE writes it
    expect_rejected(m, "input 0 (tensor 1 'x_q') is read before any operator writes it");
  }
  {
    Model m = depthwise_int8();
    m.tensors[0].shape[0] = -1;
    expect_rejected(m, "dynamic shapes are not supported");
  }
  {
    Model m = depthwise_int8();
    m.tensors[2].quant.quantized_dimension = 0;  // 2 scales, dimension 0 has size 1
    expect_rejected(m, "per-channel scales do not match dimension 0");
  }
  {
    Model m = depthwise_int8();
    m.operators[1].inputs[2] = -1;
    expect_rejected(m, "operator 1 (DEPTHWISE_CONV_2D): needs a bias input");
  }
  {
    Model m = depthwise_int8();
    m.tensors[0].buffer = 99;
    expect_rejected(m, "buffer index 99 out of range");
  }
  {
    Model m = depthwise_int8();
    m.operators[1].op = static_cast<Op>(200);
    expect_rejected(m, "builtin code 200 is not supported");
  }
  {
    Model m = depthwise_int8();
    m.operators.pop_back();  // output y never written
    expect_rejected(m, "model output tensor 5 'y' is never written");
  }
  // A good model is written and reads back.
  const std::string path = kWork + "/good.tflite";
  tflite::write_file(depthwise_int8(), path);
  EXPECT_EQ(import_error(read_text_file(path)), "");
}

// ---- LiteRT ------------------------------------------------------------------------

TEST(TfliteWriter, WrittenModelsRunInLiteRt) {
  if (!test::litert_available()) return;
  fs::create_directories(kWork);
  {  // float convolutions
    FloatConvNet net;
    const std::string path = kWork + "/conv.tflite";
    tflite::write_file(net.m, path);
    test::LitertRun r = test::run_litert(
        path, {{"x", vedge::Tensor::from_floats({1, 3, 3, 2}, net.x)}}, kWork + "/litert_conv");
    ASSERT_TRUE(r.ok);
    ASSERT_EQ(r.outputs.size(), 1u);
    const std::vector<float> got = floats(r.outputs[0].value), want = net.expected();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f) << i;
  }
  {  // float16 constants widened by DEQUANTIZE version 3
    const std::string path = kWork + "/fp16.tflite";
    tflite::write_file(fp16_conv(), path);
    test::LitertRun r = test::run_litert(
        path, {{"x", vedge::Tensor::from_floats({1, 1, 1, 2}, kF16X)}}, kWork + "/litert_fp16");
    ASSERT_TRUE(r.ok);
    ASSERT_EQ(r.outputs.size(), 1u);
    EXPECT_EQ(floats(r.outputs[0].value), kF16Y);
  }
  {  // full-integer depthwise with TFLite's own fixed-point kernels
    const std::string path = kWork + "/dw.tflite";
    tflite::write_file(depthwise_int8(), path);
    test::LitertRun r = test::run_litert(
        path, {{"x", vedge::Tensor::from_floats({1, 2, 2, 2}, kDwX)}}, kWork + "/litert_dw");
    ASSERT_TRUE(r.ok);
    ASSERT_EQ(r.outputs.size(), 1u);
    const std::vector<float> got = floats(r.outputs[0].value);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_FLOAT_EQ(got[0], kDwY[0]);
    EXPECT_FLOAT_EQ(got[1], kDwY[1]);
  }
}

// Every builtin op the writer knows, each on the same input, run by
// LiteRT: checks each options table and op version against a real runtime.
TEST(TfliteWriter, EveryBuiltinOpRunsInLiteRt) {
  if (!test::litert_available()) return;
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = 0.9f * static_cast<float>(i - 7);  // -6.3 .. 7.2
  const std::vector<float> c = {0.5f, -1.f, 2.f, 0.25f};
  std::vector<float> fc_w(48);
  for (int i = 0; i < 48; ++i) fc_w[i] = 0.125f * static_cast<float>(i % 5) - 0.25f;
  const std::vector<float> fc_b = {1.f, -2.f, 0.5f};

  Model m;
  int32_t xi = activation(m, "x", TT::Float32, {1, 2, 2, 4});
  int32_t ci = m.add_constant("c", TT::Float32, {4}, bytes_of(c));
  std::vector<std::pair<std::string, std::vector<float>>> want;  // per output, by hand
  auto add = [&](Op op, std::vector<int32_t> in, const std::string& name, std::vector<int32_t> shape,
                 std::vector<float> expected, tflite::OpOptions o = {}) {
    int32_t y = activation(m, name, TT::Float32, std::move(shape));
    Operator od = make_op(op, std::move(in), {y});
    od.options = o;
    m.operators.push_back(od);
    m.outputs.push_back(y);
    want.emplace_back(name, std::move(expected));
    return y;
  };
  auto map = [&](float (*f)(float, float)) {
    std::vector<float> v(16);
    for (int i = 0; i < 16; ++i) v[i] = f(x[i], c[i % 4]);
    return v;
  };
  add(Op::Add, {xi, ci}, "add", {1, 2, 2, 4}, map([](float a, float b) { return a + b; }));
  add(Op::Sub, {xi, ci}, "sub", {1, 2, 2, 4}, map([](float a, float b) { return a - b; }));
  add(Op::Mul, {xi, ci}, "mul", {1, 2, 2, 4}, map([](float a, float b) { return a * b; }));
  add(Op::Maximum, {xi, ci}, "max", {1, 2, 2, 4}, map([](float a, float b) { return std::max(a, b); }));
  add(Op::Minimum, {xi, ci}, "min", {1, 2, 2, 4}, map([](float a, float b) { return std::min(a, b); }));
  add(Op::Logistic, {xi}, "logistic", {1, 2, 2, 4},
      map([](float a, float) { return 1.f / (1.f + std::exp(-a)); }));
  add(Op::Relu, {xi}, "relu", {1, 2, 2, 4}, map([](float a, float) { return std::max(a, 0.f); }));
  add(Op::Relu6, {xi}, "relu6", {1, 2, 2, 4},
      map([](float a, float) { return std::min(std::max(a, 0.f), 6.f); }));
  add(Op::HardSwish, {xi}, "hard_swish", {1, 2, 2, 4},
      map([](float a, float) { return a * std::min(std::max(a + 3.f, 0.f), 6.f) / 6.f; }));
  {  // SOFTMAX over channels, beta 0.5
    std::vector<float> v(16);
    for (int p = 0; p < 4; ++p) {
      float sum = 0;
      for (int k = 0; k < 4; ++k) sum += std::exp(0.5f * x[p * 4 + k]);
      for (int k = 0; k < 4; ++k) v[p * 4 + k] = std::exp(0.5f * x[p * 4 + k]) / sum;
    }
    tflite::OpOptions o;
    o.beta = 0.5f;
    add(Op::Softmax, {xi}, "softmax", {1, 2, 2, 4}, v, o);
  }
  std::vector<float> avg(4), mx(4, -1e9f);
  for (int k = 0; k < 4; ++k)
    for (int p = 0; p < 4; ++p) {
      avg[k] += x[p * 4 + k] / 4;
      mx[k] = std::max(mx[k], x[p * 4 + k]);
    }
  {
    int32_t axes = m.add_constant("axes", TT::Int32, {2}, bytes_of(std::vector<int32_t>{1, 2}));
    tflite::OpOptions o;
    o.keep_dims = true;
    add(Op::Mean, {xi, axes}, "mean", {1, 1, 1, 4}, avg, o);
  }
  {
    tflite::OpOptions o;
    o.filter_w = o.filter_h = 2;
    o.stride_w = o.stride_h = 2;
    add(Op::AveragePool2D, {xi}, "avg_pool", {1, 1, 1, 4}, avg, o);
    add(Op::MaxPool2D, {xi}, "max_pool", {1, 1, 1, 4}, mx, o);
  }
  {  // TRANSPOSE to [1,4,2,2]
    int32_t perm = m.add_constant("perm", TT::Int32, {4}, bytes_of(std::vector<int32_t>{0, 3, 1, 2}));
    std::vector<float> v(16);
    for (int k = 0; k < 4; ++k)
      for (int p = 0; p < 4; ++p) v[k * 4 + p] = x[p * 4 + k];
    add(Op::Transpose, {xi, perm}, "transpose", {1, 4, 2, 2}, v);
  }
  {  // GATHER channels 3, 0
    int32_t idx = m.add_constant("idx", TT::Int32, {2}, bytes_of(std::vector<int32_t>{3, 0}));
    std::vector<float> v;
    for (int p = 0; p < 4; ++p) v.insert(v.end(), {x[p * 4 + 3], x[p * 4]});
    tflite::OpOptions o;
    o.axis = 3;
    add(Op::Gather, {xi, idx}, "gather", {1, 2, 2, 2}, v, o);
  }
  {  // PAD one row on top and one column on the right
    int32_t pads = m.add_constant("pads", TT::Int32, {4, 2},
                                  bytes_of(std::vector<int32_t>{0, 0, 1, 0, 0, 1, 0, 0}));
    std::vector<float> v(36, 0.f);
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 2; ++w)
        for (int k = 0; k < 4; ++k) v[((h + 1) * 3 + w) * 4 + k] = x[(h * 2 + w) * 4 + k];
    add(Op::Pad, {xi, pads}, "pad", {1, 3, 3, 4}, v);
  }
  {  // CONCATENATION: x twice along channels
    std::vector<float> v;
    for (int p = 0; p < 4; ++p)
      for (int r = 0; r < 2; ++r) v.insert(v.end(), x.begin() + p * 4, x.begin() + p * 4 + 4);
    tflite::OpOptions o;
    o.axis = 3;
    add(Op::Concatenation, {xi, xi}, "concat", {1, 2, 2, 8}, v, o);
  }
  {  // RESHAPE to [1,16] then FULLY_CONNECTED [3,16] + bias
    int32_t shp = m.add_constant("shape16", TT::Int32, {2}, bytes_of(std::vector<int32_t>{1, 16}));
    tflite::OpOptions o;
    o.new_shape = {1, 16};
    int32_t flat = add(Op::Reshape, {xi, shp}, "reshape", {1, 16}, x, o);
    int32_t wi = m.add_constant("fc_w", TT::Float32, {3, 16}, bytes_of(fc_w));
    int32_t bi = m.add_constant("fc_b", TT::Float32, {3}, bytes_of(fc_b));
    std::vector<float> v(3);
    for (int j = 0; j < 3; ++j) {
      v[j] = fc_b[j];
      for (int k = 0; k < 16; ++k) v[j] += fc_w[j * 16 + k] * x[k];
    }
    add(Op::FullyConnected, {flat, wi, bi}, "fc", {1, 3}, v);
  }
  {  // QUANTIZE to int8 (scale 0.1: x / 0.1 are integers) and back
    int32_t q = activation(m, "x_q", TT::Int8, {1, 2, 2, 4}, {{0.1f}, {0}, 0});
    m.operators.push_back(make_op(Op::Quantize, {xi}, {q}));
    add(Op::Dequantize, {q}, "round_trip", {1, 2, 2, 4}, x);
  }
  m.inputs = {xi};

  fs::create_directories(kWork);
  const std::string path = kWork + "/all_ops.tflite";
  tflite::write_file(m, path);
  test::LitertRun r = test::run_litert(path, {{"x", vedge::Tensor::from_floats({1, 2, 2, 4}, x)}},
                                       kWork + "/litert_all_ops");
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.outputs.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.outputs[i].io.name, want[i].first);
    const std::vector<float> got = floats(r.outputs[i].value);
    ASSERT_EQ(got.size(), want[i].second.size()) << want[i].first;
    for (size_t k = 0; k < got.size(); ++k)
      EXPECT_NEAR(got[k], want[i].second[k], 1e-4f) << want[i].first << " element " << k;
  }
}

}  // namespace
}  // namespace vedge
