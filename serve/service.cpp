// service.cpp: the service's wiring and routes (see service.h).
#include "serve/service.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "serve/access_log.h"
#include "serve/detect_handler.h"
#include "serve/metrics.h"
#include "serve/web_assets.h"

namespace vedge::serve {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

// What the access log and the metrics learn about the request this thread
// is serving (handler -> logger, same thread).
struct RequestRecord {
  uint64_t id = 0;
  Clock::time_point start;
  json fields;  // extra access-log fields (timings, detections)
};
thread_local RequestRecord t_record;

const std::vector<double> kSecondsBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,    10};

std::string route_label(const std::string& path) {
  for (const char* p : {"/v1/detect", "/v1/model", "/healthz", "/readyz", "/metrics", "/"})
    if (path == p) return p;
  for (const WebAsset* a = kWebAssets; a->path; ++a)
    if (path == a->path) return "/static";
  return "other";
}

// Input resolution in a bounded set of classes (by pixel count).
std::string resolution_class(int w, int h) {
  const int64_t px = int64_t(w) * h;
  if (px <= 320 * 240) return "<=320x240";
  if (px <= 640 * 480) return "<=640x480";
  if (px <= 1280 * 720) return "<=1280x720";
  if (px <= 1920 * 1080) return "<=1920x1080";
  if (px <= 3840 * 2160) return "<=3840x2160";
  return ">3840x2160";
}

void set_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_json(status, message), "application/json");
}

}  // namespace

Service::Service(std::shared_ptr<const DetectorModel> model, const ServeOptions& opt)
    : model_(std::move(model)),
      opt_(opt),
      metrics_(std::make_unique<Metrics>()),
      access_log_(std::make_unique<AccessLog>(opt.access_log)),
      drift_(opt.drift),
      http_(opt.http) {
  VEDGE_CHECK(model_, "serve: no model");
  std::error_code ec;
  model_bytes_ = static_cast<size_t>(std::filesystem::file_size(model_->model_path, ec));
  if (ec) model_bytes_ = 0;

  Metrics& m = *metrics_;
  m.counter("vedge_http_requests_total", "HTTP requests answered, by route and status code.");
  m.counter("vedge_http_connections_refused_total",
            "Connections answered 503 at once because the connection backlog was full.");
  m.histogram("vedge_request_duration_seconds",
              "Detection request time by stage: decode_image, queue, preprocess, inference, "
              "postprocess, total (headers received to answer).",
              kSecondsBuckets);
  m.histogram("vedge_detections_per_image", "Detections returned per image.",
              {0, 1, 2, 3, 5, 10, 20, 50, 100});
  m.histogram("vedge_max_score", "Top detection score per image (0 without detections).",
              {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1});
  m.counter("vedge_input_images_total", "Images detected, by resolution class (pixel count).");
  m.gauge("vedge_requests_in_flight", "Detection requests being handled.");
  m.gauge("vedge_queue_depth", "Images waiting for an inference worker.");
  m.histogram("vedge_batch_size", "Images per network run.", {1, 2, 3, 4, 6, 8, 12, 16, 32});
  m.gauge("vedge_ready", "1 once the model is loaded and warmed up.");
  m.gauge("vedge_drift",
          "1 while the current window's zero-detection share or mean top score departs from the "
          "baseline window by more than the configured amount.");
  m.gauge("vedge_drift_zero_detection_share", "Share of images without detections, by window.");
  m.gauge("vedge_drift_mean_top_score", "Mean top detection score per image, by window.");
  m.set("vedge_requests_in_flight", {}, 0);
  m.set("vedge_drift", {}, 0);
  m.set("vedge_ready", {}, 0);

  pool_ = std::make_unique<InferencePool>(model_, opt_.pool);  // loads and warms up
  ready_ = true;
  m.set("vedge_ready", {}, 1);
  routes();
}

Service::~Service() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void Service::log_line(const std::string& line) const {
  if (!opt_.quiet) std::fprintf(stderr, "vedge serve: %s\n", line.c_str());
}

std::string Service::model_json() const {
  const DetectorSpec& s = model_->spec;
  json labels = json::array();
  for (size_t i = 0; i < s.labels.size(); ++i)
    if (static_cast<int>(i) != s.background) labels.push_back(s.labels[i]);
  json meta = json::object();
  for (const auto& [k, v] : model_->graph.metadata) meta[k] = v;
  const auto variant = model_->graph.metadata.find("vedge.variant");
  json j;
  j["name"] = std::filesystem::path(model_->model_path).stem().string();
  j["path"] = model_->model_path;
  j["variant"] = variant != model_->graph.metadata.end() ? variant->second : "fp32";
  j["size_bytes"] = model_bytes_;
  j["input"] = {{"name", s.input.name},
                {"width", s.input.width},
                {"height", s.input.height},
                {"color", s.input.color == ColorOrder::RGB ? "rgb" : "bgr"},
                {"resize", s.input.resize == ResizeMode::Stretch ? "stretch" : "letterbox"}};
  j["labels"] = labels;
  j["anchors"] = model_->num_anchors;
  j["thresholds"] = {{"score", s.thresholds.score},
                     {"iou", s.thresholds.iou},
                     {"max_detections", s.thresholds.max_detections}};
  j["serving"] = {{"workers", pool_->options().workers},
                  {"threads_per_worker", pool_->options().threads_per_worker},
                  {"max_batch", pool_->options().max_batch},
                  {"batch_timeout_ms", pool_->options().batch_timeout_ms},
                  {"queue_capacity", pool_->options().queue_capacity}};
  j["metadata"] = meta;
  return j.dump();
}

void Service::routes() {
  const std::string model_name = std::filesystem::path(model_->model_path).stem().string();
  Metrics& m = *metrics_;

  http_.set_pre_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    t_record = RequestRecord{};
    t_record.id = next_id_++;
    t_record.start = Clock::now();
    res.set_header("X-Request-Id", std::to_string(t_record.id));
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http_.Post("/v1/detect", [this, model_name, &m](const httplib::Request& req,
                                                  httplib::Response& res,
                                                  const httplib::ContentReader& reader) {
    struct InFlight {
      Metrics& m;
      std::atomic<int>& n;
      InFlight(Metrics& mm, std::atomic<int>& nn) : m(mm), n(nn) { m.set("vedge_requests_in_flight", {}, ++n); }
      ~InFlight() { m.set("vedge_requests_in_flight", {}, --n); }
    };
    static std::atomic<int> in_flight{0};
    InFlight guard(m, in_flight);

    RequestInput in;
    in.content_type = req.get_header_value("Content-Type");
    for (const auto& [k, v] : req.params) in.query.emplace(k, v);
    // The library checks Content-Length against the limit; a chunked or
    // unsized body is checked here as it arrives.
    size_t received = 0;
    bool too_large = false;
    auto fits = [&](size_t n) {
      received += n;
      too_large = received > opt_.http.max_body_bytes;
      return !too_large;
    };
    bool ok;
    if (req.is_multipart_form_data()) {
      ok = reader(
          [&](const httplib::MultipartFormData& f) {
            in.parts.push_back({f.name, f.filename, f.content_type, ""});
            return true;
          },
          [&](const char* data, size_t n) {
            if (!fits(n) || in.parts.empty()) return false;
            in.parts.back().data.append(data, n);
            return true;
          });
    } else {
      ok = reader([&](const char* data, size_t n) {
        if (!fits(n)) return false;
        in.body.append(data, n);
        return true;
      });
    }
    if (!ok) {
      // The body could not be read whole: over the size limit, cut by the
      // request deadline, or a broken upload.
      res.set_header("Connection", "close");
      HttpServer::close_after_response();
      if (res.status == 413 || too_large)
        return set_error(res, 413, "request body larger than " +
                                       std::to_string(opt_.http.max_body_bytes) + " bytes");
      if (HttpServer::timed_out())
        return set_error(res, 408, "the request body was not received within the request timeout");
      return set_error(res, 400, "the request body could not be read (malformed upload)");
    }

    const RunJob run = [this](InferenceJob& job) {
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
      job.done = [&] {
        std::lock_guard<std::mutex> lock(mu);
        done = true;
        cv.notify_all();
      };
      if (!pool_->submit(&job)) return false;
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
      return true;
    };
    DetectReply r = handle_detect(in, *model_, model_name, opt_.image, run);
    res.status = r.status;
    if (r.retry_after) res.set_header("Retry-After", "1");
    res.set_content(r.body, "application/json");
    if (r.status != 200) {
      t_record.fields["error"] = json::parse(r.body)["error"];
      return;
    }

    double top = 0;
    for (const Detection& d : r.detections) top = std::max(top, static_cast<double>(d.score));
    const double post = r.times.decode_ms + r.times.nms_ms;
    const char* h = "vedge_request_duration_seconds";
    m.observe(h, {{"stage", "decode_image"}}, r.decode_ms / 1000);
    m.observe(h, {{"stage", "queue"}}, r.queue_ms / 1000);
    m.observe(h, {{"stage", "preprocess"}}, r.times.preprocess_ms / 1000);
    m.observe(h, {{"stage", "inference"}}, r.times.inference_ms / 1000);
    m.observe(h, {{"stage", "postprocess"}}, post / 1000);
    m.observe("vedge_detections_per_image", {}, static_cast<double>(r.detections.size()));
    m.observe("vedge_max_score", {}, top);
    m.observe("vedge_batch_size", {}, r.batch_size);
    m.add("vedge_input_images_total", {{"resolution", resolution_class(r.width, r.height)}});

    const DriftState d = drift_.observe(r.detections.size(), top);
    m.set("vedge_drift", {}, d.drifting ? 1 : 0);
    m.set("vedge_drift_zero_detection_share", {{"window", "baseline"}}, d.baseline_zero_share);
    m.set("vedge_drift_zero_detection_share", {{"window", "current"}}, d.zero_share);
    m.set("vedge_drift_mean_top_score", {{"window", "baseline"}}, d.baseline_top_score);
    m.set("vedge_drift_mean_top_score", {{"window", "current"}}, d.top_score);
    if (d.changed) {
      char line[256];
      std::snprintf(line, sizeof line,
                    "%s: drift %s: zero-detection share %.3f (baseline %.3f), mean top score "
                    "%.3f (baseline %.3f) over the last %zu images",
                    d.drifting ? "warning" : "info", d.drifting ? "detected" : "cleared",
                    d.zero_share, d.baseline_zero_share, d.top_score, d.baseline_top_score,
                    drift_.options().window);
      log_line(line);
    }

    t_record.fields["image"] = {{"width", r.width}, {"height", r.height}, {"bytes", r.image_bytes}};
    t_record.fields["detections"] = r.detections.size();
    t_record.fields["batch_size"] = r.batch_size;
    t_record.fields["timings_ms"] = {{"decode_image", r.decode_ms},
                                     {"queue", r.queue_ms},
                                     {"preprocess", r.times.preprocess_ms},
                                     {"inference", r.times.inference_ms},
                                     {"postprocess", post}};
  });

  http_.Get("/v1/detect", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST");
    set_error(res, 405, "use POST with an image body");
  });
  http_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  http_.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (ready_ && !stopped_) return res.set_content("{\"status\":\"ready\"}", "application/json");
    set_error(res, 503, stopped_ ? "shutting down" : "model not loaded yet");
  });
  http_.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_json(), "application/json");
  });
  http_.Get("/metrics", [this, &m](const httplib::Request&, httplib::Response& res) {
    m.set("vedge_queue_depth", {}, static_cast<double>(pool_->queued()));
    const double refused = static_cast<double>(http_.refused_connections());
    m.add("vedge_http_connections_refused_total", {},
          refused - m.value("vedge_http_connections_refused_total"));
    res.set_content(m.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  for (const WebAsset* a = kWebAssets; a->path; ++a) {
    const WebAsset asset = *a;
    http_.Get(asset.path, [asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(reinterpret_cast<const char*>(asset.data), asset.size, asset.content_type);
      res.set_header("Cache-Control", "no-cache");
    });
  }

  http_.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message;
    switch (res.status) {
      case 404: message = "no route " + req.method + " " + req.path; break;
      case 413: message = "request too large"; break;
      case 400: message = HttpServer::timed_out() ? "request timeout" : "malformed request"; break;
      default: message = "HTTP error " + std::to_string(res.status);
    }
    if (res.status == 400 && HttpServer::timed_out()) res.status = 408;
    set_error(res, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string message = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
    }
    set_error(res, 500, message);
  });
  http_.set_logger([this, &m](const httplib::Request& req, const httplib::Response& res) {
    const std::string route = route_label(req.path);
    m.add("vedge_http_requests_total", {{"route", route}, {"status", std::to_string(res.status)}});
    const bool known = t_record.id != 0;
    const double total_ms =
        known ? std::chrono::duration<double, std::milli>(Clock::now() - t_record.start).count() : 0;
    if (route == "/v1/detect" && res.status == 200)
      m.observe("vedge_request_duration_seconds", {{"stage", "total"}}, total_ms / 1000);
    if (!access_log_->enabled()) return;
    json line;
    line["request_id"] = t_record.id;
    line["remote"] = req.remote_addr;
    line["method"] = req.method;
    line["path"] = req.path;
    line["status"] = res.status;
    const std::string length = req.get_header_value("Content-Length");
    line["bytes_in"] = length.empty() ? req.body.size() : std::strtoull(length.c_str(), nullptr, 10);
    line["bytes_out"] = res.body.size();
    line["duration_ms"] = total_ms;
    for (const auto& [k, v] : t_record.fields.items()) line[k] = v;
    access_log_->write(line);
    t_record = RequestRecord{};
  });
}

int Service::bind() {
  port_ = opt_.port == 0 ? http_.bind_to_any_port(opt_.host)
                         : (http_.bind_to_port(opt_.host, opt_.port) ? opt_.port : -1);
  VEDGE_CHECK(port_ > 0, "serve: cannot listen on ", opt_.host, ":", opt_.port,
              " (address in use or not local?)");
  return port_;
}

void Service::run() {
  log_line("serving " + model_->model_path + " on http://" + opt_.host + ":" +
           std::to_string(port_) + "/");
  if (!stopped_) http_.listen_after_bind();
  pool_->shutdown();
  log_line("stopped");
}

int Service::start() {
  const int port = bind();
  thread_ = std::thread([this] { run(); });
  while (!http_.is_running() && !stopped_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port;
}

void Service::stop() {
  if (stopped_.exchange(true)) return;
  http_.graceful_stop();
}

}  // namespace vedge::serve
