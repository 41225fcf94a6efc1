// fast_quant_conv.cpp: fast QConv (int8 activations, per-channel int8
// weights, int32 bias) on XNNPACK's qc8 NHWC convolution. X and Y are stored
// channel-last, with a pixel stride that may exceed the channel count (a
// channel slice of a wider buffer), as for the float Conv (fast_conv.cpp).
// Grouped, depthwise, padded, strided and dilated convolutions map to one
// operator; a fused relu / relu6 / clip narrows the output range.
// Numerics (runtime/quant_math.h): XNNPACK computes the per-channel
// multiplier as qconv_multiplier() and requantizes as qconv_output(), so the
// result is bit-identical to the reference kernel. Configurations XNNPACK
// rejects (multiplier >= 256, empty output range, weights with a non-zero
// zero point, per-tensor parameters missing) return nullptr: the reference
// kernel runs them.
// Pointwise convolutions (1x1, stride 1, unpadded, one group) run instead on
// the VNNI GEMM of ops/qgemm_vnni.h where the CPU has AVX-512 VNNI or
// AVX-VNNI (same numerics, same accepted configurations as XNNPACK's).
// Depends on runtime/ops/xnn_util.h, ops/fast_quant.h, ops/qgemm_vnni.h and
// ops/ref.h.
#include <cmath>
#include <cstring>
#include <vector>

#include "runtime/error.h"
#include "runtime/ops/fast_quant.h"
#include "runtime/ops/qgemm_vnni.h"
#include "runtime/ops/ref.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

class QGemmKernel : public Kernel {
 public:
  QGemmKernel(QGemmConv1x1 g, const int8_t* x, int64_t px, int8_t* y, int64_t py)
      : g_(std::move(g)), x_(x), y_(y), px_(px), py_(py) {}
  void run(ExecContext& ctx) override { g_.run(x_, px_, y_, py_, ctx.threadpool); }

 private:
  QGemmConv1x1 g_;
  const int8_t* x_;
  int8_t* y_;
  int64_t px_, py_;
};

// The VNNI kernel for a pointwise convolution, or nullptr when the CPU has
// no VNNI path or XNNPACK would refuse the scales (the caller then goes on
// to XNNPACK, which runs or refuses it as before).
std::unique_ptr<Kernel> make_vnni_pointwise(const KernelArgs& a, const ref::ConvGeometry& geo, fq::TensorQuant qx,
                                            fq::TensorQuant qy, const std::vector<float>& wscale, int qmin,
                                            int qmax, int64_t px, int64_t py) {
  const QGemmIsa isa = best_qgemm_isa();
  bool pointwise = isa != QGemmIsa::None && geo.KH == 1 && geo.KW == 1 && geo.group == 1;
  for (int64_t v : geo.strides) pointwise = pointwise && v == 1;
  for (int64_t v : geo.pads) pointwise = pointwise && v == 0;
  for (int64_t v : geo.dilations) pointwise = pointwise && v == 1;
  if (!pointwise || !std::isnormal(qx.scale) || !std::isnormal(qy.scale)) return nullptr;
  QGemmParams p;
  p.channels = geo.C;
  p.outputs = geo.M;
  p.weight = a.in[1].ptr<const int8_t>();
  p.bias = a.in.size() == 3 && a.in[2].present() ? a.in[2].ptr<const int32_t>() : nullptr;
  for (float sw : wscale) {
    p.multiplier.push_back(qconv_multiplier(qx.scale, sw, qy.scale));
    if (!std::isnormal(sw) || !(p.multiplier.back() < 256.f)) return nullptr;
  }
  p.zx = qx.zp, p.zy = qy.zp, p.qmin = qmin, p.qmax = qmax;
  QGemmConv1x1 g(p, isa, geo.N * geo.H * geo.W);
  return std::make_unique<QGemmKernel>(std::move(g), a.in[0].ptr<const int8_t>(), px, a.out[0].ptr<int8_t>(), py);
}

}  // namespace

std::unique_ptr<Kernel> make_fast_qconv(const KernelArgs& a) {
  VEDGE_CHECK((a.in.size() == 2 || a.in.size() == 3) && a.out.size() == 1, "expects X, W, [B] and 1 output");
  const TensorRef &x = a.in[0], &w = a.in[1], &y = a.out[0];
  const TensorRef* b = a.in.size() == 3 && a.in[2].present() ? &a.in[2] : nullptr;
  if (x.dtype != DType::I8 || w.dtype != DType::I8 || y.dtype != DType::I8 || (b && b->dtype != DType::I32))
    return nullptr;
  const Attrs& at = a.node->attrs;
  const int64_t px = nhwc_pixel_stride(x), py = nhwc_pixel_stride(y);
  VEDGE_CHECK(px > 0 && py > 0, "the fast QConv needs NHWC input and output");
  VEDGE_CHECK(is_plain_layout(w) && input_is_constant(a, 1), "weight must be a constant tensor");
  VEDGE_CHECK(!b || (is_plain_layout(*b) && input_is_constant(a, 2)), "bias must be a constant");
  const ref::ConvGeometry geo = ref::conv_geometry(at, x.shape, w.shape, y.shape);
  const std::vector<int64_t>&st = geo.strides, &pd = geo.pads, &dl = geo.dilations;
  const int64_t group = geo.group;
  const int64_t N = geo.N, C = geo.C, H = geo.H, W = geo.W;
  const int64_t M = geo.M, KH = geo.KH, KW = geo.KW;
  if (b) ref::check_shape("bias", b->shape, {M});

  // Quantization: per-tensor X and Y, symmetric per-channel (or per-tensor) W.
  fq::TensorQuant qx, qy;
  if (!fq::per_tensor(a, false, 0, &qx) || !fq::per_tensor(a, true, 0, &qy)) return nullptr;
  const QuantParams* qw = fq::operand_quant(a, false, 1);
  if (!qw || (qw->scale.size() != 1 && (static_cast<int64_t>(qw->scale.size()) != M || qw->axis != 0)))
    return nullptr;
  for (int32_t z : qw->zero_point)
    if (z != 0) return nullptr;
  std::vector<float> wscale(static_cast<size_t>(M));
  for (int64_t o = 0; o < M; ++o) wscale[o] = qw->scale[qw->scale.size() == 1 ? 0 : static_cast<size_t>(o)];
  int qmin = 0, qmax = 0;
  if (!fq::activation_range(at, qy, &qmin, &qmax) || qmin >= qmax) return nullptr;
  if (qx.zp < kQMinI8 || qx.zp > kQMaxI8 || qy.zp < kQMinI8 || qy.zp > kQMaxI8) return nullptr;
  if (auto k = make_vnni_pointwise(a, geo, qx, qy, wscale, qmin, qmax, px, py)) return k;

  // OIHW -> OHWI (= XNNPACK's GOHWI with O = group * M/group).
  const int64_t cg = C / group, taps = KH * KW;
  std::vector<int8_t> packed(static_cast<size_t>(M * cg * taps) + XNN_EXTRA_BYTES);
  const int8_t* src = w.ptr<const int8_t>();
  for (int64_t o = 0; o < M; ++o)
    for (int64_t i = 0; i < cg; ++i)
      for (int64_t t = 0; t < taps; ++t) packed[(o * taps + t) * cg + i] = src[(o * cg + i) * taps + t];

  ensure_xnnpack();
  pthreadpool_t pool = a.ctx ? a.ctx->threadpool : nullptr;
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  XnnOp conv;
  const xnn_status s = xnn_create_convolution2d_nhwc_qc8(
      u32(pd[0]), u32(pd[3]), u32(pd[2]), u32(pd[1]), u32(KH), u32(KW), u32(st[0]), u32(st[1]), u32(dl[0]),
      u32(dl[1]), u32(group), static_cast<size_t>(cg), static_cast<size_t>(M / group), static_cast<size_t>(px),
      static_cast<size_t>(py), static_cast<int8_t>(qx.zp), qx.scale, wscale.data(), packed.data(),
      b ? b->ptr<const int32_t>() : nullptr, static_cast<int8_t>(qy.zp), qy.scale, static_cast<int8_t>(qmin),
      static_cast<int8_t>(qmax), 0, conv.out());
  // Unsupported parameters (a multiplier >= 256, a denormal scale): the
  // reference kernel computes them with the same definitions.
  if (s == xnn_status_unsupported_parameter || s == xnn_status_invalid_parameter) return nullptr;
  xnn_check(s, "create qc8 convolution");
  xnn_check(xnn_setup_convolution2d_nhwc_qc8(conv.get(), static_cast<size_t>(N), static_cast<size_t>(H),
                                             static_cast<size_t>(W), x.ptr<const int8_t>(), y.ptr<int8_t>(), pool),
            "setup qc8 convolution");
  return std::make_unique<XnnKernel>(node_label(a), std::move(conv));
}

}  // namespace vedge
