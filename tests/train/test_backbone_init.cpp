// Backbone initialization (train/backbone_init.h):
//  - from the shared uint8 TFLite classifiers: our LibTorch MobileNetV3-Small
//    / MobileNetV2 + classifier head classify ../shared/models/cat.bmp as
//    "Egyptian cat", and their logits match our runtime's run of the same
//    .tflite (an independent path: TFLite importer + executor kernels);
//  - a width multiplier or architecture that differs from the file: one
//    clear error;
//  - from torchvision state_dicts (random weights with a fixed seed and
//    randomized BatchNorm statistics, written by /usr/bin/python3 at test
//    time): our backbone's features and logits equal torchvision's forward
//    (saved as .npy by the same script) within 1e-4.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/image.h"
#include "runtime/npy.h"
#include "runtime/preprocess.h"
#include "runtime/tflite_import.h"
#include "train/backbone_init.h"
#include "train/backbones.h"

namespace fs = std::filesystem;
using namespace vedge;

namespace {

const std::string kModels = std::string(VEDGE_SHARED_DIR) + "/models";
const std::string kWork = std::string(VEDGE_TEST_WORK_DIR) + "/backbone_init";

torch::Tensor to_torch(const Tensor& t) {
  std::vector<int64_t> s(t.shape().begin(), t.shape().end());
  return torch::from_blob(const_cast<float*>(t.data<float>()), s, torch::kFloat32).clone();
}

std::vector<std::string> labels() {
  std::ifstream f(kModels + "/imagenet-labels.txt");
  std::vector<std::string> v;
  for (std::string l; std::getline(f, l);) v.push_back(l);
  return v;
}

// cat.bmp preprocessed as the TFLite input's quantization says: the float
// graph takes scale * (pixel - zero_point). Layout NCHW or NHWC.
Tensor cat_input(const TfliteTensorInfo& in, bool nhwc) {
  InputSpec spec;
  spec.width = static_cast<int>(in.shape[2]);
  spec.height = static_cast<int>(in.shape[1]);
  for (int c = 0; c < 3; ++c) {
    spec.mean[c] = static_cast<float>(in.zero_point.at(0));
    spec.std[c] = 1.f / in.scale.at(0);
  }
  Tensor x(DType::F32, nhwc ? Shape{1, spec.height, spec.width, 3} : Shape{1, 3, spec.height, spec.width});
  preprocess(decode_image_file(kModels + "/cat.bmp"), spec, x.data<float>(), nhwc);
  return x;
}

// Our runtime on the .tflite, stopped before the softmax (the logits), with
// the stride-2 convolutions padded symmetrically (k/2 each side) like the
// LibTorch backbone (train/backbones.h) instead of TF's SAME (0 before,
// 1 after on even sizes): the one place where the two architectures differ.
Tensor runtime_logits(const std::string& model, const Tensor& nhwc_input) {
  Graph g = import_tflite_file(model);
  int logits = -1;
  for (const Node& n : g.nodes)
    if (n.op == "Softmax") logits = n.inputs[0];
  EXPECT_GE(logits, 0);
  g.outputs = {logits};
  g.prune();
  for (Node& n : g.nodes)
    if (n.op == "Conv" && n.attrs.get_ints("strides") == std::vector<int64_t>{2, 2}) {
      const int64_t k = g.values[static_cast<size_t>(n.inputs[1])].shape[2];
      n.attrs.set("pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2});
    }
  Session s(std::move(g));
  s.set_input(0, nhwc_input);
  s.run();
  return s.output(0);
}

class TfliteInit : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

}  // namespace

TEST_P(TfliteInit, ClassifiesCatAndMatchesRuntimeLogits) {
  const std::string model = kModels + "/" + GetParam().first;
  if (!fs::exists(model) || !fs::exists(kModels + "/cat.bmp"))
    GTEST_SKIP() << "../shared absent: " << model;
  TfliteModelInfo info;
  import_tflite_file(model, &info);
  const std::vector<std::string> names = labels();
  ASSERT_EQ(names.size(), 1001u);  // "background" first, as the files' 1001 outputs

  MobileNet net(GetParam().second, 1.0, 1001);
  BackboneInitResult r = init_backbone_from_tflite(net, model, /*with_classifier=*/true);
  EXPECT_TRUE(r.classifier);
  net->eval();
  torch::NoGradGuard ng;
  torch::Tensor logits = net->classify(to_torch(cat_input(info.inputs[0], false)));
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{1, 1001}));
  const int64_t top1 = logits.argmax(1).item<int64_t>();
  EXPECT_EQ(names.at(static_cast<size_t>(top1)), "Egyptian cat");

  // Same network, two implementations: LibTorch with the loaded weights and
  // our runtime on the file (padding made the same above). What remains
  // different is that the runtime keeps the uint8 model's saturation: every
  // quantized activation is clamped to its [scale * (0 - zp),
  // scale * (255 - zp)] range (which stands in for the ReLU/ReLU6 the
  // converter dropped), which LibTorch does not do beyond the real
  // activations. Those calibrated ranges clip only outliers. Measured on
  // cat.bmp: V2 (ReLU6 everywhere, ranges = the activation's) 4e-4, V3-Small
  // (hard-swish tensors whose calibrated ranges clip more) 0.28 with logits
  // up to 9.6; the bound is 5% of the largest logit, and the classes agree.
  torch::Tensor rt = to_torch(runtime_logits(model, cat_input(info.inputs[0], true)));
  const double max_diff = (rt - logits).abs().max().item<double>();
  const double range = logits.abs().max().item<double>();
  std::printf("%s: top-1 %s, max |logit diff| vs runtime %.5f (max |logit| %.2f)\n",
              GetParam().first.c_str(), names[static_cast<size_t>(top1)].c_str(), max_diff, range);
  EXPECT_EQ(rt.argmax(1).item<int64_t>(), top1);
  EXPECT_LT(max_diff, 0.05 * range);
}

INSTANTIATE_TEST_SUITE_P(
    Shared, TfliteInit,
    ::testing::Values(std::make_pair("mobilenet_v3_small_224_uint8_imagenet.tflite", "mobilenet_v3_small"),
                      std::make_pair("mobilenet_v2_224_uint8_imagenet.tflite", "mobilenet_v2")));

TEST(TfliteInitErrors, WidthOrArchitectureMismatchIsOneClearError) {
  const std::string model = kModels + "/mobilenet_v3_small_224_uint8_imagenet.tflite";
  if (!fs::exists(model)) GTEST_SKIP() << "../shared absent: " << model;
  auto error_of = [&](MobileNet net, bool head) -> std::string {
    try {
      init_backbone_from_tflite(net, model, head);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  std::string msg = error_of(MobileNet("mobilenet_v3_small", 0.75, 1001), true);
  EXPECT_NE(msg.find("does not match the file's"), std::string::npos) << msg;
  EXPECT_NE(msg.find("different width multiplier"), std::string::npos) << msg;
  msg = error_of(MobileNet("mobilenet_v2", 1.0, 1001), true);
  EXPECT_NE(msg.find("not the same architecture"), std::string::npos) << msg;
  msg = error_of(MobileNet("mobilenet_v3_small", 1.0, 1000), true);  // 1000 vs 1001 classes
  EXPECT_NE(msg.find("classifier.3"), std::string::npos) << msg;
  msg = error_of(MobileNet("mobilenet_v3_small", 1.0, 0), true);
  EXPECT_NE(msg.find("has no ImageNet classifier head"), std::string::npos) << msg;
  // Without the head, a backbone-only net loads fine.
  MobileNet net("mobilenet_v3_small", 1.0, 0);
  EXPECT_EQ(init_backbone_from_tflite(net, model, false).layers, 52);
}

class TorchvisionInit : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionInit, FeaturesEqualTorchvisionForward) {
  const std::string name = GetParam();
  fs::create_directories(kWork);
  const std::string script = kWork + "/make_torchvision.py";
  {
    std::ofstream f(script);
    f << "# Random torchvision model (fixed seed, randomized BN statistics), its\n"
         "# state_dict and its forward on a random input, for test_backbone_init.\n"
         "import sys\nimport numpy as np\nimport torch\nimport torchvision\n"
         "name, out = sys.argv[1], sys.argv[2]\n"
         "torch.manual_seed(0)\n"
         "m = getattr(torchvision.models, name)()\n"
         "with torch.no_grad():\n"
         "    for mod in m.modules():\n"
         "        if isinstance(mod, torch.nn.BatchNorm2d):\n"
         "            mod.weight.uniform_(0.5, 1.5)\n"
         "            mod.bias.uniform_(-0.2, 0.2)\n"
         "            mod.running_mean.uniform_(-0.2, 0.2)\n"
         "            mod.running_var.uniform_(0.5, 1.5)\n"
         "m.eval()\n"
         "# LibTorch 1.13's unpickler cannot rebuild the _metadata attribute that\n"
         "# state_dict() attaches to its OrderedDict: save the plain mapping.\n"
         "torch.save(dict(m.state_dict()), f'{out}/{name}.pt')\n"
         "x = torch.randn(1, 3, 224, 224)\n"
         "with torch.no_grad():\n"
         "    np.save(f'{out}/{name}_x.npy', x.numpy())\n"
         "    np.save(f'{out}/{name}_features.npy', m.features(x).numpy())\n"
         "    np.save(f'{out}/{name}_logits.npy', m(x).numpy())\n";
  }
  const std::string cmd = "/usr/bin/python3 " + script + " " + name + " " + kWork + " 2>&1";
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 (torchvision) absent";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  MobileNet net(name, 1.0, 1000);
  BackboneInitResult r = init_backbone_from_state_dict(net, kWork + "/" + name + ".pt", true);
  EXPECT_TRUE(r.classifier);
  EXPECT_GT(r.layers, 50);
  net->eval();
  torch::NoGradGuard ng;
  torch::Tensor x = to_torch(read_npy(kWork + "/" + name + "_x.npy"));
  torch::Tensor want_f = to_torch(read_npy(kWork + "/" + name + "_features.npy"));
  torch::Tensor want_l = to_torch(read_npy(kWork + "/" + name + "_logits.npy"));
  torch::Tensor f = net->forward(x);
  ASSERT_EQ(f.sizes(), want_f.sizes());
  const double df = (f - want_f).abs().max().item<double>();
  const double dl = (net->classify(x) - want_l).abs().max().item<double>();
  std::printf("%s: max |feature diff| %.2e (max |feature| %.2f), max |logit diff| %.2e\n",
              name.c_str(), df, want_f.abs().max().item<double>(), dl);
  EXPECT_LE(df, 1e-4);
  EXPECT_LE(dl, 1e-4);

  // The wrong architecture's state_dict: one clear error.
  MobileNet other(name == "mobilenet_v2" ? "mobilenet_v3_small" : "mobilenet_v2", 1.0, 0);
  try {
    init_backbone_from_state_dict(other, kWork + "/" + name + ".pt", false);
    ADD_FAILURE() << "loading " << name << " into another architecture did not fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(".pt: "), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Torchvision, TorchvisionInit,
                         ::testing::Values("mobilenet_v3_small", "mobilenet_v2"));

TEST(StateDictErrors, NotAStateDictIsOneClearError) {
  fs::create_directories(kWork);
  const std::string bad = kWork + "/not_a_state_dict.pt";
  std::ofstream(bad, std::ios::binary) << "PK\x03\x04 this is not a torch zip";
  MobileNet net("mobilenet_v3_small", 1.0, 0);
  try {
    init_backbone(net, bad, false);
    ADD_FAILURE() << "a corrupt file loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not_a_state_dict.pt: not a PyTorch state_dict file"),
              std::string::npos)
        << e.what();
  }
}
