// load_common.h: what the format readers share after parsing (internal to
// data/): where each image and box came from ("a.xml:12"), the skip-or-throw
// rule for bad entries, and the common checks (image present and of the
// declared size, box inside the image, category and image references).
// Depends on data/load.h and runtime/error.h.
#pragma once

#include <string>
#include <vector>

#include "data/load.h"

namespace vedge {

struct ParsedDataset {
  Dataset d;
  std::vector<std::string> image_where;  // one per d.images
  std::vector<std::string> ann_where;    // one per d.annotations
};

// Throws vedge::Error(msg) unless options.skip_bad; then records it.
void load_problem(const LoadOptions& options, LoadReport* report, const std::string& msg);

// The checks every reader ends with (see load.h), dropping bad entries under
// skip_bad, then Dataset::validate().
void finish_loading(ParsedDataset& p, const LoadOptions& options, LoadReport* report);

// Image files (.jpg .jpeg .png .bmp, any case) in `dir` (and its subfolders
// when `recursive`), as sorted paths relative to `dir` ("a.jpg", "sub/b.png").
std::vector<std::string> list_image_files(const std::string& dir, bool recursive = false);

// Class names, one per non-empty line (trailing spaces and CR dropped), as in
// VOC's and YOLO's classes.txt / obj.names files; an empty list is an error.
std::vector<std::string> read_name_list(const std::string& path);

}  // namespace vedge
