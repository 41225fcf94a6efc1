// backbone_init.h: initializes a MobileNet backbone (train/backbones.h) and,
// optionally, its ImageNet classifier head from pretrained weights:
//
// (a) a TFLite ImageNet classifier (e.g. the shared uint8 MobileNetV3-Small /
//     MobileNetV2), read with the runtime's TFLite importer (weights
//     dequantized to float). The file's convolution and dense layers are
//     matched to ours in forward order (stem, per block: expand, depthwise,
//     squeeze-excite fc1/fc2, project; last 1x1 conv; classifier), with
//     shape, stride and group checks; the first mismatch (a different width
//     multiplier, another architecture) is one vedge::Error naming the layer.
//     TFLite files have BatchNorm folded into each conv (weights scaled,
//     plus a bias); we load the folded weights into the conv and make the
//     following BatchNorm the identity plus that bias: gamma = 1,
//     beta = bias, running_mean = 0, running_var = 1 - eps, so
//     (x - 0) / sqrt(1 - eps + eps) * 1 + bias = x + bias exactly. Fine-tuning
//     then updates BN from there.
// (b) a PyTorch state_dict file (torch.save(model.state_dict()), the zip
//     format) of torchvision's mobilenet_v3_small / mobilenet_v3_large /
//     mobilenet_v2: our module names follow torchvision's
//     (features.N.block.i..., features.N.conv.i..., classifier.i), so every
//     parameter and buffer is looked up by name, with shape checks. At width
//     1.0 the layers are identical except BatchNorm's epsilon in V2
//     (torchvision 1e-5, Keras/ours 1e-3): the loaded running variances are
//     shifted by the difference so var + eps stays the file's. At other
//     widths torchvision scales the V3 stem, the V3 expansions and the V3
//     classifier hidden width differently from Keras, which the shape checks
//     report. LibTorch 1.13's unpickler cannot rebuild the `_metadata`
//     attribute of the OrderedDict that state_dict() returns: save
//     `dict(model.state_dict())` (a plain dict of the same tensors).
//
// Depends on LibTorch, train/backbones.h and runtime/tflite_import.h.
#pragma once

#include <string>

#include "train/backbones.h"

namespace vedge {

struct BackboneInitResult {
  int layers = 0;           // conv / linear layers loaded
  bool classifier = false;  // the classifier head was loaded too
};

// `with_classifier`: also load the classifier head (the net must have one
// with the file's class count). Without it the file's head is ignored.
BackboneInitResult init_backbone_from_tflite(MobileNet& net, const std::string& path,
                                             bool with_classifier);
BackboneInitResult init_backbone_from_state_dict(MobileNet& net, const std::string& path,
                                                 bool with_classifier);
// Picks (a) for a TFLite file ("TFL3"), (b) otherwise.
BackboneInitResult init_backbone(MobileNet& net, const std::string& path, bool with_classifier);

}  // namespace vedge
