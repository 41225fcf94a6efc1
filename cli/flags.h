// flags.h: a small declarative command-line parser for the vedge commands.
// Each command declares its flags (name, kind, default, help); parse()
// accepts "--name value", "--name=value" and boolean "--name" (and "-o" for
// a command that declares --out), rejects
// unknown flags and malformed numbers with one clear line, and collects
// positional arguments. Depends on runtime/error.h only.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vedge::cli {

class Flags {
 public:
  Flags(std::string command, std::string usage);
  Flags& flag(const std::string& name, const std::string& def, const std::string& help);
  Flags& boolean(const std::string& name, const std::string& help);

  // Throws vedge::Error ("vedge detect: unknown flag --foo").
  void parse(int argc, char** argv);
  bool help_requested() const { return help_; }
  std::string help() const;

  const std::vector<std::string>& positional() const { return pos_; }
  bool has(const std::string& name) const;  // given on the command line
  std::string str(const std::string& name) const;  // the last value given
  std::vector<std::string> all(const std::string& name) const;  // every value given
  bool on(const std::string& name) const;
  int integer(const std::string& name, int lo, int hi) const;
  double number(const std::string& name, double lo, double hi) const;

 private:
  struct Spec {
    std::string def, help;
    bool is_bool = false;
  };
  std::string command_, usage_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::vector<std::string>> given_;
  std::vector<std::string> pos_;
  bool help_ = false;
};

}  // namespace vedge::cli
