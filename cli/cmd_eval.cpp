// vedge eval: score detections against COCO ground truth, with COCO's 12
// numbers or Pascal VOC AP, a per-class table and an optional JSON report.
// The detections come from a file made elsewhere (--detections, COCO results
// format, against COCO --gt) or from running MODEL over the images of a
// dataset in any format data/load.h reads (--data, --format, --images)
// exactly as `vedge detect` would.
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/dataset_flags.h"
#include "cli/detector_flags.h"
#include "cli/flags.h"
#include "data/coco.h"
#include "runtime/error.h"
#include "tools/eval/coco_eval.h"
#include "tools/eval/detect_dataset.h"
#include "tools/eval/voc_eval.h"
#include "runtime/files.h"

namespace vedge::cli {
namespace {

// "-" for a class without ground truth (-1).
std::string num(double v) {
  if (v <= -1) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

void print_coco(const CocoEvalResult& r) {
  std::printf("%d images, %d ground-truth boxes (non-crowd), %d detections\n", r.num_images, r.num_gt,
              r.num_det);
  std::printf("%s\n", r.summary().c_str());
  std::printf("%-6s %-20s %6s %6s %8s %8s %8s\n", "id", "class", "gt", "dets", "AP", "AP50", "AP75");
  for (const CocoClassResult& c : r.classes)
    std::printf("%-6lld %-20.20s %6d %6d %8s %8s %8s\n", static_cast<long long>(c.category_id), c.name.c_str(),
                c.num_gt, c.num_det, num(c.ap).c_str(), num(c.ap50).c_str(), num(c.ap75).c_str());
}

void print_voc(const VocEvalResult& all, const VocEvalResult& eleven) {
  std::printf("Pascal VOC, IoU > %.2f: mAP (all-point) = %s, mAP (11-point, VOC2007) = %s\n\n",
              all.options.iou_threshold, num(all.map).c_str(), num(eleven.map).c_str());
  std::printf("%-6s %-20s %6s %6s %10s %10s\n", "id", "class", "gt", "dets", "AP(all)", "AP(11pt)");
  for (size_t i = 0; i < all.classes.size(); ++i) {
    const VocClassResult& c = all.classes[i];
    std::printf("%-6lld %-20.20s %6d %6d %10s %10s\n", static_cast<long long>(c.category_id), c.name.c_str(),
                c.num_gt, c.num_det, num(c.ap).c_str(), num(eleven.classes[i].ap).c_str());
  }
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  Flags f("vedge eval",
          "vedge eval --detections DETS.json --gt GT.json [options]\n"
          "       vedge eval MODEL --data DATASET [--format coco|voc|yolo] [--images DIR] [options]");
  f.flag("detections", "", "detections in the COCO results format ([{image_id, category_id, bbox, score}])")
      .flag("gt", "", "ground truth: a COCO instances JSON file")
      .flag("data", "", "with MODEL: the dataset (COCO JSON, VOC or YOLO folder; --gt works too)")
      .flag("save-detections", "", "with MODEL: also write the detections in the COCO results format")
      .flag("metric", "coco", "coco (the 12 COCO numbers) or voc (Pascal VOC AP at IoU 0.5)")
      .flag("json", "", "also write the full result (per class, PR curves) to this JSON file");
  declare_dataset_flags(f, "with MODEL: ");
  declare_detector_flags(f, "with MODEL: ");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  std::string metric = f.str("metric");
  VEDGE_CHECK(metric == "coco" || metric == "voc", "vedge eval: --metric must be coco or voc, not '", metric,
              "'");
  Dataset gt;
  std::vector<EvalDetection> dets;
  if (f.positional().empty()) {
    VEDGE_CHECK(f.has("detections") && f.has("gt"), "vedge eval: --detections and --gt are both required");
    const std::string dataset_flag = given_dataset_flag(f);
    VEDGE_CHECK(dataset_flag.empty(), "vedge eval: --", dataset_flag, " goes with MODEL --data (--gt is COCO JSON)");
    gt = read_coco_dataset(f.str("gt"));
    VEDGE_CHECK(!gt.annotations.empty(), gt.source, ": dataset has no boxes");
    dets = read_coco_detections(f.str("detections"), gt);
  } else {
    VEDGE_CHECK(f.positional().size() == 1, "vedge eval: expected one MODEL, got ", f.positional().size());
    VEDGE_CHECK(f.has("data") || f.has("gt"), "vedge eval: MODEL needs --data DATASET");
    VEDGE_CHECK(!f.has("detections"), "vedge eval: give MODEL or --detections, not both");
    LoadReport problems;
    gt = load_dataset_from_flags(f, f.has("data") ? f.str("data") : f.str("gt"), &problems);
    print_load_problems(problems, "vedge eval");
    VEDGE_CHECK(!gt.annotations.empty(), gt.source, ": dataset has no boxes");
    std::unique_ptr<Detector> detector = load_detector(f, f.positional()[0]);
    const DetectOptions opt = detect_options(f);
    DatasetDetections run = detect_dataset(*detector, gt, opt);
    for (const auto& [label, n] : run.unmatched_labels)
      std::fprintf(stderr, "vedge eval: note: %d '%s' boxes dropped (no such category in %s)\n", n,
                   label.c_str(), gt.source.c_str());
    dets = std::move(run.detections);
    if (f.has("save-detections")) {
      nlohmann::json out = nlohmann::json::array();
      for (const EvalDetection& d : dets)
        out.push_back({{"image_id", d.image_id},
                       {"category_id", d.category_id},
                       {"bbox", {d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h}},
                       {"score", d.score}});
      write_text_file_atomic(f.str("save-detections"), out.dump(1) + "\n");
    }
  }
  nlohmann::json report;
  if (metric == "coco") {
    CocoEvalResult r = evaluate_coco(gt, dets);
    print_coco(r);
    report = coco_eval_to_json(r);
  } else {
    VocEvalResult all = evaluate_voc(gt, dets, {false, 0.5});
    VocEvalResult eleven = evaluate_voc(gt, dets, {true, 0.5});
    print_voc(all, eleven);
    report = {{"metric", "voc"}, {"all_point", voc_eval_to_json(all)}, {"eleven_point", voc_eval_to_json(eleven)}};
  }
  if (f.has("json")) {
    report["gt"] = gt.source;
    if (f.positional().empty()) report["detections_file"] = f.str("detections");
    else report["model"] = f.positional()[0];
    write_text_file_atomic(f.str("json"), report.dump(1) + "\n");
  }
  return 0;
}

}  // namespace vedge::cli
