// anchors.h: SSD anchor (default box / prior) generation. Anchors are
// normalized (cx, cy, w, h) in [0,1] units of the network input, in the
// order the network emits its box and score rows:
//   for each feature map, for each location (row y, then column x), for each
//   box of that location.
// Two families:
//   Ssd:       torchvision's DefaultBoxGenerator (SSD / SSDLite). Boxes per
//              location: (s_k, s_k), (s', s') with s' = sqrt(s_k * s_k+1),
//              then (s_k*sqrt(ar), s_k/sqrt(ar)), (s_k/sqrt(ar), s_k*sqrt(ar))
//              for each aspect ratio ar. Centres (x+0.5)/f_x with f_x the map
//              width, or image_width/step when steps are given. clip clamps w, h.
//   UltraFace: min sizes in input pixels per map; centres (x+0.5)/map width
//              (or (x+0.5)*stride/image width when strides are given); clip
//              clamps all four values.
// Depends on the standard library and error.h only.
#pragma once

#include <string>
#include <vector>

namespace vedge {

struct FeatureMapSize {
  int width = 0, height = 0;
};

struct SsdAnchorParams {
  std::vector<FeatureMapSize> feature_maps;
  std::vector<std::vector<float>> aspect_ratios;  // one list per feature map
  float min_ratio = 0.15f, max_ratio = 0.9f;      // torchvision's defaults
  std::vector<double> scales;                     // optional: feature_maps.size() + 1 values
  std::vector<double> steps;                      // optional: one per feature map, pixels
  bool clip = true;
};

struct UltraFaceAnchorParams {
  std::vector<FeatureMapSize> feature_maps;
  std::vector<std::vector<float>> min_sizes;  // pixels, one list per feature map
  std::vector<double> strides;                // optional: centres from strides
  bool clip = true;
};

enum class AnchorFamily { Ssd, UltraFace };

struct AnchorSpec {
  AnchorFamily family = AnchorFamily::Ssd;
  SsdAnchorParams ssd;
  UltraFaceAnchorParams ultraface;
};

// Feature map sizes ceil(image / stride), what stride-2 3x3 pad-1 convs give.
std::vector<FeatureMapSize> feature_maps_from_strides(int image_width, int image_height,
                                                      const std::vector<double>& strides);

// 4 floats per anchor (cx, cy, w, h). image_* is the network input size.
std::vector<float> ssd_anchors(const SsdAnchorParams& p, int image_width, int image_height);
std::vector<float> ultraface_anchors(const UltraFaceAnchorParams& p, int image_width,
                                     int image_height);
std::vector<float> generate_anchors(const AnchorSpec& s, int image_width, int image_height);
// Number of anchors without generating them.
int64_t anchor_count(const AnchorSpec& s);

}  // namespace vedge
