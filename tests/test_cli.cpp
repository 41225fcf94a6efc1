// The vedge CLI on bad input: every case must end with exactly one error
// line on stderr that names the file and the problem, exit code 1, and no
// crash (a signal would show as a different status).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "onnx_builder.h"
#include "runtime/image.h"

namespace fs = std::filesystem;
using vedge::test::OnnxBuilder;

namespace {

struct CliRun {
  int status = -1;  // exit code, or -1 if killed by a signal
  std::string out, err;
};

// A folder per test (set in SetUp): CTest runs the tests in parallel.
std::string kWork;

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

CliRun run_vedge(const std::string& args) {
  std::string out = kWork + "/stdout.txt", err = kWork + "/stderr.txt";
  std::string cmd = std::string(VEDGE_CLI) + " " + args + " >" + out + " 2>" + err;
  int rc = std::system(cmd.c_str());
  CliRun r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A tiny valid model: one 3x3 convolution, no detector metadata.
std::string tiny_conv_model() {
  OnnxBuilder b(13);
  b.input("images", {1, 3, 16, 16});
  b.initializer("w", {2, 3, 3, 3}, std::vector<float>(54, 0.1f));
  b.node("Conv", {"images", "w"}, {"y"}, {vedge::test::attr_ints("pads", {1, 1, 1, 1})});
  b.output("y");
  return b.bytes();
}

std::string shared_model() {
  return std::string(VEDGE_SHARED_DIR) + "/models/ultraface-rfb-320.onnx";
}
std::string ultraface_spec() {
  return std::string(VEDGE_SOURCE_DIR) + "/models/ultraface-rfb-320.vedge.json";
}

// One line on stderr containing every needle, and exit code 1.
void expect_one_error_line(const CliRun& r, std::initializer_list<std::string> needles) {
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "missing '" << n << "' in: " << r.err;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    kWork = std::string(VEDGE_TEST_WORK_DIR) + "/cli/" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(kWork);
  }
};

}  // namespace

TEST_F(Cli, TruncatedModel) {
  std::string m = tiny_conv_model();
  write(kWork + "/truncated.onnx", m.substr(0, m.size() / 2));
  expect_one_error_line(run_vedge("info " + kWork + "/truncated.onnx"), {"truncated.onnx"});
}

TEST_F(Cli, RandomBytesModel) {
  std::mt19937 rng(1);
  std::string junk(4096, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  write(kWork + "/random.onnx", junk);
  expect_one_error_line(run_vedge("info " + kWork + "/random.onnx"), {"random.onnx"});
}

TEST_F(Cli, ZeroByteAndMissingModel) {
  write(kWork + "/empty.onnx", "");
  expect_one_error_line(run_vedge("info " + kWork + "/empty.onnx"), {"empty.onnx"});
  expect_one_error_line(run_vedge("info " + kWork + "/does-not-exist.onnx"), {"does-not-exist.onnx"});
}

TEST_F(Cli, UnsupportedOpNamesOpAndNode) {
  OnnxBuilder b(13);
  b.input("x", {1, 4});
  b.node("Einsum", {"x", "x"}, {"y"}, {vedge::test::attr_s("equation", "ij,ij->ij")}).set_name("mix");
  b.output("y");
  write(kWork + "/einsum.onnx", b.bytes());
  expect_one_error_line(run_vedge("info " + kWork + "/einsum.onnx"), {"einsum.onnx", "Einsum", "mix"});
}

TEST_F(Cli, ModelWithoutDetectorMetadata) {
  write(kWork + "/tiny.onnx", tiny_conv_model());
  vedge::Image img;
  img.width = img.height = 32;
  img.rgb.assign(32 * 32 * 3, 128);
  vedge::write_png(kWork + "/gray.png", img);
  expect_one_error_line(run_vedge("detect " + kWork + "/tiny.onnx " + kWork + "/gray.png"),
                        {"tiny.onnx", "vedge.detector"});
}

TEST_F(Cli, BadImages) {
  if (!fs::exists(shared_model())) GTEST_SKIP() << "../shared absent: " << shared_model();
  vedge::Image img;
  img.width = 64, img.height = 48;
  img.rgb.assign(64 * 48 * 3, 90);
  vedge::write_jpeg(kWork + "/ok.jpg", img);
  std::string jpg = slurp(kWork + "/ok.jpg");
  write(kWork + "/zero.jpg", "");
  write(kWork + "/truncated.jpg", jpg.substr(0, jpg.size() / 3));
  write(kWork + "/garbage.png", std::string(300, '\x5a'));
  vedge::Image one;
  one.width = one.height = 1;
  one.rgb = {1, 2, 3};
  vedge::write_png(kWork + "/one.png", one);
  // A BMP header claiming 20000x20000 24-bit pixels, with no pixel data.
  std::string bmp(54, '\0');
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bmp[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  bmp[0] = 'B', bmp[1] = 'M';
  put32(2, 54 + 20000u * 20000u * 3u);
  put32(10, 54);
  put32(14, 40);
  put32(18, 20000);
  put32(22, 20000);
  bmp[26] = 1, bmp[28] = 24;
  write(kWork + "/bomb.bmp", bmp);
  for (const char* name : {"zero.jpg", "truncated.jpg", "garbage.png", "one.png", "bomb.bmp"}) {
    SCOPED_TRACE(name);
    CliRun r = run_vedge("detect " + shared_model() + " --spec " + ultraface_spec() + " " + kWork + "/" + name);
    expect_one_error_line(r, {name});
  }
  // A good image alongside still gets its result, and the run still fails.
  CliRun r = run_vedge("detect " + shared_model() + " --spec " + ultraface_spec() + " " + kWork +
                "/ok.jpg " + kWork + "/zero.jpg");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("ok.jpg"), std::string::npos);
}

TEST_F(Cli, BadFlags) {
  write(kWork + "/tiny.onnx", tiny_conv_model());
  expect_one_error_line(run_vedge("bench " + kWork + "/tiny.onnx --runz 3"), {"--runz"});
  expect_one_error_line(run_vedge("bench " + kWork + "/tiny.onnx --threads many"), {"--threads", "many"});
  expect_one_error_line(run_vedge("bench " + kWork + "/tiny.onnx --runs 0"), {"--runs"});
}

TEST_F(Cli, RunWritesOutputsAndRejectsWrongShapes) {
  write(kWork + "/tiny.onnx", tiny_conv_model());
  // A wrong-shape .npy input: float32 [1,3,8,8].
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8, 8), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string npy = std::string("\x93NUMPY\x01\x00", 8);
  npy += static_cast<char>(header.size() & 0xff);
  npy += static_cast<char>(header.size() >> 8);
  npy += header + std::string(3 * 8 * 8 * 4, '\0');
  write(kWork + "/small.npy", npy);
  expect_one_error_line(run_vedge("run " + kWork + "/tiny.onnx --input " + kWork + "/small.npy --out " + kWork + "/runout"),
                        {"small.npy", "[1,3,16,16]"});
}

TEST_F(Cli, JsonOutputsParseAndAreConsistent) {
  if (!fs::exists(shared_model())) GTEST_SKIP() << "../shared absent: " << shared_model();
  const std::string img =
      std::string(VEDGE_SHARED_DIR) + "/data/coco128/images/val2017/000000001000.jpg";
  CliRun d = run_vedge("detect " + shared_model() + " --spec " + ultraface_spec() + " " + img + " --json");
  ASSERT_EQ(d.status, 0) << d.err;
  auto j = nlohmann::json::parse(d.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["width"], 640);
  ASSERT_GE(j[0]["detections"].size(), 2u);
  for (const auto& det : j[0]["detections"]) {
    EXPECT_EQ(det["label"], "face");
    ASSERT_EQ(det["bbox"].size(), 4u);
    EXPECT_LT(det["bbox"][0].get<double>(), det["bbox"][2].get<double>());
    EXPECT_GT(det["score"].get<double>(), 0.7);  // the spec's threshold
  }

  // bench --json: the statistics are those of the recorded samples.
  CliRun b = run_vedge("bench " + shared_model() + " --spec " + ultraface_spec() +
                       " --warmup 1 --runs 7 --json " + kWork + "/bench.json");
  ASSERT_EQ(b.status, 0) << b.err;
  auto r = nlohmann::json::parse(slurp(kWork + "/bench.json"));
  for (const char* stage : {"preprocess", "inference", "decode", "nms", "total"}) {
    std::vector<double> s = r["samples_ms"][stage].get<std::vector<double>>();
    ASSERT_EQ(s.size(), 7u) << stage;
    std::sort(s.begin(), s.end());
    EXPECT_DOUBLE_EQ(r["stages"][stage]["p50"].get<double>(), s[3]) << stage;
    EXPECT_DOUBLE_EQ(r["stages"][stage]["min"].get<double>(), s[0]) << stage;
  }
  EXPECT_EQ(r["file_bytes"].get<uint64_t>(), fs::file_size(shared_model()));

  CliRun i = run_vedge("info " + shared_model() + " --spec " + ultraface_spec() + " --json");
  ASSERT_EQ(i.status, 0) << i.err;
  auto info = nlohmann::json::parse(i.out);
  EXPECT_EQ(info["inputs"][0]["shape"], (std::vector<int>{1, 3, 240, 320}));
  EXPECT_EQ(info["detector"]["anchors"], 4420);
}

// vedge eval on bad input: one error line naming the file and the problem.
TEST_F(Cli, EvalBadInput) {
  const std::string gt = kWork + "/gt.json", dets = kWork + "/dets.json";
  write(gt, R"({"images": [{"id": 1, "width": 640, "height": 480}],
                "categories": [{"id": 3, "name": "car"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [10, 10, 50, 50], "area": 2500}]})");
  auto eval = [&](const std::string& det_json) {
    write(dets, det_json);
    return run_vedge("eval --detections " + dets + " --gt " + gt);
  };
  expect_one_error_line(eval(R"([{"image_id": 2, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 0.5}])"),
                        {"dets.json", "unknown image id 2"});
  expect_one_error_line(eval(R"([{"image_id": 1, "category_id": 3, "bbox": [0, 0, -5, 5], "score": 0.5}])"),
                        {"dets.json", "negative width"});
  expect_one_error_line(eval(R"([{"image_id": 1, "category_id": 3, "bbox": [0, 0, 5, 5], "score": NaN}])"),
                        {"dets.json", "NaN"});
  expect_one_error_line(run_vedge("eval --detections " + dets + " --gt " + kWork + "/missing.json"),
                        {"missing.json", "cannot open"});
  expect_one_error_line(run_vedge("eval --detections " + kWork + "/missing-dets.json --gt " + gt),
                        {"missing-dets.json", "cannot open"});
  write(kWork + "/empty-gt.json", R"({"images": [{"id": 1}], "categories": [{"id": 3, "name": "car"}],
                                       "annotations": []})");
  expect_one_error_line(run_vedge("eval --detections " + dets + " --gt " + kWork + "/empty-gt.json"),
                        {"empty-gt.json", "dataset has no boxes"});
  expect_one_error_line(run_vedge("eval --gt " + gt), {"--detections"});
  expect_one_error_line(run_vedge("eval --detections " + dets + " --gt " + gt + " --metric kitti"),
                        {"--metric", "kitti"});
}

// vedge eval on a hand case: one FP above the TP gives AP 0.5 (see
// test_coco_eval.cpp), in the printed table and in the JSON report.
TEST_F(Cli, EvalPrintsAndWritesTheNumbers) {
  const std::string gt = kWork + "/gt.json", dets = kWork + "/dets.json";
  write(gt, R"({"images": [{"id": 1, "width": 640, "height": 480}],
                "categories": [{"id": 3, "name": "car"}, {"id": 8, "name": "truck"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [100, 100, 50, 50], "area": 2500}]})");
  write(dets, R"([{"image_id": 1, "category_id": 3, "bbox": [400, 300, 50, 50], "score": 0.9},
                  {"image_id": 1, "category_id": 3, "bbox": [100, 100, 50, 50], "score": 0.8}])");
  CliRun r = run_vedge("eval --detections " + dets + " --gt " + gt + " --json " + kWork + "/eval.json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.500"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.000"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("car"), std::string::npos);
  auto j = nlohmann::json::parse(slurp(kWork + "/eval.json"));
  EXPECT_NEAR(j["stats"]["AP"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(j["stats"]["AR10"].get<double>(), 1, 1e-12);
  EXPECT_EQ(j["stats"]["APs"].get<double>(), -1);
  ASSERT_EQ(j["classes"].size(), 2u);
  EXPECT_EQ(j["classes"][1]["name"], "truck");
  EXPECT_EQ(j["classes"][1]["ap"].get<double>(), -1);
  EXPECT_EQ(j["classes"][0]["pr_iou50"].size(), 101u);

  // VOC: recall [0, 1], precision [0, 1/2]: all-point 0.5, 11-point 0.5.
  CliRun v = run_vedge("eval --metric voc --detections " + dets + " --gt " + gt + " --json " + kWork + "/voc.json");
  ASSERT_EQ(v.status, 0) << v.err;
  EXPECT_NE(v.out.find("mAP (all-point) = 0.500"), std::string::npos) << v.out;
  auto vj = nlohmann::json::parse(slurp(kWork + "/voc.json"));
  EXPECT_NEAR(vj["all_point"]["map"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(vj["eleven_point"]["map"].get<double>(), 0.5, 1e-12);
}

// vedge eval MODEL over a dataset runs the same path as vedge detect: ground
// truth made from `detect --json` boxes (plus one face the model cannot see)
// must come back as found. 5 detected faces + 1 extra box: every detection a
// TP (precision 1) up to recall 5/6, so AP50 = 84/101 (thresholds 0..0.83)
// and AR100 = 5/6; the boxes agree to the 0.01 px rounding of the JSON, so
// the same holds at IoU 0.95.
TEST_F(Cli, EvalModelOverADatasetMatchesDetect) {
  if (!fs::exists(shared_model())) GTEST_SKIP() << "../shared absent: " << shared_model();
  const std::string dir = std::string(VEDGE_SHARED_DIR) + "/data/coco128/images/train2017";
  const std::vector<std::string> files = {"000000000009.jpg", "000000000036.jpg", "000000000110.jpg",
                                          "000000000113.jpg"};
  std::string args;
  for (const auto& f : files) args += " " + dir + "/" + f;
  CliRun d = run_vedge("detect " + shared_model() + " --spec " + ultraface_spec() + args + " --json");
  ASSERT_EQ(d.status, 0) << d.err;
  auto per_image = nlohmann::json::parse(d.out);
  nlohmann::json gt = {{"images", nlohmann::json::array()},
                       {"categories", {{{"id", 1}, {"name", "face"}}}},
                       {"annotations", nlohmann::json::array()}};
  int ann = 0;
  for (size_t i = 0; i < per_image.size(); ++i) {
    gt["images"].push_back({{"id", 100 + i}, {"file_name", files[i]}, {"width", per_image[i]["width"]},
                            {"height", per_image[i]["height"]}});
    for (const auto& det : per_image[i]["detections"]) {
      double x1 = det["bbox"][0], y1 = det["bbox"][1], x2 = det["bbox"][2], y2 = det["bbox"][3];
      gt["annotations"].push_back({{"id", ++ann}, {"image_id", 100 + i}, {"category_id", 1},
                                   {"bbox", {x1, y1, x2 - x1, y2 - y1}}, {"area", (x2 - x1) * (y2 - y1)}});
    }
  }
  ASSERT_EQ(ann, 5) << d.out;  // 0, 1, 2, 2 faces
  gt["annotations"].push_back({{"id", ++ann}, {"image_id", 100}, {"category_id", 1},
                               {"bbox", {10, 10, 60, 60}}, {"area", 3600}});
  write(kWork + "/gt.json", gt.dump());
  CliRun e = run_vedge("eval " + shared_model() + " --spec " + ultraface_spec() + " --data " + kWork +
                       "/gt.json --images " + dir + " --json " + kWork + "/eval.json --save-detections " +
                       kWork + "/dets.json");
  ASSERT_EQ(e.status, 0) << e.err;
  auto j = nlohmann::json::parse(slurp(kWork + "/eval.json"));
  EXPECT_NEAR(j["stats"]["AP50"].get<double>(), 84.0 / 101, 1e-9);
  EXPECT_NEAR(j["stats"]["AP"].get<double>(), 84.0 / 101, 1e-9);
  EXPECT_NEAR(j["stats"]["AR100"].get<double>(), 5.0 / 6, 1e-9);
  // The saved detections give the same numbers through --detections.
  CliRun again = run_vedge("eval --detections " + kWork + "/dets.json --gt " + kWork + "/gt.json --json " +
                           kWork + "/again.json");
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(kWork + "/again.json"))["stats"], j["stats"]);

  // A dataset whose categories the model does not know is an error.
  gt["categories"][0]["name"] = "car";
  write(kWork + "/cars.json", gt.dump());
  expect_one_error_line(run_vedge("eval " + shared_model() + " --spec " + ultraface_spec() + " --data " + kWork +
                                  "/cars.json --images " + dir),
                        {"ultraface-rfb-320.onnx", "cars.json", "face"});
}

// `vedge convert` / `vedge export` (tools/export/tflite_export.h): a plain
// network converts (fp32, fp16) with one summary line; bad flags and inputs
// give one error line, exit 1 and no file.
TEST_F(Cli, ConvertToTflite) {
  OnnxBuilder b(13);  // 64 filters: enough weights for float16 to show in the file size
  b.input("images", {1, 3, 16, 16});
  std::vector<float> w(64 * 27);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(i % 97) - 0.4f;
  b.initializer("w", {64, 3, 3, 3}, w);
  b.node("Conv", {"images", "w"}, {"y"}, {vedge::test::attr_ints("pads", {1, 1, 1, 1})});
  b.output("y");
  write(kWork + "/tiny.onnx", b.bytes());
  for (const char* p : {"fp32", "fp16"}) {
    const std::string out = kWork + "/tiny_" + p + ".tflite";
    const CliRun r = run_vedge("convert " + kWork + "/tiny.onnx --to tflite --precision " + p + " -o " + out);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find(std::string("tflite ") + p), std::string::npos) << r.out;
    const std::string bytes = slurp(out);
    ASSERT_GT(bytes.size(), 8u);
    EXPECT_EQ(bytes.substr(4, 4), "TFL3");
    // The file describes its variant ("vedge.tflite" metadata, stored verbatim).
    EXPECT_NE(bytes.find(std::string("{\"precision\":\"") + p + "\",\"io\":\"float\",\"layout\":\"NHWC\""),
              std::string::npos);
  }
  // 64 x 27 weights: 6912 bytes as float32, 3456 as float16.
  EXPECT_LT(fs::file_size(kWork + "/tiny_fp16.tflite") + 3000, fs::file_size(kWork + "/tiny_fp32.tflite"));
}

TEST_F(Cli, ConvertAndExportBadFlags) {
  write(kWork + "/tiny.onnx", tiny_conv_model());
  const std::string m = kWork + "/tiny.onnx", out = kWork + "/out.tflite";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"convert " + m + " --precision int8 -o " + out, {"tiny.onnx", "--calib"}},
      {"convert " + m + " --precision fp16 --io int8 -o " + out, {"--io", "int8 only"}},
      {"convert " + m + " --precision fp32 --calib " + kWork + " -o " + out, {"--calib", "int8 only"}},
      {"convert " + m + " --precision int4 -o " + out, {"int4"}},
      {"convert " + m + " --to coreml -o " + out, {"--to", "coreml"}},
      {"convert " + m + " --nms-in-graph -o " + out, {"tiny.onnx", "detector spec"}},
      {"convert " + m + " --max-detections 5 -o " + out, {"--max-detections", "--nms-in-graph"}},
      {"convert " + m + " --io int9 --precision int8 -o " + out, {"--io", "int9"}},
      {"convert " + m + " -o " + kWork + "/out.onnx", {".tflite"}},
      {"convert " + m + " --to tflite", {"-o"}},
      {"convert " + kWork + "/missing.onnx -o " + out, {"missing.onnx"}},
      {"export " + m + " --out " + kWork + "/all --calib " + kWork, {"--all"}},
      {"export " + m + " --all --out " + kWork + "/all", {"--calib"}},
      {"export " + m + " --all --calib " + kWork + " --out " + kWork + "/all --precision fp16", {"--precision"}},
  };
  for (const auto& [args, needles] : cases) {
    SCOPED_TRACE(args);
    const CliRun r = run_vedge(args);
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "missing '" << n << "' in: " << r.err;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(kWork + "/out.onnx"));
    EXPECT_FALSE(fs::exists(kWork + "/all"));
  }
}
