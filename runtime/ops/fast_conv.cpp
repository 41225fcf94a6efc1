// fast_conv.cpp: fast 2-D convolution (F32) on XNNPACK's NHWC operator.
// X [N,C,H,W] and Y [N,M,OH,OW] are stored channel-last (a pixel stride
// larger than the channel count is accepted, so a conv can read or write a
// channel slice of a wider buffer); W [M,C/group,KH,KW] and B [M] are
// constants, repacked once to XNNPACK's [M,KH,KW,C/group] order (XNNPACK then
// packs its own copy). Grouped, depthwise, padded, strided and dilated
// convolutions all map to one operator. Fused activation: relu / relu6 / clip
// become the operator's output range; hardswish / sigmoid run as a second
// XNNPACK operator in place on the output.
// Depends on runtime/ops/xnn_util.h and ops/ref.h (attribute conventions).
#include <vector>

#include "runtime/error.h"
#include "runtime/ops/ref.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {

std::unique_ptr<Kernel> make_fast_conv(const KernelArgs& a) {
  VEDGE_CHECK((a.in.size() == 2 || a.in.size() == 3) && a.out.size() == 1, "expects X, W, [B] and 1 output");
  const TensorRef &x = a.in[0], &w = a.in[1], &y = a.out[0];
  const TensorRef* b = a.in.size() == 3 && a.in[2].present() ? &a.in[2] : nullptr;
  if (x.dtype != DType::F32 || w.dtype != DType::F32 || y.dtype != DType::F32 ||
      (b && b->dtype != DType::F32))
    return nullptr;
  const Attrs& at = a.node->attrs;
  const int64_t px = nhwc_pixel_stride(x), py = nhwc_pixel_stride(y);
  VEDGE_CHECK(px > 0 && py > 0, "the fast Conv needs NHWC input and output");
  VEDGE_CHECK(is_plain_layout(w) && input_is_constant(a, 1), "weight must be a constant tensor");
  VEDGE_CHECK(!b || (is_plain_layout(*b) && input_is_constant(a, 2)), "bias must be a constant");
  const ref::ConvGeometry geo = ref::conv_geometry(at, x.shape, w.shape, y.shape);
  const std::vector<int64_t>&st = geo.strides, &pd = geo.pads, &dl = geo.dilations;
  const int64_t group = geo.group;
  const int64_t N = geo.N, C = geo.C, H = geo.H, W = geo.W;
  const int64_t M = geo.M, KH = geo.KH, KW = geo.KW;
  if (b) ref::check_shape("bias", b->shape, {M});

  // OIHW -> OHWI (= XNNPACK's GOHWI with O = group * M/group).
  const int64_t cg = C / group, taps = KH * KW;
  std::vector<float> packed(static_cast<size_t>(M * cg * taps) + XNN_EXTRA_BYTES / sizeof(float));
  const float* src = w.ptr<const float>();
  for (int64_t o = 0; o < M; ++o)
    for (int64_t i = 0; i < cg; ++i)
      for (int64_t t = 0; t < taps; ++t) packed[(o * taps + t) * cg + i] = src[(o * cg + i) * taps + t];

  const ref::Activation act = ref::parse_activation(at);
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (act.kind == ref::Activation::Kind::Relu) lo = 0.f;
  if (act.kind == ref::Activation::Kind::Clip) {
    lo = act.lo;
    hi = act.hi;
    VEDGE_CHECK(lo < hi, "fused clip range [", lo, ", ", hi, "] is empty");
  }

  ensure_xnnpack();
  pthreadpool_t pool = a.ctx ? a.ctx->threadpool : nullptr;
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  XnnOp conv;
  xnn_check(xnn_create_convolution2d_nhwc_f32(
                u32(pd[0]), u32(pd[3]), u32(pd[2]), u32(pd[1]), u32(KH), u32(KW), u32(st[0]), u32(st[1]),
                u32(dl[0]), u32(dl[1]), u32(group), static_cast<size_t>(cg), static_cast<size_t>(M / group),
                static_cast<size_t>(px), static_cast<size_t>(py), packed.data(),
                b ? b->ptr<const float>() : nullptr, lo, hi, 0, conv.out()),
            "create convolution");
  xnn_check(
      xnn_setup_convolution2d_nhwc_f32(conv.get(), static_cast<size_t>(N), static_cast<size_t>(H),
                                       static_cast<size_t>(W), x.ptr<const float>(), y.ptr<float>(), pool),
      "setup convolution");

  XnnOp post;
  const size_t pixels = static_cast<size_t>(N * geo.OH * geo.OW);
  const size_t m = static_cast<size_t>(M), ps = static_cast<size_t>(py);
  if (act.kind == ref::Activation::Kind::HardSwish) {
    xnn_check(xnn_create_hardswish_nc_f32(m, ps, ps, 0, post.out()), "create hardswish");
    xnn_check(xnn_setup_hardswish_nc_f32(post.get(), pixels, y.ptr<float>(), y.ptr<float>(), pool),
              "setup hardswish");
  } else if (act.kind == ref::Activation::Kind::Sigmoid) {
    xnn_check(xnn_create_sigmoid_nc_f32(m, ps, ps, 0, post.out()), "create sigmoid");
    xnn_check(xnn_setup_sigmoid_nc_f32(post.get(), pixels, y.ptr<float>(), y.ptr<float>(), pool),
              "setup sigmoid");
  }
  return std::make_unique<XnnKernel>(node_label(a), std::move(conv), std::move(post));
}

}  // namespace vedge
