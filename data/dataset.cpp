// dataset.cpp: id lookups and the structural checks every reader ends with.
// Depends on runtime/error.h only.
#include "data/dataset.h"

#include <cmath>

#include "runtime/error.h"

namespace vedge {

std::unordered_map<int64_t, size_t> Dataset::image_index() const {
  std::unordered_map<int64_t, size_t> m;
  for (size_t i = 0; i < images.size(); ++i) m.emplace(images[i].id, i);
  return m;
}

std::unordered_map<int64_t, size_t> Dataset::category_index() const {
  std::unordered_map<int64_t, size_t> m;
  for (size_t i = 0; i < categories.size(); ++i) m.emplace(categories[i].id, i);
  return m;
}

void Dataset::validate() const {
  auto imgs = image_index(), cats = category_index();
  VEDGE_CHECK(imgs.size() == images.size(), source, ": duplicate image id");
  VEDGE_CHECK(cats.size() == categories.size(), source, ": duplicate category id");
  for (const DatasetImage& im : images)
    VEDGE_CHECK(im.width >= 0 && im.height >= 0, source, ": image ", im.id, " has a negative size ",
                im.width, "x", im.height);
  std::unordered_map<int64_t, int> ann_ids;
  for (const DatasetAnnotation& a : annotations) {
    VEDGE_CHECK(++ann_ids[a.id] == 1, source, ": duplicate annotation id ", a.id);
    VEDGE_CHECK(imgs.count(a.image_id), source, ": annotation ", a.id, " refers to image id ",
                a.image_id, ", which is not in the dataset");
    VEDGE_CHECK(cats.count(a.category_id), source, ": annotation ", a.id, " refers to category id ",
                a.category_id, ", which is not in the dataset");
    const BoxXYWH& b = a.bbox;
    VEDGE_CHECK(std::isfinite(b.x) && std::isfinite(b.y) && std::isfinite(b.w) && std::isfinite(b.h) &&
                    std::isfinite(a.area),
                source, ": annotation ", a.id, " has a non-finite box or area");
    VEDGE_CHECK(b.w >= 0 && b.h >= 0, source, ": annotation ", a.id, " has a negative width or height (",
                b.w, "x", b.h, ")");
    VEDGE_CHECK(a.area >= 0, source, ": annotation ", a.id, " has a negative area ", a.area);
  }
}

}  // namespace vedge
