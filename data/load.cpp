// load.cpp: format detection and the load_dataset() entry point (load.h);
// the COCO branch (entry names, image folder search) lives here, VOC and YOLO
// in their own files. Depends on data/coco.h, data/voc.h, data/yolo.h,
// data/load_common.h.
#include "data/load.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "data/coco.h"
#include "data/files.h"
#include "data/load_common.h"
#include "data/voc.h"
#include "data/yolo.h"
#include "runtime/error.h"

namespace vedge {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The single .json of a folder (a converted COCO dataset), or "".
std::string json_in(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_regular_file(dir / "instances.json", ec)) return (dir / "instances.json").string();
  std::string found;
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && lower(e.path().extension().string()) == ".json") {
      found = e.path().string();
      ++n;
    }
  return n == 1 ? found : "";
}

bool any_xml(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && lower(e.path().extension().string()) == ".xml") return true;
  return false;
}

Dataset load_coco(const std::string& path, const LoadOptions& options, LoadReport* report) {
  std::string file = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    file = json_in(path);
    VEDGE_CHECK(!file.empty(), path, ": no (single) COCO .json file in this folder");
  }
  ParsedDataset p;
  p.d = parse_coco_dataset(read_text_file(file), file, /*check=*/false);
  for (size_t i = 0; i < p.d.images.size(); ++i)
    p.image_where.push_back(file + ": images[" + std::to_string(i) + "] (id " + std::to_string(p.d.images[i].id) +
                            ")");
  for (size_t i = 0; i < p.d.annotations.size(); ++i)
    p.ann_where.push_back(file + ": annotations[" + std::to_string(i) + "] (id " +
                          std::to_string(p.d.annotations[i].id) + ")");
  fs::path dir = fs::path(file).parent_path();
  if (!options.images_dir.empty()) {
    p.d.image_root = options.images_dir;
  } else {
    std::string stem = fs::path(file).stem().string();
    std::string split = stem.rfind("instances_", 0) == 0 ? stem.substr(10) : stem;
    std::vector<fs::path> candidates = {dir, dir / "images", dir / stem / "images", dir / stem,
                                        dir.parent_path() / "images" / split, dir.parent_path() / "images"};
    // The first candidate holding any of the first few images (one may be missing).
    p.d.image_root = dir.string();
    bool found = false;
    for (const fs::path& c : candidates) {
      for (size_t i = 0; i < std::min<size_t>(p.d.images.size(), 8) && !found; ++i)
        found = fs::is_regular_file(c / p.d.images[i].file_name, ec);
      if (found) {
        p.d.image_root = c.lexically_normal().string();
        break;
      }
    }
  }
  finish_loading(p, options, report);
  return p.d;
}

}  // namespace

DatasetFormat parse_dataset_format(const std::string& name) {
  std::string n = lower(name);
  if (n == "auto") return DatasetFormat::Auto;
  if (n == "coco") return DatasetFormat::Coco;
  if (n == "voc") return DatasetFormat::Voc;
  if (n == "yolo") return DatasetFormat::Yolo;
  fail("unknown dataset format '", name, "' (expected auto, coco, voc or yolo)");
}

const char* dataset_format_name(DatasetFormat f) {
  switch (f) {
    case DatasetFormat::Coco: return "coco";
    case DatasetFormat::Voc: return "voc";
    case DatasetFormat::Yolo: return "yolo";
    default: return "auto";
  }
}

DatasetFormat detect_dataset_format(const std::string& path) {
  std::error_code ec;
  fs::path p(path);
  if (fs::is_regular_file(p, ec)) {
    std::string ext = lower(p.extension().string());
    if (ext == ".json") return DatasetFormat::Coco;
    if (ext == ".yaml" || ext == ".yml") return DatasetFormat::Yolo;
    if (ext == ".xml") return DatasetFormat::Voc;
    fail(path, ": cannot tell the dataset format from the extension '", ext,
         "' (use --format coco|voc|yolo)");
  }
  VEDGE_CHECK(fs::is_directory(p, ec), path, ": no such file or folder");
  if (fs::is_directory(p / "Annotations", ec)) return DatasetFormat::Voc;
  if (fs::is_directory(p / "labels", ec) || fs::is_regular_file(p / "data.yaml", ec) ||
      fs::is_regular_file(p / "data.yml", ec))
    return DatasetFormat::Yolo;
  if (!json_in(p).empty()) return DatasetFormat::Coco;
  if (any_xml(p)) return DatasetFormat::Voc;
  if (fs::is_directory(yolo_labels_dir(path), ec)) return DatasetFormat::Yolo;
  fail(path, ": cannot tell the dataset format (no .json, Annotations/, .xml files, labels/ or data.yaml; use "
       "--format coco|voc|yolo)");
}

Dataset load_dataset(const std::string& path, const LoadOptions& options, LoadReport* report) {
  DatasetFormat f = options.format == DatasetFormat::Auto ? detect_dataset_format(path) : options.format;
  switch (f) {
    case DatasetFormat::Coco: return load_coco(path, options, report);
    case DatasetFormat::Voc: return read_voc_dataset(path, options, report);
    default: return read_yolo_dataset(path, options, report);
  }
}

std::string image_path(const Dataset& d, const DatasetImage& im) {
  if (d.image_root.empty() || fs::path(im.file_name).is_absolute()) return im.file_name;
  return (fs::path(d.image_root) / im.file_name).string();
}

}  // namespace vedge
