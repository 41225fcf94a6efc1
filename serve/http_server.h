// http_server.h: cpp-httplib's Server with the limits a public endpoint
// needs, which the library leaves out:
//   - a request deadline: reading one request (headers and body) must end
//     within request_timeout, however slowly the client trickles bytes; a
//     request cut this way is answered 408 (or the handler sees its body read
//     fail and timed_out() true);
//   - a bounded connection queue: `threads` handler threads and at most
//     `backlog` accepted connections waiting for one; beyond that a
//     connection is answered 503 with Retry-After at once and closed;
//   - a graceful stop: stop() closes the listening socket, requests already
//     received are finished and answered, idle keep-alive connections close.
// Depends on cpp-httplib only.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <string>

namespace vedge::serve {

struct HttpLimits {
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds idle_timeout{5000};  // keep-alive wait for the next request
  int threads = 16;
  size_t backlog = 64;
  size_t max_body_bytes = size_t(20) << 20;
  size_t keep_alive_max = 1000;  // requests per connection
};

class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(const HttpLimits& limits);
  // In a handler: the current request's deadline passed while reading it.
  static bool timed_out();
  // In a handler: close the connection after this answer (a body left
  // unread or half-read cannot be followed by another request).
  static void close_after_response();
  // Accepted connections being served or waiting for a thread.
  int open_connections() const { return open_connections_.load(); }
  // Connections refused because the backlog was full.
  uint64_t refused_connections() const { return refused_.load(); }
  // Stops accepting; listen() returns once every accepted request is answered.
  void graceful_stop();

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool wait_for_request(socket_t sock) const;
  void refuse(socket_t sock);

  HttpLimits limits_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> open_connections_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace vedge::serve
