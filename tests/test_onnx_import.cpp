// test_onnx_import.cpp: the ONNX importer on models built in C++
// (onnx_builder.h) and on the shared UltraFace model. Checks the canonical
// form it produces (folded BatchNorm and shape chains, resolved attributes,
// fused activations) against hand-computed values, numerics through the
// reference executor, and one clear error line per kind of bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <set>

#include "onnx_builder.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/onnx_import.h"

namespace vedge {
namespace {

using test::attr_f;
using test::attr_i;
using test::attr_ints;
using test::attr_s;
using test::OnnxBuilder;

Graph import(const OnnxBuilder& b, const ImportOptions& opt = {}) {
  return import_onnx_bytes(b.bytes(), "m.onnx", opt);
}

std::string work_dir() {
  std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/onnx_import";
  std::filesystem::create_directories(d);
  return d;
}

// Runs `f`, expects a vedge::Error whose message contains every part.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << "not one line: " << m;
    for (const auto& p : parts)
      EXPECT_NE(m.find(p), std::string::npos) << "'" << p << "' not in: " << m;
  }
}

const Node& only_node(const Graph& g, const std::string& op) {
  const Node* found = nullptr;
  for (const Node& n : g.nodes)
    if (n.op == op) {
      EXPECT_EQ(found, nullptr) << "more than one " << op;
      found = &n;
    }
  if (!found) throw std::runtime_error("no " + op + " node");
  return *found;
}

std::vector<float> ramp(int64_t n, float scale = 0.1f, float offset = 0.f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = offset + scale * static_cast<float>((i * 7) % 11) - 0.5f;
  return v;
}

Tensor run1(const Graph& g, const Tensor& x, int output = 0) {
  Session s(g, SessionOptions{Backend::Reference, 1, false});
  s.set_input(0, x);
  s.run();
  return s.output(output);
}

TEST(OnnxImport, BatchNormFoldedIntoConvEqualsHandComputed) {
  OnnxBuilder b(11);
  b.input("x", {1, 2, 4, 4});
  std::vector<float> w = ramp(2 * 2 * 3 * 3), bias{0.5f, -1.f};
  std::vector<float> sc{2.f, 0.5f}, be{0.1f, 0.2f}, mu{1.f, -2.f}, var{3.f, 0.01f};
  b.initializer("w", {2, 2, 3, 3}, w).initializer("b", {2}, bias);
  b.initializer("s", {2}, sc)
      .initializer("be", {2}, be)
      .initializer("mu", {2}, mu)
      .initializer("var", {2}, var);
  b.node("Conv", {"x", "w", "b"}, {"c"},
         {attr_ints("pads", {1, 1, 1, 1}), attr_ints("kernel_shape", {3, 3})});
  b.node("BatchNormalization", {"c", "s", "be", "mu", "var"}, {"y"}, {attr_f("epsilon", 1e-3f)});
  b.output("y");
  Graph g = import(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& conv = g.nodes[0];
  ASSERT_EQ(conv.op, "Conv");
  EXPECT_EQ(conv.attrs.get_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  std::vector<float> wf = g.values[static_cast<size_t>(conv.inputs[1])].constant.to_floats();
  std::vector<float> bf = g.values[static_cast<size_t>(conv.inputs[2])].constant.to_floats();
  for (size_t oc = 0; oc < 2; ++oc) {
    double a = sc[oc] / std::sqrt(var[oc] + 1e-3);
    for (size_t i = 0; i < 18; ++i) EXPECT_NEAR(wf[oc * 18 + i], w[oc * 18 + i] * a, 1e-5);
    EXPECT_NEAR(bf[oc], (bias[oc] - mu[oc]) * a + be[oc], 1e-5);
  }
}

TEST(OnnxImport, BatchNormWithoutConvBecomesMulAdd) {
  OnnxBuilder b(9);
  b.input("x", {1, 2, 1, 2});
  b.initializer("s", {2}, {2.f, 3.f}).initializer("be", {2}, {1.f, -1.f});
  b.initializer("mu", {2}, {0.5f, 1.f}).initializer("var", {2}, {4.f, 9.f});
  b.node("BatchNormalization", {"x", "s", "be", "mu", "var"}, {"y"}, {attr_f("epsilon", 0.f)});
  b.output("y");
  Graph g = import(b);
  EXPECT_EQ(g.nodes.size(), 2u);
  only_node(g, "Mul");
  only_node(g, "Add");
  // y = s * (x - mu) / sqrt(var) + be, by hand for x = [1, 2 | 3, 4].
  Tensor y = run1(g, Tensor::from_floats({1, 2, 1, 2}, {1.f, 2.f, 3.f, 4.f}));
  std::vector<float> want{2 * 0.5f / 2 + 1, 2 * 1.5f / 2 + 1, 3 * 2.f / 3 - 1, 3 * 3.f / 3 - 1};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-6f);
}

// x -> Shape -> Gather(0) -> Unsqueeze -> Concat([n, -1]) -> Reshape, the
// way PyTorch exports x.view(x.size(0), -1).
OnnxBuilder flatten_chain(int64_t opset) {
  OnnxBuilder b(opset);
  b.input("x", {-1, 3, 4, 5});
  b.node("Shape", {"x"}, {"shp"});
  b.constant_i64("zero", {}, {0});
  b.node("Gather", {"shp", "zero"}, {"n"}, {attr_i("axis", 0)});
  if (opset >= 13) {
    b.constant_i64("ax", {1}, {0});
    b.node("Unsqueeze", {"n", "ax"}, {"n1"});
  } else {
    b.node("Unsqueeze", {"n"}, {"n1"}, {attr_ints("axes", {0})});
  }
  b.constant_i64("minus1", {1}, {-1});
  b.node("Concat", {"n1", "minus1"}, {"target"}, {attr_i("axis", 0)});
  b.node("Reshape", {"x", "target"}, {"y"});
  b.output("y");
  return b;
}

TEST(OnnxImport, ShapeChainFoldsIntoOneReshape) {
  for (int64_t opset : {9, 11, 13, 17}) {
    ImportOptions opt;
    opt.batch = 2;
    Graph g = import(flatten_chain(opset), opt);
    ASSERT_EQ(g.nodes.size(), 1u) << "opset " << opset;
    EXPECT_EQ(g.nodes[0].op, "Reshape");
    EXPECT_EQ(g.nodes[0].attrs.get_ints("shape"), (std::vector<int64_t>{2, 60}));
    EXPECT_EQ(g.values[static_cast<size_t>(g.inputs[0])].shape, (Shape{2, 3, 4, 5}));
    EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].shape, (Shape{2, 60}));
    EXPECT_EQ(g.values.size(), 2u) << "shape constants are pruned";
  }
}

// Range, Mod, Equal, Where, ConstantOfShape, Cast (through int8), Expand and
// a reversing Slice over constants all fold; values checked by hand.
TEST(OnnxImport, ConstantEvaluatorFoldsMixedDtypeChains) {
  OnnxBuilder b(13);
  b.input("x", {1, 6});
  b.constant_i64("zero", {}, {0}).constant_i64("six", {}, {6}).constant_i64("one", {}, {1});
  b.constant_i64("two", {}, {2});
  b.node("Range", {"zero", "six", "one"}, {"r"});
  b.node("Mod", {"r", "two"}, {"m"});
  b.node("Equal", {"m", "zero"}, {"even"});
  b.constant("plus", {}, {1.f}).constant("minus", {}, {-1.f});
  b.node("Where", {"even", "plus", "minus"}, {"w"});
  b.node("Add", {"x", "w"}, {"y"});
  b.constant_i64("len", {1}, {6});
  b.node("ConstantOfShape", {"len"}, {"c"},
         {test::attr_tensor("value", test::make_tensor("v", {1}, {2.7f}))});
  b.node("Cast", {"c"}, {"ci"}, {attr_i("to", onnx::TensorProto_DataType_INT8)});
  b.node("Cast", {"ci"}, {"cf"}, {attr_i("to", onnx::TensorProto_DataType_FLOAT)});
  b.constant_i64("eshape", {2}, {1, 6});
  b.node("Expand", {"cf", "eshape"}, {"ce"});
  b.node("Mul", {"x", "ce"}, {"z"});
  b.node("Shape", {"x"}, {"xs"});
  b.constant_i64("st", {1}, {-1}).constant_i64("en", {1}, {std::numeric_limits<int64_t>::min()});
  b.constant_i64("ax", {1}, {0}).constant_i64("sp", {1}, {-1});
  b.node("Slice", {"xs", "st", "en", "ax", "sp"}, {"rev"});
  b.node("Reshape", {"x", "rev"}, {"t"});
  b.output("y").output("z").output("t");
  Graph g = import(b);
  ASSERT_EQ(g.nodes.size(), 3u);
  const Node& add = only_node(g, "Add");
  EXPECT_EQ(g.values[static_cast<size_t>(add.inputs[1])].constant.to_floats(),
            (std::vector<float>{1, -1, 1, -1, 1, -1}));
  const Node& mul = only_node(g, "Mul");
  EXPECT_EQ(g.values[static_cast<size_t>(mul.inputs[1])].constant.to_floats(),
            (std::vector<float>(6, 2.f)));
  EXPECT_EQ(g.values[static_cast<size_t>(mul.inputs[1])].shape, (Shape{1, 6}));
  EXPECT_EQ(only_node(g, "Reshape").attrs.get_ints("shape"), (std::vector<int64_t>{6, 1}));
}

TEST(OnnxImport, ReshapeZeroMinusOneAndAllowzero) {
  OnnxBuilder b(14);
  b.input("x", {2, 3, 4});
  b.initializer_i64("t", {3}, {0, -1, 2});
  b.node("Reshape", {"x", "t"}, {"y"});
  b.output("y");
  Graph g = import(b);
  EXPECT_EQ(g.nodes[0].attrs.get_ints("shape"), (std::vector<int64_t>{2, 6, 2}));
  // allowzero: a 0 means a zero-sized dimension, impossible for 24 elements.
  OnnxBuilder c(14);
  c.input("x", {2, 3, 4});
  c.initializer_i64("t", {3}, {0, -1, 2});
  c.node("Reshape", {"x", "t"}, {"y"}, {attr_i("allowzero", 1)}, "rz");
  c.output("y");
  expect_error([&] { import(c); }, {"m.onnx", "'rz' (Reshape)", "cannot reshape"});
}

TEST(OnnxImport, ClipAttributeAndInputForms) {
  OnnxBuilder a(9);
  a.input("x", {1, 4});
  a.node("Clip", {"x"}, {"y"}, {attr_f("min", 0.f), attr_f("max", 6.f)});
  a.output("y");
  Graph ga = import(a);
  const Node& ca = only_node(ga, "Clip");
  EXPECT_EQ(ca.attrs.get_f("min"), 0.f);
  EXPECT_EQ(ca.attrs.get_f("max"), 6.f);

  OnnxBuilder b(11);  // min given as an input, max absent
  b.input("x", {1, 4});
  b.constant("lo", {}, {-1.5f});
  b.node("Clip", {"x", "lo"}, {"y"});
  b.output("y");
  Graph g = import(b);
  const Node& cb = only_node(g, "Clip");
  EXPECT_EQ(cb.attrs.get_f("min"), -1.5f);
  EXPECT_TRUE(std::isinf(cb.attrs.get_f("max")) && cb.attrs.get_f("max") > 0);
  Tensor y = run1(g, Tensor::from_floats({1, 4}, {-3.f, -1.f, 0.f, 100.f}));
  EXPECT_EQ(y.to_floats(), (std::vector<float>{-1.5f, -1.f, 0.f, 100.f}));

  OnnxBuilder c(13);  // min absent (empty name), max given
  c.input("x", {1, 4});
  c.constant("hi", {}, {2.f});
  c.node("Clip", {"x", "", "hi"}, {"y"});
  c.output("y");
  Graph gc = import(c);
  const Node& cc = only_node(gc, "Clip");
  EXPECT_TRUE(std::isinf(cc.attrs.get_f("min")) && cc.attrs.get_f("min") < 0);
  EXPECT_EQ(cc.attrs.get_f("max"), 2.f);
}

TEST(OnnxImport, FlattenBecomesReshape) {
  struct Case {
    int64_t axis;
    Shape want;
  };
  for (const Case& k : {Case{1, {2, 60}}, Case{2, {6, 20}}, Case{-1, {24, 5}}, Case{0, {1, 120}}}) {
    OnnxBuilder b(11);
    b.input("x", {2, 3, 4, 5});
    b.node("Flatten", {"x"}, {"y"}, {attr_i("axis", k.axis)});
    b.output("y");
    Graph g = import(b);
    EXPECT_EQ(only_node(g, "Reshape").attrs.get_ints("shape"), k.want) << "axis " << k.axis;
  }
}

TEST(OnnxImport, SoftmaxOpset11CoercesTo2DAndOpset13IsOneAxis) {
  auto model = [](int64_t opset) {
    OnnxBuilder b(opset);
    b.input("x", {1, 4, 5});
    b.node("Softmax", {"x"}, {"y"}, {attr_i("axis", 1)});
    b.output("y");
    return import(b);
  };
  std::vector<float> xv = ramp(20, 0.3f);
  Tensor x = Tensor::from_floats({1, 4, 5}, xv);
  Graph g11 = model(11);
  ASSERT_EQ(g11.nodes.size(), 3u);
  EXPECT_EQ(g11.nodes[0].op, "Reshape");
  EXPECT_EQ(g11.nodes[0].attrs.get_ints("shape"), (std::vector<int64_t>{1, 20}));
  EXPECT_EQ(g11.nodes[1].attrs.get_i("axis"), 1);
  EXPECT_EQ(g11.nodes[2].attrs.get_ints("shape"), (std::vector<int64_t>{1, 4, 5}));
  EXPECT_EQ(g11.values[static_cast<size_t>(g11.outputs[0])].name, "y");
  Graph g13 = model(13);
  ASSERT_EQ(g13.nodes.size(), 1u);
  EXPECT_EQ(g13.nodes[0].attrs.get_i("axis"), 1);
  // By hand: opset 11 normalizes over all 20 values, opset 13 over axis 1.
  Tensor y11 = run1(g11, x), y13 = run1(g13, x);
  double z = 0;
  for (float v : xv) z += std::exp(v);
  for (size_t i = 0; i < 20; ++i) EXPECT_NEAR(y11.data<float>()[i], std::exp(xv[i]) / z, 1e-6);
  for (size_t w = 0; w < 5; ++w) {
    double zc = 0;
    for (size_t c = 0; c < 4; ++c) zc += std::exp(xv[c * 5 + w]);
    for (size_t c = 0; c < 4; ++c)
      EXPECT_NEAR(y13.data<float>()[c * 5 + w], std::exp(xv[c * 5 + w]) / zc, 1e-6);
  }
}

TEST(OnnxImport, ResizeAndUpsampleAttributesResolved) {
  {  // opset 9 Upsample: scales input, legacy asymmetric/floor
    OnnxBuilder b(9);
    b.input("x", {1, 2, 3, 4});
    b.initializer("sc", {4}, {1.f, 1.f, 2.f, 2.f});
    b.node("Upsample", {"x", "sc"}, {"y"}, {attr_s("mode", "nearest")});
    b.output("y");
    Graph g = import(b);
    const Node& r = only_node(g, "Resize");
    EXPECT_EQ(r.inputs.size(), 1u);
    EXPECT_EQ(r.attrs.get_s("mode"), "nearest");
    EXPECT_EQ(r.attrs.get_s("coordinate_transformation_mode"), "asymmetric");
    EXPECT_EQ(r.attrs.get_s("nearest_mode"), "floor");
    EXPECT_EQ(g.values[static_cast<size_t>(r.outputs[0])].shape, (Shape{1, 2, 6, 8}));
    // Nearest x2 with asymmetric/floor repeats each pixel twice.
    std::vector<float> xv = ramp(24);
    Tensor y = run1(g, Tensor::from_floats({1, 2, 3, 4}, xv));
    EXPECT_EQ(y.data<float>()[1 * 48 + 5 * 8 + 7], xv[1 * 12 + 2 * 4 + 3]);
  }
  {  // opset 10 Resize: scales input, linear
    OnnxBuilder b(10);
    b.input("x", {1, 1, 4, 4});
    b.initializer("sc", {4}, {1.f, 1.f, 0.5f, 0.5f});
    b.node("Resize", {"x", "sc"}, {"y"}, {attr_s("mode", "linear")});
    b.output("y");
    Graph g = import(b);
    const Node& r = only_node(g, "Resize");
    EXPECT_EQ(r.attrs.get_s("mode"), "linear");
    EXPECT_EQ(r.attrs.get_s("coordinate_transformation_mode"), "asymmetric");
    EXPECT_EQ(g.values[static_cast<size_t>(r.outputs[0])].shape, (Shape{1, 1, 2, 2}));
  }
  {  // opset 11: roi, scales; defaults half_pixel / round_prefer_floor
    OnnxBuilder b(11);
    b.input("x", {1, 3, 5, 5});
    b.initializer("roi", {0}, {});
    b.initializer("sc", {4}, {1.f, 1.f, 1.5f, 2.f});
    b.node("Resize", {"x", "roi", "sc"}, {"y"}, {attr_s("mode", "linear")});
    b.output("y");
    Graph g = import(b);
    const Node& r = only_node(g, "Resize");
    EXPECT_EQ(r.attrs.get_s("coordinate_transformation_mode"), "half_pixel");
    EXPECT_EQ(r.attrs.get_s("nearest_mode"), "round_prefer_floor");
    EXPECT_EQ(g.values[static_cast<size_t>(r.outputs[0])].shape, (Shape{1, 3, 7, 10}));
    EXPECT_EQ(r.attrs.get_f("scale_h"), 1.5f);
    EXPECT_EQ(r.attrs.get_f("scale_w"), 2.f);
  }
  {  // opset 13: sizes from a shape chain, ctm/nearest_mode given
    OnnxBuilder b(13);
    b.input("x", {1, 2, 3, 3});
    b.input("ref", {1, 2, 6, 7});
    b.node("Shape", {"ref"}, {"rs"});
    b.node(
        "Resize", {"x", "", "", "rs"}, {"y"},
        {attr_s("coordinate_transformation_mode", "asymmetric"), attr_s("nearest_mode", "floor")});
    b.output("y");
    Graph g = import(b);
    const Node& r = only_node(g, "Resize");
    EXPECT_EQ(r.attrs.get_s("coordinate_transformation_mode"), "asymmetric");
    EXPECT_EQ(r.attrs.get_s("nearest_mode"), "floor");
    EXPECT_EQ(g.values[static_cast<size_t>(r.outputs[0])].shape, (Shape{1, 2, 6, 7}));
    EXPECT_FALSE(r.attrs.has("scale_h")) << "sizes given: the kernel uses the size ratio";
  }
  {  // resizing the channel axis is rejected
    OnnxBuilder b(11);
    b.input("x", {1, 2, 3, 3});
    b.initializer("roi", {0}, {});
    b.initializer("sc", {4}, {1.f, 2.f, 1.f, 1.f});
    b.node("Resize", {"x", "roi", "sc"}, {"y"}, {}, "rc");
    b.output("y");
    expect_error([&] { import(b); }, {"m.onnx", "'rc' (Resize)", "last two axes"});
  }
}

TEST(OnnxImport, InitializersListedAsInputsAreConstants) {
  OnnxBuilder b(9);
  b.input("x", {1, 1, 3, 3});
  b.initializer("w", {1, 1, 1, 1}, {2.f}, /*also_as_input=*/true);
  b.initializer("b", {1}, {0.5f}, true);
  b.node("Conv", {"x", "w", "b"}, {"y"});
  b.output("y");
  b.metadata("labels", "face");
  Graph g = import(b);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[static_cast<size_t>(g.inputs[0])].name, "x");
  EXPECT_TRUE(g.values[static_cast<size_t>(g.nodes[0].inputs[1])].is_constant());
  EXPECT_EQ(g.metadata.at("labels"), "face");
  EXPECT_EQ(g.source, "m.onnx");
}

TEST(OnnxImport, HardSigmoidTimesInputFusesToHardSwish) {
  OnnxBuilder b(13);
  b.input("x", {1, 6});
  b.node("HardSigmoid", {"x"}, {"h"}, {attr_f("alpha", 1.f / 6.f), attr_f("beta", 0.5f)});
  b.node("Mul", {"x", "h"}, {"y"});
  b.output("y");
  Graph g = import(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, "HardSwish");
  Tensor y = run1(g, Tensor::from_floats({1, 6}, {-4.f, -3.f, -1.f, 0.f, 1.f, 4.f}));
  std::vector<float> want{0.f, 0.f, -1.f / 3.f, 0.f, 2.f / 3.f, 4.f};
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-6f);
}

TEST(OnnxImport, ActivationsFuseIntoConv) {
  auto model = [](const std::function<void(OnnxBuilder&)>& act) {
    OnnxBuilder b(11);
    b.input("x", {1, 2, 5, 5});
    b.initializer("w", {2, 1, 3, 3}, ramp(18));
    b.node("Conv", {"x", "w"}, {"c"}, {attr_i("group", 2), attr_s("auto_pad", "SAME_UPPER")});
    act(b);
    b.output("y");
    return import(b);
  };
  Graph relu = model([](OnnxBuilder& b) { b.node("Relu", {"c"}, {"y"}); });
  ASSERT_EQ(relu.nodes.size(), 1u);
  EXPECT_EQ(relu.nodes[0].attrs.get_s("activation"), "relu");
  EXPECT_EQ(relu.nodes[0].attrs.get_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  Graph relu6 = model([](OnnxBuilder& b) {
    b.constant("lo", {}, {0.f}).constant("hi", {}, {6.f});
    b.node("Clip", {"c", "lo", "hi"}, {"y"});
  });
  EXPECT_EQ(relu6.nodes.at(0).attrs.get_s("activation"), "relu6");
  Graph clip = model([](OnnxBuilder& b) {
    b.constant("lo", {}, {-0.5f}).constant("hi", {}, {0.5f});
    b.node("Clip", {"c", "lo", "hi"}, {"y"});
  });
  EXPECT_EQ(clip.nodes.at(0).attrs.get_s("activation"), "clip");
  EXPECT_EQ(clip.nodes.at(0).attrs.get_f("act_min"), -0.5f);
  EXPECT_EQ(clip.nodes.at(0).attrs.get_f("act_max"), 0.5f);
  Graph hs = model([](OnnxBuilder& b) { b.node("HardSwish", {"c"}, {"y"}); });
  EXPECT_EQ(hs.nodes.at(0).attrs.get_s("activation"), "hardswish");
  Graph sg = model([](OnnxBuilder& b) { b.node("Sigmoid", {"c"}, {"y"}); });
  EXPECT_EQ(sg.nodes.at(0).attrs.get_s("activation"), "sigmoid");
  // Not fused when the conv result is itself a graph output.
  Graph both = model([](OnnxBuilder& b) {
    b.node("Relu", {"c"}, {"y"});
    b.output("c");
  });
  EXPECT_EQ(both.nodes.size(), 2u);
  EXPECT_FALSE(both.nodes[0].attrs.has("activation"));
}

TEST(OnnxImport, PoolCeilModeResolvedIntoPads) {
  OnnxBuilder b(11);
  b.input("x", {1, 1, 8, 8});
  b.node("MaxPool", {"x"}, {"y"},
         {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2}), attr_i("ceil_mode", 1)});
  b.output("y");
  Graph g = import(b);
  const Node& p = only_node(g, "MaxPool");
  EXPECT_EQ(p.attrs.get_ints("pads"), (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(p.attrs.has("ceil_mode"), false);
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].shape, (Shape{1, 1, 4, 4}));
}

TEST(OnnxImport, IdentityAndDropoutRemovedKeepingOutputNames) {
  OnnxBuilder b(11);
  b.input("x", {1, 3});
  b.node("Relu", {"x"}, {"r"});
  b.node("Dropout", {"r"}, {"d"});
  b.node("Identity", {"d"}, {"out"});
  b.output("out");
  Graph g = import(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].name, "out");
}

TEST(OnnxImport, DynamicBatchTakesOptionOrFails) {
  OnnxBuilder b(13);
  b.input("x", {-1, 3});
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  ImportOptions opt;
  opt.batch = 4;
  EXPECT_EQ(import(b, opt).values[0].shape, (Shape{4, 3}));
  opt.batch = -1;
  expect_error([&] { import(b, opt); }, {"m.onnx", "input 'x'", "dynamic"});
  opt.input_shapes["x"] = {2, 3};
  EXPECT_EQ(import(b, opt).values[0].shape, (Shape{2, 3}));
  opt.input_shapes["images"] = {1, 3};
  expect_error([&] { import(b, opt); }, {"m.onnx", "'images'", "not an input"});
}

TEST(OnnxImport, ZeroPadMergesIntoConv) {
  auto model = [](bool explicit_pad) {
    OnnxBuilder b(13);
    b.input("x", {1, 1, 4, 5});
    b.initializer("w", {2, 1, 3, 3}, ramp(18));
    if (explicit_pad) {
      b.initializer_i64("p", {8}, {0, 0, 1, 2, 0, 0, 0, 1});
      b.node("Pad", {"x", "p"}, {"xp"});
      b.node("Conv", {"xp", "w"}, {"y"}, {attr_ints("pads", {1, 0, 0, 0})});
    } else {
      b.node("Conv", {"x", "w"}, {"y"}, {attr_ints("pads", {2, 2, 0, 1})});
    }
    b.output("y");
    return import(b);
  };
  Graph a = model(true), b = model(false);
  ASSERT_EQ(a.nodes.size(), 1u);
  EXPECT_EQ(a.nodes[0].attrs.get_ints("pads"), (std::vector<int64_t>{2, 2, 0, 1}));
  Tensor x = Tensor::from_floats({1, 1, 4, 5}, ramp(20, 0.2f));
  EXPECT_EQ(run1(a, x).to_floats(), run1(b, x).to_floats());

  OnnxBuilder c(13);  // a Pad before MaxPool cannot be merged (-inf vs 0 padding)
  c.input("x", {1, 1, 4, 4});
  c.initializer_i64("p", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
  c.node("Pad", {"x", "p"}, {"xp"}, {}, "pad0");
  c.node("MaxPool", {"xp"}, {"y"}, {attr_ints("kernel_shape", {2, 2})});
  c.output("y");
  expect_error([&] { import(c); }, {"m.onnx", "'pad0' (Pad)", "Conv"});
}

TEST(OnnxImport, UnsortedNodesAreOrdered) {
  OnnxBuilder b(13);
  b.input("x", {1, 4});
  b.node("Sigmoid", {"r"}, {"y"});
  b.node("Relu", {"x"}, {"r"});
  b.output("y");
  Graph g = import(b);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op, "Relu");
  EXPECT_EQ(g.nodes[1].op, "Sigmoid");
  OnnxBuilder c(13);  // a cycle
  c.input("x", {1, 4});
  c.node("Add", {"x", "b"}, {"a"});
  c.node("Relu", {"a"}, {"b"});
  c.output("b");
  expect_error([&] { import(c); }, {"m.onnx", "cycle"});
}

// -- errors ------------------------------------------------------------------

OnnxBuilder small_conv_model() {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 8, 8});
  b.initializer("w", {4, 3, 3, 3}, ramp(108));
  b.node("Conv", {"x", "w"}, {"c"});
  b.node("Relu", {"c"}, {"y"});
  b.output("y");
  return b;
}

TEST(OnnxImportErrors, MissingFile) {
  std::string p = work_dir() + "/does_not_exist.onnx";
  expect_error([&] { import_onnx_file(p); }, {"does_not_exist.onnx", "cannot open"});
}

TEST(OnnxImportErrors, ZeroByteFile) {
  std::string p = work_dir() + "/empty.onnx";
  OnnxBuilder::write_file(p, "");
  expect_error([&] { import_onnx_file(p); }, {"empty.onnx", "empty"});
}

TEST(OnnxImportErrors, TruncatedFile) {
  std::string bytes = small_conv_model().bytes();
  std::string p = work_dir() + "/truncated.onnx";
  // Every cut point fails cleanly; the file name is always named.
  for (size_t cut = 1; cut < bytes.size(); cut += 7) {
    OnnxBuilder::write_file(p, bytes.substr(0, cut));
    expect_error([&] { import_onnx_file(p); }, {"truncated.onnx"});
  }
  OnnxBuilder::write_file(p, bytes.substr(0, bytes.size() / 2));
  expect_error([&] { import_onnx_file(p); }, {"truncated.onnx: "});
}

TEST(OnnxImportErrors, RandomBytes) {
  std::mt19937 rng(42);
  std::string p = work_dir() + "/random.onnx";
  for (int trial = 0; trial < 20; ++trial) {
    std::string bytes(200 + trial * 13, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    OnnxBuilder::write_file(p, bytes);
    expect_error([&] { import_onnx_file(p); }, {"random.onnx"});
  }
}

TEST(OnnxImportErrors, UnsupportedOperatorNamesOpAndNode) {
  OnnxBuilder b(11);
  b.input("boxes", {1, 10, 4});
  b.input("scores", {1, 1, 10});
  b.node("NonMaxSuppression", {"boxes", "scores"}, {"sel"}, {}, "NonMaxSuppression_7");
  b.output("sel");
  expect_error([&] { import(b); },
               {"m.onnx: node 'NonMaxSuppression_7' (NonMaxSuppression): unsupported operator"});
  OnnxBuilder c(11);  // unnamed node in a custom domain
  c.input("x", {1, 4});
  c.node("Gelu", {"x"}, {"y"}).set_domain("com.microsoft");
  c.proto().mutable_graph()->mutable_node(0)->clear_name();
  c.output("y");
  expect_error([&] { import(c); },
               {"m.onnx", "'Gelu_0'", "com.microsoft.Gelu", "unsupported operator"});
}

TEST(OnnxImportErrors, ShapeOpOnActivationsIsRejected) {
  OnnxBuilder b(13);
  b.input("x", {1, 4});
  b.constant_i64("i", {1}, {2});
  b.node("Gather", {"x", "i"}, {"y"}, {attr_i("axis", 1)}, "g");
  b.output("y");
  expect_error([&] { import(b); },
               {"m.onnx: node 'g' (Gather): supported only on constant inputs"});
}

TEST(OnnxImportErrors, NonConstantConvWeight) {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 8, 8});
  b.input("w", {4, 3, 3, 3});
  b.node("Conv", {"x", "w"}, {"y"}, {}, "conv1");
  b.output("y");
  expect_error([&] { import(b); }, {"m.onnx", "'conv1' (Conv)", "weights", "must be constant"});
}

TEST(OnnxImportErrors, NonFloatInputAndExternalData) {
  OnnxBuilder b(13);
  b.input("x", {1, 3}, onnx::TensorProto_DataType_INT64);
  b.node("Identity", {"x"}, {"y"});
  b.output("y");
  expect_error([&] { import(b); }, {"m.onnx", "input 'x'", "float32"});

  OnnxBuilder c = small_conv_model();
  auto* w = c.graph()->mutable_initializer(0);
  w->clear_raw_data();
  w->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
  auto* kv = w->add_external_data();
  kv->set_key("location");
  kv->set_value("weights.bin");
  expect_error([&] { import(c); }, {"m.onnx", "'w'", "external data"});
}

TEST(OnnxImportErrors, InconsistentShapesAndMissingValues) {
  OnnxBuilder b = small_conv_model();
  b.graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(1)
      ->set_dim_value(5);
  expect_error([&] { import(b); }, {"m.onnx", "(Conv)", "channels"});

  OnnxBuilder c(13);
  c.input("x", {1, 3});
  c.node("Relu", {"nowhere"}, {"y"}, {}, "r");
  c.output("y");
  expect_error([&] { import(c); }, {"m.onnx", "'r' (Relu)", "'nowhere'"});

  OnnxBuilder d = small_conv_model();
  d.graph()->mutable_initializer(0)->mutable_raw_data()->resize(10);
  expect_error([&] { import(d); }, {"m.onnx", "'w'", "raw data"});
}

TEST(OnnxImport, UltraFaceSharedModel) {
  std::string path = std::string(VEDGE_SHARED_DIR) + "/models/ultraface-rfb-320.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared model not found: " << path;
  Graph g = import_onnx_file(path);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[static_cast<size_t>(g.inputs[0])].shape, (Shape{1, 3, 240, 320}));
  ASSERT_EQ(g.outputs.size(), 2u);
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].name, "scores");
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].shape, (Shape{1, 4420, 2}));
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[1])].name, "boxes");
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[1])].shape, (Shape{1, 4420, 4}));
  const std::set<std::string> canonical = {"Conv",    "Relu",      "Add",    "Concat",
                                           "Reshape", "Transpose", "Softmax"};
  for (const Node& n : g.nodes) EXPECT_TRUE(canonical.count(n.op)) << n.label();
  auto h = op_histogram(g);
  EXPECT_EQ(h["Conv"], 52);
  EXPECT_LE(h["Relu"], 1) << "Relu after Conv should be fused";
  for (const Node& n : g.nodes)
    if (n.op == "Softmax") {
      EXPECT_EQ(n.attrs.get_i("axis"), 2);
    }
  EXPECT_GT(param_count(g), 200000);
  EXPECT_EQ(g.source, path);
}

}  // namespace
}  // namespace vedge
