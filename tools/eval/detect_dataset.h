// detect_dataset.h: runs a Detector over every image of a Dataset exactly as
// `vedge detect` does (decode_image_file, Detector::detect with the same
// options, so the same preprocessing and thresholds) and returns the boxes as
// evaluator detections: [x1, y1, x2, y2] -> [x, y, w, h], the model's label
// mapped to the dataset category of the same name. Depends on runtime/
// (detector.h, image.h) and data/ (dataset.h, load.h) only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "runtime/detector.h"

namespace vedge {

struct DatasetDetections {
  std::vector<EvalDetection> detections;
  std::map<std::string, int> unmatched_labels;  // model label -> boxes dropped (no such category)
};

// Image i is read from image_path(data, images[i]) (data/load.h: under
// data.image_root, which load_dataset() sets). Throws vedge::Error when no
// model label names a dataset category, or an image cannot be read.
DatasetDetections detect_dataset(Detector& detector, const Dataset& data, const DetectOptions& options = {});

}  // namespace vedge
