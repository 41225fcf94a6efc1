// synthetic.h: the built-in "shapes" detection dataset: coloured geometric
// shapes (shape x colour = class) on textured, noisy backgrounds, with varied
// scale (small objects included), rotation, overlap and bounded partial
// occlusion. Deterministic from the seed: the same config gives byte-identical
// image and JSON files. Writes images + COCO JSON so any tool can read it.
// Box convention: the tight pixel box of the WHOLE shape (what it covers
// before anything is drawn over it); occlusion is bounded so that at least
// `min_visible` of each shape stays visible. Depends on runtime/image.h,
// data/dataset.h, data/coco.h; no LibTorch.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "runtime/image.h"

namespace vedge {

struct ShapesConfig {
  int num_images = 100;
  int width = 320, height = 320;
  uint64_t seed = 0;
  // Objects per image, uniform. Classes cycle over the images, so every class
  // is (nearly) equally frequent; the classes of one image are distinct.
  int min_objects = 1, max_objects = 6;
  // Object size = the side of the shape's square extent before rotation, in
  // pixels. Most objects ~ log-uniform in [min_size, max_size]; a fraction
  // `small_fraction` is "small", uniform in [small_min_size, min_size).
  double min_size = 18, max_size = 120;
  double small_fraction = 0.12;
  double small_min_size = 12;
  bool rotate = true;           // random rotation of each shape
  double min_visible = 0.6;     // fraction of each shape's pixels left visible
  double max_box_overlap = 0.5; // max IoU between two boxes of an image
  double texture = 0.5;         // 0..1: strength of the background pattern
  double noise = 8;             // std-dev of per-pixel Gaussian noise (0..255)
  std::string image_ext = ".jpg";  // ".jpg" (quality 92; fast) or ".png" (lossless)
  // Images rendered and encoded in parallel (0: hardware threads, at most 4).
  // The output does not depend on it.
  int threads = 0;
};

// Class names in category-id order (id = index + 1): shape x colour, e.g.
// "red_circle", "green_square", ... (12 classes).
std::vector<std::string> shapes_class_names();
// The RGB colour the class is drawn with (before lighting / noise).
std::array<uint8_t, 3> shapes_class_color(int64_t category_id);

// Writes out_dir/<split_name>/images/000000.png ... and out_dir/<split_name>.json
// (COCO instances, image file names relative to out_dir/<split_name>/images,
// which becomes Dataset::image_root) and returns the Dataset. Existing files
// are overwritten (each written to a temporary file and renamed). The split
// name is mixed into the seed, so "train" and "val" differ under one seed.
// `on_progress(done, total)` is called after each image when given.
Dataset generate_shapes(const ShapesConfig& cfg, const std::string& out_dir, const std::string& split_name,
                        const std::function<void(int, int)>& on_progress = {});

// The pixels and boxes of image `index` of a split, without writing files
// (generate_shapes() writes exactly these). Boxes are [x, y, w, h] pixels.
struct ShapesImage {
  Image image;
  std::vector<BoxXYWH> boxes;
  std::vector<int64_t> category_ids;
};
ShapesImage render_shapes_image(const ShapesConfig& cfg, const std::string& split_name, int index);

}  // namespace vedge
