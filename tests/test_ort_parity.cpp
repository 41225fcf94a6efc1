// Whole models against ONNX Runtime: the shared UltraFace detector,
// torchvision's SSDLite320-MobileNetV3-Large and a MobileNetV3-Small
// SSDLite-320 with two feature maps (exported from PyTorch at opsets 9, 11,
// 13 and 17 by the test set-up, tests/models/export_ssdlite.py), each run by
// the fast backend at 1 and 2 threads and by the reference backend. Every
// output must agree with ONNX Runtime within 1e-4 of the output's scale (its
// largest magnitude). The measured ratio is printed so a log shows the margin.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "ort_peer.h"
#include "runtime/executor.h"
#include "runtime/image.h"
#include "runtime/npy.h"
#include "runtime/onnx_import.h"
#include "runtime/preprocess.h"

namespace fs = std::filesystem;
using namespace vedge;

namespace {

const std::string kModels = std::string(VEDGE_TEST_WORK_DIR) + "/models";
const std::string kShared = VEDGE_SHARED_DIR;

struct Case {
  std::string name;   // test label
  std::string model;  // .onnx path
  std::string input;  // .npy path, written by the test when empty
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Largest |ours - ort| over the tensor, relative to max |ort|.
double relative_error(const Tensor& ours, const Tensor& ort) {
  EXPECT_EQ(ours.shape(), ort.shape());
  if (ours.shape() != ort.shape()) return 1e9;
  double scale = 0, diff = 0;
  for (int64_t i = 0; i < ort.numel(); ++i) {
    const double r = ort.data<float>()[i], o = ours.data<float>()[i];
    scale = std::max(scale, std::fabs(r));
    diff = std::max(diff, std::isfinite(o) ? std::fabs(o - r) : 1e30);
  }
  return diff / std::max(scale, 1e-20);
}

void check_against_ort(const std::string& model, const std::string& input_npy,
                       const std::string& work) {
  if (!test::ort_peer_available()) return;
  Graph graph = import_onnx_file(model);
  const std::string in_name = graph.values[graph.inputs[0]].name;
  const std::string ort_dir = work + "/ort";
  test::run_node("ort_run.js", model + " --input " + in_name + "=" + input_npy + " --out " + ort_dir,
                 work);
  if (::testing::Test::HasFailure()) return;
  Tensor x = read_npy(input_npy);

  struct Config {
    const char* label;
    Backend backend;
    int threads;
  };
  for (Config c : {Config{"fast, 1 thread", Backend::Fast, 1}, Config{"fast, 2 threads", Backend::Fast, 2},
                   Config{"reference", Backend::Reference, 1}}) {
    SessionOptions opt;
    opt.backend = c.backend;
    opt.num_threads = c.threads;
    Session s(graph, opt);
    s.set_input(0, x);
    s.run();
    for (int o = 0; o < s.num_outputs(); ++o) {
      const std::string name = s.output_info(o).name;
      Tensor ref = read_npy(ort_dir + "/" + name + ".npy");
      double err = relative_error(s.output(o), ref);
      std::printf("  %-45s %-16s %-7s max|diff|/scale = %.2e\n", fs::path(model).filename().c_str(),
                  c.label, name.c_str(), err);
      EXPECT_LE(err, 1e-4) << model << " output " << name << " (" << c.label << ")";
    }
  }
}

std::string work_dir(const std::string& name) {
  std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/parity/" + name;
  fs::create_directories(d);
  return d;
}

std::string ultraface() { return kShared + "/models/ultraface-rfb-320.onnx"; }

}  // namespace

TEST(OrtParity, UltraFaceRandomInput) {
  if (!fs::exists(ultraface())) GTEST_SKIP() << "../shared absent: " << ultraface();
  std::string dir = work_dir("ultraface_random");
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(3 * 240 * 320);
  for (float& f : v) f = u(rng);
  write_npy(dir + "/x.npy", Tensor::from_floats({1, 3, 240, 320}, v));
  check_against_ort(ultraface(), dir + "/x.npy", dir);
}

TEST(OrtParity, UltraFaceRealImage) {
  const std::string img = kShared + "/data/coco128/images/val2017/000000001000.jpg";
  if (!fs::exists(ultraface()) || !fs::exists(img)) GTEST_SKIP() << "../shared absent";
  std::string dir = work_dir("ultraface_image");
  InputSpec spec;
  spec.width = 320, spec.height = 240;
  for (int c = 0; c < 3; ++c) spec.mean[c] = 127, spec.std[c] = 128;
  Tensor x(DType::F32, {1, 3, 240, 320});
  preprocess(decode_image_file(img), spec, x.data<float>());
  write_npy(dir + "/x.npy", x);
  check_against_ort(ultraface(), dir + "/x.npy", dir);
}

class ExportedModel : public ::testing::TestWithParam<Case> {};

TEST_P(ExportedModel, MatchesOrt) {
  const Case& c = GetParam();
  ASSERT_TRUE(fs::exists(c.model)) << c.model << " is missing: the export_test_models fixture "
                                   << "(tests/models/export_ssdlite.py) writes it";
  check_against_ort(c.model, c.input, work_dir(c.name));
}

INSTANTIATE_TEST_SUITE_P(
    OrtParity, ExportedModel,
    ::testing::Values(
        Case{"ssdlite_large_op13", kModels + "/ssdlite320_mobilenet_v3_large_op13.onnx",
             kModels + "/ssdlite320_mobilenet_v3_large.input.npy"},
        Case{"mnv3_small_2fm_op17", kModels + "/ssdlite320_mobilenet_v3_small_2fm_op17.onnx",
             kModels + "/ssdlite320_mobilenet_v3_small_2fm.input.npy"},
        Case{"mnv3_small_2fm_op11", kModels + "/ssdlite320_mobilenet_v3_small_2fm_op11.onnx",
             kModels + "/ssdlite320_mobilenet_v3_small_2fm.input.npy"},
        Case{"mnv3_small_2fm_op9", kModels + "/ssdlite320_mobilenet_v3_small_2fm_op9.onnx",
             kModels + "/ssdlite320_mobilenet_v3_small_2fm.input.npy"}),
    [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });
