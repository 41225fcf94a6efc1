// export.h: turns a trained SSDLite (model.h) into the graph IR
// (runtime/graph.h) and an ONNX file. The graph is the inference network at
// batch 1: input "images" float32 [1,3,S,S], outputs "boxes" [1,A,4] and
// "scores" [1,A,C] (logits); BatchNorm is folded into the convolution weights
// (the running statistics are used, i.e. what eval-mode forward computes,
// whatever mode the module is in); activations stay separate nodes (the
// importer fuses them again). Metadata: "vedge.detector" = the detector spec
// JSON (labels, preprocessing, anchors, variances).
// Depends on LibTorch, model.h, the runtime's graph IR / detector spec and
// tools/export/onnx_writer.h.
#pragma once

#include <string>
#include <vector>

#include "runtime/graph.h"
#include "train/model.h"

namespace vedge {

// labels: one per score column, background first (model.config().num_classes).
Graph export_graph(const SSDLite& model, const std::vector<std::string>& labels);

// export_graph() written as ONNX (opset 13) to `path`, atomically.
void export_onnx(const SSDLite& model, const std::vector<std::string>& labels,
                 const std::string& path);

}  // namespace vedge
