#!/usr/bin/python3
"""A second, independent COCO box evaluator in NumPy, written from
pycocotools' published definition (numpy.linspace thresholds, mergesort,
searchsorted 'left'), used by test_coco_eval.cpp to cross-check the C++
evaluator on large perturbed cases. Prints the 12 numbers as a JSON list.
Usage: coco_eval_numpy.py GT.json DETS.json. Needs only NumPy."""
import json
import sys
from collections import defaultdict

import numpy as np


def iou_matrix(d, g, crowd):
    # d: D x 4, g: G x 4 (x, y, w, h); crowd: G flags.
    if len(d) == 0 or len(g) == 0:
        return np.zeros((len(d), len(g)))
    dx2, dy2 = d[:, 0] + d[:, 2], d[:, 1] + d[:, 3]
    gx2, gy2 = g[:, 0] + g[:, 2], g[:, 1] + g[:, 3]
    w = np.minimum(dx2[:, None], gx2[None, :]) - np.maximum(d[:, 0][:, None], g[:, 0][None, :])
    h = np.minimum(dy2[:, None], gy2[None, :]) - np.maximum(d[:, 1][:, None], g[:, 1][None, :])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    da = (d[:, 2] * d[:, 3])[:, None]
    ga = (g[:, 2] * g[:, 3])[None, :]
    union = np.where(np.asarray(crowd, bool)[None, :], da, da + ga - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter > 0, inter / union, 0.0)


def main():
    gt = json.load(open(sys.argv[1]))
    dets = json.load(open(sys.argv[2]))
    img_ids = sorted(im["id"] for im in gt["images"])
    cat_ids = sorted(c["id"] for c in gt["categories"])
    iou_thrs = np.linspace(0.5, 0.95, 10)
    rec_thrs = np.linspace(0.0, 1.0, 101)
    areas = [[0, 1e10], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e10]]
    max_dets = [1, 10, 100]
    gts, dts = defaultdict(list), defaultdict(list)
    for a in gt["annotations"]:
        gts[a["image_id"], a["category_id"]].append(a)
    for d in dets:
        dts[d["image_id"], d["category_id"]].append(d)
    T, R, K, A, M = len(iou_thrs), len(rec_thrs), len(cat_ids), len(areas), len(max_dets)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k, cat in enumerate(cat_ids):
        for a, (lo, hi) in enumerate(areas):
            per_img = []
            for img in img_ids:
                g, d = gts[img, cat], dts[img, cat]
                if not g and not d:
                    continue
                g_ig = np.array([bool(x.get("iscrowd", 0)) or x["area"] < lo or x["area"] > hi for x in g], bool)
                g_order = np.argsort(g_ig, kind="mergesort")
                g = [g[i] for i in g_order]
                g_ig = g_ig[g_order]
                crowd = [bool(x.get("iscrowd", 0)) for x in g]
                d_order = np.argsort([-x["score"] for x in d], kind="mergesort")[:100]
                d = [d[i] for i in d_order]
                ious = iou_matrix(np.array([x["bbox"] for x in d], float).reshape(-1, 4),
                                  np.array([x["bbox"] for x in g], float).reshape(-1, 4), crowd)
                dm = np.zeros((T, len(d)), bool)
                di = np.zeros((T, len(d)), bool)
                for t, thr in enumerate(iou_thrs):
                    taken = np.zeros(len(g), bool)
                    for j in range(len(d)):
                        best, m = min(thr, 1 - 1e-10), -1
                        for i in range(len(g)):
                            if taken[i] and not crowd[i]:
                                continue
                            if m > -1 and not g_ig[m] and g_ig[i]:
                                break
                            if ious[j, i] < best:
                                continue
                            best, m = ious[j, i], i
                        if m > -1:
                            dm[t, j], di[t, j], taken[m] = True, g_ig[m], True
                d_out = np.array([x["bbox"][2] * x["bbox"][3] < lo or x["bbox"][2] * x["bbox"][3] > hi
                                  for x in d], bool)
                di |= ~dm & d_out[None, :]
                per_img.append((np.array([x["score"] for x in d], float), dm, di, g_ig))
            npig = sum(int(np.count_nonzero(~e[3])) for e in per_img)
            if npig == 0:
                continue
            for m, md in enumerate(max_dets):
                scores = np.concatenate([e[0][:md] for e in per_img])
                order = np.argsort(-scores, kind="mergesort")
                dm = np.concatenate([e[1][:, :md] for e in per_img], axis=1)[:, order]
                di = np.concatenate([e[2][:, :md] for e in per_img], axis=1)[:, order]
                tps = np.cumsum(dm & ~di, axis=1).astype(float)
                fps = np.cumsum(~dm & ~di, axis=1).astype(float)
                for t in range(T):
                    tp, fp = tps[t], fps[t]
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if len(tp) else 0
                    pr = np.maximum.accumulate(pr[::-1])[::-1]
                    idx = np.searchsorted(rc, rec_thrs, side="left")
                    q = np.zeros(R)
                    ok = idx < len(pr)
                    q[ok] = pr[idx[ok]]
                    precision[t, :, k, a, m] = q

    def mean(s):
        s = s[s > -1]
        return float(np.mean(s)) if s.size else -1.0

    stats = [mean(precision[:, :, :, 0, 2]), mean(precision[0, :, :, 0, 2]), mean(precision[5, :, :, 0, 2])]
    stats += [mean(precision[:, :, :, a, 2]) for a in (1, 2, 3)]
    stats += [mean(recall[:, :, 0, m]) for m in (0, 1, 2)]
    stats += [mean(recall[:, :, a, 2]) for a in (1, 2, 3)]
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
