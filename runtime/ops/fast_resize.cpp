// fast_resize.cpp: fast Resize (F32) of a 4-D NCHW tensor stored NHWC
// (pixel strides >= C accepted), nearest or bilinear over H and W. The
// source taps of every output row and column are computed once at
// construction with the coordinate rules of the reference
// (ops/ref_resize.cpp: coordinate_transformation_mode, nearest_mode,
// optional scale_h / scale_w attrs); run() blends whole pixels, so the inner
// loop runs over contiguous channels. XNNPACK's resize is not used: its
// coordinate arithmetic differs from the ONNX formulas, and the channel loop
// here is the same work.
// Attribute parsing and taps: ops/resize_common.h (shared with the reference).
// Depends on runtime/ops/xnn_util.h, ops/ref.h and ops/resize_common.h.
#include <cmath>
#include <cstring>
#include <vector>

#include "runtime/error.h"
#include "runtime/ops/ref.h"
#include "runtime/ops/resize_common.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

using ref::ResizeTap;

class NhwcResizeKernel : public Kernel {
 public:
  NhwcResizeKernel(const TensorRef& x, const TensorRef& y, std::vector<ResizeTap> rows,
                   std::vector<ResizeTap> cols, bool linear)
      : x_(x.ptr<const float>()),
        y_(y.ptr<float>()),
        N_(x.shape[0]),
        C_(x.shape[1]),
        IH_(x.shape[2]),
        IW_(x.shape[3]),
        OH_(y.shape[2]),
        OW_(y.shape[3]),
        px_(nhwc_pixel_stride(x)),
        py_(nhwc_pixel_stride(y)),
        rows_(std::move(rows)),
        cols_(std::move(cols)),
        linear_(linear) {}

  void run(ExecContext& ctx) override {
    const int64_t grain = (1 << 14) / std::max<int64_t>(OW_ * C_, 1) + 1;
    parallel_for(ctx.threadpool, N_ * OH_, grain, [this](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) row(r / OH_, r % OH_);
    });
  }

 private:
  void row(int64_t n, int64_t oh) const {
    const ResizeTap& r = rows_[oh];
    const float* x0 = x_ + (n * IH_ + r.i0) * IW_ * px_;
    const float* x1 = x_ + (n * IH_ + r.i1) * IW_ * px_;
    float* y = y_ + (n * OH_ + oh) * OW_ * py_;
    const float ly = r.l;
    for (int64_t ow = 0; ow < OW_; ++ow, y += py_) {
      const ResizeTap& c = cols_[ow];
      if (!linear_) {
        std::memcpy(y, x0 + c.i0 * px_, static_cast<size_t>(C_) * sizeof(float));
        continue;
      }
      const float* a0 = x0 + c.i0 * px_;
      const float* a1 = x0 + c.i1 * px_;
      const float* b0 = x1 + c.i0 * px_;
      const float* b1 = x1 + c.i1 * px_;
      const float lx = c.l;
      for (int64_t ch = 0; ch < C_; ++ch) {
        const float top = (1.f - lx) * a0[ch] + lx * a1[ch];
        const float bottom = (1.f - lx) * b0[ch] + lx * b1[ch];
        y[ch] = (1.f - ly) * top + ly * bottom;
      }
    }
  }

  const float* x_;
  float* y_;
  int64_t N_, C_, IH_, IW_, OH_, OW_, px_, py_;
  std::vector<ResizeTap> rows_, cols_;
  bool linear_;
};

}  // namespace

std::unique_ptr<Kernel> make_fast_resize(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 1 && a.out.size() == 1, "expects 1 input and 1 output (sizes/scales resolved)");
  const TensorRef &x = a.in[0], &y = a.out[0];
  if (x.dtype != DType::F32 || y.dtype != DType::F32) return nullptr;
  VEDGE_CHECK(x.shape.size() == 4 && y.shape.size() == 4, "input and output must be 4-D, are ",
              shape_str(x.shape), " and ", shape_str(y.shape));
  VEDGE_CHECK(nhwc_pixel_stride(x) > 0 && nhwc_pixel_stride(y) > 0,
              "the fast Resize needs NHWC input and output");
  VEDGE_CHECK(x.shape[0] == y.shape[0] && x.shape[1] == y.shape[1], "only H and W may be resized, output ",
              shape_str(y.shape), " vs input ", shape_str(x.shape));
  const Attrs& at = a.node->attrs;
  const ref::ResizeParams p = ref::parse_resize(at);
  const int64_t ih = x.shape[2], iw = x.shape[3], oh = y.shape[2], ow = y.shape[3];
  VEDGE_CHECK((ih > 0 && iw > 0) || oh * ow == 0, "cannot resize empty input ", shape_str(x.shape));
  std::vector<ResizeTap> rows, cols;
  if (oh * ow > 0 && ih * iw > 0) {
    float sh, sw;
    ref::resize_scales(at, ih, iw, oh, ow, sh, sw);
    rows = ref::resize_taps(ih, oh, sh, p);
    cols = ref::resize_taps(iw, ow, sw, p);
  }
  return std::make_unique<NhwcResizeKernel>(x, y, std::move(rows), std::move(cols), p.linear);
}

}  // namespace vedge
