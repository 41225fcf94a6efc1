// Dataset conversion and statistics: COCO -> VOC -> YOLO -> COCO is lossless
// within the formats' precision (VOC: 10 significant digits; YOLO: 8
// decimals of the normalized value) for boxes, classes and file names; the
// same through the CLI on coco128 (crowd regions are the only loss: VOC
// keeps them as difficult, YOLO cannot hold them); `vedge data stats` numbers
// checked by hand; `vedge data synth` is deterministic; CLI errors are one
// line naming the file and line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "data/coco.h"
#include "data/files.h"
#include "data/load.h"
#include "data/stats.h"
#include "data/voc.h"
#include "data/yolo.h"
#include "data_test_util.h"

namespace {

using namespace vedge;
using vedge::test::fresh_dir;
using vedge::test::read_file;
using vedge::test::run_cli;
using vedge::test::write_file;
using vedge::test::write_solid_image;
namespace fs = std::filesystem;

// Three images (one without boxes), non-contiguous category ids, fractional boxes.
Dataset small_coco(const std::string& dir) {
  Dataset d;
  d.source = dir + "/instances.json";
  d.image_root = dir + "/images";
  write_solid_image(dir + "/images/a.png", 160, 120);
  write_solid_image(dir + "/images/b.jpg", 90, 200);
  write_solid_image(dir + "/images/c.png", 50, 50);
  d.images = {{11, "a.png", 160, 120}, {3, "b.jpg", 90, 200}, {40, "c.png", 50, 50}};
  d.categories = {{90, "toothbrush"}, {1, "person"}, {18, "dog"}};
  auto add = [&](int64_t img, int64_t cat, BoxXYWH b) {
    DatasetAnnotation a;
    a.id = int64_t(d.annotations.size()) * 7 + 5;
    a.image_id = img;
    a.category_id = cat;
    a.bbox = b;
    a.area = b.w * b.h;
    d.annotations.push_back(a);
  };
  add(11, 90, {0, 0, 160, 120});
  add(11, 1, {10.25, 20.5, 33.333333, 2.75});
  add(11, 18, {100.125, 60.0625, 59.875, 59.9375});
  add(3, 1, {1.0 / 3, 2.0 / 3, 88.5, 199.25});
  write_coco_dataset(d, d.source);
  return d;
}

std::string class_of(const Dataset& d, const DatasetAnnotation& a) {
  return d.categories[d.category_index().at(a.category_id)].name;
}

// Same images (by file name, in order) and boxes (by position, class name).
void expect_same(const Dataset& want, const Dataset& got, double tol_fraction) {
  ASSERT_EQ(want.images.size(), got.images.size());
  for (size_t i = 0; i < want.images.size(); ++i) {
    EXPECT_EQ(want.images[i].file_name, got.images[i].file_name);
    EXPECT_EQ(want.images[i].width, got.images[i].width);
    EXPECT_EQ(want.images[i].height, got.images[i].height);
  }
  std::vector<std::string> wn, gn;
  for (const auto& c : want.categories) wn.push_back(c.name);
  for (const auto& c : got.categories) gn.push_back(c.name);
  std::sort(wn.begin(), wn.end());
  std::sort(gn.begin(), gn.end());
  EXPECT_EQ(wn, gn);
  ASSERT_EQ(want.annotations.size(), got.annotations.size());
  auto wi = want.image_index(), gi = got.image_index();
  for (size_t i = 0; i < want.annotations.size(); ++i) {
    const DatasetAnnotation &a = want.annotations[i], &b = got.annotations[i];
    const DatasetImage& im = want.images[wi.at(a.image_id)];
    EXPECT_EQ(im.file_name, got.images[gi.at(b.image_id)].file_name);
    EXPECT_EQ(class_of(want, a), class_of(got, b));
    double tol = tol_fraction * std::max(im.width, im.height);
    EXPECT_NEAR(a.bbox.x, b.bbox.x, tol) << i;
    EXPECT_NEAR(a.bbox.y, b.bbox.y, tol) << i;
    EXPECT_NEAR(a.bbox.w, b.bbox.w, tol) << i;
    EXPECT_NEAR(a.bbox.h, b.bbox.h, tol) << i;
  }
}

TEST(DataConvert, CocoVocYoloCocoIsLossless) {
  std::string root = fresh_dir("convert_rt");
  Dataset orig = small_coco(root + "/coco");
  Dataset coco = load_dataset(root + "/coco/instances.json");
  expect_same(orig, coco, 0);
  write_voc_dataset(coco, root + "/voc");
  Dataset voc = load_dataset(root + "/voc");
  expect_same(orig, voc, 1e-9);
  write_yolo_dataset(voc, root + "/yolo");
  Dataset yolo = load_dataset(root + "/yolo");
  expect_same(orig, yolo, 1e-8);
  write_coco_dataset(yolo, root + "/coco2/instances.json");
  fs::create_directories(root + "/coco2/images");
  for (const char* f : {"a.png", "b.jpg", "c.png"}) fs::copy_file(root + "/yolo/images/" + f, root + "/coco2/images/" + f);
  Dataset back = load_dataset(root + "/coco2");
  expect_same(orig, back, 1e-8);
  // The formats did not merely agree with each other: the image without boxes survived.
  EXPECT_EQ(compute_stats(back).images_without_boxes, 1u);
}

TEST(DataConvert, CliRoundTripOnCoco128) {
  std::string c128 = vedge::test::shared_dir() + "/data/coco128";
  if (!fs::exists(c128 + "/annotations/instances_train2017.json"))
    GTEST_SKIP() << "needs " << c128 << " (../shared/data/coco128)";
  std::string w = fresh_dir("convert_coco128");
  auto run = [&](const std::string& args) {
    vedge::test::CliResult r = run_cli("data convert " + args + " --copy-images link", w);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
    return r;
  };
  vedge::test::CliResult r = run(c128 + "/annotations/instances_train2017.json --to voc -o " + w + "/voc");
  EXPECT_NE(r.out.find("10 crowd regions written as difficult"), std::string::npos) << r.out;
  r = run(w + "/voc --to yolo -o " + w + "/yolo");
  EXPECT_NE(r.out.find("10 crowd or ignored boxes left out"), std::string::npos) << r.out;
  run(w + "/yolo --to coco -o " + w + "/coco");
  Dataset orig = load_dataset(c128 + "/annotations/instances_train2017.json");
  orig.annotations.erase(std::remove_if(orig.annotations.begin(), orig.annotations.end(),
                                        [](const DatasetAnnotation& a) { return a.iscrowd; }),
                         orig.annotations.end());
  Dataset back = load_dataset(w + "/coco");
  ASSERT_EQ(back.annotations.size(), 929u);
  // VOC and YOLO list images by sorted file name; COCO's order is its own.
  std::sort(orig.images.begin(), orig.images.end(),
            [](const DatasetImage& a, const DatasetImage& b) { return a.file_name < b.file_name; });
  auto rank = orig.image_index();
  std::stable_sort(orig.annotations.begin(), orig.annotations.end(),
                   [&](const DatasetAnnotation& a, const DatasetAnnotation& b) {
                     return rank.at(a.image_id) < rank.at(b.image_id);
                   });
  expect_same(orig, back, 1e-8);
}

TEST(DataConvert, StatsByHand) {
  std::string root = fresh_dir("convert_stats");
  small_coco(root + "/coco");
  vedge::test::CliResult r = run_cli("data stats " + root + "/coco --json " + root + "/stats.json", root);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("3 images (1 without boxes), 4 boxes"), std::string::npos) << r.out;
  nlohmann::json j = nlohmann::json::parse(read_file(root + "/stats.json"));
  EXPECT_EQ(j["images"], 3);
  EXPECT_EQ(j["boxes"], 4);
  EXPECT_EQ(j["images_without_boxes"], 1);
  // Classes in category order: toothbrush 1, person 2 (in 2 images), dog 1.
  EXPECT_EQ(j["classes"][0]["name"], "toothbrush");
  EXPECT_EQ(j["classes"][1]["boxes"], 2);
  EXPECT_EQ(j["classes"][1]["images"], 2);
  // Areas (32^2 = 1024, 96^2 = 9216): 19200 large, 91.7 small, 3588.8 medium, 17634 large;
  // sides 138.6, 9.6, 59.9, 132.8.
  EXPECT_EQ(j["sizes"]["small"], 1);
  EXPECT_EQ(j["sizes"]["medium"], 1);
  EXPECT_EQ(j["sizes"]["large"], 2);
  EXPECT_EQ(j["side_bins"][1]["boxes"], 1);  // 8-16
  EXPECT_EQ(j["side_bins"][3]["boxes"], 1);  // 32-64
  EXPECT_EQ(j["side_bins"][5]["boxes"], 2);  // 128-256
  EXPECT_EQ(j["problems"].size(), 0u);

  // Problems: with --skip-bad they are listed and counted; without, one error line.
  write_file(root + "/yolo/data.yaml", "train: images\nnames: [a]\n");
  write_solid_image(root + "/yolo/images/x.png", 20, 10);
  write_file(root + "/yolo/labels/x.txt", "0 0.5 0.5 0.5 0.5\n0 0.5 0.5\n3 0.5 0.5 0.1 0.1\n");
  r = run_cli("data stats " + root + "/yolo --skip-bad --json " + root + "/bad.json", root);
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(read_file(root + "/bad.json"));
  EXPECT_EQ(j["boxes"], 1);
  EXPECT_EQ(j["skipped_boxes"], 2);
  ASSERT_EQ(j["problems"].size(), 2u);
  EXPECT_NE(j["problems"][0].get<std::string>().find("x.txt:2: malformed line"), std::string::npos);
  r = run_cli("data stats " + root + "/yolo", root);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("x.txt:2: malformed line '0 0.5 0.5'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = run_cli("data convert " + root + "/yolo --to voc -o " + root + "/never", root);
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(fs::exists(root + "/never"));
}

TEST(DataConvert, SynthCliIsDeterministic) {
  std::string root = fresh_dir("convert_synth");
  for (const char* out : {"a", "b"}) {
    vedge::test::CliResult r =
        run_cli(std::string("data synth --out ") + root + "/" + out + " --train 3 --val 2 --seed 5", root);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("train: 3 images"), std::string::npos) << r.out;
  }
  EXPECT_EQ(read_file(root + "/a/val.json"), read_file(root + "/b/val.json"));
  EXPECT_EQ(read_file(root + "/a/train/images/000002.jpg"), read_file(root + "/b/train/images/000002.jpg"));
  Dataset d = load_dataset(root + "/a/train.json");
  EXPECT_EQ(d.images.size(), 3u);
  EXPECT_EQ(d.categories.size(), 12u);
  vedge::test::CliResult bad = run_cli("data synth --out " + root + "/c --train x", root);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("--train"), std::string::npos) << bad.err;
}

TEST(DataConvert, ConvertingInPlaceKeepsTheImages) {
  std::string root = fresh_dir("convert_in_place");
  small_coco(root);
  std::string before = read_file(root + "/images/a.png");
  for (ImageCopyMode mode : {ImageCopyMode::Symlink, ImageCopyMode::Copy})
    place_image_file(root + "/images/a.png", root + "/images/a.png", mode);
  EXPECT_FALSE(fs::is_symlink(root + "/images/a.png"));
  EXPECT_EQ(read_file(root + "/images/a.png"), before);
  // A YOLO copy written into the COCO folder itself (images/ shared) still loads.
  vedge::test::CliResult r = run_cli("data convert " + root + "/instances.json --to yolo -o " + root + " --copy-images link", root);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(load_dataset(root + "/data.yaml").annotations.size(), 4u);
}

}  // namespace
