// nms.cpp: candidate selection and greedy NMS (see nms.h).
// Depends on the standard library, error.h and fast_math.h only.
#include "runtime/nms.h"

#include <climits>
#include <cmath>
#include <cstring>

#include "runtime/error.h"
#include "runtime/fast_math.h"

namespace vedge {
namespace {

using detail::comes_first;
using fast_exp::exp_nonpositive;

inline void push(std::vector<Candidate>& out, float score, int64_t anchor, int c) {
  Candidate k;
  k.score = score;
  k.anchor = static_cast<int32_t>(anchor);
  k.class_id = c;
  out.push_back(k);
}

// Largest of n floats (-inf when n == 0). Compares order-preserving integer
// keys of the bits (negative floats get their magnitude bits flipped), which
// vectorizes where a float compare would not without -ffast-math.
inline float max_of(const float* v, int n) {
  if (n <= 0) return -INFINITY;
  int32_t m = INT32_MIN;
  for (int i = 0; i < n; ++i) {
    int32_t b;
    std::memcpy(&b, v + i, 4);
    const int32_t k = b ^ ((b >> 31) & 0x7fffffff);
    m = k > m ? k : m;
  }
  const int32_t b = m ^ ((m >> 31) & 0x7fffffff);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

void filter_softmax(const float* scores, int64_t A, int C, int bg, float t,
                    std::vector<Candidate>& out, std::vector<float>& e) {
  // Two bounds avoid any exp() on most anchors. With S the softmax
  // denominator and m the largest logit, p_c = exp(l_c - m) / S and S >= 1,
  // so p_c > t needs l_c - m > log(t); and S >= exp(l_c - m) + exp(l_bg - m),
  // so p_c > t needs l_c - l_bg > log(t / (1 - t)).
  const bool all = !(t > 0.f);
  const float log_t = all ? -INFINITY : std::log(t);
  const float logit_t = all ? -INFINITY : std::log(t / (1.f - t));
  const bool has_bg = bg >= 0 && bg < C;
  e.resize(static_cast<size_t>(C));
  for (int64_t a = 0; a < A; ++a) {
    const float* l = scores + a * C;
    const float lb = has_bg ? l[bg] : -INFINITY;
    const float mf = has_bg ? std::max(max_of(l, bg), max_of(l + bg + 1, C - bg - 1)) : max_of(l, C);
    const float m = std::max(mf, lb);
    if (!(mf - m > log_t) || !(mf - lb > logit_t)) continue;
    for (int c = 0; c < C; ++c) e[c] = exp_nonpositive(l[c] - m);
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      s0 += e[c];
      s1 += e[c + 1];
      s2 += e[c + 2];
      s3 += e[c + 3];
    }
    for (; c < C; ++c) s0 += e[c];
    const float inv = 1.f / ((s0 + s1) + (s2 + s3));
    for (c = 0; c < C; ++c) {
      if (c == bg) continue;
      const float p = e[c] * inv;
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
  s.pos.assign(s.counts.begin(), s.counts.end() - 1);
  for (const Candidate& c : out) s.tmp[static_cast<size_t>(s.pos[c.class_id]++)] = c;
  out.clear();
  for (int c = 0; c < C; ++c) {
    auto b = s.tmp.begin() + s.counts[c], e = s.tmp.begin() + s.counts[c + 1];
    if (static_cast<size_t>(e - b) > k) {
      std::nth_element(b, b + static_cast<std::ptrdiff_t>(k), e, comes_first);
      e = b + static_cast<std::ptrdiff_t>(k);
    }
    out.insert(out.end(), b, e);
  }
}

}  // namespace

void select_candidates(const float* scores, int64_t num_anchors, int num_classes,
                       const ScoreFilter& f, std::vector<Candidate>& out,
                       SelectScratch* scratch, bool sort) {
  VEDGE_CHECK(num_anchors >= 0 && num_classes > 0, "select_candidates: bad score shape ",
              num_anchors, "x", num_classes);
  SelectScratch local;
  SelectScratch& s = scratch ? *scratch : local;
  out.clear();
  const int bg = f.background;
  switch (f.activation) {
    case ScoreActivation::Softmax:
      filter_softmax(scores, num_anchors, num_classes, bg, f.threshold, out, s.exps);
      break;
    case ScoreActivation::Sigmoid: filter_sigmoid(scores, num_anchors, num_classes, bg, f.threshold, out); break;
    case ScoreActivation::None: filter_none(scores, num_anchors, num_classes, bg, f.threshold, out); break;
  }
  if (f.top_k > 0 && out.size() > static_cast<size_t>(f.top_k)) {
    const size_t k = static_cast<size_t>(f.top_k);
    if (f.per_class_top_k && num_classes > 1) {
      top_k_per_class(out, num_classes, k, s);
    } else {
      std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), comes_first);
      out.resize(k);
    }
  }
  if (sort) std::sort(out.begin(), out.end(), comes_first);
}

float box_iou(const float* a, const float* b) {
  const float iw = std::min(a[2], b[2]) - std::max(a[0], b[0]);
  const float ih = std::min(a[3], b[3]) - std::max(a[1], b[1]);
  if (!(iw > 0.f) || !(ih > 0.f)) return 0.f;
  const float inter = iw * ih;
  const float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return uni > 0.f ? inter / uni : 0.f;
}

namespace detail {

void nms_begin(const std::vector<Candidate>& cands, const NmsOptions& o, NmsScratch& s,
               std::vector<Candidate>& kept) {
  kept.clear();
  s.next.clear();
  int32_t max_class = 0;
  if (!o.class_agnostic)
    for (const Candidate& c : cands) max_class = std::max(max_class, c.class_id);
  s.head.assign(static_cast<size_t>(max_class) + 1, -1);
}

void nms_offer(const Candidate& c, const NmsOptions& o, NmsScratch& s, std::vector<Candidate>& kept) {
  int32_t& head = s.head[o.class_agnostic ? 0 : static_cast<size_t>(c.class_id)];
  for (int32_t k = head; k >= 0; k = s.next[static_cast<size_t>(k)])
    if (box_iou(c.box, kept[static_cast<size_t>(k)].box) > o.iou_threshold) return;
  s.next.push_back(head);
  head = static_cast<int32_t>(kept.size());
  kept.push_back(c);
}

}  // namespace detail

void nms(const std::vector<Candidate>& sorted, const NmsOptions& o, std::vector<Candidate>& kept,
         NmsScratch* scratch) {
  NmsScratch local;
  NmsScratch& s = scratch ? *scratch : local;
  detail::nms_begin(sorted, o, s, kept);
  const size_t limit = o.max_detections > 0 ? static_cast<size_t>(o.max_detections) : sorted.size();
  for (const Candidate& c : sorted) {
    if (kept.size() >= limit) break;
    detail::nms_offer(c, o, s, kept);
  }
}

}  // namespace vedge
