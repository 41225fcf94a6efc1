// detect_handler.h: POST /v1/detect from received bytes to the answer, with
// no HTTP library in between (the fuzz target calls it directly): parse the
// request (request.h), run the image through `run` (the inference pool, or
// a Detector in the fuzzer), keep the requested classes, build the JSON
//   {"detections":[{"label","score","bbox":[x1,y1,x2,y2]}],"latency_ms",
//    "model","image":{"width","height"},"batch_size","timings_ms":{...}}
// or the JSON error {"error","status"}.
// Depends on serve/request.h, serve/inference_pool.h (InferenceJob) and
// runtime/detector.h.
#pragma once

#include <functional>
#include <string>

#include "runtime/detector.h"
#include "serve/inference_pool.h"
#include "serve/request.h"

namespace vedge::serve {

// Runs the job to completion (filling its results); false: refused because
// the queue is full (-> 503).
using RunJob = std::function<bool(InferenceJob&)>;

struct DetectReply {
  int status = 200;
  std::string body;  // JSON
  bool retry_after = false;
  // For metrics and the access log (valid when status == 200).
  int width = 0, height = 0;
  size_t image_bytes = 0;
  std::vector<Detection> detections;
  StageTimes times;
  double decode_ms = 0, queue_ms = 0, total_ms = 0;
  int batch_size = 0;
};

DetectReply handle_detect(const RequestInput& in, const DetectorModel& model,
                          const std::string& model_name, const ImageLimits& limits,
                          const RunJob& run);

// {"error": message, "status": status}
std::string error_json(int status, const std::string& message);

}  // namespace vedge::serve
