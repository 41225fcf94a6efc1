// bench.cpp: the latency runner (see bench.h). Depends on runtime/, tools/bench/ and
// tools/common/progress.h only.
#include "tools/bench/bench.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "runtime/detector.h"
#include "runtime/error.h"
#include "runtime/onnx_import.h"
#include "runtime/tflite_import.h"
#include "tools/bench/machine.h"
#include "tools/common/progress.h"

namespace vedge {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Random values in [-1, 1] for every float input of the session.
void fill_random_inputs(Session& s) {
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int i = 0; i < s.num_inputs(); ++i) {
    const Value& v = s.input_info(i);
    if (v.dtype != DType::F32) fail(s.graph().source, ": input '", v.name, "' is not float32");
    float* p = static_cast<float*>(s.input_data(i));
    for (int64_t k = 0; k < numel(v.shape); ++k) p[k] = u(rng);
  }
}

// A TFLite file describes a detector through its own metadata (what `vedge
// convert` writes) or a sidecar; --spec is for ONNX models. It is then
// imported as the Detector imports it: NCHW image input, integer kernels for
// a full-integer file. Any other TFLite file is a network with its NHWC
// inputs, timed at its declared input size.
bool is_tflite_detector(const std::string& path) {
  return is_tflite_file(path) && (read_tflite_info_file(path).metadata.count(kDetectorMetadataKey) != 0 ||
                                  std::filesystem::exists(sidecar_path(path)));
}

// Whether the model `g` (imported from model_path) carries a detector spec:
// metadata or a sidecar, or --spec for an ONNX model.
bool has_detector_spec(const std::string& model_path, const Graph& g, const BenchOptions& opt) {
  return (!opt.spec_path.empty() && !is_tflite_file(model_path)) || g.metadata.count(kDetectorMetadataKey) != 0 ||
         std::filesystem::exists(sidecar_path(model_path));
}

bool describes_detector(const std::string& model_path, const Graph& g, const BenchOptions& opt) {
  return !opt.network_only && has_detector_spec(model_path, g, opt);
}

Graph import_model(const std::string& path) {
  if (!is_tflite_file(path)) return import_onnx_file(path);
  return is_tflite_detector(path) ? import_detector_graph(path) : import_tflite_file(path);
}

// Width and height of a 4-D image input: NHWC in a TFLite graph, else NCHW.
InputSize image_size_of(const Shape& s, bool nhwc) {
  return nhwc ? InputSize{static_cast<int>(s[2]), static_cast<int>(s[1])}
              : InputSize{static_cast<int>(s[3]), static_cast<int>(s[2])};
}

std::string size_str(InputSize s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }

// Runs `one(record)` for the warm-up, then either opt.runs times or, in the
// sustained mode, until opt.duration_s has passed; `record` says whether the
// run is timed. Fills r.runs, r.start_times_s (sustained) and shows progress.
template <typename Fn>
void timed_loop(const BenchOptions& opt, BenchResult& r, Fn&& one, const std::string& label) {
  for (int i = 0; i < opt.warmup; ++i) one(false);
  const bool sustained = opt.duration_s > 0;
  std::optional<ProgressBar> bar;
  if (sustained || opt.progress)
    bar.emplace(label, sustained ? static_cast<int64_t>(std::ceil(opt.duration_s)) : opt.runs);
  const auto t0 = Clock::now();
  int n = 0;
  for (;; ++n) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    if (sustained ? elapsed >= opt.duration_s : n >= opt.runs) break;
    if (sustained) r.start_times_s.push_back(elapsed);
    one(true);
    if (bar) bar->update(sustained ? static_cast<int64_t>(elapsed) : n + 1, std::to_string(n + 1) + " runs");
  }
  if (bar) {
    if (sustained) bar->update(static_cast<int64_t>(std::ceil(opt.duration_s)));
    bar->finish();
  }
  r.runs = n;
}

}  // namespace

Image synthetic_bench_image(int width, int height) {
  Image img;
  img.width = width;
  img.height = height;
  img.rgb.resize(static_cast<size_t>(width) * height * 3);
  std::mt19937 rng(7);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &img.rgb[(static_cast<size_t>(y) * width + x) * 3];
      int noise = static_cast<int>(rng() % 32);
      bool disc = (x - width / 3) * (x - width / 3) + (y - height / 2) * (y - height / 2) <
                  (height / 5) * (height / 5);
      bool rect = x > width * 3 / 5 && x < width * 4 / 5 && y > height / 4 && y < height * 3 / 4;
      p[0] = static_cast<uint8_t>(disc ? 220 : (x * 255 / width + noise) / 2);
      p[1] = static_cast<uint8_t>(rect ? 200 : (y * 255 / height + noise) / 2);
      p[2] = static_cast<uint8_t>(disc || rect ? 40 : 128 + noise);
    }
  return img;
}

BenchResult run_bench(const std::string& model_path, const BenchOptions& opt) {
  VEDGE_CHECK(opt.runs >= 1, "bench: --runs must be at least 1");
  VEDGE_CHECK(opt.warmup >= 0, "bench: --warmup must not be negative");
  VEDGE_CHECK(opt.duration_s >= 0 && opt.window_s >= 0, "bench: --duration and --window must not be negative");
  BenchResult r;
  r.model = model_path;
  r.threads = opt.threads;
  r.warmup = opt.warmup;
  if (!std::filesystem::is_regular_file(model_path)) fail(model_path, ": no such model file");
  const FileSizes sizes = file_sizes(model_path);
  r.file_bytes = sizes.bytes;
  r.deflate_bytes = sizes.deflate_bytes;

  SessionOptions so;
  so.num_threads = opt.threads;
  so.profile = opt.profile;

  // At another input size the model is first checked (untimed) and its spec
  // rewritten; the timed load then re-imports it with that shape.
  const bool resized = opt.input_size.width > 0;
  std::optional<ResizedModel> rm;
  const bool tflite = is_tflite_file(model_path);
  if (resized) {
    VEDGE_CHECK(!tflite, model_path, ": a TFLite model runs at its declared input size only");
    Graph probe = import_onnx_file(model_path);
    rm = import_at_size(model_path, opt.spec_path, describes_detector(model_path, probe, opt), opt.input_size);
    if (!rm->graph) fail(model_path, ": cannot run at ", size_str(opt.input_size), ": ", rm->skip_reason);
  }

  r.peak_rss_is_own = reset_peak_rss();
  // One import, timed as part of the load. End to end when the model
  // describes itself as a detector (metadata, a sidecar or --spec); an
  // invalid spec is then an error, not a fallback.
  auto t0 = Clock::now();
  Graph g = resized ? import_onnx_file(model_path, rm->import_options) : import_model(model_path);
  r.end_to_end = describes_detector(model_path, g, opt);
  std::string spec_path = opt.spec_path;
  if (resized && r.end_to_end) {
    g.metadata[kDetectorMetadataKey] = rm->graph->metadata.at(kDetectorMetadataKey);
    spec_path.clear();  // the rewritten spec in the metadata wins
  }
  const std::string label = std::filesystem::path(model_path).filename().string() + " " +
                            std::to_string(opt.threads) + "t";

  if (r.end_to_end) {
    Detector det;
    det.load(std::move(g), model_path, spec_path, so);
    r.load_ms = ms_since(t0);
    r.input = {det.spec().input.width, det.spec().input.height};
    Image img = opt.image_path.empty() ? synthetic_bench_image() : decode_image_file(opt.image_path);
    r.image = opt.image_path.empty() ? "synthetic 640x480" : opt.image_path;
    bool reset = false;
    timed_loop(opt, r, [&](bool timed) {
      if (!timed) return void(det.detect(img, opt.detect));
      if (!reset) det.session().reset_profile(), reset = true;
      StageTimes t;
      det.detect(img, opt.detect, &t);
      r.samples["preprocess"].push_back(t.preprocess_ms);
      r.samples["inference"].push_back(t.inference_ms);
      r.samples["decode"].push_back(t.decode_ms);
      r.samples["nms"].push_back(t.nms_ms);
      r.samples["total"].push_back(t.total_ms());
    }, label);
    r.arena_bytes = det.session().arena_bytes();
    r.profile = det.session().profile();
  } else {
    // A TFLite network without a detector spec keeps its NHWC inputs.
    const bool nhwc_input = tflite && !has_detector_spec(model_path, g, opt);
    Session s(std::move(g), so);
    r.load_ms = ms_since(t0);
    fill_random_inputs(s);
    for (int i = 0; i < s.num_inputs(); ++i)
      if (s.input_info(i).shape.size() == 4)
        r.input = image_size_of(s.input_info(i).shape, nhwc_input);
    bool reset = false;
    auto& inf = r.samples["inference"];
    timed_loop(opt, r, [&](bool timed) {
      if (!timed) return s.run();
      if (!reset) s.reset_profile(), reset = true;
      auto t1 = Clock::now();
      s.run();
      inf.push_back(ms_since(t1));
    }, label);
    r.arena_bytes = s.arena_bytes();
    r.profile = s.profile();
  }
  r.peak_rss_bytes = peak_rss_bytes();
  if (opt.duration_s > 0) {
    r.duration_s = opt.duration_s;
    r.window_s = opt.window_s > 0 ? opt.window_s : opt.duration_s / 10;
    r.windows = drift_windows(r.samples.at(r.main_stage()), r.start_times_s, r.window_s);
  }
  return r;
}

std::vector<SweepPoint> run_sweep(const std::string& model_path, const BenchOptions& base,
                                  const std::vector<int>& threads, const std::vector<SizeRequest>& sizes,
                                  const BenchResult* measured) {
  VEDGE_CHECK(!threads.empty(), "bench: no thread count given");
  if (!std::filesystem::is_regular_file(model_path)) fail(model_path, ": no such model file");
  std::vector<std::optional<InputSize>> targets;  // nullopt: the model's own size
  std::vector<std::string> reasons;
  if (sizes.empty()) {
    targets.emplace_back();
    reasons.emplace_back();
  } else if (is_tflite_file(model_path)) {
    const Graph g = import_tflite_file(model_path);
    InputSize native;
    for (int id : g.inputs)
      if (g.values[id].shape.size() == 4) native = image_size_of(g.values[id].shape, true);
    for (const SizeRequest& req : sizes) {
      InputSize s = resolve_size(req, native.width, native.height);
      const bool same = s.width == native.width && s.height == native.height;
      targets.push_back(same ? std::nullopt : std::optional<InputSize>(s));
      reasons.push_back(same ? "" : "a TFLite model runs at its declared input size only");
    }
  } else {
    const Graph g = import_onnx_file(model_path);
    const bool det = describes_detector(model_path, g, base);
    const InputSize native = native_input_size(g, model_path, base.spec_path, det);
    for (const SizeRequest& req : sizes) {
      InputSize s = resolve_size(req, native.width, native.height);
      if (s.width == native.width && s.height == native.height) {
        targets.emplace_back();
        reasons.emplace_back();
        continue;
      }
      ResizedModel rm = import_at_size(model_path, base.spec_path, det, s);
      targets.emplace_back(s);
      reasons.push_back(rm.graph ? "" : rm.skip_reason);
    }
  }
  std::vector<SweepPoint> out;
  for (size_t k = 0; k < targets.size(); ++k)
    for (int t : threads) {
      SweepPoint p;
      p.threads = t;
      if (targets[k]) p.size = *targets[k];
      if (!reasons[k].empty()) {
        p.skip_reason = reasons[k];
      } else if (measured && !targets[k] && measured->threads == t) {
        p.result = *measured;
        p.size = measured->input;
      } else {
        BenchOptions o = base;
        o.threads = t;
        o.input_size = targets[k] ? *targets[k] : InputSize{};
        p.result = run_bench(model_path, o);
        p.size = p.result->input;
      }
      out.push_back(std::move(p));
    }
  return out;
}

nlohmann::ordered_json bench_json(const BenchResult& r) {
  nlohmann::ordered_json j;
  j["model"] = r.model;
  j["threads"] = r.threads;
  j["warmup"] = r.warmup;
  j["runs"] = r.runs;
  j["end_to_end"] = r.end_to_end;
  if (r.end_to_end) j["image"] = r.image;
  j["input_size"] = {r.input.width, r.input.height};
  j["file_bytes"] = r.file_bytes;
  j["deflate_bytes"] = r.deflate_bytes;
  j["deflate_note"] = "zlib deflate, level 9, of the whole file";
  j["load_ms"] = r.load_ms;
  j["arena_bytes"] = r.arena_bytes;
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  j["peak_rss_scope"] = r.peak_rss_is_own ? "this model (peak reset before its load)" : "the process so far";
  for (const auto& [stage, s] : r.samples) {
    LatencyStats st = summarize(s);
    j["stages"][stage] = {{"mean", st.mean}, {"std", st.std}, {"min", st.min},
                          {"p50", st.p50},   {"p90", st.p90}, {"p95", st.p95},
                          {"p99", st.p99},   {"max", st.max}};
  }
  j["samples_ms"] = r.samples;
  if (r.duration_s > 0) {
    nlohmann::ordered_json s;
    s["duration_s"] = r.duration_s;
    s["window_s"] = r.window_s;
    s["stage"] = r.main_stage();
    s["start_times_s"] = r.start_times_s;
    for (const DriftWindow& w : r.windows)
      s["windows"].push_back({{"start_s", w.start_s}, {"end_s", w.end_s}, {"n", w.n}, {"p50", w.p50}, {"p95", w.p95}});
    if (!r.windows.empty() && r.windows.front().p50 > 0 && r.windows.front().p95 > 0) {
      s["last_over_first_p50"] = r.windows.back().p50 / r.windows.front().p50;
      s["last_over_first_p95"] = r.windows.back().p95 / r.windows.front().p95;
    }
    j["sustained"] = s;
  }
  if (!r.profile.empty() && r.profile.front().calls > 0) {
    for (const OpProfile& p : r.profile)
      j["profile"].push_back({{"node", p.node}, {"op", p.op}, {"ms_per_run", p.total_ms / p.calls}});
  }
  return j;
}

std::string bench_to_json(const BenchResult& r, int indent) { return bench_json(r).dump(indent); }

}  // namespace vedge
