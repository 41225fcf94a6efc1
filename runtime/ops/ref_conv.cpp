// ref_conv.cpp: reference 2-D convolution (F32), the oracle for the fast
// convolutions. X [N,C,H,W], W [M,C/group,KH,KW], optional B [M];
// attrs strides[2] (default 1,1), pads[4] top,left,bottom,right (default 0),
// dilations[2] (default 1,1), group (default 1; group == C == M is
// depthwise), optional fused "activation" (see ref.h).
// Each output is: acc = 0; acc += x * w over (input channel, kh, kw) in that
// order, skipping taps in the zero padding; acc += bias; y = activation(acc).
// Depends on ops/ref.h only.
#include "runtime/ops/ref.h"

namespace vedge {
namespace ref {

ConvGeometry conv_geometry(const Attrs& at, const Shape& xs, const Shape& ws, const Shape& ys) {
  VEDGE_CHECK(xs.size() == 4, "input must be 4-D NCHW, is ", shape_str(xs));
  VEDGE_CHECK(ws.size() == 4, "weight must be 4-D [M,C/group,KH,KW], is ", shape_str(ws));
  VEDGE_CHECK(at.get_s("auto_pad", "NOTSET") == "NOTSET", "auto_pad must be resolved into pads by the importer");
  ConvGeometry g;
  g.strides = attr_ints(at, "strides", 2, {1, 1});
  g.pads = attr_ints(at, "pads", 4, {0, 0, 0, 0});
  g.dilations = attr_ints(at, "dilations", 2, {1, 1});
  g.group = at.get_i("group", 1);
  g.N = xs[0], g.C = xs[1], g.H = xs[2], g.W = xs[3];
  g.M = ws[0], g.KH = ws[2], g.KW = ws[3];
  VEDGE_CHECK(g.strides[0] > 0 && g.strides[1] > 0, "strides must be positive");
  VEDGE_CHECK(g.dilations[0] > 0 && g.dilations[1] > 0, "dilations must be positive");
  for (int64_t p : g.pads) VEDGE_CHECK(p >= 0, "pads must be non-negative");
  VEDGE_CHECK(g.group > 0 && g.C % g.group == 0 && g.M % g.group == 0, "group ", g.group,
              " does not divide input channels ", g.C, " and output channels ", g.M);
  VEDGE_CHECK(ws[1] * g.group == g.C && g.KH > 0 && g.KW > 0, "weight shape ", shape_str(ws), " does not match ",
              g.C, " input channels and group ", g.group);
  if (at.has("kernel_shape"))
    VEDGE_CHECK(at.get_ints("kernel_shape") == (std::vector<int64_t>{g.KH, g.KW}),
                "kernel_shape does not match weight shape ", shape_str(ws));
  const int64_t eh = g.H + g.pads[0] + g.pads[2] - g.dilations[0] * (g.KH - 1) - 1;
  const int64_t ew = g.W + g.pads[1] + g.pads[3] - g.dilations[1] * (g.KW - 1) - 1;
  VEDGE_CHECK(eh >= 0 && ew >= 0, "kernel ", g.KH, "x", g.KW, " (dilated) is larger than the padded input ",
              shape_str(xs));
  g.OH = eh / g.strides[0] + 1;
  g.OW = ew / g.strides[1] + 1;
  check_shape("output", ys, {g.N, g.M, g.OH, g.OW});
  return g;
}

namespace {

class ConvKernel : public Kernel {
 public:
  explicit ConvKernel(const KernelArgs& a) {
    const Attrs& at = a.node->attrs;
    const ConvGeometry g = conv_geometry(at, a.in[0].shape, a.in[1].shape, a.out[0].shape);
    group_ = g.group;
    N_ = g.N, C_ = g.C, H_ = g.H, W_ = g.W;
    M_ = g.M, KH_ = g.KH, KW_ = g.KW, OH_ = g.OH, OW_ = g.OW;
    sh_ = g.strides[0], sw_ = g.strides[1], pt_ = g.pads[0], pl_ = g.pads[1];
    dh_ = g.dilations[0], dw_ = g.dilations[1];
    if (a.in.size() > 2 && a.in[2].present()) {
      check_shape("bias", a.in[2].shape, {M_});
      b_ = a.in[2].ptr<const float>();
    }
    act_ = parse_activation(at);
    x_ = a.in[0].ptr<const float>();
    w_ = a.in[1].ptr<const float>();
    y_ = a.out[0].ptr<float>();
  }

  void run(ExecContext&) override {
    const int64_t cg = C_ / group_, mg = M_ / group_;
    float* y = y_;
    for (int64_t n = 0; n < N_; ++n)
      for (int64_t m = 0; m < M_; ++m) {
        const int64_t c0 = (m / mg) * cg;  // first input channel of m's group
        for (int64_t oh = 0; oh < OH_; ++oh)
          for (int64_t ow = 0; ow < OW_; ++ow) {
            float acc = 0.f;
            for (int64_t c = 0; c < cg; ++c) {
              const float* xc = x_ + ((n * C_ + c0 + c) * H_) * W_;
              const float* wc = w_ + ((m * cg + c) * KH_) * KW_;
              for (int64_t kh = 0; kh < KH_; ++kh) {
                const int64_t ih = oh * sh_ - pt_ + kh * dh_;
                if (ih < 0 || ih >= H_) continue;
                for (int64_t kw = 0; kw < KW_; ++kw) {
                  const int64_t iw = ow * sw_ - pl_ + kw * dw_;
                  if (iw < 0 || iw >= W_) continue;
                  acc += xc[ih * W_ + iw] * wc[kh * KW_ + kw];
                }
              }
            }
            if (b_) acc += b_[m];
            *y++ = act_(acc);
          }
      }
  }

 private:
  int64_t N_, C_, H_, W_, M_, KH_, KW_, OH_, OW_, group_;
  int64_t sh_, sw_, pt_, pl_, dh_, dw_;
  Activation act_;
  const float* x_;
  const float* w_;
  const float* b_ = nullptr;
  float* y_;
};

}  // namespace

std::unique_ptr<Kernel> make_conv(const KernelArgs& a) {
  check_arity(a, 2, 3, 1);
  if (!all_dtype(a, DType::F32)) return nullptr;
  return std::make_unique<ConvKernel>(a);
}

}  // namespace ref
}  // namespace vedge
