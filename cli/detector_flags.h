// detector_flags.h: the flags every command that runs a detector shares
// (--spec, thresholds, --threads), declared once and turned into a loaded
// Detector and its DetectOptions. Used by detect and eval (and serve later).
#pragma once

#include <memory>
#include <string>

#include "cli/flags.h"
#include "runtime/detector.h"

namespace vedge::cli {

// Declares --spec, --score-thresh, --iou-thresh, --max-detections,
// --class-agnostic and --threads; `prefix` starts each help text (e.g.
// "with MODEL: " where the flags apply to one form of a command).
void declare_detector_flags(Flags& f, const std::string& prefix = "");
// The Detector for MODEL with --spec and --threads.
std::unique_ptr<Detector> load_detector(const Flags& f, const std::string& model);
// Thresholds given on the command line; the others stay the spec's.
DetectOptions detect_options(const Flags& f);

}  // namespace vedge::cli
