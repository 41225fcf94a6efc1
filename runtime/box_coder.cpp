// box_coder.cpp: batch SSD box decoding (see box_coder.h).
// Depends on nothing but box_coder.h.
#include "runtime/box_coder.h"

#include <cstdint>

namespace vedge {

void decode_boxes(const BoxCoder& coder, const float* offsets, const float* anchors, int64_t n,
                  float* out, float width, float height) {
  const bool pixels = width > 0 && height > 0;
  for (int64_t i = 0; i < n; ++i) {
    float* b = out + i * 4;
    coder.decode(offsets + i * 4, anchors + i * 4, b);
    if (pixels) {
      b[0] *= width;
      b[1] *= height;
      b[2] *= width;
      b[3] *= height;
    }
  }
}

}  // namespace vedge
