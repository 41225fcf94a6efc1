// calibrate.cpp: the calibration set (dataset or image folder -> the
// Detector's preprocessing) and the calibration pass (float graph with the
// observed values as extra outputs -> one RangeObserver per value).
// Depends on runtime/, data/load.h, tools/common/progress.h and
// observers.h; no LibTorch.
#include "tools/quantize/calibrate.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <random>
#include <set>

#include "data/load.h"
#include "runtime/error.h"
#include "runtime/image.h"
#include "tools/common/progress.h"

namespace vedge {

namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

// The image files of a plain folder, sorted by name (not recursive).
std::vector<std::string> image_folder_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && is_image_file(it->path())) files.push_back(it->path().string());
  VEDGE_CHECK(!ec, dir, ": cannot list the folder: ", ec.message());
  VEDGE_CHECK(!files.empty(), dir, ": no images (.jpg, .jpeg, .png, .bmp) in the folder");
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> dataset_files(const std::string& path, DatasetFormat format,
                                       const std::string& images_dir) {
  LoadOptions lo;
  lo.format = format;
  lo.images_dir = images_dir;
  // Calibration needs the pixels only: annotation problems do not matter and
  // an unreadable image is reported when it is decoded.
  lo.skip_bad = true;
  lo.check_images = false;
  const Dataset d = load_dataset(path, lo);
  std::vector<std::string> files;
  files.reserve(d.images.size());
  for (const DatasetImage& im : d.images) files.push_back(image_path(d, im));
  VEDGE_CHECK(!files.empty(), path, ": the dataset has no images");
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

std::vector<std::string> calibration_files(const std::string& path, const CalibSetOptions& opt) {
  std::error_code ec;
  VEDGE_CHECK(fs::exists(path, ec), path, ": no such file or folder");
  if (opt.format == "images") {
    VEDGE_CHECK(fs::is_directory(path, ec), path,
                ": not a folder (format 'images' reads a folder of images)");
    return image_folder_files(path);
  }
  const DatasetFormat f = parse_dataset_format(opt.format.empty() ? "auto" : opt.format);
  if (f == DatasetFormat::Auto && fs::is_directory(path, ec)) {
    bool dataset = true;
    try {
      detect_dataset_format(path);
    } catch (const Error&) {
      dataset = false;  // no dataset layout: a plain image folder
    }
    if (!dataset) return image_folder_files(path);
  }
  return dataset_files(path, f, opt.images_dir);
}

// The graph with `values` as extra outputs, checked; returns their value ids.
std::vector<int> add_outputs(Graph& g, const std::vector<std::string>& values) {
  std::vector<int> ids;
  std::set<int> seen;
  for (const std::string& name : values) {
    const int v = g.find_value(name);
    VEDGE_CHECK(v >= 0, "calibration: value '", name,
                "' is not in the graph (fused into its producer or renamed by the importer?)");
    const Value& val = g.values[v];
    VEDGE_CHECK(!val.is_constant(), "calibration: value '", name, "' is a constant, not an activation");
    VEDGE_CHECK(val.dtype == DType::F32, "calibration: value '", name, "' is ", dtype_name(val.dtype),
                ", expected a float32 activation");
    ids.push_back(v);
    if (seen.insert(v).second && std::find(g.outputs.begin(), g.outputs.end(), v) == g.outputs.end())
      g.outputs.push_back(v);
  }
  return ids;
}

// Index of the graph input fed with the preprocessed image.
int image_input(const Session& s, const std::string& name) {
  int i = name.empty() ? -1 : s.input_index(name);
  if (i < 0 && s.num_inputs() == 1) i = 0;
  VEDGE_CHECK(i >= 0, "calibration: the graph has ", s.num_inputs(), " inputs and none is named '", name,
              "'");
  return i;
}

// A Session over g plus the session output index of every requested value,
// checked to be produced with the value's shape.
struct ObservedSession {
  std::unique_ptr<Session> session;
  std::vector<int> outputs;  // per requested value
};

ObservedSession make_session(const Graph& g, const std::vector<std::string>& values,
                             const SessionOptions& opt) {
  Graph copy = g;
  const std::vector<int> ids = add_outputs(copy, values);
  std::vector<Shape> shapes;
  for (int v : ids) shapes.push_back(copy.values[v].shape);
  ObservedSession o;
  o.session = std::make_unique<Session>(std::move(copy), opt);
  for (size_t k = 0; k < values.size(); ++k) {
    const int out = o.session->output_index(values[k]);
    VEDGE_CHECK(out >= 0 && o.session->output_info(out).shape == shapes[k],
                "calibration: the executor does not produce value '", values[k], "' as an output");
    o.outputs.push_back(out);
  }
  return o;
}

}  // namespace

CalibrationSet load_calibration_set(const std::string& path, const InputSpec& input,
                                    const CalibSetOptions& opt) {
  VEDGE_CHECK(opt.samples >= 1, "calibration: the number of samples must be at least 1, got ", opt.samples);
  VEDGE_CHECK(input.width > 0 && input.height > 0, "calibration: bad model input size ", input.width, "x",
              input.height);
  std::vector<std::string> files = calibration_files(path, opt);
  if (opt.seed != 0) {  // Fisher-Yates with a fixed generator: the same on every platform
    std::mt19937_64 rng(opt.seed);
    for (size_t i = files.size() - 1; i > 0; --i) std::swap(files[i], files[rng() % (i + 1)]);
  }
  if (files.size() > static_cast<size_t>(opt.samples)) files.resize(static_cast<size_t>(opt.samples));

  CalibrationSet set;
  set.input = input;
  set.files = files;
  Preprocessor pre(input);
  for (const std::string& f : files) {
    Image img;
    try {
      img = decode_image_file(f);
    } catch (const Error& e) {
      fail("calibration image ", e.what());
    }
    Tensor t(DType::F32, {1, 3, input.height, input.width});
    pre.run(img, t.data<float>(), /*nhwc=*/false);
    set.inputs.push_back(std::move(t));
  }
  return set;
}

std::map<std::string, RangeObserver> observe_activations(const Graph& g,
                                                         const std::vector<std::string>& values,
                                                         const CalibrationSet& set, int bins, bool progress,
                                                         const SessionOptions& session) {
  VEDGE_CHECK(!set.inputs.empty(), "calibration: the calibration set is empty");
  ObservedSession o = make_session(g, values, session);
  Session& s = *o.session;
  const int in = image_input(s, set.input.name);
  std::vector<RangeObserver> obs(values.size(), RangeObserver(bins));
  std::unique_ptr<ProgressBar> bar;
  if (progress) bar = std::make_unique<ProgressBar>("calibrating", static_cast<int64_t>(set.inputs.size()));
  const Value& want = s.input_info(in);
  auto name_of = [&](size_t i) { return i < set.files.size() ? set.files[i] : "input " + std::to_string(i); };
  for (size_t i = 0; i < set.inputs.size(); ++i) {
    const Tensor& t = set.inputs[i];
    VEDGE_CHECK(t.dtype() == want.dtype && t.shape() == want.shape, "calibration: ", name_of(i), " gives ",
                dtype_name(t.dtype()), " ", shape_str(t.shape()), " but the model's input '", want.name,
                "' is ", dtype_name(want.dtype), " ", shape_str(want.shape));
    s.set_input(in, t);
    s.run();
    for (size_t k = 0; k < values.size(); ++k) {
      const int out = o.outputs[k];
      try {
        obs[k].observe(static_cast<const float*>(s.output_data(out)), numel(s.output_info(out).shape));
      } catch (const Error& e) {
        fail("calibration: value '", values[k], "' on ", name_of(i), ": ", e.what());
      }
    }
    if (bar) bar->update(static_cast<int64_t>(i + 1));
  }
  if (bar) bar->finish();
  std::map<std::string, RangeObserver> result;
  for (size_t k = 0; k < values.size(); ++k) result.emplace(values[k], std::move(obs[k]));
  return result;
}

std::map<std::string, TensorRange> calibrate(const Graph& g, const std::vector<std::string>& values,
                                             const CalibrationSet& set, const CalibOptions& opt,
                                             bool progress, const SessionOptions& session) {
  // Checked before the pass, so a bad option does not cost a calibration run.
  check_calib_options(opt);
  std::map<std::string, TensorRange> ranges;
  for (const auto& [name, obs] : observe_activations(g, values, set, opt.bins, progress, session))
    ranges[name] = obs.range(opt);
  return ranges;
}

std::map<std::string, TensorRange> calibrate(const Graph& g, const std::vector<std::string>& values,
                                             const CalibrationSet& set, const CalibOptions& opt,
                                             bool progress) {
  return calibrate(g, values, set, opt, progress, SessionOptions{});
}

std::map<std::string, Tensor> collect_activations(const Graph& g, const std::vector<std::string>& values,
                                                  const Tensor& input) {
  ObservedSession o = make_session(g, values, SessionOptions{});
  Session& s = *o.session;
  VEDGE_CHECK(s.num_inputs() == 1, "calibration: the graph has ", s.num_inputs(), " inputs, expected one");
  s.set_input(0, input);
  s.run();
  std::map<std::string, Tensor> result;
  for (size_t k = 0; k < values.size(); ++k) result[values[k]] = s.output(o.outputs[k]);
  return result;
}

}  // namespace vedge
