// coco.cpp: COCO instances JSON <-> Dataset and COCO results JSON ->
// detections, with one-line errors naming the file and the entry. Depends on
// data/dataset.h, data/files.h, runtime/error.h and nlohmann/json.
#include "data/coco.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "data/files.h"
#include "runtime/error.h"

namespace vedge {
namespace {

using nlohmann::json;

json parse(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // Python's json writes NaN and Infinity as bare words, which JSON forbids.
    size_t at = e.byte > 0 ? e.byte - 1 : 0;
    for (size_t b = at >= 9 ? at - 9 : 0; b <= at && b < text.size(); ++b)
      if (text.compare(b, 3, "NaN") == 0 || text.compare(b, 8, "Infinity") == 0)
        fail(source, ": NaN or Infinity at byte ", b, ": numbers must be finite");
    fail(source, ": malformed JSON at byte ", e.byte);
  } catch (const json::exception& e) {  // e.g. "number overflow parsing '1e999'"
    std::string what = e.what();
    fail(source, ": invalid JSON: ", what.substr(what.find(']') + 1 + (what.find(']') + 1 < what.size())));
  }
}

// A short name for an entry: "annotations[3]" or "annotations[3] (id 17)".
std::string where(const char* list, size_t i, const json& e) {
  std::string s = std::string(list) + "[" + std::to_string(i) + "]";
  if (e.is_object() && e.contains("id") && e["id"].is_number_integer())
    s += " (id " + std::to_string(e["id"].get<int64_t>()) + ")";
  return s;
}

const json& need(const json& e, const char* key, const std::string& source, const std::string& at) {
  VEDGE_CHECK(e.is_object(), source, ": ", at, " is not an object");
  auto it = e.find(key);
  VEDGE_CHECK(it != e.end(), source, ": ", at, " has no \"", key, "\"");
  return *it;
}

int64_t to_id(const json& v, const char* key, const std::string& source, const std::string& at) {
  VEDGE_CHECK(v.is_number_integer(), source, ": ", at, ": \"", key, "\" must be an integer");
  return v.get<int64_t>();
}

double to_number(const json& v, const char* key, const std::string& source, const std::string& at) {
  VEDGE_CHECK(v.is_number(), source, ": ", at, ": \"", key, "\" must be a number");
  return v.get<double>();
}

bool to_flag(const json& e, const char* key, const std::string& source, const std::string& at) {
  auto it = e.find(key);
  if (it == e.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  VEDGE_CHECK(it->is_number_integer(), source, ": ", at, ": \"", key, "\" must be 0 or 1");
  return it->get<int64_t>() != 0;
}

BoxXYWH to_box(const json& v, const std::string& source, const std::string& at) {
  VEDGE_CHECK(v.is_array() && v.size() == 4, source, ": ", at, ": \"bbox\" must be [x, y, w, h]");
  double b[4];
  for (int i = 0; i < 4; ++i) {
    // nlohmann parses NaN/inf as null; a number that overflows is +-inf.
    VEDGE_CHECK(v[i].is_number() && std::isfinite(v[i].get<double>()), source, ": ", at,
                ": \"bbox\" must hold 4 finite numbers");
    b[i] = v[i].get<double>();
  }
  VEDGE_CHECK(b[2] >= 0 && b[3] >= 0, source, ": ", at, ": negative width or height in bbox [", b[0], ", ",
              b[1], ", ", b[2], ", ", b[3], "]");
  return {b[0], b[1], b[2], b[3]};
}

const json& list(const json& root, const char* key, const std::string& source) {
  auto it = root.find(key);
  VEDGE_CHECK(it != root.end(), source, ": no \"", key, "\" list (not a COCO instances file?)");
  VEDGE_CHECK(it->is_array(), source, ": \"", key, "\" must be a list");
  return *it;
}

}  // namespace

Dataset parse_coco_dataset(const std::string& text, const std::string& source, bool check) {
  json root = parse(text, source);
  VEDGE_CHECK(root.is_object(), source, ": expected a JSON object with images, categories, annotations");
  Dataset d;
  d.source = source;
  const json& images = list(root, "images", source);
  for (size_t i = 0; i < images.size(); ++i) {
    const json& e = images[i];
    std::string at = where("images", i, e);
    DatasetImage im;
    im.id = to_id(need(e, "id", source, at), "id", source, at);
    if (e.contains("file_name") && e["file_name"].is_string()) im.file_name = e["file_name"];
    for (const char* key : {"width", "height"}) {
      if (!e.contains(key)) continue;
      double v = to_number(e[key], key, source, at);
      VEDGE_CHECK(v >= 0 && v < 1e9, source, ": ", at, ": negative or huge ", key, " ", v);
      (key[0] == 'w' ? im.width : im.height) = static_cast<int>(v);
    }
    d.images.push_back(im);
  }
  const json& cats = list(root, "categories", source);
  for (size_t i = 0; i < cats.size(); ++i) {
    const json& e = cats[i];
    std::string at = where("categories", i, e);
    DatasetCategory c;
    c.id = to_id(need(e, "id", source, at), "id", source, at);
    const json& name = need(e, "name", source, at);
    VEDGE_CHECK(name.is_string(), source, ": ", at, ": \"name\" must be a string");
    c.name = name.get<std::string>();
    d.categories.push_back(c);
  }
  const json& anns = list(root, "annotations", source);
  for (size_t i = 0; i < anns.size(); ++i) {
    const json& e = anns[i];
    std::string at = where("annotations", i, e);
    DatasetAnnotation a;
    a.id = to_id(need(e, "id", source, at), "id", source, at);
    a.image_id = to_id(need(e, "image_id", source, at), "image_id", source, at);
    a.category_id = to_id(need(e, "category_id", source, at), "category_id", source, at);
    a.bbox = to_box(need(e, "bbox", source, at), source, at);
    a.area = e.contains("area") ? to_number(e["area"], "area", source, at) : a.bbox.w * a.bbox.h;
    a.iscrowd = to_flag(e, "iscrowd", source, at);
    a.ignore = to_flag(e, "ignore", source, at);
    d.annotations.push_back(a);
  }
  if (check) d.validate();
  return d;
}

Dataset read_coco_dataset(const std::string& path) { return parse_coco_dataset(read_text_file(path), path); }

std::string coco_dataset_json(const Dataset& d) {
  json root = json::object();
  json images = json::array(), cats = json::array(), anns = json::array();
  for (const DatasetImage& im : d.images)
    images.push_back({{"id", im.id}, {"file_name", im.file_name}, {"width", im.width}, {"height", im.height}});
  for (const DatasetCategory& c : d.categories) cats.push_back({{"id", c.id}, {"name", c.name}});
  for (const DatasetAnnotation& a : d.annotations) {
    json e = {{"id", a.id},
              {"image_id", a.image_id},
              {"category_id", a.category_id},
              {"bbox", {a.bbox.x, a.bbox.y, a.bbox.w, a.bbox.h}},
              {"area", a.area},
              {"iscrowd", a.iscrowd ? 1 : 0}};
    if (a.ignore) e["ignore"] = 1;
    anns.push_back(std::move(e));
  }
  root["images"] = std::move(images);
  root["categories"] = std::move(cats);
  root["annotations"] = std::move(anns);
  return root.dump() + "\n";
}

void write_coco_dataset(const Dataset& d, const std::string& path) {
  write_text_file_atomic(path, coco_dataset_json(d));
}

std::vector<EvalDetection> parse_coco_detections(const std::string& text, const std::string& source,
                                             const Dataset& gt) {
  json root = parse(text, source);
  VEDGE_CHECK(root.is_array(), source, ": expected a JSON list of detections (COCO results format)");
  auto imgs = gt.image_index(), cats = gt.category_index();
  std::vector<EvalDetection> out;
  out.reserve(root.size());
  for (size_t i = 0; i < root.size(); ++i) {
    const json& e = root[i];
    std::string at = "detection " + std::to_string(i);
    EvalDetection d;
    d.image_id = to_id(need(e, "image_id", source, at), "image_id", source, at);
    VEDGE_CHECK(imgs.count(d.image_id), source, ": ", at, ": unknown image id ", d.image_id, " (not in ",
                gt.source, ")");
    d.category_id = to_id(need(e, "category_id", source, at), "category_id", source, at);
    VEDGE_CHECK(cats.count(d.category_id), source, ": ", at, ": unknown category id ", d.category_id,
                " (not in ", gt.source, ")");
    d.bbox = to_box(need(e, "bbox", source, at), source, at);
    const json& s = need(e, "score", source, at);
    VEDGE_CHECK(s.is_number() && std::isfinite(s.get<double>()), source, ": ", at,
                ": \"score\" must be a finite number (NaN or infinity given)");
    d.score = s.get<double>();
    out.push_back(d);
  }
  return out;
}

std::vector<EvalDetection> read_coco_detections(const std::string& path, const Dataset& gt) {
  return parse_coco_detections(read_text_file(path), path, gt);
}

}  // namespace vedge
