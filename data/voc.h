// voc.h: Pascal VOC XML annotations <-> Dataset. One .xml per image
// (annotation/filename, size/width+height, object/name, object/bndbox,
// object/difficult), read with the strict XML subset of xml.h.
//
// Coordinate convention: VOC xmin/ymin/xmax/ymax are 1-based pixel indices,
// both ends inclusive, so the box covers pixel edges [xmin - 1, xmax]:
//   x = xmin - 1, y = ymin - 1, w = xmax - xmin + 1, h = ymax - ymin + 1
// and the writer inverts this exactly (xmin = x + 1, xmax = x + w). Numbers
// are written with up to 10 significant digits (integers exactly), so a
// round trip is exact to ~1e-6 px. difficult=1 -> DatasetAnnotation::ignore.
// Depends on data/xml.h, data/load_common.h, data/files.h.
#pragma once

#include <cstddef>
#include <string>

#include "data/dataset.h"
#include "data/files.h"
#include "data/load.h"

namespace vedge {

// path: a folder with Annotations/ (and JPEGImages/), a folder of .xml files
// or one .xml file. Class list: <root>/classes.txt (one name a line) when
// present, and then any other name is an unknown class; else the sorted set
// of names found. See load.h for the checks and options.
Dataset read_voc_dataset(const std::string& path, const LoadOptions& options = {}, LoadReport* report = nullptr);

// Writes out_dir/Annotations/<file stem>.xml per image, out_dir/classes.txt
// and the images into out_dir/JPEGImages/<file_name> (per `mode`). VOC has no
// crowd flag: crowd boxes are written as difficult; returns how many were.
size_t write_voc_dataset(const Dataset& d, const std::string& out_dir, ImageCopyMode mode = ImageCopyMode::Copy);

}  // namespace vedge
