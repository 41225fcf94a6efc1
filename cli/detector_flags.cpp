#include "cli/detector_flags.h"

namespace vedge::cli {

void declare_detector_flags(Flags& f, const std::string& prefix) {
  f.flag("spec", "", prefix + "detector spec JSON (default: model metadata, then MODEL.vedge.json)")
      .flag("score-thresh", "", prefix + "minimum score (default: the spec's)")
      .flag("iou-thresh", "", prefix + "NMS IoU threshold (default: the spec's)")
      .flag("max-detections", "", prefix + "detections kept per image after NMS (default: the spec's)")
      .boolean("class-agnostic", prefix + "one NMS over all classes instead of one per class")
      .flag("threads", "1", prefix + "threads for the network");
}

std::unique_ptr<Detector> load_detector(const Flags& f, const std::string& model) {
  SessionOptions so;
  so.num_threads = f.integer("threads", 1, 256);
  return std::make_unique<Detector>(model, f.str("spec"), so);
}

DetectOptions detect_options(const Flags& f) {
  DetectOptions opt;
  if (f.has("score-thresh")) opt.score_threshold = static_cast<float>(f.number("score-thresh", 0, 1));
  if (f.has("iou-thresh")) opt.iou_threshold = static_cast<float>(f.number("iou-thresh", 0, 1));
  if (f.has("max-detections")) opt.max_detections = f.integer("max-detections", 1, 100000);
  if (f.has("class-agnostic")) opt.class_agnostic = f.on("class-agnostic");
  return opt;
}

}  // namespace vedge::cli
