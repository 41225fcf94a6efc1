// detect_dataset.cpp: a Detector over a dataset's images, boxes converted for
// the evaluator. Depends on runtime/ and data/ (dataset.h, load.h) only.
#include "tools/eval/detect_dataset.h"

#include "data/load.h"
#include "runtime/error.h"
#include "runtime/image.h"

namespace vedge {

DatasetDetections detect_dataset(Detector& detector, const Dataset& data, const DetectOptions& options) {
  std::map<std::string, int64_t> by_name;
  for (const DatasetCategory& c : data.categories) by_name.emplace(c.name, c.id);
  bool any = false;
  std::string labels;
  for (const std::string& l : detector.spec().labels) {
    any = any || by_name.count(l);
    labels += (labels.empty() ? "" : ", ") + l;
  }
  VEDGE_CHECK(any, detector.model_path(), ": no model label (", labels, ") names a category of ", data.source);
  DatasetDetections out;
  for (const DatasetImage& im : data.images) {
    VEDGE_CHECK(!im.file_name.empty(), data.source, ": image ", im.id, " has no file_name");
    const std::string path = image_path(data, im);
    Image img = decode_image_file(path);
    if (im.width && im.height)
      VEDGE_CHECK(img.width == im.width && img.height == im.height, path, ": image is ", img.width, "x",
                  img.height, " but ", data.source, " says ", im.width, "x", im.height);
    for (const Detection& d : detector.detect(img, options)) {
      auto it = by_name.find(d.label);
      if (it == by_name.end()) {
        ++out.unmatched_labels[d.label];
        continue;
      }
      BoxXYWH b{d.bbox[0], d.bbox[1], d.bbox[2] - d.bbox[0], d.bbox[3] - d.bbox[1]};
      out.detections.push_back({im.id, it->second, b, d.score});
    }
  }
  return out;
}

}  // namespace vedge
