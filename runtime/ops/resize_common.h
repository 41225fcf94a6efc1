// resize_common.h: what the reference and fast Resize kernels
// (ops/ref_resize.cpp, ops/fast_resize.cpp) share: parsing and checking of
// the Resize attributes and the per-axis source taps (coordinate transform,
// nearest rounding, bilinear weights). The formulas are documented in
// ops/ref_resize.cpp. Checks throw vedge::Error with the problem only.
// Depends on runtime/graph.h and error.h only (no kernel, layout or XNNPACK).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/graph.h"

namespace vedge {
namespace ref {

enum class ResizeCoord { HalfPixel, Asymmetric, AlignCorners, PytorchHalfPixel, TfHalfPixelForNN };
enum class ResizeRound { PreferFloor, PreferCeil, Floor, Ceil };

struct ResizeParams {
  bool linear = false;  // mode "linear"; else "nearest"
  ResizeCoord coord = ResizeCoord::HalfPixel;
  ResizeRound round = ResizeRound::PreferFloor;
};

// Reads and checks mode, coordinate_transformation_mode, nearest_mode and
// antialias (in that order).
inline ResizeParams parse_resize(const Attrs& at) {
  const std::string mode = at.get_s("mode", "nearest");
  const std::string ctm = at.get_s("coordinate_transformation_mode", "half_pixel");
  const std::string nm = at.get_s("nearest_mode", "round_prefer_floor");
  VEDGE_CHECK(mode == "nearest" || mode == "linear", "unsupported mode '", mode, "'");
  ResizeParams p;
  p.linear = mode == "linear";
  if (ctm == "half_pixel")
    p.coord = ResizeCoord::HalfPixel;
  else if (ctm == "asymmetric")
    p.coord = ResizeCoord::Asymmetric;
  else if (ctm == "align_corners")
    p.coord = ResizeCoord::AlignCorners;
  else if (ctm == "pytorch_half_pixel")
    p.coord = ResizeCoord::PytorchHalfPixel;
  else if (ctm == "tf_half_pixel_for_nn")
    p.coord = ResizeCoord::TfHalfPixelForNN;
  else
    fail("unsupported coordinate_transformation_mode '", ctm, "'");
  if (nm == "round_prefer_floor")
    p.round = ResizeRound::PreferFloor;
  else if (nm == "round_prefer_ceil")
    p.round = ResizeRound::PreferCeil;
  else if (nm == "floor")
    p.round = ResizeRound::Floor;
  else if (nm == "ceil")
    p.round = ResizeRound::Ceil;
  else
    fail("unsupported nearest_mode '", nm, "'");
  VEDGE_CHECK(at.get_i("antialias", 0) == 0, "antialias is not supported");
  return p;
}

// Scales of H and W: attrs "scale_h" / "scale_w" when present, else
// out / in; checked positive and finite. Needs ih, iw > 0.
inline void resize_scales(const Attrs& at, int64_t ih, int64_t iw, int64_t oh, int64_t ow,
                          float& sh, float& sw) {
  sh = at.get_f("scale_h", static_cast<float>(oh) / static_cast<float>(ih));
  sw = at.get_f("scale_w", static_cast<float>(ow) / static_cast<float>(iw));
  VEDGE_CHECK(sh > 0.f && sw > 0.f && std::isfinite(sh) && std::isfinite(sw),
              "scales must be positive, are ", sh, " and ", sw);
}

// Source taps of one output index along one axis: y = (1-l)*x[i0] + l*x[i1]
// (nearest: i1 == i0, l == 0).
struct ResizeTap {
  int64_t i0, i1;
  float l;
};

// Taps of output indices [0, out) of an axis of length in > 0.
inline std::vector<ResizeTap> resize_taps(int64_t in, int64_t out, float scale,
                                          const ResizeParams& p) {
  std::vector<ResizeTap> taps(static_cast<size_t>(out));
  const float hi = static_cast<float>(in - 1);
  for (int64_t o = 0; o < out; ++o) {
    const float x = static_cast<float>(o);
    float c;
    switch (p.coord) {
      case ResizeCoord::HalfPixel: c = (x + 0.5f) / scale - 0.5f; break;
      case ResizeCoord::Asymmetric: c = x / scale; break;
      case ResizeCoord::AlignCorners:
        c = out == 1 ? 0.f : x * hi / static_cast<float>(out - 1);
        break;
      case ResizeCoord::PytorchHalfPixel: c = out > 1 ? (x + 0.5f) / scale - 0.5f : 0.f; break;
      default: c = (x + 0.5f) / scale; break;  // TfHalfPixelForNN
    }
    if (p.linear) {
      c = std::min(std::max(c, 0.f), hi);
      const int64_t i0 = static_cast<int64_t>(std::floor(c));
      taps[o] = {i0, std::min(i0 + 1, in - 1), c - static_cast<float>(i0)};
      continue;
    }
    const float fl = std::floor(c);
    float r;
    if (p.round == ResizeRound::Floor)
      r = fl;
    else if (p.round == ResizeRound::Ceil)
      r = std::ceil(c);
    else if (c == fl + 0.5f)  // exact tie
      r = p.round == ResizeRound::PreferCeil ? fl + 1.f : fl;
    else
      r = std::round(c);
    const int64_t i = static_cast<int64_t>(std::min(std::max(r, 0.f), hi));
    taps[o] = {i, i, 0.f};
  }
  return taps;
}

}  // namespace ref
}  // namespace vedge
