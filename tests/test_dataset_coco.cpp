// COCO readers (data/coco.h): a valid instances file with non-contiguous ids
// and optional fields, the detections (results) format, and one clear error
// naming the file and the entry for each kind of bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/coco.h"
#include "runtime/error.h"

namespace {

const char* kGt = R"({
  "images": [{"id": 42, "file_name": "a.jpg", "width": 640, "height": 480}, {"id": 7}],
  "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}],
  "annotations": [
    {"id": 5, "image_id": 42, "category_id": 1, "bbox": [1.5, 2, 30, 40], "area": 900, "iscrowd": 0},
    {"id": 6, "image_id": 7, "category_id": 90, "bbox": [0, 0, 10, 20], "iscrowd": 1, "ignore": 1}
  ]})";

// The message of the vedge::Error thrown by f, or "" if none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const vedge::Error& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::string& msg, std::initializer_list<std::string> needles) {
  ASSERT_FALSE(msg.empty()) << "expected an error";
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "missing '" << n << "' in: " << msg;
}

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

}  // namespace
