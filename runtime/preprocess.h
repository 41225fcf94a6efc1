// preprocess.h: the one image -> network-input conversion used by detect,
// bench, serve and calibration. Resizes an RGB Image (bilinear, half-pixel
// centres like OpenCV's INTER_LINEAR, separable with precomputed
// coefficients), reorders colors, normalizes ((v - mean) / std on 0..255
// values) and writes float NCHW [3,H,W] straight into a caller buffer (the
// Session's input buffer). Returns the transform that maps normalized
// network coordinates back to original-image pixels.
// Depends on image.h only; no OpenCV.
#pragma once

#include <string>
#include <vector>

#include "runtime/image.h"

namespace vedge {

enum class ResizeMode { Stretch, Letterbox };
enum class ColorOrder { RGB, BGR };

struct InputSpec {
  std::string name = "images";  // the model's input value
  int width = 320;
  int height = 320;
  ColorOrder color = ColorOrder::RGB;
  float mean[3] = {0.f, 0.f, 0.f};  // per channel of the network input, 0..255 units
  float std[3] = {1.f, 1.f, 1.f};
  // Stretch fills the whole input (SSD models are trained so). Letterbox
  // keeps the aspect ratio, centres the image and pads with the mean (which
  // normalizes to 0).
  ResizeMode resize = ResizeMode::Stretch;
};

// Original-image pixel = normalized network coordinate * scale + offset.
struct BoxTransform {
  float scale_x = 1, offset_x = 0, scale_y = 1, offset_y = 0;
  int image_width = 0, image_height = 0;  // for clipping
  void apply(float* box /* x1,y1,x2,y2 normalized -> pixels, clipped */) const;
};

class Preprocessor {
 public:
  explicit Preprocessor(const InputSpec& spec);
  // Writes 3 * spec.height * spec.width floats to `dst`, as planes [3,H,W]
  // or, with nhwc, interleaved [H,W,3] (what a session whose first layer is
  // channel-last takes without a copy; see Session::input_is_nhwc). Allocates
  // only when the source size changes (coefficient tables, one row buffer).
  BoxTransform run(const Image& img, float* dst, bool nhwc = false);
  const InputSpec& spec() const { return spec_; }

 private:
  struct Axis {  // per output coordinate: two source indices and a weight
    std::vector<int> i0, i1;
    std::vector<float> w1;
  };
  void prepare(int src_w, int src_h);

  InputSpec spec_;
  int src_w_ = -1, src_h_ = -1;
  int out_x_ = 0, out_y_ = 0, out_w_ = 0, out_h_ = 0;  // resized area inside the input
  Axis ax_, ay_;
  std::vector<int> x0_off_, x1_off_;  // ax_ indices * 3
  std::vector<float> row_;            // vertically blended source row, src_w * 3
};

// One-shot convenience over Preprocessor.
BoxTransform preprocess(const Image& img, const InputSpec& spec, float* dst, bool nhwc = false);

}  // namespace vedge
