// augment.cpp: detection augmentation (augment.h): photometric distortion in
// float RGB/HSV, expand, SSD IoU-constrained crop, flip and bilinear resize,
// with boxes carried along. Uniform draws are built from the raw 64-bit
// engine output (not std::uniform_*_distribution), so results are the same
// with every standard library. Depends on runtime/image.h, data/dataset.h.
#include "data/augment.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace vedge {
namespace {

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }
double uniform(std::mt19937_64& rng, double a, double b) { return a + (b - a) * uniform01(rng); }
bool chance(std::mt19937_64& rng, double p) { return uniform01(rng) < p; }

void check_sample(const DetSample& s) {
  VEDGE_CHECK(s.boxes.size() == s.category_ids.size(), "augment: ", s.boxes.size(), " boxes but ",
              s.category_ids.size(), " category ids");
  VEDGE_CHECK(s.image.width > 0 && s.image.height > 0 &&
                  s.image.rgb.size() == size_t(s.image.width) * s.image.height * 3,
              "augment: image ", s.image.width, "x", s.image.height, " has ", s.image.rgb.size(), " bytes");
}

double iou(const BoxXYWH& a, const CropRect& r) {
  double iw = std::min(a.x + a.w, double(r.x + r.w)) - std::max(a.x, double(r.x));
  double ih = std::min(a.y + a.h, double(r.y + r.h)) - std::max(a.y, double(r.y));
  if (iw <= 0 || ih <= 0) return 0;
  double inter = iw * ih;
  return inter / (a.w * a.h + double(r.w) * r.h - inter);
}

bool centre_inside(const BoxXYWH& b, const CropRect& r) {
  double cx = b.x + b.w / 2, cy = b.y + b.h / 2;
  return cx > r.x && cx < r.x + r.w && cy > r.y && cy < r.y + r.h;
}

uint8_t to_u8(float v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 255.0f))); }

void rgb_to_hsv(float r, float g, float b, float& h, float& s, float& v) {
  float mx = std::max({r, g, b}), mn = std::min({r, g, b}), d = mx - mn;
  v = mx;
  s = mx > 0 ? d / mx : 0;
  if (d <= 0) {
    h = 0;
  } else if (mx == r) {
    h = 60 * std::fmod((g - b) / d + 6, 6.0f);
  } else if (mx == g) {
    h = 60 * ((b - r) / d + 2);
  } else {
    h = 60 * ((r - g) / d + 4);
  }
}

void hsv_to_rgb(float h, float s, float v, float& r, float& g, float& b) {
  float c = v * s, hp = h / 60, x = c * (1 - std::fabs(std::fmod(hp, 2.0f) - 1)), m = v - c;
  int k = static_cast<int>(hp) % 6;
  float rr = 0, gg = 0, bb = 0;
  switch (k) {
    case 0: rr = c, gg = x; break;
    case 1: rr = x, gg = c; break;
    case 2: gg = c, bb = x; break;
    case 3: gg = x, bb = c; break;
    case 4: rr = x, bb = c; break;
    default: rr = c, bb = x; break;
  }
  r = rr + m, g = gg + m, b = bb + m;
}

void photometric(Image& img, const AugmentConfig& cfg, std::mt19937_64& rng) {
  // Draw every random number first (fixed count), then apply.
  bool do_b = chance(rng, cfg.photometric_prob), do_c = chance(rng, cfg.photometric_prob);
  bool do_s = chance(rng, cfg.photometric_prob), do_h = chance(rng, cfg.photometric_prob);
  bool contrast_first = chance(rng, 0.5);
  float bd = static_cast<float>(uniform(rng, -cfg.brightness_delta, cfg.brightness_delta));
  float cf = static_cast<float>(uniform(rng, cfg.contrast_lower, cfg.contrast_upper));
  float sf = static_cast<float>(uniform(rng, cfg.saturation_lower, cfg.saturation_upper));
  float hd = static_cast<float>(uniform(rng, -cfg.hue_delta, cfg.hue_delta));
  if (!do_b && !do_c && !do_s && !do_h) return;
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    float p[3] = {float(img.rgb[i]), float(img.rgb[i + 1]), float(img.rgb[i + 2])};
    auto clamp3 = [&] {
      for (float& v : p) v = std::clamp(v, 0.0f, 255.0f);
    };
    if (do_b) {
      for (float& v : p) v += bd;
      clamp3();
    }
    if (do_c && contrast_first) {
      for (float& v : p) v *= cf;
      clamp3();
    }
    if (do_s || do_h) {
      float h, s, v;
      rgb_to_hsv(p[0], p[1], p[2], h, s, v);
      if (do_s) s = std::min(1.0f, s * sf);
      if (do_h) h = std::fmod(h + hd + 360.0f, 360.0f);
      hsv_to_rgb(h, s, v, p[0], p[1], p[2]);
      clamp3();
    }
    if (do_c && !contrast_first) {
      for (float& v : p) v *= cf;
      clamp3();
    }
    for (int c = 0; c < 3; ++c) img.rgb[i + c] = to_u8(p[c]);
  }
}

DetSample expand(const DetSample& in, const AugmentConfig& cfg, std::mt19937_64& rng) {
  double ratio = uniform(rng, 1.0, std::max(1.0, cfg.expand_max_ratio));
  int w = in.image.width, h = in.image.height;
  int W = static_cast<int>(w * ratio), H = static_cast<int>(h * ratio);
  int left = static_cast<int>(uniform(rng, 0, W - w + 1 - 1e-9));
  int top = static_cast<int>(uniform(rng, 0, H - h + 1 - 1e-9));
  DetSample out;
  out.image.width = W;
  out.image.height = H;
  out.image.rgb.resize(size_t(W) * H * 3);
  for (size_t i = 0; i < out.image.rgb.size(); i += 3)
    for (int c = 0; c < 3; ++c) out.image.rgb[i + c] = cfg.fill[c];
  for (int y = 0; y < h; ++y)
    std::copy_n(&in.image.rgb[size_t(y) * w * 3], size_t(w) * 3, &out.image.rgb[(size_t(y + top) * W + left) * 3]);
  out.category_ids = in.category_ids;
  for (BoxXYWH b : in.boxes) {
    b.x += left;
    b.y += top;
    out.boxes.push_back(b);
  }
  return out;
}

}  // namespace

std::optional<CropRect> sample_iou_crop(const std::vector<BoxXYWH>& boxes, int width, int height,
                                        const AugmentConfig& cfg, std::mt19937_64& rng, double* chosen_min_iou) {
  if (cfg.crop_min_ious.empty()) return std::nullopt;
  size_t pick = static_cast<size_t>(uniform01(rng) * cfg.crop_min_ious.size());
  double min_iou = cfg.crop_min_ious[std::min(pick, cfg.crop_min_ious.size() - 1)];
  if (chosen_min_iou) *chosen_min_iou = min_iou;
  if (min_iou < 0) return std::nullopt;
  for (int t = 0; t < cfg.crop_max_trials; ++t) {
    double sw = uniform(rng, cfg.crop_min_scale, 1.0), sh = uniform(rng, cfg.crop_min_scale, 1.0);
    double fx = uniform01(rng), fy = uniform01(rng);
    int w = std::max(1, static_cast<int>(sw * width)), h = std::max(1, static_cast<int>(sh * height));
    double aspect = double(w) / h;
    if (aspect < cfg.crop_min_aspect || aspect > cfg.crop_max_aspect) continue;
    CropRect r{static_cast<int>(fx * (width - w + 1 - 1e-9)), static_cast<int>(fy * (height - h + 1 - 1e-9)), w, h};
    if (boxes.empty()) return r;
    bool iou_ok = false, centre_ok = false;
    for (const BoxXYWH& b : boxes) {
      iou_ok = iou_ok || iou(b, r) >= min_iou;
      centre_ok = centre_ok || centre_inside(b, r);
    }
    if (iou_ok && centre_ok) return r;
  }
  return std::nullopt;
}

DetSample crop_to(const DetSample& in, const CropRect& r) {
  check_sample(in);
  VEDGE_CHECK(r.w > 0 && r.h > 0 && r.x >= 0 && r.y >= 0 && r.x + r.w <= in.image.width &&
                  r.y + r.h <= in.image.height,
              "augment: crop ", r.x, ",", r.y, " ", r.w, "x", r.h, " outside the ", in.image.width, "x",
              in.image.height, " image");
  DetSample out;
  out.image.width = r.w;
  out.image.height = r.h;
  out.image.rgb.resize(size_t(r.w) * r.h * 3);
  for (int y = 0; y < r.h; ++y)
    std::copy_n(&in.image.rgb[(size_t(y + r.y) * in.image.width + r.x) * 3], size_t(r.w) * 3,
                &out.image.rgb[size_t(y) * r.w * 3]);
  for (size_t i = 0; i < in.boxes.size(); ++i) {
    const BoxXYWH& b = in.boxes[i];
    if (!centre_inside(b, r)) continue;
    double x0 = std::max(b.x, double(r.x)), y0 = std::max(b.y, double(r.y));
    double x1 = std::min(b.x + b.w, double(r.x + r.w)), y1 = std::min(b.y + b.h, double(r.y + r.h));
    out.boxes.push_back({x0 - r.x, y0 - r.y, x1 - x0, y1 - y0});
    out.category_ids.push_back(in.category_ids[i]);
  }
  return out;
}

DetSample flip_horizontal(const DetSample& in) {
  check_sample(in);
  DetSample out = in;
  int w = in.image.width;
  for (int y = 0; y < in.image.height; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        out.image.rgb[(size_t(y) * w + x) * 3 + c] = in.image.rgb[(size_t(y) * w + (w - 1 - x)) * 3 + c];
  for (BoxXYWH& b : out.boxes) b.x = w - b.x - b.w;
  return out;
}

DetSample resize_to(const DetSample& in, int width, int height) {
  check_sample(in);
  VEDGE_CHECK(width > 0 && height > 0 && width <= 16384 && height <= 16384, "augment: bad output size ", width,
              "x", height);
  const int iw = in.image.width, ih = in.image.height;
  // Half-pixel centres, clamped at the borders (as runtime/preprocess.h).
  struct Tap {
    int i0, i1;
    float a;
  };
  auto taps = [](int n_out, int n_in) {
    std::vector<Tap> t(n_out);
    double scale = double(n_in) / n_out;
    for (int d = 0; d < n_out; ++d) {
      double s = std::clamp((d + 0.5) * scale - 0.5, 0.0, double(n_in - 1));
      int i0 = static_cast<int>(s);
      t[d] = {i0, std::min(i0 + 1, n_in - 1), static_cast<float>(s - i0)};
    }
    return t;
  };
  std::vector<Tap> tx = taps(width, iw), ty = taps(height, ih);
  DetSample out;
  out.image.width = width;
  out.image.height = height;
  out.image.rgb.resize(size_t(width) * height * 3);
  std::vector<float> row0(size_t(width) * 3), row1(size_t(width) * 3);
  auto hrow = [&](int y, std::vector<float>& dst) {
    const uint8_t* src = &in.image.rgb[size_t(y) * iw * 3];
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        dst[size_t(x) * 3 + c] = src[tx[x].i0 * 3 + c] * (1 - tx[x].a) + src[tx[x].i1 * 3 + c] * tx[x].a;
  };
  for (int y = 0; y < height; ++y) {
    hrow(ty[y].i0, row0);
    hrow(ty[y].i1, row1);
    uint8_t* dst = &out.image.rgb[size_t(y) * width * 3];
    for (size_t k = 0; k < row0.size(); ++k) dst[k] = to_u8(row0[k] * (1 - ty[y].a) + row1[k] * ty[y].a);
  }
  double sx = double(width) / iw, sy = double(height) / ih;
  out.category_ids = in.category_ids;
  for (const BoxXYWH& b : in.boxes) out.boxes.push_back({b.x * sx, b.y * sy, b.w * sx, b.h * sy});
  return out;
}

DetSample augment(const DetSample& in, const AugmentConfig& cfg, std::mt19937_64& rng) {
  check_sample(in);
  DetSample s = in;
  photometric(s.image, cfg, rng);
  if (chance(rng, cfg.expand_prob)) s = expand(s, cfg, rng);
  if (auto r = sample_iou_crop(s.boxes, s.image.width, s.image.height, cfg, rng)) s = crop_to(s, *r);
  if (chance(rng, cfg.flip_prob)) s = flip_horizontal(s);
  if (cfg.out_width > 0 && cfg.out_height > 0) s = resize_to(s, cfg.out_width, cfg.out_height);
  DetSample out;
  out.image = std::move(s.image);
  for (size_t i = 0; i < s.boxes.size(); ++i) {
    if (s.boxes[i].w < cfg.min_box_size || s.boxes[i].h < cfg.min_box_size) continue;
    out.boxes.push_back(s.boxes[i]);
    out.category_ids.push_back(s.category_ids[i]);
  }
  return out;
}

}  // namespace vedge
