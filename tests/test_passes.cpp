// test_passes.cpp: the graph passes (passes.h), shape inference and the
// Graph bookkeeping (prune, validate, MACs) on hand-built IR graphs.
// Rewritten graphs are checked against hand-computed values and, through
// the reference executor, against the graph before the rewrite.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/graph.h"
#include "runtime/passes.h"
#include "runtime/shape_inference.h"

namespace vedge {
namespace {

// A tiny IR builder: values by name, nodes appended in order.
struct IrBuilder {
  Graph g;
  IrBuilder() { g.source = "ir-test"; }
  int input(const std::string& name, Shape s) {
    Value v;
    v.name = name;
    v.shape = std::move(s);
    int id = g.add_value(v);
    g.inputs.push_back(id);
    return id;
  }
  int constant(const std::string& name, Shape s, std::vector<float> v) {
    return g.add_constant(name, Tensor::from_floats(std::move(s), v));
  }
  // Appends a node; its single output's shape comes from shape inference.
  int node(const std::string& op, std::vector<int> in, Attrs a = {}, const std::string& name = "") {
    Node n;
    n.name = name.empty() ? op + "_" + std::to_string(g.nodes.size()) : name;
    n.op = op;
    n.inputs = std::move(in);
    n.attrs = std::move(a);
    Value v;
    v.name = n.name + ":out";
    n.outputs = {g.add_value(v)};
    g.values[static_cast<size_t>(n.outputs[0])].shape = infer_node_shapes(g, n).at(0);
    g.nodes.push_back(n);
    return n.outputs[0];
  }
};

Attrs conv_attrs(int64_t group = 1, std::vector<int64_t> pads = {0, 0, 0, 0}) {
  Attrs a;
  a.set("strides", std::vector<int64_t>{1, 1});
  a.set("dilations", std::vector<int64_t>{1, 1});
  a.set("pads", pads);
  a.set("group", group);
  return a;
}

Tensor random_tensor(Shape s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  Tensor t(DType::F32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

std::vector<Tensor> run_reference(const Graph& g, const std::vector<Tensor>& inputs) {
  Session s(g, SessionOptions{Backend::Reference, 1, false});
  for (size_t i = 0; i < inputs.size(); ++i) s.set_input(static_cast<int>(i), inputs[i]);
  s.run();
  std::vector<Tensor> out;
  for (int i = 0; i < s.num_outputs(); ++i) out.push_back(s.output(i));
  return out;
}

void expect_close(const Tensor& a, const Tensor& b, float tol) {
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i)
    ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], tol) << "element " << i;
}

int count_op(const Graph& g, const std::string& op) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.op == op;
  return c;
}

TEST(FoldConstants, ReplacesConstantNodeWithItsValue) {
  IrBuilder b;
  int x = b.input("x", {1, 3});
  int c1 = b.constant("c1", {3}, {1.f, 2.f, 3.f});
  int c2 = b.constant("c2", {1, 3}, {10.f, 20.f, 30.f});
  int sum = b.node("Add", {c1, c2});
  int y = b.node("Mul", {x, sum});
  b.g.outputs = {y};
  EXPECT_EQ(fold_constants(b.g), 1);
  ASSERT_EQ(b.g.nodes.size(), 1u);
  EXPECT_EQ(b.g.nodes[0].op, "Mul");
  const Value& folded = b.g.values[static_cast<size_t>(sum)];
  ASSERT_TRUE(folded.is_constant());
  EXPECT_EQ(folded.constant.to_floats(), (std::vector<float>{11.f, 22.f, 33.f}));
  b.g.prune();
  b.g.validate();
}

// x: [1,2,3,3], conv 2->2 3x3 pad 1 with bias, then BatchNorm.
struct ConvBn {
  IrBuilder b;
  int conv_out = -1, y = -1;
  std::vector<float> w, bias, scale{1.5f, 0.5f}, beta{0.25f, -1.f}, mean{0.1f, -0.3f},
      var{4.f, 0.25f};
  float eps = 1e-3f;
  ConvBn() {
    int x = b.input("x", {1, 2, 3, 3});
    Tensor wt = random_tensor({2, 2, 3, 3}, 7);
    w = wt.to_floats();
    bias = {0.5f, -0.25f};
    int wid = b.g.add_constant("w", wt);
    int bid = b.constant("b", {2}, bias);
    conv_out = b.node("Conv", {x, wid, bid}, conv_attrs(1, {1, 1, 1, 1}), "conv");
    std::vector<int> bn{conv_out, b.constant("s", {2}, scale), b.constant("beta", {2}, beta),
                        b.constant("m", {2}, mean), b.constant("v", {2}, var)};
    Attrs a;
    a.set("epsilon", eps);
    y = b.node("BatchNormalization", bn, a, "bn");
    b.g.outputs = {y};
  }
};

TEST(FoldBatchnorm, FoldsIntoConvWeightsAndBias) {
  ConvBn cb;
  Tensor orig = cb.b.g.values[static_cast<size_t>(cb.b.g.find_value("w"))].constant;
  EXPECT_EQ(fold_batchnorm(cb.b.g), 1);
  cb.b.g.prune();
  cb.b.g.validate();
  ASSERT_EQ(cb.b.g.nodes.size(), 1u);
  const Node& conv = cb.b.g.nodes[0];
  EXPECT_EQ(conv.op, "Conv");
  std::vector<float> w = cb.b.g.values[static_cast<size_t>(conv.inputs[1])].constant.to_floats();
  std::vector<float> bias = cb.b.g.values[static_cast<size_t>(conv.inputs[2])].constant.to_floats();
  for (int oc = 0; oc < 2; ++oc) {
    double a = cb.scale[oc] / std::sqrt(static_cast<double>(cb.var[oc]) + cb.eps);
    for (int i = 0; i < 18; ++i)
      EXPECT_NEAR(w[static_cast<size_t>(oc * 18 + i)], cb.w[static_cast<size_t>(oc * 18 + i)] * a,
                  1e-6);
    EXPECT_NEAR(bias[static_cast<size_t>(oc)], (cb.bias[oc] - cb.mean[oc]) * a + cb.beta[oc], 1e-6);
  }
  // The original weights' storage is not modified (it may be shared).
  EXPECT_EQ(orig.to_floats(), cb.w);
}

TEST(FoldBatchnorm, MulAddWhenConvOutputIsShared) {
  ConvBn folded, unfolded;
  // Making the conv output a graph output too keeps the conv unfused.
  unfolded.b.g.outputs.push_back(unfolded.conv_out);
  fold_batchnorm(folded.b.g);
  fold_batchnorm(unfolded.b.g);
  folded.b.g.prune();
  unfolded.b.g.prune();
  EXPECT_EQ(count_op(unfolded.b.g, "Mul"), 1);
  EXPECT_EQ(count_op(unfolded.b.g, "Add"), 1);
  EXPECT_EQ(count_op(unfolded.b.g, "BatchNormalization"), 0);
  Tensor x = random_tensor({1, 2, 3, 3}, 3);
  std::vector<Tensor> a = run_reference(folded.b.g, {x});
  std::vector<Tensor> b = run_reference(unfolded.b.g, {x});
  expect_close(a[0], b[0], 1e-5f);
  // Centre pixel of channel 1, by hand: conv (pad 1, 3x3 window fully inside).
  double acc = unfolded.bias[1];
  for (int ic = 0; ic < 2; ++ic)
    for (int i = 0; i < 9; ++i)
      acc += unfolded.w[static_cast<size_t>(18 + ic * 9 + i)] * x.data<float>()[ic * 9 + i];
  EXPECT_NEAR(b[1].data<float>()[9 + 4], acc, 1e-4);
  double want = (acc - 0.3 * -1) * 0.5 / std::sqrt(0.25 + 1e-3) - 1.0;
  EXPECT_NEAR(b[0].data<float>()[9 + 4], want, 1e-4);
}

TEST(RemoveIdentity, BypassesAndKeepsOutputName) {
  IrBuilder b;
  int x = b.input("x", {2});
  int r = b.node("Relu", {x});
  int i1 = b.node("Identity", {r});
  int s = b.node("Sigmoid", {i1});
  int i2 = b.node("Identity", {s});
  b.g.values[static_cast<size_t>(i2)].name = "result";
  b.g.outputs = {i2};
  EXPECT_EQ(remove_identity(b.g), 2);
  b.g.prune();
  b.g.validate();
  ASSERT_EQ(b.g.nodes.size(), 2u);
  EXPECT_EQ(b.g.nodes[1].inputs[0], b.g.nodes[0].outputs[0]);
  EXPECT_EQ(b.g.values[static_cast<size_t>(b.g.outputs[0])].name, "result");
}

TEST(FuseHardswish, BothOperandOrders) {
  for (int order = 0; order < 2; ++order) {
    IrBuilder b;
    int x = b.input("x", {1, 4, 2, 2});
    Attrs a;
    a.set("alpha", 1.f / 6.f);
    a.set("beta", 0.5f);
    int h = b.node("HardSigmoid", {x}, a);
    int y = order ? b.node("Mul", {h, x}) : b.node("Mul", {x, h});
    b.g.outputs = {y};
    Graph before = b.g;
    EXPECT_EQ(fuse_hardswish(b.g), 1);
    b.g.prune();
    b.g.validate();
    ASSERT_EQ(b.g.nodes.size(), 1u);
    EXPECT_EQ(b.g.nodes[0].op, "HardSwish");
    Tensor in = random_tensor({1, 4, 2, 2}, 11);
    expect_close(run_reference(b.g, {in})[0], run_reference(before, {in})[0], 1e-6f);
    // hardswish(x) = x * min(max(x + 3, 0), 6) / 6, by hand.
    Tensor out = run_reference(b.g, {in})[0];
    for (int64_t i = 0; i < in.numel(); ++i) {
      float v = in.data<float>()[i];
      EXPECT_NEAR(out.data<float>()[i], v * std::min(std::max(v + 3.f, 0.f), 6.f) / 6.f, 1e-6f);
    }
  }
}

TEST(FuseHardswish, SkipsOtherAlphaOrSharedGate) {
  IrBuilder b;
  int x = b.input("x", {4});
  Attrs a;
  a.set("alpha", 0.2f);
  a.set("beta", 0.5f);
  int h = b.node("HardSigmoid", {x}, a);
  int y = b.node("Mul", {x, h});
  b.g.outputs = {y};
  EXPECT_EQ(fuse_hardswish(b.g), 0);

  IrBuilder c;
  int x2 = c.input("x", {4});
  Attrs a2;
  a2.set("alpha", 1.f / 6.f);
  a2.set("beta", 0.5f);
  int h2 = c.node("HardSigmoid", {x2}, a2);
  int y2 = c.node("Mul", {x2, h2});
  c.g.outputs = {y2, h2};  // the gate is also an output
  EXPECT_EQ(fuse_hardswish(c.g), 0);
}

TEST(FuseRelu6Hardswish, HandWrittenFormsBecomeHardSigmoidAndHardSwish) {
  // Relu then Clip(0,6) and "/ 6" as Div: x * relu6(x + 3) / 6 -> HardSwish.
  // Clip(0,6) and "* (1/6)": relu6(x + 3) * (1/6) -> HardSigmoid.
  for (int form = 0; form < 2; ++form) {
    IrBuilder b;
    int x = b.input("x", {1, 2, 3, 3});
    int a = b.node("Add", {x, b.constant("three", {}, {3.f})});
    Attrs clip;
    clip.set("min", 0.f);
    clip.set("max", 6.f);
    int y;
    if (form == 0) {
      int r = b.node("Clip", {b.node("Relu", {a})}, clip);
      int m = b.node("Mul", {x, r});
      y = b.node("Div", {m, b.constant("six", {}, {6.f})});
    } else {
      int r = b.node("Clip", {a}, clip);
      y = b.node("Mul", {b.constant("sixth", {}, {1.f / 6.f}), r});
    }
    b.g.outputs = {y};
    Graph before = b.g;
    EXPECT_EQ(fuse_relu6_hardswish(b.g), 1);
    b.g.prune();
    b.g.validate();
    ASSERT_EQ(b.g.nodes.size(), 1u);
    EXPECT_EQ(b.g.nodes[0].op, form == 0 ? "HardSwish" : "HardSigmoid");
    if (form == 1) {
      EXPECT_NEAR(b.g.nodes[0].attrs.get_f("alpha"), 1.f / 6.f, 1e-7f);
      EXPECT_EQ(b.g.nodes[0].attrs.get_f("beta"), 0.5f);
    }
    Tensor in = random_tensor({1, 2, 3, 3}, 21);
    for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] *= 3.f;  // reach both clamps
    expect_close(run_reference(b.g, {in})[0], run_reference(before, {in})[0], 1e-6f);
  }
}

TEST(FuseRelu6Hardswish, SkipsOtherConstantsOrSharedIntermediates) {
  IrBuilder b;
  int x = b.input("x", {4});
  int a = b.node("Add", {x, b.constant("two", {}, {2.f})});  // x + 2, not x + 3
  Attrs clip;
  clip.set("min", 0.f);
  clip.set("max", 6.f);
  int r = b.node("Clip", {a}, clip);
  int y = b.node("Div", {r, b.constant("six", {}, {6.f})});
  b.g.outputs = {y};
  EXPECT_EQ(fuse_relu6_hardswish(b.g), 0);

  IrBuilder c;
  int x2 = c.input("x", {4});
  int a2 = c.node("Add", {x2, c.constant("three", {}, {3.f})});
  int r2 = c.node("Clip", {a2}, clip);
  int y2 = c.node("Div", {r2, c.constant("six", {}, {6.f})});
  c.g.outputs = {y2, r2};  // the relu6 result is needed elsewhere
  EXPECT_EQ(fuse_relu6_hardswish(c.g), 0);
}

struct ConvAct {
  IrBuilder b;
  int conv = -1;
  ConvAct() {
    int x = b.input("x", {1, 3, 4, 4});
    int w = b.g.add_constant("w", random_tensor({3, 1, 3, 3}, 5));  // depthwise
    int bias = b.constant("b", {3}, {0.5f, -0.5f, 0.f});
    conv = b.node("Conv", {x, w, bias}, conv_attrs(3, {1, 1, 1, 1}), "conv");
  }
  Attrs clip(float lo, float hi) {
    Attrs a;
    a.set("min", lo);
    a.set("max", hi);
    return a;
  }
};

TEST(FuseConvActivation, ReluThenClipBecomesRelu6) {
  ConvAct c;
  int r = c.b.node("Relu", {c.conv});
  int y = c.b.node("Clip", {r}, c.clip(0.f, 6.f));
  c.b.g.outputs = {y};
  Graph before = c.b.g;
  EXPECT_EQ(fuse_conv_activation(c.b.g), 2);
  c.b.g.prune();
  c.b.g.validate();
  ASSERT_EQ(c.b.g.nodes.size(), 1u);
  EXPECT_EQ(c.b.g.nodes[0].attrs.get_s("activation"), "relu6");
  Tensor in = random_tensor({1, 3, 4, 4}, 9);
  expect_close(run_reference(c.b.g, {in})[0], run_reference(before, {in})[0], 1e-6f);
}

TEST(FuseConvActivation, EachKind) {
  struct Case {
    std::string op;
    float lo, hi;
    std::string want;
  };
  for (const Case& k : {Case{"Relu", 0, 0, "relu"}, Case{"Clip", -1.f, 1.f, "clip"},
                        Case{"Clip", 0.f, 6.f, "relu6"}, Case{"HardSwish", 0, 0, "hardswish"},
                        Case{"Sigmoid", 0, 0, "sigmoid"}}) {
    ConvAct c;
    Attrs a = k.op == "Clip" ? c.clip(k.lo, k.hi) : Attrs();
    int y = c.b.node(k.op, {c.conv}, a);
    c.b.g.outputs = {y};
    Graph before = c.b.g;
    EXPECT_EQ(fuse_conv_activation(c.b.g), 1) << k.op;
    c.b.g.prune();
    ASSERT_EQ(c.b.g.nodes.size(), 1u);
    const Attrs& at = c.b.g.nodes[0].attrs;
    EXPECT_EQ(at.get_s("activation"), k.want);
    if (k.want == "clip") {
      EXPECT_EQ(at.get_f("act_min"), -1.f);
      EXPECT_EQ(at.get_f("act_max"), 1.f);
    }
    Tensor in = random_tensor({1, 3, 4, 4}, 13);
    expect_close(run_reference(c.b.g, {in})[0], run_reference(before, {in})[0], 1e-5f);
  }
}

TEST(FuseConvActivation, NotWhenConvOutputIsAGraphOutputOrShared) {
  ConvAct c;
  int y = c.b.node("Relu", {c.conv});
  c.b.g.outputs = {y, c.conv};
  EXPECT_EQ(fuse_conv_activation(c.b.g), 0);

  ConvAct d;
  int r1 = d.b.node("Relu", {d.conv});
  int r2 = d.b.node("Sigmoid", {d.conv});
  d.b.g.outputs = {r1, r2};
  EXPECT_EQ(fuse_conv_activation(d.b.g), 0);
}

TEST(ShapeInference, RejectsInconsistentShapesNamingTheNode) {
  IrBuilder b;
  int x = b.input("x", {1, 4, 5, 5});
  int w = b.g.add_constant("w", random_tensor({2, 3, 3, 3}, 1));
  try {
    b.node("Conv", {x, w}, conv_attrs(), "bad_conv");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("ir-test"), std::string::npos) << m;
    EXPECT_NE(m.find("'bad_conv' (Conv)"), std::string::npos) << m;
    EXPECT_NE(m.find("input channels"), std::string::npos) << m;
  }
  int y = b.input("y", {3, 5});
  EXPECT_THROW(b.node("Add", {x, y}), Error);
}

TEST(ShapeInference, WindowsAndBroadcast) {
  IrBuilder b;
  int x = b.input("x", {2, 8, 15, 16});
  Attrs a = conv_attrs(8, {1, 1, 1, 1});
  a.set("strides", std::vector<int64_t>{2, 2});
  int w = b.g.add_constant("w", random_tensor({8, 1, 3, 3}, 2));
  int c = b.node("Conv", {x, w}, a);
  EXPECT_EQ(b.g.values[static_cast<size_t>(c)].shape, (Shape{2, 8, 8, 8}));
  Attrs p;
  p.set("kernel_shape", std::vector<int64_t>{3, 3});
  p.set("strides", std::vector<int64_t>{2, 2});
  p.set("pads", std::vector<int64_t>{0, 0, 1, 1});
  int mp = b.node("MaxPool", {c}, p);
  EXPECT_EQ(b.g.values[static_cast<size_t>(mp)].shape, (Shape{2, 8, 4, 4}));
  EXPECT_EQ(broadcast_shapes({3, 1, 5}, {4, 1}, ""), (Shape{3, 4, 5}));
  // MACs: every output element of a depthwise 3x3 conv costs 9.
  EXPECT_EQ(node_macs(b.g, b.g.nodes[0]), 2 * 8 * 8 * 8 * 9);
}

TEST(GraphBookkeeping, PruneRenumbersAndValidateCatchesOrder) {
  IrBuilder b;
  int x = b.input("x", {4});
  int dead = b.node("Sigmoid", {x});
  int y = b.node("Relu", {x});
  b.g.outputs = {y};
  (void)dead;
  b.g.add_constant("unused", Tensor::from_floats({1}, {1.f}));
  b.g.prune();
  b.g.validate();
  ASSERT_EQ(b.g.nodes.size(), 1u);
  EXPECT_EQ(b.g.nodes[0].op, "Relu");
  EXPECT_EQ(b.g.values.size(), 2u);
  EXPECT_EQ(b.g.find_value("unused"), -1);
  EXPECT_EQ(b.g.use_counts(), (std::vector<int>{1, 1}));

  // A node reading a value produced later is rejected.
  IrBuilder c;
  int x2 = c.input("x", {4});
  int a = c.node("Relu", {x2});
  int s = c.node("Sigmoid", {a});
  c.g.outputs = {s};
  std::swap(c.g.nodes[0], c.g.nodes[1]);
  EXPECT_THROW(c.g.validate(), Error);
}

TEST(GraphBookkeeping, AttrsGettersCheckTypes) {
  Attrs a;
  a.set("i", int64_t{3});
  a.set("f", 2.0f);
  a.set("s", std::string("relu"));
  EXPECT_EQ(a.get_i("i"), 3);
  EXPECT_EQ(a.get_i("f"), 2);  // integral float is accepted
  EXPECT_EQ(a.get_f("i"), 3.f);
  EXPECT_EQ(a.get_i("missing", 7), 7);
  EXPECT_THROW(a.get_s("i"), Error);
  a.set("g", 2.5f);
  EXPECT_THROW(a.get_i("g"), Error);
  EXPECT_THROW(a.get_ints("s"), Error);
}

TEST(GraphBookkeeping, HistogramAndParams) {
  ConvAct c;
  int r = c.b.node("Relu", {c.conv});
  c.b.g.outputs = {r};
  auto h = op_histogram(c.b.g);
  EXPECT_EQ(h["Conv"], 1);
  EXPECT_EQ(h["Relu"], 1);
  EXPECT_EQ(param_count(c.b.g), 3 * 9 + 3);
}

}  // namespace
}  // namespace vedge
