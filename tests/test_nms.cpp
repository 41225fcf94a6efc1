// test_nms.cpp: IoU, greedy NMS and candidate selection on hand-computed
// cases, and the whole fast path (filter, top-k, decode, NMS) against a
// brute-force reference (full softmax, full sort, O(n^2) NMS) on random data
// and against torchvision's own SSDLite post-processing (reference generated
// at test time by tests/data/gen_ssdlite_postprocess_ref.py with
// /usr/bin/python3; skipped with a message when torchvision is missing).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "runtime/box_coder.h"
#include "runtime/detector.h"
#include "runtime/nms.h"
#include "runtime/npy.h"

using namespace vedge;

static Candidate cand(float score, int anchor, int cls, float x1, float y1, float x2, float y2) {
  Candidate c;
  c.score = score;
  c.anchor = anchor;
  c.class_id = cls;
  c.box[0] = x1;
  c.box[1] = y1;
  c.box[2] = x2;
  c.box[3] = y2;
  return c;
}

TEST(BoxIou, HandComputed) {
  const float a[4] = {0, 0, 2, 2}, b[4] = {1, 1, 3, 3}, c[4] = {2, 0, 4, 2}, d[4] = {1, 1, 2, 2},
              big[4] = {0, 0, 4, 4}, e[4] = {5, 5, 6, 6};
  EXPECT_FLOAT_EQ(box_iou(a, b), 1.f / 7);
  EXPECT_FLOAT_EQ(box_iou(a, a), 1.f);
  EXPECT_FLOAT_EQ(box_iou(a, c), 0.f);  // touching edges
  EXPECT_FLOAT_EQ(box_iou(big, d), 1.f / 16);
  EXPECT_FLOAT_EQ(box_iou(a, e), 0.f);
  const float z[4] = {1, 1, 1, 1};  // empty box
  EXPECT_FLOAT_EQ(box_iou(z, z), 0.f);
}

TEST(Nms, ClassAwareVersusAgnostic) {
  // A and B overlap with IoU 81/119 = 0.68; C is B's box in another class.
  std::vector<Candidate> s = {cand(0.9f, 0, 1, 0, 0, 10, 10), cand(0.8f, 1, 1, 1, 1, 11, 11),
                              cand(0.7f, 2, 2, 1, 1, 11, 11), cand(0.6f, 3, 1, 50, 50, 60, 60)};
  std::vector<Candidate> kept;
  NmsOptions o;
  o.iou_threshold = 0.5f;
  nms(s, o, kept);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].anchor, 0);
  EXPECT_EQ(kept[1].anchor, 2);
  EXPECT_EQ(kept[2].anchor, 3);
  o.class_agnostic = true;
  nms(s, o, kept);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].anchor, 0);
  EXPECT_EQ(kept[1].anchor, 3);
  o.iou_threshold = 0.7f;  // 0.68 no longer suppresses; C (IoU 1 with B) still goes
  nms(s, o, kept);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[1].anchor, 1);
  EXPECT_EQ(kept[2].anchor, 3);
}

TEST(Nms, IouEqualToThresholdIsKeptAndSuppressedBoxesDoNotSuppress) {
  // IoU(A, B) = 0.5 exactly: kept at threshold 0.5 (suppression needs IoU > t).
  std::vector<Candidate> s = {cand(0.9f, 0, 1, 0, 0, 2, 1), cand(0.8f, 1, 1, 0, 0, 1, 1)};
  std::vector<Candidate> kept;
  NmsOptions o;
  o.iou_threshold = 0.5f;
  nms(s, o, kept);
  EXPECT_EQ(kept.size(), 2u);
  // Chain A-B-C: B is suppressed by A, so C (overlapping only B) survives.
  s = {cand(0.9f, 0, 1, 0, 0, 10, 10), cand(0.8f, 1, 1, 4, 0, 14, 10),
       cand(0.7f, 2, 1, 8, 0, 18, 10)};
  o.iou_threshold = 0.4f;  // IoU(A,B) = IoU(B,C) = 6/14, IoU(A,C) = 2/18
  nms(s, o, kept);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[1].anchor, 2);
}

TEST(Nms, MaxDetections) {
  std::vector<Candidate> s;
  for (int i = 0; i < 10; ++i) s.push_back(cand(1.f - i * 0.05f, i, 1, i * 20.f, 0, i * 20.f + 10, 10));
  std::vector<Candidate> kept;
  NmsOptions o;
  o.max_detections = 4;
  nms(s, o, kept);
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_EQ(kept[3].anchor, 3);
}

TEST(SelectCandidates, SoftmaxSigmoidNoneHandComputed) {
  // Row 0 softmax: [1/5, 3/5, 1/5]; row 1: [1/3, 1/3, 1/3].
  const float logits[] = {0.f, std::log(3.f), 0.f, 1.f, 1.f, 1.f};
  std::vector<Candidate> out;
  ScoreFilter f;
  f.threshold = 0.3f;
  select_candidates(logits, 2, 3, f, out);
  ASSERT_EQ(out.size(), 3u);  // 0.6 (a0,c1), then 1/3 (a1,c1), 1/3 (a1,c2)
  EXPECT_NEAR(out[0].score, 0.6f, 1e-6f);
  EXPECT_EQ(out[0].anchor, 0);
  EXPECT_EQ(out[1].anchor, 1);
  EXPECT_EQ(out[1].class_id, 1);
  EXPECT_EQ(out[2].class_id, 2);
  f.background = -1;  // class 0 counts too
  select_candidates(logits, 2, 3, f, out);
  EXPECT_EQ(out.size(), 4u);

  f.activation = ScoreActivation::Sigmoid;
  f.background = 0;
  f.threshold = 0.5f;  // sigmoid(l) > 0.5 <=> l > 0
  select_candidates(logits, 2, 3, f, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NEAR(out[0].score, 1.f / (1.f + 1.f / 3.f), 1e-6f);  // sigmoid(ln 3) = 0.75
  EXPECT_NEAR(out[1].score, 1.f / (1.f + std::exp(-1.f)), 1e-6f);

  f.activation = ScoreActivation::None;
  f.threshold = 0.99f;
  select_candidates(logits, 2, 3, f, out);
  ASSERT_EQ(out.size(), 3u);  // ln3 = 1.0986, 1, 1
  EXPECT_EQ(out[0].anchor, 0);
}

TEST(SelectCandidates, TopKPerClassAndOverall) {
  // 6 anchors, classes [bg, a, b]: class a scores 0.9..0.5 on anchors 0..4,
  // class b 0.95 and 0.45 on anchors 0 and 5.
  std::vector<float> s(18, 0.f);
  for (int i = 0; i < 5; ++i) s[i * 3 + 1] = 0.9f - 0.1f * i;
  s[0 * 3 + 2] = 0.95f;
  s[5 * 3 + 2] = 0.45f;
  ScoreFilter f;
  f.activation = ScoreActivation::None;
  f.threshold = 0.1f;
  f.top_k = 3;
  std::vector<Candidate> out;
  select_candidates(s.data(), 6, 3, f, out);  // per class: a keeps 3, b keeps 2
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].class_id, 2);
  EXPECT_NEAR(out[3].score, 0.7f, 1e-6f);
  EXPECT_NEAR(out[4].score, 0.45f, 1e-6f);
  f.per_class_top_k = false;
  select_candidates(s.data(), 6, 3, f, out);  // overall: 0.95, 0.9, 0.8
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NEAR(out[2].score, 0.8f, 1e-6f);
}

TEST(BoxCoder, HandComputedAndClamp) {
  BoxCoder c;
  const float anchor[4] = {0.5f, 0.5f, 0.2f, 0.4f};
  const float zero[4] = {0, 0, 0, 0};
  float out[4];
  c.decode(zero, anchor, out);
  EXPECT_NEAR(out[0], 0.4f, 1e-6f);
  EXPECT_NEAR(out[1], 0.3f, 1e-6f);
  EXPECT_NEAR(out[2], 0.6f, 1e-6f);
  EXPECT_NEAR(out[3], 0.7f, 1e-6f);
  // dx = 1 moves the centre by 0.1 * w; dw = 5 scales w by e^(5*0.2) = e.
  const float off[4] = {1.f, -2.f, 5.f, 0.f};
  c.decode(off, anchor, out);
  const float cx = 0.5f + 0.1f * 0.2f, cy = 0.5f - 2 * 0.1f * 0.4f, hw = 0.1f * std::exp(1.f);
  EXPECT_NEAR(out[0], cx - hw, 1e-6f);
  EXPECT_NEAR(out[2], cx + hw, 1e-6f);
  EXPECT_NEAR(out[1], cy - 0.2f, 1e-6f);
  // A huge dh is clamped at log(1000/16): h = 0.4 * 62.5.
  const float huge[4] = {0, 0, 0, 1000.f};
  c.decode(huge, anchor, out);
  EXPECT_NEAR(out[3] - out[1], 0.4f * 62.5f, 1e-3f);
  float px[4];
  decode_boxes(c, zero, anchor, 1, px, 100.f, 50.f);
  EXPECT_NEAR(px[0], 40.f, 1e-4f);
  EXPECT_NEAR(px[3], 35.f, 1e-4f);
}

// Brute force: softmax of every row in double, every (anchor, class) above
// the threshold, full sort, per-class top-k, decode + clip to the unit
// image, O(n^2) greedy NMS.
static std::vector<Candidate> reference(const std::vector<float>& logits, const std::vector<float>& offs,
                                        const std::vector<float>& anchors, int A, int C, float thr,
                                        int top_k, float iou, int max_det, bool agnostic) {
  std::vector<Candidate> all;
  for (int a = 0; a < A; ++a) {
    double m = -1e30, sum = 0;
    for (int c = 0; c < C; ++c) m = std::max(m, static_cast<double>(logits[a * C + c]));
    for (int c = 0; c < C; ++c) sum += std::exp(logits[a * C + c] - m);
    for (int c = 1; c < C; ++c) {
      const double p = std::exp(logits[a * C + c] - m) / sum;
      if (p > thr) all.push_back(cand(static_cast<float>(p), a, c, 0, 0, 0, 0));
    }
  }
  auto order = [](const Candidate& x, const Candidate& y) {
    return x.score != y.score ? x.score > y.score : x.anchor != y.anchor ? x.anchor < y.anchor : x.class_id < y.class_id;
  };
  std::sort(all.begin(), all.end(), order);
  std::vector<Candidate> pre;
  std::vector<int> per_class(C, 0);
  for (const Candidate& c : all) {
    if (agnostic ? static_cast<int>(pre.size()) >= top_k : per_class[c.class_id] >= top_k) continue;
    ++per_class[c.class_id];
    pre.push_back(c);
  }
  BoxCoder coder;
  for (Candidate& c : pre) {
    coder.decode(&offs[c.anchor * 4], &anchors[c.anchor * 4], c.box);
    for (float& v : c.box) v = std::clamp(v, 0.f, 1.f);  // clip to the image, as torchvision
  }
  std::vector<bool> removed(pre.size(), false);
  std::vector<Candidate> kept;
  for (size_t i = 0; i < pre.size(); ++i) {
    if (removed[i]) continue;
    kept.push_back(pre[i]);
    for (size_t j = i + 1; j < pre.size(); ++j)
      if ((agnostic || pre[j].class_id == pre[i].class_id) && box_iou(pre[i].box, pre[j].box) > iou)
        removed[j] = true;
  }
  if (static_cast<int>(kept.size()) > max_det) kept.resize(max_det);
  return kept;
}

TEST(Postprocess, MatchesBruteForceOnRandomOutputs) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::uniform_real_distribution<float> u(0.05f, 0.95f);
  const int A = 3000, C = 6;
  std::vector<float> logits(A * C), offs(A * 4), anchors(A * 4);
  for (int a = 0; a < A; ++a) {
    logits[a * C] = 3.f + n01(rng);  // background usually wins
    for (int c = 1; c < C; ++c) logits[a * C + c] = 2.5f * n01(rng);
    for (int k = 0; k < 4; ++k) offs[a * 4 + k] = n01(rng);
    anchors[a * 4 + 0] = u(rng);
    anchors[a * 4 + 1] = u(rng);
    anchors[a * 4 + 2] = 0.05f + 0.2f * u(rng);
    anchors[a * 4 + 3] = 0.05f + 0.2f * u(rng);
  }
  DetectorSpec spec;
  spec.labels = {"bg", "a", "b", "c", "d", "e"};
  BoxTransform identity;  // normalized coordinates, clipped to [0,1]
  identity.image_width = identity.image_height = 1;
  {  // the data must make top-k binding: >50 candidates per class above 0.3
    std::vector<Candidate> all;
    ScoreFilter f;
    f.threshold = 0.3f;
    f.top_k = 0;
    select_candidates(logits.data(), A, C, f, all);
    ASSERT_GT(all.size(), 5u * 60);
  }
  PostprocessScratch scratch;
  for (bool agnostic : {false, true}) {
    for (int top_k : {50, 100000}) {
      DetectThresholds th;
      th.score = 0.3f;
      th.iou = 0.45f;
      th.top_k = top_k;
      th.max_detections = 40;
      th.class_agnostic = agnostic;
      auto got = postprocess_detections(spec, anchors, offs.data(), logits.data(), A, C, identity,
                                        th, scratch);
      auto want = reference(logits, offs, anchors, A, C, th.score, top_k, th.iou, th.max_detections, agnostic);
      ASSERT_EQ(got.size(), want.size()) << "agnostic=" << agnostic << " top_k=" << top_k;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].class_id, want[i].class_id);
        EXPECT_NEAR(got[i].score, want[i].score, 1e-6f);
        for (int k = 0; k < 4; ++k) EXPECT_NEAR(got[i].bbox[k], want[i].box[k], 1e-5f);
        EXPECT_EQ(got[i].label, spec.labels[got[i].class_id]);
      }
    }
  }
}

TEST(Postprocess, MatchesTorchvisionSsdlite320) {
  const std::string dir = std::string(VEDGE_TEST_WORK_DIR) + "/ssdlite_postprocess";
  std::filesystem::create_directories(dir);
  const std::string cmd = "/usr/bin/python3 " + std::string(VEDGE_SOURCE_DIR) +
                          "/tests/data/gen_ssdlite_postprocess_ref.py " + dir + " 2>" + dir + "/log.txt";
  if (std::system(cmd.c_str()) != 0)
    GTEST_SKIP() << "torchvision reference unavailable (/usr/bin/python3 with torchvision 0.14 needed), see "
                 << dir << "/log.txt";
  Tensor boxes = read_npy(dir + "/boxes.npy"), scores = read_npy(dir + "/scores.npy"),
         ref = read_npy(dir + "/ref.npy");
  ASSERT_EQ(boxes.shape(), (Shape{3234, 4}));
  ASSERT_EQ(scores.shape(), (Shape{3234, 91}));
  DetectorSpec spec;
  spec.labels.assign(91, "c");
  spec.activation = ScoreActivation::Softmax;
  SsdAnchorParams& a = spec.anchors.ssd;  // ssdlite320_mobilenet_v3_large
  for (int s : {20, 10, 5, 3, 2, 1}) a.feature_maps.push_back({s, s});
  a.aspect_ratios.assign(6, {2.f, 3.f});
  a.min_ratio = 0.2f;
  a.max_ratio = 0.95f;
  const std::vector<float> anchors = generate_anchors(spec.anchors, 320, 320);
  DetectThresholds th;
  th.score = 0.2f;
  th.iou = 0.55f;
  th.top_k = 300;
  th.max_detections = 300;
  BoxTransform to_pixels;
  to_pixels.scale_x = to_pixels.scale_y = 320.f;
  to_pixels.image_width = to_pixels.image_height = 320;
  PostprocessScratch scratch;
  auto got = postprocess_detections(spec, anchors, boxes.data<float>(), scores.data<float>(), 3234, 91,
                                    to_pixels, th, scratch);
  const int64_t n = ref.shape()[0];
  ASSERT_GT(n, 50);
  ASSERT_EQ(static_cast<int64_t>(got.size()), n);
  for (int64_t i = 0; i < n; ++i) {
    const float* r = ref.data<float>() + i * 6;
    ASSERT_EQ(got[i].class_id, static_cast<int>(r[5])) << "detection " << i;
    EXPECT_NEAR(got[i].score, r[4], 1e-5f) << "detection " << i;
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(got[i].bbox[k], r[k], 1e-3f) << "detection " << i;
  }
}
