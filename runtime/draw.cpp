// draw.cpp: box and label drawing with a built-in 5x7 font (see draw.h).
// Depends on image.h and detector.h only.
#include "runtime/draw.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace vedge {
namespace {

// One glyph: 7 rows, the 5 low bits of each row, most significant = left.
struct Glyph {
  char ch;
  uint8_t rows[7];
};

#define G(c, a, b, d, e, f, g, h) {c, {0b##a, 0b##b, 0b##d, 0b##e, 0b##f, 0b##g, 0b##h}}
const Glyph kFont[] = {
    G('0', 01110, 10001, 10011, 10101, 11001, 10001, 01110),
    G('1', 00100, 01100, 00100, 00100, 00100, 00100, 01110),
    G('2', 01110, 10001, 00001, 00010, 00100, 01000, 11111),
    G('3', 11110, 00001, 00001, 01110, 00001, 00001, 11110),
    G('4', 00010, 00110, 01010, 10010, 11111, 00010, 00010),
    G('5', 11111, 10000, 11110, 00001, 00001, 10001, 01110),
    G('6', 00110, 01000, 10000, 11110, 10001, 10001, 01110),
    G('7', 11111, 00001, 00010, 00100, 01000, 01000, 01000),
    G('8', 01110, 10001, 10001, 01110, 10001, 10001, 01110),
    G('9', 01110, 10001, 10001, 01111, 00001, 00010, 01100),
    G('A', 01110, 10001, 10001, 11111, 10001, 10001, 10001),
    G('B', 11110, 10001, 10001, 11110, 10001, 10001, 11110),
    G('C', 01110, 10001, 10000, 10000, 10000, 10001, 01110),
    G('D', 11100, 10010, 10001, 10001, 10001, 10010, 11100),
    G('E', 11111, 10000, 10000, 11110, 10000, 10000, 11111),
    G('F', 11111, 10000, 10000, 11110, 10000, 10000, 10000),
    G('G', 01110, 10001, 10000, 10111, 10001, 10001, 01111),
    G('H', 10001, 10001, 10001, 11111, 10001, 10001, 10001),
    G('I', 01110, 00100, 00100, 00100, 00100, 00100, 01110),
    G('J', 00111, 00010, 00010, 00010, 00010, 10010, 01100),
    G('K', 10001, 10010, 10100, 11000, 10100, 10010, 10001),
    G('L', 10000, 10000, 10000, 10000, 10000, 10000, 11111),
    G('M', 10001, 11011, 10101, 10101, 10001, 10001, 10001),
    G('N', 10001, 10001, 11001, 10101, 10011, 10001, 10001),
    G('O', 01110, 10001, 10001, 10001, 10001, 10001, 01110),
    G('P', 11110, 10001, 10001, 11110, 10000, 10000, 10000),
    G('Q', 01110, 10001, 10001, 10001, 10101, 10010, 01101),
    G('R', 11110, 10001, 10001, 11110, 10100, 10010, 10001),
    G('S', 01111, 10000, 10000, 01110, 00001, 00001, 11110),
    G('T', 11111, 00100, 00100, 00100, 00100, 00100, 00100),
    G('U', 10001, 10001, 10001, 10001, 10001, 10001, 01110),
    G('V', 10001, 10001, 10001, 10001, 10001, 01010, 00100),
    G('W', 10001, 10001, 10001, 10101, 10101, 10101, 01010),
    G('X', 10001, 10001, 01010, 00100, 01010, 10001, 10001),
    G('Y', 10001, 10001, 01010, 00100, 00100, 00100, 00100),
    G('Z', 11111, 00001, 00010, 00100, 01000, 10000, 11111),
    G('.', 00000, 00000, 00000, 00000, 00000, 01100, 01100),
    G('-', 00000, 00000, 00000, 11111, 00000, 00000, 00000),
    G('_', 00000, 00000, 00000, 00000, 00000, 00000, 11111),
    G(':', 00000, 01100, 01100, 00000, 01100, 01100, 00000),
    G('%', 11000, 11001, 00010, 00100, 01000, 10011, 00011),
    G('/', 00000, 00001, 00010, 00100, 01000, 10000, 00000),
    G(' ', 00000, 00000, 00000, 00000, 00000, 00000, 00000),
    G('?', 01110, 10001, 00001, 00010, 00100, 00000, 00100),
};
#undef G

const Glyph& glyph(char c) {
  const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const Glyph& g : kFont)
    if (g.ch == u) return g;
  return kFont[sizeof(kFont) / sizeof(kFont[0]) - 1];  // '?'
}

}  // namespace

Rgb class_color(int class_id) {
  static const Rgb kPalette[] = {{230, 25, 75},  {60, 180, 75},   {255, 225, 25}, {0, 130, 200},
                                 {245, 130, 48}, {145, 30, 180},  {70, 240, 240}, {240, 50, 230},
                                 {210, 245, 60}, {250, 190, 212}, {0, 128, 128},  {170, 110, 40}};
  const int n = static_cast<int>(sizeof(kPalette) / sizeof(kPalette[0]));
  return kPalette[((class_id % n) + n) % n];
}

void fill_rect(Image& img, int x0, int y0, int x1, int y1, Rgb c) {
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, img.width);
  y1 = std::min(y1, img.height);
  for (int y = y0; y < y1; ++y) {
    uint8_t* p = img.rgb.data() + (static_cast<size_t>(y) * img.width + x0) * 3;
    for (int x = x0; x < x1; ++x, p += 3) {
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
  }
}

void draw_rect(Image& img, int x0, int y0, int x1, int y1, int t, Rgb c) {
  fill_rect(img, x0, y0, x1, y0 + t, c);
  fill_rect(img, x0, y1 - t, x1, y1, c);
  fill_rect(img, x0, y0, x0 + t, y1, c);
  fill_rect(img, x1 - t, y0, x1, y1, c);
}

int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : static_cast<int>(text.size()) * 6 * scale - scale;
}

int draw_text(Image& img, int x, int y, const std::string& text, int scale, Rgb c) {
  int cx = x;
  for (char ch : text) {
    const Glyph& g = glyph(ch);
    for (int r = 0; r < 7; ++r)
      for (int b = 0; b < 5; ++b)
        if (g.rows[r] & (0x10 >> b))
          fill_rect(img, cx + b * scale, y + r * scale, cx + (b + 1) * scale, y + (r + 1) * scale, c);
    cx += 6 * scale;
  }
  return text_width(text, scale);
}

void draw_detections(Image& img, const std::vector<Detection>& dets) {
  if (img.width <= 0 || img.height <= 0 ||
      img.rgb.size() != static_cast<size_t>(img.width) * img.height * 3)
    return;
  const int side = std::min(img.width, img.height);
  const int thick = std::max(1, side / 300);
  const int scale = std::max(1, side / 400);
  const int bar_h = 9 * scale;
  for (const Detection& d : dets) {
    auto px = [](float v) { return std::isfinite(v) ? static_cast<int>(std::lround(v)) : 0; };
    const int x0 = px(d.bbox[0]), y0 = px(d.bbox[1]), x1 = px(d.bbox[2]), y1 = px(d.bbox[3]);
    if (x1 <= x0 || y1 <= y0) continue;
    const Rgb c = class_color(d.class_id);
    draw_rect(img, x0, y0, x1, y1, thick, c);
    char score[16];
    std::snprintf(score, sizeof score, " %.2f", static_cast<double>(d.score));
    const std::string text = d.label + score;
    const int bw = text_width(text, scale) + 2 * scale;
    const int by = y0 - bar_h >= 0 ? y0 - bar_h : y0;  // above the box, else inside
    fill_rect(img, x0, by, x0 + bw, by + bar_h, c);
    const bool light = 299 * c.r + 587 * c.g + 114 * c.b > 150000;
    draw_text(img, x0 + scale, by + scale, text, scale, light ? Rgb{0, 0, 0} : Rgb{255, 255, 255});
  }
}

void save_detections_image(const std::string& path, const Image& img,
                           const std::vector<Detection>& dets) {
  Image copy = img;
  draw_detections(copy, dets);
  write_image(path, copy);
}

}  // namespace vedge
