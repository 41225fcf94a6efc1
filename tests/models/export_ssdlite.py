#!/usr/bin/python3
"""export_ssdlite.py: builds the SSDLite test detectors from a seed and exports
the network alone (backbone + SSDLite head, no torchvision transform or
post-processing) to ONNX for the parity tests and benchmarks:

  ssdlite320_mobilenet_v3_large_op13.onnx   torchvision's SSDLite320-MobileNetV3-Large
  ssdlite320_mobilenet_v3_small_2fm_op17.onnx  MobileNetV3-Small + SSDLite, 2 feature maps
  ssdlite320_mobilenet_v3_small_2fm_op11.onnx  (same weights, Clip with min/max inputs,
                                               exported without constant folding: the
                                               importer must fold Unsqueeze/Concat chains)
  ssdlite320_mobilenet_v3_small_2fm_op9.onnx   (same weights, Clip attributes, HardSigmoid)

Each model has input `images` float32 [1,3,320,320] and outputs `boxes`
[1,A,4] (SSD offsets) and `scores` [1,A,C] (logits, class 0 = background);
its metadata_props key "vedge.detector" holds the detector spec JSON
(docs/detector-spec.md). Next to each model, <name>.input.npy is a seeded
random input.

Weights are random but tame: depthwise kernels start near a box filter and
BatchNorm statistics are re-estimated on a few batches, so activations stay
O(1) through the network and float rounding differences between engines do
not grow layer by layer.

Usage: /usr/bin/python3 export_ssdlite.py --out DIR [--seed N] [--force]
Idempotent: a stamp file records the script hash and seed; a second run with
the same inputs does nothing. Needs torch and torchvision (Debian's python3
packages), onnx, numpy; nothing from the network, nothing from ../shared.
"""

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
from collections import OrderedDict

import numpy as np
import onnx
import torch
import torch.nn as nn
import torchvision
from torchvision.models import mobilenet_v3_small
from torchvision.models._meta import _COCO_CATEGORIES
from torchvision.models.detection import ssdlite320_mobilenet_v3_large
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.ssdlite import SSDLiteHead

SIZE = 320
# torchvision's SSD transform maps [0,1] pixels to [-1,1]; in 0..255 pixel
# units that is (x - 127.5) / 127.5, RGB order.
MEAN = [127.5, 127.5, 127.5]
STD = [127.5, 127.5, 127.5]
VARIANCES = [0.1, 0.1, 0.2, 0.2]  # torchvision BoxCoder weights (10,10,5,5)
MIN_RATIO, MAX_RATIO = 0.2, 0.95


def coco91_labels():
    return list(_COCO_CATEGORIES)  # "__background__", 80 names, "N/A" holes


def coco81_labels():
    return ["__background__"] + [c for c in _COCO_CATEGORIES[1:] if c != "N/A"]


def bn_layer(channels):
    return nn.BatchNorm2d(channels, eps=0.001, momentum=0.03)


class DetectorNet(nn.Module):
    """Feature extractor + SSDLite head -> (boxes [N,A,4], scores [N,A,C])."""

    def __init__(self, features, head):
        super().__init__()
        self.features = features
        self.head = head

    def forward(self, images):
        maps = self.features(images)
        if isinstance(maps, (dict, OrderedDict)):
            maps = list(maps.values())
        out = self.head(maps)
        return out["bbox_regression"], out["cls_logits"]


class SmallTwoMaps(nn.Module):
    """MobileNetV3-Small trunk cut as torchvision cuts SSDLite backbones: the
    stride-16 map is the expansion output of the first stride-32 block, the
    stride-32 map is the last feature layer."""

    def __init__(self):
        super().__init__()
        bb = mobilenet_v3_small(weights=None, norm_layer=bn_layer).features
        cuts = [i for i, b in enumerate(bb) if getattr(b, "_is_cn", False)]
        c4 = cuts[-1]  # first (and only) stride-32 block
        assert not bb[c4].use_res_connect
        self.c4 = nn.Sequential(*bb[:c4], bb[c4].block[0])
        self.c5 = nn.Sequential(bb[c4].block[1:], *bb[c4 + 1:])

    def forward(self, x):
        a = self.c4(x)
        b = self.c5(a)
        return [a, b]


def out_channels(features):
    with torch.no_grad():
        maps = features(torch.zeros(1, 3, SIZE, SIZE))
    if isinstance(maps, (dict, OrderedDict)):
        maps = list(maps.values())
    return [m.shape[1] for m in maps], [list(m.shape[-2:]) for m in maps]


def tame_init(net, gen):
    """Normal(0, 0.03) convolutions (torchvision's SSDLite init), depthwise
    kernels near a k x k box filter, zero biases."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            with torch.no_grad():
                kh, kw = m.kernel_size
                depthwise = m.groups > 1 and m.groups == m.in_channels
                if depthwise:
                    base = torch.full(m.weight.shape, 1.0 / (kh * kw))
                    noise = torch.randn(m.weight.shape, generator=gen) * (0.1 / (kh * kw))
                    m.weight.copy_(base + noise)
                else:
                    fan_in = m.in_channels // m.groups * kh * kw
                    std = min(0.03, 1.0 / math.sqrt(fan_in))
                    m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                if m.bias is not None:
                    m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(1.0 + 0.1 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))


def calibration_batches(gen, n_batches=3, batch=6):
    """Image-like inputs in [-1,1]: smooth gradients and blobs plus noise."""
    ys = torch.linspace(-1, 1, SIZE).view(1, SIZE, 1)
    xs = torch.linspace(-1, 1, SIZE).view(1, 1, SIZE)
    for _ in range(n_batches):
        imgs = []
        for _ in range(batch):
            a = torch.rand(3, 1, 1, generator=gen) * 2 - 1
            b = torch.rand(3, 1, 1, generator=gen) * 2 - 1
            cx, cy, r = (torch.rand(3, generator=gen) * 1.2 - 0.6).tolist()
            blob = (((xs - cx) ** 2 + (ys - cy) ** 2) < (0.2 + abs(r)) ** 2).float()
            c = torch.rand(3, 1, 1, generator=gen) * 2 - 1
            img = 0.5 * (a * xs + b * ys) + c * blob
            img = img + 0.3 * torch.randn(3, SIZE, SIZE, generator=gen)
            imgs.append(img.clamp(-1, 1))
        yield torch.stack(imgs)


def reestimate_bn(net, gen):
    """BatchNorm running stats := mean of the batch statistics seen in train
    mode (momentum None = cumulative average), then eval."""
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    with torch.no_grad():
        for x in calibration_batches(gen):
            net(x)
    net.eval()


def anchor_spec(grids, aspect_ratios):
    gen = DefaultBoxGenerator(aspect_ratios, min_ratio=MIN_RATIO, max_ratio=MAX_RATIO)
    return {
        "family": "ssd",
        "feature_maps": ["%dx%d" % (w, h) for h, w in grids],
        "aspect_ratios": [[float(a) for a in ar] for ar in aspect_ratios],
        "scales": [float(s) for s in gen.scales],
        "clip": True,
    }


def detector_spec(labels, grids, aspect_ratios):
    """The detector spec (docs/detector-spec.md) stored as vedge.detector."""
    return {
        "version": 1,
        "labels": labels,
        "background": 0,
        "input": {"name": "images", "width": SIZE, "height": SIZE, "color": "rgb",
                  "mean": MEAN, "std": STD, "resize": "stretch"},
        "outputs": {"boxes": "boxes", "scores": "scores", "score_activation": "softmax"},
        "anchors": anchor_spec(grids, aspect_ratios),
        "variances": [VARIANCES[0], VARIANCES[2]],
        "thresholds": {"score": 0.3, "iou": 0.55, "top_k": 300, "max_detections": 100},
    }


def build_large(gen):
    m = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91)
    net = DetectorNet(m.backbone, m.head)
    return net, m.anchor_generator.aspect_ratios, coco91_labels()


def build_small(gen):
    features = SmallTwoMaps()
    chans, _ = out_channels(features)
    aspect_ratios = [[2, 3], [2, 3]]
    anchors = DefaultBoxGenerator(aspect_ratios, min_ratio=MIN_RATIO, max_ratio=MAX_RATIO)
    labels = coco81_labels()
    head = SSDLiteHead(chans, anchors.num_anchors_per_location(), len(labels), bn_layer)
    return DetectorNet(features, head), aspect_ratios, labels


# name -> (builder, opsets, seed offset)
MODELS = OrderedDict([
    ("ssdlite320_mobilenet_v3_large", (build_large, [13], 0)),
    ("ssdlite320_mobilenet_v3_small_2fm", (build_small, [17, 11, 9], 1)),
])
UNFOLDED_OPSETS = {11}  # exported with do_constant_folding=False


def export_one(net, spec, opset, path):
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=os.path.dirname(path))
    os.close(fd)
    try:
        torch.onnx.export(net, torch.zeros(1, 3, SIZE, SIZE), tmp, opset_version=opset,
                          input_names=["images"], output_names=["boxes", "scores"],
                          do_constant_folding=opset not in UNFOLDED_OPSETS)
        model = onnx.load(tmp)
        prop = model.metadata_props.add()
        prop.key = "vedge.detector"
        prop.value = json.dumps(spec, separators=(",", ":"))
        onnx.checker.check_model(model)
        onnx.save(model, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_npy(path, arr):
    fd, tmp = tempfile.mkstemp(suffix=".npy", dir=os.path.dirname(path))
    with os.fdopen(fd, "wb") as f:
        np.save(f, arr)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    with open(os.path.abspath(__file__), "rb") as f:
        stamp = hashlib.sha256(f.read()).hexdigest()[:16] + " seed=%d torch=%s tv=%s" % (
            args.seed, torch.__version__, torchvision.__version__)
    stamp_path = os.path.join(args.out, "export_ssdlite.stamp")
    files = ["%s_op%d.onnx" % (n, o) for n, (_, ops, _) in MODELS.items() for o in ops]
    files += ["%s.input.npy" % n for n in MODELS]
    if not args.force and os.path.exists(stamp_path) and \
            open(stamp_path).read().strip() == stamp and \
            all(os.path.exists(os.path.join(args.out, f)) for f in files):
        print("export_ssdlite: up to date in %s" % args.out)
        return 0

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name, (build, opsets, offset) in MODELS.items():
        torch.manual_seed(args.seed + offset)  # torchvision's own inits
        gen = torch.Generator().manual_seed(args.seed + offset)
        net, aspect_ratios, labels = build(gen)
        tame_init(net, gen)
        reestimate_bn(net, gen)
        _, grids = out_channels(net.features)
        spec = detector_spec(labels, grids, aspect_ratios)
        for opset in opsets:
            path = os.path.join(args.out, "%s_op%d.onnx" % (name, opset))
            export_one(net, spec, opset, path)
            print("export_ssdlite: wrote %s" % path)
        x = torch.rand(1, 3, SIZE, SIZE, generator=gen) * 2 - 1
        save_npy(os.path.join(args.out, "%s.input.npy" % name), x.numpy().astype(np.float32))

    with open(stamp_path, "w") as f:
        f.write(stamp + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
