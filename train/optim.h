// optim.h: the optimizers (Adam, AdamW, SGD with momentum / Nesterov) over
// the trainable parameters, weight decay on weights only (not on biases and
// normalization parameters), and the learning-rate schedule: linear warm-up
// from warmup_factor * lr to lr over warmup_steps, then cosine decay to
// min_lr_factor * lr at total_steps. The schedule is a pure function of the
// step, so resuming needs only the step count.
// Depends on LibTorch only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace vedge {

struct OptimizerConfig {
  std::string name = "adam";  // adam | adamw | sgd
  double lr = 1e-3;
  double weight_decay = 0.0;
  double momentum = 0.9;      // sgd
  bool nesterov = false;      // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
};

struct ScheduleConfig {
  int64_t warmup_steps = 0;
  double warmup_factor = 0.001;  // lr multiplier at step 0
  double min_lr_factor = 0.0;    // lr multiplier at the last step
};

// Throws vedge::Error for an unknown name or no parameter. Every parameter
// is registered, frozen ones included (the optimizers skip a parameter
// whose gradient is undefined, so freezing is requires_grad(false) plus
// clear_gradients(), and unfreezing later needs no new optimizer).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params,
                                                        const OptimizerConfig& cfg);

// Sets every gradient to undefined (not zero): cheaper than zeroing, and a
// frozen parameter stays untouched by momentum and weight decay.
void clear_gradients(const std::vector<torch::Tensor>& params);

class LrSchedule {
 public:
  LrSchedule(double base_lr, int64_t total_steps, const ScheduleConfig& cfg);
  // The learning rate for optimizer step `step` (0-based).
  double lr_at(int64_t step) const;
  // Sets every parameter group's learning rate to lr_at(step).
  void apply(torch::optim::Optimizer& opt, int64_t step) const;

 private:
  double base_;
  int64_t total_;
  ScheduleConfig cfg_;
};

}  // namespace vedge
