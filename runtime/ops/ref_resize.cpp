// ref_resize.cpp: reference Resize (F32) of the last two dims ("H", "W") of
// a tensor of rank >= 2; leading dims must be unchanged.
//
// Contract with the ONNX importer (canonical Resize, one input X):
//   mode: "nearest" (default) | "linear" (bilinear on H, W).
//   coordinate_transformation_mode (default "half_pixel"): half_pixel |
//     asymmetric | align_corners | pytorch_half_pixel | tf_half_pixel_for_nn.
//   nearest_mode (default "round_prefer_floor"): round_prefer_floor |
//     round_prefer_ceil | floor | ceil.
//   The output shape is the output tensor's. The coordinate transform uses
//   scale_h / scale_w = float attrs "scale_h" / "scale_w" when present (ONNX
//   Resize given `scales` uses those, not the size ratio), else
//   out_len / in_len (ONNX Resize given `sizes`).
//   The importer must set explicit attrs for opset-10 Resize / Upsample
//   (asymmetric + floor for nearest); cubic, tf_crop_and_resize,
//   half_pixel_symmetric and antialias are rejected here.
//
// Per axis, in float as in the ONNX spec (x = output index, s = scale):
//   half_pixel           (x + 0.5) / s - 0.5
//   asymmetric           x / s
//   align_corners        out_len == 1 ? 0 : x * (in_len - 1) / (out_len - 1)
//   pytorch_half_pixel   out_len > 1 ? (x + 0.5) / s - 0.5 : 0
//   tf_half_pixel_for_nn (x + 0.5) / s
// nearest: round the coordinate per nearest_mode (ties .5 go to floor/ceil
// for the round_prefer_* modes), clamp to [0, in_len - 1].
// linear: clamp the coordinate to [0, in_len - 1], i0 = floor, i1 =
// min(i0 + 1, in_len - 1), l = coord - i0 (equivalent to edge padding);
// y = (1-ly)*((1-lx)*x[i0][j0] + lx*x[i0][j1]) + ly*((1-lx)*x[i1][j0] + lx*x[i1][j1]).
// Attribute parsing and taps: ops/resize_common.h.
// Depends on ops/ref.h and ops/resize_common.h only.
#include "runtime/ops/ref.h"
#include "runtime/ops/resize_common.h"

namespace vedge {
namespace ref {
namespace {

class ResizeKernel : public Kernel {
 public:
  explicit ResizeKernel(const KernelArgs& a)
      : x_(a.in[0].ptr<const float>()), y_(a.out[0].ptr<float>()) {
    const Attrs& at = a.node->attrs;
    const Shape& xs = a.in[0].shape;
    const Shape& ys = a.out[0].shape;
    const size_t r = xs.size();
    VEDGE_CHECK(r >= 2 && ys.size() == r, "input ", shape_str(xs), " and output ",
                shape_str(ys), " must have the same rank >= 2");
    for (size_t d = 0; d + 2 < r; ++d)
      VEDGE_CHECK(xs[d] == ys[d], "only the last two dims may be resized, output ",
                  shape_str(ys), " vs input ", shape_str(xs));
    ih_ = xs[r - 2], iw_ = xs[r - 1], oh_ = ys[r - 2], ow_ = ys[r - 1];
    planes_ = numel(Shape(xs.begin(), xs.end() - 2));
    VEDGE_CHECK((ih_ > 0 && iw_ > 0) || oh_ * ow_ == 0, "cannot resize empty input ",
                shape_str(xs), " to ", shape_str(ys));

    const ResizeParams p = parse_resize(at);
    if (oh_ * ow_ == 0 || planes_ == 0) return;
    float sh, sw;
    resize_scales(at, ih_, iw_, oh_, ow_, sh, sw);
    nearest_ = !p.linear;
    rows_ = resize_taps(ih_, oh_, sh, p);
    cols_ = resize_taps(iw_, ow_, sw, p);
  }

  void run(ExecContext&) override {
    float* y = y_;
    for (int64_t p = 0; p < (rows_.empty() ? 0 : planes_); ++p) {
      const float* x = x_ + p * ih_ * iw_;
      for (const ResizeTap& r : rows_) {
        const float* x0 = x + r.i0 * iw_;
        const float* x1 = x + r.i1 * iw_;
        for (const ResizeTap& c : cols_) {
          if (nearest_) {
            *y++ = x0[c.i0];
            continue;
          }
          const float top = (1.f - c.l) * x0[c.i0] + c.l * x0[c.i1];
          const float bottom = (1.f - c.l) * x1[c.i0] + c.l * x1[c.i1];
          *y++ = (1.f - r.l) * top + r.l * bottom;
        }
      }
    }
  }

 private:
  const float* x_;
  float* y_;
  int64_t ih_ = 0, iw_ = 0, oh_ = 0, ow_ = 0, planes_ = 0;
  bool nearest_ = true;
  std::vector<ResizeTap> rows_, cols_;
};

}  // namespace

std::unique_ptr<Kernel> make_resize(const KernelArgs& a) {
  check_arity(a, 1, 1, 1);
  if (!all_dtype(a, DType::F32)) return nullptr;
  return std::make_unique<ResizeKernel>(a);
}

}  // namespace ref
}  // namespace vedge
