// Pascal VOC AP (tools/eval/voc_eval.h) against values derived by hand:
// all-point vs 11-point interpolation, the difficult flag, VOC's "best box
// already taken -> FP" rule, classes without ground truth.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data/coco.h"
#include "eval_builder.h"
#include "runtime/error.h"
#include "tools/eval/coco_eval.h"
#include "tools/eval/voc_eval.h"

namespace {

using vedge::BoxXYWH;
using vedge::Dataset;
using vedge::EvalDetection;

using Builder = vedge::test::EvalBuilder;

TEST(VocEval, ApFromCurve) {
  // recall [.5, 1], precision [1, .5]: all-point = .5 * 1 + .5 * .5 = .75;
  // 11-point: recall >= 0..0.5 (6 points) -> 1, 0.6..1 (5 points) -> .5:
  // (6 + 2.5) / 11.
  EXPECT_NEAR(vedge::voc_ap({0.5, 1}, {1, 0.5}, false), 0.75, 1e-12);
  EXPECT_NEAR(vedge::voc_ap({0.5, 1}, {1, 0.5}, true), 8.5 / 11, 1e-12);
  EXPECT_EQ(vedge::voc_ap({}, {}, false), 0);
  EXPECT_EQ(vedge::voc_ap({}, {}, true), 0);
}

TEST(VocEval, ElevenPointVsAllPointWithDifficult) {
  // Class 1: 3 normal GT over two images plus one difficult box.
  // Detections by score: TP 0.9, FP 0.8, on the difficult box 0.7
  // (ignored), TP 0.6, FP 0.5. Counted: TP FP TP FP:
  //   recall [1/3, 1/3, 2/3, 2/3], precision [1, 1/2, 2/3, 1/2].
  // All-point: envelope [1, 1, 2/3, 2/3, 1/2, 0] over recall
  //   [0, 1/3, 1/3, 2/3, 2/3, 1]: 1/3 * 1 + 1/3 * 2/3 = 5/9.
  // 11-point: t = 0, .1, .2, .3 -> 1; t = .4, .5, .6 -> 2/3; t >= .7 -> 0:
  //   (4 + 3 * 2/3) / 11 = 6/11.
  Builder b(2, {1});
  b.gt(1, 1, {0, 0, 100, 100}).gt(1, 1, {200, 0, 100, 100}).gt(2, 1, {0, 0, 80, 80});
  b.difficult(2, 1, {300, 300, 60, 60});
  b.det(1, 1, {0, 0, 100, 100}, 0.9).det(1, 1, {500, 300, 50, 50}, 0.8);
  b.det(2, 1, {300, 300, 60, 60}, 0.7).det(2, 1, {2, 2, 80, 80}, 0.6).det(2, 1, {400, 0, 30, 30}, 0.5);
  vedge::VocEvalResult all = vedge::evaluate_voc(b.d, b.dets, {false, 0.5});
  vedge::VocEvalResult eleven = vedge::evaluate_voc(b.d, b.dets, {true, 0.5});
  EXPECT_NEAR(all.map, 5.0 / 9, 1e-12);
  EXPECT_NEAR(eleven.map, 6.0 / 11, 1e-12);
  ASSERT_EQ(all.classes.size(), 1u);
  EXPECT_EQ(all.classes[0].num_gt, 3);  // the difficult box is not counted
  EXPECT_EQ(all.classes[0].recall.size(), 4u);  // the ignored detection adds no point
  // Without the difficult flag, that detection is a TP: TP FP TP TP FP,
  // recall [1/4, 1/4, 2/4, 3/4, 3/4], precision [1, 1/2, 2/3, 3/4, 3/5]:
  // envelope 1 to 1/4, 3/4 to 3/4: 1/4 + 1/2 * 3/4 = 5/8.
  b.d.annotations[3].ignore = false;
  EXPECT_NEAR(vedge::evaluate_voc(b.d, b.dets, {false, 0.5}).map, 5.0 / 8, 1e-12);
}

TEST(VocEval, BestBoxAlreadyTakenIsAFalsePositive) {
  // GT A [0,0,100,100], B [10,0,100,100]. Det 1 = A (0.9). Det 2
  // [2,0,100,100] (0.8): IoU with A 9800/10200 = 0.961, with B
  // 9200/10800 = 0.852. VOC takes the best box, A, already taken: FP
  // (COCO would match B). recall [1/2, 1/2] precision [1, 1/2]: AP 1/2.
  Builder b(1, {1});
  b.gt(1, 1, {0, 0, 100, 100}).gt(1, 1, {10, 0, 100, 100});
  b.det(1, 1, {0, 0, 100, 100}, 0.9).det(1, 1, {2, 0, 100, 100}, 0.8);
  EXPECT_NEAR(vedge::evaluate_voc(b.d, b.dets).map, 0.5, 1e-12);
  EXPECT_NEAR(vedge::evaluate_coco(b.d, b.dets).stats[1], 1, 1e-9);  // COCO AP50
}

TEST(VocEval, IouMustExceedTheThreshold) {
  // IoU exactly 0.5 ([0,0,100,100] vs [0,0,100,50]) is not > 0.5: FP.
  Builder b(1, {1});
  b.gt(1, 1, {0, 0, 100, 100}).det(1, 1, {0, 0, 100, 50}, 0.9);
  EXPECT_EQ(vedge::evaluate_voc(b.d, b.dets).map, 0);
}

TEST(VocEval, ClassesWithoutGroundTruthAreLeftOut) {
  // Class 3 perfect (1), class 7 one TP then one FP on an empty image (1),
  // class 9 only FPs and no GT: -1 and out of the mean; class 8 GT never
  // detected: 0. mAP = (1 + 1 + 0) / 3.
  Builder b(2, {9, 3, 7, 8});
  b.gt(1, 3, {0, 0, 50, 50}).det(1, 3, {0, 0, 50, 50}, 0.5);
  b.gt(1, 7, {100, 100, 50, 50}).det(1, 7, {100, 100, 50, 50}, 0.9).det(2, 7, {0, 0, 40, 40}, 0.8);
  b.gt(2, 8, {10, 10, 40, 40});
  b.det(1, 9, {0, 0, 10, 10}, 0.9);
  vedge::VocEvalResult r = vedge::evaluate_voc(b.d, b.dets);
  ASSERT_EQ(r.classes.size(), 4u);
  EXPECT_EQ(r.classes[0].category_id, 3);
  EXPECT_EQ(r.classes[3].category_id, 9);
  EXPECT_EQ(r.classes[3].ap, -1);
  EXPECT_EQ(r.classes[2].ap, 0);
  EXPECT_NEAR(r.map, 2.0 / 3, 1e-12);
}

TEST(VocEval, NoBoxesIsAnError) {
  Builder b(1, {1});
  EXPECT_THROW(vedge::evaluate_voc(b.d, b.dets), vedge::Error);
}

TEST(VocEval128, GroundTruthAsDetections) {
  std::string path = std::string(VEDGE_SHARED_DIR) + "/data/coco128/annotations/instances_train2017.json";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared coco128 absent: " << path;
  Dataset d = vedge::read_coco_dataset(path);
  std::vector<EvalDetection> dets;
  for (const auto& a : d.annotations) dets.push_back({a.image_id, a.category_id, a.bbox, 1.0});
  // Crowd regions count as difficult: their copies are ignored, every other
  // box is found once (identical boxes in coco128 would make the second copy an
  // FP after the last TP, which costs nothing): AP 1 for every class with boxes.
  for (bool eleven : {false, true}) {
    vedge::VocEvalResult r = vedge::evaluate_voc(d, dets, {eleven, 0.5});
    EXPECT_NEAR(r.map, 1, 1e-12);
    for (const auto& c : r.classes) EXPECT_TRUE(c.ap == -1 || std::abs(c.ap - 1) < 1e-12) << c.name;
  }
}

}  // namespace
