// voc.cpp: Pascal VOC XML reader and writer (voc.h). Depends on data/xml.h,
// data/load_common.h, data/files.h, runtime/error.h.
#include "data/voc.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "data/load_common.h"
#include "data/xml.h"
#include "runtime/error.h"

namespace vedge {
namespace fs = std::filesystem;
namespace {

std::string num(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char b[32];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

double number(const XmlNode& parent, const char* key, const std::string& file) {
  const XmlNode* n = parent.child(key);
  VEDGE_CHECK(n, file, ":", parent.line, ": <", parent.name, "> has no <", key, ">");
  const char* s = n->text.c_str();
  char* end = nullptr;
  double v = std::strtod(s, &end);
  VEDGE_CHECK(!n->text.empty() && end && *end == '\0' && std::isfinite(v), file, ":", n->line, ": <", key,
              "> is not a finite number: '", n->text, "'");
  return v;
}

struct VocObject {
  std::string name;
  BoxXYWH box;
  bool difficult = false;
  int line = 0;
};

}  // namespace

Dataset read_voc_dataset(const std::string& path, const LoadOptions& options, LoadReport* report) {
  std::error_code ec;
  fs::path root(path), xml_dir;
  std::vector<fs::path> files;
  if (fs::is_regular_file(root, ec)) {
    files.push_back(root);
    xml_dir = root.parent_path();
    root = xml_dir.filename() == "Annotations" ? xml_dir.parent_path() : xml_dir;
  } else {
    VEDGE_CHECK(fs::is_directory(root, ec), path, ": no such file or folder");
    xml_dir = fs::is_directory(root / "Annotations", ec) ? root / "Annotations" : root;
    for (auto it = fs::recursive_directory_iterator(xml_dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_regular_file() && it->path().extension() == ".xml") files.push_back(it->path());
    VEDGE_CHECK(!ec, xml_dir.string(), ": cannot list folder: ", ec.message());
    std::sort(files.begin(), files.end());
    VEDGE_CHECK(!files.empty(), xml_dir.string(), ": no .xml annotation files (not a Pascal VOC folder?)");
  }
  ParsedDataset p;
  p.d.source = path;
  if (!options.images_dir.empty())
    p.d.image_root = options.images_dir;
  else
    p.d.image_root = fs::is_directory(root / "JPEGImages", ec) ? (root / "JPEGImages").string() : xml_dir.string();

  std::vector<std::string> class_list;
  bool fixed_classes = fs::is_regular_file(root / "classes.txt", ec);
  if (fixed_classes) class_list = read_name_list((root / "classes.txt").string());

  // Parse every file first (names decide the category ids).
  struct VocFile {
    DatasetImage image;
    std::string file;
    std::vector<VocObject> objects;
  };
  std::vector<VocFile> parsed;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string file = files[i].string();
    try {
      XmlNode doc = parse_xml(read_text_file(file), file);
      VEDGE_CHECK(doc.name == "annotation", file, ":", doc.line, ": root element is <", doc.name,
                  ">, expected <annotation>");
      VocFile vf;
      vf.file = file;
      vf.image.id = static_cast<int64_t>(i) + 1;
      const XmlNode* fn = doc.child("filename");
      VEDGE_CHECK(fn && !fn->text.empty(), file, ":", doc.line, ": <annotation> has no <filename>");
      vf.image.file_name = fn->text;
      if (const XmlNode* size = doc.child("size")) {
        double w = number(*size, "width", file), h = number(*size, "height", file);
        VEDGE_CHECK(w >= 0 && h >= 0 && w < 1e6 && h < 1e6 && w == std::floor(w) && h == std::floor(h), file,
                    ":", size->line, ": bad image size ", w, "x", h);
        vf.image.width = static_cast<int>(w);
        vf.image.height = static_cast<int>(h);
      }
      for (const XmlNode* o : doc.children_named("object")) {
        try {
          VocObject obj;
          obj.line = o->line;
          const XmlNode* name = o->child("name");
          VEDGE_CHECK(name && !name->text.empty(), file, ":", o->line, ": <object> has no <name>");
          obj.name = name->text;
          const XmlNode* bb = o->child("bndbox");
          VEDGE_CHECK(bb, file, ":", o->line, ": <object> has no <bndbox>");
          double x0 = number(*bb, "xmin", file), y0 = number(*bb, "ymin", file);
          double x1 = number(*bb, "xmax", file), y1 = number(*bb, "ymax", file);
          obj.box = {x0 - 1, y0 - 1, x1 - x0 + 1, y1 - y0 + 1};
          if (const XmlNode* d = o->child("difficult")) {
            VEDGE_CHECK(d->text == "0" || d->text == "1", file, ":", d->line, ": <difficult> must be 0 or 1, not '",
                        d->text, "'");
            obj.difficult = d->text == "1";
          }
          vf.objects.push_back(obj);
        } catch (const Error& e) {
          load_problem(options, report, e.what());
          if (report) ++report->skipped_boxes;
        }
      }
      parsed.push_back(std::move(vf));
    } catch (const Error& e) {
      load_problem(options, report, e.what());
      if (report) ++report->skipped_images;
    }
  }

  if (!fixed_classes) {
    std::set<std::string> names;
    for (const VocFile& vf : parsed)
      for (const VocObject& o : vf.objects) names.insert(o.name);
    class_list.assign(names.begin(), names.end());
  }
  std::map<std::string, int64_t> class_id;
  for (size_t i = 0; i < class_list.size(); ++i) {
    VEDGE_CHECK(class_id.emplace(class_list[i], int64_t(i) + 1).second, (root / "classes.txt").string(),
                ": class '", class_list[i], "' listed twice");
    p.d.categories.push_back({int64_t(i) + 1, class_list[i]});
  }
  for (const VocFile& vf : parsed) {
    p.d.images.push_back(vf.image);
    p.image_where.push_back(vf.file);
    for (const VocObject& o : vf.objects) {
      std::string where = vf.file + ":" + std::to_string(o.line);
      auto it = class_id.find(o.name);
      if (it == class_id.end()) {
        load_problem(options, report, where + ": unknown class '" + o.name + "' (not in classes.txt)");
        if (report) ++report->skipped_boxes;
        continue;
      }
      DatasetAnnotation a;
      a.id = static_cast<int64_t>(p.d.annotations.size()) + 1;
      a.image_id = vf.image.id;
      a.category_id = it->second;
      a.bbox = o.box;
      a.area = o.box.w * o.box.h;
      a.ignore = o.difficult;
      p.d.annotations.push_back(a);
      p.ann_where.push_back(where);
    }
  }
  finish_loading(p, options, report);
  return p.d;
}

size_t write_voc_dataset(const Dataset& d, const std::string& out_dir, ImageCopyMode mode) {
  fs::path out(out_dir);
  auto cats = d.category_index();
  std::map<int64_t, std::vector<const DatasetAnnotation*>> by_image;
  for (const DatasetAnnotation& a : d.annotations) by_image[a.image_id].push_back(&a);
  std::string classes;
  for (const DatasetCategory& c : d.categories) {
    VEDGE_CHECK(!c.name.empty() && c.name.find('\n') == std::string::npos, d.source, ": category ", c.id,
                " has an empty or multi-line name");
    classes += c.name + "\n";
  }
  size_t crowd = 0;
  std::set<std::string> stems;
  for (const DatasetImage& im : d.images) {
    VEDGE_CHECK(!im.file_name.empty(), d.source, ": image ", im.id, " has no file name");
    fs::path rel = fs::path(im.file_name).replace_extension(".xml");
    VEDGE_CHECK(stems.insert(rel.string()).second, d.source, ": two images map to Annotations/", rel.string());
    std::ostringstream x;
    x << "<annotation>\n  <folder>JPEGImages</folder>\n  <filename>" << xml_escape(im.file_name)
      << "</filename>\n  <size>\n    <width>" << im.width << "</width>\n    <height>" << im.height
      << "</height>\n    <depth>3</depth>\n  </size>\n";
    for (const DatasetAnnotation* a : by_image[im.id]) {
      const BoxXYWH& b = a->bbox;
      bool difficult = a->ignore || a->iscrowd;
      crowd += a->iscrowd;
      x << "  <object>\n    <name>" << xml_escape(d.categories[cats.at(a->category_id)].name)
        << "</name>\n    <difficult>" << (difficult ? 1 : 0) << "</difficult>\n    <bndbox>\n      <xmin>"
        << num(b.x + 1) << "</xmin>\n      <ymin>" << num(b.y + 1) << "</ymin>\n      <xmax>" << num(b.x + b.w)
        << "</xmax>\n      <ymax>" << num(b.y + b.h) << "</ymax>\n    </bndbox>\n  </object>\n";
    }
    x << "</annotation>\n";
    write_text_file_atomic((out / "Annotations" / rel).string(), x.str());
    place_image_file(image_path(d, im), (out / "JPEGImages" / im.file_name).string(), mode);
  }
  write_text_file_atomic((out / "classes.txt").string(), classes);
  return crowd;
}

}  // namespace vedge
