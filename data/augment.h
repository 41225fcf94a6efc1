// augment.h: data augmentation for object detection on one sample (image +
// boxes): photometric distortion, expand (zoom out), random crop with an IoU
// constraint (as in SSD), horizontal flip and the final resize; plus the
// plain resize validation uses. Deterministic: the same input, config and rng
// state give the same output. Boxes stay consistent with the pixels: a box is
// kept after a crop only when its centre lies inside the crop, and is then
// clipped to it. Depends on runtime/image.h and data/dataset.h; no LibTorch.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "data/dataset.h"
#include "runtime/image.h"

namespace vedge {

struct DetSample {
  Image image;                        // RGB HWC uint8 (runtime/image.h)
  std::vector<BoxXYWH> boxes;         // pixels, [x, y, w, h] in `image`
  std::vector<int64_t> category_ids;  // one per box
};

struct AugmentConfig {
  // Photometric distortion, applied first, each part with probability
  // `photometric_prob` and in random order of contrast vs. the HSV parts.
  double photometric_prob = 0.5;
  double brightness_delta = 32;    // add U(-d, d) to every channel (0..255)
  double contrast_lower = 0.5;     // multiply around 0 by U(lower, upper)
  double contrast_upper = 1.5;
  double saturation_lower = 0.5;   // scale HSV saturation by U(lower, upper)
  double saturation_upper = 1.5;
  double hue_delta = 18;           // rotate hue by U(-d, d) degrees

  // Expand (zoom out): with probability `expand_prob`, place the image at a
  // random spot of a canvas r times its size, r ~ U(1, expand_max_ratio),
  // filled with `fill` (the dataset mean colour; default: ImageNet's mean).
  double expand_prob = 0.5;
  double expand_max_ratio = 4.0;
  std::array<uint8_t, 3> fill = {124, 116, 104};

  // Random crop (SSD): pick one entry of `crop_min_ious` uniformly; a
  // negative entry means "no crop", 0 means "any crop". Then up to
  // `crop_max_trials` times draw a crop with sides in [crop_min_scale, 1] of
  // the image and aspect ratio (w/h) in [crop_min_aspect, crop_max_aspect];
  // accept it when some box has IoU >= the chosen minimum with it and at
  // least one box centre lies inside. No trial accepted: no crop. Images
  // without boxes are cropped under the same size rules.
  std::vector<double> crop_min_ious = {-1, 0, 0.1, 0.3, 0.5, 0.7, 0.9};
  double crop_min_scale = 0.3;
  double crop_min_aspect = 0.5;
  double crop_max_aspect = 2.0;
  int crop_max_trials = 50;

  double flip_prob = 0.5;  // horizontal flip

  // Output size (bilinear resize at the end); 0 keeps the size.
  int out_width = 320, out_height = 320;

  // Boxes smaller than this (either side, pixels in the output) are dropped.
  double min_box_size = 1.0;
};

// photometric -> expand -> crop -> flip -> resize. `in` is not modified.
// Throws vedge::Error when boxes and category_ids differ in length.
DetSample augment(const DetSample& in, const AugmentConfig& cfg, std::mt19937_64& rng);

// The crop step alone (exposed for tests and custom pipelines): picks a
// minimum IoU from cfg.crop_min_ious and samples a crop of a width x height
// image as described above. nullopt: "no crop" was picked or no trial was
// accepted. `chosen_min_iou` (optional) receives the picked entry.
struct CropRect {
  int x = 0, y = 0, w = 0, h = 0;
};
std::optional<CropRect> sample_iou_crop(const std::vector<BoxXYWH>& boxes, int width, int height,
                                        const AugmentConfig& cfg, std::mt19937_64& rng,
                                        double* chosen_min_iou = nullptr);
// Crops `in` to `r`: boxes whose centre is inside r are kept, clipped to r and
// shifted; the others are dropped.
DetSample crop_to(const DetSample& in, const CropRect& r);

// Bilinear resize to width x height (pixel centres aligned, as in
// runtime/preprocess.h); boxes scaled by width/in.width, height/in.height.
DetSample resize_to(const DetSample& in, int width, int height);

// Horizontal flip: pixel x -> W-1-x, box x -> W - x - w. Exact.
DetSample flip_horizontal(const DetSample& in);

}  // namespace vedge
