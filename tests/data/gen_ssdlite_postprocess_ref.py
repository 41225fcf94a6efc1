#!/usr/bin/python3
# Reference for test_nms.cpp: torchvision 0.14's own SSDLite post-processing
# (softmax, per-class score threshold and top-k, BoxCoder decode with weights
# 10,10,5,5, clip, batched NMS, detections_per_img) on fixed random head
# outputs of ssdlite320_mobilenet_v3_large. Writes into OUTDIR:
#   boxes.npy  [3234,4]  the head's box regression (SSD offsets)
#   scores.npy [3234,91] the head's class logits
#   ref.npy    [K,6]     torchvision's detections: x1,y1,x2,y2 (pixels of the
#                        320x320 input), score, label
# Usage: /usr/bin/python3 gen_ssdlite_postprocess_ref.py OUTDIR
import os
import sys

import numpy as np
import torch
from torchvision.models.detection import ssdlite320_mobilenet_v3_large

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(0)
model = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91).eval()
captured = {}


def replace_head_outputs(module, inputs, output):
    # Random weights give near-uniform scores; use peaked random outputs
    # instead (background usually wins, some anchors are confident).
    anchors = output["cls_logits"].shape[1]
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(1, anchors, 91, generator=g) * 2.0
    logits[..., 0] += 3.0
    regression = torch.randn(1, anchors, 4, generator=g) * 0.7
    captured["cls_logits"], captured["bbox_regression"] = logits, regression
    return {"cls_logits": logits, "bbox_regression": regression}


model.head.register_forward_hook(replace_head_outputs)
model.score_thresh = 0.2
model.nms_thresh = 0.55
model.topk_candidates = 300
model.detections_per_img = 300
with torch.no_grad():
    det = model([torch.rand(3, 320, 320)])[0]
np.save(os.path.join(out_dir, "boxes.npy"), captured["bbox_regression"][0].numpy().astype(np.float32))
np.save(os.path.join(out_dir, "scores.npy"), captured["cls_logits"][0].numpy().astype(np.float32))
ref = np.concatenate([det["boxes"].numpy(), det["scores"].numpy()[:, None],
                      det["labels"].numpy()[:, None].astype(np.float32)], 1)
np.save(os.path.join(out_dir, "ref.npy"), ref.astype(np.float32))
