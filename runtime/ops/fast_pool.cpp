// fast_pool.cpp: fast pooling kernels (F32) on NHWC tensors (a pixel stride
// larger than the channel count is accepted on either side).
//   GlobalAveragePool: XNNPACK global_average_pooling_nwc.
//   MaxPool: XNNPACK max_pooling2d_nhwc (a ceil_mode output gets the extra
//   bottom/right padding it implies; max ignores padding either way), except
//   padded windows with unequal H/W dilations, which that XNNPACK version
//   gets wrong.
//   AveragePool: XNNPACK average_pooling2d_nhwc when it computes the ONNX
//   result (no padding, or count_include_pad = 0, no dilation).
//   Everything XNNPACK cannot do (1x1 windows, count_include_pad with pads,
//   dilated averages, padded max with unequal dilations) runs an own NHWC
//   loop with the reference semantics (ops/ref_pool.cpp): windows clipped to
//   the input, divisor = taps inside the input, or with count_include_pad the
//   taps inside the ONNX pads.
// Depends on runtime/ops/xnn_util.h and ops/ref.h.
#include <algorithm>
#include <limits>

#include "runtime/error.h"
#include "runtime/ops/ref.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct PoolGeom {
  int64_t N, C, H, W, OH, OW, px, py;
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t pt, pl, pb, pr;  // ONNX pads
};

// Own NHWC pooling loop, one task per output row.
class NhwcPoolKernel : public Kernel {
 public:
  NhwcPoolKernel(const PoolGeom& g, bool max, bool include_pad, const float* x, float* y)
      : g_(g), max_(max), include_pad_(include_pad), x_(x), y_(y) {}

  void run(ExecContext& ctx) override {
    parallel_for(ctx.threadpool, g_.N * g_.OH, 1, [this](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) row(r / g_.OH, r % g_.OH);
    });
  }

 private:
  void row(int64_t n, int64_t oh) const {
    const PoolGeom& g = g_;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      float* y = y_ + ((n * g.OH + oh) * g.OW + ow) * g.py;
      for (int64_t c = 0; c < g.C; ++c) y[c] = max_ ? -kInf : 0.f;
      int64_t inside = 0, padded = 0;
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t ih = oh * g.sh - g.pt + i * g.dh;
        if (ih < -g.pt || ih >= g.H + g.pb) continue;
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t iw = ow * g.sw - g.pl + j * g.dw;
          if (iw < -g.pl || iw >= g.W + g.pr) continue;
          ++padded;
          if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
          ++inside;
          const float* x = x_ + ((n * g.H + ih) * g.W + iw) * g.px;
          if (max_) {
            for (int64_t c = 0; c < g.C; ++c) y[c] = std::max(y[c], x[c]);
          } else {
            for (int64_t c = 0; c < g.C; ++c) y[c] += x[c];
          }
        }
      }
      if (!max_) {
        const float inv = 1.f / static_cast<float>(include_pad_ ? padded : inside);
        for (int64_t c = 0; c < g.C; ++c) y[c] *= inv;
      }
    }
  }

  PoolGeom g_;
  bool max_, include_pad_;
  const float* x_;
  float* y_;
};

void check_nhwc_f32(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 1 && a.out.size() == 1, "expects 1 input and 1 output");
  const TensorRef &x = a.in[0], &y = a.out[0];
  VEDGE_CHECK(x.shape.size() == 4 && y.shape.size() == 4, "input and output must be 4-D, are ",
              shape_str(x.shape), " and ", shape_str(y.shape));
  VEDGE_CHECK(nhwc_pixel_stride(x) > 0 && nhwc_pixel_stride(y) > 0, "the fast ", a.node->op,
              " needs NHWC input and output");
  VEDGE_CHECK(y.shape[0] == x.shape[0] && y.shape[1] == x.shape[1], "output shape ", shape_str(y.shape),
              " does not match input ", shape_str(x.shape));
}

}  // namespace

std::unique_ptr<Kernel> make_fast_global_avg_pool(const KernelArgs& a) {
  check_nhwc_f32(a);
  const TensorRef &x = a.in[0], &y = a.out[0];
  if (x.dtype != DType::F32 || y.dtype != DType::F32) return nullptr;
  ref::check_shape("output", y.shape, {x.shape[0], x.shape[1], 1, 1});
  VEDGE_CHECK(x.shape[2] * x.shape[3] > 0, "empty spatial extent in ", shape_str(x.shape));
  ensure_xnnpack();
  XnnOp op;
  xnn_check(xnn_create_global_average_pooling_nwc_f32(
                static_cast<size_t>(x.shape[1]), static_cast<size_t>(nhwc_pixel_stride(x)),
                static_cast<size_t>(nhwc_pixel_stride(y)), -kInf, kInf, 0, op.out()),
            "create global average pooling");
  xnn_check(xnn_setup_global_average_pooling_nwc_f32(
                op.get(), static_cast<size_t>(x.shape[0]), static_cast<size_t>(x.shape[2] * x.shape[3]),
                x.ptr<const float>(), y.ptr<float>(), a.ctx ? a.ctx->threadpool : nullptr),
            "setup global average pooling");
  return std::make_unique<XnnKernel>(node_label(a), std::move(op));
}

std::unique_ptr<Kernel> make_fast_pool(const KernelArgs& a) {
  check_nhwc_f32(a);
  const TensorRef &x = a.in[0], &y = a.out[0];
  if (x.dtype != DType::F32 || y.dtype != DType::F32) return nullptr;
  const Attrs& at = a.node->attrs;
  const bool max = a.node->op == "MaxPool";
  VEDGE_CHECK(at.get_s("auto_pad", "NOTSET") == "NOTSET",
              "auto_pad must be resolved into pads by the importer");
  VEDGE_CHECK(at.has("kernel_shape"), "attribute 'kernel_shape' is missing");
  const auto k = ref::attr_ints(at, "kernel_shape", 2, {});
  const auto s = ref::attr_ints(at, "strides", 2, {1, 1});
  const auto p = ref::attr_ints(at, "pads", 4, {0, 0, 0, 0});
  const auto d = ref::attr_ints(at, "dilations", 2, {1, 1});
  const bool include_pad = !max && at.get_i("count_include_pad", 0) != 0;
  PoolGeom g{x.shape[0],
             x.shape[1],
             x.shape[2],
             x.shape[3],
             y.shape[2],
             y.shape[3],
             nhwc_pixel_stride(x),
             nhwc_pixel_stride(y),
             k[0],
             k[1],
             s[0],
             s[1],
             d[0],
             d[1],
             p[0],
             p[1],
             p[2],
             p[3]};
  for (int64_t v : {g.kh, g.kw, g.sh, g.sw, g.dh, g.dw})
    VEDGE_CHECK(v > 0, "kernel_shape, strides and dilations must be positive");
  for (int64_t v : p) VEDGE_CHECK(v >= 0, "pads must be non-negative");

  // Output size check (floor or ceil form, as the reference accepts) and the
  // extra bottom/right padding that makes XNNPACK's floor form produce it.
  int64_t extra[2];
  const int64_t in[2] = {g.H, g.W}, out[2] = {g.OH, g.OW}, kk[2] = {g.kh, g.kw}, ss[2] = {g.sh, g.sw},
                dd[2] = {g.dh, g.dw}, pb[2] = {g.pt, g.pl}, pe[2] = {g.pb, g.pr};
  for (int i = 0; i < 2; ++i) {
    const int64_t span = in[i] + pb[i] + pe[i] - (dd[i] * (kk[i] - 1) + 1);
    VEDGE_CHECK(span >= 0, "window larger than the padded input ", shape_str(x.shape));
    const int64_t lo = span / ss[i] + 1, hi = (span + ss[i] - 1) / ss[i] + 1;
    VEDGE_CHECK(out[i] == lo || out[i] == hi, "output shape ", shape_str(y.shape),
                " does not match the pooling of ", shape_str(x.shape));
    for (int64_t o = 0; o < out[i]; ++o) {  // as the reference: no window of padding only
      bool covered = false;
      for (int64_t t = 0; t < kk[i] && !covered; ++t) {
        const int64_t pos = o * ss[i] - pb[i] + t * dd[i];
        covered = pos >= 0 && pos < in[i];
      }
      VEDGE_CHECK(covered, "output ", o, " along ", i == 0 ? "height" : "width", " pools only padding");
    }
    extra[i] = (out[i] - 1) * ss[i] + dd[i] * (kk[i] - 1) + 1 - (in[i] + pb[i] + pe[i]);
    if (extra[i] < 0) extra[i] = 0;
  }
  const bool any_pad = g.pt || g.pl || g.pb || g.pr || extra[0] || extra[1];
  // XNNPACK (2022) max pooling picks wrong taps when padded with unequal
  // height/width dilations (checked against a naive loop on random configs).
  const bool xnn_ok = g.kh * g.kw > 1 &&
                      (max ? g.dh == g.dw || !any_pad : g.dh == 1 && g.dw == 1 && (!include_pad || !any_pad));
  if (xnn_ok) {
    ensure_xnnpack();
    pthreadpool_t pool = a.ctx ? a.ctx->threadpool : nullptr;
    auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
    XnnOp op;
    xnn_status st;
    if (max) {
      st = xnn_create_max_pooling2d_nhwc_f32(u32(g.pt), u32(g.pr + extra[1]), u32(g.pb + extra[0]), u32(g.pl),
                                             u32(g.kh), u32(g.kw), u32(g.sh), u32(g.sw), u32(g.dh), u32(g.dw),
                                             static_cast<size_t>(g.C), static_cast<size_t>(g.px),
                                             static_cast<size_t>(g.py), -kInf, kInf, 0, op.out());
      if (st == xnn_status_success)
        st = xnn_setup_max_pooling2d_nhwc_f32(op.get(), static_cast<size_t>(g.N), static_cast<size_t>(g.H),
                                              static_cast<size_t>(g.W), x.ptr<const float>(), y.ptr<float>(),
                                              pool);
    } else {
      st = xnn_create_average_pooling2d_nhwc_f32(u32(g.pt), u32(g.pr + extra[1]), u32(g.pb + extra[0]),
                                                 u32(g.pl), u32(g.kh), u32(g.kw), u32(g.sh), u32(g.sw),
                                                 static_cast<size_t>(g.C), static_cast<size_t>(g.px),
                                                 static_cast<size_t>(g.py), -kInf, kInf, 0, op.out());
      if (st == xnn_status_success)
        st = xnn_setup_average_pooling2d_nhwc_f32(op.get(), static_cast<size_t>(g.N),
                                                  static_cast<size_t>(g.H), static_cast<size_t>(g.W),
                                                  x.ptr<const float>(), y.ptr<float>(), pool);
    }
    // XNNPACK rejects some legal configs (e.g. stride > window): use the own loop then.
    if (st == xnn_status_success) return std::make_unique<XnnKernel>(node_label(a), std::move(op));
    if (st != xnn_status_invalid_parameter && st != xnn_status_unsupported_parameter)
      xnn_check(st, max ? "max pooling" : "average pooling");
  }
  return std::make_unique<NhwcPoolKernel>(g, max, include_pad, x.ptr<const float>(), y.ptr<float>());
}

}  // namespace vedge
