// test_quant_analysis.cpp: the quantization accuracy tools (analysis.h,
// quant_report.h): the error metrics against hand-computed values, the
// mixed-precision search over a fake evaluator with known sensitivities,
// per-layer errors of a hand-built Q/DQ graph whose quantization steps are
// powers of two (so every error is known exactly), the sensitivity ranking
// of a small conv net whose layer ranges are deliberately ruined, the report
// files, and (with the exported SSDLite test model) the whole analysis on a
// real detector. Fast (a few seconds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "data/coco.h"
#include "data/synthetic.h"
#include "runtime/error.h"
#include "runtime/files.h"
#include "runtime/npy.h"
#include "runtime/onnx_import.h"
#include "tools/quantize/analysis.h"
#include "tools/quantize/quant_report.h"

namespace vedge {
namespace {

namespace fs = std::filesystem;

std::string work_dir(const std::string& name) {
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/quant_analysis/" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// ---- metrics -------------------------------------------------------------

TEST(ErrorStats, HandComputedValues) {
  const float ref[] = {1, 2, 3, 4}, test[] = {1, 2, 3, 5};
  ErrorStats s;
  s.add(ref, test, 4);
  // signal 1+4+9+16 = 30, noise 1: 10 log10(30).
  EXPECT_NEAR(s.sqnr_db(), 14.771212547, 1e-9);
  // (1+4+9+20) / (sqrt(30) sqrt(39))
  EXPECT_NEAR(s.cosine(), 34.0 / std::sqrt(30.0 * 39.0), 1e-12);
  EXPECT_EQ(s.max_abs, 1.0);
  EXPECT_EQ(s.count, 4);
}

TEST(ErrorStats, AccumulatesOverCallsLikeOneCall) {
  const float ref[] = {0.5f, -2, 8, 1, -3, 0.25f}, test[] = {0.75f, -2, 7, 1.5f, -3, 0};
  ErrorStats one, two;
  one.add(ref, test, 6);
  two.add(ref, test, 2);
  two.add(ref + 2, test + 2, 4);
  EXPECT_DOUBLE_EQ(one.sqnr_db(), two.sqnr_db());
  EXPECT_DOUBLE_EQ(one.cosine(), two.cosine());
  EXPECT_EQ(two.max_abs, 1.0);
  EXPECT_EQ(two.count, 6);
  // signal 0.25+4+64+1+9+0.0625 = 78.3125; noise 0.0625+1+0.25+0.0625 = 1.375.
  EXPECT_NEAR(one.sqnr_db(), 10 * std::log10(78.3125 / 1.375), 1e-9);
}

TEST(ErrorStats, ExactAndDegenerateCases) {
  const float a[] = {1, -2, 3}, zero[] = {0, 0, 0};
  ErrorStats exact;
  exact.add(a, a, 3);
  EXPECT_TRUE(std::isinf(exact.sqnr_db()) && exact.sqnr_db() > 0);
  EXPECT_NEAR(exact.cosine(), 1.0, 1e-12);
  EXPECT_EQ(exact.max_abs, 0.0);
  ErrorStats zeros;
  zeros.add(zero, zero, 3);
  EXPECT_TRUE(std::isinf(zeros.sqnr_db()) && zeros.sqnr_db() > 0);
  EXPECT_EQ(zeros.cosine(), 1.0);
  ErrorStats lost;  // the quantized tensor is all zero
  lost.add(a, zero, 3);
  EXPECT_NEAR(lost.sqnr_db(), 0.0, 1e-12);  // noise == signal
  EXPECT_EQ(lost.cosine(), 0.0);
  EXPECT_EQ(lost.max_abs, 3.0);
  ErrorStats invented;  // float all zero, quantized not
  invented.add(zero, a, 3);
  EXPECT_TRUE(std::isinf(invented.sqnr_db()) && invented.sqnr_db() < 0);
  const float neg[] = {-1, 2, -3};
  ErrorStats flipped;
  flipped.add(a, neg, 3);
  EXPECT_NEAR(flipped.cosine(), -1.0, 1e-12);
}

// ---- ranking and the mixed-precision search --------------------------------

TEST(Sensitivity, RanksByMapDropThenSqnr) {
  SensitivityResult s;
  s.by_map = true;
  s.ranked = {{"a", "Conv", 30, 0.6, 0.2}, {"b", "Conv", 12, 0.5, 1.2}, {"c", "Add", 20, 0.6, 0.2},
              {"d", "Conv", 40, 0.3, 3.0}};
  rank_sensitivity(s);
  ASSERT_EQ(s.ranked.size(), 4u);
  EXPECT_EQ(s.ranked[0].node, "d");
  EXPECT_EQ(s.ranked[1].node, "b");
  EXPECT_EQ(s.ranked[2].node, "c");  // tie on the drop: lower SQNR first
  EXPECT_EQ(s.ranked[3].node, "a");
  s.by_map = false;
  rank_sensitivity(s);
  EXPECT_EQ(s.ranked[0].node, "b");
  EXPECT_EQ(s.ranked[1].node, "c");
  EXPECT_EQ(s.ranked[2].node, "a");
  EXPECT_EQ(s.ranked[3].node, "d");
}

// A model whose mAP loses `drop[layer]` points for every quantized layer.
struct FakeModel {
  double float_map = 0.700;
  std::map<std::string, double> drop;  // points
  std::vector<std::set<std::string>> calls;
  double operator()(const std::set<std::string>& kept) {
    calls.push_back(kept);
    double m = float_map;
    for (const auto& [layer, d] : drop)
      if (!kept.count(layer)) m -= d / 100;
    return m;
  }
};

TEST(MixedPrecision, KeepsTheMostSensitiveLayersUntilWithinBudget) {
  FakeModel f;
  f.drop = {{"conv0", 0.8}, {"head", 0.5}, {"mid", 0.1}, {"tail", 0.05}};
  const std::vector<std::string> ranked = {"conv0", "head", "mid", "tail"};
  MixedPrecisionResult r =
      search_mixed_precision(ranked, f.float_map, 0.5, [&](const std::set<std::string>& k) { return f(k); });
  // All INT8: 1.45 points; without conv0: 0.65 > 0.5; without head too: 0.15.
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(r.kept_float, (std::vector<std::string>{"conv0", "head"}));
  EXPECT_TRUE(r.met_budget);
  EXPECT_NEAR(r.steps[0].drop, 1.45, 1e-9);
  EXPECT_EQ(r.steps[1].added, "conv0");
  EXPECT_NEAR(r.steps[1].drop, 0.65, 1e-9);
  EXPECT_EQ(r.steps[2].added, "head");
  EXPECT_NEAR(r.steps[2].drop, 0.15, 1e-9);
  EXPECT_NEAR(r.final_map50(), 0.6985, 1e-12);
  // Exactly one evaluation per step, each with the layers kept so far.
  ASSERT_EQ(f.calls.size(), 3u);
  EXPECT_TRUE(f.calls[0].empty());
  EXPECT_EQ(f.calls[2], (std::set<std::string>{"conv0", "head"}));
  // A larger budget stops earlier; the budget is inclusive.
  FakeModel g = f;
  MixedPrecisionResult r2 =
      search_mixed_precision(ranked, g.float_map, 0.65, [&](const std::set<std::string>& k) { return g(k); });
  EXPECT_EQ(r2.kept_float, (std::vector<std::string>{"conv0"}));
}

TEST(MixedPrecision, AlreadyWithinBudgetKeepsNothing) {
  FakeModel f;
  f.drop = {{"a", 0.1}, {"b", 0.2}};
  MixedPrecisionResult r =
      search_mixed_precision({"b", "a"}, f.float_map, 0.5, [&](const std::set<std::string>& k) { return f(k); });
  EXPECT_TRUE(r.kept_float.empty());
  EXPECT_TRUE(r.met_budget);
  EXPECT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(f.calls.size(), 1u);
}

TEST(MixedPrecision, UnreachableBudgetEndsWithEveryLayerFloat) {
  // Something outside the layers (say, the input quantization) costs 0.3
  // points that no layer choice recovers.
  FakeModel f;
  f.drop = {{"a", 0.4}, {"b", 0.2}, {"input", 0.3}};
  MixedPrecisionResult r =
      search_mixed_precision({"a", "b"}, f.float_map, 0.1, [&](const std::set<std::string>& k) { return f(k); });
  EXPECT_FALSE(r.met_budget);
  EXPECT_EQ(r.kept_float, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_NEAR(r.steps.back().drop, 0.3, 1e-9);
  EXPECT_THROW(search_mixed_precision({"a"}, 0.7, -1, [](const std::set<std::string>&) { return 0.0; }), Error);
  EXPECT_THROW(search_mixed_precision({"a"}, 0.7, std::nan(""), [](const std::set<std::string>&) { return 0.0; }),
               Error);
}

// ---- per-layer errors on a hand-built Q/DQ graph ----------------------------

int add(Graph& g, const std::string& name, DType t, Shape s) {
  Value v;
  v.name = name;
  v.dtype = t;
  v.shape = std::move(s);
  return g.add_value(v);
}

void node(Graph& g, const std::string& name, const std::string& op, std::vector<int> in, std::vector<int> out,
          const Attrs& attrs = {}) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = attrs;
  g.nodes.push_back(n);
}

Tensor scalar_i8(int8_t v) {
  Tensor t(DType::I8, {});
  *t.data<int8_t>() = v;
  return t;
}

// x [1,1,1,5] -> Q/DQ (scale 2^-4, zp 0) -> Relu -> Q/DQ (scale 2^-3,
// zp -128) -> output; and the same without the Q/DQ pairs.
TEST(MeasureErrors, PowerOfTwoStepsGiveKnownErrors) {
  const Shape s{1, 1, 1, 5};
  Graph f;
  f.source = "float";
  const int fx = add(f, "x", DType::F32, s), fy = add(f, "y", DType::F32, s);
  node(f, "relu", "Relu", {fx}, {fy});
  f.inputs = {fx};
  f.outputs = {fy};

  Graph q;
  q.source = "qdq";
  const int x = add(q, "x", DType::F32, s);
  const int s1 = q.add_constant("s1", Tensor::from_floats({}, {0.0625f})), z1 = q.add_constant("z1", scalar_i8(0));
  const int s2 = q.add_constant("s2", Tensor::from_floats({}, {0.125f})), z2 = q.add_constant("z2", scalar_i8(-128));
  const int xq = add(q, "x_q", DType::I8, s), xdq = add(q, "x_dq", DType::F32, s);
  const int y = add(q, "y", DType::F32, s), yq = add(q, "y_q", DType::I8, s), ydq = add(q, "y_dq", DType::F32, s);
  node(q, "x_Q", "QuantizeLinear", {x, s1, z1}, {xq});
  node(q, "x_DQ", "DequantizeLinear", {xq, s1, z1}, {xdq});
  node(q, "relu", "Relu", {xdq}, {y});
  node(q, "y_Q", "QuantizeLinear", {y, s2, z2}, {yq});
  node(q, "y_DQ", "DequantizeLinear", {yq, s2, z2}, {ydq});
  q.inputs = {x};
  q.outputs = {ydq};

  const std::vector<QuantPoint> points = {{"x", "", "", "x_dq"}, {"y", "relu", "Relu", "y_dq"}};
  // x: 0.1 -> 1.6 steps -> 2 -> 0.125 (error 0.025); 10 saturates at
  // 127 * 2^-4 = 7.9375. y = relu: 7.9375 / 2^-3 = 63.5 rounds half to even
  // to 64 -> 8.0 (error 2 from the float 10); -0.5 -> 0 exactly.
  const std::vector<Tensor> inputs = {Tensor::from_floats(s, {0.25f, -0.5f, 1.0f, 0.1f, 10.0f}),
                                      Tensor::from_floats(s, {0, 0, 0, 0, 0})};
  ErrorAnalysis e = measure_errors(f, q, points, inputs);
  ASSERT_EQ(e.layers.size(), 2u);
  ASSERT_EQ(e.outputs.size(), 1u);
  EXPECT_EQ(e.images, 2);

  const double d1 = 0.125 - double(0.1f), d2 = 10.0 - 7.9375;
  const double sig_x = 0.0625 + 0.25 + 1.0 + double(0.1f) * double(0.1f) + 100.0;
  EXPECT_EQ(e.layers[0].value, "x");
  EXPECT_EQ(e.layers[0].elements, 10);
  EXPECT_NEAR(e.layers[0].max_abs, d2, 1e-9);
  EXPECT_NEAR(e.layers[0].sqnr_db, 10 * std::log10(sig_x / (d1 * d1 + d2 * d2)), 1e-6);
  const double dot_x = 0.0625 + 0.25 + 1.0 + double(0.1f) * 0.125 + 79.375;
  const double qq_x = 0.0625 + 0.25 + 1.0 + 0.015625 + 7.9375 * 7.9375;
  EXPECT_NEAR(e.layers[0].cosine, dot_x / std::sqrt(sig_x * qq_x), 1e-9);

  const double e2 = 10.0 - 8.0;
  const double sig_y = 0.0625 + 1.0 + double(0.1f) * double(0.1f) + 100.0;
  EXPECT_EQ(e.layers[1].node, "relu");
  EXPECT_NEAR(e.layers[1].max_abs, e2, 1e-9);
  EXPECT_NEAR(e.layers[1].sqnr_db, 10 * std::log10(sig_y / (d1 * d1 + e2 * e2)), 1e-6);
  // The graph output is the same tensor as the last point.
  EXPECT_EQ(e.outputs[0].value, "y");
  EXPECT_DOUBLE_EQ(e.outputs[0].sqnr_db, e.layers[1].sqnr_db);
  EXPECT_DOUBLE_EQ(worst_output_sqnr(e), e.layers[1].sqnr_db);

  const std::vector<QuantPoint> bad = {{"nope", "", "", "x_dq"}};
  EXPECT_THROW(measure_errors(f, q, bad, inputs), Error);
  EXPECT_THROW(measure_errors(f, q, points, {}), Error);
}

// ---- sensitivity on a small conv net ---------------------------------------

// x -> conv0 (relu) -> {conv1 -> "boxes", conv2 -> "scores"}: a trunk and
// two heads, like an SSD. A head's output range only matters when that head
// is quantized (a trunk layer's range also sets its consumers' input
// quantization, so a ruined trunk range hurts the heads too).
Graph conv_net() {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 0.5f);
  auto weights = [&](Shape s) {
    std::vector<float> w(static_cast<size_t>(numel(s)));
    for (float& v : w) v = nd(rng);
    return Tensor::from_floats(s, w);
  };
  Graph g;
  g.source = "conv_net";
  const int x = add(g, "x", DType::F32, {1, 3, 8, 8});
  auto conv = [&](const std::string& n, int in, int cin, int cout, bool relu) {
    const int w = g.add_constant(n + ".w", weights({cout, cin, 3, 3}));
    const int b = g.add_constant(n + ".b", weights({cout}));
    const int y = add(g, n + ".y", DType::F32, {1, cout, 8, 8});
    Attrs a;
    a.set("strides", std::vector<int64_t>{1, 1});
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    a.set("dilations", std::vector<int64_t>{1, 1});
    a.set("group", int64_t{1});
    if (relu) a.set("activation", std::string("relu"));
    node(g, n, "Conv", {in, w, b}, {y}, a);
    return y;
  };
  const int trunk = conv("conv0", x, 3, 6, true);
  g.inputs = {x};
  g.outputs = {conv("conv1", trunk, 6, 4, false), conv("conv2", trunk, 6, 5, false)};
  g.validate();
  return g;
}

QuantizeResult conv_net_result() {
  QuantizeResult r;
  r.prepared = prepare_for_quantization(conv_net());
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int i = 0; i < 4; ++i) {
    std::vector<float> v(3 * 8 * 8);
    for (float& e : v) e = u(rng);
    r.calib.inputs.push_back(Tensor::from_floats({1, 3, 8, 8}, v));
  }
  r.points = quantization_points(r.prepared, r.options.qdq);
  std::vector<std::string> values;
  for (const QuantPoint& p : r.points) values.push_back(p.value);
  r.ranges = calibrate(r.prepared, values, r.calib, r.options.calib);
  rebuild(r, r.options.qdq);
  return r;
}

AnalysisOptions quiet() {
  AnalysisOptions o;
  o.progress = false;
  o.print_summary = false;
  return o;
}

TEST(Sensitivity, ALayerWithARuinedRangeRanksFirst) {
  for (const std::string victim : {"conv2", "conv1"}) {
    QuantizeResult r = conv_net_result();
    // A range 1000x too wide: the quantization step swallows the activation.
    r.ranges[victim + ".y"] = TensorRange{-1000.f, 1000.f};
    AnalysisOptions o = quiet();
    o.sensitivity = true;
    QuantAnalysis a = run_quantization_analysis(r, o);
    ASSERT_TRUE(a.sensitivity.has_value());
    const SensitivityResult& s = *a.sensitivity;
    EXPECT_FALSE(s.by_map);
    ASSERT_EQ(s.ranked.size(), 3u) << victim;
    EXPECT_EQ(s.ranked[0].node, victim);
    EXPECT_LT(s.ranked[0].output_sqnr_db + 10, s.ranked[1].output_sqnr_db) << victim;
    // And the per-layer error of the full INT8 model points at it too.
    for (const LayerError& e : a.errors.layers) {
      if (e.node == victim) {
        EXPECT_LT(e.sqnr_db, 10) << victim;
      } else {
        EXPECT_GT(e.sqnr_db, 20) << e.node;
      }
    }
  }
  // Untouched, every single-layer model stays accurate.
  QuantizeResult r = conv_net_result();
  AnalysisOptions o = quiet();
  o.sensitivity = true;
  QuantAnalysis a = run_quantization_analysis(r, o);
  for (const LayerSensitivity& l : a.sensitivity->ranked) EXPECT_GT(l.output_sqnr_db, 25) << l.node;
  ASSERT_EQ(a.errors.layers.size(), 4u);  // input + three convs
  for (const LayerError& e : a.errors.layers) EXPECT_GT(e.cosine, 0.999) << e.value;
  ASSERT_EQ(a.errors.outputs.size(), 2u);
  EXPECT_EQ(a.errors.outputs[1].value, "conv2.y");
}

TEST(Analysis, RejectsWhatItCannotAnalyze) {
  QuantizeResult r = conv_net_result();
  AnalysisOptions o = quiet();
  o.max_map_drop = 0.5;  // without --val
  EXPECT_THROW(run_quantization_analysis(r, o), Error);
  o = quiet();
  o.error_images = 0;
  EXPECT_THROW(run_quantization_analysis(r, o), Error);
  QuantizeResult fp16 = r;
  fp16.options.qdq.precision = Precision::FP16;
  EXPECT_THROW(run_quantization_analysis(fp16, quiet()), Error);
  QuantizeResult empty = r;
  empty.calib.inputs.clear();
  EXPECT_THROW(run_quantization_analysis(empty, quiet()), Error);
}

// ---- the report ------------------------------------------------------------

QuantAnalysis sample_analysis() {
  QuantAnalysis a;
  a.precision = "int8";
  a.method = "minmax";
  a.activations = "int8";
  a.io = "float";
  a.calib_samples = 8;
  a.command = "vedge quantize m.onnx --calib c --report r <x>";
  a.date_utc = "2026-11-21T12:00:00Z";
  a.errors.images = 4;
  for (int i = 0; i < 14; ++i)
    a.errors.layers.push_back({"v" + std::to_string(i), "n" + std::to_string(i), "Conv", 20.0 + i, 0.99, 0.1, 100});
  a.errors.layers[3].sqnr_db = std::numeric_limits<double>::infinity();
  a.errors.outputs = {{"boxes", "", "output", 31.5, 0.999, 0.02, 50}, {"scores", "", "output", 27.25, 0.998, 0.3, 90}};
  SensitivityResult s;
  s.by_map = true;
  s.float_map50 = 0.7;
  s.ranked = {{"n2", "Conv", 10, 0.69, 1.0}, {"n5", "Conv", 30, 0.698, 0.2}};
  a.sensitivity = s;
  MixedPrecisionResult m;
  m.budget = 0.5;
  m.float_map50 = 0.7;
  m.steps = {{"", {}, 0.688, 1.2}, {"n2", {"n2"}, 0.697, 0.3}};
  m.kept_float = {"n2"};
  m.met_budget = true;
  a.mixed = m;
  a.float_map50 = 0.7;
  a.quant_map50 = 0.697;
  a.val_path = "val.json";
  return a;
}

TEST(QuantReport, WritesParsableJsonMarkdownAndHtml) {
  const QuantAnalysis a = sample_analysis();
  const std::string dir = work_dir("report") + "/out";
  write_quant_report(a, dir);
  for (const char* f : {"quant-report.md", "quant-report.json", "quant-report.html"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_NE(e.path().extension(), ".tmp") << e.path();

  const nlohmann::json j = nlohmann::json::parse(read_text_file(dir + "/quant-report.json"));
  ASSERT_EQ(j["layers"].size(), 14u);
  EXPECT_TRUE(j["layers"][3]["sqnr_db"].is_null());  // exact: +inf
  EXPECT_DOUBLE_EQ(j["layers"][4]["sqnr_db"].get<double>(), 24.0);
  EXPECT_TRUE(j["layers"][2]["kept_float"].get<bool>());
  EXPECT_FALSE(j["layers"][5]["kept_float"].get<bool>());
  EXPECT_EQ(j["outputs"][1]["value"], "scores");
  EXPECT_EQ(j["sensitivity"]["ranked_by"], "map50_drop");
  EXPECT_EQ(j["sensitivity"]["layers"][0]["node"], "n2");
  EXPECT_EQ(j["mixed_precision"]["kept_float"], nlohmann::json({"n2"}));
  EXPECT_TRUE(j["mixed_precision"]["met_budget"].get<bool>());
  EXPECT_NEAR(j["map50"]["drop_points"].get<double>(), 0.3, 1e-9);

  const std::string md = read_text_file(dir + "/quant-report.md");
  EXPECT_NE(md.find("| scores | 27.25 |"), std::string::npos);
  EXPECT_NE(md.find("kept in float: `n2`"), std::string::npos);
  EXPECT_NE(md.find("| 4 | n3 | Conv | v3 | inf |"), std::string::npos);

  const std::string html = read_text_file(dir + "/quant-report.html");
  // 14 layers: two charts (12 + 2 bars), two segments per bar.
  size_t charts = 0, bars = 0;
  for (size_t p = html.find("class=\"sqnr-chart\""); p != std::string::npos; p = html.find("class=\"sqnr-chart\"", p + 1))
    ++charts;
  for (size_t p = html.find("class=\"bar-seg\""); p != std::string::npos; p = html.find("class=\"bar-seg\"", p + 1))
    ++bars;
  EXPECT_EQ(charts, 2u);
  EXPECT_EQ(bars, 28u);
  EXPECT_NE(html.find("<title>3, kept in float: 22.00</title>"), std::string::npos);  // n2 highlighted
  EXPECT_NE(html.find("<title>3, INT8: 0.00</title>"), std::string::npos);
  EXPECT_NE(html.find("id=\"chart-mixed\""), std::string::npos);
  EXPECT_NE(html.find("&lt;x&gt;"), std::string::npos);  // the command is escaped
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

// ---- the SSDLite test detector ---------------------------------------------

const std::string kModel =
    std::string(VEDGE_TEST_WORK_DIR) + "/models/ssdlite320_mobilenet_v3_small_2fm_op17.onnx";

TEST(QuantAnalysisSsdlite, FirstConvIsAccurateAndTheReportIsWritten) {
  if (!fs::exists(kModel)) GTEST_SKIP() << kModel << " absent: the export_test_models CTest fixture writes it";
  // A calibration/validation set whose class names are the model's labels
  // (the random-weight model has no skill: its mAP is whatever it is, the
  // test checks the machinery).
  const std::string dir = work_dir("ssdlite");
  ShapesConfig cfg;
  cfg.num_images = 3;
  cfg.image_ext = ".png";
  cfg.threads = 1;
  Dataset val = generate_shapes(cfg, dir, "val");
  const Graph fg = import_onnx_file(kModel);
  const nlohmann::json spec = nlohmann::json::parse(fg.metadata.at("vedge.detector"));
  for (size_t i = 0; i < val.categories.size(); ++i)
    val.categories[i].name = spec["labels"].at(i + 1).get<std::string>();
  const std::string val_json = dir + "/val.json";  // the images stay in val/images
  write_coco_dataset(val, val_json);

  QuantizeOptions qo;
  qo.calib_path = val_json;
  qo.calib_set.samples = 3;
  qo.progress = false;
  QuantizeResult r = quantize_model(kModel, qo);

  // The first conv's output, directly after the input quantization.
  const std::vector<Tensor> two(r.calib.inputs.begin(), r.calib.inputs.begin() + 2);
  const ErrorAnalysis e = measure_errors(r.prepared, r.qdq, r.points, two);
  ASSERT_GE(e.layers.size(), 2u);
  EXPECT_TRUE(e.layers[0].node.empty());  // the graph input
  EXPECT_EQ(e.layers[1].op, "Conv");
  // The input point, recomputed here from the calibrated range: ONNX
  // QuantizeLinear (round half to even, saturate) then DequantizeLinear.
  const QuantParams qp = activation_params(r.ranges.at(e.layers[0].value), DType::I8);
  double sig = 0, noise = 0;
  for (const Tensor& x : two) {
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float v = x.data<float>()[i];
      const float q = std::clamp(std::nearbyint(v / qp.scale[0]) + float(qp.zero_point[0]), -128.f, 127.f);
      const double d = double(v) - double((q - float(qp.zero_point[0])) * qp.scale[0]);
      sig += double(v) * v;
      noise += d * d;
    }
  }
  EXPECT_NEAR(e.layers[0].sqnr_db, 10 * std::log10(sig / noise), 1e-3);
  std::printf("input %.2f dB, first conv %.2f dB cos %.5f, outputs %.2f / %.2f dB\n", e.layers[0].sqnr_db,
              e.layers[1].sqnr_db, e.layers[1].cosine, e.outputs[0].sqnr_db, e.outputs[1].sqnr_db);
  EXPECT_GT(e.layers[1].sqnr_db, 25);
  EXPECT_GT(e.layers[1].cosine, 0.995);
  // Errors grow through the network but the outputs keep their shape.
  for (const LayerError& o : e.outputs) EXPECT_GT(o.cosine, 0.9) << o.value;

  AnalysisOptions o = quiet();
  o.report_dir = dir + "/report";
  o.error_images = 2;
  o.val_path = val_json;  // float and INT8 mAP through the integer runtime
  QuantizeResult out = analyze_quantization(r, o);
  EXPECT_TRUE(out.options.qdq.float_nodes.empty());
  const nlohmann::json j = nlohmann::json::parse(read_text_file(o.report_dir + "/quant-report.json"));
  EXPECT_EQ(j["layers"].size(), r.points.size());
  EXPECT_EQ(j["outputs"].size(), 2u);
  EXPECT_EQ(j["quantization"]["error_images"], 2);
  EXPECT_EQ(j["quantization"]["io"], "float");
  EXPECT_TRUE(j["sensitivity"].is_null());
  EXPECT_TRUE(j["mixed_precision"].is_null());
  // The report's rows are the errors measured above (the same two images).
  EXPECT_NEAR(j["layers"][1]["sqnr_db"].get<double>(), e.layers[1].sqnr_db, 1e-9);
  EXPECT_NEAR(j["outputs"][1]["cosine"].get<double>(), e.outputs[1].cosine, 1e-12);
  const double fm = j["map50"]["float"].get<double>(), qm = j["map50"]["quantized"].get<double>();
  EXPECT_TRUE(fm >= 0 && fm <= 1 && qm >= 0 && qm <= 1);
  EXPECT_TRUE(fs::exists(o.report_dir + "/quant-report.html"));
  EXPECT_TRUE(fs::exists(o.report_dir + "/quant-report.md"));
}

}  // namespace
}  // namespace vedge
