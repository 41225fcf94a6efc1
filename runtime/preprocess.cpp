// preprocess.cpp: bilinear resize + color order + normalization into NCHW
// floats (see preprocess.h). Rows are resized horizontally once into a
// two-row cache, then blended vertically while writing the three planes.
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
  for (auto& r : rows_) r.assign(static_cast<size_t>(out_w_) * 3, 0.f);
  src_w_ = src_w;
  src_h_ = src_h;
}

BoxTransform Preprocessor::run(const Image& img, float* dst) {
  VEDGE_CHECK(img.channels == 3 && img.width > 0 && img.height > 0 &&
                  img.rgb.size() == static_cast<size_t>(img.width) * img.height * 3,
              "preprocessing: invalid image ", img.width, "x", img.height, "x", img.channels);
  if (img.width != src_w_ || img.height != src_h_) prepare(img.width, img.height);
  row_id_[0] = row_id_[1] = -1;  // pixels may differ from the previous call

  const int W = spec_.width, H = spec_.height;
  const size_t plane = static_cast<size_t>(W) * H;
  if (out_w_ != W || out_h_ != H) std::fill(dst, dst + 3 * plane, 0.f);  // pad = mean -> 0

  float gain[3], bias[3];
  int src_c[3];
  for (int c = 0; c < 3; ++c) {
    gain[c] = 1.f / spec_.std[c];
    bias[c] = -spec_.mean[c] / spec_.std[c];
    src_c[c] = spec_.color == ColorOrder::BGR ? 2 - c : c;
  }

  const int ow = out_w_;
  auto hrow = [&](int sy, int keep) -> const float* {
    for (int k = 0; k < 2; ++k)
      if (row_id_[k] == sy) return rows_[k].data();
    // Evict the other row than `keep`, else the older (rows only move down).
    const int slot = keep >= 0 ? 1 - keep : (row_id_[0] <= row_id_[1] ? 0 : 1);
    float* out = rows_[slot].data();
    const uint8_t* p = img.rgb.data() + static_cast<size_t>(sy) * img.width * 3;
    const int* i0 = ax_.i0.data();
    const int* i1 = ax_.i1.data();
    const float* w1 = ax_.w1.data();
    for (int x = 0; x < ow; ++x) {
      const uint8_t* a = p + i0[x] * 3;
      const uint8_t* b = p + i1[x] * 3;
      const float w = w1[x];
      for (int c = 0; c < 3; ++c) {
        const float va = a[c];
        out[x * 3 + c] = va + w * (static_cast<float>(b[c]) - va);
      }
    }
    row_id_[slot] = sy;
    return out;
  };
  auto slot_of = [&](int sy) { return row_id_[0] == sy ? 0 : 1; };

  for (int y = 0; y < out_h_; ++y) {
    const float* r0 = hrow(ay_.i0[y], -1);
    const float* r1 = hrow(ay_.i1[y], slot_of(ay_.i0[y]));
    const float wy = ay_.w1[y];
    const size_t row_off = static_cast<size_t>(out_y_ + y) * W + out_x_;
    for (int c = 0; c < 3; ++c) {
      float* o = dst + c * plane + row_off;
      const int sc = src_c[c];
      const float g = gain[c], b = bias[c];
      for (int x = 0; x < ow; ++x) {
        const float v0 = r0[x * 3 + sc];
        const float v = v0 + wy * (r1[x * 3 + sc] - v0);
        o[x] = v * g + b;
      }
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

BoxTransform preprocess(const Image& img, const InputSpec& spec, float* dst) {
  Preprocessor p(spec);
  return p.run(img, dst);
}

}  // namespace vedge
