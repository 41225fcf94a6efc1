// stats.h: summary statistics of a Dataset for `vedge data stats`: images,
// boxes per class, crowd/ignored counts, images without boxes, and box-size
// histograms (COCO small/medium/large by area, and by the box's geometric
// mean side in octave bins). Depends on data/dataset.h and nlohmann/json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"

namespace vedge {

struct DatasetStats {
  size_t images = 0, boxes = 0, crowd = 0, ignored = 0, images_without_boxes = 0;
  struct ClassCount {
    int64_t id = 0;
    std::string name;
    size_t boxes = 0, images = 0;  // boxes of the class, images holding one
  };
  std::vector<ClassCount> classes;  // in category order
  // COCO's split of box area (w * h): small < 32^2 <= medium < 96^2 <= large.
  size_t small = 0, medium = 0, large = 0;
  // sqrt(w * h) in [0, 8), [8, 16), ..., [256, 512), [512, inf).
  static constexpr int kSideBins = 8;
  size_t side_bins[kSideBins] = {};
  static std::string side_bin_label(int i);  // "8-16 px", "512+ px"
};

// Crowd boxes count in `crowd`, not in the histograms or per-class counts.
DatasetStats compute_stats(const Dataset& d);
std::string format_stats(const DatasetStats& s);  // the text table
nlohmann::json stats_to_json(const DatasetStats& s);

}  // namespace vedge
