#!/usr/bin/env node
// ort_detect.js: an independent UltraFace face detector for the tests: runs the
// model with ONNX Runtime on an already preprocessed input tensor (.npy,
// [1,3,H,W]) and decodes it here, in plain JS, with the layout of the model's
// training code (see ../shared/README.md):
//   anchors: strides 8/16/32/64, feature maps ceil(W/s) x ceil(H/s), centres
//     ((i+0.5)/fm_w, (j+0.5)/fm_h), sizes min_box/W x min_box/H, clamped to
//     [0,1], ordered map -> row -> column -> min box;
//   decode: centre form with variances 0.1 (centre) and 0.2 (size);
//   score = scores[:, 1] (already softmax-ed in the graph) > threshold;
//   greedy NMS (IoU > iou-thresh suppresses), highest score first.
// Boxes are mapped to original-image pixels for a stretched resize and
// clipped to the image.
//
//   node ort_detect.js MODEL --input x.npy --image-size W H
//        [--score-thresh 0.7] [--iou-thresh 0.3] [--threads N]
// Prints {"detections":[{"label":"face","score":s,"bbox":[x1,y1,x2,y2]},...]}.
// Depends on onnxruntime-node and npy.js only; shares no code with the runtime.
'use strict';

const path = require('path');
const fs = require('fs');
const { readNpy } = require('./npy');

const STRIDES = [8, 16, 32, 64];
const MIN_BOXES = [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]];
const CENTER_VARIANCE = 0.1;
const SIZE_VARIANCE = 0.2;

function clamp01(v) {
  return Math.min(1, Math.max(0, v));
}

// [cx, cy, w, h] normalized, in the model's output order.
function ultrafaceAnchors(inW, inH) {
  const anchors = [];
  STRIDES.forEach((s, k) => {
    const fw = Math.ceil(inW / s);
    const fh = Math.ceil(inH / s);
    for (let j = 0; j < fh; j++) {
      for (let i = 0; i < fw; i++) {
        for (const m of MIN_BOXES[k]) {
          anchors.push([clamp01((i + 0.5) / fw), clamp01((j + 0.5) / fh), clamp01(m / inW), clamp01(m / inH)]);
        }
      }
    }
  });
  return anchors;
}

function iou(a, b) {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const area = (r) => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

function decode(boxes, scores, anchors, numClasses, opt) {
  const cand = [];
  for (let a = 0; a < anchors.length; a++) {
    const score = scores[a * numClasses + 1];
    if (!(score > opt.scoreThresh)) continue;
    const [acx, acy, aw, ah] = anchors[a];
    const l = boxes.subarray(a * 4, a * 4 + 4);
    const cx = acx + l[0] * CENTER_VARIANCE * aw;
    const cy = acy + l[1] * CENTER_VARIANCE * ah;
    const w = aw * Math.exp(l[2] * SIZE_VARIANCE);
    const h = ah * Math.exp(l[3] * SIZE_VARIANCE);
    const px = (v) => Math.min(opt.imageW, Math.max(0, v * opt.imageW));
    const py = (v) => Math.min(opt.imageH, Math.max(0, v * opt.imageH));
    cand.push({ score, bbox: [px(cx - w / 2), py(cy - h / 2), px(cx + w / 2), py(cy + h / 2)] });
  }
  cand.sort((x, y) => y.score - x.score);
  const kept = [];
  for (const c of cand) {
    if (kept.every((k) => iou(k.bbox, c.bbox) <= opt.iouThresh)) kept.push(c);
  }
  return kept.map((k) => ({ label: 'face', score: k.score, bbox: k.bbox }));
}

function parseArgs(argv) {
  const a = { model: null, input: null, imageW: 0, imageH: 0, scoreThresh: 0.7, iouThresh: 0.3, threads: 1 };
  const num = (flag, v) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n)) throw new Error(`${flag}: expected a number, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--input') a.input = argv[++i];
    else if (k === '--image-size') {
      a.imageW = num(k, argv[++i]);
      a.imageH = num(k, argv[++i]);
    } else if (k === '--score-thresh') a.scoreThresh = num(k, argv[++i]);
    else if (k === '--iou-thresh') a.iouThresh = num(k, argv[++i]);
    else if (k === '--threads') a.threads = num(k, argv[++i]);
    else if (k.startsWith('--')) throw new Error(`unknown flag ${k}`);
    else a.model = k;
  }
  if (!a.model || !a.input || !(a.imageW > 0) || !(a.imageH > 0)) {
    throw new Error('usage: node ort_detect.js MODEL --input x.npy --image-size W H ' +
      '[--score-thresh 0.7] [--iou-thresh 0.3] [--threads N]');
  }
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(a.model)) throw new Error(`${a.model}: no such file`);
  const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  const x = readNpy(a.input);
  if (x.ort !== 'float32' || x.shape.length !== 4 || x.shape[0] !== 1 || x.shape[1] !== 3) {
    throw new Error(`${a.input}: expected a float32 [1,3,H,W] tensor, got ${x.dtype} [${x.shape}]`);
  }
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all',
    intraOpNumThreads: a.threads, interOpNumThreads: 1, logSeverityLevel: 3,
  });
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) });
  const inH = x.shape[2];
  const inW = x.shape[3];
  const anchors = ultrafaceAnchors(inW, inH);
  const boxes = out.boxes;
  const scores = out.scores;
  if (!boxes || !scores) throw new Error(`${a.model}: expected outputs 'boxes' and 'scores'`);
  if (boxes.dims[1] !== anchors.length || scores.dims[1] !== anchors.length) {
    throw new Error(`${a.model}: ${boxes.dims[1]} boxes for ${anchors.length} anchors`);
  }
  const dets = decode(boxes.data, scores.data, anchors, scores.dims[2],
    { scoreThresh: a.scoreThresh, iouThresh: a.iouThresh, imageW: a.imageW, imageH: a.imageH });
  console.log(JSON.stringify({ detections: dets }));
}

main().catch((e) => {
  console.error(`ort_detect: error: ${e.message}`);
  process.exit(1);
});
