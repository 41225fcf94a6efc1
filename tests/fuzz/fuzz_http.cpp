// libFuzzer target: the detection request handler (serve/detect_handler.h)
// from received bytes to the answer, without the HTTP library: whatever the
// body, content type, query and JSON options, it must answer with a status
// and a JSON body (an error for the client's mistakes), never crash, leak or
// hang. A tiny detector built here (16x16 input, 16 anchors) runs the
// accepted images. Input layout: byte 0 picks the content type, bytes 1 and
// 2 are the lengths of the query string and the JSON options that follow,
// the rest is the body (for multipart: the "image" part, with the options as
// the "options" part). Seeds: build/testwork/fuzz-seeds/http (test_serve).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "onnx_builder.h"
#include "runtime/detector.h"
#include "runtime/error.h"
#include "runtime/onnx_import.h"
#include "serve/detect_handler.h"

namespace {

using vedge::test::attr_i;
using vedge::test::attr_ints;

const char* kSpec = R"({
  "labels": ["background", "thing"], "background": 0,
  "input": {"name": "images", "width": 16, "height": 16, "mean": 127, "std": 128},
  "outputs": {"boxes": "boxes", "scores": "scores", "score_activation": "none"},
  "anchors": {"family": "ultraface", "feature_maps": ["4x4"], "min_sizes": [[8]]},
  "thresholds": {"score": 0.3, "iou": 0.5, "max_detections": 10}
})";

std::shared_ptr<const vedge::DetectorModel> tiny_detector() {
  vedge::test::OnnxBuilder b(13);
  b.input("images", {1, 3, 16, 16});
  std::vector<float> wb(4 * 3 * 4 * 4), ws(2 * 3 * 4 * 4);
  for (size_t i = 0; i < wb.size(); ++i) wb[i] = 0.01f * static_cast<float>(int(i % 7) - 3);
  for (size_t i = 0; i < ws.size(); ++i) ws[i] = 0.02f * static_cast<float>(int(i % 5) - 2);
  b.initializer("wb", {4, 3, 4, 4}, wb);
  b.initializer("ws", {2, 3, 4, 4}, ws);
  b.initializer_i64("sb", {3}, {1, 16, 4});
  b.initializer_i64("ss", {3}, {1, 16, 2});
  b.node("Conv", {"images", "wb"}, {"cb"}, {attr_ints("kernel_shape", {4, 4}), attr_ints("strides", {4, 4})});
  b.node("Transpose", {"cb"}, {"tb"}, {attr_ints("perm", {0, 2, 3, 1})});
  b.node("Reshape", {"tb", "sb"}, {"boxes"});
  b.node("Conv", {"images", "ws"}, {"cs"}, {attr_ints("kernel_shape", {4, 4}), attr_ints("strides", {4, 4})});
  b.node("Transpose", {"cs"}, {"ts"}, {attr_ints("perm", {0, 2, 3, 1})});
  b.node("Reshape", {"ts", "ss"}, {"rs"});
  b.node("Softmax", {"rs"}, {"scores"}, {attr_i("axis", 2)});
  b.output("boxes");
  b.output("scores");
  b.metadata("vedge.detector", kSpec);
  return vedge::load_detector_model(vedge::import_onnx_bytes(b.bytes(), "fuzz.onnx"), "fuzz.onnx");
}

const char* kTypes[] = {"image/jpeg", "image/png", "application/octet-stream",
                        "multipart/form-data; boundary=x", "application/json", "text/plain",
                        "image/bmp", ""};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const vedge::DetectorModel> model = tiny_detector();
  static vedge::Detector detector(model);
  if (size < 3) return 0;
  const std::string type = kTypes[data[0] % (sizeof kTypes / sizeof kTypes[0])];
  size_t q = data[1], o = data[2];
  const char* p = reinterpret_cast<const char*>(data) + 3;
  size_t left = size - 3;
  q = std::min(q, left);
  const std::string query(p, q);
  p += q, left -= q;
  o = std::min(o, left);
  const std::string options(p, o);
  p += o, left -= o;
  const std::string body(p, left);

  vedge::serve::RequestInput in;
  in.content_type = type;
  if (type.rfind("multipart/", 0) == 0) {
    in.parts.push_back({"image", "x", "image/png", body});
    if (!options.empty()) in.parts.push_back({"options", "", "", options});
  } else {
    in.body = body;
  }
  // "k=v&k=v"
  for (size_t start = 0; start < query.size();) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    const std::string kv = query.substr(start, amp - start);
    const size_t eq = kv.find('=');
    in.query.emplace(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    start = amp + 1;
  }

  vedge::ImageLimits limits;
  limits.max_pixels = 1 << 20;
  const vedge::serve::DetectReply r = vedge::serve::handle_detect(
      in, *model, "fuzz", limits, [&](vedge::serve::InferenceJob& job) {
        try {
          job.detections = detector.detect(*job.image, job.options, &job.times);
        } catch (const vedge::Error& e) {
          job.error = e.what();
        }
        job.batch_size = 1;
        return true;
      });
  // Every answer is JSON; only the client's mistakes are 4xx, and nothing
  // the handler validated may fail later (500).
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || r.status == 500) __builtin_trap();
  if (r.status != 200 && !(r.status >= 400 && r.status < 500)) __builtin_trap();
  if (r.status == 200 && (!j.contains("detections") || !j["detections"].is_array())) __builtin_trap();
  return 0;
}
