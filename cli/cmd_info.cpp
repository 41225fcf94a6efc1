// vedge info MODEL: what a model is and what it costs: inputs, outputs, op
// histogram, parameters, MACs, activation memory, metadata and the detector
// spec it carries (or the sidecar that gives it one); --edgetpu: the Edge
// TPU readiness of a .tflite file (tools/export/edgetpu.h).
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/flags.h"
#include "runtime/cpu_features.h"
#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/onnx_import.h"
#include "runtime/tflite_import.h"
#include "tools/export/edgetpu.h"

namespace vedge::cli {

namespace {

// `vedge info MODEL --edgetpu`: reads only the operator list, so files the
// importer cannot run (custom ops) are checked too.
int print_edgetpu(const std::string& model, bool json) {
  if (!is_tflite_file(model)) fail(model, ": --edgetpu needs a .tflite model");
  const std::vector<EdgeTpuOpCheck> checks = edgetpu_check(read_tflite_info_file(model));
  const EdgeTpuSummary s = edgetpu_summary(checks);
  if (json) {
    nlohmann::ordered_json j;
    j["model"] = model;
    j["ops"] = nlohmann::ordered_json::array();
    for (const EdgeTpuOpCheck& c : checks)
      j["ops"].push_back({{"index", c.index}, {"op", c.op}, {"mapped", c.mapped}, {"reason", c.reason}});
    j["total"] = s.total;
    j["mapped"] = s.mapped;
    j["first_cpu_op"] = s.first_cpu_op;
    j["on_edgetpu"] = s.on_edgetpu;
    j["summary"] = edgetpu_summary_line(checks);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%5s  %-30s %-8s %s\n", "index", "op", "edgetpu", "reason");
  for (const EdgeTpuOpCheck& c : checks)
    std::printf("%5d  %-30s %-8s %s\n", c.index, c.op.c_str(), c.mapped ? "yes" : "no",
                c.reason.empty() ? "-" : c.reason.c_str());
  std::printf("%s\n", edgetpu_summary_line(checks).c_str());
  return 0;
}

}  // namespace

int cmd_info(int argc, char** argv) {
  Flags f("vedge info", "vedge info MODEL [--spec FILE] [--json] [--edgetpu]");
  f.flag("spec", "", "detector spec JSON for models without vedge.detector metadata")
      .boolean("json", "print JSON instead of text")
      .boolean("edgetpu", "TFLite only: which ops an Edge TPU compile can map (from the operator list)");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  if (f.positional().size() != 1) fail("vedge info: expected one MODEL, got ", f.positional().size());
  const std::string model = f.positional()[0];
  if (f.on("edgetpu")) return print_edgetpu(model, f.on("json"));

  Graph g = is_tflite_file(model) ? import_tflite_file(model) : import_onnx_file(model);
  int64_t macs = 0;
  for (const Node& n : g.nodes) macs += node_macs(g, n);
  nlohmann::ordered_json j;
  j["model"] = model;
  j["file_bytes"] = std::filesystem::file_size(model);
  auto io = [&](const std::vector<int>& ids) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (int v : ids)
      a.push_back({{"name", g.values[v].name},
                   {"dtype", dtype_name(g.values[v].dtype)},
                   {"shape", g.values[v].shape}});
    return a;
  };
  j["inputs"] = io(g.inputs);
  j["outputs"] = io(g.outputs);
  j["nodes"] = g.nodes.size();
  j["ops"] = op_histogram(g);
  j["params"] = param_count(g);
  j["macs"] = macs;
  j["metadata"] = g.metadata;
  const CpuFeatures& cpu = cpu_features();
  j["cpu"] = {{"arch", cpu.arch}, {"name", cpu.cpu}, {"logical_cpus", cpu.logical_cpus}, {"isa", cpu.isa}};
  std::string spec_note;
  try {
    DetectorSpec spec = resolve_detector_spec(model, g.metadata, f.str("spec"));
    DetectorShapes ds = validate_detector_spec(spec, g);
    j["detector"] = {{"source", spec.source},
                     {"labels", spec.labels},
                     {"anchors", ds.num_anchors},
                     {"input", {spec.input.width, spec.input.height}}};
  } catch (const Error& e) {
    spec_note = e.what();
    j["detector"] = nullptr;
  }
  {
    Session s(std::move(g), {});
    j["arena_bytes"] = s.arena_bytes();
    j["weight_bytes"] = s.constant_bytes();
  }

  if (f.on("json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model      %s (%.2f MB)\n", model.c_str(), j["file_bytes"].get<double>() / 1e6);
  for (const char* k : {"inputs", "outputs"})
    for (const auto& v : j[k])
      std::printf("%-10s %s %s %s\n", k == std::string("inputs") ? "input" : "output",
                  v["name"].get<std::string>().c_str(), v["dtype"].get<std::string>().c_str(),
                  v["shape"].dump().c_str());
  std::printf("params     %.3f M\n", j["params"].get<double>() / 1e6);
  std::printf("MACs       %.1f M\n", j["macs"].get<double>() / 1e6);
  std::printf("activations %.2f MB (one arena, planned at load)\n",
              j["arena_bytes"].get<double>() / 1e6);
  std::printf("nodes      %zu:", j["nodes"].get<size_t>());
  for (auto& [op, n] : j["ops"].items()) std::printf(" %s=%d", op.c_str(), n.get<int>());
  std::printf("\n");
  for (auto& [k, v] : j["metadata"].items()) {
    std::string s = v.get<std::string>();
    if (s.size() > 70) s = s.substr(0, 67) + "...";
    std::printf("metadata   %s = %s\n", k.c_str(), s.c_str());
  }
  if (j["detector"].is_null()) {
    std::printf("detector   none: %s\n", spec_note.c_str());
  } else {
    const auto& d = j["detector"];
    std::printf("detector   %zu labels, %lld anchors, input %dx%d (from %s)\n", d["labels"].size(),
                static_cast<long long>(d["anchors"].get<int64_t>()), d["input"][0].get<int>(),
                d["input"][1].get<int>(), d["source"].get<std::string>().c_str());
  }
  std::printf("cpu        %s\n", cpu_features_line(cpu).c_str());
  return 0;
}

}  // namespace vedge::cli
