// coco_eval.cpp: COCO box evaluation (semantics in coco_eval.h): per image
// and category greedy matching at each IoU threshold and area range, then
// per category precision / recall accumulated over images. Depends on
// data/dataset.h and runtime/error.h only.
#include "tools/eval/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>

#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace vedge {
namespace {

constexpr int kT = 10, kR = 101, kA = 4, kM = 3;
constexpr int kMaxDets[kM] = {1, 10, 100};
constexpr double kAreaLo[kA] = {0, 0, 32.0 * 32.0, 96.0 * 96.0};
constexpr double kAreaHi[kA] = {1e10, 32.0 * 32.0, 96.0 * 96.0, 1e10};

// numpy.linspace(lo, hi, n): i * ((hi - lo) / (n - 1)) + lo, the last one
// exactly hi. Matching numpy bit for bit matters: the thresholds are
// compared with ratios such as 3/100.
std::vector<double> linspace(double lo, double hi, int n) {
  std::vector<double> v(n);
  double step = (hi - lo) / (n - 1);
  for (int i = 0; i < n; ++i) v[i] = i * step + lo;
  v[n - 1] = hi;
  return v;
}

// The detections and ground truth of one image and one category.
struct Cell {
  std::vector<size_t> gt, dt;  // indices into annotations / detections; dt sorted, <= 100
  std::vector<double> iou;     // dt.size() x gt.size()
};

// evaluateImg for one cell and area range, in the sorted ground-truth order.
struct CellEval {
  std::vector<double> scores;             // per detection, descending
  std::vector<uint8_t> matched, ignored;  // kT x detections
  std::vector<uint8_t> gt_ignored;        // per ground truth
};

CellEval evaluate_cell(const Cell& c, const Dataset& gt, const std::vector<EvalDetection>& dets, int a,
                       const std::vector<double>& iou_thr) {
  const size_t G = c.gt.size(), D = c.dt.size();
  std::vector<uint8_t> ig(G);
  for (size_t g = 0; g < G; ++g) {
    const DatasetAnnotation& ann = gt.annotations[c.gt[g]];
    ig[g] = ann.iscrowd || ann.area < kAreaLo[a] || ann.area > kAreaHi[a];
  }
  std::vector<size_t> order(G);  // non-ignored first, stable
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return ig[x] < ig[y]; });

  CellEval e;
  e.gt_ignored.resize(G);
  for (size_t g = 0; g < G; ++g) e.gt_ignored[g] = ig[order[g]];
  e.scores.resize(D);
  for (size_t d = 0; d < D; ++d) e.scores[d] = dets[c.dt[d]].score;
  e.matched.assign(kT * D, 0);
  e.ignored.assign(kT * D, 0);
  std::vector<uint8_t> gt_taken(G);
  for (int t = 0; t < kT; ++t) {
    std::fill(gt_taken.begin(), gt_taken.end(), 0);
    for (size_t d = 0; d < D; ++d) {
      double best = std::min(iou_thr[t], 1 - 1e-10);
      long m = -1;
      for (size_t g = 0; g < G; ++g) {
        bool crowd = gt.annotations[c.gt[order[g]]].iscrowd;
        if (gt_taken[g] && !crowd) continue;
        // Sorted order: once a real match exists, ignored ground truth can't replace it.
        if (m > -1 && !e.gt_ignored[m] && e.gt_ignored[g]) break;
        double v = c.iou[d * G + order[g]];
        if (v < best) continue;
        best = v;
        m = static_cast<long>(g);
      }
      if (m == -1) continue;
      e.matched[t * D + d] = 1;
      e.ignored[t * D + d] = e.gt_ignored[m];
      gt_taken[m] = 1;
    }
    for (size_t d = 0; d < D; ++d) {
      const BoxXYWH& b = dets[c.dt[d]].bbox;
      double area = b.w * b.h;
      if (!e.matched[t * D + d] && (area < kAreaLo[a] || area > kAreaHi[a])) e.ignored[t * D + d] = 1;
    }
  }
  return e;
}

double mean_valid(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (x > -1) s += x, ++n;
  return n ? s / n : -1;
}

}  // namespace

const std::array<const char*, 12> CocoEvalResult::kStatNames = {
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};

double coco_iou(const BoxXYWH& d, const BoxXYWH& g, bool gt_is_crowd) {
  double w = std::min(d.x + d.w, g.x + g.w) - std::max(d.x, g.x);
  if (w <= 0) return 0;
  double h = std::min(d.y + d.h, g.y + g.h) - std::max(d.y, g.y);
  if (h <= 0) return 0;
  double inter = w * h;
  double uni = gt_is_crowd ? d.w * d.h : d.w * d.h + g.w * g.h - inter;
  return inter / uni;
}

CocoEvalResult evaluate_coco(const Dataset& gt, const std::vector<EvalDetection>& dets) {
  VEDGE_CHECK(!gt.annotations.empty(), gt.source, ": dataset has no boxes");
  // Images and categories in ascending id order, as pycocotools sorts them.
  std::vector<size_t> img_order(gt.images.size()), cat_order(gt.categories.size());
  std::iota(img_order.begin(), img_order.end(), 0);
  std::iota(cat_order.begin(), cat_order.end(), 0);
  std::sort(img_order.begin(), img_order.end(),
            [&](size_t x, size_t y) { return gt.images[x].id < gt.images[y].id; });
  std::sort(cat_order.begin(), cat_order.end(),
            [&](size_t x, size_t y) { return gt.categories[x].id < gt.categories[y].id; });
  std::unordered_map<int64_t, size_t> img_rank, cat_rank;
  for (size_t i = 0; i < img_order.size(); ++i) img_rank[gt.images[img_order[i]].id] = i;
  for (size_t k = 0; k < cat_order.size(); ++k) cat_rank[gt.categories[cat_order[k]].id] = k;
  const int K = static_cast<int>(cat_order.size());

  // cells[k]: image rank -> cell, iterated in image order.
  std::vector<std::map<size_t, Cell>> cells(K);
  for (size_t i = 0; i < gt.annotations.size(); ++i) {
    const DatasetAnnotation& a = gt.annotations[i];
    cells[cat_rank.at(a.category_id)][img_rank.at(a.image_id)].gt.push_back(i);
  }
  std::vector<int> dets_per_cat(K);  // before the 100-per-image cut
  for (size_t i = 0; i < dets.size(); ++i) {
    auto ci = cat_rank.find(dets[i].category_id);
    auto ii = img_rank.find(dets[i].image_id);
    VEDGE_CHECK(ci != cat_rank.end() && ii != img_rank.end(), "detection ", i, ": image ", dets[i].image_id,
                " or category ", dets[i].category_id, " is not in ", gt.source);
    cells[ci->second][ii->second].dt.push_back(i);
    ++dets_per_cat[ci->second];
  }
  for (auto& per_cat : cells)
    for (auto& [rank, c] : per_cat) {
      std::stable_sort(c.dt.begin(), c.dt.end(),
                       [&](size_t x, size_t y) { return dets[x].score > dets[y].score; });
      if (c.dt.size() > static_cast<size_t>(kMaxDets[kM - 1])) c.dt.resize(kMaxDets[kM - 1]);
      c.iou.resize(c.dt.size() * c.gt.size());
      for (size_t d = 0; d < c.dt.size(); ++d)
        for (size_t g = 0; g < c.gt.size(); ++g) {
          const DatasetAnnotation& a = gt.annotations[c.gt[g]];
          c.iou[d * c.gt.size() + g] = coco_iou(dets[c.dt[d]].bbox, a.bbox, a.iscrowd);
        }
    }

  const std::vector<double> iou_thr = linspace(0.5, 0.95, kT), rec_thr = linspace(0.0, 1.0, kR);
  // precision[t][r][k][a][m], recall[t][k][a][m]; -1 where a category has no ground truth.
  std::vector<double> precision(static_cast<size_t>(kT) * kR * K * kA * kM, -1.0);
  std::vector<double> recall(static_cast<size_t>(kT) * K * kA * kM, -1.0);
  auto P = [&](int t, int r, int k, int a, int m) -> double& {
    return precision[(((static_cast<size_t>(t) * kR + r) * K + k) * kA + a) * kM + m];
  };
  auto Rc = [&](int t, int k, int a, int m) -> double& {
    return recall[((static_cast<size_t>(t) * K + k) * kA + a) * kM + m];
  };

  const double eps = std::numeric_limits<double>::epsilon();  // numpy.spacing(1)
  for (int k = 0; k < K; ++k)
    for (int a = 0; a < kA; ++a) {
      std::vector<CellEval> evals;
      for (const auto& [rank, c] : cells[k]) evals.push_back(evaluate_cell(c, gt, dets, a, iou_thr));
      long npig = 0;
      for (const CellEval& e : evals)
        npig += std::count(e.gt_ignored.begin(), e.gt_ignored.end(), uint8_t{0});
      if (npig == 0) continue;
      for (int m = 0; m < kM; ++m) {
        // Concatenate each image's first maxDet detections, then sort by score (stable).
        struct Ref {
          double score;
          size_t cell, det, stride;
        };
        std::vector<Ref> all;
        for (size_t ci = 0; ci < evals.size(); ++ci) {
          size_t D = evals[ci].scores.size(), n = std::min<size_t>(D, kMaxDets[m]);
          for (size_t d = 0; d < n; ++d) all.push_back({evals[ci].scores[d], ci, d, D});
        }
        std::stable_sort(all.begin(), all.end(), [](const Ref& x, const Ref& y) { return x.score > y.score; });
        const size_t nd = all.size();
        std::vector<double> rc(nd), pr(nd);
        for (int t = 0; t < kT; ++t) {
          double tp = 0, fp = 0;
          for (size_t i = 0; i < nd; ++i) {
            const CellEval& e = evals[all[i].cell];
            size_t at = t * all[i].stride + all[i].det;
            if (!e.ignored[at]) (e.matched[at] ? tp : fp) += 1;
            rc[i] = tp / npig;
            pr[i] = tp / (fp + tp + eps);
          }
          Rc(t, k, a, m) = nd ? rc[nd - 1] : 0;
          for (size_t i = nd; i-- > 1;)
            if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          for (int r = 0; r < kR; ++r) {
            size_t idx = std::lower_bound(rc.begin(), rc.end(), rec_thr[r]) - rc.begin();
            P(t, r, k, a, m) = idx < nd ? pr[idx] : 0;
          }
        }
      }
    }

  // pycocotools' summarize(): means over the valid (> -1) entries of a slice.
  auto ap = [&](int t_only, int a, int m) {
    std::vector<double> v;
    for (int t = 0; t < kT; ++t)
      if (t_only < 0 || t == t_only)
        for (int r = 0; r < kR; ++r)
          for (int k = 0; k < K; ++k) v.push_back(P(t, r, k, a, m));
    return mean_valid(v);
  };
  auto ar = [&](int a, int m) {
    std::vector<double> v;
    for (int t = 0; t < kT; ++t)
      for (int k = 0; k < K; ++k) v.push_back(Rc(t, k, a, m));
    return mean_valid(v);
  };
  CocoEvalResult res;
  res.stats = {ap(-1, 0, 2), ap(0, 0, 2), ap(5, 0, 2), ap(-1, 1, 2), ap(-1, 2, 2), ap(-1, 3, 2),
               ar(0, 0),     ar(0, 1),    ar(0, 2),    ar(1, 2),     ar(2, 2),     ar(3, 2)};
  res.recall_thresholds = rec_thr;
  res.num_images = static_cast<int>(gt.images.size());
  res.num_det = static_cast<int>(dets.size());
  for (int k = 0; k < K; ++k) {
    CocoClassResult c;
    const DatasetCategory& cat = gt.categories[cat_order[k]];
    c.category_id = cat.id;
    c.name = cat.name;
    c.num_det = dets_per_cat[k];
    for (const auto& [rank, cell] : cells[k])
      for (size_t g : cell.gt) c.num_gt += !gt.annotations[g].iscrowd;
    res.num_gt += c.num_gt;
    std::vector<double> all, at50, at75, rec;
    for (int t = 0; t < kT; ++t) {
      rec.push_back(Rc(t, k, 0, 2));
      for (int r = 0; r < kR; ++r) {
        all.push_back(P(t, r, k, 0, 2));
        if (t == 0) at50.push_back(P(t, r, k, 0, 2));
        if (t == 5) at75.push_back(P(t, r, k, 0, 2));
      }
    }
    c.ap = mean_valid(all);
    c.ap50 = mean_valid(at50);
    c.ap75 = mean_valid(at75);
    c.ar100 = mean_valid(rec);
    if (c.ap > -1) c.pr = at50;
    res.classes.push_back(std::move(c));
  }
  return res;
}

std::string CocoEvalResult::summary() const {
  static const char* kIou[12] = {"0.50:0.95", "0.50", "0.75", "0.50:0.95", "0.50:0.95", "0.50:0.95",
                                 "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95"};
  static const char* kArea[12] = {"all", "all", "all", "small", "medium", "large",
                                  "all", "all", "all", "small", "medium", "large"};
  static const int kDets[12] = {100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100};
  std::string out;
  char line[160];
  for (int i = 0; i < 12; ++i) {
    bool is_ap = i < 6;
    std::snprintf(line, sizeof line, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                  is_ap ? "Average Precision" : "Average Recall", is_ap ? "(AP)" : "(AR)", kIou[i], kArea[i],
                  kDets[i], stats[i]);
    out += line;
  }
  return out;
}

nlohmann::json coco_eval_to_json(const CocoEvalResult& r) {
  nlohmann::json j;
  j["metric"] = "coco";
  for (size_t i = 0; i < r.stats.size(); ++i) j["stats"][CocoEvalResult::kStatNames[i]] = r.stats[i];
  j["images"] = r.num_images;
  j["ground_truth"] = r.num_gt;
  j["detections"] = r.num_det;
  j["recall_thresholds"] = r.recall_thresholds;
  j["classes"] = nlohmann::json::array();
  for (const CocoClassResult& c : r.classes)
    j["classes"].push_back({{"category_id", c.category_id},
                            {"name", c.name},
                            {"ground_truth", c.num_gt},
                            {"detections", c.num_det},
                            {"ap", c.ap},
                            {"ap50", c.ap50},
                            {"ap75", c.ap75},
                            {"ar100", c.ar100},
                            {"pr_iou50", c.pr}});
  return j;
}

}  // namespace vedge
