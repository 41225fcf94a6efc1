// Session: the fast backend (layouts, views, Relayout insertion, NHWC input)
// must compute what the reference backend computes, and plan one arena.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "onnx_builder.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/onnx_import.h"

using namespace vedge;
using test::attr_i;
using test::attr_ints;
using test::OnnxBuilder;

namespace {

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// Runs the model on a seeded input with both backends; returns the largest
// difference over all outputs relative to the largest reference magnitude.
double fast_vs_reference(const std::string& bytes, int threads, bool* input_nhwc = nullptr) {
  Graph g = import_onnx_bytes(bytes, "model.onnx");
  SessionOptions fo, ro;
  fo.num_threads = threads;
  ro.backend = Backend::Reference;
  Session fast(g, fo), ref(g, ro);
  Tensor x = Tensor::from_floats(fast.input_info(0).shape,
                                 random_floats(numel(fast.input_info(0).shape), 11));
  fast.set_input(0, x);
  ref.set_input(0, x);
  fast.run();
  ref.run();
  if (input_nhwc) *input_nhwc = fast.input_is_nhwc(0);
  double worst = 0;
  for (int o = 0; o < fast.num_outputs(); ++o) {
    Tensor a = fast.output(o), b = ref.output(o);
    EXPECT_EQ(a.shape(), b.shape());
    double scale = 1e-12, diff = 0;
    for (int64_t i = 0; i < b.numel(); ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>(b.data<float>()[i])));
      diff = std::max(diff, std::fabs(static_cast<double>(a.data<float>()[i] - b.data<float>()[i])));
    }
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

// conv -> SSD-head style view [N,A,K,H,W] -> permute -> [N, H*W*A, K], and a
// second conv branch concatenated along the anchor axis.
std::string ssd_head_model() {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 10, 12});
  b.initializer("w1", {6 * 4, 3, 3, 3}, random_floats(24 * 27, 1));
  b.initializer("w2", {2 * 4, 3, 3, 3}, random_floats(8 * 27, 2));
  b.node("Conv", {"x", "w1"}, {"c1"}, {attr_ints("pads", {1, 1, 1, 1})});
  b.node("Conv", {"x", "w2"}, {"c2"}, {attr_ints("pads", {1, 1, 1, 1}), attr_ints("strides", {2, 2})});
  b.initializer_i64("s1", {5}, {1, 6, 4, 10, 12});
  b.initializer_i64("s2", {5}, {1, 2, 4, 5, 6});
  b.initializer_i64("flat", {3}, {1, -1, 4});
  b.node("Reshape", {"c1", "s1"}, {"r1"});
  b.node("Reshape", {"c2", "s2"}, {"r2"});
  b.node("Transpose", {"r1"}, {"t1"}, {attr_ints("perm", {0, 3, 4, 1, 2})});
  b.node("Transpose", {"r2"}, {"t2"}, {attr_ints("perm", {0, 3, 4, 1, 2})});
  b.node("Reshape", {"t1", "flat"}, {"f1"});
  b.node("Reshape", {"t2", "flat"}, {"f2"});
  b.node("Concat", {"f1", "f2"}, {"y"}, {attr_i("axis", 1)});
  b.output("y");
  return b.bytes();
}

}  // namespace

TEST(Executor, SsdHeadChainIsAViewAndMatchesReference) {
  for (int threads : {1, 2}) {
    bool nhwc = false;
    EXPECT_LT(fast_vs_reference(ssd_head_model(), threads, &nhwc), 1e-5);
    EXPECT_TRUE(nhwc);  // only convolutions read the image
  }
  // No Transpose or Reshape kernel runs: they are views of the conv outputs.
  SessionOptions o;
  o.profile = true;
  Session s(import_onnx_bytes(ssd_head_model(), "m.onnx"), o);
  for (const OpProfile& p : s.profile()) {
    EXPECT_NE(p.op, "Transpose");
    EXPECT_NE(p.op, "Reshape");
  }
}

TEST(Executor, InputReadByANonConvStaysPlain) {
  OnnxBuilder b(13);
  b.input("x", {1, 2, 4, 4});
  b.initializer("w", {2, 2, 1, 1}, {1, 2, 3, 4});
  b.node("Conv", {"x", "w"}, {"c"});
  b.node("Add", {"c", "x"}, {"y"});
  b.output("y");
  bool nhwc = true;
  EXPECT_LT(fast_vs_reference(b.bytes(), 1, &nhwc), 1e-6);
  EXPECT_FALSE(nhwc);
}

TEST(Executor, BuffersAreReusedAcrossAChain) {
  // Ten 3x3 convs in a chain: two activation buffers (plus the input) suffice.
  OnnxBuilder b(13);
  b.input("x", {1, 8, 16, 16});
  std::string prev = "x";
  for (int i = 0; i < 10; ++i) {
    std::string w = "w" + std::to_string(i), y = "y" + std::to_string(i);
    b.initializer(w, {8, 8, 3, 3}, random_floats(8 * 8 * 9, 20 + i));
    b.node("Conv", {prev, w}, {y}, {attr_ints("pads", {1, 1, 1, 1})});
    prev = y;
  }
  b.output(prev);
  Session s(import_onnx_bytes(b.bytes(), "chain.onnx"), {});
  const size_t one = 8 * 16 * 16 * 4;
  EXPECT_LE(s.arena_bytes(), 3 * (one + 128));
  EXPECT_LT(fast_vs_reference(b.bytes(), 2), 1e-5);
}

TEST(Executor, ArenaLimitIsAClearError) {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 64, 64});
  b.initializer("w", {64, 3, 1, 1}, random_floats(192, 3));
  b.node("Conv", {"x", "w"}, {"y"});
  b.output("y");
  SessionOptions o;
  o.max_arena_bytes = 1000;
  try {
    Session s(import_onnx_bytes(b.bytes(), "big.onnx"), o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("big.onnx"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("limit"), std::string::npos) << e.what();
  }
}
