// YOLO txt reader and writer (data/yolo.h, data/image_probe.h). The YOLO and
// COCO-JSON copies of ../shared/data/coco128 train give the same boxes; the
// class-name sources (data.yaml list and map forms, classes.txt); image sizes
// from JPEG/PNG/BMP headers; one clear error naming the file and line for
// every bad input, and skip_bad counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "data/coco.h"
#include "data/image_probe.h"
#include "data/load.h"
#include "data/yolo.h"
#include "data_test_util.h"

namespace {

using namespace vedge;
using vedge::test::error_of;
using vedge::test::expect_error;
using vedge::test::fresh_dir;
using vedge::test::write_file;
using vedge::test::write_solid_image;
namespace fs = std::filesystem;

// root/images/{a.jpg 100x50, b.png 40x80}, root/labels/a.txt, names per `names_file`.
std::string make_yolo(const std::string& name) {
  std::string root = fresh_dir(name);
  write_solid_image(root + "/images/a.jpg", 100, 50);
  write_solid_image(root + "/images/b.png", 40, 80);
  write_file(root + "/labels/a.txt", "0 0.5 0.5 1.0 1.0\n\n1 0.25 0.2 0.1 0.2\n");
  write_file(root + "/data.yaml", "train: images\nval: images\nnames: [cat, 'dog']\n");
  return root;
}

TEST(ImageProbe, ReadsSizesFromHeaders) {
  std::string dir = fresh_dir("probe");
  write_solid_image(dir + "/a.jpg", 123, 45);
  write_solid_image(dir + "/a.png", 17, 300);
  EXPECT_EQ(probe_image_size(dir + "/a.jpg").width, 123);
  EXPECT_EQ(probe_image_size(dir + "/a.jpg").height, 45);
  EXPECT_EQ(probe_image_size(dir + "/a.png").width, 17);
  EXPECT_EQ(probe_image_size(dir + "/a.png").height, 300);
  // A hand-made 24-bit BMP header: 9 x -7 (top-down rows).
  std::string bmp(54, '\0');
  bmp[0] = 'B', bmp[1] = 'M', bmp[14] = 40, bmp[18] = 9;
  int32_t h = -7;
  std::memcpy(&bmp[22], &h, 4);
  write_file(dir + "/a.bmp", bmp);
  EXPECT_EQ(probe_image_size(dir + "/a.bmp").width, 9);
  EXPECT_EQ(probe_image_size(dir + "/a.bmp").height, 7);
  write_file(dir + "/t.jpg", "\xFF\xD8\xFF\xE0\x00\x10JFIF");
  expect_error(error_of([&] { probe_image_size(dir + "/t.jpg"); }), {"t.jpg", "truncated JPEG"});
  write_file(dir + "/x.jpg", "GIF89a........................");
  expect_error(error_of([&] { probe_image_size(dir + "/x.jpg"); }), {"x.jpg", "not a JPEG, PNG or BMP"});
  expect_error(error_of([&] { probe_image_size(dir + "/none.png"); }), {"none.png", "not found"});
}

TEST(YoloDataset, ReadsBoxesAndNames) {
  std::string root = make_yolo("yolo_read");
  for (const std::string& path : {root, root + "/data.yaml"}) {
    Dataset d = load_dataset(path);
    ASSERT_EQ(d.images.size(), 2u) << path;
    EXPECT_EQ(d.images[0].width, 100);
    EXPECT_EQ(d.images[1].height, 80);
    ASSERT_EQ(d.categories.size(), 2u);
    EXPECT_EQ(d.categories[1].name, "dog");
    ASSERT_EQ(d.annotations.size(), 2u);
    EXPECT_EQ(d.annotations[0].category_id, 1);
    EXPECT_DOUBLE_EQ(d.annotations[0].bbox.w, 100);
    EXPECT_DOUBLE_EQ(d.annotations[1].bbox.x, 20);  // (0.25 - 0.05) * 100
    EXPECT_DOUBLE_EQ(d.annotations[1].bbox.y, 5);   // (0.2 - 0.1) * 50
    EXPECT_DOUBLE_EQ(d.annotations[1].bbox.w, 10);
    EXPECT_DOUBLE_EQ(d.annotations[1].bbox.h, 10);
    EXPECT_EQ(d.annotations[1].category_id, 2);
  }
  // The map form of names, and classes.txt.
  write_file(root + "/data.yaml", "train: images\nnames:\n  1: dog\n  0: cat\n");
  EXPECT_EQ(load_dataset(root).categories[0].name, "cat");
  fs::remove(root + "/data.yaml");
  write_file(root + "/classes.txt", "kitten\npuppy\n");
  EXPECT_EQ(load_dataset(root).categories[1].name, "puppy");
  fs::remove(root + "/classes.txt");
  expect_error(error_of([&] { load_dataset(root); }), {"no class names found"});
  write_file(root + "/data.yaml", "train: images\nnames:\n  0: cat\n  2: dog\n");
  expect_error(error_of([&] { load_dataset(root); }), {"data.yaml", "without gaps (1 is missing)"});
  write_file(root + "/data.yaml", "train: images\nnames: [cat, dog\n");
  expect_error(error_of([&] { load_dataset(root); }), {"data.yaml", "malformed YAML"});
}

TEST(YoloDataset, BadInputsAreNamed) {
  std::string root = make_yolo("yolo_bad");
  write_file(root + "/labels/a.txt", "0 0.5 0.5 1 1\n2 0.5 0.5 0.1 0.1\n");
  expect_error(error_of([&] { load_dataset(root); }), {"a.txt:2:", "unknown class 2", "2 names in"});
  write_file(root + "/labels/a.txt", "0 0.5 0.5 1 1\n0 0.5 0.5 0.1\n");
  expect_error(error_of([&] { load_dataset(root); }), {"a.txt:2:", "malformed line '0 0.5 0.5 0.1'"});
  write_file(root + "/labels/a.txt", "0 0.5 0.5 nan 0.1\n");
  expect_error(error_of([&] { load_dataset(root); }), {"a.txt:1:", "malformed line"});
  write_file(root + "/labels/a.txt", "1.5 0.5 0.5 0.1 0.1\n");
  expect_error(error_of([&] { load_dataset(root); }), {"a.txt:1:", "unknown class 1.5"});
  // 1.02 * 100 px exceeds the image by 1 px on each side: that is the tolerance; 1.04 is not.
  write_file(root + "/labels/a.txt", "0 0.5 0.5 1.02 1.0\n");
  EXPECT_DOUBLE_EQ(load_dataset(root).annotations[0].bbox.w, 100);
  write_file(root + "/labels/a.txt", "0 0.5 0.5 1.04 1.0\n");
  expect_error(error_of([&] { load_dataset(root); }), {"a.txt:1:", "outside the 100x50 image"});
  write_file(root + "/labels/a.txt", "0 0.5 0.5 0 0.5\n");
  expect_error(error_of([&] { load_dataset(root); }), {"a.txt:1:", "empty box"});
  // A label file without its image.
  write_file(root + "/labels/a.txt", "0 0.5 0.5 1 1\n");
  write_file(root + "/labels/c.txt", "0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n");
  expect_error(error_of([&] { load_dataset(root); }), {"labels/c.txt", "no image for this label file"});
  // An unreadable image.
  fs::remove(root + "/labels/c.txt");
  write_file(root + "/images/b.png", "this is not an image but a text file");
  expect_error(error_of([&] { load_dataset(root); }), {"b.png", "not a JPEG, PNG or BMP"});
}

TEST(YoloDataset, SkipBadCounts) {
  std::string root = make_yolo("yolo_skip");
  write_file(root + "/labels/a.txt", "0 0.5 0.5 1 1\n7 0.5 0.5 1 1\nzzz\n0 0.5 0.5 3 1\n1 0.1 0.1 0.1 0.1\n");
  write_file(root + "/labels/c.txt", "0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n");
  write_solid_image(root + "/images/d.png", 20, 20);
  write_file(root + "/labels/d.txt", "0 0.5 0.5 0.2 0.2\n");
  write_file(root + "/images/d.png", "broken");
  LoadOptions o;
  o.skip_bad = true;
  LoadReport r;
  Dataset d = load_dataset(root, o, &r);
  EXPECT_EQ(d.images.size(), 2u);       // a, b
  EXPECT_EQ(d.annotations.size(), 2u);  // a: lines 1 and 5
  EXPECT_EQ(r.skipped_images, 2u);      // c (no image), d (broken image)
  EXPECT_EQ(r.skipped_boxes, 6u);       // a: 3 bad lines; c: 2; d: 1
  EXPECT_EQ(r.problems.size(), 5u);
}

TEST(YoloDataset, WriteReadRoundTrip) {
  std::string root = make_yolo("yolo_rt_src");
  Dataset d = load_dataset(root);
  d.annotations[1].bbox = {1.0 / 3, 2.0 / 7, 11.1, 13.3};
  std::string out = fresh_dir("yolo_rt_out");
  EXPECT_EQ(write_yolo_dataset(d, out), 0u);
  Dataset back = load_dataset(out);
  ASSERT_EQ(back.annotations.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const BoxXYWH &a = d.annotations[i].bbox, &b = back.annotations[i].bbox;
    double tol = 1e-8 * 100;  // 8 decimals of the image size
    EXPECT_NEAR(a.x, b.x, tol);
    EXPECT_NEAR(a.y, b.y, tol);
    EXPECT_NEAR(a.w, b.w, tol);
    EXPECT_NEAR(a.h, b.h, tol);
  }
  EXPECT_EQ(back.categories[1].name, "dog");
  // Images in subfolders: labels mirror them.
  d.images[1].file_name = "sub/b.png";
  fs::create_directories(root + "/images/sub");
  fs::copy_file(root + "/images/b.png", root + "/images/sub/b.png");
  d.annotations[1].image_id = d.images[1].id;
  std::string sub = fresh_dir("yolo_rt_sub");
  write_yolo_dataset(d, sub);
  EXPECT_TRUE(fs::exists(sub + "/labels/sub/b.txt"));
  Dataset nested = load_dataset(sub);
  ASSERT_EQ(nested.images.size(), 2u);
  EXPECT_EQ(nested.images[1].file_name, "sub/b.png");
  ASSERT_EQ(nested.annotations.size(), 2u);
  EXPECT_EQ(nested.annotations[1].image_id, nested.images[1].id);
  EXPECT_NEAR(nested.annotations[1].bbox.w, 11.1, 1e-6);
  d.annotations[0].iscrowd = true;
  d.annotations[1].ignore = true;
  EXPECT_EQ(write_yolo_dataset(d, fresh_dir("yolo_rt_crowd"), ImageCopyMode::None), 2u);
}

// The YOLO copy of coco128 train vs its COCO JSON. Found by this test: the
// YOLO labels hold exactly the 929 non-crowd boxes (the 10 crowd regions are
// left out), plus two label files (000000000656, 000000000659: 3 + 9 boxes)
// whose images are not in images/train2017; images 000000000250 and
// 000000000508 (no non-crowd boxes) have no label file.
TEST(YoloDataset, Coco128YoloEqualsCocoJson) {
  std::string root = vedge::test::shared_dir() + "/data/coco128";
  if (!fs::exists(root + "/data.yaml")) GTEST_SKIP() << "needs " << root << " (../shared/data/coco128)";
  Dataset coco = load_dataset(root + "/annotations/instances_train2017.json");
  ASSERT_EQ(coco.images.size(), 128u);
  ASSERT_EQ(coco.annotations.size(), 939u);
  EXPECT_EQ(std::count_if(coco.annotations.begin(), coco.annotations.end(),
                          [](const DatasetAnnotation& a) { return a.iscrowd; }),
            10);
  expect_error(error_of([&] { load_dataset(root + "/data.yaml"); }),
               {"labels/train2017/000000000656.txt", "no image for this label file"});
  LoadOptions o;
  o.skip_bad = true;
  LoadReport r;
  Dataset yolo = load_dataset(root + "/data.yaml", o, &r);
  EXPECT_EQ(r.skipped_images, 2u);
  EXPECT_EQ(r.skipped_boxes, 12u);
  ASSERT_EQ(yolo.images.size(), 128u);
  ASSERT_EQ(yolo.annotations.size(), 929u);

  // Match by (file name, class name): each non-crowd COCO box to one YOLO box.
  auto key = [](const Dataset& d, const DatasetAnnotation& a) {
    return d.images[d.image_index().at(a.image_id)].file_name + "/" +
           d.categories[d.category_index().at(a.category_id)].name;
  };
  std::multimap<std::string, BoxXYWH> yolo_boxes;
  std::map<std::string, int> yolo_size;
  for (const DatasetImage& im : yolo.images) yolo_size[im.file_name] = std::max(im.width, im.height);
  for (const DatasetAnnotation& a : yolo.annotations) yolo_boxes.emplace(key(yolo, a), a.bbox);
  size_t matched = 0, crowd_matched = 0;
  double worst = 0;
  for (const DatasetAnnotation& a : coco.annotations) {
    std::string k = key(coco, a);
    const DatasetImage& im = coco.images[coco.image_index().at(a.image_id)];
    EXPECT_EQ(yolo_size[im.file_name], std::max(im.width, im.height)) << im.file_name;
    auto range = yolo_boxes.equal_range(k);
    auto best = range.second;
    double best_err = 1e9;
    for (auto it = range.first; it != range.second; ++it) {
      const BoxXYWH& b = it->second;
      double err = std::max({std::fabs(a.bbox.x - b.x), std::fabs(a.bbox.y - b.y), std::fabs(a.bbox.w - b.w),
                             std::fabs(a.bbox.h - b.h)});
      if (err < best_err) best_err = err, best = it;
    }
    // 6 decimals of the normalized centre and size: <= ~1e-6 of the image side.
    bool same = best != range.second && best_err <= 1e-6 * std::max(im.width, im.height);
    if (a.iscrowd) {
      crowd_matched += same;
      continue;
    }
    ASSERT_TRUE(same) << k << ": COCO box [" << a.bbox.x << ", " << a.bbox.y << ", " << a.bbox.w << ", "
                      << a.bbox.h << "] has no YOLO twin (closest differs by " << best_err << " px)";
    worst = std::max(worst, best_err);
    yolo_boxes.erase(best);
    ++matched;
  }
  EXPECT_EQ(matched, 929u);
  EXPECT_EQ(crowd_matched, 0u);
  EXPECT_TRUE(yolo_boxes.empty());
  EXPECT_LT(worst, 1e-3);
}

}  // namespace
