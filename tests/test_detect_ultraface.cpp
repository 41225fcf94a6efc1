// Detection end to end on the shared UltraFace model: the Detector (our
// preprocessing, runtime, anchors, box decoding and NMS, as `vedge detect`
// runs them) must find the same faces as ONNX Runtime followed by an
// independent decoder and NMS written in JavaScript (tests/peers/
// ort_detect.js), fed the same preprocessed tensor: same count, every box
// matched with IoU >= 0.99, scores within 1e-4.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "ort_peer.h"
#include "runtime/detector.h"
#include "runtime/image.h"
#include "runtime/nms.h"
#include "runtime/npy.h"
#include "runtime/preprocess.h"

namespace fs = std::filesystem;
using namespace vedge;

namespace {

double iou(const float* a, const std::vector<double>& b) {
  const double ix = std::max(0.0, std::min<double>(a[2], b[2]) - std::max<double>(a[0], b[0]));
  const double iy = std::max(0.0, std::min<double>(a[3], b[3]) - std::max<double>(a[1], b[1]));
  const double inter = ix * iy;
  const double ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return ua > 0 ? inter / ua : 0;
}

class DetectUltraFace : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(DetectUltraFace, SameFacesAsOrtPlusIndependentDecoder) {
  const std::string model = std::string(VEDGE_SHARED_DIR) + "/models/ultraface-rfb-320.onnx";
  const std::string image = std::string(VEDGE_SHARED_DIR) + "/data/coco128/images/val2017/" + GetParam();
  if (!fs::exists(model) || !fs::exists(image)) GTEST_SKIP() << "../shared absent: " << model;
  if (!test::ort_peer_available()) return;
  const std::string spec = std::string(VEDGE_SOURCE_DIR) + "/models/ultraface-rfb-320.vedge.json";

  Detector det(model, spec);
  Image img = decode_image_file(image);
  std::vector<Detection> ours = det.detect(img);

  // The same preprocessed tensor for the peer (plain NCHW).
  const std::string dir = std::string(VEDGE_TEST_WORK_DIR) + "/detect_ultraface/" + GetParam();
  fs::create_directories(dir);
  Tensor x(DType::F32, {1, 3, det.spec().input.height, det.spec().input.width});
  preprocess(img, det.spec().input, x.data<float>());
  write_npy(dir + "/x.npy", x);
  std::string out = test::run_node(
      "ort_detect.js", model + " --input " + dir + "/x.npy --image-size " + std::to_string(img.width) +
                           " " + std::to_string(img.height) + " --score-thresh 0.7 --iou-thresh 0.3",
      dir);
  ASSERT_FALSE(::testing::Test::HasFailure());
  auto theirs = nlohmann::json::parse(out)["detections"];

  ASSERT_GE(theirs.size(), 2u) << "the test image should show several faces";
  ASSERT_EQ(ours.size(), theirs.size());
  std::vector<bool> used(theirs.size(), false);
  for (const Detection& d : ours) {
    double best = 0;
    size_t bi = 0;
    for (size_t j = 0; j < theirs.size(); ++j) {
      if (used[j]) continue;
      double v = iou(d.bbox, theirs[j]["bbox"].get<std::vector<double>>());
      if (v > best) best = v, bi = j;
    }
    EXPECT_GE(best, 0.99) << "face at [" << d.bbox[0] << "," << d.bbox[1] << "," << d.bbox[2] << ","
                          << d.bbox[3] << "] has no twin";
    EXPECT_EQ(d.label, "face");
    EXPECT_NEAR(d.score, theirs[bi]["score"].get<double>(), 1e-4);
    used[bi] = true;
  }
  std::printf("  %s: %zu faces, all matched\n", GetParam().c_str(), ours.size());
}

INSTANTIATE_TEST_SUITE_P(CocoVal, DetectUltraFace,
                         ::testing::Values("000000001000.jpg", "000000005001.jpg", "000000002299.jpg"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           return i.param.substr(0, i.param.find('.'));
                         });
