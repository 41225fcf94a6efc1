// metrics.h: counters, gauges and histograms with labels, rendered in the
// Prometheus text exposition format (version 0.0.4). Thread-safe: every
// update takes the registry's one mutex (updates are a few per request).
// Depends on the C++ standard library only.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace vedge::serve {

// Label set, e.g. {{"status", "200"}}; rendered sorted by name.
using Labels = std::map<std::string, std::string>;

class Metrics {
 public:
  // Declare once, before use; `buckets` are upper bounds (ascending), +Inf
  // is implicit.
  void counter(const std::string& name, const std::string& help);
  void gauge(const std::string& name, const std::string& help);
  void histogram(const std::string& name, const std::string& help, std::vector<double> buckets);

  void add(const std::string& name, const Labels& labels = {}, double v = 1);  // counter
  void set(const std::string& name, const Labels& labels, double v);           // gauge
  void observe(const std::string& name, const Labels& labels, double v);       // histogram

  // Current values (tests, /readyz): a counter or gauge; a histogram's count.
  double value(const std::string& name, const Labels& labels = {}) const;
  double histogram_sum(const std::string& name, const Labels& labels = {}) const;

  std::string render() const;  // the whole registry, Prometheus text

 private:
  enum class Kind { Counter, Gauge, Histogram };
  struct Series {
    double value = 0;                 // counter / gauge
    std::vector<uint64_t> buckets;    // histogram: per bucket (not cumulative)
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    Kind kind = Kind::Counter;
    std::string help;
    std::vector<double> bounds;
    std::map<Labels, Series> series;
  };
  Family& family(const std::string& name, Kind kind);
  const Family* find(const std::string& name) const;

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace vedge::serve
