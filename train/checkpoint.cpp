// checkpoint.cpp: checkpoint files as LibTorch archives (see checkpoint.h).
// LibTorch and train/model.h only.
#include "train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "runtime/error.h"

namespace vedge {
namespace {

constexpr int64_t kFormatVersion = 1;

torch::Tensor history_tensor(const std::vector<EpochMetrics>& h) {
  torch::Tensor t = torch::zeros({static_cast<int64_t>(h.size()), 5}, torch::kDouble);
  for (size_t i = 0; i < h.size(); ++i) {
    const EpochMetrics& m = h[i];
    double row[5] = {static_cast<double>(m.epoch), m.loss, m.map50, m.map, m.images_per_second};
    for (int j = 0; j < 5; ++j) t[static_cast<int64_t>(i)][j] = row[j];
  }
  return t;
}

std::vector<EpochMetrics> history_from(const torch::Tensor& t) {
  std::vector<EpochMetrics> h;
  auto a = t.accessor<double, 2>();
  for (int64_t i = 0; i < t.size(0); ++i)
    h.push_back({static_cast<int64_t>(a[i][0]), a[i][1], a[i][2], a[i][3], a[i][4]});
  return h;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += x + "\n";
  return s;
}

CheckpointMeta read_meta(torch::serialize::InputArchive& ar, const std::string& path) {
  c10::IValue v;
  VEDGE_CHECK(ar.try_read("vedge_checkpoint", v) && v.isInt(), path, ": not a vedge-train checkpoint");
  VEDGE_CHECK(v.toInt() == kFormatVersion, path, ": checkpoint format ", v.toInt(), " is not supported (",
              kFormatVersion, " is)");
  CheckpointMeta m;
  auto read_int = [&](const char* key) {
    ar.read(key, v);
    return v.toInt();
  };
  auto read_double = [&](const char* key) {
    ar.read(key, v);
    return v.toDouble();
  };
  m.state.epoch = read_int("epoch");
  m.state.step = read_int("step");
  m.state.best_map50 = read_double("best_map50");
  m.state.best_epoch = read_int("best_epoch");
  m.state.epochs_since_best = read_int("epochs_since_best");
  m.state.stopped_early = read_int("stopped_early") != 0;
  torch::Tensor h;
  ar.read("history", h);
  m.state.history = history_from(h);
  ar.read("config_yaml", v);
  m.config_yaml = v.toStringRef();
  ar.read("labels", v);
  std::stringstream ss(v.toStringRef());
  for (std::string line; std::getline(ss, line);) m.labels.push_back(line);
  return m;
}

void load_archive(torch::serialize::InputArchive& ar, const std::string& path) {
  VEDGE_CHECK(std::filesystem::is_regular_file(path), path, ": no such checkpoint");
  try {
    ar.load_from(path);
  } catch (const c10::Error& e) {
    fail(path, ": not a readable checkpoint (", std::string(e.what_without_backtrace()).substr(0, 200), ")");
  }
}

}  // namespace

void save_checkpoint(const std::string& path, const SSDLite& model, const torch::optim::Optimizer* optimizer,
                     const CheckpointMeta& meta) {
  torch::serialize::OutputArchive ar;
  ar.write("vedge_checkpoint", c10::IValue(kFormatVersion));
  const TrainState& s = meta.state;
  ar.write("epoch", c10::IValue(s.epoch));
  ar.write("step", c10::IValue(s.step));
  ar.write("best_map50", c10::IValue(s.best_map50));
  ar.write("best_epoch", c10::IValue(s.best_epoch));
  ar.write("epochs_since_best", c10::IValue(s.epochs_since_best));
  ar.write("stopped_early", c10::IValue(static_cast<int64_t>(s.stopped_early)));
  ar.write("history", history_tensor(s.history));
  ar.write("config_yaml", c10::IValue(meta.config_yaml));
  ar.write("labels", c10::IValue(join_lines(meta.labels)));
  torch::serialize::OutputArchive model_ar;
  model->save(model_ar);
  ar.write("model", model_ar);
  if (optimizer) {
    torch::serialize::OutputArchive opt_ar;
    optimizer->save(opt_ar);
    ar.write("optimizer", opt_ar);
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    ar.write("rng", gen.get_state());
  }
  const std::string tmp = path + ".tmp";
  try {
    ar.save_to(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    fail(path, ": cannot write the checkpoint (", std::string(e.what_without_backtrace()).substr(0, 200), ")");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  VEDGE_CHECK(!ec, path, ": cannot write the checkpoint (", ec.message(), ")");
}

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  torch::serialize::InputArchive ar;
  load_archive(ar, path);
  return read_meta(ar, path);
}

CheckpointMeta load_checkpoint(const std::string& path, SSDLite& model, torch::optim::Optimizer* optimizer,
                               bool restore_rng) {
  torch::serialize::InputArchive ar;
  load_archive(ar, path);
  CheckpointMeta meta = read_meta(ar, path);
  try {
    torch::serialize::InputArchive model_ar;
    ar.read("model", model_ar);
    model->load(model_ar);
    if (optimizer) {
      torch::serialize::InputArchive opt_ar;
      VEDGE_CHECK(ar.try_read("optimizer", opt_ar), path, ": holds no optimizer state (weights only)");
      optimizer->load(opt_ar);
    }
    if (restore_rng) {
      torch::Tensor rng;
      VEDGE_CHECK(ar.try_read("rng", rng), path, ": holds no RNG state (weights only)");
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng);
    }
  } catch (const c10::Error& e) {
    fail(path, ": does not match the model (", std::string(e.what_without_backtrace()).substr(0, 200), ")");
  }
  return meta;
}

}  // namespace vedge
