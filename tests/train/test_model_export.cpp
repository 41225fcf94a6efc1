// The LibTorch detector (train/model.h) and its export (train/export.h):
//   - every backbone at a small width, with 2 and 6 feature maps: random
//     weights with non-trivial BatchNorm statistics, exported to ONNX; our
//     runtime (fast and reference backends) and ONNX Runtime both reproduce
//     LibTorch's eval-mode outputs within 1e-4 of the output's scale; the
//     Detector loads the file and gets LibTorch's anchors; anchor counts agree;
//   - parameter counts: the three ImageNet backbones at width 1 against
//     torchvision's published counts, one SSDLite config against a hand count;
//   - module names and shapes equal torchvision's state_dict keys (checked
//     against torchvision itself with /usr/bin/python3, when present);
//   - Keras channel rounding at width 0.75, and the error for bad configs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ort_peer.h"
#include "runtime/detector.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/npy.h"
#include "runtime/onnx_import.h"
#include "train/export.h"
#include "train/model.h"

namespace fs = std::filesystem;
using namespace vedge;

namespace {

std::string work_dir(const std::string& name) {
  std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/model_export/" + name;
  fs::create_directories(d);
  return d;
}

Tensor to_vedge(const torch::Tensor& t) {
  torch::Tensor c = t.detach().contiguous();
  std::vector<float> v(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return Tensor::from_floats(Shape(c.sizes().begin(), c.sizes().end()), v);
}

// max |ours - ref| / max |ref|.
double relative_error(const Tensor& ours, const torch::Tensor& ref) {
  EXPECT_EQ(ours.shape(), Shape(ref.sizes().begin(), ref.sizes().end()));
  if (ours.numel() != ref.numel()) return 1e9;
  torch::Tensor o = torch::from_blob(const_cast<float*>(ours.data<float>()), ref.sizes(),
                                     torch::kFloat32);
  const double scale = ref.abs().max().item<double>();
  const double diff = (o - ref).abs().max().item<double>();
  return std::isfinite(diff) ? diff / std::max(scale, 1e-20) : 1e30;
}

int64_t count_params(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// Random weights, then BatchNorm statistics from a few train-mode batches
// (momentum 0.5), gamma/beta away from 1/0: BN folding is really exercised.
SSDLite make_model(ModelConfig cfg, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  cfg.bn_momentum = 0.5;
  SSDLite m(cfg);
  torch::NoGradGuard no_grad;
  for (auto& mod : m->modules(false))
    if (auto* bn = mod->as<torch::nn::BatchNorm2d>()) {
      bn->weight.copy_(1.0 + 0.2 * torch::randn_like(bn->weight));
      bn->bias.copy_(0.2 * torch::randn_like(bn->bias));
    }
  m->train();
  for (int i = 0; i < 4; ++i)
    m->forward(torch::rand({4, 3, cfg.input_size, cfg.input_size}) * 2 - 1);
  m->eval();
  return m;
}

struct Case {
  std::string backbone;
  double width;
  int maps;
  int size;
};

std::string case_name(const Case& c) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s_w%03d_%dfm_%d", c.backbone.c_str(),
                static_cast<int>(std::lround(c.width * 100)), c.maps, c.size);
  return buf;
}

class ExportCase : public ::testing::TestWithParam<Case> {};

TEST_P(ExportCase, RuntimeAndOrtMatchLibTorch) {
  const Case c = GetParam();
  ModelConfig cfg;
  cfg.backbone = c.backbone;
  cfg.width = c.width;
  cfg.feature_maps = c.maps;
  cfg.input_size = c.size;
  cfg.num_classes = 5;
  SSDLite model = make_model(cfg, 7);
  std::vector<std::string> labels = {"background", "a", "b", "c", "d"};

  torch::manual_seed(11);
  torch::Tensor x = torch::rand({1, 3, c.size, c.size}) * 2 - 1;
  torch::Tensor boxes, scores;
  {
    torch::NoGradGuard no_grad;
    std::tie(boxes, scores) = model->forward(x);
  }
  const int64_t a = model->num_anchors();
  ASSERT_EQ(boxes.sizes(), (std::vector<int64_t>{1, a, 4}));
  ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{1, a, 5}));
  ASSERT_EQ(model->anchors().sizes(), (std::vector<int64_t>{a, 4}));

  const std::string dir = work_dir(case_name(c));
  const std::string path = dir + "/model.onnx";
  export_onnx(model, labels, path);

  Graph g = import_onnx_file(path);
  for (Backend backend : {Backend::Fast, Backend::Reference}) {
    SessionOptions opt;
    opt.backend = backend;
    Session s(g, opt);
    s.set_input(s.input_index("images"), to_vedge(x));
    s.run();
    const double eb = relative_error(s.output(s.output_index("boxes")), boxes);
    const double es = relative_error(s.output(s.output_index("scores")), scores);
    std::printf("  %-40s %-9s boxes %.2e scores %.2e (scale %.2f / %.2f)\n", case_name(c).c_str(),
                backend == Backend::Fast ? "fast" : "reference", eb, es,
                boxes.abs().max().item<double>(), scores.abs().max().item<double>());
    EXPECT_LE(eb, 1e-4);
    EXPECT_LE(es, 1e-4);
  }

  // The detector reads the spec from the file's metadata: same anchors.
  Detector det(path);
  EXPECT_EQ(det.num_anchors(), a);
  EXPECT_EQ(det.num_classes(), 5);
  EXPECT_EQ(det.spec().labels, labels);
  torch::Tensor ours_anchors =
      torch::from_blob(const_cast<float*>(det.anchors().data()), {a, 4}, torch::kFloat32);
  EXPECT_TRUE(torch::equal(ours_anchors, model->anchors()));

  if (!test::ort_peer_available()) return;
  write_npy(dir + "/x.npy", to_vedge(x));
  test::run_node("ort_run.js", path + " --input images=" + dir + "/x.npy --out " + dir + "/ort", dir);
  if (::testing::Test::HasFailure()) return;
  const double eb = relative_error(read_npy(dir + "/ort/boxes.npy"), boxes);
  const double es = relative_error(read_npy(dir + "/ort/scores.npy"), scores);
  std::printf("  %-40s %-9s boxes %.2e scores %.2e\n", case_name(c).c_str(), "ORT", eb, es);
  EXPECT_LE(eb, 1e-4);
  EXPECT_LE(es, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    Backbones, ExportCase,
    ::testing::Values(Case{"mobilenet_v3_small", 0.5, 2, 320}, Case{"mobilenet_v3_small", 0.5, 6, 256},
                      Case{"mobilenet_v3_large", 0.35, 2, 224}, Case{"mobilenet_v3_large", 0.35, 6, 160},
                      Case{"mobilenet_v2", 0.35, 2, 192}, Case{"mobilenet_v2", 0.5, 6, 160}),
    [](const ::testing::TestParamInfo<Case>& i) { return case_name(i.param); });

// torchvision's documented parameter counts (ImageNet classifiers, 1000
// classes); at width 1 the Keras and torchvision architectures coincide.
TEST(Backbones, ParameterCountsMatchTorchvision) {
  EXPECT_EQ(count_params(*MobileNet("mobilenet_v3_small", 1.0, 1000)), 2542856);
  EXPECT_EQ(count_params(*MobileNet("mobilenet_v3_large", 1.0, 1000)), 5483032);
  EXPECT_EQ(count_params(*MobileNet("mobilenet_v2", 1.0, 1000)), 3504872);
}

TEST(Backbones, KerasChannelRounding) {
  // MobileNetV3-Small at alpha 0.75 (keras.applications): stem 16 (never
  // scaled), first block 16*0.75 = 12 -> 16, block 2: 24*0.75 = 18 -> 24,
  // expansion round8(16 * 72/16) = 72; last conv round8(96*0.75 -> 72, * 6) = 432.
  MobileNet m("mobilenet_v3_small", 0.75);
  auto* b1 = m->features[1]->as<InvertedResidualImpl>();
  auto* b2 = m->features[2]->as<InvertedResidualImpl>();
  ASSERT_NE(b1, nullptr);
  ASSERT_NE(b2, nullptr);
  EXPECT_EQ(b1->spec.in, 16);
  EXPECT_EQ(b1->spec.out, 16);
  EXPECT_EQ(b2->spec.expanded, 72);
  EXPECT_EQ(b2->spec.out, 24);
  EXPECT_EQ(m->last_channels(), 432);
  // SE squeeze of the first block: round8(16 / 4) = 8.
  EXPECT_EQ(b1->se->fc1->weight.size(0), 8);
  // MobileNetV2 at 0.35: stem round8(11.2) = 16, last conv stays 1280.
  MobileNet v2("mobilenet_v2", 0.35);
  EXPECT_EQ(v2->features[0]->as<ConvBNActImpl>()->conv->weight.size(0), 16);
  EXPECT_EQ(v2->last_channels(), 1280);
  EXPECT_EQ(v2->c4_channels(), 6 * 32);  // expansion of the 160*0.35 -> 56 block's input (32)
}

// SSDLite on MobileNetV3-Small width 1, 2 maps, 11 classes, counted by hand:
//   backbone features: 2542856 - classifier (576*1024 + 1024 + 1024*1000 + 1000)
//                      = 2542856 - 1615848 = 927008
//   per map with c channels, 6 anchors: cls = dw 9c + BN 2c + pw c*66 + 66,
//                                      reg = 9c + 2c + c*24 + 24 -> 112c + 90
//   taps c4 = 288 (expansion of features.9), c5 = 576:
//                      112 * 864 + 180 = 96948
//   total 1023956.
TEST(SSDLite, ParameterCountByHand) {
  ModelConfig cfg;
  SSDLite m(cfg);
  EXPECT_EQ(m->backbone()->c4_channels(), 288);
  EXPECT_EQ(m->backbone()->last_channels(), 576);
  EXPECT_EQ(count_params(*m->backbone()), 927008);
  EXPECT_EQ(count_params(*m), 1023956);
  // 6 maps adds extras (in, out): mid = out/2, in*mid + 4*mid (BN) + 9*mid +
  // mid*out + 2*out, for (576,512) (512,256) (256,256) (256,128), plus heads
  // 112c + 90 on c = 512, 256, 256, 128.
  cfg.feature_maps = 6;
  SSDLite m6(cfg);
  auto extra = [](int64_t in, int64_t out) {
    const int64_t mid = out / 2;
    return in * mid + 4 * mid + 9 * mid + mid * out + 2 * out;
  };
  const int64_t extras = extra(576, 512) + extra(512, 256) + extra(256, 256) + extra(256, 128);
  const int64_t heads = 112 * (288 + 576 + 512 + 256 + 256 + 128) + 6 * 90;
  EXPECT_EQ(count_params(*m6), 927008 + extras + heads);
}

TEST(SSDLite, AnchorsFollowTheFeatureMaps) {
  ModelConfig cfg;
  cfg.input_size = 320;
  SSDLite m2(cfg);
  // 20x20 and 10x10 maps, 6 boxes per location.
  EXPECT_EQ(m2->num_anchors(), (400 + 100) * 6);
  cfg.feature_maps = 6;
  SSDLite m6(cfg);
  // torchvision's SSDLite320: 20, 10, 5, 3, 2, 1 -> 3234 anchors.
  EXPECT_EQ(m6->num_anchors(), 3234);
  torch::NoGradGuard no_grad;
  m6->eval();
  auto maps = m6->feature_maps(torch::zeros({1, 3, 320, 320}));
  const int want[] = {20, 10, 5, 3, 2, 1};
  ASSERT_EQ(maps.size(), 6u);
  for (size_t i = 0; i < maps.size(); ++i) EXPECT_EQ(maps[i].size(2), want[i]) << "map " << i;
  // First anchor of the 2-map model: centre of cell (0,0) of the 20x20 map,
  // scale 0.1.
  torch::Tensor a = m2->anchors();
  EXPECT_FLOAT_EQ(a[0][0].item<float>(), 0.025f);
  EXPECT_FLOAT_EQ(a[0][2].item<float>(), 0.1f);
  EXPECT_FLOAT_EQ(a[1][2].item<float>(), std::sqrt(0.1f * 0.35f));
}

TEST(SSDLite, BadConfigsFailClearly) {
  ModelConfig cfg;
  cfg.backbone = "resnet50";
  try {
    SSDLite m(cfg);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backbone 'resnet50' is unknown"), std::string::npos)
        << e.what();
  }
  cfg = ModelConfig();
  cfg.feature_maps = 3;
  EXPECT_THROW(SSDLite{cfg}, Error);
  SSDLite ok{ModelConfig()};
  try {
    ok->detector_spec({"background", "x"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 labels for a model with 11 classes"), std::string::npos)
        << e.what();
  }
}

// Our names and shapes against torchvision's own modules: a torchvision
// state_dict loads key for key.
TEST(Backbones, NamesMatchTorchvisionStateDict) {
  const std::string py = "/usr/bin/python3";
  if (!fs::exists(py)) GTEST_SKIP() << py << " (with torchvision) is absent";
  const std::string dir = work_dir("names");
  const std::string script = dir + "/keys.py", out = dir + "/keys.txt";
  {
    std::ofstream f(script);
    f << "import torchvision.models as M\n"
         "with open('" << out << "', 'w') as f:\n"
         "    for n in ['mobilenet_v3_small', 'mobilenet_v3_large', 'mobilenet_v2']:\n"
         "        for k, v in getattr(M, n)().state_dict().items():\n"
         "            f.write('%s %s %s\\n' % (n, k, 'x'.join(map(str, v.shape)) or 'scalar'))\n";
  }
  ASSERT_EQ(std::system((py + " " + script + " 2>" + dir + "/err.txt").c_str()), 0)
      << "torchvision listing failed, see " << dir << "/err.txt";
  std::map<std::string, std::map<std::string, std::string>> want;
  std::ifstream in(out);
  std::string net, key, shape;
  while (in >> net >> key >> shape) want[net][key] = shape;
  ASSERT_EQ(want.size(), 3u);
  for (const auto& [name, keys] : want) {
    MobileNet m(name, 1.0, 1000);
    std::map<std::string, std::string> ours;
    auto add = [&](const std::string& k, const torch::Tensor& t) {
      std::string s;
      for (int64_t d : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
      ours[k] = s.empty() ? "scalar" : s;
    };
    for (const auto& p : m->named_parameters()) add(p.key(), p.value());
    for (const auto& b : m->named_buffers()) add(b.key(), b.value());
    EXPECT_EQ(ours, keys) << name;
  }
}

}  // namespace
