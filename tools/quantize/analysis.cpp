// analysis.cpp: the accuracy tools of `vedge quantize` (analysis.h): error
// metrics, per-layer errors of the fake-quantized graph, one-layer-at-a-time
// sensitivity, the mixed-precision search, and the driver that runs them on
// a QuantizeResult. Depends on runtime (executor, quant_lower, onnx_import,
// detector), tools/quantize, tools/eval, tools/export, tools/common and
// data/load.h; no LibTorch.
#include "tools/quantize/analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

#include "data/load.h"
#include "runtime/detector.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/onnx_import.h"
#include "runtime/quant_lower.h"
#include "tools/common/progress.h"
#include "tools/eval/coco_eval.h"
#include "tools/eval/detect_dataset.h"
#include "tools/export/onnx_writer.h"
#include "tools/quantize/quant_report.h"
#include "tools/report/report.h"

namespace vedge {

// ---- error metrics -------------------------------------------------------

void ErrorStats::add(const float* ref, const float* test, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double r = ref[i], t = test[i], d = r - t;
    signal += r * r;
    noise += d * d;
    dot += r * t;
    test_sq += t * t;
    max_abs = std::max(max_abs, std::fabs(d));
  }
  count += n;
}

double ErrorStats::sqnr_db() const {
  if (noise == 0) return std::numeric_limits<double>::infinity();
  if (signal == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

double ErrorStats::cosine() const {
  if (signal == 0 && test_sq == 0) return 1;
  if (signal == 0 || test_sq == 0) return 0;
  return dot / (std::sqrt(signal) * std::sqrt(test_sq));
}

namespace {

LayerError to_layer_error(const ErrorStats& s, std::string value, std::string node, std::string op) {
  LayerError e;
  e.value = std::move(value);
  e.node = std::move(node);
  e.op = std::move(op);
  e.sqnr_db = s.sqnr_db();
  e.cosine = s.cosine();
  e.max_abs = s.max_abs;
  e.elements = s.count;
  return e;
}

// A Session over `g` whose outputs are the graph's own outputs followed by
// `extra` values (by name; a value already an output is not repeated).
// Returns the output index of each extra value.
std::unique_ptr<Session> session_with_outputs(Graph g, const std::vector<std::string>& extra, int threads,
                                              std::vector<int>& extra_index) {
  extra_index.clear();
  for (const std::string& name : extra) {
    const int id = g.find_value(name);
    VEDGE_CHECK(id >= 0, g.source, ": quantization point '", name, "' is not a value of the graph");
    auto it = std::find(g.outputs.begin(), g.outputs.end(), id);
    if (it == g.outputs.end()) {
      g.outputs.push_back(id);
      extra_index.push_back(static_cast<int>(g.outputs.size()) - 1);
    } else {
      extra_index.push_back(static_cast<int>(it - g.outputs.begin()));
    }
  }
  SessionOptions so;
  so.num_threads = std::max(1, threads);
  return std::make_unique<Session>(std::move(g), so);
}

// Float copies of every output of `s` after run().
std::vector<Tensor> float_outputs(const Session& s) {
  std::vector<Tensor> out;
  for (int i = 0; i < s.num_outputs(); ++i) {
    Tensor t = s.output(i);
    VEDGE_CHECK(t.dtype() == DType::F32, "quantization analysis: output '", s.output_info(i).name, "' is ",
                dtype_name(t.dtype()), ", expected float");
    out.push_back(std::move(t));
  }
  return out;
}

void accumulate(ErrorStats& s, const Tensor& ref, const Tensor& test, const std::string& what) {
  VEDGE_CHECK(ref.numel() == test.numel(), "quantization analysis: '", what, "' has ", ref.numel(),
              " elements in the float graph but ", test.numel(), " in the quantized one");
  s.add(ref.data<float>(), test.data<float>(), ref.numel());
}

// The fake-quantized form of a QDQ graph (QdqMode::Simulate semantics).
Graph simulated(Graph qdq) {
  fold_dequantized_constants(qdq);
  qdq.prune();
  return qdq;
}

// Graph outputs of the float graph over every input, computed once and
// compared with many quantized variants.
std::vector<std::vector<Tensor>> run_outputs(const Graph& g, const std::vector<Tensor>& inputs, int threads) {
  std::vector<int> none;
  auto s = session_with_outputs(g, {}, threads, none);
  std::vector<std::vector<Tensor>> out;
  for (const Tensor& x : inputs) {
    s->set_input(0, x);
    s->run();
    out.push_back(float_outputs(*s));
  }
  return out;
}

// Output errors of `qdq` (fake-quantized) against precomputed float outputs.
ErrorAnalysis output_errors(const Graph& qdq, const std::vector<std::vector<Tensor>>& ref,
                            const std::vector<Tensor>& inputs, int threads) {
  std::vector<int> none;
  auto s = session_with_outputs(simulated(qdq), {}, threads, none);
  std::vector<ErrorStats> stats(static_cast<size_t>(s->num_outputs()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    s->set_input(0, inputs[i]);
    s->run();
    for (int o = 0; o < s->num_outputs(); ++o)
      accumulate(stats[o], ref[i].at(o), s->output(o), s->output_info(o).name);
  }
  ErrorAnalysis e;
  e.images = static_cast<int>(inputs.size());
  for (int o = 0; o < s->num_outputs(); ++o) e.outputs.push_back(to_layer_error(stats[o], s->output_info(o).name, "", "output"));
  return e;
}

}  // namespace

ErrorAnalysis measure_errors(const Graph& float_graph, const Graph& qdq_graph, const std::vector<QuantPoint>& points,
                             const std::vector<Tensor>& inputs, int threads) {
  VEDGE_CHECK(!inputs.empty(), "quantization analysis: no input images to measure errors on");
  std::vector<std::string> float_names, dq_names;
  for (const QuantPoint& p : points) {
    float_names.push_back(p.value);
    dq_names.push_back(p.dq_value);
  }
  std::vector<int> fidx, qidx;
  auto fs = session_with_outputs(float_graph, float_names, threads, fidx);
  auto qs = session_with_outputs(simulated(qdq_graph), dq_names, threads, qidx);
  const int nout = static_cast<int>(float_graph.outputs.size());
  VEDGE_CHECK(static_cast<int>(qdq_graph.outputs.size()) == nout, "quantization analysis: the float graph has ",
              nout, " outputs but the quantized one has ", qdq_graph.outputs.size());
  std::vector<ErrorStats> layer(points.size()), out(static_cast<size_t>(nout));
  for (const Tensor& x : inputs) {
    fs->set_input(0, x);
    fs->run();
    qs->set_input(0, x);
    qs->run();
    for (size_t p = 0; p < points.size(); ++p)
      accumulate(layer[p], fs->output(fidx[p]), qs->output(qidx[p]), points[p].value);
    for (int o = 0; o < nout; ++o) accumulate(out[o], fs->output(o), qs->output(o), fs->output_info(o).name);
  }
  ErrorAnalysis e;
  e.images = static_cast<int>(inputs.size());
  for (size_t p = 0; p < points.size(); ++p)
    e.layers.push_back(to_layer_error(layer[p], points[p].value, points[p].node, points[p].op));
  for (int o = 0; o < nout; ++o) e.outputs.push_back(to_layer_error(out[o], fs->output_info(o).name, "", "output"));
  return e;
}

double worst_output_sqnr(const ErrorAnalysis& e) {
  double w = std::numeric_limits<double>::infinity();
  for (const LayerError& o : e.outputs) w = std::min(w, o.sqnr_db);
  return w;
}

// ---- sensitivity ---------------------------------------------------------

void rank_sensitivity(SensitivityResult& s) {
  const bool by_map = s.by_map;
  std::stable_sort(s.ranked.begin(), s.ranked.end(), [by_map](const LayerSensitivity& a, const LayerSensitivity& b) {
    if (by_map && a.map_drop != b.map_drop) return a.map_drop > b.map_drop;
    return a.output_sqnr_db < b.output_sqnr_db;
  });
}

// ---- mixed precision -----------------------------------------------------

MixedPrecisionResult search_mixed_precision(const std::vector<std::string>& ranked, double float_map50,
                                            double budget_points, const MapEvaluator& evaluate) {
  VEDGE_CHECK(std::isfinite(budget_points) && budget_points >= 0,
              "mixed precision: the mAP drop budget must be a non-negative number of points, not ", budget_points);
  MixedPrecisionResult r;
  r.budget = budget_points;
  r.float_map50 = float_map50;
  std::set<std::string> kept;
  MixedPrecisionStep step;
  step.map50 = evaluate(kept);
  step.drop = (float_map50 - step.map50) * 100.0;
  r.steps.push_back(step);
  for (size_t i = 0; i < ranked.size() && r.steps.back().drop > budget_points; ++i) {
    kept.insert(ranked[i]);
    MixedPrecisionStep s;
    s.added = ranked[i];
    s.float_nodes = r.steps.back().float_nodes;
    s.float_nodes.push_back(ranked[i]);
    s.map50 = evaluate(kept);
    s.drop = (float_map50 - s.map50) * 100.0;
    r.steps.push_back(std::move(s));
  }
  r.kept_float = r.steps.back().float_nodes;
  r.met_budget = r.steps.back().drop <= budget_points;
  return r;
}

// ---- the whole analysis --------------------------------------------------

namespace {

// mAP@0.5 of a graph run by the integer runtime exactly as a saved file
// would be: serialized, imported (QDQ lowered to integer ops), Detector,
// detect_dataset, COCO evaluation.
double evaluate_map50(const Graph& g, const std::map<std::string, std::string>& metadata, const Dataset& val,
                      const std::string& name, const AnalysisOptions& opt) {
  ImportOptions io;
  io.qdq = QdqMode::Integer;
  Graph imported = import_onnx_bytes(serialize_onnx(g, metadata), name, io);
  SessionOptions so;
  so.num_threads = std::max(1, opt.threads);
  Detector det(load_detector_model(std::move(imported), name), so);
  DatasetDetections dd = detect_dataset(det, val, opt.detect);
  return evaluate_coco(val, dd.detections).stats[1];
}

// Quantizable layers: the nodes that produce the INT8 points and whose
// precision QdqOptions::float_nodes switches (qdq_builder.h), in graph
// order. An activation split off a Conv ("<conv>_hardswish") follows its
// Conv and is not a layer of its own; nor are the graph input or ops that
// never run quantized (whose outputs get a point only to feed a quantized
// consumer).
std::vector<std::string> quantizable_layers(const std::vector<QuantPoint>& points) {
  static const std::set<std::string> kOps = {"Conv", "GlobalAveragePool", "HardSigmoid", "HardSwish",
                                             "Sigmoid", "Add", "Mul"};
  std::vector<std::string> layers;
  std::set<std::string> seen;
  for (const QuantPoint& p : points) {
    if (p.node.empty() || !kOps.count(p.op) || seen.count(p.node)) continue;
    bool split = false;
    for (const char* suffix : {"_hardswish", "_sigmoid"}) {
      const std::string sfx = suffix;
      if (p.node.size() > sfx.size() && p.node.compare(p.node.size() - sfx.size(), sfx.size(), sfx) == 0 &&
          seen.count(p.node.substr(0, p.node.size() - sfx.size())))
        split = true;
    }
    if (split) continue;
    seen.insert(p.node);
    layers.push_back(p.node);
  }
  return layers;
}

std::string op_of(const std::vector<QuantPoint>& points, const std::string& node) {
  for (const QuantPoint& p : points)
    if (p.node == node) return p.op;
  return "";
}

// The options of a candidate: `base` plus `extra` nodes in float. Any
// point of that candidate without a calibrated range (e.g. after a Reshape
// whose source is now float) is calibrated on r's set first.
QdqOptions with_float(QuantizeResult& r, const QdqOptions& base, const std::set<std::string>& extra) {
  QdqOptions o = base;
  o.float_nodes.insert(extra.begin(), extra.end());
  calibrate_missing(r, quantization_points(r.prepared, o));
  return o;
}

}  // namespace

QuantAnalysis run_quantization_analysis(QuantizeResult& r, const AnalysisOptions& opt) {
  const QdqOptions base = r.options.qdq;
  VEDGE_CHECK(base.precision == Precision::INT8, "vedge quantize: --report, --sensitivity and --max-map-drop need ",
              "--precision int8 (got ", precision_name(base.precision), ")");
  VEDGE_CHECK(!opt.max_map_drop || !opt.val_path.empty(), "vedge quantize: --max-map-drop needs --val DATASET");
  VEDGE_CHECK(opt.error_images > 0, "quantization analysis: error_images must be positive, not ", opt.error_images);
  VEDGE_CHECK(!r.calib.inputs.empty(), "quantization analysis: the calibration set is empty");

  QuantAnalysis a;
  a.precision = precision_name(base.precision);
  a.method = calib_method_name(r.options.calib.method);
  a.activations = base.activations == DType::U8 ? "uint8" : "int8";
  a.io = base.io == DType::F32 ? "float" : base.io == DType::U8 ? "uint8" : "int8";
  a.calib_samples = static_cast<int>(r.calib.inputs.size());
  a.command = opt.command;
  a.date_utc = utc_now_iso8601();
  a.val_path = opt.val_path;

  const size_t n_err = std::min(r.calib.inputs.size(), static_cast<size_t>(opt.error_images));
  const std::vector<Tensor> err_inputs(r.calib.inputs.begin(), r.calib.inputs.begin() + n_err);
  // Errors are measured with float I/O: the same quantization points, and
  // the graph outputs comparable with the float model's.
  QdqOptions float_io = base;
  float_io.io = DType::F32;

  std::optional<Dataset> val;
  if (!opt.val_path.empty()) {
    LoadOptions lo;
    lo.format = parse_dataset_format(opt.val_format.empty() ? "auto" : opt.val_format);
    lo.images_dir = opt.val_images_dir;
    val = load_dataset(opt.val_path, lo);
    VEDGE_CHECK(!val->annotations.empty(), val->source, ": validation set has no boxes");
    a.float_map50 = evaluate_map50(r.prepared, r.float_metadata, *val, "float model", opt);
  }
  auto candidate_map = [&](const std::set<std::string>& extra_float) {
    const QdqOptions o = with_float(r, base, extra_float);
    QuantizeResult c = r;
    rebuild(c, o);
    return evaluate_map50(c.qdq, c.metadata, *val, "quantized model", opt);
  };

  const std::vector<std::string> layers = quantizable_layers(quantization_points(r.prepared, base));
  VEDGE_CHECK(!layers.empty(), "quantization analysis: the model has no quantizable layer left");

  // Sensitivity: asked for, or the ranking mixed precision walks. Without
  // --sensitivity, mixed precision ranks by output SQNR (one cheap run per
  // layer on the error images) and spends mAP evaluations on its steps only.
  if (opt.sensitivity || opt.max_map_drop) {
    SensitivityResult s;
    s.by_map = opt.sensitivity && val.has_value();
    s.float_map50 = a.float_map50;
    const auto ref = run_outputs(r.prepared, err_inputs, opt.threads);
    std::unique_ptr<ProgressBar> bar;
    if (opt.progress) bar = std::make_unique<ProgressBar>("sensitivity", static_cast<int64_t>(layers.size()));
    for (size_t i = 0; i < layers.size(); ++i) {
      std::set<std::string> others(layers.begin(), layers.end());
      others.erase(layers[i]);
      LayerSensitivity l;
      l.node = layers[i];
      l.op = op_of(r.points, layers[i]);
      Graph one = build_qdq_graph(r.prepared, r.ranges, with_float(r, float_io, others));
      l.output_sqnr_db = worst_output_sqnr(output_errors(one, ref, err_inputs, opt.threads));
      if (s.by_map) {
        l.map50 = candidate_map(others);
        l.map_drop = (a.float_map50 - l.map50) * 100.0;
      }
      s.ranked.push_back(l);
      if (bar) bar->update(static_cast<int64_t>(i + 1), l.node);
    }
    if (bar) bar->finish();
    rank_sensitivity(s);
    a.sensitivity = std::move(s);
  }

  if (opt.max_map_drop) {
    std::vector<std::string> order;
    for (const LayerSensitivity& l : a.sensitivity->ranked) order.push_back(l.node);
    std::unique_ptr<ProgressBar> bar;
    if (opt.progress) bar = std::make_unique<ProgressBar>("mixed precision", static_cast<int64_t>(order.size()));
    auto evaluate = [&](const std::set<std::string>& kept) {
      const double m = candidate_map(kept);
      if (bar) bar->update(static_cast<int64_t>(kept.size()), "mAP@0.5 " + std::to_string(m));
      return m;
    };
    a.mixed = search_mixed_precision(order, a.float_map50, *opt.max_map_drop, evaluate);
    if (bar) bar->finish();
    if (!a.mixed->kept_float.empty())
      rebuild(r, with_float(r, base, std::set<std::string>(a.mixed->kept_float.begin(), a.mixed->kept_float.end())));
    a.quant_map50 = a.mixed->final_map50();
  } else if (val) {
    a.quant_map50 = evaluate_map50(r.qdq, r.metadata, *val, "quantized model", opt);
  }

  // Per-layer errors of the model as calibrated; the output errors of the
  // returned one when mixed precision changed it.
  a.errors = measure_errors(r.prepared, build_qdq_graph(r.prepared, r.ranges, float_io),
                            quantization_points(r.prepared, float_io), err_inputs, opt.threads);
  if (a.mixed && !a.mixed->kept_float.empty()) {
    QdqOptions final_io = r.options.qdq;
    final_io.io = DType::F32;
    const auto ref = run_outputs(r.prepared, err_inputs, opt.threads);
    a.final_outputs =
        output_errors(build_qdq_graph(r.prepared, r.ranges, final_io), ref, err_inputs, opt.threads).outputs;
  }
  return a;
}

namespace {

std::string db(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string fixed3(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s.empty() ? "none" : s;
}

}  // namespace

std::string analysis_summary(const QuantAnalysis& a) {
  std::string s = "quantization analysis: " + a.precision + ", " + a.activations + " activations, " + a.io + " I/O, " + a.method +
                  " calibration on " + std::to_string(a.calib_samples) + " images; errors on " +
                  std::to_string(a.errors.images) + " of them\n  output SQNR:";
  for (size_t i = 0; i < a.errors.outputs.size(); ++i)
    s += std::string(i ? ", " : " ") + a.errors.outputs[i].value + " " + db(a.errors.outputs[i].sqnr_db) + " dB";
  std::vector<LayerError> worst = a.errors.layers;
  std::stable_sort(worst.begin(), worst.end(),
                   [](const LayerError& x, const LayerError& y) { return x.sqnr_db < y.sqnr_db; });
  s += "\n  lowest per-layer SQNR:";
  for (size_t i = 0; i < worst.size() && i < 5; ++i)
    s += "\n    " + db(worst[i].sqnr_db) + " dB  " + (worst[i].node.empty() ? worst[i].value : worst[i].node);
  if (a.sensitivity) {
    const SensitivityResult& r = *a.sensitivity;
    s += std::string("\n  most sensitive layers (") + (r.by_map ? "mAP@0.5 drop" : "output SQNR") + "):";
    for (size_t i = 0; i < r.ranked.size() && i < 5; ++i)
      s += "\n    " + std::to_string(i + 1) + ". " + r.ranked[i].node + "  " +
           (r.by_map ? fixed3(r.ranked[i].map_drop) + " points" : db(r.ranked[i].output_sqnr_db) + " dB");
  }
  if (a.float_map50 >= 0)
    s += "\n  mAP@0.5: float " + fixed3(a.float_map50) + ", quantized " + fixed3(a.quant_map50) + " (drop " +
         fixed3((a.float_map50 - a.quant_map50) * 100) + " points)";
  if (a.mixed) {
    const MixedPrecisionResult& m = *a.mixed;
    s += "\n  mixed precision: budget " + fixed3(m.budget) + " points, all-INT8 mAP@0.5 " + fixed3(m.steps[0].map50) +
         " (drop " + fixed3(m.steps[0].drop) + "); kept in float (" + std::to_string(m.kept_float.size()) +
         "): " + joined(m.kept_float) +
         (m.met_budget ? " (within budget)" : " (budget not reached with every layer in float)");
  }
  return s + "\n";
}

QuantizeResult analyze_quantization(QuantizeResult r, const AnalysisOptions& opt) {
  const QuantAnalysis a = run_quantization_analysis(r, opt);
  if (!opt.report_dir.empty()) write_quant_report(a, opt.report_dir);
  if (opt.print_summary) std::fputs(analysis_summary(a).c_str(), stdout);
  return r;
}

}  // namespace vedge
