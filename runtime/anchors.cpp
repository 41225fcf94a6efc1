// anchors.cpp: SSD and UltraFace anchor generation (see anchors.h).
// Depends on the standard library and error.h only.
#include "runtime/anchors.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "runtime/error.h"

namespace vedge {

std::vector<FeatureMapSize> feature_maps_from_strides(int image_width, int image_height,
                                                      const std::vector<double>& strides) {
  std::vector<FeatureMapSize> maps;
  for (double s : strides) {
    VEDGE_CHECK(s > 0 && std::isfinite(s), "anchors: stride ", s, " must be positive");
    maps.push_back({static_cast<int>(std::ceil(image_width / s)),
                    static_cast<int>(std::ceil(image_height / s))});
  }
  return maps;
}

static void check_maps(const std::vector<FeatureMapSize>& maps) {
  VEDGE_CHECK(!maps.empty(), "anchors: no feature maps");
  for (const auto& m : maps)
    VEDGE_CHECK(m.width > 0 && m.height > 0 && m.width <= 4096 && m.height <= 4096,
                "anchors: bad feature map size ", m.width, "x", m.height);
}

static std::vector<double> ssd_scales(const SsdAnchorParams& p) {
  const size_t n = p.feature_maps.size();
  if (!p.scales.empty()) {
    VEDGE_CHECK(p.scales.size() == n + 1, "anchors: ", p.scales.size(), " scales for ", n,
                " feature maps (need one more than the maps)");
    return p.scales;
  }
  if (n == 1) return {p.min_ratio, p.max_ratio};
  std::vector<double> s;
  const double range = static_cast<double>(p.max_ratio) - p.min_ratio;
  for (size_t k = 0; k < n; ++k) s.push_back(p.min_ratio + range * k / (n - 1.0));
  s.push_back(1.0);
  return s;
}

static void check_ssd(const SsdAnchorParams& p) {
  check_maps(p.feature_maps);
  VEDGE_CHECK(p.aspect_ratios.size() == p.feature_maps.size(), "anchors: ",
              p.aspect_ratios.size(), " aspect-ratio lists for ", p.feature_maps.size(),
              " feature maps");
  for (const auto& l : p.aspect_ratios)
    for (float ar : l) VEDGE_CHECK(ar > 0 && std::isfinite(ar), "anchors: aspect ratio ", ar, " must be positive");
  VEDGE_CHECK(p.steps.empty() || p.steps.size() == p.feature_maps.size(), "anchors: ",
              p.steps.size(), " steps for ", p.feature_maps.size(), " feature maps");
  for (double s : p.steps) VEDGE_CHECK(s > 0 && std::isfinite(s), "anchors: step ", s, " must be positive");
}

static void check_ultraface(const UltraFaceAnchorParams& p) {
  check_maps(p.feature_maps);
  VEDGE_CHECK(p.min_sizes.size() == p.feature_maps.size(), "anchors: ", p.min_sizes.size(),
              " min-size lists for ", p.feature_maps.size(), " feature maps");
  for (const auto& l : p.min_sizes) {
    VEDGE_CHECK(!l.empty(), "anchors: empty min-size list");
    for (float s : l) VEDGE_CHECK(s > 0 && std::isfinite(s), "anchors: min size ", s, " must be positive");
  }
  VEDGE_CHECK(p.strides.empty() || p.strides.size() == p.feature_maps.size(), "anchors: ",
              p.strides.size(), " strides for ", p.feature_maps.size(), " feature maps");
  for (double s : p.strides) VEDGE_CHECK(s > 0 && std::isfinite(s), "anchors: stride ", s, " must be positive");
}

std::vector<float> ssd_anchors(const SsdAnchorParams& p, int image_width, int image_height) {
  check_ssd(p);
  const std::vector<double> scales = ssd_scales(p);
  std::vector<float> out;
  out.reserve(static_cast<size_t>(anchor_count({AnchorFamily::Ssd, p, {}})) * 4);
  for (size_t k = 0; k < p.feature_maps.size(); ++k) {
    // Width/height pairs of one location, computed in double then stored as
    // float like torchvision's generator.
    std::vector<float> wh;
    auto add = [&](double w, double h) {
      float fw = static_cast<float>(w), fh = static_cast<float>(h);
      if (p.clip) {
        fw = std::clamp(fw, 0.f, 1.f);
        fh = std::clamp(fh, 0.f, 1.f);
      }
      wh.push_back(fw);
      wh.push_back(fh);
    };
    const double sk = scales[k];
    const double sp = std::sqrt(scales[k] * scales[k + 1]);
    add(sk, sk);
    add(sp, sp);
    for (float ar : p.aspect_ratios[k]) {
      const double r = std::sqrt(static_cast<double>(ar));
      add(sk * r, sk / r);
      add(sk / r, sk * r);
    }
    const FeatureMapSize& m = p.feature_maps[k];
    const double fx = p.steps.empty() ? m.width : image_width / p.steps[k];
    const double fy = p.steps.empty() ? m.height : image_height / p.steps[k];
    for (int y = 0; y < m.height; ++y) {
      const float cy = static_cast<float>((y + 0.5) / fy);
      for (int x = 0; x < m.width; ++x) {
        const float cx = static_cast<float>((x + 0.5) / fx);
        for (size_t b = 0; b < wh.size(); b += 2) {
          out.insert(out.end(), {cx, cy, wh[b], wh[b + 1]});
        }
      }
    }
  }
  return out;
}

std::vector<float> ultraface_anchors(const UltraFaceAnchorParams& p, int image_width,
                                     int image_height) {
  check_ultraface(p);
  VEDGE_CHECK(image_width > 0 && image_height > 0, "anchors: bad input size ", image_width, "x",
              image_height);
  std::vector<float> out;
  out.reserve(static_cast<size_t>(anchor_count({AnchorFamily::UltraFace, {}, p})) * 4);
  auto clip = [&](double v) {
    return static_cast<float>(p.clip ? std::clamp(v, 0.0, 1.0) : v);
  };
  for (size_t k = 0; k < p.feature_maps.size(); ++k) {
    const FeatureMapSize& m = p.feature_maps[k];
    const double fx = p.strides.empty() ? m.width : image_width / p.strides[k];
    const double fy = p.strides.empty() ? m.height : image_height / p.strides[k];
    for (int y = 0; y < m.height; ++y) {
      for (int x = 0; x < m.width; ++x) {
        for (float s : p.min_sizes[k]) {
          out.insert(out.end(), {clip((x + 0.5) / fx), clip((y + 0.5) / fy),
                                 clip(static_cast<double>(s) / image_width),
                                 clip(static_cast<double>(s) / image_height)});
        }
      }
    }
  }
  return out;
}

std::vector<float> generate_anchors(const AnchorSpec& s, int image_width, int image_height) {
  return s.family == AnchorFamily::Ssd ? ssd_anchors(s.ssd, image_width, image_height)
                                       : ultraface_anchors(s.ultraface, image_width, image_height);
}

int64_t anchor_count(const AnchorSpec& s) {
  int64_t n = 0;
  if (s.family == AnchorFamily::Ssd) {
    const auto& p = s.ssd;
    for (size_t k = 0; k < p.feature_maps.size(); ++k) {
      const size_t per = 2 + 2 * (k < p.aspect_ratios.size() ? p.aspect_ratios[k].size() : 0);
      n += static_cast<int64_t>(p.feature_maps[k].width) * p.feature_maps[k].height * per;
    }
  } else {
    const auto& p = s.ultraface;
    for (size_t k = 0; k < p.feature_maps.size(); ++k) {
      const size_t per = k < p.min_sizes.size() ? p.min_sizes[k].size() : 0;
      n += static_cast<int64_t>(p.feature_maps[k].width) * p.feature_maps[k].height * per;
    }
  }
  return n;
}

}  // namespace vedge
