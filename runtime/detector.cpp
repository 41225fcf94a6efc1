// detector.cpp: Detector and post-processing (see detector.h).
// Depends on runtime/ headers and nlohmann/json only.
#include "runtime/detector.h"

#include <chrono>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/onnx_import.h"
#include "runtime/quant_math.h"
#include "runtime/shape_inference.h"
#include "runtime/tflite_import.h"

namespace vedge {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// [x, x + n) quantized into dst (uint8 or int8): ONNX QuantizeLinear,
// saturating to T's range (runtime/quant_math.h).
template <typename T>
void quantize_into(const float* x, size_t n, float scale, int32_t zero_point, T* dst) {
  constexpr int qmin = std::numeric_limits<T>::min(), qmax = std::numeric_limits<T>::max();
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(quantize_to(x[i], scale, zero_point, qmin, qmax));
}

// ONNX DequantizeLinear of n values into dst.
template <typename T>
void dequantize_into(const T* q, size_t n, float scale, int32_t zero_point, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = dequantize(q[i], scale, zero_point);
}

}  // namespace

DetectThresholds resolve_thresholds(const DetectThresholds& d, const DetectOptions& o) {
  DetectThresholds t = d;
  if (o.score_threshold) t.score = *o.score_threshold;
  if (o.iou_threshold) t.iou = *o.iou_threshold;
  if (o.max_detections) t.max_detections = *o.max_detections;
  if (o.top_k) t.top_k = *o.top_k;
  if (o.class_agnostic) t.class_agnostic = *o.class_agnostic;
  VEDGE_CHECK(t.score >= 0 && t.score < 1, "score threshold ", t.score, " is outside [0, 1)");
  VEDGE_CHECK(t.iou > 0 && t.iou <= 1, "IoU threshold ", t.iou, " is outside (0, 1]");
  VEDGE_CHECK(t.max_detections > 0, "max detections must be positive, got ", t.max_detections);
  VEDGE_CHECK(t.top_k > 0, "top-k must be positive, got ", t.top_k);
  return t;
}

std::vector<Detection> postprocess_detections(const DetectorSpec& spec,
                                              const std::vector<float>& anchors,
                                              const float* boxes, const float* scores,
                                              int64_t num_anchors, int num_classes,
                                              const BoxTransform& to_pixels,
                                              const DetectThresholds& th,
                                              PostprocessScratch& s, StageTimes* times) {
  VEDGE_CHECK(static_cast<int64_t>(anchors.size()) == num_anchors * 4, "postprocess: ",
              anchors.size() / 4, " anchors for ", num_anchors, " box rows");
  const auto t0 = Clock::now();
  ScoreFilter f;
  f.activation = spec.activation;
  f.background = spec.background;
  f.threshold = th.score;
  f.top_k = th.top_k;
  f.per_class_top_k = !th.class_agnostic;
  select_candidates(scores, num_anchors, num_classes, f, s.candidates, &s.select, /*sort=*/false);
  const auto t1 = Clock::now();
  NmsOptions n;
  n.iou_threshold = th.iou;
  n.max_detections = th.max_detections;
  n.class_agnostic = th.class_agnostic;
  const BoxCoder& coder = spec.coder;
  nms_lazy(
      s.candidates, n,
      [&](Candidate& c) {
        const size_t a = static_cast<size_t>(c.anchor) * 4;
        coder.decode(boxes + a, anchors.data() + a, c.box);
        to_pixels.apply(c.box);
      },
      s.kept, s.nms);
  std::vector<Detection> out;
  out.reserve(s.kept.size());
  for (const Candidate& c : s.kept) {
    Detection d;
    d.class_id = c.class_id;
    d.label = c.class_id < static_cast<int>(spec.labels.size()) ? spec.labels[c.class_id]
                                                                 : std::to_string(c.class_id);
    d.score = c.score;
    for (int i = 0; i < 4; ++i) d.bbox[i] = c.box[i];
    out.push_back(std::move(d));
  }
  if (times) {
    times->decode_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    times->nms_ms = ms_since(t1);
  }
  return out;
}

namespace {

std::shared_ptr<DetectorModel> make_model(Graph g, const std::string& model_path,
                                          const std::string& spec_path) {
  auto m = std::make_shared<DetectorModel>();
  m->spec = resolve_detector_spec(model_path, g.metadata, spec_path);
  const DetectorShapes shapes = validate_detector_spec(m->spec, g);
  m->anchors = generate_anchors(m->spec.anchors, m->spec.input.width, m->spec.input.height);
  m->model_path = model_path;
  m->graph = std::move(g);
  m->num_anchors = shapes.num_anchors;
  m->num_classes = shapes.num_classes;
  return m;
}

}  // namespace

std::shared_ptr<const DetectorModel> load_detector_model(Graph g, const std::string& model_path,
                                                         const std::string& spec_path) {
  return make_model(std::move(g), model_path, spec_path);
}

Graph import_detector_graph(const std::string& model_path) {
  if (!is_tflite_file(model_path)) return import_onnx_file(model_path);
  for (const TfliteOpInfo& op : read_tflite_info_file(model_path).ops)
    if (op.op == "TFLite_Detection_PostProcess")
      fail(model_path, ": ends with TFLite_Detection_PostProcess (in-graph NMS); the Detector decodes and ",
           "suppresses boxes itself: use the model exported without --nms-in-graph");
  TfliteImportOptions opt;
  opt.numbers = TfliteNumbers::Integer;
  opt.nchw_inputs = true;
  return import_tflite_file(model_path, nullptr, opt);
}

std::shared_ptr<const DetectorModel> load_detector_model(const std::string& model_path,
                                                         const std::string& spec_path) {
  return load_detector_model(import_detector_graph(model_path), model_path, spec_path);
}

Graph batched_graph(const Graph& g, int64_t n) {
  VEDGE_CHECK(n >= 1, g.source, ": batch size must be positive, got ", n);
  Graph b = g;
  if (n == 1) return b;
  const std::string model = g.source.empty() ? "model" : g.source;
  for (int id : b.inputs) {
    Shape& s = b.values[static_cast<size_t>(id)].shape;
    VEDGE_CHECK(!s.empty() && s[0] == 1, model, ": input '", b.values[static_cast<size_t>(id)].name,
                "' is ", shape_str(s), ", not a batch of one");
  }
  for (Node& node : b.nodes) {
    auto cannot = [&](const std::string& why) {
      fail(model, ": cannot run in batches: node ", node.label(), " ", why);
    };
    if (node.op == "Reshape") {
      std::vector<int64_t> shape = node.attrs.get_ints("shape");
      if (shape.empty() || shape[0] != 1) cannot("folds the batch axis into another axis");
      shape[0] = n;
      node.attrs.set("shape", shape);
    } else if ((node.op == "Concat" || node.op == "Softmax") && node.attrs.get_i("axis") == 0) {
      cannot("works across the batch axis");
    } else if (node.op == "Transpose") {
      const std::vector<int64_t> perm = node.attrs.get_ints("perm");
      if (perm.empty() || perm[0] != 0) cannot("moves the batch axis");
    }
    // Resize keeps the output shape it was given: give it the batch.
    for (int out : node.outputs) {
      Shape& s = b.values[static_cast<size_t>(out)].shape;
      if (!s.empty() && s[0] == 1) s[0] = n;
    }
  }
  for (int id : b.inputs) b.values[static_cast<size_t>(id)].shape[0] = n;
  infer_shapes(b);
  // Every activation must be the batch-1 one with n in front.
  for (const Node& node : b.nodes)
    for (int out : node.outputs) {
      Shape want = g.values[static_cast<size_t>(out)].shape;
      if (!want.empty() && want[0] == 1) want[0] = n;
      const Shape& got = b.values[static_cast<size_t>(out)].shape;
      if (got != want)
        fail(model, ": cannot run in batches: node ", node.label(), " gives ", shape_str(got),
             " for a batch of ", n, ", expected ", shape_str(want));
    }
  return b;
}

Detector::Detector() = default;
Detector::~Detector() = default;

Detector::Detector(const std::string& model_path, const std::string& spec_path,
                   const SessionOptions& opt) {
  load(model_path, spec_path, opt);
}

Detector::Detector(std::shared_ptr<const DetectorModel> model, const SessionOptions& opt,
                   int max_batch) {
  init(std::move(model), opt, max_batch);
}

void Detector::load(const std::string& model_path, const std::string& spec_path,
                    const SessionOptions& opt) {
  load(import_detector_graph(model_path), model_path, spec_path, opt);
}

void Detector::load(Graph g, const std::string& model_path, const std::string& spec_path,
                    const SessionOptions& opt) {
  // A Detector of its own: its one Session takes the graph (no second copy
  // of the weights); the model keeps the metadata.
  std::shared_ptr<DetectorModel> model = make_model(std::move(g), model_path, spec_path);
  std::vector<Batch> sessions;
  sessions.push_back(make_batch(std::move(model->graph), *model, opt, 1));
  model->graph = Graph{};
  model->graph.metadata = sessions[0].session->graph().metadata;
  model->graph.source = model_path;
  pre_ = std::make_unique<Preprocessor>(model->spec.input);
  sessions_ = std::move(sessions);
  model_ = std::move(model);
  size_scratch();
}

Detector::Batch Detector::make_batch(Graph g, const DetectorModel& m, const SessionOptions& opt,
                                     int b) {
  const DetectorSpec& spec = m.spec;
  Batch s;
  s.session = std::make_unique<Session>(std::move(g), opt);
  s.input = s.session->input_index(spec.input.name);
  s.boxes = s.session->output_index(spec.boxes_output);
  s.scores = s.session->output_index(spec.scores_output);
  VEDGE_CHECK(s.input >= 0 && s.boxes >= 0 && s.scores >= 0, m.model_path,
              ": the session lost the detector's input or outputs");
  for (int o : {s.boxes, s.scores})
    VEDGE_CHECK(b == 1 || s.session->output_info(o).shape.size() == 3, m.model_path,
                ": cannot run in batches: output '", s.session->output_info(o).name,
                "' has no batch axis");
  auto format = [&](const Value& v, const char* what) {
    IoFormat f;
    f.dtype = v.dtype;
    if (v.dtype == DType::F32) return f;
    VEDGE_CHECK(v.dtype == DType::U8 || v.dtype == DType::I8, m.model_path, ": ", what, " '", v.name,
                "' is ", dtype_name(v.dtype), ", expected float32, uint8 or int8");
    const QuantParams& q = v.quant;
    VEDGE_CHECK(q.present(), m.model_path, ": ", what, " '", v.name, "' is ", dtype_name(v.dtype),
                " but has no quantization parameters (scale, zero point)");
    VEDGE_CHECK(q.scale.size() == 1 && q.zero_point.size() <= 1, m.model_path, ": ", what, " '", v.name,
                "' is quantized per channel; a detector needs one scale and zero point");
    VEDGE_CHECK(std::isfinite(q.scale[0]) && q.scale[0] > 0, m.model_path, ": ", what, " '", v.name,
                "' has quantization scale ", q.scale[0], ", expected a positive number");
    f.scale = q.scale[0];
    f.zero_point = q.zero_point.empty() ? 0 : q.zero_point[0];
    return f;
  };
  s.input_format = format(s.session->input_info(s.input), "input");
  s.boxes_format = format(s.session->output_info(s.boxes), "boxes output");
  s.scores_format = format(s.session->output_info(s.scores), "scores output");
  return s;
}

void Detector::size_scratch() {
  const DetectorModel& m = *model_;
  const Batch& b = sessions_.back();
  const size_t n = sessions_.size(), rows = static_cast<size_t>(m.num_anchors) * n;
  input_f_.assign(b.input_format.is_float() ? 0 : n * 3 * m.spec.input.width * m.spec.input.height, 0.f);
  boxes_f_.assign(b.boxes_format.is_float() ? 0 : rows * 4, 0.f);
  scores_f_.assign(b.scores_format.is_float() ? 0 : rows * static_cast<size_t>(m.num_classes), 0.f);
}

const float* Detector::float_output(const Batch& b, int o, const IoFormat& f, size_t count,
                                    std::vector<float>& scratch) {
  const void* data = b.session->output_data(o);
  if (f.is_float()) return static_cast<const float*>(data);
  if (f.dtype == DType::U8)
    dequantize_into(static_cast<const uint8_t*>(data), count, f.scale, f.zero_point, scratch.data());
  else
    dequantize_into(static_cast<const int8_t*>(data), count, f.scale, f.zero_point, scratch.data());
  return scratch.data();
}

void Detector::init(std::shared_ptr<const DetectorModel> model, const SessionOptions& opt,
                    int max_batch) {
  VEDGE_CHECK(model, "detector: no model");
  VEDGE_CHECK(max_batch >= 1, model->model_path, ": maximum batch must be positive, got ",
              max_batch);
  VEDGE_CHECK(!model->graph.nodes.empty(), model->model_path,
              ": the model's graph was given to a Detector's session");
  std::vector<Batch> sessions;
  for (int b = 1; b <= max_batch; ++b)
    sessions.push_back(make_batch(batched_graph(model->graph, b), *model, opt, b));
  pre_ = std::make_unique<Preprocessor>(model->spec.input);
  sessions_ = std::move(sessions);
  model_ = std::move(model);
  size_scratch();
}

Session& Detector::session() {
  VEDGE_CHECK(model_, "detector: no model loaded");
  return *sessions_[0].session;
}

std::vector<Detection> Detector::detect(const Image& img, const DetectOptions& opt,
                                        StageTimes* times) {
  std::vector<StageTimes> t;
  std::vector<std::vector<Detection>> r = detect_batch({&img}, {opt}, times ? &t : nullptr);
  if (times) *times = t[0];
  return std::move(r[0]);
}

std::vector<std::vector<Detection>> Detector::detect_batch(const std::vector<const Image*>& images,
                                                           const std::vector<DetectOptions>& opts,
                                                           std::vector<StageTimes>* times) {
  VEDGE_CHECK(model_, "detector: no model loaded");
  const size_t n = images.size();
  VEDGE_CHECK(n >= 1 && n <= sessions_.size(), model_->model_path, ": batch of ", n,
              " images, this detector runs 1 to ", sessions_.size());
  VEDGE_CHECK(opts.size() == n, "detect_batch: ", opts.size(), " option sets for ", n, " images");
  const DetectorModel& m = *model_;
  std::vector<DetectThresholds> th;
  for (const DetectOptions& o : opts) th.push_back(resolve_thresholds(m.spec.thresholds, o));
  if (times) times->assign(n, StageTimes{});

  Batch& b = sessions_[n - 1];
  const size_t in_stride = size_t(3) * m.spec.input.width * m.spec.input.height;
  const IoFormat& in_f = b.input_format;
  void* in_data = b.session->input_data(b.input);
  // An integer input is preprocessed into float scratch, then quantized in
  // the same layout (planes or interleaved, as the session stores it).
  float* in = in_f.is_float() ? static_cast<float*>(in_data) : input_f_.data();
  const bool nhwc = b.session->input_is_nhwc(b.input);
  std::vector<BoxTransform> tf(n);
  for (size_t i = 0; i < n; ++i) {
    const auto t = Clock::now();
    float* x = in + i * in_stride;
    tf[i] = pre_->run(*images[i], x, nhwc);
    if (in_f.dtype == DType::U8)
      quantize_into(x, in_stride, in_f.scale, in_f.zero_point, static_cast<uint8_t*>(in_data) + i * in_stride);
    else if (in_f.dtype == DType::I8)
      quantize_into(x, in_stride, in_f.scale, in_f.zero_point, static_cast<int8_t*>(in_data) + i * in_stride);
    if (times) (*times)[i].preprocess_ms = ms_since(t);
  }
  const auto t = Clock::now();
  b.session->run();
  // Integer outputs are dequantized as part of the network's time.
  const size_t rows = n * static_cast<size_t>(m.num_anchors);
  const float* boxes = float_output(b, b.boxes, b.boxes_format, rows * 4, boxes_f_);
  const float* scores =
      float_output(b, b.scores, b.scores_format, rows * static_cast<size_t>(m.num_classes), scores_f_);
  if (times)
    for (StageTimes& st : *times) st.inference_ms = ms_since(t);

  std::vector<std::vector<Detection>> out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = postprocess_detections(m.spec, m.anchors, boxes + i * m.num_anchors * 4,
                                    scores + i * m.num_anchors * m.num_classes, m.num_anchors,
                                    m.num_classes, tf[i], th[i], scratch_,
                                    times ? &(*times)[i] : nullptr);
  return out;
}

std::string detections_to_json(const std::vector<Detection>& dets, int indent) {
  auto round_to = [](float v, double per_unit) {
    return std::round(static_cast<double>(v) * per_unit) / per_unit;
  };
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const Detection& d : dets) {
    nlohmann::ordered_json box = nlohmann::ordered_json::array();
    for (float v : d.bbox) box.push_back(round_to(v, 100));
    a.push_back({{"label", d.label}, {"score", round_to(d.score, 1e6)}, {"bbox", box}});
  }
  return a.dump(indent);
}

}  // namespace vedge
