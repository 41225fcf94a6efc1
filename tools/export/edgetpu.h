// edgetpu.h: an Edge TPU readiness check for a TFLite file. From the
// operator list of the file (read_tflite_info, runtime/tflite_import.h) it
// tells, op by op, whether the Edge TPU compiler's published table of
// supported operations (and its per-op conditions) allows mapping it, and
// why not. The compiler maps one leading segment: the first op that does not
// map, and everything after it, runs on the CPU. The facts are in
// docs/tflite-format.md ("Edge TPU readiness"). Depends on
// runtime/tflite_import.h (the TfliteModelInfo struct only); no Edge TPU
// software is needed or used.
#pragma once

#include <string>
#include <vector>

#include "runtime/tflite_import.h"

namespace vedge {

struct EdgeTpuOpCheck {
  int index;
  std::string op;
  bool mapped;         // the op itself satisfies the table and its conditions
  std::string reason;  // why not (or the condition it meets / cannot verify)
};

std::vector<EdgeTpuOpCheck> edgetpu_check(const TfliteModelInfo& info);

struct EdgeTpuSummary {
  int total = 0;
  int mapped = 0;          // ops that map on their own
  int first_cpu_op = -1;   // index of the first op that does not map; -1: all map
  int on_edgetpu = 0;      // ops before first_cpu_op (the Edge TPU segment)
};
EdgeTpuSummary edgetpu_summary(const std::vector<EdgeTpuOpCheck>& checks);
// One line: "12 of 20 ops map to the Edge TPU; op 5 (HARD_SWISH) splits the
// graph: ops 5..19 run on the CPU".
std::string edgetpu_summary_line(const std::vector<EdgeTpuOpCheck>& checks);

}  // namespace vedge
