// yolo.h: YOLO txt annotations <-> Dataset. One labels/<stem>.txt per image
// (images/<stem>.jpg; subfolders of images/ are mirrored under labels/): one
// object a line, "class cx cy w h", class a 0-based index into the names,
// the box normalized by the image size (0..1). Class
// names come from data.yaml ("names:" as a list or a {index: name} map) or a
// names file (classes.txt, obj.names, names.txt: one a line). Image sizes are
// read from the image headers (data/image_probe.h). An image without a label
// file has no objects; a label file without an image is a missing image.
// The writer uses 8 decimals: a round trip is exact to 1e-8 of the image size.
// Crowd and ignore flags cannot be represented. Depends on data/load_common.h,
// data/image_probe.h, data/files.h and yaml-cpp.
#pragma once

#include <cstddef>
#include <string>

#include "data/dataset.h"
#include "data/files.h"
#include "data/load.h"

namespace vedge {

// path: a data.yaml (the split's images folder = the `options.split` key,
// relative to its `path:` key or its folder); a folder holding data.yaml; a
// folder with images/ and labels/ (images/<split>/ when images/ has only
// subfolders); or an images folder itself (labels found by replacing its last
// "images" path component with "labels"). Category id = class index + 1.
Dataset read_yolo_dataset(const std::string& path, const LoadOptions& options = {}, LoadReport* report = nullptr);

// The labels folder of an images folder: its last "images" path component
// replaced by "labels" (<parent>/labels when there is none).
std::string yolo_labels_dir(const std::string& images_dir);

// Writes out_dir/images/<file_name>, out_dir/labels/<file stem>.txt and
// out_dir/data.yaml (train and val: images; names in category order; class
// index = position in d.categories). Crowd and ignored boxes are not written;
// returns how many were left out.
size_t write_yolo_dataset(const Dataset& d, const std::string& out_dir, ImageCopyMode mode = ImageCopyMode::Copy);

}  // namespace vedge
