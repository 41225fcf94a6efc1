// COCO evaluation (tools/eval/coco_eval.h) against values derived by hand
// from pycocotools' definition (derivations in the comments), and on the
// shared coco128 annotations: ground truth used as detections, perturbed
// detections that must move the numbers the right way, and hard perturbed
// cases checked against a second evaluator in NumPy (tests/eval/).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "data/coco.h"
#include "eval_builder.h"
#include "runtime/error.h"
#include "tools/eval/coco_eval.h"

namespace {

using vedge::BoxXYWH;
using vedge::CocoEvalResult;
using vedge::Dataset;
using vedge::EvalDetection;

enum Stat { AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl };

struct Builder : vedge::test::EvalBuilder {
  using EvalBuilder::EvalBuilder;
  CocoEvalResult eval() const { return vedge::evaluate_coco(d, dets); }
};

void expect_stats(const CocoEvalResult& r, const std::array<double, 12>& want) {
  for (int i = 0; i < 12; ++i)
    EXPECT_NEAR(r.stats[i], want[i], 1e-9) << CocoEvalResult::kStatNames[i] << "\n" << r.summary();
}

const BoxXYWH kSmall{10, 10, 20, 20};     // area 400 < 32^2
const BoxXYWH kMedium{100, 100, 50, 50};  // area 2500
const BoxXYWH kLarge{300, 200, 200, 200}; // area 40000 > 96^2

TEST(CocoEval, IouPlainAndCrowd) {
  // Overlap 50x100 = 5000; union 10000 + 10000 - 5000.
  EXPECT_DOUBLE_EQ(vedge::coco_iou({0, 0, 100, 100}, {50, 0, 100, 100}, false), 5000.0 / 15000.0);
  // Crowd: the union is the detection's area alone: 5000 / 10000.
  EXPECT_DOUBLE_EQ(vedge::coco_iou({0, 0, 100, 100}, {50, 0, 100, 100}, true), 0.5);
  EXPECT_EQ(vedge::coco_iou({0, 0, 10, 10}, {10, 0, 10, 10}, false), 0.0);  // touching
  EXPECT_EQ(vedge::coco_iou({0, 0, 0, 10}, {0, 0, 10, 10}, true), 0.0);     // empty detection
}

TEST(CocoEval, PerfectDetectionsGiveOne) {
  // One box per image and class, in every area range: every slice has
  // ground truth and every detection is a TP at every IoU.
  Builder b(3, {1, 2});
  b.gt(1, 1, kSmall).gt(2, 1, kMedium).gt(3, 2, kLarge).gt(1, 2, kMedium);
  for (const auto& a : b.d.annotations) b.det(a.image_id, a.category_id, a.bbox, 0.9);
  expect_stats(b.eval(), {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
}

TEST(CocoEval, FalsePositiveAboveTheTruePositive) {
  // One medium GT; an FP (medium, no overlap) at 0.9, the TP at 0.8.
  // tp = [0, 1], fp = [1, 1]: recall [0, 1], precision [0, 0.5], made
  // non-increasing from the right: [0.5, 0.5]. Recall threshold 0 ->
  // index 0, thresholds 0.01..1 -> index 1: all 101 points are 0.5.
  // AR1 sees only the FP: 0. Small and large have no ground truth: -1.
  Builder b(1, {1});
  b.gt(1, 1, kMedium).det(1, 1, {400, 300, 50, 50}, 0.9).det(1, 1, kMedium, 0.8);
  expect_stats(b.eval(), {0.5, 0.5, 0.5, -1, 0.5, -1, 0, 1, 1, -1, 1, -1});
}

TEST(CocoEval, FalsePositiveBelowTheTruePositive) {
  // precision [1, 0.5] -> [1, 0.5]; recall [1, 1]: every threshold maps to
  // index 0, so AP = 1; the FP below the last TP costs nothing.
  Builder b(1, {1});
  b.gt(1, 1, kMedium).det(1, 1, kMedium, 0.9).det(1, 1, {400, 300, 50, 50}, 0.8);
  expect_stats(b.eval(), {1, 1, 1, -1, 1, -1, 1, 1, 1, -1, 1, -1});
}

TEST(CocoEval, FalsePositiveBetweenTwoTruePositives) {
  // Two medium GT; TP 0.9, FP 0.8, TP 0.7. recall [.5, .5, 1], precision
  // [1, .5, 2/3] -> [1, 2/3, 2/3]. Thresholds 0..0.50 (51 points) -> index
  // 0 -> 1; 0.51..1 (50 points) -> index 2 -> 2/3.
  // AP = (51 + 50 * 2/3) / 101 at every IoU.
  Builder b(1, {1});
  b.gt(1, 1, kMedium).gt(1, 1, {300, 100, 50, 50});
  b.det(1, 1, kMedium, 0.9).det(1, 1, {500, 300, 50, 50}, 0.8).det(1, 1, {300, 100, 50, 50}, 0.7);
  const double ap = (51 + 50 * 2.0 / 3.0) / 101;
  // AR1: the top detection finds 1 of 2.
  expect_stats(b.eval(), {ap, ap, ap, -1, ap, -1, 0.5, 1, 1, -1, 1, -1});
}

TEST(CocoEval, DuplicateDetections) {
  // GT [0,0,100,100]. Det A [0,0,100,62] (IoU 0.62) at 0.9, det B exact at
  // 0.8. IoU 0.50, 0.55, 0.60: A takes the GT, B is a duplicate FP below
  // it: precision [1, .5] -> AP 1. IoU 0.65..0.95 (7 thresholds): A is an
  // FP above B: AP 0.5 (as above). AP = (3 + 7 * 0.5) / 10 = 0.65.
  // AR1 (A alone): recall 1 at 3 thresholds, 0 at 7: 0.3.
  // Large range (the GT is 10000 px): A is 6200 px (medium), so where it
  // misses it is outside the range and ignored, not an FP: APl = 1.
  Builder b(1, {1});
  b.gt(1, 1, {0, 0, 100, 100}).det(1, 1, {0, 0, 100, 62}, 0.9).det(1, 1, {0, 0, 100, 100}, 0.8);
  expect_stats(b.eval(), {0.65, 1, 0.5, -1, -1, 1, 0.3, 1, 1, -1, -1, 1});
}

TEST(CocoEval, CrowdMatchesAreIgnoredNotFalsePositives) {
  // GT: a person [0,0,100,100] and a crowd region [200,0,200,200].
  // Three detections inside the crowd region (crowd IoU = 1) at 0.95, 0.85,
  // 0.8 are matched to it, many times, and ignored. A detection half inside
  // ([380,0,40,40]: 20x40 of its 1600 px, crowd IoU 0.5) at 0.92 is ignored
  // at IoU 0.5 but an FP above the TP (0.9) at 0.55..0.95.
  //  IoU 0.5: tp [0,0,1,1,1], fp all 0 -> precision [0,0,1,1,1] -> [1..] -> AP 1.
  //  IoU >= 0.55: fp [0,1,1,1,1] -> precision [0,0,.5,.5,.5] -> AP 0.5.
  // AP = (1 + 9 * 0.5) / 10 = 0.55. Large range (the person is 10000 px >
  // 96^2): the half-inside detection is 1600 px (medium), so where it is
  // unmatched it is outside the range and ignored: APl = 1.
  Builder b(1, {1});
  b.gt(1, 1, {0, 0, 100, 100}).gt(1, 1, {200, 0, 200, 200}, true);
  b.det(1, 1, {210, 10, 50, 50}, 0.95).det(1, 1, {380, 0, 40, 40}, 0.92).det(1, 1, {0, 0, 100, 100}, 0.9);
  b.det(1, 1, {300, 50, 60, 60}, 0.85).det(1, 1, {250, 100, 40, 40}, 0.8);
  CocoEvalResult r = b.eval();
  EXPECT_NEAR(r.stats[AP], 0.55, 1e-9) << r.summary();
  EXPECT_NEAR(r.stats[AP50], 1, 1e-9);
  EXPECT_NEAR(r.stats[AP75], 0.5, 1e-9);
  EXPECT_NEAR(r.stats[APl], 1, 1e-9);
  EXPECT_EQ(r.stats[APm], -1);
  EXPECT_NEAR(r.stats[AR100], 1, 1e-9);
  // The crowd region is not counted as ground truth.
  EXPECT_EQ(r.classes[0].num_gt, 1);
}

TEST(CocoEval, RealGroundTruthIsPreferredOverACrowdRegion) {
  // The detection [0,0,100,100] overlaps the person [0,20,100,100] with IoU
  // 8000/12000 = 0.667 and lies inside the crowd [0,0,200,200] (crowd IoU
  // 1). Non-ignored GT comes first and wins whenever IoU >= threshold: a TP
  // at 0.50..0.65 (4 thresholds); at 0.70..0.95 it falls to the crowd and is
  // ignored, the person is missed: recall 0, AP 0. AP = 4 / 10.
  Builder b(1, {1});
  b.gt(1, 1, {0, 0, 200, 200}, true).gt(1, 1, {0, 20, 100, 100}).det(1, 1, {0, 0, 100, 100}, 0.9);
  CocoEvalResult r = b.eval();
  EXPECT_NEAR(r.stats[AP], 0.4, 1e-9) << r.summary();
  EXPECT_NEAR(r.stats[AR100], 0.4, 1e-9);
}

TEST(CocoEval, CrowdOnlyClassIsExcluded) {
  // A class whose only ground truth is a crowd region has no positives: -1.
  Builder b(1, {1, 2});
  b.gt(1, 1, kMedium).det(1, 1, kMedium, 0.9).gt(1, 2, kLarge, true).det(1, 2, kLarge, 0.9);
  CocoEvalResult r = b.eval();
  EXPECT_EQ(r.classes[1].ap, -1);
  EXPECT_NEAR(r.stats[AP], 1, 1e-9);
}

TEST(CocoEval, EmptyClassesAreLeftOutOfTheMean) {
  // Non-contiguous ids 1, 5, 90. Class 1 perfect (AP 1), class 5 an FP
  // above its TP (AP 0.5, as above), class 90 has no ground truth but FPs:
  // -1 and out of the mean. AP = (1 + 0.5) / 2.
  Builder b(2, {90, 1, 5});
  b.gt(1, 1, kMedium).det(1, 1, kMedium, 0.9);
  b.gt(2, 5, kMedium).det(2, 5, {400, 300, 50, 50}, 0.9).det(2, 5, kMedium, 0.8);
  b.det(1, 90, kLarge, 0.99).det(2, 90, kSmall, 0.99);
  CocoEvalResult r = b.eval();
  EXPECT_NEAR(r.stats[AP], 0.75, 1e-9) << r.summary();
  ASSERT_EQ(r.classes.size(), 3u);
  EXPECT_EQ(r.classes[0].category_id, 1);
  EXPECT_EQ(r.classes[2].category_id, 90);
  EXPECT_NEAR(r.classes[0].ap, 1, 1e-9);
  EXPECT_NEAR(r.classes[1].ap, 0.5, 1e-9);
  EXPECT_EQ(r.classes[2].ap, -1);
  EXPECT_EQ(r.classes[2].ap50, -1);
  EXPECT_TRUE(r.classes[2].pr.empty());
  ASSERT_EQ(r.classes[1].pr.size(), 101u);
  for (double p : r.classes[1].pr) EXPECT_NEAR(p, 0.5, 1e-12);
}

TEST(CocoEval, AreaRanges) {
  // GT: small, medium, large. Dets: an FP 10x10 (small) at 0.95, the small
  // GT at 0.9, the large GT at 0.8; the medium GT is missed.
  //  small:  FP (small, counted), TP, large det matches ignored GT (ignored):
  //          recall [0, 1, 1], precision [0, .5, .5] -> AP 0.5, AR 1.
  //  medium: the FP is outside the range (ignored), the two TPs match ignored
  //          GT (ignored): recall stays 0, precision 0 -> AP 0, AR 0.
  //  large:  FP ignored, small TP ignored, large TP: precision [0, 0, 1] -> 1.
  //  all:    recall [0, 1/3, 2/3], precision [0, .5, 2/3] -> [2/3, 2/3, 2/3];
  //          thresholds 0..0.66 (67 points) -> 2/3, above -> 0:
  //          AP = 67 * (2/3) / 101; AR100 2/3; AR1 (the FP alone) 0.
  Builder b(1, {1});
  b.gt(1, 1, kSmall).gt(1, 1, kMedium).gt(1, 1, kLarge);
  b.det(1, 1, {600, 400, 10, 10}, 0.95).det(1, 1, kSmall, 0.9).det(1, 1, kLarge, 0.8);
  const double ap = 67 * (2.0 / 3.0) / 101;
  expect_stats(b.eval(), {ap, ap, ap, 0.5, 0, 1, 0, 2.0 / 3, 2.0 / 3, 1, 0, 1});
}

TEST(CocoEval, AreaUsesTheAnnotationAreaForGroundTruth) {
  // A 100x100 box (large by its box) whose annotation area says 900 (small):
  // it counts in the small range; the detection's own area (10000) is large,
  // but it matched non-ignored GT there, so it is a TP for APs.
  Builder b(1, {1});
  b.gt(1, 1, {0, 0, 100, 100});
  b.d.annotations[0].area = 900;
  b.det(1, 1, {0, 0, 100, 100}, 0.9);
  CocoEvalResult r = b.eval();
  EXPECT_NEAR(r.stats[APs], 1, 1e-9);
  EXPECT_EQ(r.stats[APl], -1);
}

TEST(CocoEval, MaxDetsLimitsRecallPerImage) {
  // Image 1: 3 GT found by dets 0.9, 0.8, 0.7; image 2: 1 GT found at 0.6.
  // AR1: one detection per image: 2 of 4 = 0.5; AR10 = AR100 = 1. AP = 1.
  Builder b(2, {1});
  b.gt(1, 1, {0, 0, 50, 50}).gt(1, 1, {100, 0, 50, 50}).gt(1, 1, {200, 0, 50, 50}).gt(2, 1, kMedium);
  b.det(1, 1, {0, 0, 50, 50}, 0.9).det(1, 1, {100, 0, 50, 50}, 0.8).det(1, 1, {200, 0, 50, 50}, 0.7);
  b.det(2, 1, kMedium, 0.6);
  CocoEvalResult r = b.eval();
  EXPECT_NEAR(r.stats[AR1], 0.5, 1e-9);
  EXPECT_NEAR(r.stats[AR10], 1, 1e-9);
  EXPECT_NEAR(r.stats[AR100], 1, 1e-9);
  EXPECT_NEAR(r.stats[AP], 1, 1e-9);
}

TEST(CocoEval, OnlyTheTopHundredDetectionsPerImageCount) {
  // 100 FPs at 0.9 push the TP (0.5) out of the 100 kept: AP 0, AR 0.
  Builder b(1, {1});
  b.gt(1, 1, kMedium);
  for (int i = 0; i < 100; ++i) b.det(1, 1, {400, 300, 10, 10}, 0.9);
  b.det(1, 1, kMedium, 0.5);
  CocoEvalResult r = b.eval();
  EXPECT_EQ(r.stats[AP], 0);
  EXPECT_EQ(r.stats[AR100], 0);
  EXPECT_EQ(r.classes[0].num_det, 101);  // counted before the cut
}

TEST(CocoEval, RecallThresholdsAreNumpyLinspaceBitForBit) {
  // pycocotools' recall thresholds are numpy.linspace(0, 1, 101) = i * 0.01,
  // and 35 * 0.01 = 0.35000000000000003 > 35/100. 100 images with one GT
  // each; TPs on images 1..35, then an FP, then TPs on 36..100. Recall hits
  // 0.35 exactly at the 35th TP (precision 1), but threshold 35 is just
  // above it, so searchsorted lands on the TP after the FP, whose envelope
  // is the best later precision, 100/101 (the last one). Thresholds 0..34:
  // precision 1; 35..100: 100/101.
  // AP = (35 + 66 * 100/101) / 101 (with thresholds i/100 it would be
  // (36 + 65 * 100/101) / 101, 1e-4 higher).
  Builder b(100, {1});
  for (int i = 1; i <= 100; ++i) b.gt(i, 1, kMedium);
  double score = 1;
  for (int i = 1; i <= 35; ++i) b.det(i, 1, kMedium, score -= 0.001);
  b.det(1, 1, {400, 300, 50, 50}, score -= 0.001);
  for (int i = 36; i <= 100; ++i) b.det(i, 1, kMedium, score -= 0.001);
  CocoEvalResult r = b.eval();
  EXPECT_NEAR(r.stats[AP], (35 + 66 * 100.0 / 101) / 101, 1e-12);
  ASSERT_EQ(r.classes[0].pr.size(), 101u);
  EXPECT_NEAR(r.classes[0].pr[34], 1, 1e-12);
  EXPECT_NEAR(r.classes[0].pr[35], 100.0 / 101, 1e-12);
  EXPECT_EQ(r.recall_thresholds[35], 35 * 0.01);
}

TEST(CocoEval, NoBoxesIsAnError) {
  Builder b(1, {1});
  try {
    b.eval();
    FAIL() << "expected an error";
  } catch (const vedge::Error& e) {
    EXPECT_NE(std::string(e.what()).find("hand.json: dataset has no boxes"), std::string::npos) << e.what();
  }
}

// ---- the shared coco128 annotations ----

std::string coco128() {
  return std::string(VEDGE_SHARED_DIR) + "/data/coco128/annotations/instances_train2017.json";
}

std::vector<EvalDetection> gt_as_detections(const Dataset& d) {
  std::vector<EvalDetection> out;
  for (const auto& a : d.annotations) out.push_back({a.image_id, a.category_id, a.bbox, 1.0});
  return out;
}

void expect_invariants(const CocoEvalResult& r) {
  for (double s : r.stats) {
    EXPECT_GE(s, 0);
    EXPECT_LE(s, 1);
  }
  EXPECT_GE(r.stats[AP50], r.stats[AP75]);
  EXPECT_GE(r.stats[AP50], r.stats[AP]);
  EXPECT_GE(r.stats[AR100], r.stats[AR10]);
  EXPECT_GE(r.stats[AR10], r.stats[AR1]);
}

TEST(CocoEval128, GroundTruthAsDetections) {
  if (!std::filesystem::exists(coco128())) GTEST_SKIP() << "shared coco128 absent: " << coco128();
  Dataset d = vedge::read_coco_dataset(coco128());
  CocoEvalResult r = vedge::evaluate_coco(d, gt_as_detections(d));
  // Every non-crowd box is found exactly; the detections copied from crowd
  // regions match their region (crowd IoU = 1) and are ignored, not FPs, so
  // every AP and AR100 is 1 (each area range has ground truth in coco128).
  for (int s : {AP, AP50, AP75, APs, APm, APl, AR100, ARs, ARm, ARl})
    EXPECT_NEAR(r.stats[s], 1, 1e-12) << CocoEvalResult::kStatNames[s];
  // With every score 1, each image keeps its detections in file order. AR1
  // per class = (images whose first box of that class is not a crowd) /
  // (non-crowd boxes of the class); AR10 the same with the first ten boxes;
  // averaged over the classes with boxes (the same at every IoU).
  std::map<std::pair<int64_t, int64_t>, std::vector<bool>> cells;  // (cat, img) -> crowd flags
  std::map<int64_t, int> npos;
  for (const auto& a : d.annotations) {
    cells[{a.category_id, a.image_id}].push_back(a.iscrowd);
    npos[a.category_id] += !a.iscrowd;
  }
  std::map<int64_t, double> hit1, hit10;
  for (const auto& [key, crowd] : cells)
    for (size_t i = 0; i < crowd.size() && i < 10; ++i) {
      if (i == 0) hit1[key.first] += !crowd[i];
      hit10[key.first] += !crowd[i];
    }
  double ar1 = 0, ar10 = 0;
  int n = 0;
  for (const auto& [cat, p] : npos)
    if (p > 0) ar1 += hit1[cat] / p, ar10 += hit10[cat] / p, ++n;
  EXPECT_NEAR(r.stats[AR1], ar1 / n, 1e-12);
  EXPECT_NEAR(r.stats[AR10], ar10 / n, 1e-12);
  EXPECT_LT(r.stats[AR1], 1);  // coco128 has images with several boxes of a class
}

// Detections from the ground truth: each side jittered by up to `jitter`
// of the box size, a fraction `drop` dropped, `fps` random boxes added per
// image with low scores; scores random in (0.5, 1].
std::vector<EvalDetection> perturbed(const Dataset& d, double jitter, double drop, int fps, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1), u01(0, 1);
  std::vector<EvalDetection> out;
  for (const auto& a : d.annotations) {
    if (a.iscrowd || u01(rng) < drop) continue;
    BoxXYWH b = a.bbox;
    b.x += jitter * b.w * u(rng);
    b.y += jitter * b.h * u(rng);
    b.w = std::max(1.0, b.w * (1 + jitter * u(rng)));
    b.h = std::max(1.0, b.h * (1 + jitter * u(rng)));
    out.push_back({a.image_id, a.category_id, b, 0.5 + 0.5 * u01(rng)});
  }
  for (const auto& im : d.images)
    for (int i = 0; i < fps; ++i) {
      const auto& cat = d.categories[rng() % d.categories.size()];
      BoxXYWH b{u01(rng) * 500, u01(rng) * 350, 20 + u01(rng) * 100, 20 + u01(rng) * 100};
      out.push_back({im.id, cat.id, b, 0.5 * u01(rng)});
    }
  return out;
}

TEST(CocoEval128, PerturbedDetectionsMoveTheRightWay) {
  if (!std::filesystem::exists(coco128())) GTEST_SKIP() << "shared coco128 absent: " << coco128();
  Dataset d = vedge::read_coco_dataset(coco128());
  CocoEvalResult small = vedge::evaluate_coco(d, perturbed(d, 0.03, 0, 0, 7));
  CocoEvalResult big = vedge::evaluate_coco(d, perturbed(d, 0.15, 0, 0, 7));
  CocoEvalResult dropped = vedge::evaluate_coco(d, perturbed(d, 0.03, 0.3, 0, 7));
  CocoEvalResult noisy = vedge::evaluate_coco(d, perturbed(d, 0.03, 0, 3, 7));
  for (const auto* r : {&small, &big, &dropped, &noisy}) expect_invariants(*r);
  // Small jitter: still found at IoU 0.5, but not perfect at 0.95.
  EXPECT_GT(small.stats[AP50], 0.95);
  EXPECT_LT(small.stats[AP], 1);
  // More jitter hurts the strict thresholds most.
  EXPECT_LT(big.stats[AP], small.stats[AP]);
  EXPECT_LT(big.stats[AP75], small.stats[AP75]);
  EXPECT_GT(small.stats[AP50] - big.stats[AP50], -1e-12);
  // Dropping 30% of the boxes caps recall near 0.7 and lowers AP.
  EXPECT_LT(dropped.stats[AR100], small.stats[AR100]);
  EXPECT_LT(dropped.stats[AR100], 0.8);
  EXPECT_LT(dropped.stats[AP], small.stats[AP]);
  // False positives scored below every true detection (scores < 0.5 vs >=
  // 0.5) leave recall unchanged and cannot raise AP.
  EXPECT_NEAR(noisy.stats[AR100], small.stats[AR100], 1e-12);
  EXPECT_LE(noisy.stats[AP], small.stats[AP] + 1e-12);
}

// Cross-check against tests/eval/coco_eval_numpy.py, a second evaluator
// written in NumPy from pycocotools' definition, on hard perturbed cases:
// jittered boxes, duplicates, dropped boxes, false positives whose scores
// mix with the true ones, scores rounded to 0.1 (many ties, so the stable
// sort order matters) and copies of the crowd regions.
TEST(CocoEval128, AgreesWithTheNumpyEvaluator) {
  if (!std::filesystem::exists(coco128())) GTEST_SKIP() << "shared coco128 absent: " << coco128();
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with NumPy absent";
  Dataset d = vedge::read_coco_dataset(coco128());
  const std::string work = std::string(VEDGE_TEST_WORK_DIR) + "/coco_eval_numpy";
  std::filesystem::create_directories(work);
  for (unsigned seed : {1u, 2u, 3u}) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1, 1), u01(0, 1);
    std::vector<EvalDetection> dets;
    for (const auto& a : d.annotations) {
      if (u01(rng) < 0.15) continue;
      int copies = u01(rng) < 0.2 ? 2 : 1;  // duplicates
      for (int c = 0; c < copies; ++c) {
        BoxXYWH b = a.bbox;
        double j = 0.02 + 0.2 * u01(rng);
        b.x += j * b.w * u(rng), b.y += j * b.h * u(rng);
        b.w = std::max(0.5, b.w * (1 + j * u(rng))), b.h = std::max(0.5, b.h * (1 + j * u(rng)));
        double score = seed == 3 ? std::round(u01(rng) * 10) / 10 : u01(rng);
        dets.push_back({a.image_id, a.category_id, b, score});
      }
    }
    for (const auto& im : d.images)
      for (int i = 0; i < 4; ++i) {
        const auto& cat = d.categories[rng() % d.categories.size()];
        BoxXYWH b{u01(rng) * 500, u01(rng) * 350, 5 + u01(rng) * 150, 5 + u01(rng) * 150};
        double score = seed == 3 ? std::round(u01(rng) * 10) / 10 : u01(rng);
        dets.push_back({im.id, cat.id, b, score});
      }
    std::shuffle(dets.begin(), dets.end(), rng);
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : dets)
      j.push_back({{"image_id", e.image_id}, {"category_id", e.category_id},
                   {"bbox", {e.bbox.x, e.bbox.y, e.bbox.w, e.bbox.h}}, {"score", e.score}});
    const std::string det_path = work + "/dets" + std::to_string(seed) + ".json";
    const std::string out_path = work + "/numpy" + std::to_string(seed) + ".json";
    std::ofstream(det_path) << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    // Read back, so both evaluators see the same (printed) numbers.
    CocoEvalResult r = vedge::evaluate_coco(d, vedge::read_coco_detections(det_path, d));
    std::string cmd = "/usr/bin/python3 " + std::string(VEDGE_SOURCE_DIR) + "/tests/eval/coco_eval_numpy.py " +
                      coco128() + " " + det_path + " > " + out_path;
    int rc = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << cmd;
    std::ifstream in(out_path);
    auto ref = nlohmann::json::parse(in).get<std::vector<double>>();
    ASSERT_EQ(ref.size(), 12u);
    for (int i = 0; i < 12; ++i)
      EXPECT_NEAR(r.stats[i], ref[i], 1e-9) << "seed " << seed << " " << CocoEvalResult::kStatNames[i];
    expect_invariants(r);
    EXPECT_LT(r.stats[AP], 0.9);  // a hard case, not a near-perfect one
  }
}

}  // namespace
