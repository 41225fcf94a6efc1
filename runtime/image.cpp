// image.cpp: stb_image-based decoding with header checks done first (see
// image.h), and stb_image_write-based PNG/JPEG encoding. The stb
// implementations are compiled here and only here.
// Depends on stb and runtime/error.h only.
#include "runtime/image.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "runtime/error.h"
#include "runtime/files.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
// stb's decoder state is allocated uninitialized; a corrupt JPEG can make it
// decode with a Huffman table it never defined. Zeroed memory makes such a
// table decode to an error instead of indexing with garbage.
#define STBI_MALLOC(sz) std::calloc(1, (sz))
#define STBI_REALLOC(p, sz) std::realloc((p), (sz))
#define STBI_FREE(p) std::free(p)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb_image.h>
// Note for sanitizer builds: stb_image_write's JPEG bit writer left-shifts
// negative ints (UB before C++20, harmless in practice); build this file
// with -fno-sanitize=shift-base.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace vedge {
namespace {

enum class Format { Unknown, Jpeg, Png, Bmp };

Format sniff(const uint8_t* p, size_t n) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) return Format::Jpeg;
  if (n >= 8 && std::memcmp(p, kPng, 8) == 0) return Format::Png;
  if (n >= 2 && p[0] == 'B' && p[1] == 'M') return Format::Bmp;
  return Format::Unknown;
}

const char* format_name(Format f) {
  switch (f) {
    case Format::Jpeg: return "JPEG";
    case Format::Png: return "PNG";
    case Format::Bmp: return "BMP";
    default: return "unknown";
  }
}

std::string first_bytes_hex(const uint8_t* p, size_t n) {
  std::string s;
  char buf[4];
  for (size_t i = 0; i < n && i < 4; ++i) {
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", p[i]);
    s += buf;
  }
  return s;
}

uint32_t le16(const uint8_t* p) { return p[0] | (p[1] << 8); }
uint32_t be16(const uint8_t* p) { return (p[0] << 8) | p[1]; }
uint32_t be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}
uint32_t le32(const uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// Width and height as the header claims them, read without stb (whose own
// header scan rejects huge sizes with an unhelpful message). Returns false
// when the header is too damaged to tell; stb then reports the problem.
bool header_size(Format fmt, const uint8_t* p, size_t n, int64_t& w, int64_t& h) {
  if (fmt == Format::Png) {
    if (n < 24 || std::memcmp(p + 12, "IHDR", 4) != 0) return false;
    w = be32(p + 16);
    h = be32(p + 20);
    return true;
  }
  if (fmt == Format::Bmp) {
    if (n < 26) return false;
    if (le32(p + 14) == 12) {
      w = le16(p + 18);
      h = le16(p + 20);
    } else {
      w = static_cast<int32_t>(le32(p + 18));
      h = static_cast<int32_t>(le32(p + 22));
    }
    if (h < 0) h = -h;  // top-down rows
    return true;
  }
  // JPEG: walk the marker segments up to the first start-of-frame.
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xff) return false;
    while (i + 1 < n && p[i + 1] == 0xff) ++i;  // fill bytes
    if (i + 4 > n) return false;
    const uint8_t m = p[i + 1];
    if ((m >= 0xd0 && m <= 0xd7) || m == 0x01) {  // no length
      i += 2;
      continue;
    }
    if (m == 0xd9 || m == 0xda) return false;  // end of image / scan before a frame
    if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
      if (i + 9 > n) return false;
      h = be16(p + i + 5);
      w = be16(p + i + 7);
      return true;
    }
    i += 2 + be16(p + i + 2);
  }
  return false;
}

void check_limits(int64_t w, int64_t h, const ImageLimits& limits, const std::string& name) {
  if (w < limits.min_side || h < limits.min_side)
    fail(name, ": image is ", w, "x", h, ", smaller than the ", limits.min_side, "x",
         limits.min_side, " minimum");
  if (w > limits.max_side || h > limits.max_side)
    fail(name, ": image is ", w, "x", h, ", larger than the ", limits.max_side, "x",
         limits.max_side, " limit");
  if (w * h > limits.max_pixels)
    fail(name, ": image is ", w, "x", h, " (", w * h, " pixels), more than the ",
         limits.max_pixels, " pixel limit");
}

// A JPEG is complete only if an end-of-image marker (FF D9) follows its last
// start-of-scan marker (FF DA). Entropy-coded data stuffs every FF byte, so
// neither marker can appear by accident there. stb itself pads a truncated
// scan with zeros and would "succeed".
void check_jpeg_complete(const uint8_t* p, size_t n, const std::string& name) {
  size_t sos = n;
  for (size_t i = n; i-- > 1;) {
    if (p[i - 1] == 0xff && p[i] == 0xda) { sos = i; break; }
  }
  if (sos == n) fail(name, ": truncated or corrupt JPEG image (no start-of-scan marker)");
  for (size_t i = sos + 1; i + 1 < n; ++i) {
    if (p[i] == 0xff && p[i + 1] == 0xd9) return;
  }
  fail(name, ": truncated JPEG image (", n, " bytes, no end-of-image marker)");
}

// Huffman tables are checked before stb decodes:
// - a table (DHT segment) may define at most 256 codes: stb does not check
//   this and writes past its 256-entry tables;
// - a scan may only use tables defined before it.
// The header is walked marker by marker as a decoder meets it (segments with
// a length are skipped, so bytes inside APPn/ICC data never count). From the
// first start-of-scan on, decoders resynchronize on junk in ways that differ,
// so every FF C4 pair that follows is checked as a table definition: in valid
// entropy-coded data an FF is only ever followed by 00 or a marker.
void check_jpeg_huffman_tables(const uint8_t* p, size_t n, const std::string& name) {
  auto byte_at = [&](size_t k) -> size_t { return k < n ? p[k] : 0; };  // past the end: 0
  bool dc[4] = {false, false, false, false}, ac[4] = {false, false, false, false};
  bool progressive = false;
  // Reads the tables of the DHT segment whose length field is at `at`, while
  // the declared length lasts, even when a table runs past it (as stb does).
  auto check_dht = [&](size_t at) {
    int64_t left = static_cast<int64_t>(byte_at(at) << 8 | byte_at(at + 1)) - 2;
    for (size_t t = at + 2; left > 0 && t < n;) {
      const size_t cls = byte_at(t) >> 4, id = byte_at(t) & 15;
      size_t codes = 0;
      for (int k = 1; k <= 16; ++k) codes += byte_at(t + k);
      if (codes > 256)
        fail(name, ": corrupt JPEG image (Huffman table with ", codes, " codes, at most 256)");
      if (cls <= 1 && id <= 3) (cls == 0 ? dc : ac)[id] = true;
      t += 17 + codes;
      left -= static_cast<int64_t>(17 + codes);
    }
  };
  size_t i = 2;  // after SOI
  while (i + 1 < n) {
    if (p[i] != 0xff) {  // not at a marker: resynchronize like a decoder does
      ++i;
      continue;
    }
    uint8_t m = p[i + 1];
    if (m == 0xff) {  // fill byte
      ++i;
      continue;
    }
    i += 2;
    if (m == 0xd9) return;                                // end of image
    if (m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7)) continue;  // no length
    if (i + 2 > n) return;
    const size_t len = static_cast<size_t>(p[i]) << 8 | p[i + 1];
    if (m == 0xc2) progressive = true;
    if (m == 0xc4) check_dht(i);
    if (m == 0xda) {  // which tables the scan uses: DC for a first DC pass, AC for AC
      const size_t comps = byte_at(i + 2);
      const size_t spec_start = byte_at(i + 3 + 2 * comps);
      const size_t succ_high = byte_at(i + 5 + 2 * comps) >> 4;
      const bool uses_dc = !progressive || (spec_start == 0 && succ_high == 0);
      const bool uses_ac = !progressive || spec_start > 0;
      for (size_t c = 0; c < comps && c < 4; ++c) {
        const size_t q = byte_at(i + 4 + 2 * c), td = q >> 4, ta = q & 15;
        if ((uses_dc && td <= 3 && !dc[td]) || (uses_ac && ta <= 3 && !ac[ta]))
          fail(name, ": corrupt JPEG image (a scan uses an undefined Huffman table)");
      }
    }
    i = std::min(n, i + std::max<size_t>(len, 2));
    if (m == 0xda) {  // the rest: every FF C4 defines tables
      for (size_t k = i; k + 1 < n; ++k)
        if (p[k] == 0xff && p[k + 1] == 0xc4) check_dht(k + 2);
      return;
    }
  }
}

// Every PNG chunk must fit in the file. stb grows its compressed-data buffer
// to a chunk's declared length before reading it, so a 200-byte file that
// claims a 1 GB IDAT chunk would allocate 2 GB.
void check_png_chunks(const uint8_t* p, size_t n, const std::string& name) {
  size_t pos = 8;  // after the signature
  while (pos + 12 <= n) {
    const uint64_t len = be32(p + pos);
    if (len > n - pos - 12)
      fail(name, ": truncated or corrupt PNG image (a chunk claims ", len, " bytes, ",
           n - pos - 12, " remain)");
    const bool end = std::memcmp(p + pos + 4, "IEND", 4) == 0;
    pos += 12 + len;
    if (end) return;
  }
  fail(name, ": truncated PNG image (", n, " bytes, no end chunk)");
}

// Uncompressed BMP pixel data must fit in the file; stb reads zeros past the
// end instead of failing.
void check_bmp_complete(const uint8_t* p, size_t n, const std::string& name) {
  if (n < 26) fail(name, ": truncated BMP image (", n, " bytes, header incomplete)");
  uint64_t offset = le32(p + 10);
  uint32_t header_size = le32(p + 14);
  int64_t w, h;
  uint32_t bpp, compression = 0;
  if (header_size == 12) {
    w = le16(p + 18);
    h = le16(p + 20);
    bpp = le16(p + 24);
  } else {
    if (n < 34) fail(name, ": truncated BMP image (", n, " bytes, header incomplete)");
    w = static_cast<int32_t>(le32(p + 18));
    h = static_cast<int32_t>(le32(p + 22));
    bpp = le16(p + 28);
    compression = le32(p + 30);
  }
  if (compression != 0 && compression != 3) return;  // RLE etc.: stb decides
  if (w <= 0 || bpp == 0 || bpp > 32) return;         // stb rejects these
  uint64_t stride = ((static_cast<uint64_t>(w) * bpp + 31) / 32) * 4;
  uint64_t need = offset + stride * static_cast<uint64_t>(h < 0 ? -h : h);
  if (need > n) fail(name, ": truncated BMP image (", n, " bytes, pixel data needs ", need, ")");
}

const char* stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown error";
}

}  // namespace

Image decode_image_memory(const uint8_t* bytes, size_t n, const std::string& name,
                          const ImageLimits& limits) {
  if (n == 0 || !bytes) fail(name, ": empty image file (0 bytes)");
  Format fmt = sniff(bytes, n);
  if (fmt == Format::Unknown)
    fail(name, ": not a JPEG, PNG or BMP image (starts with ", first_bytes_hex(bytes, n), ")");
  if (n > static_cast<size_t>(INT_MAX)) fail(name, ": image file too large (", n, " bytes)");
  const int len = static_cast<int>(n);

  int64_t hw = 0, hh = 0;
  if (header_size(fmt, bytes, n, hw, hh)) check_limits(hw, hh, limits, name);
  // Structure checks before stb sees the bytes: even stbi_info parses the
  // JPEG tables and the PNG chunks.
  if (fmt == Format::Jpeg) {
    check_jpeg_complete(bytes, n, name);
    check_jpeg_huffman_tables(bytes, n, name);
  }
  if (fmt == Format::Bmp) check_bmp_complete(bytes, n, name);
  if (fmt == Format::Png) check_png_chunks(bytes, n, name);
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(bytes, len, &w, &h, &comp))
    fail(name, ": corrupt ", format_name(fmt), " image (", stb_reason(), ")");
  check_limits(w, h, limits, name);

  int dw = 0, dh = 0, dc = 0;
  uint8_t* px = stbi_load_from_memory(bytes, len, &dw, &dh, &dc, 3);
  if (!px) fail(name, ": corrupt ", format_name(fmt), " image (", stb_reason(), ")");
  Image img;
  if (dw != w || dh != h) {
    stbi_image_free(px);
    fail(name, ": corrupt ", format_name(fmt), " image (header says ", w, "x", h,
         ", pixel data is ", dw, "x", dh, ")");
  }
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.rgb.assign(px, px + static_cast<size_t>(w) * h * 3);
  stbi_image_free(px);
  return img;
}

Image decode_image_file(const std::string& path, const ImageLimits& limits) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(path, ": cannot open image (", std::strerror(errno), ")");
  std::streamoff size = f.tellg();
  if (size < 0) fail(path, ": cannot read image");
  if (size > (std::streamoff(1) << 30)) fail(path, ": image file too large (", size, " bytes)");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.seekg(0);
  if (size > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), size))
    fail(path, ": cannot read image");
  return decode_image_memory(bytes.data(), bytes.size(), path, limits);
}

namespace {

void append_bytes(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(ctx);
  auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

void check_encodable(const std::string& path, const Image& img) {
  VEDGE_CHECK(img.channels == 3 && img.width > 0 && img.height > 0 &&
                  img.rgb.size() == static_cast<size_t>(img.width) * img.height * 3,
              path, ": cannot encode an invalid image (", img.width, "x", img.height, "x",
              img.channels, ", ", img.rgb.size(), " bytes)");
}

std::string lower_ext(const std::string& path) {
  size_t dot = path.find_last_of('.');
  size_t slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = path.substr(dot);
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

}  // namespace

void write_png(const std::string& path, const Image& img) {
  check_encodable(path, img);
  std::vector<uint8_t> out;
  if (!stbi_write_png_to_func(append_bytes, &out, img.width, img.height, 3, img.rgb.data(),
                              img.width * 3))
    fail(path, ": PNG encoding failed");
  write_text_file_atomic(path, std::string(out.begin(), out.end()));
}

void write_jpeg(const std::string& path, const Image& img, int quality) {
  check_encodable(path, img);
  VEDGE_CHECK(quality >= 1 && quality <= 100, path, ": JPEG quality ", quality,
              " is outside 1..100");
  std::vector<uint8_t> out;
  if (!stbi_write_jpg_to_func(append_bytes, &out, img.width, img.height, 3, img.rgb.data(),
                              quality))
    fail(path, ": JPEG encoding failed");
  write_text_file_atomic(path, std::string(out.begin(), out.end()));
}

void write_image(const std::string& path, const Image& img) {
  const std::string e = lower_ext(path);
  if (e == ".png") return write_png(path, img);
  if (e == ".jpg" || e == ".jpeg") return write_jpeg(path, img);
  fail(path, ": cannot tell the image format from the extension (use .png, .jpg or .jpeg)");
}

}  // namespace vedge
