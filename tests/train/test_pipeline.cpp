// The pipeline (train/pipeline.h, `vedge-train pipeline`) end to end on a
// tiny synthetic configuration (96 + 16 images of 128 px, 4 epochs, width 0.5):
//   - the run folder holds every artifact (config, dataset, checkpoints,
//     model.onnx, eval.json, drawn detections, the three report files);
//   - eval.json equals `vedge eval MODEL --data` on the exported model with
//     the same thresholds (all 12 COCO numbers and the detection count);
//   - the sample detections equal `vedge detect --json` on the same images,
//     and the drawn images decode at the source size with boxes drawn;
//   - the report scores the model exactly as eval.json does;
//   - the TFLite variants (fp32, fp16, int8 from model-int8.onnx) are in the
//     report: their size always; latency and mAP where the runtime runs the
//     file, else a note saying why; the fp32 .tflite scores as model.onnx;
//   - re-running `vedge-train pipeline` on the folder skips every stage and
//     prints the same numbers; a different training configuration in the
//     folder is refused, a different quantize section re-runs only the int8
//     stages and the report.
// One test, marked slow: about 15 s on 2 idle cores (it trains 4 tiny epochs).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/image.h"
#include "train/config.h"
#include "train/pipeline.h"

namespace fs = std::filesystem;
using namespace vedge;

namespace {

const char* kTinyConfig = R"(name: tiny
seed: 3
threads: 2
data:
  synthetic:
    train_images: 96
    val_images: 16
    image_size: 128
    seed: 5
model:
  backbone: mobilenet_v3_small
  width: 0.5
  input_size: 128
  feature_maps: 2
augment:
  enabled: true
train:
  epochs: 4
  batch_size: 8
  workers: 1
  optimizer:
    name: adam
    lr: 0.003
  warmup_epochs: 0.5
eval:
  every: 1
  score_threshold: 0.01
  max_detections: 50
quantize:
  method: minmax
  samples: 8
)";

struct Output {
  int status = -1;
  std::string out;
};

// stdout (and stderr unless `stdout_only`) of a shell command.
Output run(const std::string& cmd, bool stdout_only = false) {
  Output o;
  FILE* p = popen((stdout_only ? cmd : cmd + " 2>&1").c_str(), "r");
  if (!p) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  o.status = pclose(p);
  return o;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

// One pipeline run checked by the functions below, in one test: CTest runs
// each TEST in its own process, and a run folder cannot be shared between
// processes that may run in parallel.
struct TinyRun {
  std::string dir, config;
  PipelineSummary summary;
};

TinyRun run_tiny_pipeline() {
  TinyRun t;
  t.dir = std::string(VEDGE_TEST_WORK_DIR) + "/pipeline/tiny";
  fs::remove_all(t.dir);
  fs::create_directories(t.dir);
  t.config = std::string(VEDGE_TEST_WORK_DIR) + "/pipeline/tiny.yaml";
  std::ofstream(t.config) << kTinyConfig;
  PipelineOptions opt;
  opt.out_dir = t.dir;
  opt.progress = false;
  opt.sample_images = 4;
  opt.sample_score_threshold = 0.05f;  // a barely trained model: keep low-score boxes to compare
  opt.bench_warmup = 1;
  opt.bench_runs = 3;
  opt.command = "test_pipeline";
  t.summary = run_pipeline(load_train_config(t.config), opt);
  return t;
}

void check_artifacts(const TinyRun& t) {
  for (const char* f : {"config.yaml", "data/train.json", "data/val.json", "checkpoints/last.pt", "checkpoints/best.pt",
                        "metrics.json", "model.onnx", "model-fp16.onnx", "model-int8.onnx", "model.tflite",
                        "model-fp16.tflite", "model-int8.tflite", "eval.json",
                        "detections/detections.json", "report/report.md",
                        "report/report.json", "report/report.html", "pipeline.json"})
    EXPECT_TRUE(fs::is_regular_file(t.dir + "/" + f)) << f;
  const nlohmann::json state = read_json(t.dir + "/pipeline.json");
  std::vector<std::string> names;
  for (const auto& s : state["stages"]) names.push_back(s["name"]);
  EXPECT_EQ(names,
            (std::vector<std::string>{"dataset", "train", "export", "fp16", "int8", "tflite-fp32", "tflite-fp16",
                                      "tflite-int8", "eval", "detect", "report"}));
  for (const StageRecord& s : t.summary.stages) EXPECT_FALSE(s.skipped) << s.name;
  EXPECT_EQ(t.summary.epochs, 4);
  EXPECT_GT(t.summary.train_images_per_second, 0);
  EXPECT_GT(t.summary.train_seconds, 0);
  // The summary's numbers are the files' numbers.
  const nlohmann::json e = read_json(t.dir + "/eval.json");
  EXPECT_EQ(t.summary.map50, e["stats"]["AP50"].get<double>());
  EXPECT_EQ(t.summary.map, e["stats"]["AP"].get<double>());
  EXPECT_EQ(e["images"].get<int>(), 16);
}

void check_eval_equals_vedge_eval(const TinyRun& t) {
  const nlohmann::json e = read_json(t.dir + "/eval.json");
  ASSERT_GT(e["detections"].get<int>(), 0) << "the model made no detections: nothing to compare";
  const std::string out = t.dir + "/../vedge_eval.json";
  const nlohmann::json& o = e["options"];
  std::ostringstream cmd;
  cmd << VEDGE_CLI << " eval " << t.dir << "/model.onnx --data " << e["gt"].get<std::string>() << " --images "
      << e["images_dir"].get<std::string>() << " --score-thresh " << o["score_thresh"].get<double>()
      << " --iou-thresh " << o["iou_thresh"].get<double>() << " --max-detections " << o["max_detections"].get<int>()
      << " --threads " << o["threads"].get<int>() << " --json " << out;
  Output r = run(cmd.str());
  ASSERT_EQ(r.status, 0) << cmd.str() << "\n" << r.out;
  const nlohmann::json v = read_json(out);
  EXPECT_EQ(v["detections"].get<int>(), e["detections"].get<int>());
  EXPECT_EQ(v["ground_truth"].get<int>(), e["ground_truth"].get<int>());
  for (const auto& [k, val] : e["stats"].items()) EXPECT_EQ(v["stats"][k].get<double>(), val.get<double>()) << k;
}

void check_detections_equal_vedge_detect(const TinyRun& t) {
  const nlohmann::json dets = read_json(t.dir + "/detections/detections.json");
  ASSERT_EQ(dets.size(), 4u);
  size_t boxes = 0;
  for (const auto& d : dets) {
    const std::string image = d["image"];
    Output r = run(std::string(VEDGE_CLI) + " detect " + t.dir + "/model.onnx " + image +
                   " --score-thresh 0.05 --json",
                   /*stdout_only=*/true);
    ASSERT_EQ(r.status, 0) << r.out;
    const nlohmann::json cli = nlohmann::json::parse(r.out);
    ASSERT_EQ(cli.size(), 1u);
    const nlohmann::json& want = cli[0]["detections"];
    const nlohmann::json& got = d["detections"];
    ASSERT_EQ(got.size(), want.size()) << image;
    boxes += got.size();
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i]["label"], want[i]["label"]);
      EXPECT_NEAR(got[i]["score"].get<double>(), want[i]["score"].get<double>(), 1e-6);
      for (int k = 0; k < 4; ++k)
        EXPECT_NEAR(got[i]["bbox"][k].get<double>(), want[i]["bbox"][k].get<double>(), 1e-4);
    }
    // The drawn image decodes and has the source's size; against the source
    // JPEG-encoded the same way, only the drawn boxes differ.
    const Image src = decode_image_file(image);
    const Image drawn = decode_image_file(d["drawn"].get<std::string>());
    ASSERT_EQ(drawn.width, src.width);
    ASSERT_EQ(drawn.height, src.height);
    const std::string plain = t.dir + "/../plain.jpg";
    write_image(plain, src);
    const Image ref = decode_image_file(plain);
    int changed = 0;
    for (size_t i = 0; i < ref.rgb.size(); i += 3) {
      int m = 0;
      for (int c = 0; c < 3; ++c) m = std::max(m, std::abs(int(ref.rgb[i + c]) - int(drawn.rgb[i + c])));
      changed += m > 60;
    }
    if (got.empty()) EXPECT_EQ(changed, 0) << d["drawn"];
    else EXPECT_GE(changed, 50) << "no boxes visible in " << d["drawn"];
  }
  EXPECT_GT(boxes, 0u) << "no sample detections at score 0.05: nothing was compared";
}

void check_report(const TinyRun& t) {
  const nlohmann::json rep = read_json(t.dir + "/report/report.json");
  ASSERT_EQ(rep["variants"].size(), 6u);
  EXPECT_EQ(rep["variants"][1]["name"], "fp16");
  EXPECT_EQ(rep["variants"][2]["name"], "int8");
  // The TFLite rows: the file's size; latency / mAP or a note on why not.
  const char* tflite[] = {"model.tflite", "model-fp16.tflite", "model-int8.tflite"};
  for (int i = 3; i < 6; ++i) {
    const nlohmann::json& v = rep["variants"][i];
    SCOPED_TRACE(v["name"].get<std::string>());
    EXPECT_EQ(v["name"].get<std::string>().rfind("tflite-", 0), 0u);
    EXPECT_EQ(v["row"]["size_mb"].get<double>(), static_cast<double>(fs::file_size(t.dir + "/" + tflite[i - 3])) / 1e6);
    const std::string note = v.value("note", "");
    EXPECT_EQ(v["row"]["p50_ms"].get<double>() < 0, note.find("latency not measured") != std::string::npos) << note;
    EXPECT_EQ(v["row"]["map50"].get<double>() < 0, note.find("mAP not measured") != std::string::npos) << note;
  }
  // The fp32 .tflite is the same network: it runs in the runtime and, when
  // the Detector loads .tflite files, scores as model.onnx.
  const nlohmann::json& tf32 = rep["variants"][3];
  EXPECT_GT(tf32["row"]["p50_ms"].get<double>(), 0);
  if (tf32["row"]["map50"].get<double>() >= 0)
    EXPECT_NEAR(tf32["row"]["map50"].get<double>(), rep["variants"][0]["row"]["map50"].get<double>(), 0.005);
  // Sizes against FP32: float16 weights halve the file, int8 weights quarter it
  // (plus the per-channel scales and the Q/DQ nodes of a small model).
  const double fp32 = static_cast<double>(fs::file_size(t.dir + "/model.onnx"));
  EXPECT_NEAR(static_cast<double>(fs::file_size(t.dir + "/model-fp16.onnx")) / fp32, 0.5, 0.03);
  // (The tiny width-0.5 model has relatively more of those than the demo one.)
  EXPECT_LT(static_cast<double>(fs::file_size(t.dir + "/model-int8.onnx")) / fp32, 0.4);
  // Each variant's mAP in the report is what `vedge eval` gives for its file.
  const nlohmann::json e0 = read_json(t.dir + "/eval.json");
  for (int i = 1; i < 3; ++i) {
    const nlohmann::json& v = rep["variants"][i];
    const std::string out = t.dir + "/../vedge_eval_" + v["name"].get<std::string>() + ".json";
    const nlohmann::json& o = e0["options"];
    std::ostringstream cmd;
    cmd << VEDGE_CLI << " eval " << v["path"].get<std::string>() << " --data " << e0["gt"].get<std::string>()
        << " --images " << e0["images_dir"].get<std::string>() << " --score-thresh " << o["score_thresh"].get<double>()
        << " --iou-thresh " << o["iou_thresh"].get<double>() << " --max-detections " << o["max_detections"].get<int>()
        << " --threads " << o["threads"].get<int>() << " --json " << out;
    Output r = run(cmd.str());
    ASSERT_EQ(r.status, 0) << cmd.str() << "\n" << r.out;
    EXPECT_EQ(v["row"]["map50"].get<double>(), read_json(out)["stats"]["AP50"].get<double>()) << v["name"];
  }
  const nlohmann::json& v = rep["variants"][0];
  EXPECT_EQ(v["name"], "fp32");
  EXPECT_EQ(v["row"]["size_mb"].get<double>(), static_cast<double>(fs::file_size(t.dir + "/model.onnx")) / 1e6);
  const nlohmann::json e = read_json(t.dir + "/eval.json");
  EXPECT_EQ(v["row"]["map50"].get<double>(), e["stats"]["AP50"].get<double>());
  EXPECT_EQ(v["row"]["map"].get<double>(), e["stats"]["AP"].get<double>());
  std::ifstream html(t.dir + "/report/report.html");
  std::stringstream ss;
  ss << html.rdbuf();
  EXPECT_NE(ss.str().find("<svg"), std::string::npos);
}

#ifdef VEDGE_TRAIN_CLI
void check_rerun(const TinyRun& t) {
  const auto model_time = fs::last_write_time(t.dir + "/model.onnx");
  Output r = run(std::string(VEDGE_TRAIN_CLI) + " pipeline --config " + t.config + " --out " + t.dir + " --quiet");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::vector<std::string> stages = {"dataset",     "train",       "export", "fp16",   "int8",  "tflite-fp32",
                                           "tflite-fp16", "tflite-int8", "eval",   "detect", "report"};
  for (const std::string& stage : stages)
    EXPECT_NE(r.out.find("] " + stage + ": "), std::string::npos) << stage;
  size_t skipped = 0;
  for (size_t p = 0; (p = r.out.find("up to date, skipped", p)) != std::string::npos; ++p) ++skipped;
  EXPECT_EQ(skipped, stages.size()) << r.out;
  EXPECT_EQ(fs::last_write_time(t.dir + "/model.onnx"), model_time);
  // The earlier run's stage times are kept.
  for (const auto& st : read_json(t.dir + "/pipeline.json")["stages"])
    if (st["name"] == "train") {
      EXPECT_NEAR(st["total_seconds"].get<double>(), t.summary.train_seconds, 1e-6);
    }
  char want[64];
  std::snprintf(want, sizeof want, "val mAP@0.5        %.4f", t.summary.map50);
  EXPECT_NE(r.out.find(want), std::string::npos) << r.out;

  Output other = run(std::string(VEDGE_TRAIN_CLI) + " pipeline --config " + t.config + " --out " + t.dir +
                     " --quiet --set train.epochs=3");
  EXPECT_NE(other.status, 0);
  EXPECT_NE(other.out.find("different training configuration"), std::string::npos) << other.out;

  // Only the quantize section differs: the folder is accepted and only what
  // depends on it runs again.
  Output requant = run(std::string(VEDGE_TRAIN_CLI) + " pipeline --config " + t.config + " --out " + t.dir +
                       " --quiet --set quantize.samples=4");
  ASSERT_EQ(requant.status, 0) << requant.out;
  for (const std::string& stage : stages) {
    const bool reruns = stage == "int8" || stage == "tflite-int8" || stage == "report";
    EXPECT_EQ(requant.out.find("] " + stage + ": done in") != std::string::npos, reruns) << stage << "\n" << requant.out;
  }
  EXPECT_EQ(fs::last_write_time(t.dir + "/model.onnx"), model_time);
}
#endif

}  // namespace

// Slow (about 15 s on 2 idle cores): trains for 4 tiny epochs.
TEST(Pipeline, TinyRunEndToEnd) {
  const TinyRun t = run_tiny_pipeline();
  {
    SCOPED_TRACE("run folder");
    check_artifacts(t);
  }
  {
    SCOPED_TRACE("eval.json vs vedge eval");
    check_eval_equals_vedge_eval(t);
  }
  {
    SCOPED_TRACE("sample detections vs vedge detect");
    check_detections_equal_vedge_detect(t);
  }
  {
    SCOPED_TRACE("report");
    check_report(t);
  }
#ifdef VEDGE_TRAIN_CLI
  SCOPED_TRACE("re-run");
  check_rerun(t);
#else
  std::printf("vedge-train is not built: the re-run through the CLI is not checked\n");
#endif
}
