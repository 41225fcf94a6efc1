// Pascal VOC reader and writer (data/voc.h, data/xml.h): the 1-based
// inclusive coordinate convention, difficult -> ignore, class order from
// classes.txt or sorted names, the XML subset (entities, comments,
// attributes), a write/read round trip, and one clear error naming the file
// and line for every bad input (malformed XML, bad number, unknown class, box
// outside the image, missing image), with skip_bad counting instead.
#include <gtest/gtest.h>

#include "data/load.h"
#include "data/voc.h"
#include "data/xml.h"
#include "data_test_util.h"

namespace {

using namespace vedge;
using vedge::test::error_of;
using vedge::test::expect_error;
using vedge::test::fresh_dir;
using vedge::test::write_file;
using vedge::test::write_solid_image;

std::string voc_xml(const std::string& file, int w, int h, const std::string& objects) {
  return "<?xml version=\"1.0\"?>\n<annotation>\n  <folder>VOC2007</folder>\n  <filename>" + file +
         "</filename>\n  <size><width>" + std::to_string(w) + "</width><height>" + std::to_string(h) +
         "</height><depth>3</depth></size>\n" + objects + "</annotation>\n";
}

std::string object(const std::string& name, const std::string& xmin, const std::string& ymin,
                   const std::string& xmax, const std::string& ymax, int difficult = 0) {
  return "  <object>\n    <name>" + name + "</name>\n    <pose>Left</pose>\n    <difficult>" +
         std::to_string(difficult) + "</difficult>\n    <bndbox>\n      <xmin>" + xmin + "</xmin>\n      <ymin>" +
         ymin + "</ymin>\n      <xmax>" + xmax + "</xmax>\n      <ymax>" + ymax +
         "</ymax>\n    </bndbox>\n  </object>\n";
}

// root/Annotations/{a,b}.xml, root/JPEGImages/{a.jpg (64x48), b.png (32x40)}.
std::string make_voc(const std::string& name) {
  std::string root = fresh_dir(name);
  write_solid_image(root + "/JPEGImages/a.jpg", 64, 48);
  write_solid_image(root + "/JPEGImages/b.png", 32, 40);
  write_file(root + "/Annotations/a.xml",
             voc_xml("a.jpg", 64, 48, object("dog", "1", "1", "64", "48") + object("cat", "10.5", "5", "20", "30", 1)));
  write_file(root + "/Annotations/b.xml", voc_xml("b.png", 32, 40, object("cat", "3", "4", "12", "40")));
  return root;
}

TEST(Xml, ParsesTheSubset) {
  XmlNode n = parse_xml(
      "<?xml version='1.0' encoding='utf-8'?>\n<!-- c -->\n<a x=\"1\" y='&amp;2'>\n <b>t &lt;&#65;&#x42;&gt;</b>"
      "<!-- inner --><c/>\n <b> second </b></a>\n",
      "t.xml");
  EXPECT_EQ(n.name, "a");
  EXPECT_EQ(n.attrs.at("y"), "&2");
  ASSERT_EQ(n.children.size(), 3u);
  EXPECT_EQ(n.child("b")->text, "t <AB>");
  EXPECT_EQ(n.child("b")->line, 4);
  EXPECT_EQ(n.children_named("b").size(), 2u);
  EXPECT_EQ(n.children_named("b")[1]->text, "second");
  EXPECT_EQ(n.children_named("b")[1]->line, 5);
  EXPECT_EQ(xml_escape("a<b&\"c\">"), "a&lt;b&amp;&quot;c&quot;&gt;");
}

TEST(Xml, ErrorsNameTheLine) {
  auto err = [](const std::string& t) { return error_of([&] { parse_xml(t, "f.xml"); }); };
  expect_error(err("<a>\n<b>\n</c></a>"), {"f.xml:3:", "</c> closes <b> (line 2)"});
  expect_error(err("<a>\n<b>x</b>\n"), {"f.xml:3:", "<a> (line 1) is never closed"});
  expect_error(err("<a>&nbsp;</a>"), {"f.xml:1:", "unknown entity &nbsp;"});
  expect_error(err("<a><![CDATA[x]]></a>"), {"not supported"});
  expect_error(err("<a>\n\n<b x=1/></a>"), {"f.xml:3:", "unquoted attribute x"});
  expect_error(err("<a/><b/>"), {"text after the root element"});
  expect_error(err(""), {"expected the root element"});
  expect_error(err("<a>&#0;</a>"), {"invalid character reference"});
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  expect_error(err(deep), {"nested too deeply"});
}

TEST(VocDataset, ReadsTheOneBasedInclusiveConvention) {
  std::string root = make_voc("voc_read");
  Dataset d = load_dataset(root);  // auto: Annotations/ -> VOC
  ASSERT_EQ(d.images.size(), 2u);
  EXPECT_EQ(d.images[0].file_name, "a.jpg");
  EXPECT_EQ(d.images[0].width, 64);
  EXPECT_EQ(d.images[1].height, 40);
  ASSERT_EQ(d.categories.size(), 2u);  // sorted names: cat, dog
  EXPECT_EQ(d.categories[0].name, "cat");
  EXPECT_EQ(d.categories[1].name, "dog");
  ASSERT_EQ(d.annotations.size(), 3u);
  // dog: xmin=1..xmax=64 covers every pixel of the 64-wide image: [0, 64).
  const DatasetAnnotation& dog = d.annotations[0];
  EXPECT_EQ(dog.category_id, 2);
  EXPECT_DOUBLE_EQ(dog.bbox.x, 0);
  EXPECT_DOUBLE_EQ(dog.bbox.y, 0);
  EXPECT_DOUBLE_EQ(dog.bbox.w, 64);
  EXPECT_DOUBLE_EQ(dog.bbox.h, 48);
  EXPECT_FALSE(dog.ignore);
  const DatasetAnnotation& cat = d.annotations[1];
  EXPECT_DOUBLE_EQ(cat.bbox.x, 9.5);
  EXPECT_DOUBLE_EQ(cat.bbox.w, 10.5);  // 20 - 10.5 + 1
  EXPECT_DOUBLE_EQ(cat.bbox.y, 4);
  EXPECT_DOUBLE_EQ(cat.bbox.h, 26);
  EXPECT_TRUE(cat.ignore);
  EXPECT_DOUBLE_EQ(cat.area, 10.5 * 26);
  EXPECT_EQ(d.annotations[2].image_id, d.images[1].id);
  EXPECT_EQ(image_path(d, d.images[1]), root + "/JPEGImages/b.png");
  // One .xml file works too.
  Dataset one = load_dataset(root + "/Annotations/b.xml");
  ASSERT_EQ(one.annotations.size(), 1u);
  EXPECT_EQ(one.image_root, root + "/JPEGImages");
}

TEST(VocDataset, ClassesTxtFixesTheOrderAndTheSet) {
  std::string root = make_voc("voc_classes");
  write_file(root + "/classes.txt", "dog\ncat\nbird\n");
  Dataset d = read_voc_dataset(root);
  ASSERT_EQ(d.categories.size(), 3u);
  EXPECT_EQ(d.categories[0].name, "dog");
  EXPECT_EQ(d.categories[2].name, "bird");
  EXPECT_EQ(d.annotations[0].category_id, 1);
  write_file(root + "/classes.txt", "dog\n");
  expect_error(error_of([&] { read_voc_dataset(root); }), {"a.xml:17:", "unknown class 'cat'"});
  LoadOptions skip;
  skip.skip_bad = true;
  LoadReport r;
  Dataset s = read_voc_dataset(root, skip, &r);
  EXPECT_EQ(s.annotations.size(), 1u);
  EXPECT_EQ(r.skipped_boxes, 2u);
  EXPECT_EQ(r.skipped_images, 0u);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_NE(r.problems[1].find("b.xml:6: unknown class 'cat'"), std::string::npos) << r.problems[1];
}

TEST(VocDataset, BadInputsAreNamed) {
  std::string root = make_voc("voc_bad");
  // Box outside the 32 x 40 image: xmax 40 > 32 (+1 px tolerance).
  write_file(root + "/Annotations/b.xml", voc_xml("b.png", 32, 40, object("cat", "3", "4", "40", "40")));
  expect_error(error_of([&] { read_voc_dataset(root); }), {"b.xml:6:", "box [2, 3, 38, 37]", "outside the 32x40 image"});
  // Within the tolerance: clipped.
  write_file(root + "/Annotations/b.xml", voc_xml("b.png", 32, 40, object("cat", "0.5", "4", "33", "40")));
  Dataset d = read_voc_dataset(root);
  EXPECT_DOUBLE_EQ(d.annotations.back().bbox.x, 0);
  EXPECT_DOUBLE_EQ(d.annotations.back().bbox.w, 32);
  // Not a number.
  write_file(root + "/Annotations/b.xml", voc_xml("b.png", 32, 40, object("cat", "3", "four", "12", "40")));
  expect_error(error_of([&] { read_voc_dataset(root); }), {"b.xml:12:", "<ymin> is not a finite number: 'four'"});
  // Malformed XML.
  write_file(root + "/Annotations/b.xml", "<annotation>\n<filename>b.png</filename>\n<object>\n</annotation>\n");
  expect_error(error_of([&] { read_voc_dataset(root); }), {"b.xml:4:", "</annotation> closes <object> (line 3)"});
  // Missing parts.
  write_file(root + "/Annotations/b.xml", voc_xml("b.png", 32, 40, "  <object><name>cat</name></object>\n"));
  expect_error(error_of([&] { read_voc_dataset(root); }), {"b.xml:6:", "<object> has no <bndbox>"});
  write_file(root + "/Annotations/b.xml", "<annotation><size/></annotation>");
  expect_error(error_of([&] { read_voc_dataset(root); }), {"b.xml:1:", "no <filename>"});
  // Missing image.
  write_file(root + "/Annotations/b.xml", voc_xml("gone.jpg", 32, 40, object("cat", "3", "4", "12", "40")));
  expect_error(error_of([&] { read_voc_dataset(root); }), {"b.xml", "image", "gone.jpg not found"});
  // Declared size differs from the image.
  write_file(root + "/Annotations/b.xml", voc_xml("b.png", 33, 40, object("cat", "3", "4", "12", "40")));
  expect_error(error_of([&] { read_voc_dataset(root); }), {"b.xml", "size 33x40", "is 32x40"});
}

TEST(VocDataset, SkipBadCountsEverything) {
  std::string root = make_voc("voc_skip");
  write_file(root + "/Annotations/c.xml", "<annotation>\n<oops>\n</annotation>");           // malformed: image
  write_file(root + "/Annotations/d.xml", voc_xml("gone.jpg", 10, 10, object("cat", "1", "1", "5", "5")));
  write_file(root + "/Annotations/b.xml",
             voc_xml("b.png", 32, 40, object("cat", "3", "4", "12", "40") + object("dog", "3", "4", "99", "40") +
                                          object("dog", "x", "4", "9", "40")));
  LoadOptions o;
  o.skip_bad = true;
  LoadReport r;
  Dataset d = read_voc_dataset(root, o, &r);
  EXPECT_EQ(d.images.size(), 2u);        // a, b
  EXPECT_EQ(d.annotations.size(), 3u);   // a: 2, b: 1
  EXPECT_EQ(r.skipped_images, 2u);       // c (malformed), d (missing image)
  EXPECT_EQ(r.skipped_boxes, 3u);        // b: outside + not a number; d: 1
  EXPECT_EQ(r.problems.size(), 4u);
}

TEST(VocDataset, WriteReadRoundTrip) {
  std::string root = make_voc("voc_rt_src");
  Dataset d = read_voc_dataset(root);
  d.annotations[2].bbox = {1.25, 2.125, 7.5, 30.0625};  // fractional pixels survive
  d.annotations[2].area = 7.5 * 30.0625;
  std::string out = fresh_dir("voc_rt_out");
  EXPECT_EQ(write_voc_dataset(d, out), 0u);
  Dataset back = read_voc_dataset(out);
  ASSERT_EQ(back.images.size(), d.images.size());
  ASSERT_EQ(back.annotations.size(), d.annotations.size());
  for (size_t i = 0; i < d.annotations.size(); ++i) {
    const BoxXYWH &a = d.annotations[i].bbox, &b = back.annotations[i].bbox;
    EXPECT_NEAR(a.x, b.x, 1e-9);
    EXPECT_NEAR(a.y, b.y, 1e-9);
    EXPECT_NEAR(a.w, b.w, 1e-9);
    EXPECT_NEAR(a.h, b.h, 1e-9);
    EXPECT_EQ(d.annotations[i].ignore, back.annotations[i].ignore);
    EXPECT_EQ(d.categories[d.annotations[i].category_id - 1].name,
              back.categories[back.annotations[i].category_id - 1].name);
  }
  EXPECT_EQ(back.images[1].file_name, "b.png");
  EXPECT_EQ(vedge::test::read_file(out + "/classes.txt"), "cat\ndog\n");
  // A crowd box has no VOC form: written as difficult, and counted.
  d.annotations[0].iscrowd = true;
  EXPECT_EQ(write_voc_dataset(d, fresh_dir("voc_rt_crowd"), ImageCopyMode::Symlink), 1u);
}

}  // namespace
