// load.h: one entry point that reads a detection dataset in any supported
// format (COCO JSON, Pascal VOC XML, YOLO txt) into a Dataset, detecting the
// format from the path, and resolves image files. With skip_bad, bad entries
// (missing image, box outside the image, unknown class, malformed line) are
// skipped and counted instead of failing. Depends on data/dataset.h,
// data/coco.h, data/voc.h, data/yolo.h and runtime/error.h; no LibTorch.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace vedge {

enum class DatasetFormat { Auto, Coco, Voc, Yolo };

// "auto", "coco", "voc", "yolo" <-> DatasetFormat; parse throws on others.
DatasetFormat parse_dataset_format(const std::string& name);
const char* dataset_format_name(DatasetFormat f);

// What detection resolves `path` to (never Auto), first match wins: a .json
// file is COCO, .yaml/.yml YOLO, .xml VOC; a folder with Annotations/ is VOC,
// with labels/ or data.yaml YOLO, with one .json (or instances.json) COCO,
// with .xml files VOC; an images folder with a sibling labels folder (see
// yolo.h) YOLO. Throws when unsure.
DatasetFormat detect_dataset_format(const std::string& path);

constexpr double kBoxTolerance = 1.0;

struct LoadOptions {
  DatasetFormat format = DatasetFormat::Auto;
  // Folder the image file names are relative to; empty = the format's default
  // (COCO: the first of <json dir>, <json dir>/images, <json dir>/<stem>/images,
  // <json dir>/<stem>, <json dir>/../images/<stem without "instances_">,
  // <json dir>/../images that holds one of the first 8 images; VOC:
  // <root>/JPEGImages or the .xml folder; YOLO: the images folder).
  std::string images_dir;
  // YOLO data.yaml (or a YOLO folder with split subfolders): which split's
  // images to read ("train", "val", "test").
  std::string split = "train";
  // false: the first bad entry throws vedge::Error naming the file and the
  // line/entry. true: bad images/boxes are dropped, counted in LoadReport.
  bool skip_bad = false;
  // Read each image's header (not its pixels) to check that it exists, is a
  // decodable JPEG/PNG/BMP and, for COCO/VOC, has the size the annotation
  // says. YOLO always reads the headers (it needs the sizes).
  bool check_images = true;
};

struct LoadReport {
  size_t skipped_images = 0, skipped_boxes = 0;
  std::vector<std::string> problems;  // one line per skipped entry
};

// path: a COCO .json (or a folder holding one, e.g. a converted dataset's
// instances.json); a VOC folder (Annotations/ + JPEGImages/, or a folder of
// .xml files) or one .xml; a YOLO folder (images/ + labels/ with data.yaml or
// classes.txt/names file beside them) or its data.yaml. Boxes are checked to
// lie inside their image (kBoxTolerance pixels for rounding: a box that
// exceeds the image by no more than that is clipped; more is an error) and to
// be non-empty. Categories keep the source ids (COCO) or are numbered 1.. in
// names order (VOC: classes.txt beside Annotations/ when present, else the
// sorted names found; YOLO: class index + 1). Image ids: COCO's, else 1.. in
// sorted file order. Dataset::image_root is set.
Dataset load_dataset(const std::string& path, const LoadOptions& options = {},
                     LoadReport* report = nullptr);

// The file of `im`: image_root / file_name (file_name as is when absolute or
// when image_root is empty).
std::string image_path(const Dataset& d, const DatasetImage& im);

}  // namespace vedge
