// loader.cpp: the deterministic, prefetching detection batch loader (see
// loader.h). LibTorch, data/ and runtime/ only.
#include "train/loader.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "data/load.h"
#include "runtime/error.h"
#include "runtime/image.h"

namespace vedge {

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  auto splitmix = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  return splitmix(splitmix(splitmix(seed) ^ a) ^ (b * 0x2545f4914f6cdd1dULL));
}

DetectionLoader::DetectionLoader(const Dataset& data, std::unordered_map<int64_t, int64_t> category_class,
                                 const InputSpec& input, torch::Tensor anchors, const BoxCoder& coder,
                                 const MatchOptions& match, const LoaderOptions& options)
    : data_(data),
      category_class_(std::move(category_class)),
      input_(input),
      anchors_(anchors.to(torch::kFloat).contiguous()),
      coder_(coder),
      match_(match),
      opt_(options),
      inline_pre_(input) {
  VEDGE_CHECK(!data_.images.empty(), data_.source, ": the training set has no images");
  VEDGE_CHECK(opt_.batch_size >= 1, "loader: batch size must be >= 1");
  VEDGE_CHECK(anchors_.dim() == 2 && anchors_.size(1) == 4, "loader: anchors must be [A,4]");
  auto index = data_.image_index();
  boxes_of_.resize(data_.images.size());
  for (size_t i = 0; i < data_.annotations.size(); ++i) {
    const DatasetAnnotation& a = data_.annotations[i];
    if (a.iscrowd || a.ignore || !category_class_.count(a.category_id)) continue;
    auto it = index.find(a.image_id);
    VEDGE_CHECK(it != index.end(), data_.source, ": annotation ", a.id, " refers to unknown image ", a.image_id);
    boxes_of_[it->second].push_back(i);
  }
  const int64_t n = static_cast<int64_t>(data_.images.size());
  batches_ = opt_.batches_per_epoch > 0 ? opt_.batches_per_epoch : std::max<int64_t>(1, n / opt_.batch_size);
  opt_.augment_config.out_width = opt_.augment_config.out_height = 0;
  size_t bytes = 0;
  cache_images_ = opt_.cache_bytes > 0;
  for (const DatasetImage& im : data_.images) {
    if (im.width <= 0 || im.height <= 0) cache_images_ = false;  // size unknown
    bytes += static_cast<size_t>(std::max(im.width, 0)) * std::max(im.height, 0) * 3;
  }
  if (bytes > opt_.cache_bytes) cache_images_ = false;
  if (cache_images_) images_.resize(data_.images.size());
}

DetectionLoader::~DetectionLoader() { stop_workers(); }

size_t DetectionLoader::image_at(int64_t epoch, int64_t position) const {
  const size_t n = data_.images.size();
  const uint64_t k = static_cast<uint64_t>(position) / n;
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (!perm_ || perm_epoch_ != static_cast<uint64_t>(epoch) || perm_pass_ != k) {
    auto perm = std::make_shared<std::vector<size_t>>(n);
    std::iota(perm->begin(), perm->end(), size_t{0});
    std::mt19937_64 rng(mix_seed(opt_.seed, static_cast<uint64_t>(epoch), 0x5eed0000ULL + k));
    // Fisher-Yates with our own draws: std::shuffle's use of the engine is
    // implementation-defined, this is the same on every standard library.
    for (size_t i = n - 1; i > 0; --i) std::swap((*perm)[i], (*perm)[rng() % (i + 1)]);
    perm_ = std::move(perm);
    perm_epoch_ = static_cast<uint64_t>(epoch);
    perm_pass_ = k;
  }
  return (*perm_)[static_cast<size_t>(position) % n];
}

std::shared_ptr<const Image> DetectionLoader::image(size_t idx) const {
  if (cache_images_) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (images_[idx]) return images_[idx];
  }
  auto img = std::make_shared<const Image>(decode_image_file(image_path(data_, data_.images[idx])));
  if (cache_images_) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (!images_[idx]) images_[idx] = img;
  }
  return img;
}

PreparedSample DetectionLoader::prepare(int64_t epoch, int64_t position, Preprocessor& pre) const {
  const size_t idx = image_at(epoch, position);
  DetSample s;
  s.image = *image(idx);
  for (size_t a : boxes_of_[idx]) {
    s.boxes.push_back(data_.annotations[a].bbox);
    s.category_ids.push_back(data_.annotations[a].category_id);
  }
  if (opt_.augment) {
    std::mt19937_64 rng(mix_seed(opt_.seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(position)));
    s = augment(s, opt_.augment_config, rng);
  }
  PreparedSample out;
  out.image = torch::empty({3, input_.height, input_.width}, torch::kFloat);
  BoxTransform t = pre.run(s.image, out.image.data_ptr<float>());
  std::vector<float> boxes;
  std::vector<int64_t> classes;
  for (size_t i = 0; i < s.boxes.size(); ++i) {
    const BoxXYWH& b = s.boxes[i];
    float x1 = static_cast<float>((b.x - t.offset_x) / t.scale_x);
    float y1 = static_cast<float>((b.y - t.offset_y) / t.scale_y);
    float x2 = static_cast<float>((b.x + b.w - t.offset_x) / t.scale_x);
    float y2 = static_cast<float>((b.y + b.h - t.offset_y) / t.scale_y);
    x1 = std::clamp(x1, 0.f, 1.f), y1 = std::clamp(y1, 0.f, 1.f);
    x2 = std::clamp(x2, 0.f, 1.f), y2 = std::clamp(y2, 0.f, 1.f);
    if (!(x2 > x1 && y2 > y1)) continue;
    boxes.insert(boxes.end(), {x1, y1, x2, y2});
    classes.push_back(category_class_.at(s.category_ids[i]));
  }
  const int64_t g = static_cast<int64_t>(classes.size());
  out.boxes = torch::from_blob(boxes.data(), {g, 4}, torch::kFloat).clone();
  out.classes = torch::from_blob(classes.data(), {g}, torch::kLong).clone();
  return out;
}

Batch DetectionLoader::build(int64_t epoch, int64_t batch_index, Preprocessor& pre) const {
  const int64_t B = opt_.batch_size;
  const int64_t A = anchors_.size(0);
  Batch b;
  b.index = batch_index;
  b.images = torch::empty({B, 3, input_.height, input_.width}, torch::kFloat);
  b.labels = torch::empty({B, A}, torch::kLong);
  b.offsets = torch::empty({B, A, 4}, torch::kFloat);
  for (int64_t i = 0; i < B; ++i) {
    PreparedSample s = prepare(epoch, batch_index * B + i, pre);
    MatchTargets t = build_targets(anchors_, s.boxes, s.classes, coder_, match_);
    b.images[i].copy_(s.image);
    b.labels[i].copy_(t.labels);
    b.offsets[i].copy_(t.offsets);
    b.num_boxes += s.boxes.size(0);
  }
  return b;
}

void DetectionLoader::worker_loop() {
  Preprocessor pre(input_);
  for (;;) {
    int64_t epoch, idx;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        return stop_ || error_ || (next_claim_ < batches_ && next_claim_ < next_out_ + opt_.prefetch);
      });
      if (stop_ || error_) return;
      epoch = epoch_;
      idx = next_claim_++;
    }
    try {
      Batch b = build(epoch, idx, pre);
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(idx, std::move(b));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

void DetectionLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void DetectionLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop_workers();
  epoch_ = epoch;
  next_claim_ = next_out_ = std::clamp<int64_t>(first_batch, 0, batches_);
  ready_.clear();
  error_ = nullptr;
  stop_ = false;
  for (int i = 0; i < opt_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

bool DetectionLoader::next(Batch& out) {
  if (next_out_ >= batches_) return false;
  if (threads_.empty()) {
    out = build(epoch_, next_out_++, inline_pre_);
    return true;
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return error_ || ready_.count(next_out_); });
  if (error_) {
    std::exception_ptr e = error_;
    lock.unlock();
    stop_workers();
    std::rethrow_exception(e);
  }
  auto it = ready_.find(next_out_);
  out = std::move(it->second);
  ready_.erase(it);
  ++next_out_;
  lock.unlock();
  cv_.notify_all();
  return true;
}

}  // namespace vedge
