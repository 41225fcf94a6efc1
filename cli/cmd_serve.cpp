// vedge serve MODEL: the HTTP detection service (serve/service.h) with the
// demo page at /. SIGTERM or SIGINT stops it gracefully: no new connections,
// requests already received are answered, then the process exits 0.
// Built only with the server (VEDGE_WITH_SERVE).
#ifdef VEDGE_WITH_SERVE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/flags.h"
#include "runtime/detector.h"
#include "runtime/error.h"
#include "serve/service.h"

namespace vedge::cli {

int cmd_serve(int argc, char** argv) {
  Flags f("vedge serve", "vedge serve MODEL [options]");
  f.flag("spec", "", "detector spec JSON (default: model metadata, then MODEL.vedge.json)")
      .flag("host", "127.0.0.1", "address to listen on")
      .flag("port", "8080", "port to listen on (0: any free port, printed at start)")
      .flag("threads", "1", "batching off: inference workers (one thread each); on: network threads")
      .flag("max-batch", "1", "group up to this many concurrent requests into one network run")
      .flag("batch-timeout-ms", "5", "longest wait for a batch to fill")
      .flag("queue-size", "32", "requests waiting for a worker; beyond it: 503 + Retry-After")
      .flag("http-threads", "16", "connection handler threads")
      .flag("max-body-mb", "20", "largest request body (MB); beyond it: 413")
      .flag("max-pixels", "40000000", "largest image (width * height); beyond it: 413")
      .flag("request-timeout-s", "10", "time to receive one request; beyond it: 408")
      .flag("access-log", "", "JSON-lines access log file ('-': stderr; default: none)")
      .flag("drift-window", "200", "images per drift window (baseline = the first window)")
      .flag("drift-zero-share", "0.3", "drift when the zero-detection share moves more than this")
      .flag("drift-score", "0.2", "drift when the mean top score moves more than this");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  if (f.positional().size() != 1) fail("vedge serve: expected one MODEL");

  serve::ServeOptions opt;
  opt.host = f.str("host");
  opt.port = f.integer("port", 0, 65535);
  const int threads = f.integer("threads", 1, 256);
  opt.pool.max_batch = f.integer("max-batch", 1, 64);
  opt.pool.batch_timeout_ms = f.number("batch-timeout-ms", 0, 10000);
  opt.pool.workers = opt.pool.max_batch > 1 ? 1 : threads;
  opt.pool.threads_per_worker = opt.pool.max_batch > 1 ? threads : 1;
  opt.pool.queue_capacity = static_cast<size_t>(f.integer("queue-size", 1, 100000));
  opt.http.threads = f.integer("http-threads", 1, 1024);
  opt.http.max_body_bytes = static_cast<size_t>(f.number("max-body-mb", 0.001, 4096) * (1 << 20));
  opt.http.request_timeout = std::chrono::milliseconds(
      static_cast<int64_t>(f.number("request-timeout-s", 0.1, 3600) * 1000));
  opt.image.max_pixels = static_cast<int64_t>(f.number("max-pixels", 64, 1e9));
  opt.access_log = f.str("access-log");
  opt.drift.window = static_cast<size_t>(f.integer("drift-window", 1, 1000000));
  opt.drift.zero_share_delta = f.number("drift-zero-share", 0, 1);
  opt.drift.top_score_delta = f.number("drift-score", 0, 1);

  // Signals go to one thread that stops the service; block them everywhere
  // else (threads created from here on inherit the mask).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // glibc gives each thread that allocates its own malloc arena: with one
  // request per connection thread, the resident size would climb by an
  // arena each time a new connection thread serves its first image. Two
  // arenas keep memory flat; allocations are a few per request.
  mallopt(M_ARENA_MAX, 2);

  serve::Service service(load_detector_model(f.positional()[0], f.str("spec")), opt);
  const int port = service.bind();
  std::printf("vedge serve: listening on http://%s:%d/\n", opt.host.c_str(), port);
  std::fflush(stdout);

  std::atomic<bool> done{false};
  std::thread waiter([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done) {
      const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        std::fprintf(stderr, "vedge serve: %s: finishing the requests in flight\n",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT");
        service.stop();
      }
    }
  });
  service.run();
  done = true;
  waiter.join();
  return 0;
}

}  // namespace vedge::cli

#endif  // VEDGE_WITH_SERVE
