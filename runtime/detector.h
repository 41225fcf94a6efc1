// detector.h: an SSD-style detector end to end: image -> preprocessing
// (straight into the Session's input buffer) -> network -> score filter,
// top-k, box decoding of the survivors, NMS -> detections in original-image
// pixels. The spec comes from the model's metadata, a sidecar or a file
// (detector_spec.h). A DetectorModel (graph, spec, anchors) is read-only and
// shared; a Detector is one execution context over it (its own Sessions and
// buffers), not thread-safe: run one Detector per thread. A Detector may run
// up to max_batch images through the network at once (detect_batch), on the
// graph with its batch dimension set to the number of images.
// Full-integer models (uint8/int8 image input, int8/uint8 outputs, each with
// per-tensor Value::quant): the image is preprocessed into float scratch and
// quantized into the input buffer (ONNX QuantizeLinear), and integer outputs
// are dequantized into float scratch before decoding.
// Depends on runtime/ only (onnx_import.h, tflite_import.h, executor.h, preprocess.h,
// anchors.h, box_coder.h, nms.h, detector_spec.h); no LibTorch, no OpenCV.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/detector_spec.h"
#include "runtime/executor.h"
#include "runtime/image.h"
#include "runtime/nms.h"
#include "runtime/preprocess.h"

namespace vedge {

struct Detection {
  int class_id = 0;
  std::string label;
  float score = 0;
  float bbox[4] = {0, 0, 0, 0};  // x1, y1, x2, y2 in original-image pixels
};

// decode_ms: score activation, threshold and top-k of the candidates;
// nms_ms: box decoding of the candidates NMS visits (best first) and the
// suppression itself (nms_lazy decodes lazily, so the two share a loop).
struct StageTimes {
  double preprocess_ms = 0, inference_ms = 0, decode_ms = 0, nms_ms = 0;
  double total_ms() const { return preprocess_ms + inference_ms + decode_ms + nms_ms; }
};

// Unset fields take the spec's defaults (DetectorSpec::thresholds).
struct DetectOptions {
  std::optional<float> score_threshold;
  std::optional<float> iou_threshold;
  std::optional<int> max_detections;
  std::optional<int> top_k;
  std::optional<bool> class_agnostic;
};

// Reusable buffers of postprocess_detections().
struct PostprocessScratch {
  std::vector<Candidate> candidates, kept;
  SelectScratch select;
  NmsScratch nms;
};

// Post-processing alone, on raw network outputs: boxes A x 4 SSD offsets,
// scores A x C. Boxes are decoded only for the candidates NMS visits.
// Used by Detector and the benchmarks.
std::vector<Detection> postprocess_detections(const DetectorSpec& spec,
                                              const std::vector<float>& anchors,
                                              const float* boxes, const float* scores,
                                              int64_t num_anchors, int num_classes,
                                              const BoxTransform& to_pixels,
                                              const DetectThresholds& th,
                                              PostprocessScratch& scratch,
                                              StageTimes* times = nullptr);

// The read-only half of a detector, shared by every Detector made from it.
struct DetectorModel {
  std::string model_path;
  DetectorSpec spec;
  // As imported, batch 1. Only metadata and source are left in the model
  // of a Detector made by load() (its Session took the graph).
  Graph graph;
  std::vector<float> anchors;
  int64_t num_anchors = 0;
  int num_classes = 0;
};
// The network of a detector file as a Detector runs it: an ONNX model as
// import_onnx_file gives it; a TFLite model (is_tflite_file) with its image
// input logical NCHW float [1,3,H,W] (or int8/uint8 with Value::quant in a
// full-integer model) and its quantized layers on the integer kernels
// (tflite_import.h: TfliteImportOptions{Integer, nchw_inputs}). A .tflite
// with the in-graph TFLite_Detection_PostProcess is a one-line error.
Graph import_detector_graph(const std::string& model_path);

// spec_path empty: metadata "vedge.detector", else "<model>.vedge.json".
// The path overloads import with import_detector_graph (ONNX or TFLite).
std::shared_ptr<const DetectorModel> load_detector_model(Graph g, const std::string& model_path,
                                                         const std::string& spec_path = "");
std::shared_ptr<const DetectorModel> load_detector_model(const std::string& model_path,
                                                         const std::string& spec_path = "");

// `g` (batch 1) with its batch dimension set to n: every graph input and
// activation [1,...] becomes [n,...] and Reshape targets follow. Throws
// vedge::Error naming the node when the graph mixes images across the batch
// axis (a Concat, Softmax or Transpose over axis 0, a Reshape that folds the
// batch into another axis).
Graph batched_graph(const Graph& g, int64_t n);

class Detector {
 public:
  Detector();
  ~Detector();
  // An execution context over a shared model, with Sessions for every batch
  // size 1..max_batch (created here, so the first request pays no load).
  explicit Detector(std::shared_ptr<const DetectorModel> model, const SessionOptions& opt = {},
                    int max_batch = 1);
  // spec_path empty: metadata "vedge.detector", else "<model>.vedge.json".
  Detector(const std::string& model_path, const std::string& spec_path = "",
           const SessionOptions& opt = {});
  void load(const std::string& model_path, const std::string& spec_path = "",
            const SessionOptions& opt = {});
  // The same with the model already imported (`model_path` names it in
  // messages and locates its sidecar spec).
  void load(Graph g, const std::string& model_path, const std::string& spec_path = "",
            const SessionOptions& opt = {});
  bool loaded() const { return model_ != nullptr; }

  std::vector<Detection> detect(const Image& img, const DetectOptions& opt = {},
                                StageTimes* times = nullptr);
  // 1..max_batch() images through the network as one batch, each with its
  // own options; the same preprocessing and post-processing as detect(), so
  // each image's detections equal detect()'s. times (if given) gets one
  // entry per image; inference_ms is the whole batch's.
  std::vector<std::vector<Detection>> detect_batch(const std::vector<const Image*>& images,
                                                   const std::vector<DetectOptions>& opts,
                                                   std::vector<StageTimes>* times = nullptr);

  const DetectorSpec& spec() const { return model_->spec; }
  const std::shared_ptr<const DetectorModel>& model() const { return model_; }
  Session& session();  // the batch-1 session
  int max_batch() const { return static_cast<int>(sessions_.size()); }
  const std::vector<float>& anchors() const { return model_->anchors; }
  int64_t num_anchors() const { return model_->num_anchors; }
  int num_classes() const { return model_->num_classes; }
  const std::string& model_path() const { return model_->model_path; }

 private:
  // How a graph input/output is stored: float, or integers with their
  // per-tensor quantization (real = (q - zero_point) * scale).
  struct IoFormat {
    DType dtype = DType::F32;
    float scale = 1;
    int32_t zero_point = 0;
    bool is_float() const { return dtype == DType::F32; }
  };
  struct Batch {  // one Session per batch size
    std::unique_ptr<Session> session;
    int input = -1, boxes = -1, scores = -1;
    IoFormat input_format, boxes_format, scores_format;
  };
  void init(std::shared_ptr<const DetectorModel> model, const SessionOptions& opt, int max_batch);
  static Batch make_batch(Graph g, const DetectorModel& m, const SessionOptions& opt, int b);
  void size_scratch();  // the float scratch the integer I/O of sessions_ needs
  // Float view of output o of b (dequantized into `scratch` when integer).
  const float* float_output(const Batch& b, int o, const IoFormat& f, size_t count,
                            std::vector<float>& scratch);

  std::shared_ptr<const DetectorModel> model_;
  std::vector<Batch> sessions_;  // [b - 1] runs b images
  std::unique_ptr<Preprocessor> pre_;
  PostprocessScratch scratch_;
  // Integer I/O only: preprocessed images before quantization, dequantized
  // outputs (sized once for max_batch).
  std::vector<float> input_f_, boxes_f_, scores_f_;
};

DetectThresholds resolve_thresholds(const DetectThresholds& defaults, const DetectOptions& opt);

// [{"label": "face", "score": 0.98, "bbox": [x1, y1, x2, y2]}, ...] — the
// user-facing contract (bbox rounded to 0.01 px, score to 1e-6).
// indent < 0: one line.
std::string detections_to_json(const std::vector<Detection>& dets, int indent = -1);

}  // namespace vedge
