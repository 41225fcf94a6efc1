// eval_builder.h: hand-made ground truth and detections for the evaluator
// tests: `images` 640x480 images (ids 1..n), the given category ids, then
// boxes added one call at a time. Header-only; depends on data/dataset.h.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace vedge::test {

struct EvalBuilder {
  Dataset d;
  std::vector<EvalDetection> dets;
  EvalBuilder(int images, std::vector<int64_t> cats, const std::string& source = "hand.json") {
    d.source = source;
    for (int i = 1; i <= images; ++i) d.images.push_back({i, "im" + std::to_string(i) + ".jpg", 640, 480});
    for (int64_t c : cats) d.categories.push_back({c, "c" + std::to_string(c)});
  }
  // A ground-truth box; `crowd` marks a COCO crowd region.
  EvalBuilder& gt(int64_t img, int64_t cat, BoxXYWH b, bool crowd = false) {
    DatasetAnnotation a;
    a.id = static_cast<int64_t>(d.annotations.size()) + 1;
    a.image_id = img, a.category_id = cat, a.bbox = b, a.area = b.w * b.h, a.iscrowd = crowd;
    d.annotations.push_back(a);
    return *this;
  }
  // A Pascal VOC "difficult" box.
  EvalBuilder& difficult(int64_t img, int64_t cat, BoxXYWH b) {
    gt(img, cat, b);
    d.annotations.back().ignore = true;
    return *this;
  }
  EvalBuilder& det(int64_t img, int64_t cat, BoxXYWH b, double score) {
    dets.push_back({img, cat, b, score});
    return *this;
  }
};

}  // namespace vedge::test
