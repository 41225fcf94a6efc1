// COCO readers (data/coco.h): a valid instances file with non-contiguous ids
// and optional fields, the detections (results) format, and one clear error
// naming the file and the entry for each kind of bad input. The writer's
// round trip, and data/load.h on COCO: image folder search, missing image,
// wrong image size, box outside the image, unknown category, skip_bad counts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/coco.h"
#include "data/load.h"
#include "data_test_util.h"
#include "runtime/error.h"

namespace {

const char* kGt = R"({
  "images": [{"id": 42, "file_name": "a.jpg", "width": 640, "height": 480}, {"id": 7}],
  "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}],
  "annotations": [
    {"id": 5, "image_id": 42, "category_id": 1, "bbox": [1.5, 2, 30, 40], "area": 900, "iscrowd": 0},
    {"id": 6, "image_id": 7, "category_id": 90, "bbox": [0, 0, 10, 20], "iscrowd": 1, "ignore": 1}
  ]})";

using vedge::test::error_of;
using vedge::test::expect_error;

std::string gt_error(const std::string& text) {
  return error_of([&] { vedge::parse_coco_dataset(text, "gt.json"); });
}

TEST(CocoDataset, ReadsEveryField) {
  vedge::Dataset d = vedge::parse_coco_dataset(kGt, "gt.json");
  EXPECT_EQ(d.source, "gt.json");
  ASSERT_EQ(d.images.size(), 2u);
  EXPECT_EQ(d.images[0].id, 42);
  EXPECT_EQ(d.images[0].file_name, "a.jpg");
  EXPECT_EQ(d.images[0].width, 640);
  EXPECT_EQ(d.images[0].height, 480);
  EXPECT_EQ(d.images[1].width, 0);  // absent
  ASSERT_EQ(d.categories.size(), 2u);
  EXPECT_EQ(d.categories[0].id, 90);
  EXPECT_EQ(d.categories[0].name, "toothbrush");
  ASSERT_EQ(d.annotations.size(), 2u);
  const vedge::DatasetAnnotation& a = d.annotations[0];
  EXPECT_EQ(a.id, 5);
  EXPECT_EQ(a.image_id, 42);
  EXPECT_EQ(a.category_id, 1);
  EXPECT_DOUBLE_EQ(a.bbox.x, 1.5);
  EXPECT_DOUBLE_EQ(a.bbox.h, 40);
  EXPECT_DOUBLE_EQ(a.area, 900);  // the given area, not w * h
  EXPECT_FALSE(a.iscrowd);
  EXPECT_FALSE(a.ignore);
  EXPECT_DOUBLE_EQ(d.annotations[1].area, 200);  // absent: w * h
  EXPECT_TRUE(d.annotations[1].iscrowd);
  EXPECT_TRUE(d.annotations[1].ignore);
  EXPECT_EQ(d.image_index().at(7), 1u);
  EXPECT_EQ(d.category_index().at(1), 1u);
}

TEST(CocoDataset, BadFiles) {
  expect_error(gt_error("{\"images\": [}"), {"gt.json", "malformed JSON"});
  expect_error(gt_error("[]"), {"gt.json", "JSON object"});
  expect_error(gt_error(R"({"images": [], "categories": []})"), {"gt.json", "\"annotations\""});
  expect_error(gt_error(R"({"images": [{"file_name": "x"}], "categories": [], "annotations": []})"),
               {"gt.json", "images[0]", "\"id\""});
  expect_error(gt_error(R"({"images": [{"id": 1, "width": -5}], "categories": [], "annotations": []})"),
               {"gt.json", "images[0]", "width"});
  expect_error(gt_error(R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": []})"),
               {"gt.json", "categories[0]", "\"name\""});
  const std::string head = R"({"images": [{"id": 1}], "categories": [{"id": 3, "name": "x"}], "annotations": [)";
  expect_error(gt_error(head + R"({"id": 9, "image_id": 1, "category_id": 3}]})"),
               {"gt.json", "annotations[0] (id 9)", "\"bbox\""});
  expect_error(gt_error(head + R"({"id": 9, "image_id": 2, "category_id": 3, "bbox": [0,0,1,1]}]})"),
               {"gt.json", "annotation 9", "image id 2"});
  expect_error(gt_error(head + R"({"id": 9, "image_id": 1, "category_id": 4, "bbox": [0,0,1,1]}]})"),
               {"gt.json", "annotation 9", "category id 4"});
  expect_error(gt_error(head + R"({"id": 9, "image_id": 1, "category_id": 3, "bbox": [0,0,-1,1]}]})"),
               {"gt.json", "annotations[0] (id 9)", "negative width"});
  expect_error(gt_error(head + R"({"id": 9, "image_id": 1, "category_id": 3, "bbox": [0,0,1]}]})"),
               {"gt.json", "annotations[0]", "[x, y, w, h]"});
  expect_error(gt_error(head + R"({"id": 9, "image_id": 1, "category_id": 3, "bbox": [0,0,1,1]},)" +
                        R"({"id": 9, "image_id": 1, "category_id": 3, "bbox": [0,0,1,1]}]})"),
               {"gt.json", "duplicate annotation id 9"});
  expect_error(error_of([] { vedge::read_coco_dataset("/nonexistent/gt.json"); }),
               {"/nonexistent/gt.json", "cannot open"});
}

std::string det_error(const std::string& text) {
  vedge::Dataset gt = vedge::parse_coco_dataset(kGt, "gt.json");
  return error_of([&] { vedge::parse_coco_detections(text, "dets.json", gt); });
}

TEST(CocoDetections, ReadsTheResultsFormat) {
  vedge::Dataset gt = vedge::parse_coco_dataset(kGt, "gt.json");
  auto dets = vedge::parse_coco_detections(
      R"([{"image_id": 42, "category_id": 90, "bbox": [1, 2, 3, 4], "score": 0.25},
          {"image_id": 7, "category_id": 1, "bbox": [0, 0, 0, 0], "score": 1}])",
      "dets.json", gt);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].image_id, 42);
  EXPECT_EQ(dets[0].category_id, 90);
  EXPECT_DOUBLE_EQ(dets[0].bbox.w, 3);
  EXPECT_DOUBLE_EQ(dets[0].score, 0.25);
  EXPECT_TRUE(vedge::parse_coco_detections("[]", "dets.json", gt).empty());
}

TEST(CocoDetections, BadDetections) {
  expect_error(det_error(R"([{"image_id": 3, "category_id": 1, "bbox": [0,0,1,1], "score": 0.5}])"),
               {"dets.json", "detection 0", "unknown image id 3", "gt.json"});
  expect_error(det_error(R"([{"image_id": 42, "category_id": 2, "bbox": [0,0,1,1], "score": 0.5}])"),
               {"dets.json", "detection 0", "unknown category id 2"});
  expect_error(det_error(R"([{"image_id": 42, "category_id": 1, "bbox": [0,0,1,1], "score": 0.5},
                             {"image_id": 42, "category_id": 1, "bbox": [0,0,-4,1], "score": 0.5}])"),
               {"dets.json", "detection 1", "negative width"});
  // Python's json.dump writes NaN / Infinity as bare words.
  expect_error(det_error(R"([{"image_id": 42, "category_id": 1, "bbox": [0,0,1,1], "score": NaN}])"),
               {"dets.json", "NaN or Infinity"});
  expect_error(det_error(R"([{"image_id": 42, "category_id": 1, "bbox": [0,0,1,1], "score": -Infinity}])"),
               {"dets.json", "NaN or Infinity"});
  expect_error(det_error(R"([{"image_id": 42, "category_id": 1, "bbox": [0,0,1,1], "score": null}])"),
               {"dets.json", "detection 0", "score"});
  expect_error(det_error(R"([{"image_id": 42, "category_id": 1, "bbox": [0,0,1,1], "score": 1e999}])"),
               {"dets.json", "number overflow"});
  expect_error(det_error(R"([{"image_id": 42, "category_id": 1, "bbox": [0,0,1,1]}])"),
               {"dets.json", "detection 0", "\"score\""});
  expect_error(det_error(R"({"annotations": []})"), {"dets.json", "list of detections"});
  vedge::Dataset gt = vedge::parse_coco_dataset(kGt, "gt.json");
  expect_error(error_of([&] { vedge::read_coco_detections("/nonexistent/dets.json", gt); }),
               {"/nonexistent/dets.json", "cannot open"});
}

TEST(CocoDataset, WriterRoundTrip) {
  vedge::Dataset d = vedge::parse_coco_dataset(kGt, "gt.json");
  d.annotations[0].bbox = {0.1, 1.0 / 3, 2e-7, 12345.678901234};  // every digit must survive
  std::string text = vedge::coco_dataset_json(d);
  vedge::Dataset back = vedge::parse_coco_dataset(text, "back.json");
  ASSERT_EQ(back.images.size(), 2u);
  EXPECT_EQ(back.images[0].id, 42);
  EXPECT_EQ(back.images[0].file_name, "a.jpg");
  EXPECT_EQ(back.images[1].width, 0);
  ASSERT_EQ(back.categories.size(), 2u);
  EXPECT_EQ(back.categories[0].id, 90);
  EXPECT_EQ(back.categories[0].name, "toothbrush");
  ASSERT_EQ(back.annotations.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto &a = d.annotations[i], &b = back.annotations[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.image_id, b.image_id);
    EXPECT_EQ(a.category_id, b.category_id);
    EXPECT_EQ(a.bbox.x, b.bbox.x);
    EXPECT_EQ(a.bbox.y, b.bbox.y);
    EXPECT_EQ(a.bbox.w, b.bbox.w);
    EXPECT_EQ(a.bbox.h, b.bbox.h);
    EXPECT_EQ(a.area, b.area);
    EXPECT_EQ(a.iscrowd, b.iscrowd);
    EXPECT_EQ(a.ignore, b.ignore);
  }
  EXPECT_TRUE(back.annotations[1].iscrowd);
  EXPECT_TRUE(back.annotations[1].ignore);
}

// dir/instances.json + dir/images/{a.jpg 640x480, b.png 30x20}.
std::string write_coco_dir(const std::string& name, const std::string& annotations) {
  std::string dir = vedge::test::fresh_dir(name);
  vedge::test::write_solid_image(dir + "/images/a.jpg", 640, 480);
  vedge::test::write_solid_image(dir + "/images/b.png", 30, 20);
  vedge::test::write_file(dir + "/instances.json",
                          R"({"images": [{"id": 42, "file_name": "a.jpg", "width": 640, "height": 480},
                                         {"id": 7, "file_name": "b.png"}],
                              "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}],
                              "annotations": [)" + annotations + "]}");
  return dir;
}

TEST(CocoLoad, FindsImagesAndChecksThem) {
  std::string dir = write_coco_dir("coco_load", R"({"id": 5, "image_id": 42, "category_id": 1, "bbox": [0, 0, 640, 480]},
      {"id": 6, "image_id": 7, "category_id": 90, "bbox": [29.5, 0, 1.4, 20]})");
  vedge::Dataset d = vedge::load_dataset(dir);  // the folder's single .json
  EXPECT_EQ(d.image_root, dir + "/images");
  EXPECT_EQ(d.images[1].width, 30);  // from the PNG header
  EXPECT_EQ(d.images[1].height, 20);
  EXPECT_DOUBLE_EQ(d.annotations[1].bbox.w, 0.5);  // 0.9 px past the edge: clipped
  vedge::LoadOptions o;
  o.images_dir = dir;  // wrong folder
  vedge::test::expect_error(vedge::test::error_of([&] { vedge::load_dataset(dir + "/instances.json", o); }),
                            {"instances.json: images[0] (id 42): image", "a.jpg not found"});
}

TEST(CocoLoad, BadEntriesAreNamedOrSkipped) {
  std::string ok = R"({"id": 5, "image_id": 42, "category_id": 1, "bbox": [10, 10, 20, 20]})";
  std::string dir = write_coco_dir("coco_bad", ok + R"(, {"id": 6, "image_id": 42, "category_id": 3, "bbox": [0, 0, 1, 1]})");
  expect_error(error_of([&] { vedge::load_dataset(dir); }), {"annotations[1] (id 6)", "unknown category id 3"});
  dir = write_coco_dir("coco_bad", ok + R"(, {"id": 6, "image_id": 8, "category_id": 1, "bbox": [0, 0, 1, 1]})");
  expect_error(error_of([&] { vedge::load_dataset(dir); }), {"annotations[1] (id 6)", "unknown image id 8"});
  dir = write_coco_dir("coco_bad", ok + R"(, {"id": 6, "image_id": 7, "category_id": 1, "bbox": [25, 5, 10, 10]})");
  expect_error(error_of([&] { vedge::load_dataset(dir); }),
               {"instances.json: annotations[1] (id 6): box [25, 5, 10, 10]", "outside the 30x20 image"});
  dir = write_coco_dir("coco_bad", ok + R"(, {"id": 6, "image_id": 7, "category_id": 1, "bbox": [5, 5, 0, 10]})");
  expect_error(error_of([&] { vedge::load_dataset(dir); }), {"annotations[1] (id 6): empty box"});
  // Declared size differs from the file.
  dir = write_coco_dir("coco_bad", ok);
  vedge::test::write_solid_image(dir + "/images/a.jpg", 64, 48);
  expect_error(error_of([&] { vedge::load_dataset(dir); }), {"images[0] (id 42): size 640x480", "is 64x48"});
  // All of them at once, skipped and counted.
  dir = write_coco_dir("coco_bad", ok + R"(,
      {"id": 6, "image_id": 42, "category_id": 3, "bbox": [0, 0, 1, 1]},
      {"id": 7, "image_id": 7, "category_id": 1, "bbox": [25, 5, 10, 10]},
      {"id": 8, "image_id": 7, "category_id": 1, "bbox": [1, 1, 5, 5]})");
  std::filesystem::remove(dir + "/images/a.jpg");
  vedge::LoadOptions o;
  o.skip_bad = true;
  vedge::LoadReport r;
  vedge::Dataset d = vedge::load_dataset(dir, o, &r);
  EXPECT_EQ(d.images.size(), 1u);       // b.png
  EXPECT_EQ(d.annotations.size(), 1u);  // id 8
  EXPECT_EQ(d.annotations[0].id, 8);
  EXPECT_EQ(r.skipped_images, 1u);      // a.jpg missing
  EXPECT_EQ(r.skipped_boxes, 3u);       // 5 (on a.jpg), 6 (unknown category), 7 (outside)
  EXPECT_EQ(r.problems.size(), 3u);     // category, missing image, outside
  // Malformed JSON is not skippable: it names the byte.
  vedge::test::write_file(dir + "/instances.json", "{\"images\": [}");
  expect_error(error_of([&] { vedge::load_dataset(dir, o); }), {"instances.json: malformed JSON at byte"});
}

}  // namespace
