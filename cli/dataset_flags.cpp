// dataset_flags.cpp: the shared dataset flags (see dataset_flags.h).
// Depends on cli/flags.h and data/load.h only.
#include "cli/dataset_flags.h"

#include <cstdio>

namespace vedge::cli {
namespace {

const char* const kNames[] = {"format", "images", "split", "skip-bad", "no-check-images"};

}  // namespace

void declare_dataset_flags(Flags& f, const std::string& prefix) {
  f.flag("format", "auto", prefix + "dataset format: auto, coco, voc or yolo")
      .flag("images", "", prefix + "folder the image file names are relative to (default: found from the layout)")
      .flag("split", "train", prefix + "YOLO data.yaml: which split's images to read")
      .boolean("skip-bad", prefix + "skip bad images/boxes (missing image, box outside, unknown class, "
                                    "malformed line) and count them instead of failing")
      .boolean("no-check-images", prefix + "do not read image headers (COCO/VOC: trust the sizes given)");
}

std::string given_dataset_flag(const Flags& f) {
  for (const char* n : kNames)
    if (f.has(n)) return n;
  return "";
}

LoadOptions dataset_load_options(const Flags& f) {
  LoadOptions o;
  o.format = parse_dataset_format(f.str("format"));
  o.images_dir = f.str("images");
  o.split = f.str("split");
  o.skip_bad = f.on("skip-bad");
  o.check_images = !f.on("no-check-images");
  return o;
}

Dataset load_dataset_from_flags(const Flags& f, const std::string& path, LoadReport* report) {
  return load_dataset(path, dataset_load_options(f), report);
}

void print_load_problems(const LoadReport& r, const std::string& command) {
  if (r.problems.empty()) return;
  std::fprintf(stderr, "%s: skipped %zu images and %zu boxes:\n", command.c_str(), r.skipped_images,
               r.skipped_boxes);
  for (const std::string& p : r.problems) std::fprintf(stderr, "  %s\n", p.c_str());
}

}  // namespace vedge::cli
