// load_common.cpp: the checks shared by the COCO, VOC and YOLO readers and
// the skip-or-throw rule. Depends on data/load.h, data/image_probe.h.
#include "data/load_common.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "data/files.h"
#include "data/image_probe.h"
#include "runtime/error.h"

namespace vedge {
namespace fs = std::filesystem;

void load_problem(const LoadOptions& options, LoadReport* report, const std::string& msg) {
  if (!options.skip_bad) throw Error(msg);
  if (report) report->problems.push_back(msg);
}

std::vector<std::string> list_image_files(const std::string& dir, bool recursive) {
  std::vector<std::string> out;
  std::error_code ec;
  auto consider = [&](const fs::directory_entry& e) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if ((ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp") && e.is_regular_file())
      out.push_back(e.path().lexically_relative(dir).generic_string());
  };
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      consider(*it);
  } else {
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      consider(*it);
  }
  VEDGE_CHECK(!ec, dir, ": cannot list folder: ", ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

void finish_loading(ParsedDataset& p, const LoadOptions& options, LoadReport* report) {
  Dataset& d = p.d;
  auto add_skipped = [&](size_t images, size_t boxes) {
    if (!report) return;
    report->skipped_images += images;
    report->skipped_boxes += boxes;
  };
  // Annotations referring to unknown images or categories.
  std::unordered_map<int64_t, size_t> cats = d.category_index();
  std::unordered_set<int64_t> image_ids;
  for (const DatasetImage& im : d.images) image_ids.insert(im.id);
  std::vector<bool> drop_ann(d.annotations.size(), false);
  for (size_t i = 0; i < d.annotations.size(); ++i) {
    const DatasetAnnotation& a = d.annotations[i];
    if (!image_ids.count(a.image_id)) {
      load_problem(options, report, p.ann_where[i] + ": unknown image id " + std::to_string(a.image_id));
      drop_ann[i] = true;
    } else if (!cats.count(a.category_id)) {
      load_problem(options, report, p.ann_where[i] + ": unknown category id " + std::to_string(a.category_id));
      drop_ann[i] = true;
    }
  }
  // Images: present, decodable header, declared size.
  std::unordered_map<int64_t, size_t> img_of;
  std::vector<bool> drop_img(d.images.size(), false);
  for (size_t i = 0; i < d.images.size(); ++i) {
    DatasetImage& im = d.images[i];
    img_of[im.id] = i;
    bool need = options.check_images || im.width <= 0 || im.height <= 0;
    if (!need) continue;
    std::string path = image_path(d, im);
    try {
      ImageSize s = probe_image_size(path);
      if (im.width > 0 && im.height > 0 && (s.width != im.width || s.height != im.height)) {
        load_problem(options, report,
                     p.image_where[i] + ": size " + std::to_string(im.width) + "x" + std::to_string(im.height) +
                         " but " + path + " is " + std::to_string(s.width) + "x" + std::to_string(s.height));
        drop_img[i] = true;
      }
      im.width = s.width;
      im.height = s.height;
    } catch (const Error& e) {
      std::error_code ec;
      std::string why = fs::exists(path, ec) ? std::string(e.what()) : "image " + path + " not found";
      bool named = why.rfind(p.image_where[i], 0) == 0;  // YOLO: the where is the image itself
      load_problem(options, report, named ? why : p.image_where[i] + ": " + why);
      drop_img[i] = true;
    }
  }
  // Boxes: non-empty, inside the image (clipped within the tolerance).
  for (size_t i = 0; i < d.annotations.size(); ++i) {
    if (drop_ann[i]) continue;
    DatasetAnnotation& a = d.annotations[i];
    size_t ii = img_of[a.image_id];
    if (drop_img[ii]) continue;
    const DatasetImage& im = d.images[ii];
    BoxXYWH& b = a.bbox;
    auto box_text = [&] {
      std::ostringstream os;
      os << "[" << b.x << ", " << b.y << ", " << b.w << ", " << b.h << "]";
      return os.str();
    };
    if (!(b.w > 0 && b.h > 0)) {
      load_problem(options, report, p.ann_where[i] + ": empty box " + box_text() + " (x, y, w, h)");
      drop_ann[i] = true;
      continue;
    }
    if (im.width <= 0 || im.height <= 0) continue;  // size unknown (check_images off)
    const double t = kBoxTolerance + 1e-9 * std::max(im.width, im.height);  // + rounding of the arithmetic
    if (b.x < -t || b.y < -t || b.x + b.w > im.width + t || b.y + b.h > im.height + t) {
      std::ostringstream os;
      os << p.ann_where[i] << ": box " << box_text() << " (x, y, w, h) is outside the " << im.width << "x"
         << im.height << " image";
      load_problem(options, report, os.str());
      drop_ann[i] = true;
      continue;
    }
    double x0 = std::max(0.0, b.x), y0 = std::max(0.0, b.y);
    double x1 = std::min(double(im.width), b.x + b.w), y1 = std::min(double(im.height), b.y + b.h);
    if (x0 != b.x || y0 != b.y || x1 != b.x + b.w || y1 != b.y + b.h) {
      b = {x0, y0, x1 - x0, y1 - y0};
      if (!(b.w > 0 && b.h > 0)) {
        load_problem(options, report, p.ann_where[i] + ": box is empty after clipping to the image");
        drop_ann[i] = true;
      }
    }
  }
  // Drop what was rejected (only reached with skip_bad when anything is).
  Dataset kept;
  kept.source = d.source;
  kept.image_root = d.image_root;
  kept.categories = d.categories;
  size_t dropped_images = 0, dropped_boxes = 0;
  for (size_t i = 0; i < d.images.size(); ++i)
    if (drop_img[i]) ++dropped_images;
    else kept.images.push_back(d.images[i]);
  for (size_t i = 0; i < d.annotations.size(); ++i) {
    const DatasetAnnotation& a = d.annotations[i];
    auto it = img_of.find(a.image_id);
    if (drop_ann[i] || it == img_of.end() || drop_img[it->second]) ++dropped_boxes;
    else kept.annotations.push_back(a);
  }
  add_skipped(dropped_images, dropped_boxes);
  kept.validate();
  d = std::move(kept);
}

std::vector<std::string> read_name_list(const std::string& path) {
  std::vector<std::string> names;
  std::istringstream in(read_text_file(path));
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  VEDGE_CHECK(!names.empty(), path, ": no class names");
  return names;
}

}  // namespace vedge
