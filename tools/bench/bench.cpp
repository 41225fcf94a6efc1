#include "tools/bench/bench.h"

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "runtime/detector.h"
#include "runtime/error.h"
#include "runtime/onnx_import.h"

namespace vedge {

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

size_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<size_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
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
  BenchResult r;
  r.model = model_path;
  r.threads = opt.threads;
  r.warmup = opt.warmup;
  r.runs = opt.runs;
  std::error_code ec;
  r.file_bytes = std::filesystem::file_size(model_path, ec);
  if (ec) fail(model_path, ": cannot read (", ec.message(), ")");

  SessionOptions so;
  so.num_threads = opt.threads;
  so.profile = opt.profile;

  // One import, timed as part of the load. End to end when the model
  // describes itself as a detector (metadata, a sidecar or --spec); an
  // invalid spec is then an error, not a fallback.
  auto t0 = std::chrono::steady_clock::now();
  Graph g = import_onnx_file(model_path);
  r.end_to_end = !opt.network_only &&
                 (!opt.spec_path.empty() || g.metadata.count(kDetectorMetadataKey) != 0 ||
                  std::filesystem::exists(sidecar_path(model_path)));

  if (r.end_to_end) {
    Detector det;
    det.load(std::move(g), model_path, opt.spec_path, so);
    r.load_ms = ms_since(t0);
    Image img = opt.image_path.empty() ? synthetic_bench_image() : decode_image_file(opt.image_path);
    r.image = opt.image_path.empty() ? "synthetic 640x480" : opt.image_path;
    for (int i = 0; i < opt.warmup; ++i) det.detect(img);
    det.session().reset_profile();
    for (const char* k : {"preprocess", "inference", "decode", "nms", "total"})
      r.samples[k].reserve(static_cast<size_t>(opt.runs));
    for (int i = 0; i < opt.runs; ++i) {
      StageTimes t;
      det.detect(img, {}, &t);
      r.samples["preprocess"].push_back(t.preprocess_ms);
      r.samples["inference"].push_back(t.inference_ms);
      r.samples["decode"].push_back(t.decode_ms);
      r.samples["nms"].push_back(t.nms_ms);
      r.samples["total"].push_back(t.total_ms());
    }
    r.arena_bytes = det.session().arena_bytes();
    r.profile = det.session().profile();
  } else {
    Session s(std::move(g), so);
    r.load_ms = ms_since(t0);
    fill_random_inputs(s);
    for (int i = 0; i < opt.warmup; ++i) s.run();
    s.reset_profile();
    auto& inf = r.samples["inference"];
    for (int i = 0; i < opt.runs; ++i) {
      auto t1 = std::chrono::steady_clock::now();
      s.run();
      inf.push_back(ms_since(t1));
    }
    r.arena_bytes = s.arena_bytes();
    r.profile = s.profile();
  }
  r.peak_rss_bytes = peak_rss_bytes();
  return r;
}

std::string bench_to_json(const BenchResult& r, int indent) {
  nlohmann::ordered_json j;
  j["model"] = r.model;
  j["threads"] = r.threads;
  j["warmup"] = r.warmup;
  j["runs"] = r.runs;
  j["end_to_end"] = r.end_to_end;
  if (r.end_to_end) j["image"] = r.image;
  j["file_bytes"] = r.file_bytes;
  j["load_ms"] = r.load_ms;
  j["arena_bytes"] = r.arena_bytes;
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  for (const auto& [stage, s] : r.samples) {
    LatencyStats st = summarize(s);
    j["stages"][stage] = {{"mean", st.mean}, {"std", st.std}, {"min", st.min},
                          {"p50", st.p50},   {"p90", st.p90}, {"p95", st.p95},
                          {"p99", st.p99},   {"max", st.max}};
  }
  j["samples_ms"] = r.samples;
  if (!r.profile.empty() && r.profile.front().calls > 0) {
    for (const OpProfile& p : r.profile)
      j["profile"].push_back({{"node", p.node}, {"op", p.op}, {"ms_per_run", p.total_ms / p.calls}});
  }
  return j.dump(indent);
}

}  // namespace vedge
