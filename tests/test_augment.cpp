// Detection augmentation (data/augment.h). A grey image with solid
// rectangles of distinct colours is augmented under many seeds; every box
// that survives must bound exactly the pixels of its rectangle's colour
// (expand, crop and flip move whole pixels, so this is exact). Also: flip is
// exact and an involution, crops satisfy the IoU and size rules, the centre
// rule decides which boxes a crop keeps, resize scales boxes, the same seed
// gives the same sample, photometric distortion leaves boxes alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "data/augment.h"
#include "data_test_util.h"

namespace {

using namespace vedge;
using vedge::test::error_of;
using vedge::test::expect_error;

const uint8_t kColours[][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}, {255, 0, 255}};

// 200 x 150, grey, five disjoint solid rectangles; category id = colour + 1.
DetSample rectangles() {
  DetSample s;
  s.image.width = 200;
  s.image.height = 150;
  s.image.rgb.assign(200 * 150 * 3, 128);
  const int r[][4] = {{10, 10, 40, 30}, {70, 5, 20, 60}, {120, 40, 70, 50}, {5, 100, 100, 40}, {150, 110, 45, 35}};
  for (int k = 0; k < 5; ++k) {
    for (int y = r[k][1]; y < r[k][1] + r[k][3]; ++y)
      for (int x = r[k][0]; x < r[k][0] + r[k][2]; ++x)
        for (int c = 0; c < 3; ++c) s.image.rgb[(size_t(y) * 200 + x) * 3 + c] = kColours[k][c];
    s.boxes.push_back({double(r[k][0]), double(r[k][1]), double(r[k][2]), double(r[k][3])});
    s.category_ids.push_back(k + 1);
  }
  return s;
}

// The bounding box [x0, y0, x1, y1) of the pixels within `tol` of colour k.
std::array<int, 4> extent(const Image& im, int k, int tol) {
  std::array<int, 4> e = {1 << 30, 1 << 30, -1, -1};
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const uint8_t* p = &im.rgb[(size_t(y) * im.width + x) * 3];
      if (std::abs(p[0] - kColours[k][0]) > tol || std::abs(p[1] - kColours[k][1]) > tol ||
          std::abs(p[2] - kColours[k][2]) > tol)
        continue;
      e = {std::min(e[0], x), std::min(e[1], y), std::max(e[2], x + 1), std::max(e[3], y + 1)};
    }
  return e;
}

AugmentConfig geometric_only() {
  AugmentConfig cfg;
  cfg.photometric_prob = 0;
  cfg.out_width = cfg.out_height = 0;  // keep whole pixels: the check can be exact
  return cfg;
}

double iou(const BoxXYWH& a, const CropRect& r) {
  double iw = std::min(a.x + a.w, double(r.x + r.w)) - std::max(a.x, double(r.x));
  double ih = std::min(a.y + a.h, double(r.y + r.h)) - std::max(a.y, double(r.y));
  if (iw <= 0 || ih <= 0) return 0;
  return iw * ih / (a.w * a.h + double(r.w) * r.h - iw * ih);
}

TEST(Augment, BoxesStayOnTheirPixels) {
  const DetSample in = rectangles();
  AugmentConfig cfg = geometric_only();
  int kept = 0, dropped = 0, clipped = 0, expanded = 0;
  std::set<int> flips;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    std::mt19937_64 rng(seed);
    DetSample out = augment(in, cfg, rng);
    ASSERT_EQ(out.boxes.size(), out.category_ids.size());
    expanded += out.image.width > in.image.width;
    for (size_t i = 0; i < out.boxes.size(); ++i) {
      int k = int(out.category_ids[i]) - 1;
      const BoxXYWH& b = out.boxes[i];
      std::array<int, 4> e = extent(out.image, k, 0);
      ASSERT_GE(e[2], 0) << "seed " << seed << ": box of colour " << k << " kept but no pixel of it is left";
      EXPECT_EQ(b.x, e[0]) << "seed " << seed << " colour " << k;
      EXPECT_EQ(b.y, e[1]) << "seed " << seed << " colour " << k;
      EXPECT_EQ(b.x + b.w, e[2]) << "seed " << seed << " colour " << k;
      EXPECT_EQ(b.y + b.h, e[3]) << "seed " << seed << " colour " << k;
      clipped += b.w * b.h < in.boxes[k].w * in.boxes[k].h;
      // Which way the image was flipped: rectangle 0 is left of rectangle 2.
      if (k == 0) flips.insert(out.boxes[i].x > out.image.width / 2.0);
    }
    kept += int(out.boxes.size());
    dropped += int(in.boxes.size() - out.boxes.size());
  }
  // The seeds exercised every path.
  EXPECT_GT(kept, 300);
  EXPECT_GT(dropped, 50);
  EXPECT_GT(clipped, 20);
  EXPECT_GT(expanded, 100);
  EXPECT_EQ(flips.size(), 2u);
}

TEST(Augment, ResizedBoxesStillBoundTheirPixels) {
  const DetSample in = rectangles();
  AugmentConfig cfg;  // everything on, 320 x 320 output; photometric may shift colours
  cfg.photometric_prob = 0;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    std::mt19937_64 rng(seed);
    DetSample out = augment(in, cfg, rng);
    ASSERT_EQ(out.image.width, 320);
    ASSERT_EQ(out.image.height, 320);
    for (size_t i = 0; i < out.boxes.size(); ++i) {
      int k = int(out.category_ids[i]) - 1;
      const BoxXYWH& b = out.boxes[i];
      std::array<int, 4> e = extent(out.image, k, 8);  // core pixels (edges are blends)
      if (e[2] < 0) continue;  // a sliver thinner than one output pixel
      EXPECT_GE(e[0], b.x - 1) << "seed " << seed;
      EXPECT_GE(e[1], b.y - 1) << "seed " << seed;
      EXPECT_LE(e[2], b.x + b.w + 1) << "seed " << seed;
      EXPECT_LE(e[3], b.y + b.h + 1) << "seed " << seed;
    }
  }
}

TEST(Augment, ResizeScalesBoxes) {
  DetSample in = rectangles();
  DetSample out = resize_to(in, 400, 75);  // x2 and x0.5
  ASSERT_EQ(out.boxes.size(), 5u);
  EXPECT_DOUBLE_EQ(out.boxes[2].x, 240);
  EXPECT_DOUBLE_EQ(out.boxes[2].w, 140);
  EXPECT_DOUBLE_EQ(out.boxes[2].y, 20);
  EXPECT_DOUBLE_EQ(out.boxes[2].h, 25);
  // Upscaling x2: rectangle 2 spans x 120..190 -> 240..380; the centre of it is pure.
  const uint8_t* p = &out.image.rgb[(size_t(30) * 400 + 300) * 3];
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[1], 0);
  EXPECT_EQ(p[2], 255);
  // Same size: identical.
  EXPECT_EQ(resize_to(in, 200, 150).image.rgb, in.image.rgb);
}

TEST(Augment, FlipIsExact) {
  DetSample in = rectangles();
  DetSample f = flip_horizontal(in);
  EXPECT_EQ(f.boxes[0].x, 200 - 10 - 40);
  EXPECT_EQ(f.boxes[0].y, 10);
  for (int y = 0; y < 150; y += 7)
    for (int x = 0; x < 200; x += 3)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(f.image.rgb[(size_t(y) * 200 + x) * 3 + c], in.image.rgb[(size_t(y) * 200 + 199 - x) * 3 + c]);
  DetSample back = flip_horizontal(f);
  EXPECT_EQ(back.image.rgb, in.image.rgb);
  for (size_t i = 0; i < in.boxes.size(); ++i) EXPECT_EQ(back.boxes[i].x, in.boxes[i].x);
}

TEST(Augment, CropsSatisfyTheIouAndSizeRules) {
  const DetSample in = rectangles();
  AugmentConfig cfg;
  std::set<double> chosen_with_crop;
  int none = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    std::mt19937_64 rng(seed);
    double min_iou = -2;
    std::optional<CropRect> r = sample_iou_crop(in.boxes, 200, 150, cfg, rng, &min_iou);
    ASSERT_TRUE(std::count(cfg.crop_min_ious.begin(), cfg.crop_min_ious.end(), min_iou)) << min_iou;
    if (!r) {
      ++none;
      continue;
    }
    EXPECT_GE(min_iou, 0) << "'no crop' must not crop";
    chosen_with_crop.insert(min_iou);
    EXPECT_GE(r->x, 0);
    EXPECT_GE(r->y, 0);
    EXPECT_LE(r->x + r->w, 200);
    EXPECT_LE(r->y + r->h, 150);
    EXPECT_GE(r->w, int(0.3 * 200));
    EXPECT_GE(r->h, int(0.3 * 150));
    double aspect = double(r->w) / r->h;
    EXPECT_GE(aspect, 0.5);
    EXPECT_LE(aspect, 2.0);
    double best = 0;
    bool centre = false;
    for (const BoxXYWH& b : in.boxes) {
      best = std::max(best, iou(b, *r));
      double cx = b.x + b.w / 2, cy = b.y + b.h / 2;
      centre = centre || (cx > r->x && cx < r->x + r->w && cy > r->y && cy < r->y + r->h);
    }
    EXPECT_GE(best, min_iou) << "seed " << seed;
    EXPECT_TRUE(centre) << "seed " << seed;
  }
  EXPECT_GT(none, 40);
  EXPECT_GE(chosen_with_crop.size(), 5u);  // including the strict 0.7 (and usually 0.9) ones
  EXPECT_TRUE(chosen_with_crop.count(0.7));
}

TEST(Augment, CropKeepsBoxesByTheirCentre) {
  DetSample in = rectangles();
  // Rectangle 0 [10, 50) x [10, 40): centre (30, 25). Rectangle 1 [70, 90) x [5, 65): centre (80, 35).
  DetSample out = crop_to(in, {25, 0, 60, 100});  // x in [25, 85): both centres inside
  ASSERT_EQ(out.boxes.size(), 2u);
  EXPECT_EQ(out.category_ids[0], 1);
  EXPECT_DOUBLE_EQ(out.boxes[0].x, 0);   // clipped at the crop's left edge
  EXPECT_DOUBLE_EQ(out.boxes[0].w, 25);  // 25..50
  EXPECT_DOUBLE_EQ(out.boxes[1].x, 45);  // 70 - 25
  EXPECT_DOUBLE_EQ(out.boxes[1].w, 15);  // 70..85
  DetSample out2 = crop_to(in, {31, 0, 60, 100});  // centre x = 30 of rectangle 0 is now outside
  ASSERT_EQ(out2.boxes.size(), 1u);
  EXPECT_EQ(out2.category_ids[0], 2);
  expect_error(error_of([&] { crop_to(in, {150, 0, 60, 10}); }), {"crop", "outside"});
}

TEST(Augment, SameSeedSameSample) {
  DetSample in = rectangles();
  AugmentConfig cfg;
  int differ = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 a(seed), b(seed), c(seed + 1000);
    DetSample x = augment(in, cfg, a), y = augment(in, cfg, b), z = augment(in, cfg, c);
    ASSERT_EQ(x.image.rgb, y.image.rgb);
    ASSERT_EQ(x.boxes.size(), y.boxes.size());
    for (size_t i = 0; i < x.boxes.size(); ++i) EXPECT_EQ(x.boxes[i].x, y.boxes[i].x);
    differ += x.image.rgb != z.image.rgb;
  }
  EXPECT_GE(differ, 18);
}

TEST(Augment, PhotometricChangesColoursNotBoxes) {
  DetSample in = rectangles();
  AugmentConfig cfg;
  cfg.photometric_prob = 1;
  cfg.expand_prob = 0;
  cfg.crop_min_ious = {-1};
  cfg.flip_prob = 0;
  cfg.out_width = cfg.out_height = 0;
  int changed = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    std::mt19937_64 rng(seed);
    DetSample out = augment(in, cfg, rng);
    ASSERT_EQ(out.boxes.size(), in.boxes.size());
    for (size_t i = 0; i < in.boxes.size(); ++i) EXPECT_EQ(out.boxes[i].x, in.boxes[i].x);
    ASSERT_EQ(out.image.width, in.image.width);
    changed += out.image.rgb != in.image.rgb;
    // The grey background stays grey (saturation and hue do not tint it).
    const uint8_t* p = &out.image.rgb[(size_t(2) * 200 + 2) * 3];
    EXPECT_NEAR(p[0], p[1], 1);
    EXPECT_NEAR(p[1], p[2], 1);
  }
  EXPECT_EQ(changed, 10);
}

TEST(Augment, RejectsInconsistentSamples) {
  DetSample in = rectangles();
  in.category_ids.pop_back();
  std::mt19937_64 rng(0);
  expect_error(error_of([&] { augment(in, AugmentConfig(), rng); }), {"5 boxes but 4 category ids"});
}

}  // namespace
