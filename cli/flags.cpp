#include "cli/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "runtime/error.h"

namespace vedge::cli {

Flags::Flags(std::string command, std::string usage)
    : command_(std::move(command)), usage_(std::move(usage)) {}

Flags& Flags::flag(const std::string& name, const std::string& def, const std::string& help) {
  order_.push_back(name);
  specs_[name] = {def, help, false};
  return *this;
}

Flags& Flags::boolean(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = {"", help, true};
  return *this;
}

void Flags::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    if (a == "-o" && specs_.count("out")) a = "--out";  // the conventional alias
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      pos_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool inline_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    auto it = specs_.find(name);
    if (it == specs_.end()) fail(command_, ": unknown flag --", name, " (see --help)");
    if (it->second.is_bool) {
      if (inline_value && value != "true" && value != "false")
        fail(command_, ": --", name, " takes no value");
      given_[name].push_back(inline_value ? value : "true");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) fail(command_, ": --", name, " needs a value");
      value = argv[++i];
    }
    given_[name].push_back(value);
  }
}

std::string Flags::help() const {
  std::ostringstream os;
  os << "usage: " << usage_ << "\n";
  if (!order_.empty()) os << "\noptions:\n";
  for (const auto& n : order_) {
    const Spec& s = specs_.at(n);
    std::string left = "  --" + n + (s.is_bool ? "" : " V");
    os << left << std::string(left.size() < 24 ? 24 - left.size() : 1, ' ') << s.help;
    if (!s.is_bool && !s.def.empty()) os << " (default " << s.def << ")";
    os << "\n";
  }
  return os.str();
}

bool Flags::has(const std::string& name) const { return given_.count(name) != 0; }

std::string Flags::str(const std::string& name) const {
  auto g = given_.find(name);
  if (g != given_.end()) return g->second.back();
  auto s = specs_.find(name);
  if (s == specs_.end()) fail(command_, ": internal: undeclared flag --", name);
  return s->second.def;
}

std::vector<std::string> Flags::all(const std::string& name) const {
  auto g = given_.find(name);
  return g == given_.end() ? std::vector<std::string>{} : g->second;
}

bool Flags::on(const std::string& name) const { return str(name) == "true"; }

double Flags::number(const std::string& name, double lo, double hi) const {
  std::string v = str(name);
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno || !std::isfinite(d))
    fail(command_, ": --", name, " expects a number, got '", v, "'");
  if (d < lo || d > hi) fail(command_, ": --", name, " must be in [", lo, ", ", hi, "], got ", v);
  return d;
}

int Flags::integer(const std::string& name, int lo, int hi) const {
  std::string v = str(name);
  errno = 0;
  char* end = nullptr;
  long d = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno)
    fail(command_, ": --", name, " expects an integer, got '", v, "'");
  if (d < lo || d > hi) fail(command_, ": --", name, " must be in [", lo, ", ", hi, "], got ", v);
  return static_cast<int>(d);
}

}  // namespace vedge::cli
