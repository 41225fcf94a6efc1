// coco.h: COCO JSON readers and the instances writer. The instances file
// ("images", "categories", "annotations") into a Dataset (and back), and a detections file in the COCO results
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
// check = false skips the final Dataset::validate() (data/load.h reports
// dangling references itself, entry by entry, and can skip them).
Dataset parse_coco_dataset(const std::string& text, const std::string& source, bool check = true);

// The instances JSON of `d` (images with id, file_name, width, height;
// categories with id, name; annotations with id, image_id, category_id,
// bbox, area, iscrowd, and "ignore": 1 for ignored objects). Numbers are
// written with round-trip precision, so read(write(d)) == d.
std::string coco_dataset_json(const Dataset& d);
// Written atomically (temporary file + rename).
void write_coco_dataset(const Dataset& d, const std::string& path);

// Every detection's image and category must exist in `gt`; boxes must be
// finite with w, h >= 0, scores finite.
std::vector<EvalDetection> read_coco_detections(const std::string& path, const Dataset& gt);
std::vector<EvalDetection> parse_coco_detections(const std::string& text, const std::string& source,
                                             const Dataset& gt);

}  // namespace vedge
