// service.h: the detection service behind `vedge serve`: one model, the
// inference pool, metrics, drift monitor, access log and the HTTP routes
//   POST /v1/detect   detections for one image (request.h)
//   GET  /v1/model    name, variant, size, input size, labels, metadata
//   GET  /healthz     alive;  GET /readyz  model loaded and warmed up
//   GET  /metrics     Prometheus text;  GET /  the demo page
// Every error answer is JSON {"error": message, "status": code}.
// Depends on serve/ (http_server, inference_pool, request, metrics, drift,
// access_log, web_assets) and runtime/.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "runtime/detector.h"
#include "serve/drift.h"
#include "serve/http_server.h"
#include "serve/inference_pool.h"
#include "serve/request.h"

namespace vedge::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see port())
  PoolOptions pool;
  HttpLimits http;
  ImageLimits image;
  DriftOptions drift;
  std::string access_log;  // "" off, "-" stderr, else a file (appended)
  bool quiet = false;      // no log lines on stderr (drift warnings, start/stop)
};

class Metrics;
class AccessLog;

class Service {
 public:
  // Loads nothing itself: `model` is shared by the pool's workers.
  Service(std::shared_ptr<const DetectorModel> model, const ServeOptions& opt);
  ~Service();  // stop()
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds host:port (throws vedge::Error when it cannot); returns the port.
  int bind();
  // Serves until stop(); returns after every accepted request is answered
  // and the pool has finished its queue.
  void run();
  // bind() and run() on a background thread (tests, embedding).
  int start();
  // Graceful: stop accepting, finish what is in flight. Safe from any thread
  // and more than once.
  void stop();

  int port() const { return port_; }
  bool ready() const { return ready_; }
  Metrics& metrics() { return *metrics_; }
  InferencePool& pool() { return *pool_; }
  DriftState drift() const { return drift_.state(); }

 private:
  void routes();
  std::string model_json() const;
  void log_line(const std::string& line) const;

  std::shared_ptr<const DetectorModel> model_;
  ServeOptions opt_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<AccessLog> access_log_;
  DriftMonitor drift_;
  std::unique_ptr<InferencePool> pool_;
  HttpServer http_;
  std::thread thread_;
  int port_ = -1;
  std::atomic<bool> ready_{false}, stopped_{false};
  std::atomic<uint64_t> next_id_{1};
  size_t model_bytes_ = 0;
};

}  // namespace vedge::serve
