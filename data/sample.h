// sample.h: one training/validation sample from a Dataset: the decoded image
// and its boxes as a DetSample (data/augment.h), ready for augment() or
// resize_to(). Crowd regions and ignored (VOC difficult) objects are left
// out by default: SSD-style training has no use for them. Depends on
// data/dataset.h, data/load.h, data/augment.h, runtime/image.h.
#pragma once

#include <cstddef>

#include "data/augment.h"
#include "data/dataset.h"

namespace vedge {

struct SampleOptions {
  bool keep_crowd = false;
  bool keep_ignored = false;
};

// Decodes image_path(d, d.images[image_index]) and collects its boxes (in
// annotation order). Throws vedge::Error naming the file when the image
// cannot be decoded or its size differs from the dataset's.
DetSample load_det_sample(const Dataset& d, size_t image_index, const SampleOptions& options = {});

// Per-image lists of annotation indices (annotation order), aligned with
// d.images: build once, then pass to the overload below to avoid a scan of
// all annotations per sample.
std::vector<std::vector<size_t>> annotations_by_image(const Dataset& d);
DetSample load_det_sample(const Dataset& d, size_t image_index, const std::vector<std::vector<size_t>>& by_image,
                          const SampleOptions& options = {});

}  // namespace vedge
