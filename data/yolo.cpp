// yolo.cpp: YOLO txt reader and writer (yolo.h). Depends on
// data/load_common.h, data/files.h, runtime/error.h and yaml-cpp.
#include "data/yolo.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "data/load_common.h"
#include "runtime/error.h"

namespace vedge {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> names_from_yaml(const YAML::Node& root, const std::string& file) {
  YAML::Node names = root["names"];
  VEDGE_CHECK(names, file, ": no \"names:\" (the class names)");
  std::vector<std::string> out;
  if (names.IsSequence()) {
    for (size_t i = 0; i < names.size(); ++i) out.push_back(names[i].as<std::string>());
  } else if (names.IsMap()) {
    std::map<int64_t, std::string> m;
    for (const auto& kv : names) {
      int64_t k = 0;
      try {
        k = kv.first.as<int64_t>();
      } catch (const YAML::Exception&) {
        fail(file, ":", kv.first.Mark().line + 1, ": names: key '", kv.first.as<std::string>(),
             "' is not a class index");
      }
      VEDGE_CHECK(k >= 0 && k < 100000 && m.emplace(k, kv.second.as<std::string>()).second, file, ":",
                  kv.first.Mark().line + 1, ": names: bad or repeated class index ", k);
    }
    for (const auto& [k, v] : m) {
      VEDGE_CHECK(k == static_cast<int64_t>(out.size()), file, ": names: class indices must be 0..",
                  m.size() - 1, " without gaps (", out.size(), " is missing)");
      out.push_back(v);
    }
  } else {
    fail(file, ": \"names:\" must be a list or a map of index: name");
  }
  VEDGE_CHECK(!out.empty(), file, ": \"names:\" is empty");
  return out;
}

// data.yaml or a names file in `dir` or up to two folders above it.
bool find_names(fs::path dir, std::vector<std::string>& names, std::string& from) {
  std::error_code ec;
  for (int up = 0; up < 3 && !dir.empty(); ++up, dir = dir.parent_path()) {
    for (const char* f : {"data.yaml", "data.yml", "dataset.yaml"})
      if (fs::is_regular_file(dir / f, ec)) {
        from = (dir / f).string();
        YAML::Node root;
        try {
          root = YAML::LoadFile(from);
        } catch (const YAML::Exception& e) {
          fail(from, ":", e.mark.line + 1, ": malformed YAML: ", e.msg);
        }
        names = names_from_yaml(root, from);
        return true;
      }
    for (const char* f : {"classes.txt", "obj.names", "names.txt"})
      if (fs::is_regular_file(dir / f, ec)) {
        from = (dir / f).string();
        names = read_name_list(from);
        return true;
      }
    if (dir == dir.parent_path()) break;
  }
  return false;
}

fs::path labels_for(const fs::path& images_dir_in) {
  fs::path images_dir = images_dir_in.lexically_normal();
  if (images_dir.filename().empty()) images_dir = images_dir.parent_path();
  std::vector<fs::path> parts(images_dir.begin(), images_dir.end());
  for (size_t i = parts.size(); i-- > 0;)
    if (parts[i] == "images") {
      fs::path out;
      for (size_t j = 0; j < parts.size(); ++j) out /= (j == i ? fs::path("labels") : parts[j]);
      return out;
    }
  return images_dir.parent_path() / "labels";
}

bool has_subdir(const fs::path& p, const std::string& name) {
  std::error_code ec;
  return fs::is_directory(p / name, ec);
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.8f", v);
  return b;
}

}  // namespace

std::string yolo_labels_dir(const std::string& images_dir) { return labels_for(images_dir).string(); }

Dataset read_yolo_dataset(const std::string& path, const LoadOptions& options, LoadReport* report) {
  std::error_code ec;
  fs::path p(path), images_dir;
  std::vector<std::string> names;
  std::string names_from;
  if (fs::is_directory(p, ec)) {
    for (const char* f : {"data.yaml", "data.yml", "dataset.yaml"})
      if (fs::is_regular_file(p / f, ec)) {
        p /= f;
        break;
      }
  }
  if (fs::is_regular_file(p, ec)) {  // data.yaml
    names_from = p.string();
    YAML::Node root;
    try {
      root = YAML::LoadFile(names_from);
    } catch (const YAML::Exception& e) {
      fail(names_from, ":", e.mark.line + 1, ": malformed YAML: ", e.msg);
    }
    names = names_from_yaml(root, names_from);
    fs::path base = p.parent_path();
    if (root["path"] && root["path"].IsScalar()) base = base / root["path"].as<std::string>();
    YAML::Node split = root[options.split];
    VEDGE_CHECK(split && split.IsScalar(), names_from, ": no \"", options.split, ":\" images folder");
    images_dir = base / split.as<std::string>();
  } else {
    VEDGE_CHECK(fs::is_directory(p, ec), path, ": no such file or folder");
    images_dir = has_subdir(p, "images") ? p / "images" : p;
    if (list_image_files(images_dir.string()).empty() && has_subdir(images_dir, options.split))
      images_dir /= options.split;
    VEDGE_CHECK(find_names(images_dir, names, names_from), path,
                ": no class names found (data.yaml, classes.txt, obj.names or names.txt)");
  }
  images_dir = images_dir.lexically_normal();
  if (!options.images_dir.empty()) images_dir = options.images_dir;
  fs::path labels_dir = labels_for(images_dir);
  VEDGE_CHECK(fs::is_directory(images_dir, ec), images_dir.string(), ": images folder not found");

  ParsedDataset pd;
  pd.d.source = path;
  pd.d.image_root = images_dir.string();
  for (size_t i = 0; i < names.size(); ++i) pd.d.categories.push_back({int64_t(i) + 1, names[i]});
  // Images in subfolders too; labels mirror the folder structure.
  std::vector<std::string> files = list_image_files(images_dir.string(), /*recursive=*/true);
  std::set<std::string> stems;  // relative paths without extension
  for (size_t i = 0; i < files.size(); ++i) {
    DatasetImage im;
    im.id = static_cast<int64_t>(i) + 1;
    im.file_name = files[i];
    pd.d.images.push_back(im);
    pd.image_where.push_back((images_dir / files[i]).string());
    std::string stem = fs::path(files[i]).replace_extension().generic_string();
    stems.insert(stem);
    fs::path label = labels_dir / (stem + ".txt");
    if (!fs::is_regular_file(label, ec)) continue;
    std::istringstream in(read_text_file(label.string()));
    std::string line;
    for (int ln = 1; std::getline(in, line); ++ln) {
      std::string where = label.string() + ":" + std::to_string(ln);
      std::istringstream ls(line);
      std::vector<std::string> tok;
      for (std::string t; ls >> t;) tok.push_back(t);
      if (tok.empty()) continue;
      double v[5];
      bool ok = tok.size() == 5;
      for (size_t k = 0; ok && k < 5; ++k) {
        char* end = nullptr;
        v[k] = std::strtod(tok[k].c_str(), &end);
        ok = end && *end == '\0' && std::isfinite(v[k]);
      }
      if (!ok) {
        load_problem(options, report,
                     where + ": malformed line '" + line + "' (expected: class cx cy w h, 5 numbers)");
        if (report) ++report->skipped_boxes;
        continue;
      }
      if (v[0] != std::floor(v[0]) || v[0] < 0 || v[0] >= double(names.size())) {
        load_problem(options, report,
                     where + ": unknown class " + tok[0] + " (" + std::to_string(names.size()) + " names in " +
                         names_from + ")");
        if (report) ++report->skipped_boxes;
        continue;
      }
      DatasetAnnotation a;
      a.id = static_cast<int64_t>(pd.d.annotations.size()) + 1;
      a.image_id = im.id;
      a.category_id = static_cast<int64_t>(v[0]) + 1;
      // Normalized for now; scaled once the image size is known.
      a.bbox = {v[1] - v[3] / 2, v[2] - v[4] / 2, v[3], v[4]};
      pd.d.annotations.push_back(a);
      pd.ann_where.push_back(where);
    }
  }
  // Label files without an image.
  if (fs::is_directory(labels_dir, ec)) {
    std::vector<std::string> orphans;
    for (auto it = fs::recursive_directory_iterator(labels_dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const fs::path& f = it->path();
      if (f.extension() == ".txt" && it->is_regular_file() &&
          !stems.count(f.lexically_relative(labels_dir).replace_extension().generic_string()))
        orphans.push_back(f.string());
    }
    std::sort(orphans.begin(), orphans.end());
    for (const std::string& o : orphans) {
      size_t boxes = 0;
      std::istringstream in(read_text_file(o));
      for (std::string line; std::getline(in, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos) ++boxes;
      load_problem(options, report, o + ": no image for this label file in " + images_dir.string());
      if (report) {
        ++report->skipped_images;
        report->skipped_boxes += boxes;
      }
    }
  }
  // Sizes from the image headers (always), then scale the boxes.
  LoadOptions probe = options;
  probe.check_images = true;
  std::vector<DatasetAnnotation> anns = std::move(pd.d.annotations);
  std::vector<std::string> ann_where = std::move(pd.ann_where);
  pd.d.annotations.clear();
  pd.ann_where.clear();
  finish_loading(pd, probe, report);  // images only: drops missing ones
  auto idx = pd.d.image_index();
  for (size_t i = 0; i < anns.size(); ++i) {
    auto it = idx.find(anns[i].image_id);
    if (it == idx.end()) {
      if (report) ++report->skipped_boxes;  // its image was skipped
      continue;
    }
    const DatasetImage& im = pd.d.images[it->second];
    BoxXYWH& b = anns[i].bbox;
    b = {b.x * im.width, b.y * im.height, b.w * im.width, b.h * im.height};
    anns[i].area = b.w * b.h;
    pd.d.annotations.push_back(anns[i]);
    pd.ann_where.push_back(ann_where[i]);
  }
  probe.check_images = false;
  finish_loading(pd, probe, report);  // boxes
  return pd.d;
}

size_t write_yolo_dataset(const Dataset& d, const std::string& out_dir, ImageCopyMode mode) {
  fs::path out(out_dir);
  std::map<int64_t, size_t> cls;
  std::string yaml = "# written by vedge data convert\npath: .\ntrain: images\nval: images\nnames:\n";
  for (size_t i = 0; i < d.categories.size(); ++i) {
    cls[d.categories[i].id] = i;
    YAML::Emitter e;
    e << d.categories[i].name;
    yaml += "  " + std::to_string(i) + ": " + e.c_str() + "\n";
  }
  std::map<int64_t, std::vector<const DatasetAnnotation*>> by_image;
  for (const DatasetAnnotation& a : d.annotations) by_image[a.image_id].push_back(&a);
  size_t left_out = 0;
  std::set<std::string> stems;
  for (const DatasetImage& im : d.images) {
    VEDGE_CHECK(!im.file_name.empty(), d.source, ": image ", im.id, " has no file name");
    VEDGE_CHECK(im.width > 0 && im.height > 0, d.source, ": image ", im.id, " (", im.file_name,
                ") has no size; YOLO boxes are relative to it");
    fs::path rel = fs::path(im.file_name).replace_extension(".txt");
    VEDGE_CHECK(stems.insert(rel.string()).second, d.source, ": two images map to labels/", rel.string());
    std::string text;
    for (const DatasetAnnotation* a : by_image[im.id]) {
      if (a->iscrowd || a->ignore) {
        ++left_out;
        continue;
      }
      const BoxXYWH& b = a->bbox;
      text += std::to_string(cls.at(a->category_id)) + " " + num((b.x + b.w / 2) / im.width) + " " +
              num((b.y + b.h / 2) / im.height) + " " + num(b.w / im.width) + " " + num(b.h / im.height) + "\n";
    }
    write_text_file_atomic((out / "labels" / rel).string(), text);
    place_image_file(image_path(d, im), (out / "images" / im.file_name).string(), mode);
  }
  write_text_file_atomic((out / "data.yaml").string(), yaml);
  return left_out;
}

}  // namespace vedge
