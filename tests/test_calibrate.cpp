// test_calibrate.cpp: the calibration pass (tools/quantize/calibrate.h).
// calibrate() and collect_activations() on a small ONNX graph built in C++
// (tests/onnx_builder.h) whose activation ranges are computed by hand, both
// backends; a value fused away by the importer is a clear error.
// load_calibration_set() on a synthetic shapes dataset read as COCO JSON,
// YOLO, VOC and as a plain image folder: the same images, and every input
// equal to the Preprocessor's output for the decoded file (the Detector's
// preprocessing) and to what a Detector writes into its network input;
// deterministic sample choice; mixed image sizes; bad input (no images,
// unreadable image, samples < 1, missing path).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "data/synthetic.h"
#include "data/voc.h"
#include "data/yolo.h"
#include "data_test_util.h"
#include "onnx_builder.h"
#include "runtime/detector.h"
#include "runtime/image.h"
#include "runtime/onnx_import.h"
#include "runtime/preprocess.h"
#include "tools/quantize/calibrate.h"

namespace vedge {
namespace {

using test::error_of;
using test::expect_error;
using test::fresh_dir;

// images [1,3,4,4] -> Conv 1x1 (3 -> 2: c0 = x0, c1 = 0.5 - x1) -> Relu "r"
// -> Mul 2 "m" -> Add -1 "out". The importer fuses the Relu into the Conv,
// so the Conv's own output "c" no longer exists.
Graph small_graph() {
  test::OnnxBuilder b(13);
  b.input("images", {1, 3, 4, 4});
  b.initializer("w", {2, 3, 1, 1}, {1, 0, 0, 0, -1, 0});
  b.initializer("bias", {2}, {0.f, 0.5f});
  b.initializer("two", {1}, {2.f});
  b.initializer("minus_one", {1}, {-1.f});
  b.node("Conv", {"images", "w", "bias"}, {"c"});
  b.node("Relu", {"c"}, {"r"});
  b.node("Mul", {"r", "two"}, {"m"});
  b.node("Add", {"m", "minus_one"}, {"out"});
  b.output("out");
  return import_onnx_bytes(b.bytes(), "small.onnx");
}

Tensor image_tensor(const std::vector<float>& c0, const std::vector<float>& c1,
                    const std::vector<float>& c2) {
  std::vector<float> v;
  for (const auto* c : {&c0, &c1, &c2}) v.insert(v.end(), c->begin(), c->end());
  return Tensor::from_floats({1, 3, 4, 4}, v);
}

std::vector<float> linspace(float a, float b) {  // 16 values
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = a + (b - a) * float(i) / 15.f;
  return v;
}

// Two inputs: (x0 = -2..1, x1 = 3, x2 = 0) and (x0 = 0.5, x1 = -1..0.5, x2 = 7).
// By hand: images [-2, 7]; r = relu(x0) | relu(0.5 - x1): [0, 1] | [0, 1.5]
// -> [0, 1.5]; m = 2r: [0, 3]; out = m - 1: [-1, 2].
CalibrationSet hand_set() {
  CalibrationSet set;
  set.input.name = "images";
  set.input.width = set.input.height = 4;
  set.inputs.push_back(
      image_tensor(linspace(-2, 1), std::vector<float>(16, 3.f), std::vector<float>(16, 0.f)));
  set.inputs.push_back(
      image_tensor(std::vector<float>(16, 0.5f), linspace(-1, 0.5f), std::vector<float>(16, 7.f)));
  set.files = {"a", "b"};
  return set;
}

TEST(Calibrate, MinMaxRangesOfASmallGraphByHand) {
  const Graph g = small_graph();
  const CalibrationSet set = hand_set();
  for (Backend be : {Backend::Fast, Backend::Reference}) {
    SessionOptions so;
    so.backend = be;
    auto ranges = calibrate(g, {"images", "r", "m", "out"}, set, CalibOptions{}, false, so);
    ASSERT_EQ(ranges.size(), 4u);
    auto expect = [&](const std::string& v, float lo, float hi) {
      EXPECT_FLOAT_EQ(ranges.at(v).lo, lo) << v;
      EXPECT_FLOAT_EQ(ranges.at(v).hi, hi) << v;
    };
    expect("images", -2.f, 7.f);
    expect("r", 0.f, 1.5f);
    expect("m", 0.f, 3.f);
    expect("out", -1.f, 2.f);
  }
}

TEST(Calibrate, EveryMethodEqualsItsObserverAndIsReproducible) {
  const Graph g = small_graph();
  const CalibrationSet set = hand_set();
  const std::vector<std::string> values = {"r", "out"};
  auto obs = observe_activations(g, values, set, 64);
  ASSERT_EQ(obs.size(), 2u);
  EXPECT_EQ(obs.at("r").count(), 2 * 2 * 16);
  for (CalibMethod m :
       {CalibMethod::MinMax, CalibMethod::Percentile, CalibMethod::Entropy, CalibMethod::Mse}) {
    CalibOptions opt;
    opt.method = m;
    opt.bins = 64;
    opt.percentile = 90;
    auto a = calibrate(g, values, set, opt), b = calibrate(g, values, set, opt);
    for (const auto& v : values) {
      const TensorRange want = obs.at(v).range(opt);
      EXPECT_EQ(std::memcmp(&a.at(v), &want, sizeof want), 0) << v << " " << calib_method_name(m);
      EXPECT_EQ(std::memcmp(&a.at(v), &b.at(v), sizeof want), 0) << v << " " << calib_method_name(m);
    }
  }
  // Percentile 90 of r (64 values, 35 of them 0) cuts below the maximum.
  CalibOptions p;
  p.method = CalibMethod::Percentile;
  p.percentile = 90;
  EXPECT_LT(calibrate(g, {"r"}, set, p).at("r").hi, 1.5f);
}

TEST(Calibrate, CollectActivationsGivesTheValues) {
  const Graph g = small_graph();
  const CalibrationSet set = hand_set();
  auto acts = collect_activations(g, {"r", "out"}, set.inputs[1]);
  ASSERT_EQ(acts.size(), 2u);
  const Tensor& r = acts.at("r");
  ASSERT_EQ(shape_str(r.shape()), "[1,2,4,4]");
  const std::vector<float> x1 = linspace(-1, 0.5f);
  for (int i = 0; i < 16; ++i) {
    EXPECT_FLOAT_EQ(r.data<float>()[i], 0.5f);  // relu(x0 = 0.5)
    EXPECT_FLOAT_EQ(r.data<float>()[16 + i], std::max(0.f, 0.5f - x1[i]));
    EXPECT_FLOAT_EQ(acts.at("out").data<float>()[16 + i], 2 * std::max(0.f, 0.5f - x1[i]) - 1);
  }
}

TEST(Calibrate, BadValuesAndSetsAreClearErrors) {
  const Graph g = small_graph();
  const CalibrationSet set = hand_set();
  // "c" was fused into the Conv by the importer.
  expect_error(error_of([&] { calibrate(g, {"r", "c"}, set, CalibOptions{}); }), {"'c'", "not in the graph"});
  expect_error(error_of([&] { collect_activations(g, {"nope"}, set.inputs[0]); }),
               {"'nope'", "not in the graph"});
  expect_error(error_of([&] { calibrate(g, {"w"}, set, CalibOptions{}); }), {"'w'", "constant"});
  expect_error(error_of([&] { calibrate(g, {"r"}, CalibrationSet{}, CalibOptions{}); }),
               {"calibration set is empty"});
  CalibOptions bad;
  bad.percentile = 0;
  expect_error(error_of([&] { calibrate(g, {"r"}, set, bad); }), {"percentile"});
  CalibrationSet wrong = set;
  wrong.inputs[1] = Tensor(DType::F32, {1, 3, 8, 8});
  expect_error(error_of([&] { calibrate(g, {"r"}, wrong, CalibOptions{}); }),
               {"calibration: b gives", "[1,3,8,8]", "'images'", "[1,3,4,4]"});
  CalibrationSet nan = set;
  nan.inputs[1] = set.inputs[1].clone();
  nan.inputs[1].data<float>()[0] = std::nanf("");
  expect_error(error_of([&] { calibrate(g, {"images"}, nan, CalibOptions{}); }),
               {"value 'images' on b:", "NaN"});
}

// -- the calibration set -----------------------------------------------------------

InputSpec spec() {
  InputSpec s;
  s.name = "images";
  s.width = 32;
  s.height = 24;
  s.color = ColorOrder::BGR;
  const float mean[3] = {10, 20, 30}, std[3] = {50, 60, 70};
  for (int c = 0; c < 3; ++c) s.mean[c] = mean[c], s.std[c] = std[c];
  return s;
}

// Every input is the Preprocessor's output for the decoded file.
void expect_preprocessed(const CalibrationSet& set, const InputSpec& s) {
  ASSERT_EQ(set.files.size(), set.inputs.size());
  for (size_t i = 0; i < set.files.size(); ++i) {
    const Tensor& t = set.inputs[i];
    ASSERT_EQ(shape_str(t.shape()), "[1,3,24,32]") << set.files[i];
    std::vector<float> want(3 * 24 * 32);
    preprocess(decode_image_file(set.files[i]), s, want.data());
    EXPECT_EQ(std::memcmp(t.data<float>(), want.data(), want.size() * sizeof(float)), 0) << set.files[i];
  }
}

std::vector<std::string> names(const std::vector<std::string>& files) {
  std::vector<std::string> n;
  for (const auto& f : files) n.push_back(std::filesystem::path(f).filename().string());
  return n;
}

// Each test gets its own folder (ctest runs tests in parallel processes)
// holding a 6-image synthetic shapes dataset (COCO JSON + PNG images).
class CalibrationSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fresh_dir(std::string("calibrate/") +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ShapesConfig cfg;
    cfg.num_images = 6;
    cfg.width = 64;
    cfg.height = 48;
    cfg.min_size = 10;
    cfg.max_size = 30;
    cfg.small_min_size = 8;
    cfg.image_ext = ".png";
    cfg.threads = 1;
    data_ = generate_shapes(cfg, root_ + "/shapes", "train");
  }
  std::string root_;
  Dataset data_;
};

TEST_F(CalibrationSetTest, CocoJsonFirstSamplesInSortedOrder) {
  CalibSetOptions o;
  o.samples = 4;
  const CalibrationSet set = load_calibration_set(root_ + "/shapes/train.json", spec(), o);
  ASSERT_EQ(set.files.size(), 4u);
  std::vector<std::string> all;
  for (const auto& im : data_.images) all.push_back(std::filesystem::path(im.file_name).filename().string());
  std::sort(all.begin(), all.end());
  all.resize(4);
  EXPECT_EQ(names(set.files), all);
  EXPECT_EQ(set.input.width, 32);
  expect_preprocessed(set, spec());
}

TEST_F(CalibrationSetTest, ImageFolderYoloAndVocGiveTheSameInputs) {
  CalibSetOptions o;
  o.samples = 100;  // more than there are: all 6
  const CalibrationSet coco = load_calibration_set(root_ + "/shapes/train.json", spec(), o);
  ASSERT_EQ(coco.files.size(), 6u);
  write_yolo_dataset(data_, root_ + "/yolo");
  write_voc_dataset(data_, root_ + "/voc");
  for (const std::string& path : {root_ + "/shapes/train/images", root_ + "/yolo", root_ + "/voc"}) {
    const CalibrationSet set = load_calibration_set(path, spec(), o);
    ASSERT_EQ(names(set.files), names(coco.files)) << path;
    for (size_t i = 0; i < set.inputs.size(); ++i)
      EXPECT_EQ(std::memcmp(set.inputs[i].raw(), coco.inputs[i].raw(), coco.inputs[i].nbytes()), 0) << path;
  }
  // An explicit format reads the same.
  o.format = "yolo";
  EXPECT_EQ(names(load_calibration_set(root_ + "/yolo", spec(), o).files), names(coco.files));
  o.format = "images";
  EXPECT_EQ(names(load_calibration_set(root_ + "/shapes/train/images", spec(), o).files), names(coco.files));
}

TEST_F(CalibrationSetTest, SeedPicksADeterministicShuffle) {
  CalibSetOptions o;
  o.samples = 3;
  o.seed = 7;
  const std::string json = root_ + "/shapes/train.json";
  const CalibrationSet a = load_calibration_set(json, spec(), o), b = load_calibration_set(json, spec(), o);
  EXPECT_EQ(a.files, b.files);
  ASSERT_EQ(a.files.size(), 3u);
  o.seed = 0;
  const CalibrationSet first = load_calibration_set(json, spec(), o);
  EXPECT_NE(a.files, first.files);
  std::vector<std::string> sorted = a.files;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());  // no repeats
  expect_preprocessed(a, spec());
}

TEST_F(CalibrationSetTest, ImagesOfDifferentSizesAreResizedLikeInference) {
  const std::string dir = root_ + "/mixed/plain";
  test::write_solid_image(dir + "/a.png", 40, 30, 200, 10, 10);
  test::write_solid_image(dir + "/b.jpg", 100, 20, 10, 200, 10);
  test::write_solid_image(dir + "/c.bmp.png", 9, 64, 10, 10, 200);
  test::write_file(dir + "/notes.txt", "not an image");
  const CalibrationSet set = load_calibration_set(dir, spec(), CalibSetOptions{});
  EXPECT_EQ(names(set.files), (std::vector<std::string>{"a.png", "b.jpg", "c.bmp.png"}));
  expect_preprocessed(set, spec());
}

TEST_F(CalibrationSetTest, BadInputIsAOneLineError) {
  CalibSetOptions o;
  o.samples = 0;
  expect_error(error_of([&] { load_calibration_set(root_ + "/shapes/train.json", spec(), o); }),
               {"samples", "at least 1", "0"});
  const std::string empty = root_ + "/empty/plain";
  std::filesystem::create_directories(empty);
  expect_error(error_of([&] { load_calibration_set(empty, spec(), CalibSetOptions{}); }),
               {empty, "no images"});
  const std::string bad = root_ + "/bad/plain";
  test::write_solid_image(bad + "/a.png", 16, 16);
  test::write_file(bad + "/b.png", "this is not a PNG");
  expect_error(error_of([&] { load_calibration_set(bad, spec(), CalibSetOptions{}); }), {"b.png"});
  expect_error(error_of([&] { load_calibration_set(root_ + "/missing", spec(), CalibSetOptions{}); }),
               {"missing", "no such file or folder"});
  o.samples = 10;
  o.format = "images";
  expect_error(error_of([&] { load_calibration_set(root_ + "/shapes/train.json", spec(), o); }),
               {"train.json", "not a folder"});
  o.format = "tiff";
  expect_error(error_of([&] { load_calibration_set(root_ + "/shapes", spec(), o); }), {"tiff"});
}

// The calibration input is exactly what the Detector writes into its
// session's input buffer for the same file (the shared UltraFace model and
// its spec; skipped when the shared folder is absent).
TEST(CalibrationSetDetector, EqualsWhatTheDetectorFeedsTheNetwork) {
  const std::string model = std::string(VEDGE_SHARED_DIR) + "/models/ultraface-rfb-320.onnx";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "shared model absent: " << model;
  // The network input made a graph output too, so that the session keeps
  // (and returns) what the Detector wrote into it.
  Graph g = import_onnx_file(model);
  g.outputs.push_back(g.inputs.at(0));
  Detector d;
  d.load(std::move(g), model, std::string(VEDGE_SOURCE_DIR) + "/models/ultraface-rfb-320.vedge.json");
  const std::string dir = fresh_dir("calibrate_detector/plain");
  ShapesConfig cfg;
  cfg.width = 200;  // not the network's 320 x 240: resized
  cfg.height = 150;
  cfg.max_size = 60;
  write_png(dir + "/a.png", render_shapes_image(cfg, "val", 0).image);
  const CalibrationSet set = load_calibration_set(dir, d.spec().input, CalibSetOptions{});
  ASSERT_EQ(set.inputs.size(), 1u);
  d.detect(decode_image_file(dir + "/a.png"));
  Session& s = d.session();
  const int out = s.output_index(d.spec().input.name);
  ASSERT_GE(out, 0);
  ASSERT_EQ(shape_str(s.output_info(out).shape), shape_str(set.inputs[0].shape()));
  const float* fed = static_cast<const float*>(s.output_data(out));
  const float* ours = set.inputs[0].data<float>();
  int64_t differ = 0;
  for (int64_t i = 0; i < set.inputs[0].numel(); ++i) differ += ours[i] != fed[i];
  EXPECT_EQ(differ, 0);
}

}  // namespace
}  // namespace vedge
