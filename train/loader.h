// loader.h: batches of training samples from a Dataset: decode, augment
// (data/augment.h), resize + normalize with the runtime's Preprocessor
// (runtime/preprocess.h: the one implementation of the preprocessing math,
// the same the deployed detector runs), match to anchors and encode
// (matcher.h). Worker threads build batches ahead of the trainer (prefetch).
//
// Determinism: the order of samples and every augmentation draw are pure
// functions of (seed, epoch, position in the epoch), never of thread timing:
// epoch e visits a stream of dataset permutations (permutation k drawn from
// mix(seed, e, k)), batch b holds stream positions [b*B, (b+1)*B), and the
// sample at position p is augmented with an mt19937_64 seeded by
// mix(seed, e, p). A batch is therefore the same whichever worker built it
// and whether the epoch was started from its first batch or resumed.
// Depends on LibTorch, data/ (dataset, load, augment), runtime/preprocess.h,
// runtime/box_coder.h and train/matcher.h.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <torch/torch.h>

#include "data/augment.h"
#include "data/dataset.h"
#include "runtime/box_coder.h"
#include "runtime/preprocess.h"
#include "train/matcher.h"

namespace vedge {

struct Batch {
  int64_t index = 0;        // batch number within the epoch
  torch::Tensor images;     // [B,3,H,W] float, normalized as the runtime does
  torch::Tensor labels;     // [B,A] int64, 0 = background
  torch::Tensor offsets;    // [B,A,4] float, encoded targets
  int64_t num_boxes = 0;    // ground-truth boxes in the batch
};

struct LoaderOptions {
  int batch_size = 16;
  int64_t batches_per_epoch = 0;  // 0: floor(images / batch_size), at least 1
  int workers = 2;                // 0: build batches on the calling thread
  int prefetch = 4;               // batches built ahead of the consumer
  uint64_t seed = 0;
  bool augment = true;
  AugmentConfig augment_config;   // out size ignored (the Preprocessor resizes)
  // Decoded images are kept in memory when the whole training set fits in
  // this many bytes (width x height x 3 from the dataset); 0: decode each
  // time. Decoding is most of the loader's work on small images.
  size_t cache_bytes = size_t{1} << 30;
};

// One training sample as the network sees it (before batching).
struct PreparedSample {
  torch::Tensor image;    // [3,H,W]
  torch::Tensor boxes;    // [G,4] normalized corners in [0,1]
  torch::Tensor classes;  // [G] int64, 1..C-1
};

// Uniform 64-bit mixing of (seed, a, b) (splitmix64 rounds).
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b);

class DetectionLoader {
 public:
  // category_class: dataset category id -> score column (1..C-1); boxes of
  // other categories, crowd and ignored boxes are left out of training.
  // anchors: [A,4] (cx, cy, w, h) normalized.
  DetectionLoader(const Dataset& data, std::unordered_map<int64_t, int64_t> category_class, const InputSpec& input,
                  torch::Tensor anchors, const BoxCoder& coder, const MatchOptions& match,
                  const LoaderOptions& options);
  ~DetectionLoader();
  DetectionLoader(const DetectionLoader&) = delete;
  DetectionLoader& operator=(const DetectionLoader&) = delete;

  int64_t batches_per_epoch() const { return batches_; }
  // Starts (or restarts) epoch `epoch` at batch `first_batch`.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch in order; false at the end of the epoch. Rethrows a
  // worker's error (an unreadable image names its file).
  bool next(Batch& out);

  // Sample at stream position `position` of `epoch` (what workers call).
  PreparedSample prepare(int64_t epoch, int64_t position, Preprocessor& pre) const;
  Batch build(int64_t epoch, int64_t batch_index, Preprocessor& pre) const;
  // Dataset image index at stream position `position` of `epoch`.
  size_t image_at(int64_t epoch, int64_t position) const;

 private:
  void stop_workers();
  void worker_loop();

  const Dataset& data_;
  std::unordered_map<int64_t, int64_t> category_class_;
  std::vector<std::vector<size_t>> boxes_of_;  // per image: annotation indices used
  InputSpec input_;
  torch::Tensor anchors_;
  BoxCoder coder_;
  MatchOptions match_;
  LoaderOptions opt_;
  int64_t batches_ = 0;

  // Decoded images (when the set fits in cache_bytes) and the shuffled order
  // of the last (epoch, pass) asked for; both filled on demand by workers.
  bool cache_images_ = false;
  mutable std::mutex cache_mu_;
  mutable std::vector<std::shared_ptr<const Image>> images_;
  mutable uint64_t perm_epoch_ = ~uint64_t{0}, perm_pass_ = ~uint64_t{0};
  mutable std::shared_ptr<const std::vector<size_t>> perm_;
  std::shared_ptr<const Image> image(size_t idx) const;

  // Epoch in flight.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  int64_t epoch_ = 0, next_claim_ = 0, next_out_ = 0;
  bool stop_ = false;
  std::map<int64_t, Batch> ready_;
  std::exception_ptr error_;
  Preprocessor inline_pre_;
};

}  // namespace vedge
