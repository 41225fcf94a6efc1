// image_probe.cpp: JPEG (SOFn marker), PNG (IHDR) and BMP (info header) sizes
// from the file header. Reads at most the markers before the frame header,
// skipping segment payloads with seeks. Depends on runtime/error.h only.
#include "data/image_probe.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>

#include "runtime/error.h"

namespace vedge {
namespace {

bool read_bytes(std::ifstream& f, uint8_t* p, size_t n) {
  f.read(reinterpret_cast<char*>(p), static_cast<std::streamsize>(n));
  return static_cast<size_t>(f.gcount()) == n;
}

ImageSize checked(const std::string& path, int64_t w, int64_t h) {
  VEDGE_CHECK(w > 0 && h > 0 && w <= 65535 && h <= 65535, path, ": implausible image size ", w, "x", h,
              " in the header");
  return {static_cast<int>(w), static_cast<int>(h)};
}

ImageSize probe_jpeg(std::ifstream& f, const std::string& path) {
  for (;;) {
    uint8_t m[2];
    VEDGE_CHECK(read_bytes(f, m, 2), path, ": truncated JPEG (no frame header)");
    VEDGE_CHECK(m[0] == 0xFF, path, ": corrupt JPEG marker");
    uint8_t code = m[1];
    while (code == 0xFF) VEDGE_CHECK(read_bytes(f, &code, 1), path, ": truncated JPEG");
    if (code == 0xD8 || (code >= 0xD0 && code <= 0xD7) || code == 0x01) continue;  // no payload
    VEDGE_CHECK(code != 0xD9 && code != 0xDA, path, ": JPEG without a frame header");
    uint8_t len[2];
    VEDGE_CHECK(read_bytes(f, len, 2), path, ": truncated JPEG");
    int n = (len[0] << 8) | len[1];
    VEDGE_CHECK(n >= 2, path, ": corrupt JPEG segment length");
    bool sof = code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 && code != 0xCC;
    if (sof) {
      uint8_t p[5];
      VEDGE_CHECK(n >= 7 && read_bytes(f, p, 5), path, ": truncated JPEG frame header");
      return checked(path, (p[3] << 8) | p[4], (p[1] << 8) | p[2]);
    }
    f.seekg(n - 2, std::ios::cur);
    VEDGE_CHECK(f, path, ": truncated JPEG");
  }
}

}  // namespace

ImageSize probe_image_size(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  VEDGE_CHECK(f, path, ": image not found or unreadable");
  uint8_t h[26] = {};
  f.read(reinterpret_cast<char*>(h), 2);
  VEDGE_CHECK(f.gcount() == 2, path, ": empty or truncated image file");
  if (h[0] == 0xFF && h[1] == 0xD8) return probe_jpeg(f, path);
  VEDGE_CHECK(read_bytes(f, h + 2, 24), path, ": truncated image header");
  static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (std::equal(png, png + 8, h)) {
    VEDGE_CHECK(h[12] == 'I' && h[13] == 'H' && h[14] == 'D' && h[15] == 'R', path,
                ": PNG without IHDR chunk");
    auto be32 = [&](int o) {
      return (int64_t(h[o]) << 24) | (int64_t(h[o + 1]) << 16) | (int64_t(h[o + 2]) << 8) | h[o + 3];
    };
    return checked(path, be32(16), be32(20));
  }
  if (h[0] == 'B' && h[1] == 'M') {
    auto le32 = [&](int o) {
      return static_cast<int32_t>(uint32_t(h[o]) | (uint32_t(h[o + 1]) << 8) | (uint32_t(h[o + 2]) << 16) |
                                  (uint32_t(h[o + 3]) << 24));
    };
    int64_t hdr = le32(14);
    if (hdr == 12) return checked(path, h[18] | (h[19] << 8), h[20] | (h[21] << 8));
    return checked(path, le32(18), std::llabs(static_cast<int64_t>(le32(22))));
  }
  fail(path, ": not a JPEG, PNG or BMP file");
}

}  // namespace vedge
