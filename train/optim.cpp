// optim.cpp: optimizer construction and the warm-up + cosine schedule (see
// optim.h). LibTorch only.
#include "train/optim.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace vedge {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params,
                                                        const OptimizerConfig& cfg) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const torch::Tensor& p : params) {
    (p.dim() > 1 ? decay : no_decay).push_back(p);
  }
  VEDGE_CHECK(!decay.empty() || !no_decay.empty(), "optimizer: no parameter");
  VEDGE_CHECK(cfg.lr > 0 && std::isfinite(cfg.lr), "optimizer: lr must be > 0, got ", cfg.lr);
  auto groups = [&](auto make_options) {
    std::vector<torch::optim::OptimizerParamGroup> g;
    if (!decay.empty()) g.emplace_back(decay, make_options(cfg.weight_decay));
    if (!no_decay.empty()) g.emplace_back(no_decay, make_options(0.0));
    return g;
  };
  if (cfg.name == "sgd") {
    auto opts = [&](double wd) {
      return std::make_unique<torch::optim::SGDOptions>(
          torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).nesterov(cfg.nesterov).weight_decay(wd));
    };
    VEDGE_CHECK(!cfg.nesterov || cfg.momentum > 0, "optimizer: nesterov needs momentum > 0");
    return std::make_unique<torch::optim::SGD>(groups(opts), torch::optim::SGDOptions(cfg.lr));
  }
  if (cfg.name == "adam" || cfg.name == "adamw") {
    auto betas = std::make_tuple(cfg.beta1, cfg.beta2);
    if (cfg.name == "adam") {
      auto opts = [&](double wd) {
        return std::make_unique<torch::optim::AdamOptions>(
            torch::optim::AdamOptions(cfg.lr).betas(betas).eps(cfg.eps).weight_decay(wd));
      };
      return std::make_unique<torch::optim::Adam>(groups(opts), torch::optim::AdamOptions(cfg.lr));
    }
    auto opts = [&](double wd) {
      return std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(cfg.lr).betas(betas).eps(cfg.eps).weight_decay(wd));
    };
    return std::make_unique<torch::optim::AdamW>(groups(opts), torch::optim::AdamWOptions(cfg.lr));
  }
  fail("optimizer: unknown name '", cfg.name, "' (adam, adamw or sgd)");
}

void clear_gradients(const std::vector<torch::Tensor>& params) {
  for (const torch::Tensor& p : params) {
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  }
}

LrSchedule::LrSchedule(double base_lr, int64_t total_steps, const ScheduleConfig& cfg)
    : base_(base_lr), total_(std::max<int64_t>(1, total_steps)), cfg_(cfg) {}

double LrSchedule::lr_at(int64_t step) const {
  step = std::max<int64_t>(0, step);
  const int64_t warm = std::min(cfg_.warmup_steps, total_);
  if (step < warm) {
    double t = static_cast<double>(step) / static_cast<double>(warm);
    return base_ * (cfg_.warmup_factor + (1.0 - cfg_.warmup_factor) * t);
  }
  const int64_t span = total_ - warm;
  double t = span > 0 ? std::min(1.0, static_cast<double>(step - warm) / static_cast<double>(span)) : 1.0;
  double cosine = 0.5 * (1.0 + std::cos(M_PI * t));
  return base_ * (cfg_.min_lr_factor + (1.0 - cfg_.min_lr_factor) * cosine);
}

void LrSchedule::apply(torch::optim::Optimizer& opt, int64_t step) const {
  double lr = lr_at(step);
  for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

}  // namespace vedge
