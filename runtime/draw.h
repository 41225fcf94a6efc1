// draw.h: draws detections (box outline + a colored label bar with
// "label 0.98" in a small built-in 5x7 bitmap font) onto an RGB Image, for
// `vedge detect --draw`. Letters are drawn upper-case; unknown characters
// as '?'. Everything is clipped to the image.
// Depends on image.h and detector.h (Detection) only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/detector.h"
#include "runtime/image.h"

namespace vedge {

struct Rgb {
  uint8_t r, g, b;
};

// Distinct color per class id.
Rgb class_color(int class_id);

void fill_rect(Image& img, int x0, int y0, int x1, int y1, Rgb c);  // [x0,x1) x [y0,y1)
void draw_rect(Image& img, int x0, int y0, int x1, int y1, int thickness, Rgb c);
// Top-left corner at (x, y); glyphs are 5x7 cells scaled by `scale`, 1 px
// (times scale) apart. Returns the width drawn.
int draw_text(Image& img, int x, int y, const std::string& text, int scale, Rgb c);
int text_width(const std::string& text, int scale);

void draw_detections(Image& img, const std::vector<Detection>& dets);
// Draws on a copy and writes it (PNG or JPEG by extension).
void save_detections_image(const std::string& path, const Image& img,
                           const std::vector<Detection>& dets);

}  // namespace vedge
