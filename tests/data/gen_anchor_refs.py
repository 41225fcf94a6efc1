#!/usr/bin/python3
# Generates tests/data/anchor_refs.txt: reference SSD anchors from
# torchvision 0.14's DefaultBoxGenerator (the generator SSDLite uses), for
# test_anchors.cpp. Run with the system Python that has torchvision:
#   /usr/bin/python3 tests/data/gen_anchor_refs.py > tests/data/anchor_refs.txt
# Output: per config a header line
#   config <name> <image_w> <image_h> <total_anchors>
# then sampled anchors "<index> <cx> <cy> <w> <h>" (every 11th and the last).
import torch
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator

CONFIGS = [
    # ssdlite320_mobilenet_v3_large: 6 maps at 320x320.
    dict(name="ssdlite320_large", image=(320, 320),
         grids=[(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)],
         kw=dict(aspect_ratios=[[2, 3]] * 6, min_ratio=0.2, max_ratio=0.95)),
    # A 2-map MobileNetV3-Small SSDLite head, torchvision's default ratios.
    dict(name="two_maps", image=(320, 320), grids=[(20, 20), (10, 10)],
         kw=dict(aspect_ratios=[[2], [2, 3]])),
    # Explicit scales and steps, no clipping, non-square input and grids
    # (grid sizes are (height, width) as torchvision takes them).
    dict(name="steps_scales", image=(320, 240), grids=[(15, 20), (8, 10), (4, 5)],
         kw=dict(aspect_ratios=[[2], [3], [2, 3]], scales=[0.1, 0.35, 0.7, 1.1],
                 steps=[16, 30, 60], clip=False)),
]

for c in CONFIGS:
    gen = DefaultBoxGenerator(**c["kw"])
    w, h = c["image"]
    boxes = gen._grid_default_boxes([list(g) for g in c["grids"]], [h, w], dtype=torch.float32)
    n = boxes.shape[0]
    print(f"config {c['name']} {w} {h} {n}")
    for i in list(range(0, n, 11)) + ([n - 1] if (n - 1) % 11 else []):
        print(i, " ".join("%.9g" % float(v) for v in boxes[i]))
