// test_image.cpp: image decoding and encoding. Good images decode to the
// pixels they were built from (a hand-built BMP, PNG round trips, the shared
// cat.bmp); every bad image (zero bytes, random bytes, truncated JPEG, PNG
// and BMP, 1x1, headers claiming 20000x20000 or too many pixels) gives one
// vedge::Error naming the file; random mutations never crash. Also drawing
// of detections (draw.h) onto images.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "runtime/draw.h"
#include "runtime/error.h"
#include "runtime/image.h"

using namespace vedge;
namespace fs = std::filesystem;

namespace {

std::string work_dir() {
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/test_image";
  fs::create_directories(d);
  return d;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

Image gradient(int w, int h) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &img.rgb[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / std::max(1, w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / std::max(1, h - 1));
      p[2] = static_cast<uint8_t>((x + y) % 256);
    }
  return img;
}

std::vector<uint8_t> encode(const Image& img, const std::string& ext) {
  const std::string path = work_dir() + "/enc" + ext;
  if (ext == ".png") write_png(path, img);
  else write_jpeg(path, img, 90);
  return read_bytes(path);
}

void put_le(std::vector<uint8_t>& b, size_t at, uint32_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// 24-bit bottom-up BMP; pixel (x, y) = (10x, 10y, 7).
std::vector<uint8_t> make_bmp(int w, int h, uint32_t claim_w = 0, uint32_t claim_h = 0) {
  const int stride = (w * 3 + 3) / 4 * 4;
  std::vector<uint8_t> b(54 + static_cast<size_t>(stride) * h, 0);
  b[0] = 'B';
  b[1] = 'M';
  put_le(b, 2, static_cast<uint32_t>(b.size()), 4);
  put_le(b, 10, 54, 4);
  put_le(b, 14, 40, 4);
  put_le(b, 18, claim_w ? claim_w : w, 4);
  put_le(b, 22, claim_h ? claim_h : h, 4);
  put_le(b, 26, 1, 2);
  put_le(b, 28, 24, 2);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &b[54 + static_cast<size_t>(h - 1 - y) * stride + x * 3];
      p[0] = 7;                             // blue
      p[1] = static_cast<uint8_t>(10 * y);  // green
      p[2] = static_cast<uint8_t>(10 * x);  // red
    }
  return b;
}

uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// PNG signature + IHDR claiming w x h RGB8 + an empty IDAT + IEND.
std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h) {
  std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  auto chunk = [&](const char* type, std::vector<uint8_t> data) {
    const uint32_t n = static_cast<uint32_t>(data.size());
    for (int i = 3; i >= 0; --i) b.push_back(static_cast<uint8_t>(n >> (8 * i)));
    std::vector<uint8_t> td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    b.insert(b.end(), td.begin(), td.end());
    const uint32_t c = crc32(td.data(), td.size());
    for (int i = 3; i >= 0; --i) b.push_back(static_cast<uint8_t>(c >> (8 * i)));
  };
  std::vector<uint8_t> ihdr;
  for (uint32_t v : {w, h})
    for (int i = 3; i >= 0; --i) ihdr.push_back(static_cast<uint8_t>(v >> (8 * i)));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  chunk("IHDR", ihdr);
  chunk("IDAT", {});
  chunk("IEND", {});
  return b;
}

// The decode must throw vedge::Error whose message contains every `parts`.
void expect_error(const std::vector<uint8_t>& bytes, const std::string& name,
                  std::initializer_list<const char*> parts) {
  try {
    decode_image_memory(bytes.data(), bytes.size(), name);
    FAIL() << name << ": decoded without error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

}  // namespace

TEST(ImageDecode, HandBuiltBmpPixels) {
  auto b = make_bmp(13, 9);  // odd width: row padding
  Image img = decode_image_memory(b.data(), b.size(), "hand.bmp");
  ASSERT_EQ(img.width, 13);
  ASSERT_EQ(img.height, 9);
  ASSERT_EQ(img.rgb.size(), 13u * 9 * 3);
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 13; ++x) {
      const uint8_t* p = &img.rgb[(y * 13 + x) * 3];
      ASSERT_EQ(p[0], 10 * x);
      ASSERT_EQ(p[1], 10 * y);
      ASSERT_EQ(p[2], 7);
    }
}

TEST(ImageDecode, PngRoundTripIsExactJpegIsClose) {
  Image src = gradient(40, 30);
  auto png = encode(src, ".png");
  Image back = decode_image_memory(png.data(), png.size(), "x.png");
  EXPECT_EQ(back.width, 40);
  EXPECT_EQ(back.height, 30);
  EXPECT_EQ(back.rgb, src.rgb);
  auto jpg = encode(src, ".jpg");
  Image j = decode_image_memory(jpg.data(), jpg.size(), "x.jpg");
  ASSERT_EQ(j.rgb.size(), src.rgb.size());
  double err = 0;
  for (size_t i = 0; i < src.rgb.size(); ++i) err += std::abs(int(j.rgb[i]) - int(src.rgb[i]));
  EXPECT_LT(err / src.rgb.size(), 6.0);
  // write_image picks the format from the extension.
  write_image(work_dir() + "/by_ext.PNG", src);
  EXPECT_EQ(decode_image_file(work_dir() + "/by_ext.PNG").rgb, src.rgb);
  EXPECT_THROW(write_image(work_dir() + "/x.gif", src), Error);
}

TEST(ImageDecode, SharedCatBmp) {
  const std::string path = std::string(VEDGE_SHARED_DIR) + "/models/cat.bmp";
  if (!fs::exists(path)) GTEST_SKIP() << "shared/ not present: " << path;
  Image img = decode_image_file(path);
  EXPECT_EQ(img.width, 512);
  EXPECT_EQ(img.height, 341);
}

TEST(ImageDecode, EmptyRandomAndMissing) {
  expect_error({}, "empty.jpg", {"empty.jpg:", "empty", "0 bytes"});
  std::mt19937 rng(1);
  std::vector<uint8_t> noise(1000);
  for (auto& v : noise) v = static_cast<uint8_t>(rng());
  noise[0] = 0x12;
  expect_error(noise, "noise.png", {"noise.png:", "not a JPEG, PNG or BMP", "12"});
  // Right magic, garbage after it.
  noise[0] = 0xff, noise[1] = 0xd8, noise[2] = 0xff;
  expect_error(noise, "noise.jpg", {"noise.jpg:", "JPEG"});
  try {
    decode_image_file(work_dir() + "/does-not-exist.jpg");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does-not-exist.jpg: cannot open"), std::string::npos) << e.what();
  }
}

TEST(ImageDecode, TruncatedFiles) {
  Image src = gradient(160, 120);
  std::mt19937 rng(3);
  for (auto& v : src.rgb) v = static_cast<uint8_t>(v / 2 + rng() % 128);  // noise: long scan data
  auto jpg = encode(src, ".jpg");
  auto cut = std::vector<uint8_t>(jpg.begin(), jpg.begin() + jpg.size() / 2);
  expect_error(cut, "cut.jpg", {"cut.jpg:", "truncated JPEG", "no end-of-image marker"});
  cut.assign(jpg.begin(), jpg.begin() + 400);  // inside the tables, before the scan
  expect_error(cut, "cut4.jpg", {"cut4.jpg:", "truncated or corrupt JPEG"});
  cut.assign(jpg.begin(), jpg.end() - 2);  // only the end-of-image marker missing
  expect_error(cut, "cut2.jpg", {"cut2.jpg:", "truncated JPEG"});
  cut.assign(jpg.begin(), jpg.begin() + 20);  // inside the header
  expect_error(cut, "cut3.jpg", {"cut3.jpg:", "JPEG"});

  auto png = encode(src, ".png");
  for (size_t n : {png.size() - 5, png.size() / 2, size_t(30)}) {
    cut.assign(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(n));
    expect_error(cut, "cut.png", {"cut.png:", "PNG"});
  }

  auto bmp = make_bmp(16, 16);
  cut.assign(bmp.begin(), bmp.end() - 100);
  expect_error(cut, "cut.bmp", {"cut.bmp:", "truncated BMP"});
  cut.assign(bmp.begin(), bmp.begin() + 20);
  expect_error(cut, "cut2.bmp", {"cut2.bmp:", "BMP"});

  const std::string cat = std::string(VEDGE_SHARED_DIR) + "/models/cat.bmp";
  if (fs::exists(cat)) {
    auto b = read_bytes(cat);
    b.resize(b.size() * 2 / 3);
    expect_error(b, "cat.bmp", {"cat.bmp:", "truncated BMP"});
  }
}

// A Huffman table that claims more than 256 codes would overflow the
// decoder's tables (found by the sanitizer build's fuzzing): it is rejected
// before decoding, and valid tables of real files still pass.
TEST(ImageDecode, OversizedHuffmanTable) {
  auto jpg = encode(gradient(64, 48), ".jpg");
  ASSERT_NO_THROW(decode_image_memory(jpg.data(), jpg.size(), "ok.jpg"));
  size_t dht = 0;
  for (size_t i = 2; i + 1 < jpg.size(); ++i)
    if (jpg[i] == 0xff && jpg[i + 1] == 0xc4) {
      dht = i;
      break;
    }
  ASSERT_GT(dht, 0u);
  // Segment: FF C4, length (2 bytes), class/id byte, 16 code counts.
  jpg[dht + 4 + 16] = 0xff;  // count of 16-bit codes: the sum now exceeds 256
  expect_error(jpg, "dht.jpg", {"dht.jpg:", "Huffman table", "at most 256"});
}

// A scan that selects Huffman tables never defined would make the decoder
// read uninitialized table memory (found by fuzzing): rejected up front.
TEST(ImageDecode, ScanWithUndefinedHuffmanTable) {
  auto jpg = encode(gradient(64, 48), ".jpg");
  size_t sos = 0;
  for (size_t i = 2; i + 1 < jpg.size(); ++i)
    if (jpg[i] == 0xff && jpg[i + 1] == 0xda) {
      sos = i;
      break;
    }
  ASSERT_GT(sos, 0u);
  // FF DA, length (2), component count, then (id, DC<<4 | AC) per component.
  jpg[sos + 6] = 0x33;  // tables 3: the encoder defines only 0 and 1
  expect_error(jpg, "tables.jpg", {"tables.jpg:", "undefined Huffman table"});
}

// A PNG whose data chunk claims far more bytes than the file holds is
// rejected before the decoder allocates for it (found by fuzzing: 2 GB for a
// 226-byte file).
TEST(ImageDecode, PngChunkLongerThanTheFile) {
  auto png = encode(gradient(24, 16), ".png");
  size_t idat = 0;
  for (size_t i = 8; i + 4 <= png.size(); ++i)
    if (std::memcmp(&png[i], "IDAT", 4) == 0) {
      idat = i - 4;  // the length field precedes the type
      break;
    }
  ASSERT_GT(idat, 0u);
  png[idat] = 0x45, png[idat + 1] = 0x45;  // ~1.1 GB
  expect_error(png, "big.png", {"big.png:", "corrupt PNG", "claims"});
}

TEST(ImageDecode, SizeLimits) {
  // 1x1 and 7x9: below the 8x8 minimum.
  auto tiny = encode(gradient(1, 1), ".png");
  expect_error(tiny, "tiny.png", {"tiny.png: image is 1x1, smaller than the 8x8 minimum"});
  auto b = make_bmp(7, 9);
  expect_error(b, "thin.bmp", {"thin.bmp: image is 7x9, smaller than the 8x8 minimum"});
  auto ok = make_bmp(8, 8);
  EXPECT_NO_THROW(decode_image_memory(ok.data(), ok.size(), "ok.bmp"));

  // Decompression bombs: headers claiming 20000x20000, rejected before decoding.
  auto bomb = png_header_only(20000, 20000);
  expect_error(bomb, "cat.png", {"cat.png: image is 20000x20000, larger than the 16384x16384 limit"});
  auto bmp_bomb = make_bmp(8, 8, 20000, 20000);
  expect_error(bmp_bomb, "bomb.bmp", {"bomb.bmp: image is 20000x20000, larger than the 16384x16384 limit"});
  auto wide = png_header_only(16000, 12000);  // each side fine, 192 megapixels
  expect_error(wide, "wide.png", {"wide.png: image is 16000x12000", "pixel limit"});

  ImageLimits strict;
  strict.max_side = 32;
  auto big = make_bmp(40, 10);
  try {
    decode_image_memory(big.data(), big.size(), "b.bmp", strict);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "b.bmp: image is 40x10, larger than the 32x32 limit");
  }
}

TEST(ImageDecode, RandomMutationsNeverCrash) {
  // A bounded mutation fuzz in CTest: flip, insert and cut bytes of valid
  // files; every outcome must be an image or a vedge::Error.
  std::vector<std::vector<uint8_t>> seeds = {encode(gradient(24, 16), ".png"),
                                             encode(gradient(24, 16), ".jpg"), make_bmp(24, 16)};
  std::mt19937 rng(12345);
  int decoded = 0, rejected = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::vector<uint8_t> b = seeds[iter % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % b.size();
      switch (rng() % 4) {
        case 0: b[at] = static_cast<uint8_t>(rng()); break;
        case 1: b[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 2: b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rng())); break;
        case 3: if (b.size() > 4) b.resize(std::max<size_t>(4, at)); break;
      }
    }
    try {
      Image img = decode_image_memory(b.data(), b.size(), "mutant");
      ASSERT_EQ(img.rgb.size(), static_cast<size_t>(img.width) * img.height * 3);
      ++decoded;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(decoded, 0);
  EXPECT_GT(rejected, 0);
}

TEST(Draw, BoxesLabelsAndClipping) {
  Image img;
  img.width = 100;
  img.height = 80;
  img.rgb.assign(100 * 80 * 3, 0);
  Detection d;
  d.class_id = 0;
  d.label = "face";
  d.score = 0.9f;
  d.bbox[0] = 20, d.bbox[1] = 30, d.bbox[2] = 60, d.bbox[3] = 70;
  Detection off = d;  // partly outside the image: clipped, no crash
  off.bbox[0] = 90, off.bbox[1] = -10, off.bbox[2] = 300, off.bbox[3] = 50;
  Detection nan = d;
  nan.bbox[0] = std::nanf("");
  draw_detections(img, {d, off, nan});
  const Rgb c = class_color(0);
  auto at = [&](int x, int y) { return &img.rgb[(static_cast<size_t>(y) * 100 + x) * 3]; };
  // Box outline in the class color, inside untouched.
  for (auto [x, y] : {std::pair{20, 50}, std::pair{59, 50}, std::pair{40, 69}}) {
    EXPECT_EQ(at(x, y)[0], c.r) << x << "," << y;
    EXPECT_EQ(at(x, y)[1], c.g);
  }
  EXPECT_EQ(at(40, 50)[0], 0);
  // Label bar of 9 rows above the box, with text pixels in it.
  EXPECT_EQ(at(21, 21)[0], c.r);
  int text = 0;
  for (int y = 21; y < 30; ++y)
    for (int x = 20; x < 60; ++x) text += at(x, y)[0] != c.r;
  EXPECT_GT(text, 20);
  EXPECT_EQ(text_width("face 0.90", 1), 9 * 6 - 1);
  const std::string path = work_dir() + "/drawn.png";
  save_detections_image(path, img, {});
  EXPECT_EQ(decode_image_file(path).rgb, img.rgb);
}
