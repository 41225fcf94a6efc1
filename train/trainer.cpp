// trainer.cpp: data preparation, model construction and the training loop
// with validation, early stopping and resumable checkpoints (see trainer.h).
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/load.h"
#include "data/synthetic.h"
#include "runtime/error.h"
#include "tools/common/progress.h"
#include "train/backbone_init.h"
#include "train/export.h"
#include "train/loader.h"
#include "train/loss.h"
#include "train/optim.h"
#include "train/validate.h"
#include "runtime/files.h"

namespace vedge {
namespace fs = std::filesystem;
namespace {

Dataset load_source(const DataSourceConfig& d, const char* role) {
  LoadOptions o;
  o.format = parse_dataset_format(d.format);
  o.split = d.split.empty() ? role : d.split;
  o.images_dir = d.images_dir;
  o.skip_bad = d.skip_bad;
  LoadReport report;
  Dataset ds = load_dataset(d.path, o, &report);
  if (report.skipped_images || report.skipped_boxes)
    std::fprintf(stderr, "vedge-train: %s: skipped %zu bad images and %zu bad boxes\n", d.path.c_str(),
                 report.skipped_images, report.skipped_boxes);
  return ds;
}

// Generates the synthetic train/val splits unless the stamp says they exist
// with the same settings.
void synthesize(const SyntheticConfig& s, const std::string& dir, bool progress, Dataset& train, Dataset& val) {
  std::ostringstream stamp;
  stamp << "shapes v1 train " << s.train_images << " val " << s.val_images << " size " << s.image_size
        << " seed " << s.seed << "\n";
  const std::string stamp_path = dir + "/shapes.stamp";
  fs::create_directories(dir);
  const bool fresh = fs::exists(stamp_path) && read_text_file(stamp_path) == stamp.str() &&
                     fs::exists(dir + "/train.json") && fs::exists(dir + "/val.json");
  if (!fresh) {
    if (progress) std::fprintf(stderr, "vedge-train: generating the synthetic shapes dataset in %s\n", dir.c_str());
    ShapesConfig c;
    c.width = c.height = s.image_size;
    // The generator's object sizes are for 320-pixel images; scale them down
    // for smaller ones.
    const double k = std::min(1.0, s.image_size / 320.0);
    c.small_min_size = std::max(4.0, c.small_min_size * k);
    c.min_size = std::max(c.small_min_size, c.min_size * k);
    c.max_size = std::max(c.min_size, std::min(c.max_size * k, (s.image_size - 4) / 1.42));
    c.num_images = s.train_images;
    c.seed = s.seed;
    generate_shapes(c, dir, "train");
    c.num_images = s.val_images;
    c.seed = mix_seed(s.seed, 0x7a1, 0);
    generate_shapes(c, dir, "val");
    write_text_file_atomic(stamp_path, stamp.str());
  }
  LoadOptions o;
  o.format = DatasetFormat::Coco;
  o.check_images = !fresh;
  train = load_dataset(dir + "/train.json", o);
  val = load_dataset(dir + "/val.json", o);
}

std::vector<torch::Tensor> module_params(torch::nn::Module& m) { return m.parameters(); }

void write_metrics(const std::string& path, const TrainState& s) {
  nlohmann::json j;
  j["epochs_completed"] = s.epoch;
  j["steps"] = s.step;
  j["best_map50"] = s.best_map50;
  j["best_epoch"] = s.best_epoch;
  j["stopped_early"] = s.stopped_early;
  j["epochs"] = nlohmann::json::array();
  for (const EpochMetrics& m : s.history)
    j["epochs"].push_back({{"epoch", m.epoch},
                           {"loss", m.loss},
                           {"map50", m.map50},
                           {"map", m.map},
                           {"images_per_second", m.images_per_second}});
  write_text_file_atomic(path, j.dump(1) + "\n");
}

}  // namespace

TrainingData prepare_training_data(const TrainConfig& cfg, const std::string& run_dir, bool progress) {
  TrainingData d;
  if (cfg.synthetic.enabled) {
    std::string dir = cfg.synthetic.dir.empty() ? run_dir + "/data" : cfg.synthetic.dir;
    synthesize(cfg.synthetic, dir, progress, d.train, d.val);
  } else {
    d.train = load_source(cfg.train_data, "train");
    d.val = load_source(cfg.val_data, "val");
  }
  VEDGE_CHECK(!d.train.images.empty(), d.train.source, ": the training set has no images");
  VEDGE_CHECK(!d.train.categories.empty(), d.train.source, ": the training set has no categories");
  std::vector<DatasetCategory> cats = d.train.categories;
  std::sort(cats.begin(), cats.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  d.labels.push_back("background");
  std::map<std::string, int64_t> class_of_name;
  for (const DatasetCategory& c : cats) {
    VEDGE_CHECK(!class_of_name.count(c.name), d.train.source, ": two categories are named '", c.name, "'");
    const int64_t k = static_cast<int64_t>(d.labels.size());
    d.labels.push_back(c.name);
    class_of_name[c.name] = k;
    d.train_class[c.id] = k;
  }
  for (const DatasetCategory& c : d.val.categories) {
    auto it = class_of_name.find(c.name);
    if (it != class_of_name.end()) d.val_category[it->second] = c.id;
  }
  VEDGE_CHECK(!d.val_category.empty(), d.val.source, ": no validation category matches a training category by name");
  return d;
}

LoaderOptions loader_options(const TrainConfig& cfg) {
  LoaderOptions lo;
  lo.batch_size = cfg.batch_size;
  lo.batches_per_epoch = cfg.steps_per_epoch;
  lo.workers = cfg.workers;
  lo.prefetch = cfg.prefetch;
  lo.seed = cfg.seed;
  lo.augment = cfg.augment_enabled;
  lo.augment_config = cfg.augment;
  return lo;
}

SSDLite build_model(const TrainConfig& cfg, size_t num_labels, bool apply_init) {
  torch::manual_seed(cfg.seed);
  ModelConfig mc = cfg.model;
  mc.num_classes = static_cast<int>(num_labels);
  SSDLite model(mc);
  if (apply_init && !cfg.init_tflite.empty()) init_backbone_from_tflite(model->backbone(), cfg.init_tflite, false);
  if (apply_init && !cfg.init_state_dict.empty())
    init_backbone_from_state_dict(model->backbone(), cfg.init_state_dict, false);
  return model;
}

void apply_freeze(SSDLite& model, const FreezeConfig& freeze, int64_t epoch) {
  const bool active = (freeze.backbone || freeze.blocks > 0) && (freeze.epochs == 0 || epoch < freeze.epochs);
  auto blocks = model->backbone_blocks();
  const size_t n = !active ? 0 : freeze.backbone ? blocks.size() : std::min(blocks.size(), size_t(freeze.blocks));
  for (torch::Tensor& p : model->backbone()->parameters()) p.requires_grad_(true);
  for (size_t i = 0; i < n; ++i) {
    for (torch::Tensor& p : blocks[i]->parameters()) p.requires_grad_(false);
    blocks[i]->eval();
  }
}

double train_step(SSDLite& model, torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params,
                  const Batch& batch, const SsdLossOptions& loss_options) {
  auto [boxes, scores] = model->forward(batch.images);
  SsdLoss loss = ssd_loss(boxes, scores, batch.labels, batch.offsets, loss_options);
  clear_gradients(params);
  loss.total.backward();
  optimizer.step();
  return loss.total.item<double>();
}

TrainResult train_detector(const TrainConfig& cfg, const TrainOptions& opt) {
  VEDGE_CHECK(!opt.out_dir.empty(), "train: an output folder is required");
  const std::string ckpt_dir = opt.out_dir + "/checkpoints";
  const std::string last_path = ckpt_dir + "/last.pt", best_path = ckpt_dir + "/best.pt";
  fs::create_directories(ckpt_dir);
  const bool resuming = opt.resume && fs::exists(last_path);
  VEDGE_CHECK(opt.resume || !fs::exists(last_path), last_path,
              ": a run already exists in this folder (pass --resume to continue it, or pick another --out)");
  write_text_file_atomic(opt.out_dir + "/config.yaml", cfg.yaml);

  at::set_num_threads(cfg.threads);
  TrainingData data = prepare_training_data(cfg, opt.out_dir, opt.progress);
  SSDLite model = build_model(cfg, data.labels.size(), !resuming);
  const DetectorSpec spec = model->detector_spec(data.labels);

  DetectionLoader loader(data.train, data.train_class, spec.input, model->anchors(), spec.coder, cfg.match,
                         loader_options(cfg));
  const int64_t steps_per_epoch = loader.batches_per_epoch();

  std::vector<torch::Tensor> params = module_params(*model);
  std::unique_ptr<torch::optim::Optimizer> optimizer = make_optimizer(params, cfg.optimizer);
  ScheduleConfig sc = cfg.schedule;
  sc.warmup_steps = static_cast<int64_t>(std::llround(cfg.warmup_epochs * static_cast<double>(steps_per_epoch)));
  LrSchedule schedule(cfg.optimizer.lr, steps_per_epoch * cfg.epochs, sc);

  CheckpointMeta meta;
  meta.config_yaml = cfg.yaml;
  meta.labels = data.labels;
  if (resuming) {
    CheckpointMeta saved = load_checkpoint(last_path, model, optimizer.get(), /*restore_rng=*/true);
    VEDGE_CHECK(saved.labels == data.labels, last_path, ": the checkpoint's labels differ from the dataset's");
    if (saved.config_yaml != cfg.yaml && opt.log)
      std::fprintf(opt.log, "vedge-train: note: the configuration differs from the checkpoint's\n");
    meta.state = saved.state;
    if (opt.log)
      std::fprintf(opt.log, "vedge-train: resuming %s after epoch %lld (step %lld)\n", last_path.c_str(),
                   static_cast<long long>(meta.state.epoch), static_cast<long long>(meta.state.step));
  }
  TrainState& st = meta.state;

  ValidateOptions vo;
  vo.thresholds.score = cfg.eval.score_threshold;
  vo.thresholds.iou = cfg.eval.iou_threshold;
  vo.thresholds.max_detections = cfg.eval.max_detections;
  vo.thresholds.top_k = cfg.eval.top_k;
  vo.max_images = cfg.eval.max_images;
  vo.batch_size = std::max(1, std::min(cfg.batch_size, 16));
  vo.progress = opt.progress;

  const int64_t B = cfg.batch_size;
  while (st.epoch < cfg.epochs && !st.stopped_early) {
    const int64_t e = st.epoch;
    model->train();
    apply_freeze(model, cfg.freeze, e);
    loader.start_epoch(e);
    char label[64];
    std::snprintf(label, sizeof label, "epoch %lld/%d", static_cast<long long>(e + 1), cfg.epochs);
    ProgressBar bar(label, steps_per_epoch * B, opt.progress ? stderr : nullptr);
    double loss_sum = 0;
    int64_t done = 0;
    const auto t0 = std::chrono::steady_clock::now();
    Batch batch;
    while (loader.next(batch)) {
      schedule.apply(*optimizer, st.step);
      const double l = train_step(model, *optimizer, params, batch, cfg.loss);
      ++st.step;
      ++done;
      VEDGE_CHECK(std::isfinite(l), "train: the loss became ", l, " at epoch ", e + 1, " step ", done,
                  " (lower train.optimizer.lr?)");
      loss_sum += l;
      char extra[96];
      std::snprintf(extra, sizeof extra, "loss %.4f lr %.2e", loss_sum / static_cast<double>(done),
                    schedule.lr_at(st.step - 1));
      bar.update(done * B, extra);
    }
    bar.finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EpochMetrics m;
    m.epoch = e + 1;
    m.loss = loss_sum / static_cast<double>(std::max<int64_t>(1, done));
    m.images_per_second = seconds > 0 ? static_cast<double>(done * B) / seconds : 0;
    const bool last_epoch = e + 1 == cfg.epochs;
    if ((e + 1) % cfg.eval.every == 0 || last_epoch) {
      CocoEvalResult r = validate_model(model, spec, data.val, data.val_category, vo);
      m.map = std::max(0.0, r.stats[0]);
      m.map50 = std::max(0.0, r.stats[1]);
      if (m.map50 > st.best_map50 + cfg.min_delta || st.best_epoch == 0) {
        st.best_map50 = m.map50;
        st.best_epoch = m.epoch;
        st.epochs_since_best = 0;
        CheckpointMeta best = meta;
        best.state.epoch = e + 1;
        save_checkpoint(best_path, model, nullptr, best);
      } else {
        ++st.epochs_since_best;
        st.stopped_early = cfg.patience > 0 && st.epochs_since_best >= cfg.patience;
      }
    }
    st.history.push_back(m);
    st.epoch = e + 1;
    save_checkpoint(last_path, model, optimizer.get(), meta);
    write_metrics(opt.out_dir + "/metrics.json", st);
    if (opt.log) {
      std::fprintf(opt.log, "epoch %lld/%d: loss %.4f, %.1f img/s", static_cast<long long>(m.epoch), cfg.epochs,
                   m.loss, m.images_per_second);
      if (m.map50 >= 0) std::fprintf(opt.log, ", val mAP@0.5 %.4f, mAP@[.5:.95] %.4f", m.map50, m.map);
      std::fprintf(opt.log, "%s\n", st.stopped_early ? " (early stop: no improvement)" : "");
    }
  }

  TrainResult res;
  res.state = st;
  res.last_checkpoint = last_path;
  if (fs::exists(best_path)) res.best_checkpoint = best_path;
  if (opt.export_onnx) {
    SSDLite best = build_model(cfg, data.labels.size(), false);
    load_checkpoint(res.best_checkpoint.empty() ? last_path : best_path, best, nullptr, false);
    res.onnx = opt.out_dir + "/model.onnx";
    export_onnx(best, data.labels, res.onnx);
  }
  return res;
}

}  // namespace vedge
