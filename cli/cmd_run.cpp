// vedge run MODEL --input [NAME=]x.npy ... --out DIR: the network alone on
// given tensors, every output written as DIR/<output>.npy, to compare
// engines and debug a conversion.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/npy.h"
#include "runtime/onnx_import.h"
#include "runtime/tflite_import.h"

namespace vedge::cli {

namespace {
// Output names may contain characters that are not valid in file names.
std::string file_safe(const std::string& name) {
  std::string r = name;
  for (char& c : r)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return r.empty() ? "output" : r;
}
}  // namespace

int cmd_run(int argc, char** argv) {
  Flags f("vedge run", "vedge run MODEL --input [NAME=]FILE.npy [--input ...] --out DIR");
  f.flag("input", "", "input tensor as .npy, NAME= picks the model input (repeatable)")
      .flag("out", "", "directory for the outputs (<name>.npy each)")
      .flag("threads", "1", "threads")
      .flag("backend", "fast", "fast (XNNPACK) or reference (portable kernels)")
      .flag("batch", "1", "value for a dynamic batch dimension");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  if (f.positional().size() != 1) fail("vedge run: expected one MODEL, got ", f.positional().size());
  if (!f.has("input")) fail("vedge run: --input FILE.npy is required");
  if (!f.has("out")) fail("vedge run: --out DIR is required");
  const std::string model = f.positional()[0];
  std::string backend = f.str("backend");
  if (backend != "fast" && backend != "reference")
    fail("vedge run: --backend must be fast or reference, got '", backend, "'");

  ImportOptions io;
  io.batch = f.integer("batch", 1, 4096);
  SessionOptions so;
  so.num_threads = f.integer("threads", 1, 256);
  so.backend = backend == "fast" ? Backend::Fast : Backend::Reference;
  Session s(is_tflite_file(model) ? import_tflite_file(model) : import_onnx_file(model, io), so);

  // --input a.npy --input b.npy (model input order) or NAME=FILE.npy.
  int next = 0;
  std::vector<bool> filled(static_cast<size_t>(s.num_inputs()), false);
  for (const std::string& item : f.all("input")) {
    std::string name, path = item;
    size_t eq = item.find('=');
    if (eq != std::string::npos) name = item.substr(0, eq), path = item.substr(eq + 1);
    int idx = name.empty() ? next++ : s.input_index(name);
    if (idx < 0 || idx >= s.num_inputs())
      fail(model, ": no input ", name.empty() ? "#" + std::to_string(idx) : "'" + name + "'");
    Tensor t = read_npy(path);
    const Value& v = s.input_info(idx);
    if (t.dtype() != v.dtype || t.shape() != v.shape)
      fail(path, ": input '", v.name, "' expects ", dtype_name(v.dtype), " ", shape_str(v.shape),
           ", the file holds ", dtype_name(t.dtype()), " ", shape_str(t.shape()));
    s.set_input(idx, t);
    filled[static_cast<size_t>(idx)] = true;
  }
  for (int i = 0; i < s.num_inputs(); ++i)
    if (!filled[static_cast<size_t>(i)])
      fail(model, ": no --input given for model input '", s.input_info(i).name, "'");
  s.run();
  std::filesystem::create_directories(f.str("out"));
  for (int i = 0; i < s.num_outputs(); ++i) {
    std::string path = (std::filesystem::path(f.str("out")) / (file_safe(s.output_info(i).name) + ".npy")).string();
    write_npy(path, s.output(i));
    std::printf("%s %s %s\n", path.c_str(), dtype_name(s.output_info(i).dtype),
                shape_str(s.output_info(i).shape).c_str());
  }
  return 0;
}

}  // namespace vedge::cli
