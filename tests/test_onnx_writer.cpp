// tools/export/onnx_writer: import a model, write it back, re-import it.
//   - real models (the shared UltraFace, the SSDLite test detectors exported
//     from PyTorch at opsets 9, 13, 17) and a hand-built model using every
//     other canonical op: our runtime gives bit-identical outputs before and
//     after; ONNX Runtime on the written file agrees with ONNX Runtime on the
//     original within 1e-5 of the output's scale; metadata round-trips;
//   - the bytes parse with the ONNX protobuf: opset 13, IR 7, producer
//     "vision-edge", metadata_props;
//   - a write into an unwritable folder fails with one clear error and
//     leaves no file; an op without an ONNX form is refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "onnx_builder.h"
#include "ort_peer.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/npy.h"
#include "runtime/onnx_import.h"
#include "tools/export/onnx_writer.h"

namespace fs = std::filesystem;
using namespace vedge;

namespace {

const std::string kModels = std::string(VEDGE_TEST_WORK_DIR) + "/models";
const std::string kShared = VEDGE_SHARED_DIR;

std::string work_dir(const std::string& name) {
  std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/onnx_writer/" + name;
  fs::create_directories(d);
  return d;
}

Tensor random_input(const Shape& shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(numel(shape)));
  for (float& f : v) f = u(rng);
  return Tensor::from_floats(shape, v);
}

std::vector<Tensor> run(const Graph& g, const Tensor& x, Backend backend) {
  SessionOptions opt;
  opt.backend = backend;
  Session s(g, opt);
  s.set_input(0, x);
  s.run();
  std::vector<Tensor> out;
  for (int i = 0; i < s.num_outputs(); ++i) out.push_back(s.output(i));
  return out;
}

double relative_error(const Tensor& a, const Tensor& ref) {
  EXPECT_EQ(a.shape(), ref.shape());
  if (a.shape() != ref.shape()) return 1e9;
  double scale = 0, diff = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    scale = std::max(scale, std::fabs(double(ref.data<float>()[i])));
    diff = std::max(diff, std::fabs(double(a.data<float>()[i]) - ref.data<float>()[i]));
  }
  return diff / std::max(scale, 1e-20);
}

// Imports `model`, writes it to DIR/rewritten.onnx, re-imports it and checks
// outputs (bit-identical in our runtime, 1e-5 in ORT) and metadata. The
// reference backend is slow on the 320x320 detectors: `reference` opts in.
void round_trip(const std::string& model, const std::string& name, bool reference = true) {
  const std::string dir = work_dir(name);
  const std::string out = dir + "/rewritten.onnx";
  Graph g1 = import_onnx_file(model);
  write_onnx(g1, g1.metadata, out);
  Graph g2 = import_onnx_file(out);
  EXPECT_EQ(g2.metadata, g1.metadata);
  EXPECT_EQ(op_histogram(g2), op_histogram(g1));
  EXPECT_EQ(param_count(g2), param_count(g1));
  ASSERT_EQ(g2.outputs.size(), g1.outputs.size());

  const Value& in = g1.values[static_cast<size_t>(g1.inputs[0])];
  const Tensor x = random_input(in.shape, 5);
  for (Backend b : {Backend::Fast, Backend::Reference}) {
    if (b == Backend::Reference && !reference) continue;
    std::vector<Tensor> o1 = run(g1, x, b), o2 = run(g2, x, b);
    for (size_t i = 0; i < o1.size(); ++i) {
      ASSERT_EQ(o1[i].shape(), o2[i].shape());
      EXPECT_EQ(std::memcmp(o1[i].raw(), o2[i].raw(), o1[i].nbytes()), 0)
          << name << " output " << i << " differs after the round trip";
    }
  }

  if (!test::ort_peer_available()) return;
  write_npy(dir + "/x.npy", x);
  const std::string feed = " --input " + in.name + "=" + dir + "/x.npy";
  test::run_node("ort_run.js", model + feed + " --out " + dir + "/ort_original", dir);
  test::run_node("ort_run.js", out + feed + " --out " + dir + "/ort_rewritten", dir);
  if (::testing::Test::HasFailure()) return;
  for (int o : g1.outputs) {
    const std::string v = g1.values[static_cast<size_t>(o)].name;
    const double err = relative_error(read_npy(dir + "/ort_rewritten/" + v + ".npy"),
                                      read_npy(dir + "/ort_original/" + v + ".npy"));
    std::printf("  %-40s ORT %-8s rewritten vs original: %.2e\n", name.c_str(), v.c_str(), err);
    EXPECT_LE(err, 1e-5) << name << " output " << v;
  }
}

TEST(OnnxWriter, UltraFaceRoundTrip) {
  const std::string m = kShared + "/models/ultraface-rfb-320.onnx";
  if (!fs::exists(m)) GTEST_SKIP() << "../shared absent: " << m;
  round_trip(m, "ultraface");
}

class TestModel : public ::testing::TestWithParam<std::string> {};

TEST_P(TestModel, RoundTrip) {
  const std::string m = kModels + "/" + GetParam() + ".onnx";
  if (!fs::exists(m))
    GTEST_SKIP() << m << " absent: the export_test_models CTest fixture writes it";
  round_trip(m, GetParam(), /*reference=*/false);
}

INSTANTIATE_TEST_SUITE_P(SSDLite, TestModel,
                         ::testing::Values("ssdlite320_mobilenet_v3_large_op13",
                                           "ssdlite320_mobilenet_v3_small_2fm_op17",
                                           "ssdlite320_mobilenet_v3_small_2fm_op9"));

std::vector<float> ramp(size_t n, float scale, float offset) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + scale * std::sin(0.7f * static_cast<float>(i) + 0.3f);
  return v;
}

// Every canonical op the detectors above do not use.
std::string every_op_model() {
  using namespace vedge::test;
  OnnxBuilder b(13);
  b.input("x", {1, 3, 8, 8});
  b.initializer("w", {4, 3, 3, 3}, ramp(108, 0.3f, 0.f));
  b.initializer("bias", {4}, ramp(4, 0.1f, 0.f));
  b.initializer("half", {}, {0.5f});
  b.initializer("lo", {}, {-0.1f});
  b.initializer("gw", {5, 4}, ramp(20, 0.5f, 0.1f));
  b.initializer("gc", {5}, ramp(5, 0.2f, 0.f));
  b.initializer("mm", {5, 3}, ramp(15, 0.4f, 0.f));
  b.initializer_i64("shape", {2}, {1, 4});
  b.initializer_i64("sizes", {4}, {1, 4, 8, 8});
  b.node("Conv", {"x", "w", "bias"}, {"c"}, {attr_ints("pads", {1, 1, 1, 1})});
  b.node("Sigmoid", {"c"}, {"s"});  // fused into the conv on import
  b.node("MaxPool", {"s"}, {"m"}, {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2}),
                                   attr_i("ceil_mode", 1)});
  b.node("AveragePool", {"m"}, {"a"},
         {attr_ints("kernel_shape", {3, 3}), attr_ints("pads", {1, 1, 1, 1})});
  b.node("Resize", {"a", "", "", "sizes"}, {"r"}, {attr_s("mode", "linear")});
  b.node("Sub", {"r", "s"}, {"d"});
  b.node("Div", {"d", "half"}, {"e"});
  b.node("Clip", {"e", "lo"}, {"cl"});  // min only
  b.node("HardSigmoid", {"cl"}, {"hs"}, {attr_f("alpha", 0.3f), attr_f("beta", 0.4f)});
  b.node("Add", {"hs", "cl"}, {"h2"});
  b.node("Relu", {"h2"}, {"h3"});
  b.node("GlobalAveragePool", {"h3"}, {"g"});
  b.node("Reshape", {"g", "shape"}, {"f"});
  b.node("Gemm", {"f", "gw", "gc"}, {"gm"},
         {attr_i("transB", 1), attr_f("alpha", 0.5f), attr_f("beta", 2.f)});
  b.node("MatMul", {"gm", "mm"}, {"mt"});
  b.node("Mul", {"mt", "mt"}, {"sq"});
  b.node("Softmax", {"sq"}, {"sm"}, {attr_i("axis", 1)});
  b.node("Concat", {"sm", "mt"}, {"y"}, {attr_i("axis", 1)});
  b.node("Transpose", {"h3"}, {"t"}, {attr_ints("perm", {0, 2, 3, 1})});
  b.output("y").output("t");
  b.metadata("vedge.detector", "{\"note\": \"not a detector\"}").metadata("author", "test");
  return b.bytes();
}

TEST(OnnxWriter, EveryCanonicalOpRoundTrips) {
  const std::string dir = work_dir("every_op");
  test::OnnxBuilder::write_file(dir + "/model.onnx", every_op_model());
  Graph g = import_onnx_file(dir + "/model.onnx");
  // The import really produced the canonical forms this test is about.
  auto ops = op_histogram(g);
  for (const char* op : {"Conv", "MaxPool", "AveragePool", "Resize", "Sub", "Div", "Clip",
                         "HardSigmoid", "Add", "Relu", "GlobalAveragePool", "Reshape", "Gemm",
                         "MatMul", "Mul", "Softmax", "Concat", "Transpose"})
    EXPECT_EQ(ops.count(op), 1u) << op;
  round_trip(dir + "/model.onnx", "every_op");
}

TEST(OnnxWriter, HeaderParsesWithTheOnnxProtobuf) {
  Graph g = import_onnx_bytes(every_op_model(), "every_op");
  std::map<std::string, std::string> meta = {{"vedge.detector", "{}"}, {"k", "v\n\"quoted\""}};
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(serialize_onnx(g, meta)));
  EXPECT_EQ(m.ir_version(), 7);
  EXPECT_EQ(m.producer_name(), "vision-edge");
  EXPECT_FALSE(m.producer_version().empty());
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).domain(), "");
  EXPECT_EQ(m.opset_import(0).version(), 13);
  std::map<std::string, std::string> got;
  for (const auto& p : m.metadata_props()) got[p.key()] = p.value();
  EXPECT_EQ(got, meta);
  ASSERT_EQ(m.graph().input_size(), 1);
  EXPECT_EQ(m.graph().input(0).name(), "x");
  const auto& dims = m.graph().input(0).type().tensor_type().shape().dim();
  ASSERT_EQ(dims.size(), 4);
  EXPECT_EQ(dims[1].dim_value(), 3);
  EXPECT_EQ(m.graph().output_size(), 2);
  // The fused Conv + Sigmoid is written as two standard nodes.
  int convs = 0, sigmoids = 0;
  for (const auto& n : m.graph().node()) {
    convs += n.op_type() == "Conv";
    sigmoids += n.op_type() == "Sigmoid";
  }
  EXPECT_EQ(convs, 1);
  EXPECT_EQ(sigmoids, 1);
}

TEST(OnnxWriter, UnwritableFolderFailsAndLeavesNoFile) {
  const std::string dir = work_dir("unwritable");
  const std::string blocker = dir + "/not_a_folder";
  test::OnnxBuilder::write_file(blocker, "x");  // a file where the folder should be
  const std::string path = blocker + "/model.onnx";
  Graph g = import_onnx_bytes(every_op_model(), "every_op");
  try {
    write_onnx(g, {}, path);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    std::printf("  error: %s\n", msg.c_str());
    EXPECT_NE(msg.find(blocker), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(fs::file_size(blocker), 1u);
}

TEST(OnnxWriter, OpWithoutOnnxFormIsRefused) {
  Graph g = import_onnx_bytes(every_op_model(), "every_op");
  g.nodes[0].op = "Relayout";
  const std::string path = work_dir("refused") + "/model.onnx";
  fs::remove(path);
  try {
    write_onnx(g, {}, path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(Relayout): no ONNX form"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
