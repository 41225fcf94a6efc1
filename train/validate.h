// validate.h: validation mAP of an SSDLite in training, scored exactly as a
// deployed detector would be: each image goes through the runtime's
// Preprocessor, the LibTorch network, then the runtime's post-processing
// (runtime/detector.h postprocess_detections: score filter, BoxCoder
// decoding and NMS), and the boxes are scored by tools/eval (COCO rules).
// Depends on LibTorch, train/model.h, runtime/, data/ and tools/eval.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "data/dataset.h"
#include "runtime/detector.h"
#include "tools/eval/coco_eval.h"
#include "train/model.h"

namespace vedge {

struct ValidateOptions {
  DetectThresholds thresholds;  // score threshold typically low (0.01) for mAP
  int batch_size = 8;
  int max_images = 0;  // 0 = all
  bool progress = false;
};

// class_category: score column (1..C-1) -> dataset category id. The model
// is run in eval mode and left in the mode it was in.
std::vector<EvalDetection> detect_with_model(SSDLite& model, const DetectorSpec& spec, const Dataset& data,
                                             const std::unordered_map<int64_t, int64_t>& class_category,
                                             const ValidateOptions& opt);

// detect_with_model + evaluate_coco on the same images (a subset when
// max_images is set). Throws when the data has no boxes.
CocoEvalResult validate_model(SSDLite& model, const DetectorSpec& spec, const Dataset& data,
                              const std::unordered_map<int64_t, int64_t>& class_category,
                              const ValidateOptions& opt);

}  // namespace vedge
