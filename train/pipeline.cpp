// pipeline.cpp: the stage list of the data -> trained -> exported ->
// evaluated -> benchmarked pipeline and the loop that runs or skips each
// stage (see pipeline.h).
#include "train/pipeline.h"

#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/load.h"
#include "runtime/draw.h"
#include "runtime/error.h"
#include "runtime/image.h"
#include "runtime/tflite_import.h"
#include "tools/bench/machine.h"
#include "tools/bench/bench.h"
#include "tools/eval/detect_dataset.h"
#include "tools/export/tflite_export.h"
#include "tools/quantize/analysis.h"
#include "tools/quantize/quantize.h"
#include "tools/report/report.h"
#include "train/checkpoint.h"
#include "train/export.h"
#include "runtime/files.h"

namespace vedge {
namespace fs = std::filesystem;
namespace {

constexpr const char* kLast = "checkpoints/last.pt";
constexpr const char* kBest = "checkpoints/best.pt";
constexpr const char* kModel = "model.onnx";
constexpr const char* kEval = "eval.json";
constexpr const char* kDetections = "detections";
constexpr const char* kDetectionsJson = "detections/detections.json";
constexpr const char* kReport = "report";
constexpr const char* kQuantReport = "quant-report";
constexpr const char* kState = "pipeline.json";

nlohmann::json read_json(const std::string& path) {
  const std::string text = read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
}

// `out` exists and is at least as new as `in` (an absent `in` is no constraint).
bool up_to_date(const std::string& out, const std::string& in) {
  std::error_code ec;
  if (!fs::is_regular_file(out, ec)) return false;
  if (!fs::exists(in, ec)) return true;
  return fs::last_write_time(out, ec) >= fs::last_write_time(in, ec);
}

// The settings a stage's output was made with, beyond its input files, in
// stamps/<stage>.txt: a different value re-runs the stage.
std::string stamp_path(const PipelineRun& r, const std::string& stage) { return r.path("stamps/" + stage + ".txt"); }

bool stamp_matches(const PipelineRun& r, const std::string& stage, const std::string& settings) {
  return fs::is_regular_file(stamp_path(r, stage)) && read_text_file(stamp_path(r, stage)) == settings;
}

// The quantize section as a quantize stage uses it (FP16 reads none of it).
std::string quantize_settings(Precision p, const QuantizeConfig& q) {
  if (p != Precision::INT8) return std::string(precision_name(p)) + "\n";
  std::ostringstream o;
  o << "method " << q.method << "\npercentile " << q.percentile << "\nsamples " << q.samples << "\nactivations "
    << q.activations << "\nmax_map_drop " << q.max_map_drop << "\n";
  return o.str();
}

// The weights that are exported: the best validation epoch, else the last.
std::string exported_checkpoint(const PipelineRun& r) {
  return fs::exists(r.path(kBest)) ? r.path(kBest) : r.path(kLast);
}

bool training_finished(const PipelineRun& r) {
  if (!fs::exists(r.path(kLast))) return false;
  const TrainState s = read_checkpoint_meta(r.path(kLast)).state;
  return s.epoch >= r.cfg.epochs || s.stopped_early;
}

const TrainingData& training_data(PipelineRun& r) {
  if (r.data.labels.empty()) r.data = prepare_training_data(r.cfg, r.dir, r.opt.progress);
  return r.data;
}

std::string synthetic_dir(const PipelineRun& r) {
  return r.cfg.synthetic.dir.empty() ? r.path("data") : r.cfg.synthetic.dir;
}

CocoEvalResult evaluate_on_val(PipelineRun& r, const std::string& model) {
  auto it = r.evals.find(model);
  if (it != r.evals.end()) return it->second;
  const Dataset& val = training_data(r).val;
  SessionOptions so;
  so.num_threads = r.opt.eval_threads;
  Detector det(model, "", so);
  DatasetDetections run = detect_dataset(det, val, r.eval_options());
  for (const auto& [label, n] : run.unmatched_labels)
    if (r.opt.log)
      std::fprintf(r.opt.log, "pipeline: note: %d '%s' boxes dropped (no such category in %s)\n", n, label.c_str(),
                   val.source.c_str());
  return r.evals[model] = evaluate_coco(val, run.detections);
}

// The first `n` val images (dataset order) that exist.
std::vector<std::string> sample_images(PipelineRun& r, int n) {
  const Dataset& val = training_data(r).val;
  std::vector<std::string> out;
  for (const DatasetImage& im : val.images) {
    if (static_cast<int>(out.size()) >= n) break;
    out.push_back(image_path(val, im));
  }
  return out;
}

// --- stages -----------------------------------------------------------------

PipelineStage dataset_stage() {
  PipelineStage s;
  s.name = "dataset";
  s.what = "generate the synthetic train/val splits, or load the configured datasets";
  s.done = [](const PipelineRun& r) {
    // A stamp that no longer matches the settings makes the next load
    // regenerate; a changed configuration is refused before this anyway.
    const std::string d = synthetic_dir(r);
    return r.cfg.synthetic.enabled && fs::exists(d + "/shapes.stamp") && fs::exists(d + "/train.json") &&
           fs::exists(d + "/val.json");
  };
  s.run = [](PipelineRun& r) {
    const TrainingData& d = training_data(r);
    if (r.opt.log)
      std::fprintf(r.opt.log, "pipeline: train %zu images / %zu boxes, val %zu images / %zu boxes, %zu classes\n",
                   d.train.images.size(), d.train.annotations.size(), d.val.images.size(), d.val.annotations.size(),
                   d.labels.size() - 1);
  };
  return s;
}

PipelineStage train_stage() {
  PipelineStage s;
  s.name = "train";
  s.what = "train the detector (resumes from checkpoints/last.pt)";
  s.done = training_finished;
  s.run = [](PipelineRun& r) {
    TrainOptions to;
    to.out_dir = r.dir;
    to.resume = true;  // a fresh start when there is no checkpoint yet
    to.progress = r.opt.progress;
    to.export_onnx = false;  // the export stage does it
    to.log = r.opt.log;
    train_detector(r.cfg, to);
  };
  return s;
}

PipelineStage export_stage() {
  PipelineStage s;
  s.name = "export";
  s.what = "export the best checkpoint to FP32 ONNX with the detector metadata";
  s.variant = {"fp32", kModel};
  s.done = [](const PipelineRun& r) { return up_to_date(r.path(kModel), exported_checkpoint(r)); };
  s.run = [](PipelineRun& r) {
    const std::string ckpt = exported_checkpoint(r);
    const CheckpointMeta meta = read_checkpoint_meta(ckpt);
    SSDLite model = build_model(r.cfg, meta.labels.size(), /*apply_init=*/false);
    load_checkpoint(ckpt, model, nullptr, /*restore_rng=*/false);
    export_onnx(model, meta.labels, r.path(kModel));
    r.evals.clear();
  };
  return s;
}

// A quantized variant of model.onnx (`vedge quantize`): FP16 weights, or
// INT8 QDQ calibrated on the train split.
PipelineStage quantize_stage(Precision precision, const std::string& file) {
  PipelineStage s;
  s.name = precision_name(precision);
  s.what = precision == Precision::FP16
               ? "model.onnx -> " + file + " (float16 weights, as `vedge quantize --precision fp16`)"
               : "model.onnx -> " + file + " (QDQ calibrated on the train split, as `vedge quantize`; " +
                     "with quantize.max_map_drop, mixed precision on the val split)";
  s.variant = {precision_name(precision), file};
  s.done = [precision, file, name = s.name](const PipelineRun& r) {
    return up_to_date(r.path(file), r.path(kModel)) && stamp_matches(r, name, quantize_settings(precision, r.cfg.quantize));
  };
  s.run = [precision, file, name = s.name](PipelineRun& r) {
    const QuantizeConfig& qc = r.cfg.quantize;
    QuantizeOptions o;
    o.qdq.precision = precision;
    o.qdq.activations = qc.activations == "uint8" ? DType::U8 : DType::I8;
    o.calib.method = parse_calib_method(qc.method);
    o.calib.percentile = qc.percentile;
    o.calib_set.samples = qc.samples;
    if (precision == Precision::INT8) {
      const Dataset& train = training_data(r).train;
      o.calib_path = train.source;
      o.calib_set.images_dir = train.image_root;
    }
    o.progress = r.opt.progress;
    QuantizeResult q = quantize_model(r.path(kModel), o);
    if (precision == Precision::INT8 && qc.max_map_drop > 0) {
      const Dataset& val = training_data(r).val;
      AnalysisOptions a;
      a.val_path = val.source;
      a.val_images_dir = val.image_root;
      a.max_map_drop = qc.max_map_drop;
      a.detect = r.eval_options();
      a.threads = r.opt.eval_threads;
      a.report_dir = r.path(kQuantReport);
      a.progress = r.opt.progress;
      a.print_summary = r.opt.log != nullptr;
      a.command = r.opt.command;
      q = analyze_quantization(std::move(q), a);
    }
    write_quantized(q, r.path(file));
    write_text_file_atomic(stamp_path(r, name), quantize_settings(precision, qc));
    if (r.opt.log)
      std::fprintf(r.opt.log, "pipeline: %s %.2f MB (%.2fx of model.onnx)\n", file.c_str(),
                   fs::file_size(r.path(file)) / 1e6,
                   double(fs::file_size(r.path(file))) / double(fs::file_size(r.path(kModel))));
  };
  return s;
}

// A TFLite variant (`vedge convert --to tflite`): fp32 / fp16 / dynamic from
// model.onnx; int8 from model-int8.onnx, so it keeps that file's
// quantization (the int8 stage's calibration ranges, mixed precision
// included) instead of calibrating again.
PipelineStage tflite_stage(Precision precision, const std::string& source, const std::string& file) {
  PipelineStage s;
  s.name = std::string("tflite-") + precision_name(precision);
  s.what = source + " -> " + file + " (" + precision_name(precision) + ", as `vedge convert --to tflite`)";
  s.variant = {s.name, file};
  s.done = [source, file](const PipelineRun& r) { return up_to_date(r.path(file), r.path(source)); };
  s.run = [precision, source, file](PipelineRun& r) {
    TfliteExportOptions o;
    o.precision = precision;
    o.progress = r.opt.progress;
    const TfliteExportResult x = export_tflite(r.path(source), r.path(file), o);
    if (r.opt.log)
      std::fprintf(r.opt.log, "pipeline: %s %.2f MB (%.2fx of model.onnx)\n", file.c_str(), x.bytes / 1e6,
                   double(x.bytes) / double(fs::file_size(r.path(kModel))));
  };
  return s;
}

PipelineStage eval_stage() {
  PipelineStage s;
  s.name = "eval";
  s.what = "evaluate model.onnx in the runtime on the val split (as `vedge eval MODEL --data`)";
  s.done = [](const PipelineRun& r) { return up_to_date(r.path(kEval), r.path(kModel)); };
  s.run = [](PipelineRun& r) {
    const CocoEvalResult e = evaluate_on_val(r, r.path(kModel));
    const Dataset& val = training_data(r).val;
    const DetectOptions o = r.eval_options();
    nlohmann::json j = coco_eval_to_json(e);
    j["model"] = r.path(kModel);
    j["gt"] = val.source;
    j["images_dir"] = val.image_root;
    j["options"] = {{"score_thresh", *o.score_threshold},
                    {"iou_thresh", *o.iou_threshold},
                    {"max_detections", *o.max_detections},
                    {"threads", r.opt.eval_threads}};
    write_text_file_atomic(r.path(kEval), j.dump(1) + "\n");
    if (r.opt.log)
      std::fprintf(r.opt.log, "pipeline: val mAP@0.5 %.4f, mAP@[.5:.95] %.4f (%d images, %d detections)\n",
                   e.stats[1], e.stats[0], e.num_images, e.num_det);
  };
  return s;
}

PipelineStage detect_stage() {
  PipelineStage s;
  s.name = "detect";
  s.what = "detect on sample val images with boxes drawn (as `vedge detect --draw`)";
  s.done = [](const PipelineRun& r) { return up_to_date(r.path(kDetectionsJson), r.path(kModel)); };
  s.run = [](PipelineRun& r) {
    SessionOptions so;
    so.num_threads = r.opt.eval_threads;
    Detector det(r.path(kModel), "", so);
    DetectOptions o;  // the spec's thresholds unless a sample threshold is given
    if (r.opt.sample_score_threshold > 0) o.score_threshold = r.opt.sample_score_threshold;
    fs::create_directories(r.path(kDetections));
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const std::string& path : sample_images(r, r.opt.sample_images)) {
      Image img = decode_image_file(path);
      const std::vector<Detection> dets = det.detect(img, o);
      draw_detections(img, dets);
      const std::string out = r.path(std::string(kDetections) + "/" + fs::path(path).stem().string() + ".jpg");
      write_image(out, img);
      all.push_back({{"image", path},
                     {"drawn", out},
                     {"detections", nlohmann::ordered_json::parse(detections_to_json(dets))}});
    }
    write_text_file_atomic(r.path(kDetectionsJson), all.dump(1) + "\n");  // last: marks the stage complete
    if (r.opt.log) std::fprintf(r.opt.log, "pipeline: %zu images drawn into %s\n", all.size(), r.path(kDetections).c_str());
  };
  return s;
}

// A TFLite variant's row: its size always; its latency and mAP through our
// runtime when the runtime can run the file (a network, resp. a detector),
// else the row's note says what was not measured and why.
void measure_tflite(PipelineRun& r, const BenchOptions& bo, ReportVariant& v) {
  std::vector<std::string> notes;
  try {
    v.bench = run_bench(v.path, bo);
  } catch (const Error& e) {
    const FileSizes sizes = file_sizes(v.path);
    v.bench = BenchResult{};
    v.bench.model = v.path;
    v.bench.threads = bo.threads;
    v.bench.warmup = bo.warmup;
    v.bench.file_bytes = sizes.bytes;
    v.bench.deflate_bytes = sizes.deflate_bytes;
    notes.push_back(std::string("latency not measured: the runtime cannot run this file (") + e.what() + ")");
  }
  try {
    v.eval = evaluate_on_val(r, v.path);
  } catch (const Error& e) {
    notes.push_back(std::string("mAP not measured: the runtime's Detector cannot load this file (") + e.what() +
                    ")");
  }
  for (const std::string& n : notes) v.note += (v.note.empty() ? "" : "; ") + n;
  if (r.opt.log && !v.note.empty()) std::fprintf(r.opt.log, "pipeline: %s: %s\n", v.name.c_str(), v.note.c_str());
}

PipelineStage report_stage() {
  PipelineStage s;
  s.name = "report";
  s.what = "benchmark and score every model variant -> report.md / .json / .html";
  s.done = [](const PipelineRun& r) {
    for (const PipelineVariant& v : r.variants)
      if (!up_to_date(r.path(std::string(kReport) + "/report.json"), r.path(v.file))) return false;
    return true;
  };
  s.run = [](PipelineRun& r) {
    Report report;
    const std::vector<std::string> sample = sample_images(r, 1);
    for (const PipelineVariant& pv : r.variants) {
      ReportVariant v;
      v.name = pv.name;
      v.path = r.path(pv.file);
      BenchOptions bo;
      bo.warmup = r.opt.bench_warmup;
      bo.runs = r.opt.bench_runs;
      bo.threads = r.opt.bench_threads;
      if (!sample.empty()) bo.image_path = sample[0];
      bo.progress = r.opt.progress;
      if (!is_tflite_file(v.path)) {
        v.bench = run_bench(v.path, bo);
        v.eval = evaluate_on_val(r, v.path);
      } else {
        measure_tflite(r, bo, v);
      }
      report.variants.push_back(std::move(v));
    }
    report.context = current_report_context(r.opt.command, r.opt.version);
    ReportContext& c = report.context;
    c.versions.emplace_back("LibTorch (training)", TORCH_VERSION);
    c.dataset = training_data(r).val.source;
    c.images = training_data(r).val.image_root;
    write_report(report, r.path(kReport));
    if (r.opt.log)
      std::fprintf(r.opt.log, "pipeline: wrote %s/report.md, report.json, report.html\n", r.path(kReport).c_str());
  };
  return s;
}

// --- bookkeeping --------------------------------------------------------------

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string format_seconds(double s) {
  char b[32];
  if (s < 60) std::snprintf(b, sizeof b, "%.1f s", s);
  else std::snprintf(b, sizeof b, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return b;
}

// The summary's numbers, read back from the run folder's files so that a
// run that skipped stages reports the same figures as the one that made them.
void fill_summary(const PipelineRun& r, PipelineSummary& s) {
  s.dir = r.dir;
  s.config = r.path("config.yaml");
  s.dataset = r.cfg.synthetic.enabled ? synthetic_dir(r) : r.cfg.train_data.path + " + " + r.cfg.val_data.path;
  s.checkpoint = exported_checkpoint(r);
  s.model = r.path(kModel);
  s.eval_json = r.path(kEval);
  s.detections = r.path(kDetections);
  s.report = r.path(std::string(kReport) + "/report.html");
  const TrainState st = read_checkpoint_meta(r.path(kLast)).state;
  s.epochs = st.epoch;
  s.best_val_map50 = st.best_map50;
  double ips = 0;
  for (const EpochMetrics& m : st.history) ips += m.images_per_second;
  s.train_images_per_second = st.history.empty() ? 0 : ips / static_cast<double>(st.history.size());
  const nlohmann::json e = read_json(r.path(kEval));
  s.map50 = e.at("stats").at("AP50").get<double>();
  s.map = e.at("stats").at("AP").get<double>();
  const nlohmann::json rep = read_json(r.path(std::string(kReport) + "/report.json"));
  if (!rep.at("variants").empty()) {
    // The FP32 model end to end, also when the table compares the network
    // alone (TFLite variants are timed as networks).
    const nlohmann::json& v0 = rep.at("variants")[0];
    const nlohmann::json& stages = v0.at("bench").value("stages", nlohmann::json::object());
    s.latency_p50_ms = stages.contains("total") ? stages.at("total").at("p50").get<double>()
                                                : v0.at("row").at("p50_ms").get<double>();
  }
  for (const StageRecord& st2 : s.stages)
    if (st2.name == "train") s.train_seconds = st2.total_seconds;
}

void write_state(const PipelineRun& r, const PipelineSummary& s) {
  nlohmann::ordered_json j;
  j["config"] = r.cfg.source;
  j["stages"] = nlohmann::ordered_json::array();
  for (const StageRecord& st : s.stages)
    j["stages"].push_back(
        {{"name", st.name}, {"skipped", st.skipped}, {"seconds", st.seconds}, {"total_seconds", st.total_seconds}});
  if (s.map50 >= 0)
    j["summary"] = {{"val_map50", s.map50},
                    {"val_map", s.map},
                    {"best_val_map50_libtorch", s.best_val_map50},
                    {"epochs", s.epochs},
                    {"train_seconds", s.train_seconds},
                    {"train_images_per_second", s.train_images_per_second},
                    {"latency_p50_ms", s.latency_p50_ms},
                    {"model", s.model},
                    {"eval", s.eval_json},
                    {"report", s.report}};
  write_text_file_atomic(r.path(kState), j.dump(1) + "\n");
}

// Stage -> total seconds recorded by earlier runs of this folder.
std::map<std::string, double> previous_totals(const std::string& path) {
  std::map<std::string, double> out;
  if (!fs::exists(path)) return out;
  try {
    for (const auto& st : read_json(path).at("stages"))
      out[st.at("name").get<std::string>()] = st.at("total_seconds").get<double>();
  } catch (const nlohmann::json::exception&) {
    // An unreadable record only loses earlier timings.
  }
  return out;
}

}  // namespace

DetectOptions PipelineRun::eval_options() const {
  DetectOptions o;
  o.score_threshold = cfg.eval.score_threshold;
  o.iou_threshold = cfg.eval.iou_threshold;
  o.max_detections = cfg.eval.max_detections;
  return o;
}

std::vector<PipelineStage> pipeline_stages(const TrainConfig& cfg) {
  std::vector<PipelineStage> s = {dataset_stage(), train_stage(), export_stage()};
  if (cfg.quantize.fp16) s.push_back(quantize_stage(Precision::FP16, "model-fp16.onnx"));
  if (cfg.quantize.int8) s.push_back(quantize_stage(Precision::INT8, "model-int8.onnx"));
  const TfliteExportConfig& t = cfg.export_.tflite;
  if (t.fp32) s.push_back(tflite_stage(Precision::FP32, kModel, "model.tflite"));
  if (t.fp16) s.push_back(tflite_stage(Precision::FP16, kModel, "model-fp16.tflite"));
  if (t.dynamic) s.push_back(tflite_stage(Precision::Dynamic, kModel, "model-dynamic.tflite"));
  if (t.int8 && cfg.quantize.int8) s.push_back(tflite_stage(Precision::INT8, "model-int8.onnx", "model-int8.tflite"));
  for (PipelineStage st : {eval_stage(), detect_stage(), report_stage()}) s.push_back(std::move(st));
  return s;
}

PipelineSummary run_pipeline(const TrainConfig& cfg, const PipelineOptions& opt) {
  VEDGE_CHECK(!opt.out_dir.empty(), "pipeline: a run folder is required");
  PipelineRun r;
  r.cfg = cfg;
  r.opt = opt;
  r.dir = opt.out_dir;
  fs::create_directories(r.dir);
  if (fs::exists(r.path(kLast))) {
    const CheckpointMeta meta = read_checkpoint_meta(r.path(kLast));
    // Only what decides the trained weights must match: a changed quantize
    // or export section re-runs just the stages it feeds.
    VEDGE_CHECK(training_yaml(meta.config_yaml) == training_yaml(cfg.yaml), r.dir,
                ": holds a run of a different training configuration (see its config.yaml); pick another --out or "
                "remove the folder");
  }
  const std::vector<PipelineStage> stages = pipeline_stages(cfg);
  for (const PipelineStage& st : stages)
    if (!st.variant.name.empty()) r.variants.push_back(st.variant);

  const std::map<std::string, double> before = previous_totals(r.path(kState));
  PipelineSummary summary;
  const auto t_all = std::chrono::steady_clock::now();
  for (size_t i = 0; i < stages.size(); ++i) {
    const PipelineStage& st = stages[i];
    StageRecord rec;
    rec.name = st.name;
    rec.total_seconds = before.count(st.name) ? before.at(st.name) : 0;
    rec.skipped = st.done(r);
    if (opt.log)
      std::fprintf(opt.log, "pipeline [%zu/%zu] %s: %s%s\n", i + 1, stages.size(), st.name.c_str(), st.what.c_str(),
                   rec.skipped ? " -- up to date, skipped" : "");
    if (!rec.skipped) {
      const auto t0 = std::chrono::steady_clock::now();
      st.run(r);
      rec.seconds = seconds_since(t0);
      rec.total_seconds += rec.seconds;
      if (opt.log) std::fprintf(opt.log, "pipeline [%zu/%zu] %s: done in %s\n", i + 1, stages.size(), st.name.c_str(),
                                format_seconds(rec.seconds).c_str());
    }
    summary.stages.push_back(rec);
    write_state(r, summary);
  }
  fill_summary(r, summary);
  write_state(r, summary);
  if (opt.log) std::fprintf(opt.log, "pipeline: finished in %s\n", format_seconds(seconds_since(t_all)).c_str());
  return summary;
}

std::string format_pipeline_summary(const PipelineSummary& s) {
  std::ostringstream o;
  char b[256];
  o << "== pipeline summary: " << s.dir << "\n";
  std::snprintf(b, sizeof b, "  val mAP@0.5        %.4f   (model.onnx in the runtime)\n", s.map50);
  o << b;
  std::snprintf(b, sizeof b, "  val mAP@[.5:.95]   %.4f\n", s.map);
  o << b;
  std::snprintf(b, sizeof b, "  training           %lld epochs, %s, %.1f img/s (best val mAP@0.5 in training %.4f)\n",
                static_cast<long long>(s.epochs), format_seconds(s.train_seconds).c_str(), s.train_images_per_second,
                s.best_val_map50);
  o << b;
  if (s.latency_p50_ms >= 0) {
    std::snprintf(b, sizeof b, "  latency p50        %.2f ms end to end (FP32, see the report)\n", s.latency_p50_ms);
    o << b;
  }
  o << "  stages            ";
  for (const StageRecord& st : s.stages)
    o << " " << st.name << " " << (st.skipped ? "skipped" : format_seconds(st.seconds));
  o << "\n";
  o << "  config             " << s.config << "\n"
    << "  dataset            " << s.dataset << "\n"
    << "  checkpoint         " << s.checkpoint << "\n"
    << "  model              " << s.model << "\n"
    << "  eval               " << s.eval_json << "\n"
    << "  detections         " << s.detections << "/\n"
    << "  report             " << s.report << "\n";
  return o.str();
}

}  // namespace vedge
