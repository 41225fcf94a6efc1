// tflite_postprocess.h: in-graph SSD post-processing for an exported TFLite
// detector. append_detection_postprocess() turns a converted detector whose
// outputs are `boxes` [1,A,4] (our (dx,dy,dw,dh) offsets) and `scores`
// [1,A,C] into one whose outputs are what a TFLite app expects from the
// TFLite_Detection_PostProcess custom op:
//   detection_boxes [1,M,4] (ymin, xmin, ymax, xmax), normalized to the
//   network input and clipped to [0,1]; detection_classes [1,M] (float class
//   index, background not counted: our class_id - 1 when the background is
//   score column 0); detection_scores [1,M]; num_detections [1] (float);
//   M = max_detections * max_classes_per_detection (regular NMS writes
//   max_classes_per_detection as 1, so M = max_detections); only the first
//   num_detections rows are valid (regular NMS zeroes the rest, fast NMS
//   leaves them unset).
// Appended ops, all float (an INT8 model's integer outputs get a DEQUANTIZE
// first, so the post-processing never runs quantized):
//   input 0: boxes -> [DEQUANTIZE] -> GATHER(axis 2, [1,0,3,2]) = (ty,tx,th,tw)
//            -> MINIMUM(FLT_MAX, FLT_MAX, clamp/size_variance, clamp/size_variance)
//   input 1: scores -> [DEQUANTIZE] -> SOFTMAX | LOGISTIC | nothing (spec activation)
//   input 2: anchors, a float constant [A,4] (ycenter, xcenter, h, w)
//   CUSTOM "TFLite_Detection_PostProcess" -> its boxes -> MINIMUM(1) -> MAXIMUM(0)
// The op's options (a FlexBuffer map): max_detections,
// max_classes_per_detection, detections_per_class, use_regular_nms,
// nms_score_threshold, nms_iou_threshold, num_classes (score columns without
// the background), y_scale, x_scale, h_scale, w_scale.
// The anchors come from runtime/anchors.h generate_anchors (the one anchor
// implementation); y/x_scale = 1 / center_variance, h/w_scale = 1 / size_variance.
//
// How the result relates to our runtime's postprocess_detections (Detector):
// - Box decoding is the same formula; TFLite's op has no clamp on th/tw, so
//   the MINIMUM above applies our box coder's clamp (log(1000/16) on
//   dw * size_variance) before the op: decoded boxes are equal.
// - Score threshold: TFLite keeps score >= threshold, we keep score >
//   threshold; nms_score_threshold is written as the next float above the
//   threshold, so both keep the same scores.
// - use_regular_nms = true (our per-class NMS): TFLite runs NMS per class
//   over all anchors, keeps at most detections_per_class per class, then the
//   best max_detections overall. With detections_per_class >= max_detections
//   (postprocess_options_from_spec) that is the same set as ours. We keep at
//   most thresholds.top_k candidates per class before NMS, TFLite keeps all.
// - use_regular_nms = false (class_agnostic specs): TFLite's "fast" NMS uses
//   each anchor's best class score; with max_classes_per_detection = 1 this
//   keeps the same boxes as our class-agnostic NMS (an anchor's other classes
//   overlap its own box with IoU 1).
// - NMS overlap: TFLite compares the unclipped normalized boxes; we compare
//   boxes clipped to the image, so boxes that stick out of the image can be
//   suppressed differently. Output boxes are clipped to [0,1] here (ours
//   to the image, which equals it for a stretch resize).
// - Ties in score may come out in a different order.
// Depends on tools/export/tflite_model.h, runtime/detector_spec.h,
// runtime/anchors.h, flatbuffers/flexbuffers.h and nlohmann/json (the last
// two in the .cpp only); not on the writer, the converter or any TFLite runtime.
#pragma once

#include <limits>

#include "runtime/detector_spec.h"
#include "tools/export/tflite_model.h"

namespace vedge {

inline constexpr const char* kTfliteDetectionPostprocessOp = "TFLite_Detection_PostProcess";

struct TflitePostprocessOptions {
  int max_detections = 100;
  int max_classes_per_detection = 1;  // use_regular_nms = false only
  int detections_per_class = 100;     // use_regular_nms = true only
  bool use_regular_nms = true;
  // Our semantics: keep score > score_threshold; NMS suppresses IoU > iou_threshold.
  // NaN (the default) takes the spec's thresholds (DetectorSpec::thresholds).
  float score_threshold = std::numeric_limits<float>::quiet_NaN();
  float iou_threshold = std::numeric_limits<float>::quiet_NaN();
};

// The spec's thresholds: max_detections and detections_per_class =
// thresholds.max_detections, use_regular_nms = !thresholds.class_agnostic,
// score/iou thresholds as given.
TflitePostprocessOptions postprocess_options_from_spec(const DetectorSpec& spec);

// Appends the post-processing to `m` (see above) and makes the four
// detection tensors the model's outputs (the raw boxes/scores outputs become
// internal tensors). When m.metadata has "vedge.tflite", its "postprocess"
// becomes true. Throws vedge::Error (one line) when the model does not match
// the spec (missing outputs, shapes not [1,A,4]/[1,A,C], A not the anchor
// count, C not the label count), the background column is neither 0 nor
// absent, an option is out of range (iou not in (0,1], counts < 1), or the
// model already has post-processing.
void append_detection_postprocess(tflite::Model& m, const DetectorSpec& spec,
                                  const TflitePostprocessOptions& opt);

}  // namespace vedge
