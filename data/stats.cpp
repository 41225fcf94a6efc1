// stats.cpp: dataset statistics and their text/JSON forms (stats.h).
// Depends on data/dataset.h and nlohmann/json.
#include "data/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

namespace vedge {

std::string DatasetStats::side_bin_label(int i) {
  if (i == kSideBins - 1) return std::to_string(4 << i) + "+ px";
  return std::to_string(i == 0 ? 0 : 4 << i) + "-" + std::to_string(8 << i) + " px";
}

DatasetStats compute_stats(const Dataset& d) {
  DatasetStats s;
  s.images = d.images.size();
  std::unordered_map<int64_t, size_t> cat = d.category_index();
  for (const DatasetCategory& c : d.categories) s.classes.push_back({c.id, c.name, 0, 0});
  std::vector<std::unordered_set<int64_t>> images_of(d.categories.size());
  std::unordered_set<int64_t> with_boxes;
  for (const DatasetAnnotation& a : d.annotations) {
    if (a.iscrowd) {
      ++s.crowd;
      continue;
    }
    ++s.boxes;
    s.ignored += a.ignore;
    with_boxes.insert(a.image_id);
    auto it = cat.find(a.category_id);
    if (it != cat.end()) {
      ++s.classes[it->second].boxes;
      images_of[it->second].insert(a.image_id);
    }
    double area = a.bbox.w * a.bbox.h;
    (area < 32 * 32 ? s.small : area < 96 * 96 ? s.medium : s.large)++;
    double side = std::sqrt(area);
    int bin = 0;
    while (bin < DatasetStats::kSideBins - 1 && side >= (8 << bin)) ++bin;
    ++s.side_bins[bin];
  }
  for (size_t i = 0; i < s.classes.size(); ++i) s.classes[i].images = images_of[i].size();
  for (const DatasetImage& im : d.images) s.images_without_boxes += !with_boxes.count(im.id);
  return s;
}

std::string format_stats(const DatasetStats& s) {
  std::string out;
  char b[256];
  std::snprintf(b, sizeof b,
                "%zu images (%zu without boxes), %zu boxes (%zu ignored/difficult), %zu crowd regions, %zu "
                "classes\n\n",
                s.images, s.images_without_boxes, s.boxes, s.ignored, s.crowd, s.classes.size());
  out += b;
  std::snprintf(b, sizeof b, "%-6s %-24s %8s %8s\n", "id", "class", "boxes", "images");
  out += b;
  for (const auto& c : s.classes) {
    std::snprintf(b, sizeof b, "%-6lld %-24.24s %8zu %8zu\n", static_cast<long long>(c.id), c.name.c_str(), c.boxes,
                  c.images);
    out += b;
  }
  std::snprintf(b, sizeof b, "\nbox sizes (COCO, by area): small %zu, medium %zu, large %zu\n", s.small, s.medium,
                s.large);
  out += b;
  out += "box sizes (sqrt(w*h)):\n";
  size_t most = 1;
  for (size_t n : s.side_bins) most = std::max(most, n);
  for (int i = 0; i < DatasetStats::kSideBins; ++i) {
    std::snprintf(b, sizeof b, "  %-12s %8zu %s\n", DatasetStats::side_bin_label(i).c_str(), s.side_bins[i],
                  std::string(s.side_bins[i] * 40 / most, '#').c_str());
    out += b;
  }
  return out;
}

nlohmann::json stats_to_json(const DatasetStats& s) {
  nlohmann::json classes = nlohmann::json::array(), bins = nlohmann::json::array();
  for (const auto& c : s.classes) classes.push_back({{"id", c.id}, {"name", c.name}, {"boxes", c.boxes}, {"images", c.images}});
  for (int i = 0; i < DatasetStats::kSideBins; ++i)
    bins.push_back({{"bin", DatasetStats::side_bin_label(i)}, {"boxes", s.side_bins[i]}});
  return {{"images", s.images},
          {"images_without_boxes", s.images_without_boxes},
          {"boxes", s.boxes},
          {"ignored", s.ignored},
          {"crowd", s.crowd},
          {"classes", classes},
          {"sizes", {{"small", s.small}, {"medium", s.medium}, {"large", s.large}}},
          {"side_bins", bins}};
}

}  // namespace vedge
