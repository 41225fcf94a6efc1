// detect_handler.cpp: the detection request handler (see detect_handler.h).
#include "serve/detect_handler.h"

#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

namespace vedge::serve {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double round3(double v) { return std::round(v * 1000) / 1000; }

}  // namespace

std::string error_json(int status, const std::string& message) {
  nlohmann::ordered_json j{{"error", message}, {"status", status}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

DetectReply handle_detect(const RequestInput& in, const DetectorModel& model,
                          const std::string& model_name, const ImageLimits& limits,
                          const RunJob& run) {
  DetectReply r;
  const auto start = Clock::now();
  DetectRequest req;
  try {
    req = parse_detect_request(in, model.spec, limits);
  } catch (const RequestError& e) {
    r.status = e.status();
    r.body = error_json(e.status(), e.what());
    return r;
  }
  r.decode_ms = ms_since(start);
  r.width = req.image.width;
  r.height = req.image.height;
  r.image_bytes = req.image_bytes;

  InferenceJob job;
  job.image = &req.image;
  job.options = req.options;
  if (!run(job)) {
    r.status = 503;
    r.retry_after = true;
    r.body = error_json(503, "the server is busy (request queue full), retry later");
    return r;
  }
  if (!job.error.empty()) {
    r.status = 500;
    r.body = error_json(500, job.error);
    return r;
  }
  keep_classes(job.detections, req.classes);
  r.detections = std::move(job.detections);
  r.times = job.times;
  r.queue_ms = job.queue_ms;
  r.batch_size = job.batch_size;
  r.total_ms = ms_since(start);

  nlohmann::ordered_json j;
  j["detections"] = nlohmann::ordered_json::parse(detections_to_json(r.detections));
  j["latency_ms"] = round3(r.total_ms);
  j["model"] = model_name;
  j["image"] = {{"width", r.width}, {"height", r.height}};
  j["batch_size"] = r.batch_size;
  j["timings_ms"] = {{"decode_image", round3(r.decode_ms)},
                     {"queue", round3(r.queue_ms)},
                     {"preprocess", round3(r.times.preprocess_ms)},
                     {"inference", round3(r.times.inference_ms)},
                     {"postprocess", round3(r.times.decode_ms + r.times.nms_ms)}};
  r.body = j.dump();
  return r;
}

}  // namespace vedge::serve
