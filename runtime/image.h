// image.h: decoding JPEG/PNG/BMP files into 8-bit RGB and encoding PNG/JPEG.
// Hostile input is expected: the header is checked (format, size limits)
// before any pixel is decoded, so a corrupt, truncated, tiny or
// decompression-bomb image ends in one vedge::Error naming the file, never a
// crash or a huge allocation. decode_image_memory() is the fuzzing entry point.
// Depends on stb_image / stb_image_write only (no OpenCV).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vedge {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 3;          // always 3: interleaved R, G, B
  std::vector<uint8_t> rgb;  // width * height * 3 bytes, row-major
};

struct ImageLimits {
  int min_side = 8;                    // smaller images are rejected
  int max_side = 16384;                // per dimension
  int64_t max_pixels = 100'000'000;    // width * height
};

// `name` is used in error messages ("cat.png: ...").
Image decode_image_memory(const uint8_t* bytes, size_t n, const std::string& name,
                          const ImageLimits& limits = {});
Image decode_image_file(const std::string& path, const ImageLimits& limits = {});

// Encoders; the file is written to "<path>.tmp" and renamed. Throw on failure.
void write_png(const std::string& path, const Image& img);
void write_jpeg(const std::string& path, const Image& img, int quality = 90);
// Picks PNG or JPEG from the extension (.png, .jpg, .jpeg).
void write_image(const std::string& path, const Image& img);

}  // namespace vedge
