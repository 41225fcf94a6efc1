# observers_numpy.py: an independent NumPy reference of the entropy (KL) and
# MSE calibration ranges, written from the definitions in
# tools/quantize/observers.h (not from its C++). Used by
# tests/test_quant_observers.cpp.
#   usage: observers_numpy.py VALUES.f32 BINS  ->  JSON on stdout:
#   {"bin_width": w, "entropy": [lo, hi], "mse": [lo, hi]}
# VALUES.f32: raw little-endian float32 values. Needs only NumPy.
import json
import math
import sys

import numpy as np


def signed_histogram(x, bins):
    """2*bins bins over [-R, R), R the smallest power of two >= max |x|."""
    m = float(np.max(np.abs(x)))
    f, e = math.frexp(m)
    r = m if f == 0.5 else math.ldexp(1.0, e)
    idx = np.floor(x.astype(np.float64) * (bins / r) + bins).astype(np.int64)
    idx = np.clip(idx, 0, 2 * bins - 1)
    return np.bincount(idx, minlength=2 * bins).astype(np.float64), r


def clip_to_data(lo, hi, x):
    lo0, hi0 = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    return [min(max(lo, lo0), 0.0), max(min(hi, hi0), 0.0)]


def entropy_range(x, bins):
    h2, r = signed_histogram(x, bins)
    w = r / bins
    h = h2[bins:] + h2[:bins][::-1]  # |x| histogram
    h[0] -= np.count_nonzero(x == 0)  # exact zeros are left out
    if not np.any(h > 0):
        return [0.0, 0.0]
    m = int(np.nonzero(h)[0][-1]) + 1
    levels = 256 if (x.min() >= 0 or x.max() <= 0) else 128
    if m <= levels:
        t = float(np.max(np.abs(x)))
        return clip_to_data(-t, t, x)
    kls = {}
    for i in range(levels, m + 1):
        p = h[:i].copy()
        p[-1] += h[i:].sum()
        edges = (np.arange(levels + 1) * i) // levels
        chunk = np.repeat(np.arange(levels), np.diff(edges))
        sums = np.bincount(chunk, weights=h[:i], minlength=levels)
        used = np.bincount(chunk, weights=(p > 0).astype(np.float64), minlength=levels)
        q = np.where(p > 0, sums[chunk] / np.maximum(used[chunk], 1), 0.0)
        if q.sum() == 0:  # no value below the threshold
            continue
        pn, qn = p / p.sum(), q / q.sum()
        qn = np.where((pn > 0) & (qn == 0), 1e-4, qn)
        qn = qn / qn.sum()
        pos = pn > 0
        kls[i] = float(np.sum(pn[pos] * np.log(pn[pos] / qn[pos])))
    best_kl = min(kls.values())
    best_i = min(i for i, kl in kls.items() if kl <= best_kl + 1e-9)
    t = best_i * w
    return clip_to_data(-t, t, x)


def mse_range(x, bins):
    h, r = signed_histogram(x, bins)
    w = r / bins
    centre = np.arange(2 * bins) - bins + 0.5  # bin centres in units of w
    nz = np.nonzero(h)[0]
    ka_max, kb_max = max(0, bins - int(nz[0])), max(0, int(nz[-1]) - bins + 1)
    n = h.sum() - np.count_nonzero(x == 0)  # values with a rounding error
    best, best_ab = math.inf, (0, 0)
    kb = np.arange(kb_max + 1)
    # clipping error above b = kb (all kb at once) and the count clipped there
    above = centre[None, :] > kb[:, None]
    err_hi = np.sum(np.where(above, h * (centre[None, :] - kb[:, None]) ** 2, 0.0), axis=1)
    n_hi = np.sum(np.where(above, h, 0.0), axis=1)
    for ka in range(ka_max + 1):
        below = centre < -ka
        err_lo = float(np.sum(h[below] * (centre[below] + ka) ** 2))
        n_lo = float(np.sum(h[below]))
        s = (ka + kb) / 255.0
        e = (n - n_lo - n_hi) * s * s / 12.0 + err_lo + err_hi
        k = int(np.argmin(e))
        if e[k] < best:
            best, best_ab = float(e[k]), (ka, k)
    return clip_to_data(-best_ab[0] * w, best_ab[1] * w, x)


def main():
    x = np.fromfile(sys.argv[1], dtype="<f4")
    bins = int(sys.argv[2])
    _, r = signed_histogram(x, bins)
    print(json.dumps({"bin_width": r / bins, "entropy": entropy_range(x, bins),
                      "mse": mse_range(x, bins)}))


if __name__ == "__main__":
    main()
