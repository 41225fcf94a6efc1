// preprocess.cpp: bilinear resize + color order + normalization into NCHW
// floats (see preprocess.h). Per output row: a vectorizable vertical blend of
// two source rows into a float row, then the horizontal taps, the
// normalization and the write into the three planes.
// Depends on image.h and error.h only.
#include "runtime/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/error.h"

namespace vedge {

void BoxTransform::apply(float* b) const {
  const float w = static_cast<float>(image_width), h = static_cast<float>(image_height);
  b[0] = std::clamp(b[0] * scale_x + offset_x, 0.f, w);
  b[1] = std::clamp(b[1] * scale_y + offset_y, 0.f, h);
  b[2] = std::clamp(b[2] * scale_x + offset_x, 0.f, w);
  b[3] = std::clamp(b[3] * scale_y + offset_y, 0.f, h);
}

Preprocessor::Preprocessor(const InputSpec& spec) : spec_(spec) {
  VEDGE_CHECK(spec.width > 0 && spec.height > 0 && spec.width <= 16384 && spec.height <= 16384,
              "preprocessing: bad input size ", spec.width, "x", spec.height);
  for (int c = 0; c < 3; ++c)
    VEDGE_CHECK(std::isfinite(spec.std[c]) && spec.std[c] != 0.f && std::isfinite(spec.mean[c]),
                "preprocessing: bad mean/std for channel ", c);
}

// Half-pixel centres, source coordinate clamped at 0 and at the last pixel
// (the OpenCV INTER_LINEAR / PyTorch align_corners=False convention).
static void make_axis(int src, int dst, std::vector<int>& i0, std::vector<int>& i1,
                      std::vector<float>& w1) {
  i0.resize(dst);
  i1.resize(dst);
  w1.resize(dst);
  const double scale = static_cast<double>(src) / dst;
  for (int d = 0; d < dst; ++d) {
    double s = std::max(0.0, (d + 0.5) * scale - 0.5);
    int a = static_cast<int>(s);
    double w = s - a;
    if (a >= src - 1) {
      a = src - 1;
      w = 0;
    }
    i0[d] = a;
    i1[d] = std::min(a + 1, src - 1);
    w1[d] = static_cast<float>(w);
  }
}

// row[k] = a[k] + w * (b[k] - a[k]): the vertical blend of two source rows.
// On x86-64 it is also compiled for AVX2 and picked at run time (GCC ifunc;
// about 10% of the whole preprocessing). The horizontal taps gain nothing
// from AVX2 (gathers), so they stay one plain loop.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void blend_rows(const uint8_t* a, const uint8_t* b, float w, size_t n, float* row) {
  for (size_t k = 0; k < n; ++k) {
    const float va = a[k];
    row[k] = va + w * (static_cast<float>(b[k]) - va);
  }
}

// Horizontal taps of one blended row into the three output planes; C0..C2
// are the source channels of planes 0..2 (compile-time, so RGB and BGR both
// get straight-line code).
// STEP is the distance between two output pixels: 1 for planes (NCHW), 3
// for interleaved channels (NHWC).
template <int C0, int C1, int C2, int STEP>
static void sample_row(const float* row, const int* x0, const int* x1, const float* wx, int ow,
                       const float* gain, const float* bias, float* o0, float* o1, float* o2) {
  for (int x = 0; x < ow; ++x) {
    const float* p = row + x0[x];
    const float* q = row + x1[x];
    const float w = wx[x];
    o0[x * STEP] = (p[C0] + w * (q[C0] - p[C0])) * gain[0] + bias[0];
    o1[x * STEP] = (p[C1] + w * (q[C1] - p[C1])) * gain[1] + bias[1];
    o2[x * STEP] = (p[C2] + w * (q[C2] - p[C2])) * gain[2] + bias[2];
  }
}

void Preprocessor::prepare(int src_w, int src_h) {
  const int W = spec_.width, H = spec_.height;
  if (spec_.resize == ResizeMode::Stretch) {
    out_x_ = out_y_ = 0;
    out_w_ = W;
    out_h_ = H;
  } else {
    const double s = std::min(static_cast<double>(W) / src_w, static_cast<double>(H) / src_h);
    out_w_ = std::clamp(static_cast<int>(std::lround(src_w * s)), 1, W);
    out_h_ = std::clamp(static_cast<int>(std::lround(src_h * s)), 1, H);
    out_x_ = (W - out_w_) / 2;
    out_y_ = (H - out_h_) / 2;
  }
  make_axis(src_w, out_w_, ax_.i0, ax_.i1, ax_.w1);
  make_axis(src_h, out_h_, ay_.i0, ay_.i1, ay_.w1);
  x0_off_.resize(out_w_);
  x1_off_.resize(out_w_);
  for (int x = 0; x < out_w_; ++x) {
    x0_off_[x] = ax_.i0[x] * 3;
    x1_off_[x] = ax_.i1[x] * 3;
  }
  row_.assign(static_cast<size_t>(src_w) * 3, 0.f);
  src_w_ = src_w;
  src_h_ = src_h;
}

BoxTransform Preprocessor::run(const Image& img, float* dst, bool nhwc) {
  VEDGE_CHECK(img.channels == 3 && img.width > 0 && img.height > 0 &&
                  img.rgb.size() == static_cast<size_t>(img.width) * img.height * 3,
              "preprocessing: invalid image ", img.width, "x", img.height, "x", img.channels);
  if (img.width != src_w_ || img.height != src_h_) prepare(img.width, img.height);

  const int W = spec_.width, H = spec_.height;
  const size_t plane = static_cast<size_t>(W) * H;
  if (out_w_ != W || out_h_ != H) std::fill(dst, dst + 3 * plane, 0.f);  // pad = mean -> 0

  float gain[3], bias[3];
  for (int c = 0; c < 3; ++c) {
    gain[c] = 1.f / spec_.std[c];
    bias[c] = -spec_.mean[c] / spec_.std[c];
  }

  const int ow = out_w_;
  const size_t row_len = static_cast<size_t>(img.width) * 3;
  float* row = row_.data();
  const int* x0 = x0_off_.data();
  const int* x1 = x1_off_.data();
  const float* wx = ax_.w1.data();
  for (int y = 0; y < out_h_; ++y) {
    const uint8_t* a = img.rgb.data() + static_cast<size_t>(ay_.i0[y]) * row_len;
    const uint8_t* b = img.rgb.data() + static_cast<size_t>(ay_.i1[y]) * row_len;
    blend_rows(a, b, ay_.w1[y], row_len, row);
    const size_t row_off = static_cast<size_t>(out_y_ + y) * W + out_x_;
    const bool rgb = spec_.color == ColorOrder::RGB;
    if (nhwc) {
      float* o0 = dst + row_off * 3;
      if (rgb)
        sample_row<0, 1, 2, 3>(row, x0, x1, wx, ow, gain, bias, o0, o0 + 1, o0 + 2);
      else
        sample_row<2, 1, 0, 3>(row, x0, x1, wx, ow, gain, bias, o0, o0 + 1, o0 + 2);
    } else {
      float* o0 = dst + row_off;
      if (rgb)
        sample_row<0, 1, 2, 1>(row, x0, x1, wx, ow, gain, bias, o0, o0 + plane, o0 + 2 * plane);
      else
        sample_row<2, 1, 0, 1>(row, x0, x1, wx, ow, gain, bias, o0, o0 + plane, o0 + 2 * plane);
    }
  }

  BoxTransform t;
  t.image_width = img.width;
  t.image_height = img.height;
  const float kx = static_cast<float>(img.width) / out_w_;
  const float ky = static_cast<float>(img.height) / out_h_;
  t.scale_x = static_cast<float>(W) * kx;
  t.offset_x = -static_cast<float>(out_x_) * kx;
  t.scale_y = static_cast<float>(H) * ky;
  t.offset_y = -static_cast<float>(out_y_) * ky;
  return t;
}

BoxTransform preprocess(const Image& img, const InputSpec& spec, float* dst, bool nhwc) {
  Preprocessor p(spec);
  return p.run(img, dst, nhwc);
}

}  // namespace vedge
