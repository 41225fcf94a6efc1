// test_detector_spec.cpp: the detector spec JSON (the committed UltraFace
// sidecar, round trips, one clear error per kind of mistake), where the
// spec is looked up (file > metadata > sidecar > the "pass --spec" error),
// validation against a graph's input/outputs, and the Detector on the shared
// UltraFace model (skipped when ../shared is absent).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "runtime/detector.h"
#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "runtime/image.h"
#include "runtime/onnx_import.h"

using namespace vedge;
namespace fs = std::filesystem;

namespace {

const std::string kSidecar = std::string(VEDGE_SOURCE_DIR) + "/models/ultraface-rfb-320.vedge.json";
const std::string kUltraFace = std::string(VEDGE_SHARED_DIR) + "/models/ultraface-rfb-320.onnx";

std::string work_dir() {
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/test_detector_spec";
  fs::create_directories(d);
  return d;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write(const std::string& p, const std::string& s) { std::ofstream(p) << s; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

Graph detector_graph(Shape in, Shape boxes, Shape scores) {
  Graph g;
  g.source = "face.onnx";
  g.inputs.push_back(g.add_value({"input", DType::F32, in, {}, {}}));
  g.outputs.push_back(g.add_value({"scores", DType::F32, scores, {}, {}}));
  g.outputs.push_back(g.add_value({"boxes", DType::F32, boxes, {}, {}}));
  return g;
}

}  // namespace

TEST(DetectorSpec, UltraFaceSidecar) {
  DetectorSpec s = load_detector_spec_file(kSidecar);
  EXPECT_EQ(s.labels, (std::vector<std::string>{"background", "face"}));
  EXPECT_EQ(s.background, 0);
  EXPECT_EQ(s.input.name, "input");
  EXPECT_EQ(s.input.width, 320);
  EXPECT_EQ(s.input.height, 240);
  EXPECT_EQ(s.input.color, ColorOrder::RGB);
  EXPECT_FLOAT_EQ(s.input.mean[2], 127.f);
  EXPECT_FLOAT_EQ(s.input.std[0], 128.f);
  EXPECT_EQ(s.input.resize, ResizeMode::Stretch);
  EXPECT_EQ(s.activation, ScoreActivation::None);
  EXPECT_EQ(s.anchors.family, AnchorFamily::UltraFace);
  EXPECT_EQ(anchor_count(s.anchors), 4420);
  EXPECT_FLOAT_EQ(s.coder.center_variance, 0.1f);
  EXPECT_FLOAT_EQ(s.coder.size_variance, 0.2f);
  EXPECT_FLOAT_EQ(s.thresholds.score, 0.7f);
  EXPECT_FLOAT_EQ(s.thresholds.iou, 0.3f);
  EXPECT_EQ(s.source, kSidecar);
}

TEST(DetectorSpec, JsonRoundTripSsdAndUltraFace) {
  const std::string ssd = R"({
    "labels": ["background", "a", "b"], "background": 0,
    "input": {"width": 320, "height": 320, "color": "bgr", "mean": 127.5, "scale": 0.0078125,
              "resize": "letterbox"},
    "outputs": {"score_activation": "softmax"},
    "anchors": {"family": "ssd", "strides": [16, 32, 64, 128, 256, 512],
                "aspect_ratios": [[2,3],[2,3],[2,3],[2,3],[2,3],[2,3]], "min_ratio": 0.2, "max_ratio": 0.95},
    "thresholds": {"score": 0.01, "iou": 0.55, "max_detections": 300, "top_k": 300}})";
  DetectorSpec a = parse_detector_spec(ssd, "ssd.json");
  EXPECT_EQ(a.input.name, "images");  // default
  EXPECT_EQ(a.input.color, ColorOrder::BGR);
  EXPECT_FLOAT_EQ(a.input.std[1], 128.f);
  EXPECT_EQ(a.anchors.ssd.feature_maps[3].width, 3);  // ceil(320 / 128)
  EXPECT_EQ(anchor_count(a.anchors), 3234);
  for (const DetectorSpec& s : {a, load_detector_spec_file(kSidecar)}) {
    DetectorSpec b = parse_detector_spec(detector_spec_to_json(s), "rt.json");
    EXPECT_EQ(b.labels, s.labels);
    EXPECT_EQ(b.background, s.background);
    EXPECT_EQ(b.input.width, s.input.width);
    EXPECT_EQ(b.input.color, s.input.color);
    EXPECT_EQ(b.input.resize, s.input.resize);
    EXPECT_FLOAT_EQ(b.input.std[2], s.input.std[2]);
    EXPECT_EQ(b.activation, s.activation);
    EXPECT_EQ(b.thresholds.top_k, s.thresholds.top_k);
    EXPECT_EQ(generate_anchors(b.anchors, 320, 240), generate_anchors(s.anchors, 320, 240));
  }
  nlohmann::json j = nlohmann::json::parse(ssd);
  j["background"] = nullptr;  // explicit null: no background class
  EXPECT_EQ(parse_detector_spec(j.dump(), "x").background, -1);
}

TEST(DetectorSpec, ClearErrors) {
  const nlohmann::json base = nlohmann::json::parse(slurp(kSidecar));
  auto err = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = base;
    edit(j);
    return error_of([&] { parse_detector_spec(j.dump(), "f.json"); });
  };
  EXPECT_EQ(error_of([] { parse_detector_spec("{\"labels\": [", "f.json"); }).rfind("f.json: detector spec is not valid JSON", 0), 0u);
  EXPECT_EQ(err([](auto& j) { j.erase("labels"); }), "f.json: detector spec: labels must be a non-empty array of strings");
  EXPECT_EQ(err([](auto& j) { j["input"].erase("width"); }), "f.json: detector spec: input.width is missing");
  EXPECT_EQ(err([](auto& j) { j["input"]["height"] = -5; }), "f.json: detector spec: input.height is -5, outside 1..16384");
  EXPECT_EQ(err([](auto& j) { j["input"]["color"] = "rgba"; }), "f.json: detector spec: input.color is \"rgba\", expected \"rgb\" or \"bgr\"");
  EXPECT_EQ(err([](auto& j) { j["input"]["std"] = {1, 0, 1}; }), "f.json: detector spec: input.std must not contain 0");
  EXPECT_EQ(err([](auto& j) { j["input"]["mean"] = {1, 2}; }), "f.json: detector spec: input.mean must be a number or an array of 3 numbers");
  EXPECT_EQ(err([](auto& j) { j["inptu"] = 1; }), "f.json: detector spec: inptu is not a known key");
  EXPECT_EQ(err([](auto& j) { j["outputs"]["score_activation"] = "relu"; }),
            "f.json: detector spec: outputs.score_activation is \"relu\", expected \"softmax\", \"sigmoid\" or \"none\"");
  EXPECT_EQ(err([](auto& j) { j["anchors"]["feature_maps"][1] = "20*15"; }),
            "f.json: detector spec: anchors.feature_maps has \"20*15\", expected \"WxH\" like \"40x30\"");
  EXPECT_EQ(err([](auto& j) { j["anchors"]["min_sizes"].erase(3); }),
            "f.json: detector spec: anchors are invalid: anchors: 3 min-size lists for 4 feature maps");
  EXPECT_EQ(err([](auto& j) { j["anchors"]["family"] = "yolo"; }),
            "f.json: detector spec: anchors.family is \"yolo\", expected \"ssd\" or \"ultraface\"");
  EXPECT_EQ(err([](auto& j) { j["variances"] = {0.1}; }),
            "f.json: detector spec: variances must be [center_variance, size_variance], both positive");
  EXPECT_EQ(err([](auto& j) { j["thresholds"]["iou"] = 1.5; }), "f.json: detector spec: thresholds.iou must be in (0, 1]");
  EXPECT_EQ(err([](auto& j) { j["background"] = 2; }), "f.json: detector spec: background is 2, outside 0..1");
}

TEST(DetectorSpec, LookupOrderAndMissingSpecMessage) {
  const std::string dir = work_dir();
  const std::string model = dir + "/face.onnx";
  fs::remove(dir + "/face.vedge.json");
  EXPECT_EQ(sidecar_path(model), dir + "/face.vedge.json");
  EXPECT_EQ(sidecar_path("models.v2/net"), "models.v2/net.vedge.json");
  EXPECT_EQ(error_of([&] { resolve_detector_spec(model, {}); }),
            model + ": no detector metadata (key vedge.detector) and no sidecar " + dir +
                "/face.vedge.json; pass --spec FILE");

  const std::string text = slurp(kSidecar);
  DetectorSpec m = resolve_detector_spec(model, {{"vedge.detector", text}});
  EXPECT_EQ(m.source, model + " (metadata vedge.detector)");

  write(dir + "/face.vedge.json", text);
  EXPECT_EQ(resolve_detector_spec(model, {}).source, dir + "/face.vedge.json");
  // Metadata beats the sidecar; an explicit file beats both.
  EXPECT_EQ(resolve_detector_spec(model, {{"vedge.detector", text}}).source, m.source);
  EXPECT_EQ(resolve_detector_spec(model, {{"vedge.detector", "not json"}}, kSidecar).source, kSidecar);
  EXPECT_NE(error_of([&] { resolve_detector_spec(model, {}, dir + "/nope.json"); }).find("nope.json: cannot open"),
            std::string::npos);
}

TEST(DetectorSpec, ValidateAgainstGraph) {
  DetectorSpec s = load_detector_spec_file(kSidecar);
  const std::string p = kSidecar + ": ";
  DetectorShapes sh = validate_detector_spec(s, detector_graph({1, 3, 240, 320}, {1, 4420, 4}, {1, 4420, 2}));
  EXPECT_EQ(sh.num_anchors, 4420);
  EXPECT_EQ(sh.num_classes, 2);
  auto err = [&](Graph g) { return error_of([&] { validate_detector_spec(s, g); }); };
  EXPECT_EQ(err(detector_graph({1, 3, 240, 320}, {1, 3000, 4}, {1, 3000, 2})),
            p + "the anchor spec gives 4420 anchors but face.onnx's boxes output 'boxes' has 3000");
  EXPECT_EQ(err(detector_graph({1, 3, 240, 320}, {1, 4420, 4}, {1, 4420, 3})),
            p + "2 labels but face.onnx's scores output 'scores' has 3 classes");
  EXPECT_EQ(err(detector_graph({1, 3, 320, 320}, {1, 4420, 4}, {1, 4420, 2})),
            p + "input 'input' of face.onnx is float32 [1,3,320,320], the spec expects float32 [1,3,240,320]");
  EXPECT_EQ(err(detector_graph({1, 3, 240, 320}, {1, 4420, 5}, {1, 4420, 2})),
            p + "boxes output 'boxes' of face.onnx is [1,4420,5], the last dimension must be 4");
  EXPECT_EQ(err(detector_graph({1, 3, 240, 320}, {1, 4420, 4}, {1, 4000, 2})),
            p + "face.onnx has 4420 box rows but 4000 score rows");
  s.boxes_output = "loc";
  EXPECT_EQ(err(detector_graph({1, 3, 240, 320}, {1, 4420, 4}, {1, 4420, 2})),
            p + "boxes output 'loc' is not an output of face.onnx (outputs: scores, boxes)");
}

TEST(Detector, DetectionsToJson) {
  Detection a;
  a.class_id = 1;
  a.label = "face";
  a.score = 0.875f;
  const float box[4] = {1.f, 2.504f, 3.25f, 640.f};
  std::copy(box, box + 4, a.bbox);
  Detection b = a;
  b.label = "dog";
  b.score = 0.1234567f;
  EXPECT_EQ(detections_to_json({a, b}),
            R"([{"label":"face","score":0.875,"bbox":[1.0,2.5,3.25,640.0]},)"
            R"({"label":"dog","score":0.123457,"bbox":[1.0,2.5,3.25,640.0]}])");
  EXPECT_EQ(detections_to_json({}), "[]");
}

TEST(Detector, UltraFaceModelEndToEnd) {
  if (!fs::exists(kUltraFace)) GTEST_SKIP() << "shared/ not present: " << kUltraFace;
  // No metadata, no sidecar beside the shared model: the clear error.
  EXPECT_EQ(error_of([] { Detector d(kUltraFace); }),
            kUltraFace + ": no detector metadata (key vedge.detector) and no sidecar " +
                sidecar_path(kUltraFace) + "; pass --spec FILE");
  Detector det(kUltraFace, kSidecar);
  EXPECT_EQ(det.num_anchors(), 4420);
  EXPECT_EQ(det.num_classes(), 2);
  // A flat gray image holds no face at the sidecar's 0.7 threshold; with the
  // threshold at 0 every box must still lie inside the image and respect NMS.
  Image img;
  img.width = 200;
  img.height = 150;
  img.rgb.assign(200 * 150 * 3, 128);
  StageTimes t;
  EXPECT_TRUE(det.detect(img, {}, &t).empty());
  EXPECT_GT(t.inference_ms, 0.0);
  DetectOptions o;
  o.score_threshold = 0.0f;
  o.max_detections = 50;
  auto dets = det.detect(img, o);
  ASSERT_EQ(dets.size(), 50u);
  for (size_t i = 0; i < dets.size(); ++i) {
    EXPECT_EQ(dets[i].label, "face");
    EXPECT_GE(dets[i].bbox[0], 0.f);
    EXPECT_LE(dets[i].bbox[2], 200.f);
    EXPECT_LE(dets[i].bbox[3], 150.f);
    if (i) {
      EXPECT_LE(dets[i].score, dets[i - 1].score);
    }
    for (size_t j = 0; j < i; ++j) EXPECT_LE(box_iou(dets[i].bbox, dets[j].bbox), 0.3f + 1e-6f);
  }
  const nlohmann::json j = nlohmann::json::parse(detections_to_json(dets));
  ASSERT_EQ(j.size(), 50u);
  EXPECT_EQ(j[0]["label"], "face");
  EXPECT_EQ(j[0]["bbox"].size(), 4u);
  EXPECT_NEAR(j[0]["score"].get<double>(), dets[0].score, 1e-6);
}
