// inference_pool.h: the bounded queue between HTTP handlers and the network.
// Batching off (max_batch 1): `workers` threads, each with its own Detector
// (execution context) over one shared read-only DetectorModel, each taking
// one job at a time. Batching on: one worker whose Detector runs up to
// max_batch images as one network batch; it starts a batch when max_batch
// jobs wait or batch_timeout_ms after the oldest waiting job arrived.
// submit() never blocks: a full queue is refused (the caller answers 503),
// so memory stays bounded. Depends on runtime/detector.h only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/detector.h"

namespace vedge::serve {

struct PoolOptions {
  int workers = 1;            // batching off: workers; on: 1 worker
  int threads_per_worker = 1; // network threads of each worker's Session
  int max_batch = 1;          // > 1 turns batching on
  double batch_timeout_ms = 5;
  size_t queue_capacity = 32; // jobs waiting (not yet taken by a worker)
};

// One image to detect; filled in by the worker, then `done` is called.
struct InferenceJob {
  const Image* image = nullptr;
  DetectOptions options;
  std::chrono::steady_clock::time_point enqueued;
  // Results.
  std::vector<Detection> detections;
  StageTimes times;
  double queue_ms = 0;
  int batch_size = 0;
  std::string error;  // non-empty: the detector threw
  std::function<void()> done;
};

class InferencePool {
 public:
  // Creates the workers' Detectors and warms each batch size up once.
  InferencePool(std::shared_ptr<const DetectorModel> model, const PoolOptions& opt);
  ~InferencePool();  // shutdown()
  InferencePool(const InferencePool&) = delete;
  InferencePool& operator=(const InferencePool&) = delete;

  // Queues the job (false if the queue is full or the pool shut down). The
  // job must stay alive until its done() has been called.
  bool submit(InferenceJob* job);
  // Runs every queued job, then stops the workers.
  void shutdown();
  // While paused, workers take no jobs (queued ones wait): for maintenance
  // and to fill the queue deterministically in tests.
  void pause(bool on);

  size_t queued() const;
  int busy() const;  // jobs being run
  const PoolOptions& options() const { return opt_; }

 private:
  void worker_loop(Detector& det);
  std::vector<InferenceJob*> take_batch(int max_batch, std::unique_lock<std::mutex>& lock);

  PoolOptions opt_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<InferenceJob*> queue_;
  int busy_ = 0;
  bool paused_ = false, stopping_ = false;
};

}  // namespace vedge::serve
