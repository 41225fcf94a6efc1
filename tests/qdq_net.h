// qdq_net.h: builds small QDQ ONNX models in tests, in the form `vedge
// quantize` writes (int8 symmetric per-channel weights, int32 biases at
// sx * sw[c], Q/DQ pairs after activations): test_quant_import runs them
// against ONNX Runtime, test_fuzz_inputs uses one as a fuzz seed.
// Depends on tests/onnx_builder.h only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "onnx_builder.h"

namespace vedge::test {

// An initializer of any element type from raw little-endian bytes.
inline onnx::TensorProto raw_tensor(const std::string& name, const Shape& shape, int type,
                             const void* data, size_t bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : shape) t.add_dims(d);
  t.set_raw_data(std::string(static_cast<const char*>(data), bytes));
  return t;
}

// A QDQ model under construction: random float weights are quantized here
// exactly as `vedge quantize` does (int8 symmetric per-channel, int32 bias
// at sx * sw[c]).
class QdqNet {
 public:
  explicit QdqNet(uint64_t seed, int64_t opset = 13) : b(opset), rng_(seed) {}
  test::OnnxBuilder b;

  std::string fresh(const std::string& p) { return p + std::to_string(uid_++); }

  // scale / zero point initializers of an int8 (or uint8) per-tensor pair.
  std::pair<std::string, std::string> params(float scale, int zp, bool u8 = false) {
    const std::string s = fresh("s"), z = fresh("z");
    b.initializer(s, {}, {scale});
    const int8_t zi = static_cast<int8_t>(zp);
    const uint8_t zu = static_cast<uint8_t>(zp);
    b.initializer(u8 ? raw_tensor(z, {}, onnx::TensorProto_DataType_UINT8, &zu, 1)
                     : raw_tensor(z, {}, onnx::TensorProto_DataType_INT8, &zi, 1));
    return {s, z};
  }
  std::string quantize(const std::string& x, float scale, int zp, bool u8 = false) {
    auto [s, z] = params(scale, zp, u8);
    const std::string q = fresh("q");
    b.node("QuantizeLinear", {x, s, z}, {q});
    return q;
  }
  std::string dequantize(const std::string& q, float scale, int zp, bool u8 = false) {
    auto [s, z] = params(scale, zp, u8);
    const std::string d = fresh("dq");
    b.node("DequantizeLinear", {q, s, z}, {d});
    return d;
  }
  // Q -> DQ; remembers the scale of the value for the next conv's bias.
  std::string qdq(const std::string& x, float scale, int zp, bool u8 = false) {
    const std::string d = dequantize(quantize(x, scale, zp, u8), scale, zp, u8);
    scale_[d] = scale;
    return d;
  }
  void note_scale(const std::string& v, float s) { scale_[v] = s; }

  // Conv with DQ(int8 per-channel W) and DQ(int32 B); x must come from qdq().
  std::string conv(const std::string& x, int64_t M, int64_t C, int64_t k, int64_t stride,
                   int64_t group = 1) {
    const int64_t cg = C / group, per = cg * k * k;
    std::uniform_real_distribution<float> uw(-0.5f, 0.5f), ub(-0.2f, 0.2f);
    std::vector<int8_t> wq(static_cast<size_t>(M * per));
    std::vector<float> sw(static_cast<size_t>(M));
    std::vector<int32_t> bq(static_cast<size_t>(M));
    std::vector<float> sb(static_cast<size_t>(M));
    const float sx = scale_.at(x);
    for (int64_t m = 0; m < M; ++m) {
      std::vector<float> w(static_cast<size_t>(per));
      float mx = 1e-6f;
      for (float& v : w) mx = std::max(mx, std::fabs(v = uw(rng_)));
      sw[m] = mx / 127.f;
      for (int64_t i = 0; i < per; ++i)
        wq[m * per + i] = static_cast<int8_t>(std::lround(std::clamp(w[i] / sw[m], -127.f, 127.f)));
      sb[m] = sx * sw[m];
      bq[m] = static_cast<int32_t>(std::lround(ub(rng_) / sb[m]));
    }
    const std::string w = fresh("w"), ws = fresh("ws"), wz = fresh("wz"), b8 = fresh("b"),
                      bs = fresh("bs"), bz = fresh("bz");
    b.initializer(
        raw_tensor(w, {M, cg, k, k}, onnx::TensorProto_DataType_INT8, wq.data(), wq.size()));
    b.initializer(ws, {M}, sw);
    std::vector<int8_t> zeros8(static_cast<size_t>(M), 0);
    b.initializer(
        raw_tensor(wz, {M}, onnx::TensorProto_DataType_INT8, zeros8.data(), zeros8.size()));
    b.initializer(raw_tensor(b8, {M}, onnx::TensorProto_DataType_INT32, bq.data(), bq.size() * 4));
    b.initializer(bs, {M}, sb);
    std::vector<int32_t> zeros32(static_cast<size_t>(M), 0);
    b.initializer(
        raw_tensor(bz, {M}, onnx::TensorProto_DataType_INT32, zeros32.data(), zeros32.size() * 4));
    const std::string wd = fresh("wd"), bd = fresh("bd"), y = fresh("conv");
    b.node("DequantizeLinear", {w, ws, wz}, {wd}, {attr_i("axis", 0)});
    b.node("DequantizeLinear", {b8, bs, bz}, {bd}, {attr_i("axis", 0)});
    const int64_t p = k / 2;
    b.node("Conv", {x, wd, bd}, {y},
           {attr_ints("pads", {p, p, p, p}), attr_ints("strides", {stride, stride}),
            attr_i("group", group), attr_ints("kernel_shape", {k, k})});
    return y;
  }
  std::string op(const std::string& type, const std::vector<std::string>& in,
                 const std::vector<onnx::AttributeProto>& attrs = {}) {
    const std::string y = fresh(type);
    b.node(type, in, {y}, attrs);
    return y;
  }
  std::string clip(const std::string& x, float lo, float hi) {
    const std::string l = fresh("lo"), h = fresh("hi");
    b.initializer(l, {}, {lo});
    b.initializer(h, {}, {hi});
    return op("Clip", {x, l, h});
  }
  std::string hardswish(const std::string& x) {  // as the ONNX writer spells it
    return op("Mul",
              {x, op("HardSigmoid", {x}, {attr_f("alpha", 1.f / 6.f), attr_f("beta", 0.5f)})});
  }
  std::string i64(const std::vector<int64_t>& v) {
    const std::string n = fresh("shape");
    b.initializer_i64(n, {static_cast<int64_t>(v.size())}, v);
    return n;
  }

 private:
  std::mt19937 rng_;
  int uid_ = 0;
  std::map<std::string, float> scale_;
};

}  // namespace vedge::test
