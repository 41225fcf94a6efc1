// The benchmark's building blocks against hand-computed values: drift
// windows of a sustained run, input-size requests, a detector re-imported at
// another resolution (UltraFace at 480x360: feature maps and anchor count
// worked out by hand from its strides), a model with a fixed Reshape target
// that cannot change size, and file sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "onnx_builder.h"
#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "tools/bench/input_size.h"
#include "tools/bench/machine.h"
#include "tools/bench/stats.h"

namespace fs = std::filesystem;

namespace {

std::string work_dir() {
  std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/bench_tools";
  fs::create_directories(d);
  return d;
}

}  // namespace

namespace vedge {

// Samples at 0.0 .. 2.4 s in steps of 0.2 s, windows of 1 s: [0,1) holds 5,
// [1,2) 5, [2,3) 3. p50/p95 by linear interpolation between ranks.
TEST(DriftWindows, SplitByStartTime) {
  std::vector<double> t, ms;
  for (int i = 0; i < 13; ++i) t.push_back(0.2 * i), ms.push_back(10 + i);
  auto w = drift_windows(ms, t, 1.0);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].n, 5);
  EXPECT_EQ(w[1].n, 5);
  EXPECT_EQ(w[2].n, 3);
  EXPECT_DOUBLE_EQ(w[0].p50, 12);          // 10 11 12 13 14
  EXPECT_DOUBLE_EQ(w[0].p95, 13.8);        // rank 3.8
  EXPECT_DOUBLE_EQ(w[1].p50, 17);          // 15 .. 19
  EXPECT_DOUBLE_EQ(w[2].p50, 21);          // 20 21 22
  EXPECT_DOUBLE_EQ(w[2].p95, 21.9);        // rank 1.9
  EXPECT_DOUBLE_EQ(w[2].start_s, 2);
  EXPECT_DOUBLE_EQ(w[2].end_s, 3);
}

TEST(DriftWindows, EmptyWindowsAreLeftOutAndBadInputRejected) {
  auto w = drift_windows({5, 7}, {0.1, 3.5}, 1.0);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_DOUBLE_EQ(w[1].start_s, 3);
  EXPECT_THROW(drift_windows({1, 2}, {0.0}, 1.0), Error);
  EXPECT_THROW(drift_windows({1}, {0.0}, 0.0), Error);
}

TEST(InputSize, Requests) {
  SizeRequest r = parse_size_request("480");
  EXPECT_EQ(r.width, 480);
  EXPECT_EQ(r.height, 0);
  InputSize s = resolve_size(r, 320, 240);
  EXPECT_EQ(s.width, 480);
  EXPECT_EQ(s.height, 360);
  s = resolve_size(parse_size_request("640x352"), 320, 240);
  EXPECT_EQ(s.width, 640);
  EXPECT_EQ(s.height, 352);
  for (const char* bad : {"", "abc", "480x", "x480", "0", "8", "99999", "480x360x3", "-320"})
    EXPECT_THROW(parse_size_request(bad), Error) << bad;
}

// UltraFace at 480x360: strides 8/16/32/64 give maps 60x45, 30x23, 15x12,
// 8x6 (each a ceil-halving of the previous), so 60*45*3 + 30*23*2 + 15*12*2
// + 8*6*3 = 9984 anchors, which must be the re-imported graph's box rows.
TEST(InputSize, UltraFaceAt480x360) {
  const std::string model = std::string(VEDGE_SHARED_DIR) + "/models/ultraface-rfb-320.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << "../shared absent: " << model;
  const std::string spec = std::string(VEDGE_SOURCE_DIR) + "/models/ultraface-rfb-320.vedge.json";
  ResizedModel r = import_at_size(model, spec, /*detector=*/true, {480, 360});
  ASSERT_TRUE(r.graph) << r.skip_reason;
  DetectorSpec s = parse_detector_spec(r.graph->metadata.at(kDetectorMetadataKey), "resized");
  EXPECT_EQ(s.input.width, 480);
  EXPECT_EQ(s.input.height, 360);
  const auto& maps = s.anchors.ultraface.feature_maps;
  ASSERT_EQ(maps.size(), 4u);
  const int want[4][2] = {{60, 45}, {30, 23}, {15, 12}, {8, 6}};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(maps[k].width, want[k][0]) << k;
    EXPECT_EQ(maps[k].height, want[k][1]) << k;
  }
  EXPECT_EQ(anchor_count(s.anchors), 9984);
  EXPECT_EQ(validate_detector_spec(s, *r.graph).num_anchors, 9984);
  EXPECT_EQ(r.import_options.input_shapes.at("input"), (Shape{1, 3, 360, 480}));
}

// A network that flattens to a fixed element count cannot change size: the
// importer rejects the Reshape, and that is the stated reason.
TEST(InputSize, FixedReshapeTargetIsSkippedWithAReason) {
  test::OnnxBuilder b(13);
  b.input("images", {1, 3, 16, 16});
  b.initializer("w", {2, 3, 3, 3}, std::vector<float>(54, 0.1f));
  b.node("Conv", {"images", "w"}, {"y"}, {test::attr_ints("pads", {1, 1, 1, 1})});
  b.initializer_i64("target", {2}, {1, 2 * 16 * 16});
  b.node("Reshape", {"y", "target"}, {"flat"}, {}, "flatten");
  b.output("flat");
  const std::string path = work_dir() + "/fixed_reshape.onnx";
  b.save(path);
  ResizedModel same = import_at_size(path, "", false, {16, 16});
  EXPECT_TRUE(same.graph) << same.skip_reason;
  ResizedModel r = import_at_size(path, "", false, {32, 32});
  EXPECT_FALSE(r.graph);
  EXPECT_NE(r.skip_reason.find("flatten"), std::string::npos) << r.skip_reason;
  EXPECT_NE(r.skip_reason.find("Reshape"), std::string::npos) << r.skip_reason;
}

TEST(FileSizes, RawAndDeflated) {
  const std::string path = work_dir() + "/zeros.bin";
  std::ofstream(path, std::ios::binary) << std::string(100000, '\0');
  FileSizes s = file_sizes(path);
  EXPECT_EQ(s.bytes, 100000u);
  // 100000 equal bytes deflate to a few hundred bytes at most (a run is 258
  // bytes per code): far below the raw size, above the 6 bytes of framing.
  EXPECT_LT(s.deflate_bytes, 1000u);
  EXPECT_GT(s.deflate_bytes, 6u);
  EXPECT_THROW(file_sizes(work_dir() + "/missing.bin"), Error);
}

// Touching 64 MB raises the peak by at least that much.
TEST(Machine, PeakRssFollowsAnAllocation) {
  reset_peak_rss();  // where allowed, the peak restarts from the current RSS
  const size_t before = peak_rss_bytes();
  {
    std::vector<char> block(size_t(64) << 20);
    for (size_t i = 0; i < block.size(); i += 4096) block[i] = static_cast<char>(i);
    volatile char sink = block[block.size() / 2];
    (void)sink;
  }
  EXPECT_GE(peak_rss_bytes(), before + (size_t(60) << 20));
}

// The processors listed in /proc/cpuinfo, and an ISA flag exactly when the
// flags line has it.
TEST(Machine, DescribesThisMachine) {
  std::ifstream f("/proc/cpuinfo");
  if (!f) GTEST_SKIP() << "no /proc/cpuinfo";
  int processors = 0;
  bool avx2 = false;
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("processor", 0) == 0) ++processors;
    if (line.rfind("flags", 0) == 0) avx2 = (line + " ").find(" avx2 ") != std::string::npos;
  }
  MachineInfo m = describe_machine();
  EXPECT_EQ(m.logical_cores, processors);
  EXPECT_NE(m.cpu_model, "");
  EXPECT_EQ(std::count(m.isa.begin(), m.isa.end(), "avx2"), avx2 ? 1 : 0);
}

}  // namespace vedge
