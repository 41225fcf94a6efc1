// input_size.h: a model re-imported at another input resolution, for the
// benchmark's resolution sweep. The input is fixed to [1, C, H, W]; for a
// detector the spec follows: its input size, and its anchor feature maps
// re-derived from the new size (a map that halved its predecessor, as a
// 3x3 stride-2 convolution does, is ceil(previous / 2) again; any other map
// keeps its stride, ceil(size / stride)), and the result is written into the
// graph's metadata so that Detector::load finds it. Models that cannot run
// at that size (a Reshape to a fixed element count, heads whose anchor count
// does not follow) give a reason instead of a graph.
// Depends on runtime/ only.
#pragma once

#include <optional>
#include <string>

#include "runtime/graph.h"
#include "runtime/onnx_import.h"

namespace vedge {

struct InputSize {
  int width = 0, height = 0;
};

// "640" (width; height keeps the model's aspect ratio) or "640x480".
// Throws vedge::Error on anything else.
struct SizeRequest {
  int width = 0, height = 0;  // height 0: from the aspect ratio
};
SizeRequest parse_size_request(const std::string& text);
InputSize resolve_size(const SizeRequest& r, int native_width, int native_height);

struct ResizedModel {
  std::optional<Graph> graph;  // empty when skipped
  std::string skip_reason;     // why, when skipped
  InputSize size;
  ImportOptions import_options;  // what re-imports it (the spec is in graph->metadata)
};

// The model's own input size ([.., H, W] of its first 4-D input, or the
// detector spec's), from an already imported graph.
InputSize native_input_size(const Graph& g, const std::string& model_path, const std::string& spec_path,
                            bool detector);

// Re-imports model_path with its image input set to [1, C, size.height,
// size.width]. detector: also rewrite its spec (spec_path, metadata or
// sidecar, as Detector::load would find it).
ResizedModel import_at_size(const std::string& model_path, const std::string& spec_path, bool detector,
                            InputSize size);

}  // namespace vedge
