// Bounded random-mutation fuzzing in CTest (runs in every build, and under
// ASan/UBSan in the sanitizer build): mutated ONNX models and images must
// either load or fail with vedge::Error, never crash or corrupt memory.
// Also writes the valid seeds for the libFuzzer targets (tests/fuzz/).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "onnx_builder.h"
#include "qdq_net.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/image.h"
#include "runtime/onnx_import.h"

namespace fs = std::filesystem;
using vedge::test::attr_ints;
using vedge::test::OnnxBuilder;

namespace {

const std::string kSeeds = std::string(VEDGE_TEST_WORK_DIR) + "/fuzz-seeds";

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void save_seed(const std::string& kind, const std::string& name, const std::string& bytes) {
  fs::create_directories(kSeeds + "/" + kind);
  std::ofstream(kSeeds + "/" + kind + "/" + name, std::ios::binary) << bytes;
}

// One of: flip bits, overwrite bytes with random/boundary values, truncate,
// duplicate a chunk, insert random bytes.
std::string mutate(const std::string& in, std::mt19937& rng) {
  std::string s = in;
  int rounds = 1 + static_cast<int>(rng() % 4);
  for (int r = 0; r < rounds && !s.empty(); ++r) {
    size_t at = rng() % s.size();
    switch (rng() % 5) {
      case 0: s[at] = static_cast<char>(s[at] ^ (1u << (rng() % 8))); break;
      case 1: {
        static const unsigned char special[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe};
        s[at] = static_cast<char>(rng() % 2 ? special[rng() % 6] : rng());
        break;
      }
      case 2: s.resize(at); break;
      case 3: {
        size_t len = std::min<size_t>(1 + rng() % 64, s.size() - at);
        s.insert(rng() % s.size(), s.substr(at, len));
        break;
      }
      default: {
        std::string junk(1 + rng() % 16, '\0');
        for (char& c : junk) c = static_cast<char>(rng());
        s.insert(at, junk);
      }
    }
  }
  return s;
}

// A small model exercising the importer's paths: conv + BN + activations,
// a constant shape chain, reshape/transpose/concat/softmax heads.
std::string seed_model() {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 8, 8});
  b.initializer("w", {4, 3, 3, 3}, std::vector<float>(108, 0.05f));
  b.initializer("scale", {4}, {1, 2, 3, 4});
  b.initializer("bias", {4}, {0, 0.1f, 0.2f, 0.3f});
  b.initializer("mean", {4}, {0, 0, 0, 0});
  b.initializer("var", {4}, {1, 1, 1, 1});
  b.node("Conv", {"x", "w"}, {"c"}, {attr_ints("pads", {1, 1, 1, 1}), attr_ints("strides", {2, 2})});
  b.node("BatchNormalization", {"c", "scale", "bias", "mean", "var"}, {"bn"});
  b.node("HardSwish", {"bn"}, {"h"});
  b.node("Shape", {"h"}, {"shp"});
  b.initializer_i64("idx0", {}, {0});
  b.node("Gather", {"shp", "idx0"}, {"n"});
  b.initializer_i64("ax0", {1}, {0});
  b.node("Unsqueeze", {"n", "ax0"}, {"n1"});
  b.initializer_i64("rest", {2}, {-1, 4});
  b.node("Concat", {"n1", "rest"}, {"newshape"}, {vedge::test::attr_i("axis", 0)});
  b.node("Transpose", {"h"}, {"t"}, {attr_ints("perm", {0, 2, 3, 1})});
  b.node("Reshape", {"t", "newshape"}, {"r"});
  b.node("Softmax", {"r"}, {"y"}, {vedge::test::attr_i("axis", -1)});
  b.output("y");
  return b.bytes();
}

// A QDQ model (the form `vedge quantize` writes) for the importer's
// quantization paths: Q/DQ pairs, a conv with relu, a depthwise conv with
// relu6, hard-swish, an SE block (pool, conv, hard-sigmoid, multiply) and a
// residual add, lowered to integer ops on import.
std::string seed_qdq_model() {
  vedge::test::QdqNet n(7);
  n.b.input("x", {1, 4, 8, 8});
  std::string y = n.qdq("x", 1.f / 64, 0);
  y = n.qdq(n.op("Relu", {n.conv(y, 8, 4, 1, 1)}), 0.02f, -128);
  const std::string r = n.qdq(n.clip(n.conv(y, 8, 8, 3, 1, 8), 0.f, 6.f), 0.03f, -128);
  std::string h = n.qdq(n.conv(r, 8, 8, 1, 1), 0.03f, 0);
  h = n.qdq(n.hardswish(h), 0.02f, -20);
  std::string s = n.qdq(n.op("GlobalAveragePool", {h}), 0.01f, -100);
  s = n.qdq(n.conv(s, 8, 8, 1, 1), 0.03f, 0);
  s = n.qdq(n.op("HardSigmoid", {s}, {vedge::test::attr_f("alpha", 1.f / 6.f), vedge::test::attr_f("beta", 0.5f)}),
            1.f / 255, -128);
  const std::string m = n.qdq(n.op("Mul", {h, s}), 0.02f, -20);
  const std::string out = n.dequantize(n.quantize(n.op("Add", {m, r}), 0.04f, -60), 0.04f, -60);
  n.b.output(out);
  return n.b.bytes();
}

void check_model_bytes(const std::string& bytes) {
  try {
    vedge::Graph g = vedge::import_onnx_bytes(bytes, "mutant.onnx");
    vedge::SessionOptions opt;
    opt.backend = vedge::Backend::Reference;
    opt.max_arena_bytes = size_t(64) << 20;
    vedge::Session s(std::move(g), opt);
    s.run();
  } catch (const vedge::Error& e) {
    EXPECT_NE(std::string(e.what()).find("mutant.onnx"), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(FuzzInputs, MutatedOnnxModels) {
  std::vector<std::string> seeds = {seed_model(), seed_qdq_model()};
  std::string uf = std::string(VEDGE_SHARED_DIR) + "/models/ultraface-rfb-320.onnx";
  if (fs::exists(uf)) seeds.push_back(read_file(uf));
  for (size_t i = 0; i < seeds.size(); ++i) save_seed("onnx", "seed" + std::to_string(i), seeds[i]);
  // The small seeds must import and run (the QDQ one as integer ops).
  check_model_bytes(seeds[0]);
  check_model_bytes(seeds[1]);
  const std::map<std::string, int> ops = vedge::op_histogram(vedge::import_onnx_bytes(seeds[1], "seed.onnx"));
  EXPECT_EQ(ops.count("QConv") ? ops.at("QConv") : 0, 4);
  EXPECT_EQ(ops.count("QMul") ? ops.at("QMul") : 0, 1);
  std::mt19937 rng(2024);
  for (int i = 0; i < 1500; ++i) {
    // The big model is mutated less often: each import of it takes longer.
    const size_t k = (i % 10 == 9 && seeds.size() > 2) ? 2 : static_cast<size_t>(i % 2);
    check_model_bytes(mutate(seeds[k], rng));
  }
}

TEST(FuzzInputs, MutatedImages) {
  vedge::Image img;
  img.width = 24, img.height = 16;
  img.rgb.resize(24 * 16 * 3);
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>(i * 7);
  std::string dir = std::string(VEDGE_TEST_WORK_DIR) + "/fuzz-images";
  fs::create_directories(dir);
  vedge::write_png(dir + "/s.png", img);
  vedge::write_jpeg(dir + "/s.jpg", img);
  std::vector<std::string> seeds = {read_file(dir + "/s.png"), read_file(dir + "/s.jpg")};
  std::string cat = std::string(VEDGE_SHARED_DIR) + "/models/cat.bmp";
  if (fs::exists(cat)) seeds.push_back(read_file(cat));
  for (size_t i = 0; i < seeds.size(); ++i) save_seed("image", "seed" + std::to_string(i), seeds[i]);
  std::mt19937 rng(99);
  int decoded = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string m = mutate(seeds[i % seeds.size()], rng);
    try {
      vedge::Image out = vedge::decode_image_memory(reinterpret_cast<const uint8_t*>(m.data()),
                                                    m.size(), "mutant");
      ASSERT_EQ(out.rgb.size(), static_cast<size_t>(out.width) * out.height * 3);
      ++decoded;
    } catch (const vedge::Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("mutant", 0), 0u) << e.what();
    }
  }
  // Many mutations (a flipped bit in pixel data) still decode.
  EXPECT_GT(decoded, 100);
}
