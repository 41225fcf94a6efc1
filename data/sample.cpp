// sample.cpp: Dataset image + boxes -> DetSample (sample.h). Depends on
// data/load.h (image_path), runtime/image.h, runtime/error.h.
#include "data/sample.h"

#include "data/load.h"
#include "runtime/error.h"
#include "runtime/image.h"

namespace vedge {

std::vector<std::vector<size_t>> annotations_by_image(const Dataset& d) {
  std::vector<std::vector<size_t>> out(d.images.size());
  auto index = d.image_index();
  for (size_t i = 0; i < d.annotations.size(); ++i) {
    auto it = index.find(d.annotations[i].image_id);
    VEDGE_CHECK(it != index.end(), d.source, ": annotation ", d.annotations[i].id, " refers to image id ",
                d.annotations[i].image_id, ", which is not in the dataset");
    out[it->second].push_back(i);
  }
  return out;
}

DetSample load_det_sample(const Dataset& d, size_t image_index, const std::vector<std::vector<size_t>>& by_image,
                          const SampleOptions& options) {
  VEDGE_CHECK(image_index < d.images.size() && by_image.size() == d.images.size(), d.source, ": image index ",
              image_index, " out of range (", d.images.size(), " images)");
  const DatasetImage& im = d.images[image_index];
  DetSample s;
  s.image = decode_image_file(image_path(d, im));
  VEDGE_CHECK(im.width <= 0 || (s.image.width == im.width && s.image.height == im.height), image_path(d, im),
              ": image is ", s.image.width, "x", s.image.height, " but ", d.source, " says ", im.width, "x",
              im.height);
  for (size_t i : by_image[image_index]) {
    const DatasetAnnotation& a = d.annotations[i];
    if ((a.iscrowd && !options.keep_crowd) || (a.ignore && !options.keep_ignored)) continue;
    s.boxes.push_back(a.bbox);
    s.category_ids.push_back(a.category_id);
  }
  return s;
}

DetSample load_det_sample(const Dataset& d, size_t image_index, const SampleOptions& options) {
  return load_det_sample(d, image_index, annotations_by_image(d), options);
}

}  // namespace vedge
