// bench_postprocess.cpp: the work around the network. Decode + NMS
// (score filter, top-k, box decoding of the survivors, NMS) on SSD outputs
// with a realistic score distribution, and preprocessing of a 640x480 image
// into a 320x320 float input.
// Depends on runtime/ (detector.h, anchors.h, preprocess.h) and Google Benchmark.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "runtime/anchors.h"
#include "runtime/detector.h"
#include "runtime/preprocess.h"

using namespace vedge;

namespace {

// SSD outputs for `objects` objects: background dominates everywhere except
// on the ~20 anchors around each object, where one class is strong.
struct FakeOutputs {
  std::vector<float> anchors, offsets, scores;
  int64_t num_anchors;
  int num_classes;
};

FakeOutputs make_outputs(int64_t A, int C, int objects, bool logits, bool sigmoid) {
  FakeOutputs o{{}, std::vector<float>(A * 4), std::vector<float>(A * C), A, C};
  std::mt19937 rng(42);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  o.anchors.resize(A * 4);
  for (int64_t a = 0; a < A; ++a) {
    o.anchors[a * 4 + 0] = u(rng);
    o.anchors[a * 4 + 1] = u(rng);
    o.anchors[a * 4 + 2] = 0.05f + 0.5f * u(rng);
    o.anchors[a * 4 + 3] = 0.05f + 0.5f * u(rng);
    for (int k = 0; k < 4; ++k) o.offsets[a * 4 + k] = 0.5f * n01(rng);
    float* s = &o.scores[a * C];
    if (logits) {  // softmax: background wins; sigmoid: every class is unlikely
      s[0] = 4.f + n01(rng);
      const float mean = sigmoid ? -4.f : -2.f;
      for (int c = 1; c < C; ++c) s[c] = mean + 1.5f * n01(rng);
    } else {  // already probabilities (UltraFace): mostly background
      const float fg = 0.02f * u(rng);
      s[0] = 1.f - fg;
      s[1] = fg;
    }
  }
  // Each object lights up 20 anchors whose decoded boxes land near the same
  // target box (as neighbouring anchors do in a trained SSD), so NMS keeps
  // about one box per object.
  for (int obj = 0; obj < objects; ++obj) {
    const int c = 1 + static_cast<int>(rng() % (C - 1));
    const float tx = 0.2f + 0.6f * u(rng), ty = 0.2f + 0.6f * u(rng);
    const float tw = 0.1f + 0.2f * u(rng), th = 0.1f + 0.2f * u(rng);
    const int64_t first = static_cast<int64_t>(rng() % (A - 20));
    for (int64_t a = first; a < first + 20; ++a) {
      float* s = &o.scores[a * C];
      if (logits) {
        s[c] = 6.f + 2.f * n01(rng);
      } else {
        s[1] = 0.5f + 0.5f * u(rng);
        s[0] = 1.f - s[1];
      }
      const float* an = &o.anchors[a * 4];
      float* d = &o.offsets[a * 4];
      d[0] = (tx + 0.01f * n01(rng) - an[0]) / (0.1f * an[2]);
      d[1] = (ty + 0.01f * n01(rng) - an[1]) / (0.1f * an[3]);
      d[2] = std::log(tw / an[2]) / 0.2f;
      d[3] = std::log(th / an[3]) / 0.2f;
    }
  }
  return o;
}

void run_postprocess(benchmark::State& state, int64_t A, int C, ScoreActivation act, float thr,
                     int top_k, int max_det) {
  FakeOutputs o = make_outputs(A, C, 30, act != ScoreActivation::None, act == ScoreActivation::Sigmoid);
  DetectorSpec spec;
  spec.labels.resize(static_cast<size_t>(C), "x");
  spec.activation = act;
  DetectThresholds th;
  th.score = thr;
  th.iou = 0.5f;
  th.top_k = top_k;
  th.max_detections = max_det;
  BoxTransform tf;
  tf.scale_x = tf.scale_y = 320.f;
  tf.image_width = tf.image_height = 320;
  PostprocessScratch scratch;
  size_t n = 0;
  for (auto _ : state) {
    auto dets = postprocess_detections(spec, o.anchors, o.offsets.data(), o.scores.data(), A, C, tf,
                                       th, scratch);
    n = dets.size();
    benchmark::DoNotOptimize(dets.data());
  }
  state.counters["detections"] = static_cast<double>(n);
  state.counters["candidates"] = static_cast<double>(scratch.candidates.size());
}

// 3000 anchors, 91 COCO classes, softmax logits, deployment threshold.
void BM_DecodeNms_3000x91_Softmax_Thr05(benchmark::State& s) {
  run_postprocess(s, 3000, 91, ScoreActivation::Softmax, 0.5f, 1000, 100);
}
// Same outputs at an evaluation threshold (torchvision's 0.01, top-k 300/class).
void BM_DecodeNms_3000x91_Softmax_Thr001(benchmark::State& s) {
  run_postprocess(s, 3000, 91, ScoreActivation::Softmax, 0.01f, 300, 300);
}
// 3000 anchors, 2 classes, sigmoid.
void BM_DecodeNms_3000x2_Sigmoid(benchmark::State& s) {
  run_postprocess(s, 3000, 2, ScoreActivation::Sigmoid, 0.5f, 1000, 100);
}
// UltraFace: 4420 anchors, probabilities already in the graph.
void BM_DecodeNms_UltraFace4420(benchmark::State& s) {
  run_postprocess(s, 4420, 2, ScoreActivation::None, 0.7f, 1000, 200);
}

void BM_Preprocess_640x480_to_320x320(benchmark::State& state) {
  Image img;
  img.width = 640;
  img.height = 480;
  img.rgb.resize(640 * 480 * 3);
  std::mt19937 rng(1);
  for (auto& v : img.rgb) v = static_cast<uint8_t>(rng());
  InputSpec spec;
  spec.mean[0] = spec.mean[1] = spec.mean[2] = 127.5f;
  spec.std[0] = spec.std[1] = spec.std[2] = 127.5f;
  Preprocessor pre(spec);
  std::vector<float> out(3 * 320 * 320);
  for (auto _ : state) {
    pre.run(img, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}

void BM_Anchors_Ssdlite320(benchmark::State& state) {
  SsdAnchorParams p;
  for (int s : {20, 10, 5, 3, 2, 1}) p.feature_maps.push_back({s, s});
  p.aspect_ratios.assign(6, {2.f, 3.f});
  for (auto _ : state) benchmark::DoNotOptimize(ssd_anchors(p, 320, 320).data());
}

}  // namespace

BENCHMARK(BM_DecodeNms_3000x91_Softmax_Thr05)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeNms_3000x91_Softmax_Thr001)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeNms_3000x2_Sigmoid)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeNms_UltraFace4420)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Preprocess_640x480_to_320x320)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Anchors_Ssdlite320)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
