// The synthetic shapes dataset (data/synthetic.h): same seed -> byte-identical
// files, another seed -> other images; boxes inside the image; classes
// balanced; small objects present but most objects >= 16 px; the pixels
// inside each box show its class colour and that colour does not appear
// outside the boxes of its classes; the written COCO JSON loads back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "data/load.h"
#include "data/sample.h"
#include "data/synthetic.h"
#include "data_test_util.h"

namespace {

using namespace vedge;
using vedge::test::error_of;
using vedge::test::expect_error;
using vedge::test::fresh_dir;
using vedge::test::read_file;
namespace fs = std::filesystem;

// Which class colour (0 red, 1 green, 2 blue) a pixel clearly shows, or -1.
// Background greys differ between channels by < 60 (tint + texture + noise).
int colour_of(const uint8_t* p) {
  int r = p[0], g = p[1], b = p[2];
  if (r > g + 60 && r > b + 60) return 0;
  if (g > r + 60 && g > b + 60) return 1;
  if (b > r + 60 && b > g + 60) return 2;
  return -1;
}

int colour_index(int64_t category_id) {
  std::array<uint8_t, 3> c = shapes_class_color(category_id);
  return colour_of(c.data());
}

TEST(Synthetic, ClassNames) {
  std::vector<std::string> names = shapes_class_names();
  ASSERT_GE(names.size(), 10u);
  EXPECT_EQ(names[0], "red_circle");
  std::map<int, int> per_colour;
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(std::count(names.begin(), names.end(), names[i]), 1) << names[i];
    int c = colour_index(int64_t(i) + 1);
    EXPECT_GE(c, 0) << names[i] << ": colour not one of the three hues";
    ++per_colour[c];
    const char* colour_names[] = {"red_", "green_", "blue_"};
    EXPECT_EQ(names[i].rfind(colour_names[std::max(c, 0)], 0), 0u) << names[i] << " is drawn in another colour";
  }
  EXPECT_EQ(per_colour.size(), 3u);
  expect_error(error_of([] { shapes_class_color(0); }), {"no category id 0"});
}

TEST(Synthetic, SameSeedSameBytes) {
  ShapesConfig cfg;
  cfg.num_images = 6;
  cfg.seed = 7;
  std::string a = fresh_dir("synthetic_a"), b = fresh_dir("synthetic_b"), c = fresh_dir("synthetic_c");
  generate_shapes(cfg, a, "train");
  generate_shapes(cfg, b, "train");
  cfg.seed = 8;
  generate_shapes(cfg, c, "train");
  EXPECT_EQ(read_file(a + "/train.json"), read_file(b + "/train.json"));
  EXPECT_NE(read_file(a + "/train.json"), read_file(c + "/train.json"));
  int differ = 0;
  for (int i = 0; i < cfg.num_images; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/train/images/%06d.jpg", i);
    std::string fa = read_file(a + name);
    ASSERT_FALSE(fa.empty()) << a + name;
    EXPECT_EQ(fa, read_file(b + name)) << name;
    differ += fa != read_file(c + name);
  }
  EXPECT_EQ(differ, cfg.num_images);
  // The split name is part of the seed.
  EXPECT_NE(render_shapes_image(cfg, "train", 0).image.rgb, render_shapes_image(cfg, "val", 0).image.rgb);
}

TEST(Synthetic, WrittenDatasetLoadsBack) {
  ShapesConfig cfg;
  cfg.num_images = 5;
  cfg.image_ext = ".png";
  std::string dir = fresh_dir("synthetic_load");
  Dataset made = generate_shapes(cfg, dir, "val");
  Dataset read = load_dataset(dir + "/val.json");  // finds val/images/ by itself, checks every box
  ASSERT_EQ(read.images.size(), 5u);
  ASSERT_EQ(read.annotations.size(), made.annotations.size());
  EXPECT_EQ(fs::path(read.image_root), fs::path(dir) / "val" / "images");
  for (size_t i = 0; i < made.annotations.size(); ++i) {
    EXPECT_EQ(read.annotations[i].category_id, made.annotations[i].category_id);
    EXPECT_EQ(read.annotations[i].bbox.x, made.annotations[i].bbox.x);
    EXPECT_EQ(read.annotations[i].bbox.h, made.annotations[i].bbox.h);
  }
  // PNG is lossless: the file holds exactly the rendered pixels, and
  // load_det_sample() gives back the rendered sample.
  ShapesImage want = render_shapes_image(cfg, "val", 3);
  DetSample got = load_det_sample(read, 3);
  EXPECT_EQ(got.image.rgb, want.image.rgb);
  ASSERT_EQ(got.boxes.size(), want.boxes.size());
  for (size_t k = 0; k < want.boxes.size(); ++k) {
    EXPECT_EQ(got.category_ids[k], want.category_ids[k]);
    EXPECT_EQ(got.boxes[k].x, want.boxes[k].x);
    EXPECT_EQ(got.boxes[k].w, want.boxes[k].w);
  }
  // Crowd and ignored boxes are left out unless asked for.
  read.annotations[0].iscrowd = true;
  EXPECT_EQ(load_det_sample(read, 0).boxes.size() + 1, load_det_sample(read, 0, {true, false}).boxes.size());
}

TEST(Synthetic, BoxesClassesSizesAndColours) {
  ShapesConfig cfg;  // the defaults: 320 x 320
  const int n = 150;
  std::map<int64_t, int> per_class;
  int boxes = 0, small = 0, at_least_16 = 0, weak_boxes = 0;
  size_t stray = 0, coloured = 0;
  for (int i = 0; i < n; ++i) {
    ShapesImage s = render_shapes_image(cfg, "train", i);
    ASSERT_EQ(s.boxes.size(), s.category_ids.size());
    EXPECT_GE(int(s.boxes.size()), cfg.min_objects);
    EXPECT_LE(int(s.boxes.size()), cfg.max_objects);
    // For each colour, the union of the boxes of that colour's classes.
    std::vector<std::array<bool, 3>> in_box(size_t(cfg.width) * cfg.height, {false, false, false});
    for (size_t k = 0; k < s.boxes.size(); ++k) {
      const BoxXYWH& b = s.boxes[k];
      ++boxes;
      ++per_class[s.category_ids[k]];
      EXPECT_GE(b.x, 0);
      EXPECT_GE(b.y, 0);
      EXPECT_LE(b.x + b.w, cfg.width);
      EXPECT_LE(b.y + b.h, cfg.height);
      EXPECT_GE(std::min(b.w, b.h), 4) << "degenerate box in image " << i;
      double side = std::sqrt(b.w * b.h);
      small += side < 16;
      at_least_16 += side >= 16;
      int want = colour_index(s.category_ids[k]);
      int match = 0;
      for (int y = int(b.y); y < int(b.y + b.h); ++y)
        for (int x = int(b.x); x < int(b.x + b.w); ++x) {
          match += colour_of(&s.image.rgb[(size_t(y) * cfg.width + x) * 3]) == want;
          in_box[size_t(y) * cfg.width + x][want] = true;
        }
      // Shapes fill >= ~30% of their box and stay >= 60% visible.
      if (match < 0.12 * b.w * b.h) ++weak_boxes;
    }
    for (size_t p = 0; p < in_box.size(); ++p) {
      int c = colour_of(&s.image.rgb[p * 3]);
      if (c < 0) continue;
      ++coloured;
      stray += !in_box[p][c];
    }
  }
  EXPECT_EQ(weak_boxes, 0) << "boxes whose pixels do not show their class colour";
  EXPECT_LT(double(stray), 0.002 * coloured) << stray << " of " << coloured
                                             << " class-coloured pixels lie outside the boxes of their colour";
  ASSERT_EQ(per_class.size(), shapes_class_names().size());
  double mean = double(boxes) / per_class.size();
  for (const auto& [id, count] : per_class) {
    EXPECT_GT(count, 0.6 * mean) << "class " << id;
    EXPECT_LT(count, 1.4 * mean) << "class " << id;
  }
  EXPECT_GT(small, 0.03 * boxes) << "too few small objects";
  EXPECT_GT(at_least_16, 0.8 * boxes) << "most objects should be >= 16 px";
}

TEST(Synthetic, RejectsBadConfigs) {
  ShapesConfig cfg;
  cfg.max_size = 400;
  expect_error(error_of([&] { render_shapes_image(cfg, "train", 0); }), {"object sizes", "fit in the image"});
  cfg = ShapesConfig();
  cfg.image_ext = ".gif";
  expect_error(error_of([&] { generate_shapes(cfg, fresh_dir("synthetic_bad"), "train"); }), {".gif"});
  cfg = ShapesConfig();
  cfg.min_objects = 5;
  cfg.max_objects = 2;
  expect_error(error_of([&] { render_shapes_image(cfg, "train", 0); }), {"object count range"});
}

}  // namespace
