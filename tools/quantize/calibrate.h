// calibrate.h: calibration of a float graph for int8 quantization.
// load_calibration_set() reads a dataset (any format load_dataset() reads)
// or a folder of images, picks `samples` images deterministically and turns
// each into the network input exactly as the Detector does (image.h decode,
// then preprocess.h's Preprocessor with the model's InputSpec: one
// implementation). calibrate() runs the float graph over the set with the
// requested values made extra graph outputs and feeds one RangeObserver
// (observers.h) per value; collect_activations() returns those values for
// one input (for the accuracy analysis).
// Depends on runtime/ (graph, executor, image, preprocess), data/load.h,
// tools/common/progress.h and observers.h; no LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/executor.h"
#include "runtime/graph.h"
#include "runtime/preprocess.h"
#include "runtime/tensor.h"
#include "tools/quantize/observers.h"

namespace vedge {

struct CalibSetOptions {
  // "auto" or empty: a dataset load_dataset() recognizes, else (a folder it
  // cannot tell) a plain image folder; "coco", "voc", "yolo": that dataset
  // format; "images": a plain image folder.
  std::string format;
  std::string images_dir;  // LoadOptions::images_dir
  int samples = 100;       // >= 1; fewer images available: all of them
  // 0: the first `samples` images in sorted file order; otherwise a
  // seeded (std::mt19937_64, Fisher-Yates) shuffle of the sorted list.
  uint64_t seed = 0;
};

struct CalibrationSet {
  InputSpec input;
  std::vector<std::string> files;  // the chosen image files, in order
  std::vector<Tensor> inputs;      // float [1,3,H,W], NCHW, one per file
};

// path: any dataset load_dataset() reads (COCO .json, VOC folder, YOLO
// folder or data.yaml), or a folder of .jpg/.jpeg/.png/.bmp images (sorted
// by name, not recursive). Preprocessed by runtime/preprocess.h with the
// model's InputSpec (the same code as inference; images of any size are
// resized as detect does). Annotations are not checked (only pixels are
// used). Holds every input in memory (100 x 3 x 320 x 320 floats = 123 MB).
// Throws one-line vedge::Error: no images, an unreadable image (naming the
// file), samples < 1, a missing path, an unknown format.
CalibrationSet load_calibration_set(const std::string& path, const InputSpec& input,
                                    const CalibSetOptions& opt);

// Runs the float graph g over the set; range of every named value (one
// RangeObserver per value built with opt.bins, ranges by opt.method). The
// values are made extra outputs of a copy of g; a name that is not a
// non-constant F32 value of g is an error naming it (e.g. an activation
// fused into its Conv by the importer does not exist). The set's inputs feed
// the graph input named set.input.name (or the graph's only input); an
// input of another shape is an error naming its file. `progress`: a
// ProgressBar on stderr. Default session: fast backend, one thread.
std::map<std::string, TensorRange> calibrate(const Graph& g, const std::vector<std::string>& values,
                                             const CalibrationSet& set, const CalibOptions& opt,
                                             bool progress = false);
// The same with explicit session options (backend, threads).
std::map<std::string, TensorRange> calibrate(const Graph& g, const std::vector<std::string>& values,
                                             const CalibrationSet& set, const CalibOptions& opt,
                                             bool progress, const SessionOptions& session);

// The observers themselves (one per value, `bins` bins), so that several
// methods can be compared on one pass: value name -> observer.
std::map<std::string, RangeObserver> observe_activations(const Graph& g,
                                                         const std::vector<std::string>& values,
                                                         const CalibrationSet& set, int bins = 2048,
                                                         bool progress = false,
                                                         const SessionOptions& session = {});

// Activations of the named values for one input (for analysis): value name
// -> tensor (plain, logical NCHW order). The graph must have one input.
std::map<std::string, Tensor> collect_activations(const Graph& g, const std::vector<std::string>& values,
                                                  const Tensor& input);

}  // namespace vedge
