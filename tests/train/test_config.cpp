// test_config.cpp: the training YAML (defaults, overrides, strict key and
// range checks), the learning-rate schedule by hand, and the progress bar's
// rendering (tools/common/progress.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "runtime/error.h"
#include "tools/common/progress.h"
#include "train/config.h"
#include "train/optim.h"

namespace vedge {
namespace {

const char* kBase = "data:\n  synthetic: {train_images: 10}\ntrain:\n  epochs: 4\n  optimizer: {name: sgd, lr: 0.1}\n";

std::string error_of(const std::string& yaml, const std::vector<std::string>& ov = {}) {
  try {
    parse_train_config(yaml, "c.yaml", ov);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TrainConfig, ReadsFieldsAndOverrides) {
  TrainConfig c = parse_train_config(kBase, "c.yaml");
  EXPECT_TRUE(c.synthetic.enabled);
  EXPECT_EQ(c.synthetic.train_images, 10);
  EXPECT_EQ(c.synthetic.val_images, 200);  // default
  EXPECT_EQ(c.epochs, 4);
  EXPECT_EQ(c.optimizer.name, "sgd");
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.1);
  TrainConfig o = parse_train_config(kBase, "c.yaml", {"train.epochs=7", "model.width=0.5", "train.freeze.blocks=3"});
  EXPECT_EQ(o.epochs, 7);
  EXPECT_DOUBLE_EQ(o.model.width, 0.5);
  EXPECT_EQ(o.freeze.blocks, 3);
  // The effective YAML holds the overrides and parses back to the same.
  EXPECT_EQ(parse_train_config(o.yaml, "again").epochs, 7);
}

TEST(TrainConfig, RejectsTyposAndBadValues) {
  EXPECT_NE(error_of(std::string(kBase) + "trian: {}\n").find("unknown key 'trian'"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.optimizer.lrr=1"}).find("unknown key 'train.optimizer.lrr'"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.epochs=0"}).find("'train.epochs' must be in"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.optimizer.name=rmsprop"}).find("must be one of"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"model.input_size=100"}).find("multiple of 32"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.batch_size=abc"}).find("bad value"), std::string::npos);
  EXPECT_NE(error_of("model: {width: 1}\n").find("needs 'synthetic' or both"), std::string::npos);
  EXPECT_NE(error_of("a: [1\n").find("c.yaml: line"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"noequals"}).find("key.path=value"), std::string::npos);
}

TEST(TrainConfig, ExportSection) {
  const TrainConfig d = parse_train_config(kBase, "c.yaml");
  EXPECT_TRUE(d.export_.tflite.fp32);
  EXPECT_TRUE(d.export_.tflite.fp16);
  EXPECT_FALSE(d.export_.tflite.dynamic);
  EXPECT_TRUE(d.export_.tflite.int8);
  const TrainConfig c = parse_train_config(kBase, "c.yaml", {"export.tflite.dynamic=true", "export.tflite.fp16=false"});
  EXPECT_TRUE(c.export_.tflite.dynamic);
  EXPECT_FALSE(c.export_.tflite.fp16);
  // Without the int8 ONNX there is no int8 TFLite: off by default, an error when asked for.
  EXPECT_FALSE(parse_train_config(kBase, "c.yaml", {"quantize.int8=false"}).export_.tflite.int8);
  EXPECT_NE(error_of(kBase, {"quantize.int8=false", "export.tflite.int8=true"}).find("needs 'quantize.int8'"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"export.tflite.fp8=true"}).find("unknown key 'export.tflite.fp8'"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"export.onnx=true"}).find("unknown key 'export.onnx'"), std::string::npos);
}

TEST(TrainConfig, ShippedConfigsParse) {
  const std::string dir = std::string(VEDGE_SOURCE_DIR) + "/configs";
  for (const char* name : {"demo.yaml", "coco128.yaml"}) {
    SCOPED_TRACE(name);
    const TrainConfig c = load_train_config(dir + "/" + name);
    EXPECT_FALSE(c.yaml.empty());
  }
  const TrainConfig demo = load_train_config(dir + "/demo.yaml");
  EXPECT_TRUE(demo.export_.tflite.fp32 && demo.export_.tflite.fp16 && demo.export_.tflite.int8);
}

TEST(TrainConfig, TrainingYamlIgnoresOnlyLaterStages) {
  const std::string base = parse_train_config(kBase, "c.yaml").yaml;
  auto with = [](const std::string& ov) { return parse_train_config(kBase, "c.yaml", {ov}).yaml; };
  EXPECT_EQ(training_yaml(with("quantize.samples=4")), training_yaml(base));
  EXPECT_EQ(training_yaml(with("export.tflite.fp16=false")), training_yaml(base));
  EXPECT_NE(training_yaml(with("train.epochs=5")), training_yaml(base));
  EXPECT_NE(training_yaml(with("eval.every=2")), training_yaml(base));  // validation drives early stopping
  EXPECT_NE(training_yaml(with("model.width=0.5")), training_yaml(base));
}

TEST(LrSchedule, WarmupThenCosineByHand) {
  ScheduleConfig s;
  s.warmup_steps = 10;
  s.warmup_factor = 0.1;
  s.min_lr_factor = 0.0;
  LrSchedule lr(1.0, 110, s);
  EXPECT_NEAR(lr.lr_at(0), 0.1, 1e-12);
  EXPECT_NEAR(lr.lr_at(5), 0.1 + 0.9 * 0.5, 1e-12);
  EXPECT_NEAR(lr.lr_at(10), 1.0, 1e-12);
  EXPECT_NEAR(lr.lr_at(60), 0.5, 1e-12);  // half-way through the cosine
  EXPECT_NEAR(lr.lr_at(35), 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-12);
  EXPECT_NEAR(lr.lr_at(110), 0.0, 1e-12);
  EXPECT_NEAR(lr.lr_at(500), 0.0, 1e-12);
}

TEST(ProgressBar, RendersCountsAndDurations) {
  EXPECT_EQ(ProgressBar::format_duration(0), "00:00");
  EXPECT_EQ(ProgressBar::format_duration(125.4), "02:05");
  EXPECT_EQ(ProgressBar::format_duration(3723), "1:02:03");
  EXPECT_EQ(ProgressBar::format_duration(-1), "--:--");
  EXPECT_EQ(ProgressBar::format_duration(NAN), "--:--");
  FILE* sink = std::tmpfile();
  ASSERT_NE(sink, nullptr);
  ProgressBar bar("epoch 1/3", 40, sink);
  bar.set_tty(false);
  bar.update(10, "loss 0.5");
  std::string line = bar.render(8);
  EXPECT_EQ(line.rfind("epoch 1/3 [##......] 10/40  25%", 0), 0u) << line;
  EXPECT_NE(line.find("| loss 0.5"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA"), std::string::npos);
  bar.finish();
  // Plain mode wrote the final line (no carriage returns).
  std::rewind(sink);
  char buf[512] = {0};
  size_t n = std::fread(buf, 1, sizeof buf - 1, sink);
  std::string out(buf, n);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("10/40"), std::string::npos) << out;
  std::fclose(sink);
}

}  // namespace
}  // namespace vedge
