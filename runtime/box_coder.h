// box_coder.h: SSD box decoding. The network predicts, per anchor
// (cx, cy, w, h), offsets (dx, dy, dw, dh):
//   cx' = cx + dx * center_variance * w      w' = w * exp(min(dw * size_variance, clamp))
//   cy' = cy + dy * center_variance * h      h' = h * exp(min(dh * size_variance, clamp))
// and the box is (cx' - w'/2, cy' - h'/2, cx' + w'/2, cy' + h'/2), in the
// anchors' normalized units. Variances 0.1/0.2 equal torchvision's BoxCoder
// weights (10, 10, 5, 5); clamp = log(1000/16) as in torchvision.
// Depends on nothing but <cmath>.
#pragma once

#include <cmath>
#include <cstdint>

namespace vedge {

struct BoxCoder {
  float center_variance = 0.1f;
  float size_variance = 0.2f;
  float clamp = 4.135166556742356f;  // log(1000 / 16)

  // offset: 4 floats (dx, dy, dw, dh); anchor: (cx, cy, w, h);
  // out: (x1, y1, x2, y2), normalized.
  void decode(const float* offset, const float* anchor, float* out) const {
    const float cx = anchor[0] + offset[0] * center_variance * anchor[2];
    const float cy = anchor[1] + offset[1] * center_variance * anchor[3];
    const float hw = 0.5f * anchor[2] * std::exp(std::fmin(offset[2] * size_variance, clamp));
    const float hh = 0.5f * anchor[3] * std::exp(std::fmin(offset[3] * size_variance, clamp));
    out[0] = cx - hw;
    out[1] = cy - hh;
    out[2] = cx + hw;
    out[3] = cy + hh;
  }
};

// Decodes n boxes (offsets and anchors are n x 4, row-major) to n x 4
// normalized corners, or to pixels when width/height are given (> 0).
void decode_boxes(const BoxCoder& coder, const float* offsets, const float* anchors, int64_t n,
                  float* out, float width = 0, float height = 0);

}  // namespace vedge
