// voc_eval.cpp: Pascal VOC AP per class and mean (semantics in voc_eval.h).
// Depends on data/dataset.h, tools/eval/coco_eval.h (box IoU) and
// runtime/error.h only.
#include "tools/eval/voc_eval.h"

#include <algorithm>
#include <limits>
#include <map>
#include <numeric>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "tools/eval/coco_eval.h"

namespace vedge {

double voc_ap(const std::vector<double>& rec, const std::vector<double>& prec, bool eleven_point) {
  if (eleven_point) {
    double ap = 0;
    for (int i = 0; i <= 10; ++i) {
      double t = i * 0.1, p = 0;  // numpy.arange(0, 1.1, 0.1)
      for (size_t j = 0; j < rec.size(); ++j)
        if (rec[j] >= t) p = std::max(p, prec[j]);
      ap += p / 11;
    }
    return ap;
  }
  // Sentinels (0, 0) and (1, 0); precision envelope from the right; sum the
  // rectangles where recall changes.
  std::vector<double> r{0}, p{0};
  r.insert(r.end(), rec.begin(), rec.end());
  p.insert(p.end(), prec.begin(), prec.end());
  r.push_back(1);
  p.push_back(0);
  for (size_t i = p.size() - 1; i > 0; --i) p[i - 1] = std::max(p[i - 1], p[i]);
  double ap = 0;
  for (size_t i = 1; i < r.size(); ++i)
    if (r[i] != r[i - 1]) ap += (r[i] - r[i - 1]) * p[i];
  return ap;
}

VocEvalResult evaluate_voc(const Dataset& gt, const std::vector<EvalDetection>& dets, const VocEvalOptions& o) {
  VEDGE_CHECK(!gt.annotations.empty(), gt.source, ": dataset has no boxes");
  VocEvalResult res;
  res.options = o;
  std::vector<DatasetCategory> cats = gt.categories;
  std::sort(cats.begin(), cats.end(),
            [](const DatasetCategory& x, const DatasetCategory& y) { return x.id < y.id; });
  // (category, image) -> ground-truth indices.
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> boxes;
  for (size_t i = 0; i < gt.annotations.size(); ++i)
    boxes[{gt.annotations[i].category_id, gt.annotations[i].image_id}].push_back(i);
  std::map<int64_t, std::vector<size_t>> by_cat;
  for (size_t i = 0; i < dets.size(); ++i) by_cat[dets[i].category_id].push_back(i);

  double sum = 0;
  int counted = 0;
  for (const DatasetCategory& cat : cats) {
    VocClassResult c;
    c.category_id = cat.id;
    c.name = cat.name;
    for (const DatasetAnnotation& a : gt.annotations)
      c.num_gt += a.category_id == cat.id && !a.ignore && !a.iscrowd;
    std::vector<size_t> order = by_cat[cat.id];
    c.num_det = static_cast<int>(order.size());
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return dets[x].score > dets[y].score; });
    std::map<size_t, bool> taken;
    double tp = 0, fp = 0;
    for (size_t di : order) {
      const EvalDetection& d = dets[di];
      auto it = boxes.find({cat.id, d.image_id});
      double best = -std::numeric_limits<double>::infinity();
      size_t best_g = 0;
      if (it != boxes.end())
        for (size_t g : it->second) {
          double v = coco_iou(d.bbox, gt.annotations[g].bbox, false);
          if (v > best) best = v, best_g = g;
        }
      if (best > o.iou_threshold) {
        const DatasetAnnotation& a = gt.annotations[best_g];
        if (a.ignore || a.iscrowd) continue;  // difficult: ignored
        if (!taken[best_g]) {
          taken[best_g] = true;
          tp += 1;
        } else {
          fp += 1;
        }
      } else {
        fp += 1;
      }
      if (c.num_gt > 0) {
        c.recall.push_back(tp / c.num_gt);
        c.precision.push_back(tp / std::max(tp + fp, std::numeric_limits<double>::epsilon()));
      }
    }
    if (c.num_gt > 0) {
      c.ap = voc_ap(c.recall, c.precision, o.eleven_point);
      sum += c.ap;
      ++counted;
    }
    res.classes.push_back(std::move(c));
  }
  res.map = counted ? sum / counted : -1;
  return res;
}

nlohmann::json voc_eval_to_json(const VocEvalResult& r) {
  nlohmann::json j;
  j["metric"] = "voc";
  j["interpolation"] = r.options.eleven_point ? "11-point" : "all-point";
  j["iou_threshold"] = r.options.iou_threshold;
  j["map"] = r.map;
  j["classes"] = nlohmann::json::array();
  for (const VocClassResult& c : r.classes)
    j["classes"].push_back({{"category_id", c.category_id},
                            {"name", c.name},
                            {"ground_truth", c.num_gt},
                            {"detections", c.num_det},
                            {"ap", c.ap},
                            {"recall", c.recall},
                            {"precision", c.precision}});
  return j;
}

}  // namespace vedge
