// ref_quant.cpp: reference kernels of the quantization ops (graph.h):
//   QuantizeLinear   F32 -> I8/U8, per-tensor or per-axis (attr axis);
//   DequantizeLinear I8/U8/I32 -> F32, per-tensor or per-axis;
//     both read scale and zero point from their constant inputs 1 and 2;
//   QConv, QAdd, QMul, QGlobalAveragePool, QLut, QConcat: int8 in and out,
//     (scale, zero point) of every int8 input and of the output from
//     Value::quant (per-tensor; QConv's weights per-channel along axis 0
//     with zero point 0, its I32 bias at scale sx * sw[c]).
// Every formula is the scalar definition of runtime/quant_math.h, so the
// fast kernels (ops/fast_quant*.cpp) can match these bit for bit; loops are
// plain NCHW, single thread, in a fixed order (integer sums are exact, so the
// order does not change any result).
// Depends on ops/ref.h and runtime/quant_math.h only.
#include <array>
#include <cstring>

#include "runtime/ops/ref.h"
#include "runtime/quant_math.h"

namespace vedge {
namespace ref {
namespace {

const QuantParams& value_quant(const KernelArgs& a, int id, const char* what) {
  VEDGE_CHECK(a.graph && id >= 0 && id < static_cast<int>(a.graph->values.size()), what,
              ": value id out of range");
  const QuantParams& q = a.graph->values[static_cast<size_t>(id)].quant;
  VEDGE_CHECK(q.present(), what, " ('", a.graph->values[static_cast<size_t>(id)].name,
              "') has no quantization parameters");
  return q;
}

// Per-tensor int8 parameters of input i (or of the output when i < 0).
struct TensorQ {
  float scale = 1.f;
  int zp = 0;
};
TensorQ tensor_q(const KernelArgs& a, int i) {
  const bool out = i < 0;
  const int id = out ? a.node->outputs.at(0) : a.node->inputs.at(static_cast<size_t>(i));
  const std::string what = out ? std::string("output") : "input " + std::to_string(i);
  const QuantParams& q = value_quant(a, id, what.c_str());
  VEDGE_CHECK(q.scale.size() == 1 && q.zero_point.size() == 1, what,
              " must be quantized per tensor (has ", q.scale.size(), " scales)");
  VEDGE_CHECK(q.scale[0] > 0.f && std::isfinite(q.scale[0]), what, " scale ", q.scale[0],
              " is not positive and finite");
  VEDGE_CHECK(q.zero_point[0] >= kQMinI8 && q.zero_point[0] <= kQMaxI8, what, " zero point ",
              q.zero_point[0], " is not an int8");
  return {q.scale[0], q.zero_point[0]};
}

void check_i8(const KernelArgs& a, size_t n_in) {
  for (size_t i = 0; i < n_in; ++i)
    VEDGE_CHECK(a.in[i].dtype == DType::I8, "input ", i, " has type ", dtype_name(a.in[i].dtype),
                ", expected int8");
  VEDGE_CHECK(a.out[0].dtype == DType::I8, "output has type ", dtype_name(a.out[0].dtype),
              ", expected int8");
}

// [qmin, qmax] of the output after the fused "activation" (relu, relu6,
// clip; none = [-128, 127]).
void output_range(const KernelArgs& a, const TensorQ& y, int* qmin, int* qmax) {
  const Activation act = parse_activation(a.node->attrs);
  VEDGE_CHECK(act.kind == Activation::Kind::None || act.kind == Activation::Kind::Relu ||
                  act.kind == Activation::Kind::Clip,
              "fused activation '", a.node->attrs.get_s("activation"),
              "' is not supported by integer ops (relu, relu6, clip)");
  float lo = act.lo, hi = act.hi;
  if (act.kind == Activation::Kind::Relu) lo = 0.f;
  quant_activation_range(lo, hi, y.scale, y.zp, qmin, qmax);
}

// ---- QuantizeLinear / DequantizeLinear ----------------------------------------

// Scale/zero point per element: index = (flat / inner) % channels.
struct AxisParams {
  std::vector<float> scale;
  std::vector<int32_t> zp;
  int64_t inner = 1;
};
AxisParams axis_params(const KernelArgs& a) {
  VEDGE_CHECK(a.in[1].dtype == DType::F32, "scale must be float32");
  AxisParams p;
  const int64_t ns = a.in[1].numel();
  const float* s = a.in[1].ptr<const float>();
  p.scale.assign(s, s + ns);
  for (float v : p.scale)
    VEDGE_CHECK(v > 0.f && std::isfinite(v), "scale ", v, " is not positive and finite");
  if (a.in.size() > 2 && a.in[2].present()) {
    VEDGE_CHECK(a.in[2].numel() == ns, "zero point has ", a.in[2].numel(), " values, scale has ",
                ns);
    for (int64_t i = 0; i < ns; ++i) {
      switch (a.in[2].dtype) {
        case DType::I8:
          p.zp.push_back(a.in[2].ptr<const int8_t>()[i]);
          break;
        case DType::U8:
          p.zp.push_back(a.in[2].ptr<const uint8_t>()[i]);
          break;
        case DType::I32:
          p.zp.push_back(a.in[2].ptr<const int32_t>()[i]);
          break;
        default:
          fail("zero point has unsupported type ", dtype_name(a.in[2].dtype));
      }
    }
  } else {
    p.zp.assign(static_cast<size_t>(ns), 0);
  }
  const Shape& xs = a.in[0].shape;
  if (a.node->attrs.has("axis")) {
    const int64_t axis = a.node->attrs.get_i("axis");
    VEDGE_CHECK(axis >= 0 && axis < static_cast<int64_t>(xs.size()), "axis ", axis,
                " out of range for input ", shape_str(xs));
    VEDGE_CHECK(xs[static_cast<size_t>(axis)] == ns, "scale has ", ns, " values, axis ", axis,
                " of the input has ", xs[static_cast<size_t>(axis)]);
    for (size_t d = static_cast<size_t>(axis) + 1; d < xs.size(); ++d) p.inner *= xs[d];
  } else {
    VEDGE_CHECK(ns == 1, "per-tensor scale must have one value, has ", ns);
    p.inner = std::max<int64_t>(numel(xs), 1);
  }
  return p;
}

template <class Q>
class QuantizeKernel : public Kernel {
 public:
  QuantizeKernel(const KernelArgs& a, AxisParams p, int qmin, int qmax)
      : x_(a.in[0].ptr<const float>()),
        y_(a.out[0].ptr<Q>()),
        n_(a.out[0].numel()),
        p_(std::move(p)),
        qmin_(qmin),
        qmax_(qmax) {}
  void run(ExecContext&) override {
    const int64_t c = static_cast<int64_t>(p_.scale.size());
    for (int64_t i = 0; i < n_; ++i) {
      const size_t k = static_cast<size_t>((i / p_.inner) % c);
      y_[i] = static_cast<Q>(quantize_to(x_[i], p_.scale[k], p_.zp[k], qmin_, qmax_));
    }
  }

 private:
  const float* x_;
  Q* y_;
  int64_t n_;
  AxisParams p_;
  int qmin_, qmax_;
};

template <class Q>
class DequantizeKernel : public Kernel {
 public:
  DequantizeKernel(const KernelArgs& a, AxisParams p)
      : x_(a.in[0].ptr<const Q>()),
        y_(a.out[0].ptr<float>()),
        n_(a.out[0].numel()),
        p_(std::move(p)) {}
  void run(ExecContext&) override {
    const int64_t c = static_cast<int64_t>(p_.scale.size());
    for (int64_t i = 0; i < n_; ++i) {
      const size_t k = static_cast<size_t>((i / p_.inner) % c);
      y_[i] = dequantize(static_cast<int32_t>(x_[i]), p_.scale[k], p_.zp[k]);
    }
  }

 private:
  const Q* x_;
  float* y_;
  int64_t n_;
  AxisParams p_;
};

// ---- QConv -------------------------------------------------------------------------

class QConvKernel : public Kernel {
 public:
  explicit QConvKernel(const KernelArgs& a) {
    check_i8(a, 2);
    const Shape& xs = a.in[0].shape;
    const Shape& ws = a.in[1].shape;
    const Shape& ys = a.out[0].shape;
    const ConvGeometry g = conv_geometry(a.node->attrs, xs, ws, ys);
    group_ = g.group;
    strides_ = g.strides;
    pads_ = g.pads;
    dil_ = g.dilations;
    x_ = a.in[0].ptr<const int8_t>();
    w_ = a.in[1].ptr<const int8_t>();
    y_ = a.out[0].ptr<int8_t>();
    xs_ = xs, ws_ = ws, ys_ = ys;
    const TensorQ xq = tensor_q(a, 0), yq = tensor_q(a, -1);
    zx_ = xq.zp, zy_ = yq.zp;
    output_range(a, yq, &qmin_, &qmax_);
    const QuantParams& wq = value_quant(a, a.node->inputs[1], "weights");
    const int64_t M = ws[0];
    VEDGE_CHECK(static_cast<int64_t>(wq.scale.size()) == M || wq.scale.size() == 1, "weights have ",
                wq.scale.size(), " scales for ", M, " output channels");
    VEDGE_CHECK(wq.scale.size() == 1 || wq.axis == 0, "weights must be quantized along axis 0");
    for (int32_t z : wq.zero_point)
      VEDGE_CHECK(z == 0, "weights must have zero point 0 (symmetric)");
    for (int64_t m = 0; m < M; ++m) {
      const float sw = wq.scale[wq.scale.size() == 1 ? 0 : static_cast<size_t>(m)];
      VEDGE_CHECK(sw > 0.f && std::isfinite(sw), "weight scale ", sw,
                  " is not positive and finite");
      mult_.push_back(qconv_multiplier(xq.scale, sw, yq.scale));
    }
    bias_.assign(static_cast<size_t>(M), 0);
    if (a.in.size() > 2 && a.in[2].present()) {
      VEDGE_CHECK(a.in[2].dtype == DType::I32, "bias has type ", dtype_name(a.in[2].dtype),
                  ", expected int32");
      check_shape("bias", a.in[2].shape, {M});
      std::memcpy(bias_.data(), a.in[2].data, static_cast<size_t>(M) * sizeof(int32_t));
    }
  }

  void run(ExecContext&) override {
    const int64_t N = xs_[0], C = xs_[1], H = xs_[2], W = xs_[3];
    const int64_t M = ws_[0], Cg = ws_[1], KH = ws_[2], KW = ws_[3];
    const int64_t OH = ys_[2], OW = ys_[3], Mg = M / group_;
    int8_t* y = y_;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < M; ++m) {
        const int64_t g = m / Mg;
        const int8_t* wm = w_ + m * Cg * KH * KW;
        for (int64_t oy = 0; oy < OH; ++oy)
          for (int64_t ox = 0; ox < OW; ++ox) {
            // int32 accumulator, wrapping as the fast kernels' does (summed in
            // int64 so a pathological layer is not undefined behaviour).
            int64_t acc = bias_[static_cast<size_t>(m)];
            for (int64_t c = 0; c < Cg; ++c) {
              const int8_t* xc = x_ + ((n * C + g * Cg + c) * H) * W;
              const int8_t* wc = wm + c * KH * KW;
              for (int64_t ky = 0; ky < KH; ++ky) {
                const int64_t iy = oy * strides_[0] - pads_[0] + ky * dil_[0];
                if (iy < 0 || iy >= H) continue;
                for (int64_t kx = 0; kx < KW; ++kx) {
                  const int64_t ix = ox * strides_[1] - pads_[1] + kx * dil_[1];
                  if (ix < 0 || ix >= W) continue;
                  acc += (static_cast<int32_t>(xc[iy * W + ix]) - zx_) * wc[ky * KW + kx];
                }
              }
            }
            *y++ = qconv_output(static_cast<int32_t>(static_cast<uint32_t>(acc)),
                                mult_[static_cast<size_t>(m)], zy_, qmin_, qmax_);
          }
      }
  }

 private:
  const int8_t* x_ = nullptr;
  const int8_t* w_ = nullptr;
  int8_t* y_ = nullptr;
  Shape xs_, ws_, ys_;
  int64_t group_ = 1;
  std::vector<int64_t> strides_, pads_, dil_;
  int zx_ = 0, zy_ = 0, qmin_ = kQMinI8, qmax_ = kQMaxI8;
  std::vector<float> mult_;
  std::vector<int32_t> bias_;
};

// ---- QAdd / QMul ------------------------------------------------------------------

class QBinaryKernel : public Kernel {
 public:
  explicit QBinaryKernel(const KernelArgs& a) : mul_(a.node->op == "QMul") {
    check_i8(a, 2);
    const Shape& ys = a.out[0].shape;
    check_shape("output", ys, broadcast_shape(a.in[0].shape, a.in[1].shape));
    sa_ = broadcast_strides(a.in[0].shape, ys);
    sb_ = broadcast_strides(a.in[1].shape, ys);
    ys_ = ys;
    x_ = a.in[0].ptr<const int8_t>();
    z_ = a.in[1].ptr<const int8_t>();
    y_ = a.out[0].ptr<int8_t>();
    const TensorQ qa = tensor_q(a, 0), qb = tensor_q(a, 1), qy = tensor_q(a, -1);
    int qmin = kQMinI8, qmax = kQMaxI8;
    output_range(a, qy, &qmin, &qmax);
    add_ = qadd_params(qa.scale, qa.zp, qb.scale, qb.zp, qy.scale, qy.zp, qmin, qmax);
    mulp_ = qmul_params(qa.scale, qa.zp, qb.scale, qb.zp, qy.scale, qy.zp, qmin, qmax);
  }
  void run(ExecContext&) override {
    if (numel(ys_) == 0) return;
    Odometer it(ys_, {sa_, sb_});
    int8_t* y = y_;
    do {
      const int a = x_[it.offset(0)], b = z_[it.offset(1)];
      *y++ = mul_ ? qmul(a, b, mulp_) : qadd(a, b, add_);
    } while (it.next());
  }

 private:
  bool mul_;
  const int8_t* x_ = nullptr;
  const int8_t* z_ = nullptr;
  int8_t* y_ = nullptr;
  Shape ys_;
  std::vector<int64_t> sa_, sb_;
  QAddParams add_;
  QMulParams mulp_;
};

// ---- QGlobalAveragePool -------------------------------------------------------------

class QGapKernel : public Kernel {
 public:
  explicit QGapKernel(const KernelArgs& a) {
    check_i8(a, 1);
    xs_ = a.in[0].shape;
    VEDGE_CHECK(xs_.size() == 4, "expects a 4-D input, got ", shape_str(xs_));
    check_shape("output", a.out[0].shape, {xs_[0], xs_[1], 1, 1});
    x_ = a.in[0].ptr<const int8_t>();
    y_ = a.out[0].ptr<int8_t>();
    const TensorQ qx = tensor_q(a, 0), qy = tensor_q(a, -1);
    zx_ = qx.zp, zy_ = qy.zp;
    m_ = qgap_multiplier(qx.scale, qy.scale, std::max<int64_t>(xs_[2] * xs_[3], 1));
  }
  void run(ExecContext&) override {
    const int64_t nc = xs_[0] * xs_[1], hw = xs_[2] * xs_[3];
    for (int64_t i = 0; i < nc; ++i) {
      int64_t sum = 0;  // int32 in the definition; int64 keeps huge images defined
      for (int64_t p = 0; p < hw; ++p) sum += static_cast<int32_t>(x_[i * hw + p]) - zx_;
      const int32_t sum32 = static_cast<int32_t>(static_cast<uint32_t>(sum));
      y_[i] = requantize(static_cast<float>(sum32) * m_, zy_, kQMinI8, kQMaxI8);
    }
  }

 private:
  Shape xs_;
  const int8_t* x_ = nullptr;
  int8_t* y_ = nullptr;
  int zx_ = 0, zy_ = 0;
  float m_ = 1.f;
};

// ---- QLut ----------------------------------------------------------------------------

class QLutKernel : public Kernel {
 public:
  explicit QLutKernel(const KernelArgs& a) {
    check_i8(a, 1);
    check_shape("output", a.out[0].shape, a.in[0].shape);
    const std::vector<int64_t> t = a.node->attrs.get_ints("table");
    VEDGE_CHECK(t.size() == 256, "attribute 'table' must have 256 values, has ", t.size());
    for (size_t i = 0; i < 256; ++i) {
      VEDGE_CHECK(t[i] >= kQMinI8 && t[i] <= kQMaxI8, "table entry ", t[i], " is not an int8");
      table_[i] = static_cast<int8_t>(t[i]);
    }
    x_ = a.in[0].ptr<const int8_t>();
    y_ = a.out[0].ptr<int8_t>();
    n_ = a.out[0].numel();
  }
  void run(ExecContext&) override {
    for (int64_t i = 0; i < n_; ++i) y_[i] = table_[static_cast<size_t>(x_[i] + 128)];
  }

 private:
  std::array<int8_t, 256> table_{};
  const int8_t* x_ = nullptr;
  int8_t* y_ = nullptr;
  int64_t n_ = 0;
};

// ---- QConcat ---------------------------------------------------------------------------

class QConcatKernel : public Kernel {
 public:
  explicit QConcatKernel(const KernelArgs& a) {
    check_i8(a, a.in.size());
    const Shape& ys = a.out[0].shape;
    const int64_t axis = a.node->attrs.get_i("axis", -1);
    VEDGE_CHECK(axis >= 0 && axis < static_cast<int64_t>(ys.size()), "axis ", axis,
                " is not in [0, ", ys.size(), ")");
    const TensorQ qy = tensor_q(a, -1);
    zy_ = qy.zp;
    for (int64_t d = 0; d < axis; ++d) outer_ *= ys[static_cast<size_t>(d)];
    int64_t total = 0;
    for (size_t i = 0; i < a.in.size(); ++i) {
      Shape want = ys;
      want[static_cast<size_t>(axis)] =
          a.in[i].shape.size() == ys.size() ? a.in[i].shape[static_cast<size_t>(axis)] : -1;
      VEDGE_CHECK(a.in[i].shape == want, "input ", i, " shape ", shape_str(a.in[i].shape),
                  " does not concatenate into ", shape_str(ys), " along axis ", axis);
      total += want[static_cast<size_t>(axis)];
      const TensorQ qi = tensor_q(a, static_cast<int>(i));
      Part p;
      p.x = a.in[i].ptr<const int8_t>();
      p.chunk = outer_ ? a.in[i].numel() / outer_ : 0;
      p.zi = qi.zp;
      p.m = qconcat_multiplier(qi.scale, qy.scale);
      p.copy = qi.scale == qy.scale && qi.zp == qy.zp;
      parts_.push_back(p);
    }
    VEDGE_CHECK(total == ys[static_cast<size_t>(axis)], "inputs sum to ", total, " along axis ",
                axis, ", output has ", ys[static_cast<size_t>(axis)]);
    y_ = a.out[0].ptr<int8_t>();
  }
  void run(ExecContext&) override {
    int8_t* y = y_;
    for (int64_t o = 0; o < outer_; ++o)
      for (const Part& p : parts_) {
        const int8_t* x = p.x + o * p.chunk;
        if (p.copy) {
          if (p.chunk) std::memcpy(y, x, static_cast<size_t>(p.chunk));
        } else {
          for (int64_t i = 0; i < p.chunk; ++i) y[i] = qrescale(x[i], p.zi, p.m, zy_);
        }
        y += p.chunk;
      }
  }

 private:
  struct Part {
    const int8_t* x = nullptr;
    int64_t chunk = 0;
    int zi = 0;
    float m = 1.f;
    bool copy = true;
  };
  std::vector<Part> parts_;
  int8_t* y_ = nullptr;
  int64_t outer_ = 1;
  int zy_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_quantize_linear(const KernelArgs& a) {
  check_arity(a, 3, 3, 1);
  VEDGE_CHECK(a.in[0].dtype == DType::F32, "input has type ", dtype_name(a.in[0].dtype),
              ", expected float32");
  check_shape("output", a.out[0].shape, a.in[0].shape);
  VEDGE_CHECK(a.in[2].dtype == a.out[0].dtype, "zero point type ", dtype_name(a.in[2].dtype),
              " differs from the output type ", dtype_name(a.out[0].dtype));
  AxisParams p = axis_params(a);
  if (a.out[0].dtype == DType::I8) {
    for (int32_t z : p.zp)
      VEDGE_CHECK(z >= kQMinI8 && z <= kQMaxI8, "zero point ", z, " is not an int8");
    return std::make_unique<QuantizeKernel<int8_t>>(a, std::move(p), kQMinI8, kQMaxI8);
  }
  if (a.out[0].dtype == DType::U8)
    return std::make_unique<QuantizeKernel<uint8_t>>(a, std::move(p), 0, 255);
  fail("output type ", dtype_name(a.out[0].dtype), " is not int8 or uint8");
}

std::unique_ptr<Kernel> make_dequantize_linear(const KernelArgs& a) {
  check_arity(a, 2, 3, 1);
  VEDGE_CHECK(a.out[0].dtype == DType::F32, "output type must be float32");
  check_shape("output", a.out[0].shape, a.in[0].shape);
  if (a.in.size() > 2 && a.in[2].present())
    VEDGE_CHECK(a.in[2].dtype == a.in[0].dtype, "zero point type ", dtype_name(a.in[2].dtype),
                " differs from the input type ", dtype_name(a.in[0].dtype));
  AxisParams p = axis_params(a);
  switch (a.in[0].dtype) {
    case DType::I8:
      return std::make_unique<DequantizeKernel<int8_t>>(a, std::move(p));
    case DType::U8:
      return std::make_unique<DequantizeKernel<uint8_t>>(a, std::move(p));
    case DType::I32:
      for (int32_t z : p.zp) VEDGE_CHECK(z == 0, "an int32 input needs zero point 0");
      return std::make_unique<DequantizeKernel<int32_t>>(a, std::move(p));
    default:
      fail("input type ", dtype_name(a.in[0].dtype), " is not int8, uint8 or int32");
  }
}

std::unique_ptr<Kernel> make_qconv(const KernelArgs& a) {
  check_arity(a, 2, 3, 1);
  return std::make_unique<QConvKernel>(a);
}

std::unique_ptr<Kernel> make_qbinary(const KernelArgs& a) {
  check_arity(a, 2, 2, 1);
  return std::make_unique<QBinaryKernel>(a);
}

std::unique_ptr<Kernel> make_qglobal_avg_pool(const KernelArgs& a) {
  check_arity(a, 1, 1, 1);
  return std::make_unique<QGapKernel>(a);
}

std::unique_ptr<Kernel> make_qlut(const KernelArgs& a) {
  check_arity(a, 1, 1, 1);
  return std::make_unique<QLutKernel>(a);
}

std::unique_ptr<Kernel> make_qconcat(const KernelArgs& a) {
  check_arity(a, 1, a.in.size() > 0 ? a.in.size() : 1, 1);
  return std::make_unique<QConcatKernel>(a);
}

}  // namespace ref
}  // namespace vedge
