// dispatch.h: the sub-command table and main() body shared by `vedge` and
// `vedge-train`: usage, --help, --version, picking the command, and turning
// any error into one line on stderr ("<tool> <command>: error: ...") with
// exit code 1 (2 for a usage error). Depends on the standard library only.
#pragma once

#include <cstddef>
#include <exception>
#include <string>

namespace vedge::cli {

struct Command {
  const char* name;
  int (*fn)(int, char**);
  const char* summary;
};

struct Tool {
  const char* name;  // "vedge"
  const Command* commands;
  size_t num_commands;
  void (*print_version)();  // prints the --version text to stdout
  const char* version_help; // the --version line of the usage text
  // The message of an exception that is not a vedge::Error; null: what().
  std::string (*describe)(const std::exception&) = nullptr;
};

int dispatch(const Tool& tool, int argc, char** argv);

}  // namespace vedge::cli
