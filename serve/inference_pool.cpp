// inference_pool.cpp: worker pool and micro-batching (see inference_pool.h).
// Depends on runtime/detector.h only.
#include "serve/inference_pool.h"

#include "runtime/error.h"

namespace vedge::serve {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A mid-grey image at the network's input size, to warm every session up.
Image warmup_image(const DetectorSpec& spec) {
  Image img;
  img.width = spec.input.width;
  img.height = spec.input.height;
  img.rgb.assign(static_cast<size_t>(img.width) * img.height * 3, 128);
  return img;
}

}  // namespace

InferencePool::InferencePool(std::shared_ptr<const DetectorModel> model, const PoolOptions& opt)
    : opt_(opt) {
  VEDGE_CHECK(opt.workers >= 1 && opt.threads_per_worker >= 1 && opt.max_batch >= 1,
              "serve: workers, threads and batch size must be positive");
  VEDGE_CHECK(opt.queue_capacity >= 1, "serve: the queue must hold at least one request");
  VEDGE_CHECK(opt.batch_timeout_ms >= 0, "serve: the batch timeout must not be negative");
  if (opt_.max_batch > 1) opt_.workers = 1;
  SessionOptions so;
  so.num_threads = opt_.threads_per_worker;
  const Image warm = warmup_image(model->spec);
  for (int w = 0; w < opt_.workers; ++w) {
    auto det = std::make_unique<Detector>(model, so, opt_.max_batch);
    for (int b = 1; b <= opt_.max_batch; ++b)
      det->detect_batch(std::vector<const Image*>(static_cast<size_t>(b), &warm),
                        std::vector<DetectOptions>(static_cast<size_t>(b)));
    detectors_.push_back(std::move(det));
  }
  for (auto& d : detectors_) threads_.emplace_back([this, det = d.get()] { worker_loop(*det); });
}

InferencePool::~InferencePool() { shutdown(); }

bool InferencePool::submit(InferenceJob* job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= opt_.queue_capacity) return false;
    job->enqueued = Clock::now();
    queue_.push_back(job);
  }
  cv_.notify_all();
  return true;
}

void InferencePool::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    paused_ = false;
  }
  cv_.notify_all();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
}

void InferencePool::pause(bool on) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = on;
  }
  cv_.notify_all();
}

size_t InferencePool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

int InferencePool::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

// Waits for work; with batching, until max_batch jobs wait or the oldest has
// waited batch_timeout_ms (or the pool stops). Empty result: stop.
std::vector<InferenceJob*> InferencePool::take_batch(int max_batch,
                                                     std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [&] { return (!paused_ && !queue_.empty()) || (stopping_ && queue_.empty()); });
  if (queue_.empty()) return {};
  if (max_batch > 1) {
    const auto deadline = queue_.front()->enqueued +
                          std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double, std::milli>(opt_.batch_timeout_ms));
    cv_.wait_until(lock, deadline, [&] {
      return static_cast<int>(queue_.size()) >= max_batch || stopping_ || paused_;
    });
  }
  std::vector<InferenceJob*> batch;
  while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch) {
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  busy_ += static_cast<int>(batch.size());
  return batch;
}

void InferencePool::worker_loop(Detector& det) {
  for (;;) {
    std::vector<InferenceJob*> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      batch = take_batch(det.max_batch(), lock);
      if (batch.empty()) return;
    }
    const auto start = Clock::now();
    std::vector<const Image*> images;
    std::vector<DetectOptions> opts;
    for (InferenceJob* j : batch) {
      images.push_back(j->image);
      opts.push_back(j->options);
      j->queue_ms = ms_between(j->enqueued, start);
      j->batch_size = static_cast<int>(batch.size());
    }
    try {
      std::vector<StageTimes> times;
      std::vector<std::vector<Detection>> dets = det.detect_batch(images, opts, &times);
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i]->detections = std::move(dets[i]);
        batch[i]->times = times[i];
      }
    } catch (const std::exception& e) {
      for (InferenceJob* j : batch) j->error = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ -= static_cast<int>(batch.size());
    }
    for (InferenceJob* j : batch) j->done();
  }
}

}  // namespace vedge::serve
