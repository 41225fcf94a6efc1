// coco.h: COCO JSON readers. The instances file ("images", "categories",
// "annotations") into a Dataset, and a detections file in the COCO results
// format ([{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...])
// checked against that dataset. Errors are one line naming the file and the
// entry. Depends on data/dataset.h, runtime/error.h and nlohmann/json.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace vedge {

// Required keys: images[].id; categories[].id, name; annotations[].id,
// image_id, category_id, bbox. Optional: file_name, width, height (0 if
// absent), area (w * h if absent), iscrowd (0), ignore (0). Segmentations
// are not read. `source` names the text in messages.
Dataset read_coco_dataset(const std::string& path);
Dataset parse_coco_dataset(const std::string& text, const std::string& source);

// Every detection's image and category must exist in `gt`; boxes must be
// finite with w, h >= 0, scores finite.
std::vector<EvalDetection> read_coco_detections(const std::string& path, const Dataset& gt);
std::vector<EvalDetection> parse_coco_detections(const std::string& text, const std::string& source,
                                             const Dataset& gt);

}  // namespace vedge
