// tools/export/tflite_export.h on the random-weight SSDLite test detector
// (MobileNetV3-Small, 2 feature maps, 320x320; the export_test_models CTest
// fixture writes it) and 8 synthetic calibration images:
//   - every precision: the file, its size against fp32, its input/outputs
//     (NHWC image input, boxes/scores as in the ONNX) and the three metadata
//     entries, all read back with raw FlatBuffers table accessors (field
//     numbers of the TFLite schema), independent of the writer's code;
//   - an int8 ONNX from `vedge quantize` keeps its quantization: the same
//     "vedge.quantization" record and the same per-channel weight scales as
//     its QDQ graph, and the same bytes as converting the float model with
//     the same calibration;
//   - full-integer uint8 io and the in-graph post-processing;
//   - `vedge export --all`: eight files, the int8 ONNX and TFLite sharing one
//     calibration;
//   - bad input: one-line errors and no file left behind.
// About 15 s (five int8 calibrations of 8 images).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/synthetic.h"
#include "onnx_builder.h"
#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "runtime/onnx_import.h"
#include "tools/export/tflite_export.h"
#include "tools/quantize/quantize.h"

namespace fs = std::filesystem;
using namespace vedge;

namespace {

const std::string kSsd = std::string(VEDGE_TEST_WORK_DIR) + "/models/ssdlite320_mobilenet_v3_small_2fm_op17.onnx";

#define NEED_SSD()         \
  if (!fs::exists(kSsd)) \
  GTEST_SKIP() << kSsd << " absent: the export_test_models CTest fixture writes it"

std::string work_dir(const std::string& name) {
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/tflite_export/" + name;
  fs::create_directories(d);
  return d;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// 8 synthetic shapes images (the demo's data), written once.
std::string calib_set() {
  const std::string dir = work_dir("calib");
  if (!fs::exists(dir + "/calib.json")) {
    ShapesConfig cfg;
    cfg.num_images = 8;
    cfg.seed = 21;
    generate_shapes(cfg, dir, "calib");
  }
  return dir + "/calib.json";
}

TfliteExportOptions options(Precision p) {
  TfliteExportOptions o;
  o.precision = p;
  o.progress = false;
  if (p == Precision::INT8) {
    o.quantize.calib_path = calib_set();
    o.quantize.calib_set.samples = 8;
  }
  return o;
}

// --- a .tflite read with raw FlatBuffers tables (TFLite schema field ids) ---

using Table = flatbuffers::Table;
using TableVec = flatbuffers::Vector<flatbuffers::Offset<Table>>;
flatbuffers::voffset_t field(int id) { return static_cast<flatbuffers::voffset_t>(4 + 2 * id); }

struct FbTensor {
  std::string name;
  int type = -1;  // TensorType: 0 float32, 1 float16, 2 int32, 3 uint8, 9 int8
  std::vector<int> shape;
  uint32_t buffer = 0;
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
};

struct FbModel {
  std::string bytes;
  std::map<std::string, std::string> metadata;
  std::vector<FbTensor> tensors;
  std::vector<int> inputs, outputs;
};

FbModel read_tflite(const std::string& path) {
  FbModel m;
  m.bytes = slurp(path);
  EXPECT_GE(m.bytes.size(), 8u);
  EXPECT_EQ(m.bytes.substr(4, 4), "TFL3") << path;
  const Table* model = flatbuffers::GetRoot<Table>(m.bytes.data());
  const TableVec* buffers = model->GetPointer<const TableVec*>(field(4));  // Model.buffers
  auto buffer_bytes = [&](uint32_t i) {
    const auto* data = buffers->Get(i)->GetPointer<const flatbuffers::Vector<uint8_t>*>(field(0));
    return data ? std::string(reinterpret_cast<const char*>(data->data()), data->size()) : std::string();
  };
  if (const TableVec* md = model->GetPointer<const TableVec*>(field(6)))  // Model.metadata
    for (flatbuffers::uoffset_t i = 0; i < md->size(); ++i)
      m.metadata[md->Get(i)->GetPointer<const flatbuffers::String*>(field(0))->str()] =
          buffer_bytes(md->Get(i)->GetField<uint32_t>(field(1), 0));
  const Table* sg = model->GetPointer<const TableVec*>(field(2))->Get(0);  // Model.subgraphs[0]
  const TableVec* tensors = sg->GetPointer<const TableVec*>(field(0));
  for (flatbuffers::uoffset_t i = 0; i < tensors->size(); ++i) {
    const Table* t = tensors->Get(i);
    FbTensor x;
    if (const auto* s = t->GetPointer<const flatbuffers::Vector<int32_t>*>(field(0))) x.shape.assign(s->begin(), s->end());
    x.type = t->GetField<int8_t>(field(1), 0);
    x.buffer = t->GetField<uint32_t>(field(2), 0);
    x.name = t->GetPointer<const flatbuffers::String*>(field(3))->str();
    if (const Table* q = t->GetPointer<const Table*>(field(4))) {  // QuantizationParameters
      if (const auto* s = q->GetPointer<const flatbuffers::Vector<float>*>(field(2))) x.scale.assign(s->begin(), s->end());
      if (const auto* z = q->GetPointer<const flatbuffers::Vector<int64_t>*>(field(3)))
        x.zero_point.assign(z->begin(), z->end());
    }
    m.tensors.push_back(x);
  }
  for (int i : *sg->GetPointer<const flatbuffers::Vector<int32_t>*>(field(1))) m.inputs.push_back(i);
  for (int i : *sg->GetPointer<const flatbuffers::Vector<int32_t>*>(field(2))) m.outputs.push_back(i);
  return m;
}

const FbTensor& io_tensor(const FbModel& m, const std::vector<int>& ids, const std::string& name) {
  for (int i : ids)
    if (m.tensors.at(static_cast<size_t>(i)).name == name) return m.tensors[static_cast<size_t>(i)];
  throw std::runtime_error("no input/output named " + name);
}

// The per-channel scale vectors of the constant int8 tensors (conv weights).
std::multiset<std::vector<float>> weight_scales_of(const FbModel& m) {
  std::multiset<std::vector<float>> out;
  for (const FbTensor& t : m.tensors)
    if (t.type == 9 && t.buffer != 0 && t.scale.size() > 1) out.insert(t.scale);
  return out;
}

// The same from a QDQ graph: the scales of every DequantizeLinear reading a
// constant per-channel int8 weight.
std::multiset<std::vector<float>> weight_scales_of(const Graph& qdq) {
  std::multiset<std::vector<float>> out;
  for (const Node& n : qdq.nodes) {
    if (n.op != "DequantizeLinear") continue;
    const Value& w = qdq.values[static_cast<size_t>(n.inputs[0])];
    const Value& s = qdq.values[static_cast<size_t>(n.inputs[1])];
    if (w.is_constant() && w.dtype == DType::I8 && s.constant.numel() > 1) out.insert(s.constant.to_floats());
  }
  return out;
}

// (scale, zero point) of the per-tensor int8 activations (no data).
std::set<std::pair<float, int64_t>> activation_params_of(const FbModel& m) {
  std::set<std::pair<float, int64_t>> out;
  for (const FbTensor& t : m.tensors)
    if (t.type == 9 && t.buffer == 0 && t.scale.size() == 1) out.insert({t.scale[0], t.zero_point.at(0)});
  return out;
}

// The same from a QDQ graph (as written, not lowered): the parameters of
// its activation QuantizeLinear nodes.
std::set<std::pair<float, int64_t>> activation_params_of(const Graph& qdq) {
  std::set<std::pair<float, int64_t>> out;
  for (const Node& n : qdq.nodes)
    if (n.op == "QuantizeLinear" && n.inputs.size() == 3) {
      const Tensor& s = qdq.values[static_cast<size_t>(n.inputs[1])].constant;
      const Tensor& z = qdq.values[static_cast<size_t>(n.inputs[2])].constant;
      if (s.numel() == 1 && z.numel() == 1) out.insert({static_cast<float>(s.at_f64(0)), z.at_i64(0)});
    }
  return out;
}

void expect_one_line_error_and_no_file(const std::function<void()>& f, const std::string& needle,
                                       const std::string& out) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming '" << needle << "'";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(needle), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(out)) << out;
  EXPECT_FALSE(fs::exists(out + ".tmp")) << out;
}

}  // namespace

TEST(TfliteExport, EveryPrecisionWithMetadata) {
  NEED_SSD();
  const std::string dir = work_dir("precisions");
  const Graph onnx = import_onnx_file(kSsd);
  const std::string spec_json = detector_spec_to_json(resolve_detector_spec(kSsd, onnx.metadata));
  const Shape boxes = onnx.values[static_cast<size_t>(onnx.find_value("boxes"))].shape;
  const Shape scores = onnx.values[static_cast<size_t>(onnx.find_value("scores"))].shape;
  std::map<Precision, size_t> bytes;
  for (Precision p : {Precision::FP32, Precision::FP16, Precision::Dynamic, Precision::INT8}) {
    SCOPED_TRACE(precision_name(p));
    const std::string out = dir + "/" + precision_name(p) + ".tflite";
    fs::remove(out);
    const TfliteExportResult r = export_tflite(kSsd, out, options(p));
    EXPECT_EQ(r.path, out);
    EXPECT_EQ(r.precision, p);
    ASSERT_TRUE(fs::exists(out));
    EXPECT_EQ(r.bytes, fs::file_size(out));
    bytes[p] = r.bytes;

    const FbModel m = read_tflite(out);
    // Input NHWC float, outputs in the ONNX's shapes.
    const FbTensor& in = io_tensor(m, m.inputs, "images");
    EXPECT_EQ(in.shape, (std::vector<int>{1, 320, 320, 3}));
    EXPECT_EQ(in.type, 0);
    const FbTensor& b = io_tensor(m, m.outputs, "boxes");
    const FbTensor& s = io_tensor(m, m.outputs, "scores");
    EXPECT_EQ(std::vector<int64_t>(b.shape.begin(), b.shape.end()), boxes);
    EXPECT_EQ(std::vector<int64_t>(s.shape.begin(), s.shape.end()), scores);
    EXPECT_EQ(b.type, 0);

    // Metadata: the spec as the source has it, the tflite record, and the
    // quantization record for int8 only.
    ASSERT_TRUE(m.metadata.count("vedge.detector"));
    EXPECT_EQ(detector_spec_to_json(parse_detector_spec(m.metadata.at("vedge.detector"), out)), spec_json);
    ASSERT_TRUE(m.metadata.count("vedge.tflite"));
    const nlohmann::json t = nlohmann::json::parse(m.metadata.at("vedge.tflite"));
    EXPECT_EQ(t.at("precision"), precision_name(p));
    EXPECT_EQ(t.at("io"), "float");
    EXPECT_EQ(t.at("layout"), "NHWC");
    EXPECT_EQ(t.at("postprocess"), false);
    EXPECT_EQ(t.at("producer").get<std::string>().rfind("vision-edge ", 0), 0u);
    EXPECT_EQ(m.metadata.count("vedge.quantization"), p == Precision::INT8 ? 1u : 0u);
    if (p == Precision::INT8) {
      const nlohmann::json q = nlohmann::json::parse(m.metadata.at("vedge.quantization"));
      EXPECT_EQ(q.at("precision"), "int8");
      EXPECT_EQ(q.at("samples"), 8);
      EXPECT_EQ(q.at("io"), "float");
    }
    // fp16 / dynamic / int8 hold quantized or half weights; fp32 none.
    size_t half = 0, int8_weights = 0;
    for (const FbTensor& x : m.tensors) {
      half += x.type == 1 && x.buffer != 0;
      int8_weights += x.type == 9 && x.buffer != 0 && x.scale.size() > 1;
    }
    EXPECT_EQ(half > 0, p == Precision::FP16);
    EXPECT_EQ(int8_weights > 0, p == Precision::Dynamic || p == Precision::INT8);
  }
  const double fp32 = static_cast<double>(bytes[Precision::FP32]);
  std::printf("  sizes vs fp32: fp16 %.3fx, dynamic %.3fx, int8 %.3fx\n", bytes[Precision::FP16] / fp32,
              bytes[Precision::Dynamic] / fp32, bytes[Precision::INT8] / fp32);
  EXPECT_LE(bytes[Precision::FP16] / fp32, 0.52);
  EXPECT_LE(bytes[Precision::Dynamic] / fp32, 0.35);
  EXPECT_LE(bytes[Precision::INT8] / fp32, 0.35);
}

TEST(TfliteExport, QuantizedSourceKeepsItsQuantization) {
  NEED_SSD();
  const std::string dir = work_dir("qdq_source");
  QuantizeOptions q;
  q.qdq.precision = Precision::INT8;
  q.calib_path = calib_set();
  q.calib_set.samples = 8;
  q.progress = false;
  const QuantizeResult r = quantize_model(kSsd, q);
  write_quantized(r, dir + "/q.onnx");

  // No calibration set: the file's own quantization.
  TfliteExportOptions keep = options(Precision::INT8);
  keep.quantize.calib_path.clear();
  fs::remove(dir + "/q.tflite");
  export_tflite(dir + "/q.onnx", dir + "/q.tflite", keep);
  const FbModel m = read_tflite(dir + "/q.tflite");
  EXPECT_EQ(m.metadata.at("vedge.quantization"), r.metadata.at(kQuantizationMetadataKey));
  const auto want = weight_scales_of(r.qdq), got = weight_scales_of(m);
  EXPECT_GT(want.size(), 20u);
  EXPECT_EQ(got, want) << "per-channel weight scales differ from the QDQ graph's";

  // The float model quantized with the same calibration gives the same file.
  export_tflite(kSsd, dir + "/direct.tflite", options(Precision::INT8));
  EXPECT_EQ(slurp(dir + "/direct.tflite"), m.bytes);

  // An fp16 ONNX converts to fp16 only, without calibration.
  QuantizeOptions h;
  h.qdq.precision = Precision::FP16;
  h.progress = false;
  write_quantized(quantize_model(kSsd, h), dir + "/h.onnx");
  EXPECT_EQ(source_precision(dir + "/h.onnx"), Precision::FP16);
  EXPECT_EQ(source_precision(kSsd), Precision::FP32);
  const TfliteExportResult hr = export_tflite(dir + "/h.onnx", dir + "/h.tflite", options(Precision::FP16));
  EXPECT_EQ(nlohmann::json::parse(read_tflite(hr.path).metadata.at("vedge.tflite")).at("precision"), "fp16");
}

TEST(TfliteExport, FullIntegerIoAndPostprocessInGraph) {
  NEED_SSD();
  const std::string dir = work_dir("io_nms");
  TfliteExportOptions o = options(Precision::INT8);
  o.io = DType::U8;
  o.nms_in_graph = true;
  o.postprocess.max_detections = 7;
  const TfliteExportResult r = export_tflite(kSsd, dir + "/u8_nms.tflite", o);
  const FbModel m = read_tflite(r.path);
  EXPECT_EQ(io_tensor(m, m.inputs, "images").type, 3);  // uint8
  EXPECT_EQ(io_tensor(m, m.inputs, "images").scale.size(), 1u);
  std::set<std::string> outs;
  for (int i : m.outputs) outs.insert(m.tensors[static_cast<size_t>(i)].name);
  EXPECT_EQ(outs, (std::set<std::string>{"detection_boxes", "detection_classes", "detection_scores", "num_detections"}));
  EXPECT_EQ(io_tensor(m, m.outputs, "detection_boxes").shape, (std::vector<int>{1, 7, 4}));
  const nlohmann::json t = nlohmann::json::parse(m.metadata.at("vedge.tflite"));
  EXPECT_EQ(t.at("io"), "uint8");
  EXPECT_EQ(t.at("postprocess"), true);
  EXPECT_EQ(nlohmann::json::parse(m.metadata.at("vedge.quantization")).at("io"), "uint8");
}

TEST(TfliteExport, ExportAllThroughTheCli) {
  NEED_SSD();
  const std::string dir = work_dir("all");
  fs::remove_all(dir + "/out");
  const std::string cmd = std::string(VEDGE_CLI) + " export " + kSsd + " --all --calib " + calib_set() +
                          " --samples 8 --out " + dir + "/out >" + dir + "/stdout.txt 2>" + dir + "/stderr.txt";
  const int rc = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << slurp(dir + "/stderr.txt");
  const std::string table = slurp(dir + "/stdout.txt");
  std::printf("%s", table.c_str());
  const std::string stem = fs::path(kSsd).stem().string();
  std::vector<std::string> files;
  for (const char* ext : {".onnx", ".tflite"})
    for (const char* p : {"fp32", "fp16", "dynamic", "int8"}) files.push_back(stem + "_" + p + ext);
  size_t at = 0;
  for (const std::string& f : files) {
    ASSERT_TRUE(fs::exists(dir + "/out/" + f)) << f;
    const size_t pos = table.find(f + " ");
    ASSERT_NE(pos, std::string::npos) << f << " not in the table:\n" << table;
    EXPECT_GT(pos, at) << "table order";
    at = pos;
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir + "/out"), fs::directory_iterator()), 8);
  EXPECT_NE(table.find("8 files in"), std::string::npos);
  // fp32 ONNX = the source; one calibration shared by the two int8 files.
  EXPECT_EQ(slurp(dir + "/out/" + stem + "_fp32.onnx"), slurp(kSsd));
  ImportOptions simulate;
  simulate.qdq = QdqMode::Simulate;  // keeps the QuantizeLinear nodes
  const Graph q = import_onnx_file(dir + "/out/" + stem + "_int8.onnx", simulate);
  const FbModel t = read_tflite(dir + "/out/" + stem + "_int8.tflite");
  EXPECT_EQ(t.metadata.at("vedge.quantization"), q.metadata.at(kQuantizationMetadataKey));
  // Every calibrated activation of the int8 ONNX is in the int8 TFLite with
  // the same parameters (the converter may add intermediate tensors, e.g.
  // of hard-sigmoid as ops, with parameters of its own).
  const auto onnx_acts = activation_params_of(q), tflite_acts = activation_params_of(t);
  EXPECT_GT(onnx_acts.size(), 20u);
  for (const auto& p : onnx_acts)
    EXPECT_TRUE(tflite_acts.count(p)) << "scale " << p.first << " zero point " << p.second << " not in the TFLite";
}

TEST(TfliteExport, BadInputIsOneLineAndLeavesNoFile) {
  NEED_SSD();
  const std::string dir = work_dir("errors");
  const std::string out = dir + "/out.tflite";
  fs::remove(out);
  {
    TfliteExportOptions o = options(Precision::FP16);
    o.io = DType::I8;
    expect_one_line_error_and_no_file([&] { export_tflite(kSsd, out, o); }, "needs precision int8", out);
  }
  {
    TfliteExportOptions o = options(Precision::INT8);
    o.quantize.calib_path.clear();
    expect_one_line_error_and_no_file([&] { export_tflite(kSsd, out, o); }, "calibration", out);
  }
  {  // a calibration set with no images
    TfliteExportOptions o = options(Precision::INT8);
    fs::create_directories(dir + "/empty");
    o.quantize.calib_path = dir + "/empty";
    expect_one_line_error_and_no_file([&] { export_tflite(kSsd, out, o); }, "empty", out);
  }
  {  // calibration images of another size than the input are resized, but a
     // spec whose input differs from the model's is refused
    TfliteExportOptions o = options(Precision::INT8);
    DetectorSpec spec = resolve_detector_spec(kSsd, import_onnx_file(kSsd).metadata);
    spec.input.width = spec.input.height = 256;
    std::ofstream(dir + "/spec256.json") << detector_spec_to_json(spec);
    o.quantize.spec_path = dir + "/spec256.json";
    expect_one_line_error_and_no_file([&] { export_tflite(kSsd, out, o); }, "[1,3,320,320]", out);
  }
  {  // a model without a detector spec cannot get the post-processing
    test::OnnxBuilder b(13);
    b.input("images", {1, 3, 16, 16});
    b.initializer("w", {2, 3, 3, 3}, std::vector<float>(54, 0.1f));
    b.node("Conv", {"images", "w"}, {"y"}, {test::attr_ints("pads", {1, 1, 1, 1})});
    b.output("y");
    b.save(dir + "/plain.onnx");
    TfliteExportOptions o = options(Precision::FP32);
    o.nms_in_graph = true;
    expect_one_line_error_and_no_file([&] { export_tflite(dir + "/plain.onnx", out, o); }, "detector spec", out);
    // Without it the plain network converts.
    o.nms_in_graph = false;
    EXPECT_GT(export_tflite(dir + "/plain.onnx", dir + "/plain.tflite", o).bytes, 0u);
  }
  {  // an already quantized model: its own precision only, no calibration
    QuantizeOptions h;
    h.qdq.precision = Precision::Dynamic;
    h.progress = false;
    write_quantized(quantize_model(kSsd, h), dir + "/dyn.onnx");
    expect_one_line_error_and_no_file([&] { export_tflite(dir + "/dyn.onnx", out, options(Precision::FP32)); },
                                      "already quantized (dynamic)", out);
    TfliteExportOptions o = options(Precision::Dynamic);
    o.quantize.calib_path = calib_set();
    expect_one_line_error_and_no_file([&] { export_tflite(dir + "/dyn.onnx", out, o); }, "no calibration set", out);
    ExportAllOptions a;
    a.quantize.calib_path = calib_set();
    a.progress = false;
    expect_one_line_error_and_no_file([&] { export_all(dir + "/dyn.onnx", dir + "/all", a); }, "float model",
                                      dir + "/all");
  }
  {  // export --all without a calibration set writes nothing
    ExportAllOptions a;
    a.progress = false;
    expect_one_line_error_and_no_file([&] { export_all(kSsd, dir + "/all", a); }, "--calib", dir + "/all");
  }
}
