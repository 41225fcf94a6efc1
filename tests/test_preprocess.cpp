// test_preprocess.cpp: resize + normalize + color order into NCHW, checked
// against hand-computed pixels and an independent per-pixel bilinear
// formula; box transforms back to original pixels for stretch and letterbox.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "runtime/error.h"
#include "runtime/preprocess.h"

using namespace vedge;

static Image random_image(int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (auto& v : img.rgb) v = static_cast<uint8_t>(rng());
  return img;
}

static uint8_t px(const Image& img, int x, int y, int c) {
  return img.rgb[(static_cast<size_t>(y) * img.width + x) * 3 + c];
}

TEST(Preprocess, SameSizeIsNormalizationAndColorOrder) {
  Image img = random_image(12, 10, 1);
  InputSpec s;
  s.width = 12;
  s.height = 10;
  s.mean[0] = 127, s.mean[1] = 100, s.mean[2] = 50;
  s.std[0] = 128, s.std[1] = 2, s.std[2] = 0.5f;
  std::vector<float> out(3 * 12 * 10);
  BoxTransform t = preprocess(img, s, out.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 10; ++y)
      for (int x = 0; x < 12; ++x)
        ASSERT_NEAR(out[(c * 10 + y) * 12 + x], (px(img, x, y, c) - s.mean[c]) / s.std[c], 1e-4f);
  s.color = ColorOrder::BGR;  // plane 0 is blue, normalized with mean[0]/std[0]
  preprocess(img, s, out.data());
  EXPECT_NEAR(out[0], (px(img, 0, 0, 2) - 127.f) / 128.f, 1e-5f);
  EXPECT_NEAR(out[2 * 120 + 5], (px(img, 5, 0, 0) - 50.f) / 0.5f, 1e-3f);
  EXPECT_FLOAT_EQ(t.scale_x, 12.f);
  EXPECT_FLOAT_EQ(t.offset_x, 0.f);
}

TEST(Preprocess, HandComputedDownAndUpscale) {
  // Halving averages 2x2 blocks (half-pixel centres fall between pixels).
  Image img = random_image(8, 6, 2);
  InputSpec s;
  s.width = 4;
  s.height = 3;
  std::vector<float> out(3 * 4 * 3);
  preprocess(img, s, out.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) {
        const float avg = (px(img, 2 * x, 2 * y, c) + px(img, 2 * x + 1, 2 * y, c) +
                           px(img, 2 * x, 2 * y + 1, c) + px(img, 2 * x + 1, 2 * y + 1, c)) / 4.f;
        ASSERT_NEAR(out[(c * 3 + y) * 4 + x], avg, 1e-4f);
      }
  // Doubling a row [0, 100]: samples at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
  Image two;
  two.width = 2;
  two.height = 1;
  two.rgb = {0, 0, 0, 100, 100, 100};
  s.width = 4;
  s.height = 1;
  std::vector<float> up(3 * 4);
  preprocess(two, s, up.data());
  EXPECT_FLOAT_EQ(up[0], 0.f);
  EXPECT_FLOAT_EQ(up[1], 25.f);
  EXPECT_FLOAT_EQ(up[2], 75.f);
  EXPECT_FLOAT_EQ(up[3], 100.f);
}

// Direct 2-D bilinear sample in double (OpenCV INTER_LINEAR convention).
static double bilinear(const Image& img, int c, double sx, double sy) {
  auto coord = [](double s, int n, int& i0, int& i1, double& w) {
    s = std::max(0.0, s);
    i0 = std::min(static_cast<int>(std::floor(s)), n - 1);
    i1 = std::min(i0 + 1, n - 1);
    w = i0 == n - 1 ? 0.0 : s - i0;
  };
  int x0, x1, y0, y1;
  double wx, wy;
  coord(sx, img.width, x0, x1, wx);
  coord(sy, img.height, y0, y1, wy);
  const double top = px(img, x0, y0, c) * (1 - wx) + px(img, x1, y0, c) * wx;
  const double bot = px(img, x0, y1, c) * (1 - wx) + px(img, x1, y1, c) * wx;
  return top * (1 - wy) + bot * wy;
}

TEST(Preprocess, MatchesDirectBilinearOnOddSizes) {
  Preprocessor pre([] {
    InputSpec s;
    s.width = 20;
    s.height = 16;
    s.mean[0] = s.mean[1] = s.mean[2] = 127.5f;
    s.std[0] = s.std[1] = s.std[2] = 127.5f;
    return s;
  }());
  std::vector<float> out(3 * 20 * 16), first;
  for (auto [w, h] : {std::pair{37, 23}, std::pair{9, 11}, std::pair{37, 23}, std::pair{640, 480}}) {
    Image img = random_image(w, h, static_cast<unsigned>(w * h));
    pre.run(img, out.data());
    double worst = 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 20; ++x) {
          const double want =
              (bilinear(img, c, (x + 0.5) * w / 20.0 - 0.5, (y + 0.5) * h / 16.0 - 0.5) - 127.5) / 127.5;
          worst = std::max(worst, std::abs(want - out[(c * 16 + y) * 20 + x]));
        }
    EXPECT_LT(worst, 1e-5) << w << "x" << h;
  }
}

TEST(Preprocess, LetterboxPadsAndMapsBack) {
  Image img = random_image(200, 100, 3);
  InputSpec s;
  s.width = 100;
  s.height = 100;
  s.mean[0] = s.mean[1] = s.mean[2] = 10.f;
  s.resize = ResizeMode::Letterbox;
  std::vector<float> out(3 * 100 * 100, 42.f);
  BoxTransform t = preprocess(img, s, out.data());
  // Content 100x50 at rows 25..74; padding normalizes to 0.
  for (int c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(out[(c * 100 + 0) * 100 + 50], 0.f);
    EXPECT_FLOAT_EQ(out[(c * 100 + 24) * 100 + 0], 0.f);
    EXPECT_FLOAT_EQ(out[(c * 100 + 75) * 100 + 99], 0.f);
    const float avg = (px(img, 0, 0, c) + px(img, 1, 0, c) + px(img, 0, 1, c) + px(img, 1, 1, c)) / 4.f;
    EXPECT_NEAR(out[(c * 100 + 25) * 100 + 0], avg - 10.f, 1e-4f);
  }
  float box[4] = {0.f, 0.25f, 1.f, 0.75f};  // the content area
  t.apply(box);
  EXPECT_NEAR(box[0], 0.f, 1e-4f);
  EXPECT_NEAR(box[1], 0.f, 1e-4f);
  EXPECT_NEAR(box[2], 200.f, 1e-3f);
  EXPECT_NEAR(box[3], 100.f, 1e-3f);
  float mid[4] = {0.25f, 0.5f, 0.5f, 0.6f};
  t.apply(mid);
  EXPECT_NEAR(mid[0], 50.f, 1e-3f);
  EXPECT_NEAR(mid[1], 50.f, 1e-3f);
  EXPECT_NEAR(mid[3], 70.f, 1e-3f);
}

TEST(Preprocess, StretchTransformAndClipping) {
  Image img = random_image(640, 480, 4);
  InputSpec s;
  std::vector<float> out(3 * 320 * 320);
  BoxTransform t = preprocess(img, s, out.data());
  float b[4] = {0.1f, 0.5f, 1.2f, -0.1f};
  t.apply(b);
  EXPECT_NEAR(b[0], 64.f, 1e-3f);
  EXPECT_NEAR(b[1], 240.f, 1e-3f);
  EXPECT_FLOAT_EQ(b[2], 640.f);  // clipped
  EXPECT_FLOAT_EQ(b[3], 0.f);
}

TEST(Preprocess, RejectsBadInput) {
  InputSpec s;
  s.std[1] = 0;
  EXPECT_THROW(Preprocessor{s}, Error);
  s = InputSpec{};
  Image bad;
  bad.width = 4;
  bad.height = 4;
  bad.rgb.resize(10);
  std::vector<float> out(3 * 320 * 320);
  EXPECT_THROW(preprocess(bad, s, out.data()), Error);
}

TEST(Preprocess, NhwcIsTheTransposeOfPlanes) {
  std::mt19937 rng(5);
  vedge::Image img;
  img.width = 37, img.height = 23;
  img.rgb.resize(37 * 23 * 3);
  for (auto& v : img.rgb) v = static_cast<uint8_t>(rng());
  for (auto resize : {vedge::ResizeMode::Stretch, vedge::ResizeMode::Letterbox})
    for (auto color : {vedge::ColorOrder::RGB, vedge::ColorOrder::BGR}) {
      vedge::InputSpec spec;
      spec.width = 16, spec.height = 12;
      spec.resize = resize;
      spec.color = color;
      spec.mean[0] = 10, spec.mean[1] = 20, spec.mean[2] = 30;
      spec.std[0] = 2, spec.std[1] = 3, spec.std[2] = 4;
      std::vector<float> planes(3 * 16 * 12), nhwc(3 * 16 * 12, -99.f);
      vedge::Preprocessor p(spec);
      p.run(img, planes.data(), false);
      p.run(img, nhwc.data(), true);
      for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 16 * 12; ++i)
          ASSERT_EQ(nhwc[i * 3 + c], planes[c * 16 * 12 + i]) << "c=" << c << " i=" << i;
    }
}
