// The HTTP detection service in-process (serve::Service on 127.0.0.1, a free
// port): detections equal `vedge detect --json` on the same images (raw,
// multipart and JSON bodies), every endpoint, metrics that move as they
// should, the drift gauge on blank images after normal ones, micro-batching
// equal to no batching, the bounded queue (503 + Retry-After), and every
// bad input of the serving issue answered with its status and a JSON error,
// the server healthy afterwards. Needs ../shared (skips without it).
#ifdef VEDGE_WITH_SERVE
#include <httplib.h>

#include <algorithm>
#include <future>
#include <thread>

#include "runtime/error.h"
#include "runtime/image.h"
#include "serve/drift.h"
#include "serve/metrics.h"
#include "serve/service.h"
#include "test_serve_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using vedge::serve::Service;
using vedge::serve::ServeOptions;
namespace vt = vedge::test;

namespace {

std::shared_ptr<const vedge::DetectorModel> model() {
  static auto m = vedge::load_detector_model(vt::ultraface_model(), vt::ultraface_spec());
  return m;
}

ServeOptions test_options() {
  ServeOptions o;
  o.port = 0;
  o.quiet = true;
  o.pool.workers = 2;
  o.http.threads = 8;
  o.http.max_body_bytes = size_t(8) << 20;
  o.http.request_timeout = std::chrono::milliseconds(1500);
  return o;
}

httplib::Result post_image(httplib::Client& c, const std::string& path, const std::string& query = "",
                           const std::string& type = "image/jpeg") {
  return c.Post(("/v1/detect" + query).c_str(), vt::slurp(path), type.c_str());
}

// Status, and a JSON body {"error": non-empty, "status": the same code}.
void expect_json_error(const httplib::Result& r, int status) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const json j = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r->body;
  EXPECT_EQ(j.value("status", 0), status) << r->body;
  EXPECT_FALSE(j.value("error", "").empty()) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
}

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    VEDGE_SKIP_WITHOUT_SHARED();
    work_ = vt::work_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void start(const ServeOptions& o = test_options()) {
    svc_ = std::make_unique<Service>(model(), o);
    port_ = svc_->start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(30, 0);
    // One connection: the server finishes a request's bookkeeping (metrics,
    // access log) before it reads the next one on the same connection.
    client_->set_keep_alive(true);
  }
  void expect_healthy() {
    auto r = client_->Get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    auto d = post_image(*client_, vt::coco_picks(work_).faces[0]);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->status, 200) << d->body;
  }
  std::map<std::string, double> metrics() {
    auto r = client_->Get("/metrics");
    EXPECT_TRUE(r && r->status == 200);
    return vt::parse_metrics(r ? r->body : "");
  }

  std::string work_;
  std::unique_ptr<Service> svc_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

TEST_F(Serve, DetectionsEqualTheCli) {
  start();
  const vt::CocoPicks& picks = vt::coco_picks(work_);
  ASSERT_GE(picks.faces.size(), 3u);
  ASSERT_GE(picks.no_faces.size(), 1u);
  std::vector<std::string> images(picks.faces.begin(), picks.faces.begin() + 3);
  images.push_back(picks.no_faces[0]);
  for (const std::string& opts : {std::string(), std::string("--score-thresh 0.3 --iou-thresh 0.5")}) {
    const auto cli = vt::cli_detect(images, opts, work_);
    const std::string query = opts.empty() ? "" : "?score_thresh=0.3&iou_thresh=0.5";
    for (const std::string& img : images) {
      SCOPED_TRACE(img + " " + opts);
      const json& want = cli.at(img);
      auto raw = post_image(*client_, img, query);
      ASSERT_TRUE(raw);
      ASSERT_EQ(raw->status, 200) << raw->body;
      const json got = json::parse(raw->body);
      EXPECT_EQ(got["detections"], want["detections"]);
      EXPECT_EQ(got["image"]["width"], want["width"]);
      EXPECT_EQ(got["image"]["height"], want["height"]);
      EXPECT_EQ(got["model"], "ultraface-rfb-320");
      EXPECT_GT(got["latency_ms"].get<double>(), 0);

      // Multipart (options as JSON) and a JSON body (base64) give the same.
      httplib::MultipartFormDataItems items = {{"image", vt::slurp(img), "x.jpg", "image/jpeg"}};
      if (!opts.empty()) items.push_back({"options", R"({"score_thresh":0.3,"iou_thresh":0.5})", "", ""});
      auto multi = client_->Post("/v1/detect", items);
      ASSERT_TRUE(multi);
      ASSERT_EQ(multi->status, 200) << multi->body;
      EXPECT_EQ(json::parse(multi->body)["detections"], want["detections"]);

      json body = {{"image", vt::base64(vt::slurp(img))}};
      if (!opts.empty()) body["score_thresh"] = 0.3, body["iou_thresh"] = 0.5;
      auto js = client_->Post("/v1/detect", body.dump(), "application/json");
      ASSERT_TRUE(js);
      ASSERT_EQ(js->status, 200) << js->body;
      EXPECT_EQ(json::parse(js->body)["detections"], want["detections"]);
    }
  }
}

TEST_F(Serve, OptionsMaxDetectionsAndClasses) {
  start();
  // An image with several faces: max_detections=1 keeps the best one.
  const auto& faces = vt::coco_picks(work_).faces;
  const auto cli = vt::cli_detect(faces, "", work_);
  std::string multi;
  for (const auto& f : faces)
    if (cli.at(f)["detections"].size() >= 2) multi = f;
  ASSERT_FALSE(multi.empty()) << "no COCO image with two faces";
  auto one = post_image(*client_, multi, "?max_detections=1");
  ASSERT_TRUE(one);
  const json d = json::parse(one->body)["detections"];
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], cli.at(multi)["detections"][0]);
  auto face = post_image(*client_, multi, "?classes=face");
  EXPECT_EQ(json::parse(face->body)["detections"], cli.at(multi)["detections"]);
  expect_json_error(post_image(*client_, multi, "?classes=cat"), 422);
}

TEST_F(Serve, Endpoints) {
  start();
  auto h = client_->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
  auto ready = client_->Get("/readyz");
  EXPECT_EQ(ready->status, 200);
  EXPECT_TRUE(svc_->ready());

  auto m = client_->Get("/v1/model");
  ASSERT_EQ(m->status, 200);
  const json j = json::parse(m->body);
  EXPECT_EQ(j["name"], "ultraface-rfb-320");
  EXPECT_EQ(j["labels"], json::array({"face"}));
  EXPECT_EQ(j["input"]["width"], 320);
  EXPECT_EQ(j["input"]["height"], 240);
  EXPECT_EQ(j["size_bytes"].get<uint64_t>(), fs::file_size(vt::ultraface_model()));
  EXPECT_EQ(j["anchors"], 4420);
  EXPECT_NEAR(j["thresholds"]["score"].get<double>(), 0.7, 1e-6);

  auto page = client_->Get("/");
  ASSERT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->body, vt::slurp(std::string(VEDGE_SOURCE_DIR) + "/serve/web/index.html"));
  for (const char* f : {"app.js", "style.css"}) {
    auto a = client_->Get((std::string("/") + f).c_str());
    ASSERT_EQ(a->status, 200);
    EXPECT_EQ(a->body, vt::slurp(std::string(VEDGE_SOURCE_DIR) + "/serve/web/" + f));
  }
  auto metrics = client_->Get("/metrics");
  ASSERT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("# TYPE vedge_request_duration_seconds histogram"), std::string::npos);

  expect_json_error(client_->Get("/nope"), 404);
  expect_json_error(client_->Get("/v1/detect"), 405);
}

TEST_F(Serve, MetricsMove) {
  start();
  const std::string face = vt::coco_picks(work_).faces[0];
  const std::string none = vt::coco_picks(work_).no_faces[0];
  auto before = metrics();
  const std::string ok = R"(vedge_http_requests_total{route="/v1/detect",status="200"})";
  const std::string bad = R"(vedge_http_requests_total{route="/v1/detect",status="415"})";
  auto r1 = post_image(*client_, face);
  auto r2 = post_image(*client_, none);
  auto r3 = post_image(*client_, face, "", "text/plain");
  ASSERT_TRUE(r1 && r2 && r3);
  const size_t n1 = json::parse(r1->body)["detections"].size();
  const double top1 = json::parse(r1->body)["detections"][0]["score"];
  auto after = metrics();
  EXPECT_EQ(after[ok] - before[ok], 2);
  EXPECT_EQ(after[bad] - before[bad], 1);
  for (const char* stage : {"decode_image", "queue", "preprocess", "inference", "postprocess", "total"}) {
    const std::string c = std::string("vedge_request_duration_seconds_count{stage=\"") + stage + "\"}";
    EXPECT_EQ(after[c] - before[c], 2) << stage;
  }
  const std::string inf = R"(vedge_request_duration_seconds_sum{stage="inference"})";
  EXPECT_GT(after[inf], before[inf]);
  EXPECT_EQ(after["vedge_detections_per_image_count"] - before["vedge_detections_per_image_count"], 2);
  EXPECT_EQ(after["vedge_detections_per_image_sum"] - before["vedge_detections_per_image_sum"], n1);
  // The no-face image lands in the le="0" bucket.
  EXPECT_EQ(after[R"(vedge_detections_per_image_bucket{le="0"})"] -
                before[R"(vedge_detections_per_image_bucket{le="0"})"], 1);
  EXPECT_NEAR(after["vedge_max_score_sum"] - before["vedge_max_score_sum"], top1, 1e-5);
  EXPECT_EQ(after["vedge_batch_size_count"] - before["vedge_batch_size_count"], 2);
  double images = 0;
  for (const auto& [k, v] : after)
    if (k.rfind("vedge_input_images_total{", 0) == 0) images += v - before[k];
  EXPECT_EQ(images, 2);
  EXPECT_EQ(after["vedge_requests_in_flight"], 0);
  EXPECT_EQ(after["vedge_ready"], 1);
  EXPECT_EQ(after["vedge_queue_depth"], 0);
}

// A mid-grey image, PNG-encoded.
std::string blank_png(const std::string& work) {
  vedge::Image img;
  img.width = 320;
  img.height = 240;
  img.rgb.assign(320 * 240 * 3, 128);
  const std::string p = work + "/blank.png";
  vedge::write_png(p, img);
  return p;
}

TEST_F(Serve, DriftGaugeFiresOnBlankImages) {
  ServeOptions o = test_options();
  o.drift.window = 6;
  o.quiet = false;  // the warning goes to stderr
  start(o);
  const auto& faces = vt::coco_picks(work_).faces;
  ASSERT_GE(faces.size(), 3u);
  const std::string blank = blank_png(work_);
  // Baseline and a first current window of normal images: no drift.
  for (int i = 0; i < 12; ++i) ASSERT_EQ(post_image(*client_, faces[i % 3])->status, 200);
  auto m = metrics();
  EXPECT_EQ(m["vedge_drift"], 0);
  EXPECT_EQ(m[R"(vedge_drift_zero_detection_share{window="baseline"})"], 0);
  EXPECT_FALSE(svc_->drift().drifting);
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 6; ++i) ASSERT_EQ(post_image(*client_, blank, "", "image/png")->status, 200);
  const std::string err = ::testing::internal::GetCapturedStderr();
  m = metrics();
  EXPECT_EQ(m["vedge_drift"], 1);
  EXPECT_EQ(m[R"(vedge_drift_zero_detection_share{window="current"})"], 1);
  EXPECT_EQ(m[R"(vedge_drift_mean_top_score{window="current"})"], 0);
  EXPECT_NE(err.find("warning: drift detected"), std::string::npos) << err;
  // Normal images again: the drift clears once they fill the window.
  for (int i = 0; i < 6; ++i) ASSERT_EQ(post_image(*client_, faces[i % 3])->status, 200);
  EXPECT_EQ(metrics()["vedge_drift"], 0);
}

TEST(DriftMonitor, WindowsAndThresholds) {
  vedge::serve::DriftMonitor d({4, 0.3, 0.2});
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(d.observe(1, 0.9).window_ready);  // baseline
  EXPECT_TRUE(d.state().baseline_ready);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(d.observe(1, 0.9).drifting);
  // One zero-detection image of four: share 0.25 (< 0.3), mean score 0.675
  // (0.225 below 0.9 > 0.2): drift by score.
  const vedge::serve::DriftState s = d.observe(0, 0.0);
  EXPECT_TRUE(s.window_ready);
  EXPECT_DOUBLE_EQ(s.zero_share, 0.25);
  EXPECT_DOUBLE_EQ(s.top_score, 0.675);
  EXPECT_TRUE(s.drifting);
  EXPECT_TRUE(s.changed);
  EXPECT_FALSE(d.observe(1, 0.9).changed);  // window 0.25 zero, 0.675: still drifting
  for (int i = 0; i < 3; ++i) d.observe(1, 0.9);
  EXPECT_FALSE(d.state().drifting);
}

TEST(Metrics, PrometheusText) {
  vedge::serve::Metrics m;
  m.counter("c_total", "a counter");
  m.histogram("h", "a histogram", {1, 2});
  m.add("c_total", {{"code", "200"}});
  m.add("c_total", {{"code", "200"}}, 2);
  m.observe("h", {}, 1);   // le=1 (bounds are inclusive)
  m.observe("h", {}, 1.5);
  m.observe("h", {}, 7);
  EXPECT_EQ(m.render(),
            "# HELP c_total a counter\n# TYPE c_total counter\nc_total{code=\"200\"} 3\n"
            "# HELP h a histogram\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 2\n"
            "h_bucket{le=\"+Inf\"} 3\nh_sum 9.5\nh_count 3\n");
}

TEST_F(Serve, BatchingGivesTheSameDetections) {
  ServeOptions o = test_options();
  o.pool.max_batch = 4;
  o.pool.threads_per_worker = 2;
  o.pool.batch_timeout_ms = 1000;
  start(o);
  const auto& picks = vt::coco_picks(work_);
  std::vector<std::string> images(picks.faces.begin(), picks.faces.begin() + 3);
  images.push_back(picks.no_faces[0]);
  const auto cli = vt::cli_detect(images, "", work_);
  // Hold the worker until all four wait, so they run as one batch of 4.
  svc_->pool().pause(true);
  std::vector<std::future<httplib::Result>> replies;
  for (const std::string& img : images)
    replies.push_back(std::async(std::launch::async, [this, img] {
      httplib::Client c("127.0.0.1", port_);
      c.set_read_timeout(60, 0);
      return post_image(c, img);
    }));
  while (svc_->pool().queued() < images.size()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  svc_->pool().pause(false);
  for (size_t i = 0; i < images.size(); ++i) {
    httplib::Result r = replies[i].get();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    EXPECT_EQ(j["batch_size"], 4);
    EXPECT_EQ(j["detections"], cli.at(images[i])["detections"]) << images[i];
  }
  EXPECT_EQ(metrics()[R"(vedge_batch_size_bucket{le="3"})"], 0);
}

TEST(DetectorBatch, EqualsOneImageAtATime) {
  VEDGE_SKIP_WITHOUT_SHARED();
  const auto& picks = vt::coco_picks(vt::work_dir("DetectorBatch"));
  vedge::Detector one(model()), three(model(), {}, 3);
  EXPECT_EQ(three.max_batch(), 3);
  std::vector<vedge::Image> imgs;
  for (int i = 0; i < 3; ++i) imgs.push_back(vedge::decode_image_file(picks.faces[static_cast<size_t>(i)]));
  std::vector<vedge::DetectOptions> opts(3);
  opts[1].score_threshold = 0.2f;  // each image keeps its own options
  const auto batch = three.detect_batch({&imgs[0], &imgs[1], &imgs[2]}, opts);
  ASSERT_EQ(batch.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(vedge::detections_to_json(batch[i]), vedge::detections_to_json(one.detect(imgs[i], opts[i])));
  // Fewer images than the maximum run on the smaller batch's session.
  const auto two = three.detect_batch({&imgs[2], &imgs[0]}, {opts[2], opts[0]});
  EXPECT_EQ(vedge::detections_to_json(two[0]), vedge::detections_to_json(batch[2]));
  EXPECT_THROW(three.detect_batch({}, {}), vedge::Error);
}

TEST(DetectorBatch, RejectsGraphsThatMixTheBatch) {
  VEDGE_SKIP_WITHOUT_SHARED();
  vedge::Graph g = model()->graph;
  const vedge::Graph b = vedge::batched_graph(g, 3);
  EXPECT_EQ(b.values[static_cast<size_t>(b.inputs[0])].shape, (vedge::Shape{3, 3, 240, 320}));
  for (vedge::Node& n : g.nodes)
    if (n.op == "Reshape") {
      n.attrs.set("shape", std::vector<int64_t>{-1});
      break;
    }
  try {
    vedge::batched_graph(g, 2);
    FAIL() << "no error";
  } catch (const vedge::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot run in batches"), std::string::npos) << e.what();
  }
}

TEST_F(Serve, FullQueueIs503WithRetryAfter) {
  ServeOptions o = test_options();
  o.pool.workers = 1;
  o.pool.queue_capacity = 2;
  start(o);
  const std::string img = vt::coco_picks(work_).faces[0];
  svc_->pool().pause(true);
  std::vector<std::future<httplib::Result>> waiting;
  for (int i = 0; i < 2; ++i)
    waiting.push_back(std::async(std::launch::async, [this, img] {
      httplib::Client c("127.0.0.1", port_);
      c.set_read_timeout(60, 0);
      return post_image(c, img);
    }));
  while (svc_->pool().queued() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto r = post_image(*client_, img);
  expect_json_error(r, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  svc_->pool().pause(false);
  for (auto& w : waiting) EXPECT_EQ(w.get()->status, 200);
  expect_healthy();
}

// A PNG whose header declares w x h (valid chunk CRCs; no real pixel data).
std::string png_declaring(uint32_t w, uint32_t h) {
  auto be32 = [](uint32_t v) {
    return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  };
  auto crc32 = [](const std::string& s) {
    uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : s) {
      c ^= b;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32(type + data));
  };
  const std::string ihdr = be32(w) + be32(h) + std::string{8, 2, 0, 0, 0};
  const std::string idat("\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", "");
}

TEST_F(Serve, BadInputAnsweredAndServerStaysHealthy) {
  start();
  const std::string jpeg = vt::slurp(vt::coco_picks(work_).faces[0]);
  struct Case {
    const char* what;
    std::string body, type, query;
    int status;
  };
  const std::vector<Case> cases = {
      {"empty body", "", "image/jpeg", "", 400},
      {"garbage bytes", "this is not an image at all, just text", "image/jpeg", "", 400},
      {"truncated JPEG", jpeg.substr(0, jpeg.size() / 2), "image/jpeg", "", 400},
      {"PNG declaring 50000x50000", png_declaring(50000, 50000), "image/png", "", 413},
      {"wrong content type", jpeg, "text/plain", "", 415},
      {"form-urlencoded", jpeg, "application/x-www-form-urlencoded", "", 415},
      {"invalid JSON body", "{\"image\": ", "application/json", "", 400},
      {"JSON without image", "{\"score_thresh\": 0.5}", "application/json", "", 400},
      {"JSON unknown option", "{\"image\": \"\", \"thresh\": 1}", "application/json", "", 400},
      {"bad base64", "{\"image\": \"!!!!\"}", "application/json", "", 400},
      {"score_thresh 1.5", jpeg, "image/jpeg", "?score_thresh=1.5", 422},
      {"score_thresh -0.1", jpeg, "image/jpeg", "?score_thresh=-0.1", 422},
      {"iou_thresh 0", jpeg, "image/jpeg", "?iou_thresh=0", 422},
      {"max_detections 0", jpeg, "image/jpeg", "?max_detections=0", 422},
      {"max_detections 2.5", jpeg, "image/jpeg", "?max_detections=2.5", 422},
      {"score_thresh not a number", jpeg, "image/jpeg", "?score_thresh=abc", 400},
      {"score_thresh nan", jpeg, "image/jpeg", "?score_thresh=nan", 400},
      {"JSON threshold out of range", "{\"image\": \"" + vt::base64(jpeg) +
                                          "\", \"iou_thresh\": 7}", "application/json", "", 422},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    expect_json_error(client_->Post(("/v1/detect" + c.query).c_str(), c.body, c.type.c_str()), c.status);
  }
  // Multipart: invalid JSON options, no image field.
  expect_json_error(client_->Post("/v1/detect", httplib::MultipartFormDataItems{
                                                    {"image", jpeg, "x.jpg", "image/jpeg"},
                                                    {"options", "{not json", "", ""}}),
                    400);
  expect_json_error(client_->Post("/v1/detect", httplib::MultipartFormDataItems{
                                                    {"picture", jpeg, "x.jpg", "image/jpeg"}}),
                    400);
  expect_healthy();
}

TEST_F(Serve, HundredMegabyteBodyIs413) {
  start();
  vt::RawConn c(port_);
  ASSERT_TRUE(c.connected());
  const size_t size = size_t(100) << 20;
  ASSERT_TRUE(c.send("POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                     "Content-Length: " + std::to_string(size) + "\r\n\r\n"));
  const std::string mb(size_t(1) << 20, '\xAB');
  for (int i = 0; i < 100; ++i)
    if (!c.send(mb)) break;  // the server may stop reading early
  const vt::RawResponse r = vt::parse_raw(c.read_all());
  EXPECT_EQ(r.status, 413) << r.headers;
  EXPECT_NE(r.body.find("\"status\":413"), std::string::npos) << r.body;
  expect_healthy();
}

TEST_F(Serve, SlowClientIsCutByTheRequestTimeout) {
  start();  // request timeout 1.5 s
  const std::string head = "POST /v1/detect HTTP/1.1\r\nHost: x\r\n";
  // Headers trickled one byte per second: 408 from the connection layer.
  {
    vt::RawConn c(port_);
    ASSERT_TRUE(c.connected());
    const auto t0 = std::chrono::steady_clock::now();
    for (char ch : head) {
      if (!c.send(std::string(1, ch)) || c.wait_readable(1000)) break;
      if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(5)) break;
    }
    const vt::RawResponse r = vt::parse_raw(c.read_all(5000));
    EXPECT_EQ(r.status, 408) << r.headers;
    EXPECT_NE(r.body.find("\"status\":408"), std::string::npos) << r.body;
  }
  // Whole headers, then a body trickled one byte per second: 408 from the handler.
  {
    vt::RawConn c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(head + "Content-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n"));
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5))
      if (!c.send("x") || c.wait_readable(1000)) break;
    const vt::RawResponse r = vt::parse_raw(c.read_all(5000));
    EXPECT_EQ(r.status, 408) << r.headers;
    EXPECT_NE(r.body.find("\"status\":408"), std::string::npos) << r.body;
  }
  expect_healthy();
}

TEST_F(Serve, AccessLogHasOneJsonLinePerRequest) {
  ServeOptions o = test_options();
  o.access_log = work_ + "/access.log";
  fs::remove(o.access_log);
  start(o);
  auto d = post_image(*client_, vt::coco_picks(work_).faces[0]);
  ASSERT_EQ(d->status, 200);
  auto e = client_->Post("/v1/detect", "x", "text/plain");
  svc_->stop();
  svc_.reset();
  std::istringstream lines(vt::slurp(o.access_log));
  std::vector<json> entries;
  for (std::string l; std::getline(lines, l);) entries.push_back(json::parse(l));
  ASSERT_EQ(entries.size(), 2u);
  const json& ok = entries[0];
  EXPECT_EQ(ok["status"], 200);
  EXPECT_EQ(ok["path"], "/v1/detect");
  EXPECT_EQ(std::to_string(ok["request_id"].get<uint64_t>()), d->get_header_value("X-Request-Id"));
  EXPECT_EQ(ok["bytes_in"].get<size_t>(), fs::file_size(vt::coco_picks(work_).faces[0]));
  EXPECT_EQ(ok["bytes_out"].get<size_t>(), d->body.size());
  EXPECT_EQ(ok["detections"].get<size_t>(), json::parse(d->body)["detections"].size());
  for (const char* s : {"decode_image", "queue", "preprocess", "inference", "postprocess"})
    EXPECT_GE(ok["timings_ms"][s].get<double>(), 0) << s;
  EXPECT_EQ(entries[1]["status"], 415);
  EXPECT_FALSE(entries[1]["error"].get<std::string>().empty());
}

// Seeds of the fuzz_http target (tests/fuzz/fuzz_http.cpp): byte 0 picks
// the content type (0 jpeg, 1 png, 3 multipart, 4 json, 5 text/plain),
// bytes 1-2 the query and options lengths, then query, options, body.
TEST(ServeFuzzSeeds, Written) {
  const std::string dir = std::string(VEDGE_TEST_WORK_DIR) + "/fuzz-seeds/http";
  fs::create_directories(dir);
  vedge::Image img;
  img.width = img.height = 16;
  img.rgb.resize(16 * 16 * 3);
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>(i * 7);
  vedge::write_png(dir + "/tiny.png", img);
  vedge::write_jpeg(dir + "/tiny.jpg", img);
  const std::string png = vt::slurp(dir + "/tiny.png"), jpg = vt::slurp(dir + "/tiny.jpg");
  fs::remove(dir + "/tiny.png");
  fs::remove(dir + "/tiny.jpg");
  auto seed = [&](const std::string& name, int type, const std::string& query,
                  const std::string& options, const std::string& body) {
    std::string s{char(type), char(query.size()), char(options.size())};
    std::ofstream(dir + "/" + name, std::ios::binary) << s + query + options + body;
  };
  seed("png", 1, "", "", png);
  seed("jpeg_query", 0, "score_thresh=0.1&iou_thresh=0.4&max_detections=3", "", jpg);
  seed("multipart", 3, "classes=thing", R"({"score_thresh":0.05,"classes":["thing"]})", png);
  seed("json", 4, "", "", nlohmann::json{{"image", vt::base64(png)}, {"score_thresh", 0.2}}.dump());
  seed("bad_type", 5, "", "", jpg);
  seed("truncated", 0, "", "", jpg.substr(0, jpg.size() / 2));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 6);
}

}  // namespace

#else
#include <gtest/gtest.h>
TEST(Serve, NotBuilt) { GTEST_SKIP() << "built without the server (VEDGE_BUILD_SERVE=OFF)"; }
#endif
