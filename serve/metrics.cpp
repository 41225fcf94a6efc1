// metrics.cpp: the Prometheus registry (see metrics.h).
// Depends on the C++ standard library only.
#include "serve/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace vedge::serve {
namespace {

std::string escape_label(const std::string& v) {
  std::string r;
  for (char c : v) {
    if (c == '\\' || c == '"') r += '\\';
    if (c == '\n') {
      r += "\\n";
      continue;
    }
    r += c;
  }
  return r;
}

std::string label_text(const Labels& labels, const std::string& extra_key = "",
                       const std::string& extra_value = "") {
  std::string r;
  for (const auto& [k, v] : labels) r += (r.empty() ? "" : ",") + k + "=\"" + escape_label(v) + "\"";
  if (!extra_key.empty()) r += (r.empty() ? "" : ",") + extra_key + "=\"" + extra_value + "\"";
  return r.empty() ? "" : "{" + r + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void Metrics::counter(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mu_);
  families_[name] = Family{Kind::Counter, help, {}, {}};
}

void Metrics::gauge(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mu_);
  families_[name] = Family{Kind::Gauge, help, {}, {}};
}

void Metrics::histogram(const std::string& name, const std::string& help,
                        std::vector<double> buckets) {
  if (!std::is_sorted(buckets.begin(), buckets.end()))
    throw std::logic_error("histogram " + name + ": bucket bounds must ascend");
  std::lock_guard<std::mutex> lock(mu_);
  families_[name] = Family{Kind::Histogram, help, std::move(buckets), {}};
}

Metrics::Family& Metrics::family(const std::string& name, Kind kind) {
  auto it = families_.find(name);
  // A programming error (an undeclared metric), not bad input.
  if (it == families_.end() || it->second.kind != kind)
    throw std::logic_error("metric " + name + " is not declared with this type");
  return it->second;
}

const Metrics::Family* Metrics::find(const std::string& name) const {
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : &it->second;
}

void Metrics::add(const std::string& name, const Labels& labels, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name, Kind::Counter).series[labels].value += v;
}

void Metrics::set(const std::string& name, const Labels& labels, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name, Kind::Gauge).series[labels].value = v;
}

void Metrics::observe(const std::string& name, const Labels& labels, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name, Kind::Histogram);
  Series& s = f.series[labels];
  if (s.buckets.empty()) s.buckets.assign(f.bounds.size() + 1, 0);
  const size_t b = static_cast<size_t>(
      std::lower_bound(f.bounds.begin(), f.bounds.end(), v) - f.bounds.begin());
  ++s.buckets[b];
  ++s.count;
  s.sum += v;
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Family* f = find(name);
  if (!f) return 0;
  auto it = f->series.find(labels);
  if (it == f->series.end()) return 0;
  return f->kind == Kind::Histogram ? static_cast<double>(it->second.count) : it->second.value;
}

double Metrics::histogram_sum(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Family* f = find(name);
  if (!f) return 0;
  auto it = f->series.find(labels);
  return it == f->series.end() ? 0 : it->second.sum;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream os;
  for (const auto& [name, f] : families_) {
    const char* type = f.kind == Kind::Counter ? "counter" : f.kind == Kind::Gauge ? "gauge" : "histogram";
    os << "# HELP " << name << ' ' << f.help << "\n# TYPE " << name << ' ' << type << '\n';
    if (f.kind != Kind::Histogram) {
      // A family without series still shows its zero (unlabelled) value.
      if (f.series.empty()) os << name << " 0\n";
      for (const auto& [labels, s] : f.series) os << name << label_text(labels) << ' ' << number(s.value) << '\n';
      continue;
    }
    for (const auto& [labels, s] : f.series) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= f.bounds.size(); ++i) {
        cumulative += s.buckets[i];
        const std::string le = i < f.bounds.size() ? number(f.bounds[i]) : "+Inf";
        os << name << "_bucket" << label_text(labels, "le", le) << ' ' << cumulative << '\n';
      }
      os << name << "_sum" << label_text(labels) << ' ' << number(s.sum) << '\n';
      os << name << "_count" << label_text(labels) << ' ' << s.count << '\n';
    }
  }
  return os.str();
}

}  // namespace vedge::serve
