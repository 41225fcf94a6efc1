// test_matcher.cpp: IoU, anchor matching and the SSD encoder, checked against
// hand-computed values and against the runtime's decoder (encode must be
// its exact inverse). LibTorch + runtime/box_coder.h.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "runtime/box_coder.h"
#include "train/matcher.h"

namespace vedge {
namespace {

TEST(Matcher, IouByHand) {
  torch::Tensor a = torch::tensor({0.f, 0.f, 2.f, 2.f, 0.f, 0.f, 1.f, 1.f}).view({2, 4});
  torch::Tensor b = torch::tensor({1.f, 1.f, 3.f, 3.f, 5.f, 5.f, 6.f, 6.f, 0.f, 0.f, 2.f, 2.f}).view({3, 4});
  torch::Tensor iou = box_iou_matrix(a, b);
  ASSERT_EQ(iou.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_NEAR(iou[0][0].item<float>(), 1.f / 7.f, 1e-6);
  EXPECT_EQ(iou[0][1].item<float>(), 0.f);
  EXPECT_NEAR(iou[0][2].item<float>(), 1.f, 1e-6);
  EXPECT_EQ(iou[1][0].item<float>(), 0.f);  // touching at a corner
  EXPECT_NEAR(iou[1][2].item<float>(), 0.25f, 1e-6);
  // Degenerate (empty) boxes: IoU 0, never NaN.
  torch::Tensor z = torch::zeros({1, 4});
  EXPECT_EQ(box_iou_matrix(z, z)[0][0].item<float>(), 0.f);
}

TEST(Matcher, EncodeByHand) {
  BoxCoder coder;  // 0.1 / 0.2
  torch::Tensor anchor = torch::tensor({0.5f, 0.5f, 0.2f, 0.2f}).view({1, 4});
  torch::Tensor box = torch::tensor({0.45f, 0.42f, 0.61f, 0.62f}).view({1, 4});  // cx .53 cy .52 w .16 h .2
  torch::Tensor o = encode_boxes(coder, box, anchor);
  EXPECT_NEAR(o[0][0].item<float>(), 1.5f, 1e-5);
  EXPECT_NEAR(o[0][1].item<float>(), 1.0f, 1e-5);
  EXPECT_NEAR(o[0][2].item<float>(), std::log(0.8f) / 0.2f, 1e-5);
  EXPECT_NEAR(o[0][3].item<float>(), 0.f, 1e-5);
}

// Random anchors and boxes: encode, then decode with the runtime's
// BoxCoder; and decode random offsets with the runtime, then encode.
TEST(Matcher, EncodeIsTheRuntimeDecoderInverse) {
  torch::manual_seed(3);
  const int64_t n = 500;
  for (BoxCoder coder : {BoxCoder{}, BoxCoder{0.125f, 0.25f}}) {
    torch::Tensor anchors = torch::cat({torch::rand({n, 2}), torch::rand({n, 2}) * 0.6 + 0.02}, 1);
    torch::Tensor xy = torch::rand({n, 2}) * 0.8;
    torch::Tensor boxes = torch::cat({xy, xy + torch::rand({n, 2}) * 0.5 + 0.01}, 1);
    torch::Tensor off = encode_boxes(coder, boxes, anchors).contiguous();
    std::vector<float> dec(static_cast<size_t>(n) * 4);
    decode_boxes(coder, off.data_ptr<float>(), anchors.contiguous().data_ptr<float>(), n, dec.data());
    torch::Tensor back = torch::from_blob(dec.data(), {n, 4}).clone();
    EXPECT_LT((back - boxes).abs().max().item<float>(), 2e-6f);
    EXPECT_LT((decode_boxes_tensor(coder, off, anchors) - boxes).abs().max().item<float>(), 2e-6f);

    torch::Tensor offsets = (torch::rand({n, 4}) - 0.5) * 6;
    decode_boxes(coder, offsets.data_ptr<float>(), anchors.contiguous().data_ptr<float>(), n, dec.data());
    torch::Tensor again = encode_boxes(coder, torch::from_blob(dec.data(), {n, 4}).clone(), anchors);
    EXPECT_LT((again - offsets).abs().max().item<float>(), 1e-4f);
  }
}

TEST(Matcher, ThresholdAndForcedBestAnchor) {
  // Four anchors in a row, each 0.25 wide, full height.
  torch::Tensor anchors = torch::tensor({0.125f, 0.5f, 0.25f, 1.f, 0.375f, 0.5f, 0.25f, 1.f,  //
                                         0.625f, 0.5f, 0.25f, 1.f, 0.875f, 0.5f, 0.25f, 1.f})
                              .view({4, 4});
  // gt 0 covers anchor 0 exactly and half of anchor 1 (IoU 0.5 with 0 ... and
  // 1/3 with 1); gt 1 is a thin box inside anchor 3 (IoU 0.2 < 0.5, but
  // its best anchor).
  torch::Tensor gt = torch::tensor({0.f, 0.f, 0.375f, 1.f, 0.8f, 0.f, 0.85f, 1.f}).view({2, 4});
  torch::Tensor m = match_anchors(anchors, gt);
  EXPECT_EQ(m[0].item<int64_t>(), 0);   // IoU 0.25/0.375 = 0.667
  EXPECT_EQ(m[1].item<int64_t>(), -1);  // IoU 0.125/0.5 = 0.25
  EXPECT_EQ(m[2].item<int64_t>(), -1);
  EXPECT_EQ(m[3].item<int64_t>(), 1);   // forced: IoU 0.2
  MatchOptions no_force;
  no_force.force_best_anchor = false;
  EXPECT_EQ(match_anchors(anchors, gt, no_force)[3].item<int64_t>(), -1);
  MatchOptions low;
  low.iou_threshold = 0.25f;
  EXPECT_EQ(match_anchors(anchors, gt, low)[1].item<int64_t>(), 0);  // IoU exactly 0.25 counts

  MatchTargets t = build_targets(anchors, gt, torch::tensor({3L, 7L}), BoxCoder{});
  EXPECT_EQ(t.num_positive, 2);
  EXPECT_EQ(t.labels[0].item<int64_t>(), 3);
  EXPECT_EQ(t.labels[1].item<int64_t>(), 0);
  EXPECT_EQ(t.labels[3].item<int64_t>(), 7);
  EXPECT_EQ(t.offsets[1].abs().sum().item<float>(), 0.f);
  // Anchor 3 (cx .875, w .25) to gt 1 (cx .825, w .05): dx = -0.05/(0.1*0.25) = -2.
  EXPECT_NEAR(t.offsets[3][0].item<float>(), -2.f, 1e-5);
  EXPECT_NEAR(t.offsets[3][2].item<float>(), std::log(0.2f) / 0.2f, 1e-5);

  MatchTargets empty = build_targets(anchors, torch::zeros({0, 4}), torch::zeros({0}, torch::kLong), BoxCoder{});
  EXPECT_EQ(empty.num_positive, 0);
  EXPECT_EQ(empty.labels.sum().item<int64_t>(), 0);
}

}  // namespace
}  // namespace vedge
