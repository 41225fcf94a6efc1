// image_probe.h: the size of a JPEG, PNG or BMP file read from its header
// alone (no pixel is decoded), for dataset readers that must know image sizes
// (YOLO) or check them (COCO, VOC) without decoding thousands of images.
// Depends on runtime/error.h only.
#pragma once

#include <string>

namespace vedge {

struct ImageSize {
  int width = 0, height = 0;
};

// Throws vedge::Error naming the file when it is missing, not a JPEG/PNG/BMP,
// or its header is truncated or corrupt.
ImageSize probe_image_size(const std::string& path);

}  // namespace vedge
