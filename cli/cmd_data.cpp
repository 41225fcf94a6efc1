// vedge data: dataset tools. `convert` reads COCO JSON, Pascal VOC or YOLO
// and writes any of them; `stats` prints images, boxes per class, box-size
// histograms and the problems found; `synth` writes the built-in synthetic
// shapes dataset (train + val). All reading goes through data/load.h
// (cli/dataset_flags.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/dataset_flags.h"
#include "cli/flags.h"
#include "data/coco.h"
#include "data/files.h"
#include "data/load.h"
#include "data/stats.h"
#include "data/synthetic.h"
#include "data/voc.h"
#include "data/yolo.h"
#include "runtime/error.h"
#include "tools/common/progress.h"

namespace vedge::cli {
namespace {

int convert(int argc, char** argv) {
  Flags f("vedge data convert", "vedge data convert SRC --to coco|voc|yolo -o OUT [options]");
  declare_dataset_flags(f);
  f.flag("to", "", "output format: coco (OUT/instances.json + OUT/images/), voc (OUT/Annotations/, "
                   "OUT/JPEGImages/, OUT/classes.txt) or yolo (OUT/images/, OUT/labels/, OUT/data.yaml)")
      .flag("out", "", "output folder (-o works too)")
      .flag("copy-images", "copy", "copy, link (symbolic links) or none");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.positional().size() == 1, "vedge data convert: expected one SRC dataset");
  VEDGE_CHECK(f.has("to") && f.has("out"), "vedge data convert: --to and -o OUT are required");
  DatasetFormat to = parse_dataset_format(f.str("to"));
  VEDGE_CHECK(to != DatasetFormat::Auto, "vedge data convert: --to must be coco, voc or yolo");
  std::string mode_name = f.str("copy-images");
  ImageCopyMode mode = mode_name == "copy"   ? ImageCopyMode::Copy
                       : mode_name == "link" ? ImageCopyMode::Symlink
                       : mode_name == "none" ? ImageCopyMode::None
                                             : (fail("vedge data convert: --copy-images must be copy, link or none, "
                                                     "not '", mode_name, "'"), ImageCopyMode::None);
  LoadReport report;
  Dataset d = load_dataset_from_flags(f, f.positional()[0], &report);
  print_load_problems(report, "vedge data convert");
  namespace fs = std::filesystem;
  fs::path out(f.str("out"));
  size_t lost = 0;
  const char* lost_what = "";
  if (to == DatasetFormat::Coco) {
    for (const DatasetImage& im : d.images)
      place_image_file(image_path(d, im), (out / "images" / im.file_name).string(), mode);
    write_coco_dataset(d, (out / "instances.json").string());
  } else if (to == DatasetFormat::Voc) {
    lost = write_voc_dataset(d, out.string(), mode);
    lost_what = "crowd regions written as difficult objects (VOC has no crowd flag)";
  } else {
    lost = write_yolo_dataset(d, out.string(), mode);
    lost_what = "crowd or ignored boxes left out (YOLO cannot mark them)";
  }
  std::printf("%s -> %s (%s): %zu images, %zu boxes, %zu classes\n", f.positional()[0].c_str(), out.string().c_str(),
              dataset_format_name(to), d.images.size(), d.annotations.size(), d.categories.size());
  if (lost) std::printf("note: %zu %s\n", lost, lost_what);
  return 0;
}

int stats(int argc, char** argv) {
  Flags f("vedge data stats", "vedge data stats SRC [options]");
  declare_dataset_flags(f);
  f.flag("json", "", "also write the statistics (and problems) to this JSON file");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.positional().size() == 1, "vedge data stats: expected one SRC dataset");
  LoadReport report;
  Dataset d = load_dataset_from_flags(f, f.positional()[0], &report);
  DatasetStats s = compute_stats(d);
  std::printf("%s\n%s", d.source.c_str(), format_stats(s).c_str());
  std::printf("\nproblems: %zu (skipped %zu images, %zu boxes)\n", report.problems.size(), report.skipped_images,
              report.skipped_boxes);
  for (const std::string& p : report.problems) std::printf("  %s\n", p.c_str());
  if (f.has("json")) {
    nlohmann::json j = stats_to_json(s);
    j["source"] = d.source;
    j["problems"] = report.problems;
    j["skipped_images"] = report.skipped_images;
    j["skipped_boxes"] = report.skipped_boxes;
    write_text_file_atomic(f.str("json"), j.dump(1) + "\n");
  }
  return 0;
}

int synth(int argc, char** argv) {
  Flags f("vedge data synth", "vedge data synth --out DIR [--train N --val M --seed S]");
  f.flag("out", "", "output folder: DIR/train.json, DIR/train/images/, DIR/val.json, DIR/val/images/")
      .flag("train", "2000", "training images")
      .flag("val", "500", "validation images")
      .flag("seed", "0", "random seed (same seed: byte-identical files)")
      .flag("size", "320", "image width and height")
      .flag("ext", ".jpg", ".jpg or .png");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.has("out"), "vedge data synth: --out DIR is required");
  VEDGE_CHECK(f.positional().empty(), "vedge data synth: unexpected argument '", f.positional()[0], "'");
  ShapesConfig cfg;
  cfg.seed = static_cast<uint64_t>(f.integer("seed", 0, 2147483647));
  cfg.width = cfg.height = f.integer("size", 64, 4096);
  cfg.image_ext = f.str("ext");
  // Object sizes scale with the image (defaults are for 320 x 320).
  double k = cfg.width / 320.0;
  cfg.min_size *= k;
  cfg.max_size *= k;
  cfg.small_min_size = std::max(6.0, cfg.small_min_size * k);
  cfg.min_size = std::max(cfg.min_size, cfg.small_min_size);
  auto t0 = std::chrono::steady_clock::now();
  for (const char* split : {"train", "val"}) {
    cfg.num_images = f.integer(split, 0, 10000000);
    ProgressBar bar(std::string("synth ") + split, cfg.num_images);
    Dataset d = generate_shapes(cfg, f.str("out"), split, [&](int done, int) { bar.update(done); });
    bar.finish();
    std::printf("%s: %zu images, %zu boxes, %zu classes -> %s\n", split, d.images.size(), d.annotations.size(),
                d.categories.size(), d.source.c_str());
  }
  std::printf("done in %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

}  // namespace

int cmd_data(int argc, char** argv) {
  const char* usage =
      "usage: vedge data <convert|stats|synth> [options]   (vedge data <sub> --help)\n"
      "  convert  SRC --to coco|voc|yolo -o OUT   convert between dataset formats\n"
      "  stats    SRC [--json FILE]               images, boxes per class, box sizes, problems\n"
      "  synth    --out DIR [--train N --val M --seed S]   write the synthetic shapes dataset\n";
  if (argc < 1) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  std::string sub = argv[0];
  if (sub == "convert") return convert(argc - 1, argv + 1);
  if (sub == "stats") return stats(argc - 1, argv + 1);
  if (sub == "synth") return synth(argc - 1, argv + 1);
  if (sub == "--help" || sub == "-h" || sub == "help") return std::printf("%s", usage), 0;
  fail("unknown sub-command '", sub, "' (convert, stats or synth)");
}

}  // namespace vedge::cli
