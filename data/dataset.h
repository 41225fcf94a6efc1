// dataset.h: the one in-memory representation of a detection dataset, shared
// by every reader (COCO JSON in coco.h, Pascal VOC XML in voc.h, YOLO txt in
// yolo.h, all reachable through load.h), the evaluator and training. Also the detection record the
// evaluator consumes (COCO results format).
//
// Conventions: boxes are [x, y, w, h] in pixels (top-left corner, width,
// height; COCO's convention); image and category ids are whatever the source
// uses (COCO ids are not contiguous), annotation ids are unique. `area` is the
// object area used for the small/medium/large split (COCO: the segmentation
// area; other readers: w * h). `iscrowd` marks a COCO crowd region; `ignore`
// marks an object that should neither count nor be penalised (VOC
// "difficult"). Depends on runtime/error.h only.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace vedge {

struct BoxXYWH {
  double x = 0, y = 0, w = 0, h = 0;
};

struct DatasetImage {
  int64_t id = 0;
  std::string file_name;
  int width = 0, height = 0;  // 0 when the source does not say
};

struct DatasetCategory {
  int64_t id = 0;
  std::string name;
};

struct DatasetAnnotation {
  int64_t id = 0, image_id = 0, category_id = 0;
  BoxXYWH bbox;
  double area = 0;
  bool iscrowd = false;
  bool ignore = false;  // VOC "difficult"
};

struct Dataset {
  std::string source;  // the file or folder it was read from, for messages
  // The folder image file names are relative to (data/load.h image_path());
  // empty: relative to the current directory. Readers set it.
  std::string image_root;
  std::vector<DatasetImage> images;
  std::vector<DatasetCategory> categories;
  std::vector<DatasetAnnotation> annotations;

  // id -> index into images / categories (built on each call).
  std::unordered_map<int64_t, size_t> image_index() const;
  std::unordered_map<int64_t, size_t> category_index() const;

  // Every reader ends with this: ids unique, every annotation's image and
  // category exist, no negative sizes or non-finite numbers. Throws
  // vedge::Error naming `source` and the entry.
  void validate() const;
};

// One detection as the evaluator reads it (the COCO results format). Not
// runtime/detector.h's Detection: that one is [x1, y1, x2, y2] with a label.
struct EvalDetection {
  int64_t image_id = 0, category_id = 0;
  BoxXYWH bbox;
  double score = 0;
};

}  // namespace vedge
