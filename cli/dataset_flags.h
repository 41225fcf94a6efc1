// dataset_flags.h: the flags every command that reads a detection dataset
// shares (--format, --images, --split, --skip-bad, --no-check-images),
// declared once and turned into data/load.h's load_dataset(). Used by
// `vedge data`, `vedge eval MODEL --data` and `vedge bench --data`.
// Depends on cli/flags.h and data/load.h only.
#pragma once

#include <string>

#include "cli/flags.h"
#include "data/load.h"

namespace vedge::cli {

// `prefix` starts each help text (e.g. "with MODEL: " where the flags apply
// to one form of a command).
void declare_dataset_flags(Flags& f, const std::string& prefix = "");
// The first of those flags given on the command line, "" when none (for
// "--images goes with --data" checks).
std::string given_dataset_flag(const Flags& f);
// LoadOptions from the flags declared above.
LoadOptions dataset_load_options(const Flags& f);
// load_dataset(path) with those options.
Dataset load_dataset_from_flags(const Flags& f, const std::string& path, LoadReport* report = nullptr);
// With --skip-bad: "<command>: skipped N images and M boxes:" and one line
// per problem on stderr; nothing when none was skipped.
void print_load_problems(const LoadReport& r, const std::string& command);

}  // namespace vedge::cli
