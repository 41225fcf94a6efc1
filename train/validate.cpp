// validate.cpp: validation through the runtime's preprocessing and
// post-processing (see validate.h).
#include "train/validate.h"

#include "data/load.h"
#include "runtime/error.h"
#include "runtime/image.h"
#include "runtime/preprocess.h"
#include "tools/common/progress.h"

namespace vedge {

std::vector<EvalDetection> detect_with_model(SSDLite& model, const DetectorSpec& spec, const Dataset& data,
                                             const std::unordered_map<int64_t, int64_t>& class_category,
                                             const ValidateOptions& opt) {
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  const std::vector<float> anchors = generate_anchors(spec.anchors, spec.input.width, spec.input.height);
  Preprocessor pre(spec.input);
  PostprocessScratch scratch;
  const size_t n = opt.max_images > 0 ? std::min(data.images.size(), static_cast<size_t>(opt.max_images))
                                      : data.images.size();
  const int64_t B = std::max(1, opt.batch_size);
  std::vector<EvalDetection> out;
  ProgressBar bar("validate", static_cast<int64_t>(n), opt.progress ? stderr : nullptr);
  for (size_t start = 0; start < n; start += static_cast<size_t>(B)) {
    const int64_t b = std::min<int64_t>(B, static_cast<int64_t>(n - start));
    torch::Tensor x = torch::empty({b, 3, spec.input.height, spec.input.width}, torch::kFloat);
    std::vector<BoxTransform> tf;
    for (int64_t i = 0; i < b; ++i) {
      const DatasetImage& im = data.images[start + static_cast<size_t>(i)];
      tf.push_back(pre.run(decode_image_file(image_path(data, im)), x[i].data_ptr<float>()));
    }
    auto [boxes, scores] = model->forward(x);
    boxes = boxes.contiguous();
    scores = scores.contiguous();
    const int64_t A = boxes.size(1);
    const int C = static_cast<int>(scores.size(2));
    VEDGE_CHECK(static_cast<int64_t>(anchors.size()) == A * 4, "validate: the model emits ", A,
                " boxes but its spec has ", anchors.size() / 4, " anchors");
    for (int64_t i = 0; i < b; ++i) {
      const int64_t image_id = data.images[start + static_cast<size_t>(i)].id;
      std::vector<Detection> dets =
          postprocess_detections(spec, anchors, boxes[i].data_ptr<float>(), scores[i].data_ptr<float>(), A, C,
                                 tf[static_cast<size_t>(i)], opt.thresholds, scratch);
      for (const Detection& d : dets) {
        auto it = class_category.find(d.class_id);
        if (it == class_category.end()) continue;
        out.push_back({image_id, it->second,
                       BoxXYWH{d.bbox[0], d.bbox[1], d.bbox[2] - d.bbox[0], d.bbox[3] - d.bbox[1]}, d.score});
      }
    }
    bar.update(static_cast<int64_t>(start) + b);
  }
  bar.finish();
  if (was_training) model->train();
  return out;
}

CocoEvalResult validate_model(SSDLite& model, const DetectorSpec& spec, const Dataset& data,
                              const std::unordered_map<int64_t, int64_t>& class_category,
                              const ValidateOptions& opt) {
  std::vector<EvalDetection> dets = detect_with_model(model, spec, data, class_category, opt);
  if (opt.max_images <= 0 || static_cast<size_t>(opt.max_images) >= data.images.size())
    return evaluate_coco(data, dets);
  Dataset subset = data;
  subset.images.resize(static_cast<size_t>(opt.max_images));
  auto keep = subset.image_index();
  subset.annotations.clear();
  for (const DatasetAnnotation& a : data.annotations)
    if (keep.count(a.image_id)) subset.annotations.push_back(a);
  return evaluate_coco(subset, dets);
}

}  // namespace vedge
