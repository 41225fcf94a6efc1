// nms.cpp: candidate selection and greedy NMS (see nms.h).
// Depends on the standard library and error.h only.
#include "runtime/nms.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace vedge {
namespace {

// Strict "comes first" order: higher score, then lower anchor, then lower class.
inline bool better(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.anchor != b.anchor) return a.anchor < b.anchor;
  return a.class_id < b.class_id;
}

inline void push(std::vector<Candidate>& out, float score, int64_t anchor, int c) {
  Candidate k;
  k.score = score;
  k.anchor = static_cast<int32_t>(anchor);
  k.class_id = c;
  out.push_back(k);
}

void filter_softmax(const float* scores, int64_t A, int C, int bg, float t,
                    std::vector<Candidate>& out) {
  // p_c = exp(l_c - m) / S with S >= 1, so p_c > t needs l_c - m > log(t):
  // anchors whose best foreground logit fails that bound cost no exp().
  const bool all = !(t > 0.f);
  const float log_t = all ? -INFINITY : std::log(t);
  for (int64_t a = 0; a < A; ++a) {
    const float* l = scores + a * C;
    float m = l[0], mf = -INFINITY;
    for (int c = 0; c < C; ++c) {
      m = std::max(m, l[c]);
      if (c != bg) mf = std::max(mf, l[c]);
    }
    if (!(mf - m > log_t)) continue;
    float sum = 0.f;
    for (int c = 0; c < C; ++c) sum += std::exp(l[c] - m);
    const float inv = 1.f / sum;
    for (int c = 0; c < C; ++c) {
      if (c == bg || !(l[c] - m > log_t)) continue;
      const float p = std::exp(l[c] - m) * inv;
      if (all || p > t) push(out, p, a, c);
    }
  }
}

void filter_sigmoid(const float* scores, int64_t A, int C, int bg, float t,
                    std::vector<Candidate>& out) {
  if (t >= 1.f) return;
  // sigmoid(l) > t  <=>  l > log(t / (1 - t)).
  const float lt = t > 0.f ? std::log(t / (1.f - t)) : -INFINITY;
  for (int64_t a = 0; a < A; ++a) {
    const float* l = scores + a * C;
    for (int c = 0; c < C; ++c) {
      if (c == bg || !(l[c] > lt)) continue;
      const float p = 1.f / (1.f + std::exp(-l[c]));
      if (p > t) push(out, p, a, c);
    }
  }
}

void filter_none(const float* scores, int64_t A, int C, int bg, float t,
                 std::vector<Candidate>& out) {
  for (int64_t a = 0; a < A; ++a) {
    const float* s = scores + a * C;
    for (int c = 0; c < C; ++c)
      if (c != bg && s[c] > t) push(out, s[c], a, c);
  }
}

// Keeps the top k of every class: counting sort by class into tmp, then
// nth_element inside each oversized class.
void top_k_per_class(std::vector<Candidate>& out, int C, size_t k, SelectScratch& s) {
  s.counts.assign(static_cast<size_t>(C) + 1, 0);
  bool over = false;
  for (const Candidate& c : out) ++s.counts[static_cast<size_t>(c.class_id) + 1];
  for (int c = 1; c <= C; ++c) over |= static_cast<size_t>(s.counts[c]) > k;
  if (!over) return;
  for (int c = 1; c <= C; ++c) s.counts[c] += s.counts[c - 1];  // counts[c] = start of class c
  s.tmp.resize(out.size());
  std::vector<int32_t> pos(s.counts.begin(), s.counts.end() - 1);
  for (const Candidate& c : out) s.tmp[pos[c.class_id]++] = c;
  out.clear();
  for (int c = 0; c < C; ++c) {
    auto b = s.tmp.begin() + s.counts[c], e = s.tmp.begin() + s.counts[c + 1];
    if (static_cast<size_t>(e - b) > k) {
      std::nth_element(b, b + static_cast<std::ptrdiff_t>(k), e, better);
      e = b + static_cast<std::ptrdiff_t>(k);
    }
    out.insert(out.end(), b, e);
  }
}

}  // namespace

void select_candidates(const float* scores, int64_t num_anchors, int num_classes,
                       const ScoreFilter& f, std::vector<Candidate>& out,
                       SelectScratch* scratch) {
  VEDGE_CHECK(num_anchors >= 0 && num_classes > 0, "select_candidates: bad score shape ",
              num_anchors, "x", num_classes);
  out.clear();
  const int bg = f.background;
  switch (f.activation) {
    case ScoreActivation::Softmax: filter_softmax(scores, num_anchors, num_classes, bg, f.threshold, out); break;
    case ScoreActivation::Sigmoid: filter_sigmoid(scores, num_anchors, num_classes, bg, f.threshold, out); break;
    case ScoreActivation::None: filter_none(scores, num_anchors, num_classes, bg, f.threshold, out); break;
  }
  if (f.top_k > 0 && out.size() > static_cast<size_t>(f.top_k)) {
    const size_t k = static_cast<size_t>(f.top_k);
    if (f.per_class_top_k && num_classes > 1) {
      SelectScratch local;
      top_k_per_class(out, num_classes, k, scratch ? *scratch : local);
    } else {
      std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), better);
      out.resize(k);
    }
  }
  std::sort(out.begin(), out.end(), better);
}

float box_iou(const float* a, const float* b) {
  const float iw = std::min(a[2], b[2]) - std::max(a[0], b[0]);
  const float ih = std::min(a[3], b[3]) - std::max(a[1], b[1]);
  if (!(iw > 0.f) || !(ih > 0.f)) return 0.f;
  const float inter = iw * ih;
  const float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return uni > 0.f ? inter / uni : 0.f;
}

void nms(const std::vector<Candidate>& sorted, const NmsOptions& o, std::vector<Candidate>& kept) {
  kept.clear();
  const size_t limit = o.max_detections > 0 ? static_cast<size_t>(o.max_detections) : sorted.size();
  for (const Candidate& c : sorted) {
    if (kept.size() >= limit) break;
    bool suppressed = false;
    for (const Candidate& k : kept) {
      if (!o.class_agnostic && k.class_id != c.class_id) continue;
      if (box_iou(c.box, k.box) > o.iou_threshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(c);
  }
}

}  // namespace vedge
