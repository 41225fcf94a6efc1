// tflite_convert.cpp: graph_to_tflite (see tflite_convert.h). Each IR value
// is held by one or more TFLite tensors, each in a layout = a permutation of
// the IR axes ("plain" = identity, "nhwc" = {0,2,3,1}). Ops ask for the
// layout they need; a missing one is made on demand by a TRANSPOSE (or a
// RESHAPE when only size-1 axes move), constants are permuted. Transpose
// only relabels axes (no op) and Reshape works on whatever layout its input
// has when the axes it merges or splits stay together, so the detector
// head's NHWC conv -> Reshape -> Transpose -> Reshape needs RESHAPEs only.
// Depends on runtime/ (graph, quant_lower, passes), tflite_model.h and
// tools/quantize/qdq_builder.h; no FlatBuffers.
#include "tools/export/tflite_convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "runtime/error.h"
#include "runtime/passes.h"
#include "runtime/quant_lower.h"
#include "tools/quantize/qdq_builder.h"

namespace vedge {

namespace {

using tflite::Activation;
using tflite::Op;
using tflite::TensorType;
using Perm = std::vector<int64_t>;

constexpr int kNone = -1;

// IR logical NCHW -> NHWC position of each axis.
const std::vector<int64_t> kToNhwc = {0, 2, 3, 1};
const std::vector<int64_t> kToNchw = {0, 3, 1, 2};  // = the position of IR axis a in NHWC

Shape permuted(const Shape& s, const std::vector<int64_t>& perm) {
  Shape r;
  for (int64_t p : perm) r.push_back(s[static_cast<size_t>(p)]);
  return r;
}

// Result axis i = source axis perm[i] (any dtype, any rank).
Tensor permute(const Tensor& t, const std::vector<int64_t>& perm) {
  const Shape& s = t.shape();
  const size_t rank = s.size();
  Tensor out(t.dtype(), permuted(s, perm));
  const size_t es = dtype_size(t.dtype());
  std::vector<int64_t> stride(rank, 1);
  for (size_t i = rank; i-- > 1;) stride[i - 1] = stride[i] * s[i];
  const Shape& os = out.shape();
  std::vector<int64_t> idx(rank, 0);
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t k = 0; k < out.numel(); ++k) {
    int64_t off = 0;
    for (size_t i = 0; i < rank; ++i) off += idx[i] * stride[static_cast<size_t>(perm[i])];
    std::memcpy(dst + static_cast<size_t>(k) * es, src + static_cast<size_t>(off) * es, es);
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < os[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const auto* p = static_cast<const uint8_t*>(t.raw());
  return std::vector<uint8_t>(p, p + t.nbytes());
}

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::vector<int32_t> dims32(const Shape& s) {
  std::vector<int32_t> d;
  for (int64_t v : s) d.push_back(static_cast<int32_t>(v));
  return d;
}

tflite::Quantization to_quant(const QuantParams& q, int32_t dim = 0) {
  tflite::Quantization r;
  r.scale = q.scale;
  for (int32_t z : q.zero_point) r.zero_point.push_back(z);
  r.quantized_dimension = dim;
  return r;
}

tflite::Quantization per_tensor(float scale, int64_t zp) {
  tflite::Quantization r;
  r.scale = {scale};
  r.zero_point = {zp};
  return r;
}

bool same_quant(const tflite::Quantization& a, const tflite::Quantization& b) {
  return a.scale == b.scale && a.zero_point == b.zero_point;
}

class Converter {
 public:
  Converter(const Graph& g, const TfliteConvertOptions& opt) : g_(g), opt_(opt) {}

  tflite::Model run() {
    stored_.assign(g_.values.size(), {});
    readers_.assign(g_.values.size(), {});
    for (size_t k = 0; k < g_.nodes.size(); ++k)
      for (int i : g_.nodes[k].inputs)
        if (i >= 0) readers_[static_cast<size_t>(i)].push_back(static_cast<int>(k));
    for (int v : g_.inputs) {
      const Value& x = val(v);
      const bool four = x.shape.size() == 4;
      const int t = new_tensor(x.name, type_of(x.dtype, x.name),
                               four ? permuted(x.shape, kToNhwc) : x.shape, to_quant(x.quant));
      bind(v, t, four ? kToNhwc : identity(x.shape.size()));
      m_.inputs.push_back(t);
    }
    for (size_t k = 0; k < g_.nodes.size(); ++k) {
      node_ = &g_.nodes[k];
      convert(k);
    }
    finish_outputs();
    return std::move(m_);
  }

 private:
  const Graph& g_;
  TfliteConvertOptions opt_;
  tflite::Model m_;
  // Per IR value: the tensors holding it, by layout (tensor axis j = IR
  // axis perm[j]; identity = plain, {0,2,3,1} = NHWC).
  std::vector<std::map<Perm, int>> stored_;
  std::vector<std::vector<int>> readers_;
  std::set<std::string> names_;
  const Node* node_ = nullptr;

  // ---- basics ------------------------------------------------------------------------

  template <class... A>
  [[noreturn]] void nfail(const A&... a) const {
    fail(g_.source.empty() ? "graph" : g_.source, ": node ", node_->label(), ": ", a...);
  }

  const Value& val(int v) const { return g_.values[static_cast<size_t>(v)]; }
  const Value& in_val(size_t i) const {
    if (i >= node_->inputs.size() || node_->inputs[i] < 0) nfail("input ", i, " is absent");
    return val(node_->inputs[i]);
  }
  int in_id(size_t i) const {
    in_val(i);
    return node_->inputs[i];
  }
  int out_id() const {
    if (node_->outputs.size() != 1) nfail("expects one output, has ", node_->outputs.size());
    return node_->outputs[0];
  }

  TensorType type_of(DType d, const std::string& what) const {
    switch (d) {
      case DType::F32:
        return TensorType::Float32;
      case DType::F16:
        return TensorType::Float16;
      case DType::I8:
        return TensorType::Int8;
      case DType::U8:
        return TensorType::UInt8;
      case DType::I32:
        return TensorType::Int32;
      case DType::I64:
        return TensorType::Int64;
      default:
        fail(g_.source.empty() ? "graph" : g_.source, ": value '", what, "' has type ",
             dtype_name(d), ", which TFLite export does not support");
    }
  }

  std::string unique(const std::string& base) {
    std::string n = base;
    for (int k = 1; names_.count(n); ++k) n = base + "_" + std::to_string(k);
    names_.insert(n);
    return n;
  }

  int new_tensor(const std::string& name, TensorType type, const Shape& shape,
                 tflite::Quantization q = {}) {
    tflite::Tensor t;
    t.name = unique(name);
    t.type = type;
    t.shape = dims32(shape);
    t.quant = std::move(q);
    return m_.add_tensor(std::move(t));
  }

  int new_const(const std::string& name, TensorType type, const Shape& shape,
                std::vector<uint8_t> data, tflite::Quantization q = {}) {
    return m_.add_constant(unique(name), type, dims32(shape), std::move(data), std::move(q));
  }

  int i32_const(const std::string& name, const std::vector<int32_t>& v) {
    return new_const(name, TensorType::Int32, {static_cast<int64_t>(v.size())}, bytes_of(v));
  }

  int f32_scalar(const std::string& name, float v) {
    return new_const(name, TensorType::Float32, {}, bytes_of(std::vector<float>{v}));
  }

  // An int8 scalar constant holding `v` exactly (q = +-127 or 0).
  int i8_scalar(const std::string& name, float v) {
    const float s = v == 0.f ? 1.f : std::fabs(v) / 127.f;
    const int8_t q = v == 0.f ? 0 : v > 0 ? 127 : -127;
    return new_const(name, TensorType::Int8, {}, bytes_of(std::vector<int8_t>{q}),
                     per_tensor(s, 0));
  }

  void add_op(Op op, std::vector<int32_t> in, std::vector<int32_t> out, tflite::OpOptions o = {}) {
    tflite::Operator r;
    r.op = op;
    r.inputs = std::move(in);
    r.outputs = std::move(out);
    r.options = std::move(o);
    m_.operators.push_back(std::move(r));
  }

  const tflite::Tensor& tensor(int t) const { return m_.tensors[static_cast<size_t>(t)]; }
  Shape tshape(int t) const {
    Shape s;
    for (int32_t d : tensor(t).shape) s.push_back(d);
    return s;
  }

  // A new activation tensor for IR value v in layout `perm`.
  int value_tensor(int v, const Perm& perm) {
    const Value& x = val(v);
    return new_tensor(x.name, type_of(x.dtype, x.name), permuted(x.shape, perm), to_quant(x.quant));
  }
  int value_tensor(int v, bool nhwc) {
    return value_tensor(v, nhwc ? kToNhwc : identity(val(v).shape.size()));
  }
  // A tensor like `like` (type, quantization) with another shape and name.
  int like_tensor(int like, const std::string& name, const Shape& shape) {
    return new_tensor(name, tensor(like).type, shape, tensor(like).quant);
  }

  void bind(int v, int t, const Perm& perm) {
    if (!stored_[static_cast<size_t>(v)].emplace(perm, t).second)
      nfail("writes '", val(v).name, "' twice");
  }
  void bind(int v, int t, bool nhwc) { bind(v, t, nhwc ? kToNhwc : identity(val(v).shape.size())); }

  // ---- constants --------------------------------------------------------------------

  // A float32 tensor holding `c` as the model computes with it: stored per
  // opt_.weights (float16 + DEQUANTIZE for >= 2 elements), else float32.
  int float_const(const std::string& name, const Tensor& c) {
    if (opt_.weights == TfliteWeights::Float16 && c.numel() >= 2) {
      std::vector<uint16_t> h;
      for (float f : c.to_floats()) h.push_back(float_to_half(f));
      const int s = new_const(name + "/fp16", TensorType::Float16, c.shape(), bytes_of(h));
      const int t = new_tensor(name, TensorType::Float32, c.shape());
      add_op(Op::Dequantize, {s}, {t});
      return t;
    }
    return new_const(
        name, TensorType::Float32, c.shape(),
        bytes_of(c.dtype() == DType::F32 ? c : Tensor::from_floats(c.shape(), c.to_floats())));
  }

  // The constant of value v in layout `perm`; a constant of lower rank
  // than perm (broadcast against a 4-D NHWC tensor) is padded with leading
  // 1s first.
  int const_tensor(int v, const Perm& perm) {
    const Value& x = val(v);
    Tensor c = x.constant;
    Shape s = c.shape();
    if (s.size() > perm.size())
      nfail("constant '", x.name, "' has rank ", s.size(), " (> ", perm.size(), ")");
    s.insert(s.begin(), perm.size() - s.size(), 1);
    c = permute(c.reshaped(s), perm);
    const std::string name = x.name + (perm == identity(perm.size()) ? "" : "/permuted");
    if (c.dtype() == DType::F32 || c.dtype() == DType::F16) return float_const(name, c);
    return new_const(name, type_of(c.dtype(), x.name), c.shape(), bytes_of(c), to_quant(x.quant));
  }

  // ---- layouts -----------------------------------------------------------------------

  static Perm identity(size_t rank) {
    Perm p(rank);
    for (size_t i = 0; i < rank; ++i) p[i] = static_cast<int64_t>(i);
    return p;
  }
  static Perm inverse(const Perm& p) {
    Perm r(p.size());
    for (size_t i = 0; i < p.size(); ++i) r[static_cast<size_t>(p[i])] = static_cast<int64_t>(i);
    return r;
  }

  // The tensor of value v in layout `perm`, made from a layout it has by a
  // TRANSPOSE (a RESHAPE when only size-1 axes move).
  int layout(int v, const Perm& perm) {
    std::map<Perm, int>& st = stored_[static_cast<size_t>(v)];
    const auto it = st.find(perm);
    if (it != st.end()) return it->second;
    const Value& x = val(v);
    if (x.is_constant()) return st[perm] = const_tensor(v, perm);
    if (st.empty()) nfail("reads '", x.name, "' before it is written");
    // Prefer a source from which only size-1 axes move.
    int src = st.begin()->second;
    Perm t, best_t;
    bool reshape_only = false;
    for (const auto& [sp, tensor_id] : st) {
      const Perm inv = inverse(sp);
      t.clear();
      for (int64_t a : perm) t.push_back(inv[static_cast<size_t>(a)]);
      int64_t last = -1;
      bool order = true;
      for (int64_t a : t)
        if (x.shape[static_cast<size_t>(sp[static_cast<size_t>(a)])] != 1)
          order = order && a > last, last = a;
      if (best_t.empty() || order) src = tensor_id, best_t = t, reshape_only = order;
      if (order) break;
    }
    const Shape s = permuted(x.shape, perm);
    const int out = like_tensor(src,
                                x.name + (perm == kToNhwc                 ? "/nhwc"
                                          : perm == identity(perm.size()) ? "/nchw"
                                                                          : "/permuted"),
                                s);
    if (reshape_only) {
      add_op(Op::Reshape, {src, i32_const(x.name + "/shape", dims32(s))}, {out}, reshape_opts(s));
    } else {
      std::vector<int32_t> p32(best_t.begin(), best_t.end());
      add_op(Op::Transpose, {src, i32_const(x.name + "/perm", p32)}, {out});
    }
    return st[perm] = out;
  }

  // The tensor of value v in IR (plain) order.
  int plain(int v) { return layout(v, identity(val(v).shape.size())); }

  // The tensor of 4-D value v in NHWC order (a constant of rank <= 4 is
  // broadcast: padded to rank 4 first).
  int nhwc(int v) {
    if (val(v).is_constant() && val(v).shape.size() <= 4) {
      std::map<Perm, int>& st = stored_[static_cast<size_t>(v)];
      const Perm key = {-1};  // the rank-4 broadcast form
      const auto it = st.find(key);
      if (it != st.end()) return it->second;
      return st[key] = const_tensor(v, kToNhwc);
    }
    if (val(v).shape.size() != 4)
      nfail("'", val(v).name, "' must be 4-D here, is ", shape_str(val(v).shape));
    return layout(v, kToNhwc);
  }

  // For element-wise ops: a layout v already has (NHWC, else plain, else any).
  Perm any_layout(int v) const {
    const std::map<Perm, int>& st = stored_[static_cast<size_t>(v)];
    const Value& x = val(v);
    if (x.shape.size() == 4 && (st.count(kToNhwc) || st.empty())) return kToNhwc;
    const Perm id = identity(x.shape.size());
    if (st.empty() || st.count(id)) return id;
    return st.begin()->first;
  }

  static tflite::OpOptions reshape_opts(const Shape& s) {
    tflite::OpOptions o;
    o.new_shape = dims32(s);
    return o;
  }

  // ---- activations -------------------------------------------------------------------

  // The fused activation for clamp [lo, hi]; false when TFLite has none.
  static bool fused_for(float lo, float hi, Activation* a) {
    const float inf = std::numeric_limits<float>::infinity();
    if (lo == -inf && hi == inf)
      *a = Activation::None;
    else if (lo == 0.f && hi == inf)
      *a = Activation::Relu;
    else if (lo == 0.f && hi == 6.f)
      *a = Activation::Relu6;
    else if (lo == -1.f && hi == 1.f)
      *a = Activation::ReluN1To1;
    else
      return false;
    return true;
  }

  // Per-tensor scale / zero point of integer tensor t.
  float qscale(int t) const {
    const tflite::Quantization& q = tensor(t).quant;
    if (q.scale.size() != 1 || q.zero_point.size() != 1)
      nfail("integer tensor '", tensor(t).name, "' has no per-tensor quantization parameters");
    return q.scale[0];
  }
  int64_t qzero(int t) const {
    qscale(t);
    return tensor(t).quant.zero_point[0];
  }

  // The real range an int8/uint8 tensor can hold.
  void quant_range(int t, float* lo, float* hi) const {
    const tflite::Tensor& x = tensor(t);
    const float qmin = x.type == TensorType::UInt8 ? 0.f : -128.f;
    const float s = qscale(t);
    const float z = static_cast<float>(qzero(t));
    *lo = s * (qmin - z);
    *hi = s * (qmin + 255.f - z);
  }

  // Emits `y = clamp(x, lo, hi)` as MAXIMUM / MINIMUM (float only).
  void emit_clamp(int x, float lo, float hi, int y, const std::string& name) {
    if (tensor(x).type != TensorType::Float32)
      nfail("clip [", lo, ", ", hi, "] of an integer tensor is not expressible in TFLite");
    if (std::isfinite(lo) && std::isfinite(hi)) {
      const int t = like_tensor(x, name + "/max", tshape(x));
      add_op(Op::Maximum, {x, f32_scalar(name + "/lo", lo)}, {t});
      add_op(Op::Minimum, {t, f32_scalar(name + "/hi", hi)}, {y});
    } else if (std::isfinite(lo)) {
      add_op(Op::Maximum, {x, f32_scalar(name + "/lo", lo)}, {y});
    } else {
      add_op(Op::Minimum, {x, f32_scalar(name + "/hi", hi)}, {y});
    }
  }

  // Runs `emit(output tensor, fused activation)` for an op whose result gets
  // the clamp in attrs `a` ("activation" relu | relu6 | clip | hardswish |
  // sigmoid), writing the IR value `y` (tensor `yt`). A clamp TFLite cannot
  // fuse becomes its own op(s); hardswish / sigmoid an op after it.
  template <class Emit>
  void with_activation(const Attrs& a, int yt, Emit emit) {
    const std::string act = a.get_s("activation");
    const std::string name = tensor(yt).name;
    if (act == "hardswish" || act == "sigmoid") {
      if (tensor(yt).type != TensorType::Float32)
        nfail("a fused ", act, " on an integer result is not supported (lower_qdq splits it)");
      const int t = like_tensor(yt, name + "/linear", tshape(yt));
      emit(t, Activation::None);
      add_op(act == "hardswish" ? Op::HardSwish : Op::Logistic, {t}, {yt});
      return;
    }
    float lo, hi;
    if (!activation_range(a, lo, hi)) nfail("unsupported activation '", act, "'");
    Activation f;
    if (fused_for(lo, hi, &f)) return emit(yt, f);
    if (tensor(yt).type != TensorType::Float32) {
      // Integer: the output's own range may already be inside the clamp.
      float qlo, qhi;
      quant_range(yt, &qlo, &qhi);
      if (qlo >= lo && qhi <= hi) return emit(yt, Activation::None);
      if (lo == 0.f && qhi <= hi) return emit(yt, Activation::Relu);
      nfail("clip [", lo, ", ", hi, "] on a quantized result with range [", qlo, ", ", qhi,
            "] is not expressible in TFLite");
    }
    const int t = like_tensor(yt, name + "/unclamped", tshape(yt));
    Activation pre = Activation::None;
    if (lo == 0.f) pre = Activation::Relu, lo = -std::numeric_limits<float>::infinity();
    emit(t, pre);
    emit_clamp(t, lo, hi, yt, name);
  }

  // ---- convolution -------------------------------------------------------------------

  // TFLite padding for IR pads, or false when neither SAME nor VALID fits.
  static bool tflite_padding(const Shape& x, const Shape& y, const std::vector<int64_t>& k,
                             const std::vector<int64_t>& s, const std::vector<int64_t>& d,
                             const std::vector<int64_t>& pads, tflite::Padding* p) {
    if (pads == std::vector<int64_t>{0, 0, 0, 0}) {
      *p = tflite::Padding::Valid;
      return true;
    }
    for (size_t i = 0; i < 2; ++i) {
      const int64_t in = x[2 + i], out = y[2 + i];
      if (out != (in + s[i] - 1) / s[i]) return false;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in);
      if (pads[i] != total / 2 || pads[i + 2] != total - total / 2) return false;
    }
    *p = tflite::Padding::Same;
    return true;
  }

  // Zero-pads NHWC tensor x by IR pads [t, l, b, r] (for a convolution).
  int emit_pad(int x, const std::vector<int64_t>& pads, const std::string& name) {
    Shape s = tshape(x);
    s[1] += pads[0] + pads[2];
    s[2] += pads[1] + pads[3];
    const int t = like_tensor(x, name + "/padded", s);
    const std::vector<int32_t> p = {0,
                                    0,
                                    static_cast<int32_t>(pads[0]),
                                    static_cast<int32_t>(pads[2]),
                                    static_cast<int32_t>(pads[1]),
                                    static_cast<int32_t>(pads[3]),
                                    0,
                                    0};
    const int pt = new_const(name + "/paddings", TensorType::Int32, {4, 2}, bytes_of(p));
    add_op(Op::Pad, {x, pt}, {t});
    return t;
  }

  // Filter tensor of a float Conv, per opt_.weights.
  int float_filter(const std::string& name, const Tensor& w_ir, bool depthwise) {
    const Tensor wf = Tensor::from_floats(w_ir.shape(), w_ir.to_floats());
    const std::vector<int64_t> perm = depthwise ? std::vector<int64_t>{1, 2, 3, 0} : kToNhwc;
    if (opt_.weights != TfliteWeights::Int8) return float_const(name, permute(wf, perm));
    const std::vector<float> scales = weight_scales(wf);
    const Tensor q = permute(quantize_weights(wf, scales), perm);
    tflite::Quantization qp;
    qp.scale = scales;
    qp.zero_point.assign(scales.size(), 0);
    qp.quantized_dimension = depthwise ? 3 : 0;
    const int s = new_const(name + "/int8", TensorType::Int8, q.shape(), bytes_of(q), qp);
    const int t = new_tensor(name, TensorType::Float32, q.shape());
    add_op(Op::Dequantize, {s}, {t});
    return t;
  }

  void conv(bool quantized) {
    const Node& n = *node_;
    const Value& x = in_val(0);
    const Value& w = in_val(1);
    const int y = out_id();
    if (x.shape.size() != 4 || w.shape.size() != 4) nfail("only 2-D convolutions are supported");
    if (!w.is_constant()) nfail("weights '", w.name, "' must be constant");
    const int64_t C = x.shape[1], M = w.shape[0], group = n.attrs.get_i("group", 1);
    const bool depthwise = group == C && w.shape[1] == 1 && group > 1;
    const std::vector<int64_t> k = {w.shape[2], w.shape[3]};
    const std::vector<int64_t> s = n.attrs.get_ints("strides", {1, 1});
    const std::vector<int64_t> d = n.attrs.get_ints("dilations", {1, 1});
    const std::vector<int64_t> pads = n.attrs.get_ints("pads", {0, 0, 0, 0});
    int xt = nhwc(in_id(0));
    tflite::OpOptions o;
    if (!tflite_padding(x.shape, val(y).shape, k, s, d, pads, &o.padding)) {
      xt = emit_pad(xt, pads, n.name);
      o.padding = tflite::Padding::Valid;
    }
    o.stride_h = static_cast<int32_t>(s[0]);
    o.stride_w = static_cast<int32_t>(s[1]);
    o.dilation_h = static_cast<int32_t>(d[0]);
    o.dilation_w = static_cast<int32_t>(d[1]);
    if (depthwise) o.depth_multiplier = static_cast<int32_t>(M / C);
    const int bias_id = n.inputs.size() > 2 ? n.inputs[2] : -1;
    int wt, bt;
    if (quantized) {
      if (w.dtype != DType::I8 || static_cast<int64_t>(w.quant.scale.size()) != M)
        nfail("weights '", w.name, "' must be int8 with ", M, " per-channel scales");
      const std::vector<int64_t> perm = depthwise ? std::vector<int64_t>{1, 2, 3, 0} : kToNhwc;
      const Tensor q = permute(w.constant, perm);
      wt = new_const(w.name, TensorType::Int8, q.shape(), bytes_of(q),
                     to_quant(w.quant, depthwise ? 3 : 0));
      const float sx = qscale(xt);
      tflite::Quantization bq;
      for (float sw : w.quant.scale) bq.scale.push_back(sx * sw);
      bq.zero_point.assign(static_cast<size_t>(M), 0);
      std::vector<int32_t> b(static_cast<size_t>(M), 0);
      if (bias_id >= 0) {
        const Value& bv = val(bias_id);
        if (!bv.is_constant() || bv.dtype != DType::I32 || bv.constant.numel() != M)
          nfail("bias '", bv.name, "' must be a constant int32 [", M, "]");
        for (int64_t c = 0; c < M; ++c) b[static_cast<size_t>(c)] = bv.constant.data<int32_t>()[c];
        if (bv.quant.present()) bq.scale = bv.quant.scale;
      }
      bt = new_const(n.name + "/bias", TensorType::Int32, {M}, bytes_of(b), bq);
    } else {
      wt = float_filter(w.name, w.constant, depthwise);
      Tensor b = Tensor::from_floats({M}, std::vector<float>(static_cast<size_t>(M), 0.f));
      if (bias_id >= 0) {
        if (!val(bias_id).is_constant() || val(bias_id).constant.numel() != M)
          nfail("bias '", val(bias_id).name, "' must be a constant [", M, "]");
        b = Tensor::from_floats({M}, val(bias_id).constant.to_floats());
      }
      bt = float_const(n.name + "/bias", b);
    }
    const int yt = value_tensor(y, true);
    with_activation(n.attrs, yt, [&](int out, Activation a) {
      o.activation = a;
      add_op(depthwise ? Op::DepthwiseConv2D : Op::Conv2D, {xt, wt, bt}, {out}, o);
    });
    bind(y, yt, true);
  }

  // ---- other ops ---------------------------------------------------------------------

  void binary(Op op) {
    const int y = out_id();
    const bool four = val(y).shape.size() == 4;
    std::vector<int32_t> ins;
    for (size_t i = 0; i < 2; ++i) {
      const int v = in_id(i);
      if (!four)
        ins.push_back(plain(v));
      else if (val(v).shape.size() == 4 || val(v).is_constant())
        ins.push_back(nhwc(v));
      else
        nfail("broadcasting '", val(v).name, "' ", shape_str(val(v).shape),
              " to a 4-D result is not supported");
    }
    const int yt = value_tensor(y, four);
    with_activation(node_->attrs, yt, [&](int out, Activation a) {
      tflite::OpOptions o;
      o.activation = a;
      add_op(op, ins, {out}, o);
    });
    bind(y, yt, four);
  }

  // An element-wise op (1 input): keeps the input's layout.
  void unary(Op op) {
    const int x = in_id(0), y = out_id();
    const Perm l = any_layout(x);
    const int yt = value_tensor(y, l);
    add_op(op, {layout(x, l)}, {yt});
    bind(y, yt, l);
  }

  void clip() {
    const int x = in_id(0), y = out_id();
    const Perm l = any_layout(x);
    const int xt = layout(x, l);
    const int yt = value_tensor(y, l);
    const float lo = node_->attrs.get_f("min", -INFINITY), hi = node_->attrs.get_f("max", INFINITY);
    Activation a;
    if (!fused_for(lo, hi, &a) || a == Activation::ReluN1To1)
      emit_clamp(xt, lo, hi, yt, val(y).name);
    else if (a == Activation::Relu)
      add_op(Op::Relu, {xt}, {yt});
    else if (a == Activation::Relu6)
      add_op(Op::Relu6, {xt}, {yt});
    else
      add_op(Op::Reshape, {xt, i32_const(val(y).name + "/shape", tensor(xt).shape)}, {yt},
             reshape_opts(tshape(xt)));
    bind(y, yt, l);
  }

  // HardSigmoid(x) = clip(alpha * x + beta, 0, 1) = relu6(6 alpha x + 6 beta) / 6.
  // Quantized: the relu6 result is held at (6 sy, zy), so that / 6 is exact.
  void hard_sigmoid(int x, int y, float alpha, float beta) {
    const Perm l = any_layout(x);
    int xt = layout(x, l);
    const int yt = value_tensor(y, l);
    const std::string name = val(y).name;
    const bool q = tensor(yt).type != TensorType::Float32;
    const Shape s = tshape(xt);
    const float a6 = 6.f * alpha, b6 = 6.f * beta;
    if (a6 != 1.f) {
      int c;
      tflite::Quantization uq;
      if (q) {
        if (!(alpha > 0)) nfail("a quantized HardSigmoid needs alpha > 0, has ", alpha);
        uq = per_tensor(qscale(xt) * a6, qzero(xt));
        c = i8_scalar(name + "/6alpha", a6);
      } else {
        c = f32_scalar(name + "/6alpha", a6);
      }
      const int u = new_tensor(name + "/scaled", tensor(xt).type, s, uq);
      add_op(Op::Mul, {xt, c}, {u});
      xt = u;
    }
    tflite::OpOptions relu6;
    relu6.activation = Activation::Relu6;
    tflite::Quantization tq;
    if (q) tq = per_tensor(6.f * qscale(yt), qzero(yt));
    const int t = new_tensor(name + "/relu6", tensor(xt).type, s, tq);
    add_op(Op::Add, {xt, q ? i8_scalar(name + "/6beta", b6) : f32_scalar(name + "/6beta", b6)}, {t},
           relu6);
    add_op(Op::Mul,
           {t, q ? i8_scalar(name + "/sixth", 1.f / 6.f) : f32_scalar(name + "/sixth", 1.f / 6.f)},
           {yt});
    bind(y, yt, l);
  }

  // QLut: the TFLite op of its source function.
  void qlut() {
    const std::string f = node_->attrs.get_s("func");
    const int x = in_id(0), y = out_id();
    if (f == "HardSwish") return unary(Op::HardSwish);
    if (f == "Relu") return unary(Op::Relu);
    if (f == "HardSigmoid")
      return hard_sigmoid(x, y, node_->attrs.get_f("alpha", 0.2f),
                          node_->attrs.get_f("beta", 0.5f));
    if (f == "Sigmoid") {
      // TFLite's int8 LOGISTIC writes scale 1/256, zero point -128.
      const Perm l = any_layout(x);
      const int xt = layout(x, l);
      const int yt = value_tensor(y, l);
      const tflite::Quantization fixed = per_tensor(1.f / 256.f, -128);
      if (same_quant(tensor(yt).quant, fixed)) {
        add_op(Op::Logistic, {xt}, {yt});
      } else {
        const int t = new_tensor(val(y).name + "/logistic", TensorType::Int8, tshape(yt), fixed);
        add_op(Op::Logistic, {xt}, {t});
        add_op(Op::Quantize, {t}, {yt});
      }
      return bind(y, yt, l);
    }
    if (f == "Clip") {
      const float lo = node_->attrs.get_f("min", -INFINITY),
                  hi = node_->attrs.get_f("max", INFINITY);
      Activation a;
      if (fused_for(lo, hi, &a) && a == Activation::Relu6) return unary(Op::Relu6);
      if (fused_for(lo, hi, &a) && a == Activation::Relu) return unary(Op::Relu);
      nfail("a quantized clip [", lo, ", ", hi, "] is not expressible in TFLite");
    }
    if (f.empty())
      nfail(
          "has no \"func\" attribute (lowered by an older lower_qdq): cannot map its table to a "
          "TFLite op");
    nfail("a lookup table of '", f, "' has no TFLite op");
  }

  void global_average_pool() {
    const int x = in_id(0), y = out_id();
    const int yt = value_tensor(y, true);
    tflite::OpOptions o;
    o.keep_dims = true;
    add_op(Op::Mean, {nhwc(x), i32_const(node_->name + "/axes", {1, 2})}, {yt}, o);
    bind(y, yt, true);
  }

  void pool(bool average) {
    const Node& n = *node_;
    const int x = in_id(0), y = out_id();
    const std::vector<int64_t> k = n.attrs.get_ints("kernel_shape");
    const std::vector<int64_t> s = n.attrs.get_ints("strides", {1, 1});
    const std::vector<int64_t> pads = n.attrs.get_ints("pads", {0, 0, 0, 0});
    if (k.size() != 2) nfail("only 2-D pools are supported");
    tflite::OpOptions o;
    const bool zero = pads == std::vector<int64_t>{0, 0, 0, 0};
    if (!tflite_padding(val(x).shape, val(y).shape, k, s, {1, 1}, pads, &o.padding) ||
        (average && !zero && n.attrs.get_i("count_include_pad", 0) != 0))
      nfail("pads ", shape_str(pads), " are neither TFLite SAME nor VALID",
            average ? " (or count padded pixels)" : "");
    o.filter_h = static_cast<int32_t>(k[0]);
    o.filter_w = static_cast<int32_t>(k[1]);
    o.stride_h = static_cast<int32_t>(s[0]);
    o.stride_w = static_cast<int32_t>(s[1]);
    const int yt = value_tensor(y, true);
    add_op(average ? Op::AveragePool2D : Op::MaxPool2D, {nhwc(x)}, {yt}, o);
    bind(y, yt, true);
  }

  // The layout of Reshape's result when its input, held in layout `p`, is
  // reshaped as is: possible when every group of input axes that the
  // reshape merges or splits stays together and in order in `p` (size-1
  // axes go anywhere). Empty when not possible.
  static Perm reshape_layout(const Shape& xs, const Shape& ys, const Perm& p) {
    std::vector<int64_t> xa, ya;  // the non-1 axes
    for (size_t i = 0; i < xs.size(); ++i)
      if (xs[i] != 1) xa.push_back(static_cast<int64_t>(i));
    for (size_t i = 0; i < ys.size(); ++i)
      if (ys[i] != 1) ya.push_back(static_cast<int64_t>(i));
    // Groups: runs of x axes and y axes with equal products.
    std::vector<int> group_of_x(xs.size(), -1);
    std::vector<std::vector<int64_t>> gx, gy;
    size_t i = 0, j = 0;
    while (i < xa.size() && j < ya.size()) {
      std::vector<int64_t> ax = {xa[i]}, ay = {ya[j]};
      int64_t px = xs[static_cast<size_t>(xa[i++])], py = ys[static_cast<size_t>(ya[j++])];
      while (px != py) {
        if (px < py) {
          if (i == xa.size()) return {};
          ax.push_back(xa[i]), px *= xs[static_cast<size_t>(xa[i++])];
        } else {
          if (j == ya.size()) return {};
          ay.push_back(ya[j]), py *= ys[static_cast<size_t>(ya[j++])];
        }
      }
      for (int64_t a : ax) group_of_x[static_cast<size_t>(a)] = static_cast<int>(gx.size());
      gx.push_back(ax);
      gy.push_back(ay);
    }
    if (i != xa.size() || j != ya.size()) return {};
    Perm q;
    for (size_t k = 0; k < ys.size(); ++k)
      if (ys[k] == 1) q.push_back(static_cast<int64_t>(k));
    std::vector<int64_t> seq;  // p without size-1 axes
    for (int64_t a : p)
      if (xs[static_cast<size_t>(a)] != 1) seq.push_back(a);
    for (size_t k = 0; k < seq.size();) {
      const int grp = group_of_x[static_cast<size_t>(seq[k])];
      const std::vector<int64_t>& ax = gx[static_cast<size_t>(grp)];
      for (size_t m = 0; m < ax.size(); ++m, ++k)
        if (k >= seq.size() || seq[k] != ax[m]) return {};
      q.insert(q.end(), gy[static_cast<size_t>(grp)].begin(), gy[static_cast<size_t>(grp)].end());
    }
    return q;
  }

  void reshape() {
    const int x = in_id(0), y = out_id();
    const Shape& xs = val(x).shape;
    const Shape& ys = val(y).shape;
    // Reshape whatever layout the input has when the groups allow it (the
    // detector head: NHWC conv output -> [1,H,W,A,4] -> [1,HWA,4]); else the
    // plain input.
    int xt = kNone;
    Perm q;
    for (const auto& [p, t] : stored_[static_cast<size_t>(x)]) {
      if (val(x).is_constant()) break;
      q = reshape_layout(xs, ys, p);
      if (!q.empty() || ys.empty()) {
        xt = t;
        break;
      }
    }
    if (xt == kNone) {
      xt = plain(x);
      q = identity(ys.size());
    }
    const Shape s = permuted(ys, q);
    if (s == tshape(xt) && !is_output(y)) return bind(y, xt, q);  // nothing moves
    const int yt = new_tensor(val(y).name, tensor(xt).type, s, tensor(xt).quant);
    add_op(Op::Reshape, {xt, i32_const(val(y).name + "/shape", dims32(s))}, {yt}, reshape_opts(s));
    bind(y, yt, q);
  }

  // A Transpose moves no data: the result is the input's tensor with the
  // axes relabeled (a layout that is not plain gets converted where a
  // consumer needs another one).
  void transpose() {
    const int x = in_id(0), y = out_id();
    const Perm perm = node_->attrs.get_ints("perm");
    const size_t rank = val(x).shape.size();
    if (perm.size() != rank) nfail("perm has ", perm.size(), " entries for rank ", rank);
    const Perm p = any_layout(x);
    const int xt = layout(x, p);
    // Tensor axis i holds input axis p[i] = result axis inverse(perm)[p[i]].
    const Perm inv = inverse(perm);
    Perm r;
    for (int64_t a : p) r.push_back(inv[static_cast<size_t>(a)]);
    bind(y, xt, r);
  }

  void concat(bool quantized) {
    const int y = out_id();
    const int64_t rank = static_cast<int64_t>(val(y).shape.size());
    const bool four = rank == 4;
    int64_t axis = node_->attrs.get_i("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) nfail("axis out of range for rank ", rank);
    const int yt = value_tensor(y, four);
    std::vector<int32_t> ins;
    for (size_t i = 0; i < node_->inputs.size(); ++i) {
      int t = four ? nhwc(in_id(i)) : plain(in_id(i));
      // TFLite's int8 CONCATENATION needs every input at the output's params.
      if (quantized && !same_quant(tensor(t).quant, tensor(yt).quant)) {
        const int r = like_tensor(yt, val(in_id(i)).name + "/requantized", tshape(t));
        add_op(Op::Quantize, {t}, {r});
        t = r;
      }
      ins.push_back(t);
    }
    tflite::OpOptions o;
    // IR axis -> its position in the NHWC tensor.
    o.axis = static_cast<int32_t>(four ? kToNchw[static_cast<size_t>(axis)] : axis);
    add_op(Op::Concatenation, ins, {yt}, o);
    bind(y, yt, four);
  }

  void softmax() {
    const int x = in_id(0), y = out_id();
    const int64_t rank = static_cast<int64_t>(val(x).shape.size());
    const int64_t axis = node_->attrs.get_i("axis", rank - 1);
    const bool four = rank == 4 && axis == 1;
    if (!four && axis != rank - 1)
      nfail("softmax over axis ", axis, " of a rank-", rank,
            " tensor is not supported (TFLite: last axis)");
    const int yt = value_tensor(y, four);
    add_op(Op::Softmax, {four ? nhwc(x) : plain(x)}, {yt});
    bind(y, yt, four);
  }

  // Gemm / MatMul with a constant 2-D weight -> FULLY_CONNECTED.
  void fully_connected(bool gemm) {
    const Node& n = *node_;
    const int a = in_id(0), y = out_id();
    const Value& b = in_val(1);
    if (val(a).shape.size() != 2 || !b.is_constant() || b.shape.size() != 2)
      nfail("only a 2-D input times a constant 2-D weight is supported");
    if (gemm && (n.attrs.get_i("transA", 0) != 0 || n.attrs.get_f("alpha", 1.f) != 1.f ||
                 n.attrs.get_f("beta", 1.f) != 1.f))
      nfail("transA, alpha or beta other than the defaults are not supported");
    Tensor w = Tensor::from_floats(b.shape, b.constant.to_floats());
    if (!(gemm && n.attrs.get_i("transB", 0) != 0)) w = permute(w, {1, 0});  // -> [O, K]
    const int64_t O = w.shape()[0];
    std::vector<int32_t> ins = {plain(a), float_const(b.name, w)};
    if (gemm && n.inputs.size() > 2 && n.inputs[2] >= 0) {
      const Value& c = val(n.inputs[2]);
      if (!c.is_constant() || c.constant.numel() != O)
        nfail("bias '", c.name, "' must be a constant of ", O, " values");
      ins.push_back(float_const(c.name, Tensor::from_floats({O}, c.constant.to_floats())));
    } else {
      ins.push_back(-1);
    }
    const int yt = value_tensor(y, false);
    add_op(Op::FullyConnected, ins, {yt});
    bind(y, yt, false);
  }

  // Per-tensor scale / zero point of a QuantizeLinear / DequantizeLinear.
  tflite::Quantization qdq_params(const Node& n) {
    const Node* saved = node_;
    node_ = &n;
    const std::vector<float> s = in_val(1).constant.to_floats();
    std::vector<int64_t> z(s.size(), 0);
    if (n.inputs.size() > 2 && n.inputs[2] >= 0) z = in_val(2).constant.to_int64s();
    if (s.size() != 1 || z.size() != 1)
      nfail("per-axis quantization of an activation is not supported");
    node_ = saved;
    return per_tensor(s[0], z[0]);
  }

  // The integer tensor a DequantizeLinear reads; a graph input gets the
  // node's parameters (the IR keeps them on the node only).
  int dq_input(const Node& dq, const Perm& l) {
    const int t = layout(dq.inputs[0], l);
    tflite::Tensor& x = m_.tensors[static_cast<size_t>(t)];
    if (!x.quant.present()) x.quant = qdq_params(dq);
    return t;
  }

  void quantize_linear() {
    const int x = in_id(0), y = out_id();
    const tflite::Quantization q = qdq_params(*node_);
    // DQ -> Q (Q the only reader): one requantizing QUANTIZE (e.g. the
    // uint8 <-> int8 boundary of a full-integer model).
    const int p = producer(x);
    const bool merged = p >= 0 && g_.nodes[static_cast<size_t>(p)].op == "DequantizeLinear" &&
                        readers_[static_cast<size_t>(x)].size() == 1 && !is_output(x);
    const int src = merged ? g_.nodes[static_cast<size_t>(p)].inputs[0] : x;
    const Perm l = any_layout(src);
    const int xt = merged ? dq_input(g_.nodes[static_cast<size_t>(p)], l) : layout(src, l);
    const int yt = value_tensor(y, l);
    m_.tensors[static_cast<size_t>(yt)].quant = q;
    add_op(Op::Quantize, {xt}, {yt});
    bind(y, yt, l);
  }

  void dequantize_linear(size_t k) {
    const int x = in_id(0), y = out_id();
    // Skipped when a QuantizeLinear is its only reader (merged there).
    if (readers_[static_cast<size_t>(y)].size() == 1 && !is_output(y)) {
      const Node& r = g_.nodes[static_cast<size_t>(readers_[static_cast<size_t>(y)][0])];
      if (r.op == "QuantizeLinear" && static_cast<size_t>(readers_[static_cast<size_t>(y)][0]) > k)
        return;
    }
    if (val(x).is_constant()) nfail("a constant DequantizeLinear should have been folded");
    const Perm l = any_layout(x);
    const int yt = value_tensor(y, l);
    add_op(Op::Dequantize, {dq_input(*node_, l)}, {yt});
    bind(y, yt, l);
  }

  int producer(int v) const {
    for (size_t k = 0; k < g_.nodes.size(); ++k)
      for (int o : g_.nodes[k].outputs)
        if (o == v) return static_cast<int>(k);
    return -1;
  }
  bool is_output(int v) const {
    return std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end();
  }

  void convert(size_t k) {
    const std::string& op = node_->op;
    if (op == "Conv") return conv(false);
    if (op == "QConv") return conv(true);
    if (op == "Add" || op == "QAdd") return binary(Op::Add);
    if (op == "Mul" || op == "QMul") return binary(Op::Mul);
    if (op == "Sub") return binary(Op::Sub);
    if (op == "Relu") return unary(Op::Relu);
    if (op == "Sigmoid") return unary(Op::Logistic);
    if (op == "HardSwish") return unary(Op::HardSwish);
    if (op == "Clip") return clip();
    if (op == "HardSigmoid")
      return hard_sigmoid(in_id(0), out_id(), node_->attrs.get_f("alpha", 0.2f),
                          node_->attrs.get_f("beta", 0.5f));
    if (op == "QLut") return qlut();
    if (op == "GlobalAveragePool" || op == "QGlobalAveragePool") return global_average_pool();
    if (op == "AveragePool") return pool(true);
    if (op == "MaxPool") return pool(false);
    if (op == "Reshape") return reshape();
    if (op == "Transpose") return transpose();
    if (op == "Concat") return concat(false);
    if (op == "QConcat") return concat(true);
    if (op == "Softmax") return softmax();
    if (op == "Gemm") return fully_connected(true);
    if (op == "MatMul") return fully_connected(false);
    if (op == "QuantizeLinear") return quantize_linear();
    if (op == "DequantizeLinear") return dequantize_linear(k);
    nfail("op ", op, " has no TFLite mapping in the exporter");
  }

  // Graph outputs: the tensor in the output's layout (NHWC for 4-D), named
  // as the IR value; a tensor that is also an input or another output (an
  // alias) is copied by a RESHAPE first.
  void finish_outputs() {
    node_ = nullptr;
    std::set<int> used(m_.inputs.begin(), m_.inputs.end());
    for (int v : g_.outputs) {
      const Value& x = val(v);
      if (x.is_constant()) fail(g_.source, ": output '", x.name, "' is a constant");
      const bool four = x.shape.size() == 4;
      Node out;
      out.name = x.name;
      out.op = "graph output";
      node_ = &out;
      int t = four ? nhwc(v) : plain(v);
      node_ = nullptr;
      if (used.count(t)) {
        const int c = like_tensor(t, x.name + "/copy", tshape(t));
        add_op(Op::Reshape, {t, i32_const(x.name + "/copy_shape", tensor(t).shape)}, {c},
               reshape_opts(tshape(t)));
        t = c;
      }
      used.insert(t);
      // Any other tensor named like the output steps aside.
      for (size_t i = 0; i < m_.tensors.size(); ++i)
        if (static_cast<int>(i) != t && m_.tensors[i].name == x.name)
          m_.tensors[i].name = unique(x.name + "/inner");
      m_.tensors[static_cast<size_t>(t)].name = x.name;
      m_.outputs.push_back(t);
    }
  }
};

}  // namespace

tflite::Model graph_to_tflite(const Graph& graph, const TfliteConvertOptions& opt) {
  graph.validate();
  Graph g = graph;
  // Quantized / float16 constants behind DequantizeLinear / Cast become
  // float constants (an FP16 or dynamic ONNX is re-stored per opt.weights).
  if (fold_dequantized_constants(g) > 0) g.prune();
  return Converter(g, opt).run();
}

}  // namespace vedge
