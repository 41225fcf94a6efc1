// http_server.cpp: request deadlines, bounded connection queue and graceful
// stop over cpp-httplib (see http_server.h).
// Depends on cpp-httplib and POSIX sockets only.
#include "serve/http_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vedge::serve {
namespace {

using Clock = std::chrono::steady_clock;

// Set while the accept thread hands a connection straight back (backlog full).
thread_local bool t_refusing = false;
// The request stream of the connection this thread serves.
thread_local class DeadlineStream* t_stream = nullptr;
// Set by a handler through HttpServer::close_after_response().
thread_local bool t_close = false;

// A socket stream whose reads fail once the request deadline has passed,
// whatever the per-read progress.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(int sock, Clock::time_point deadline) : sock_(sock), deadline_(deadline) {}

  bool is_readable() const override { return wait(POLLIN); }
  bool is_writable() const override { return wait(POLLOUT); }
  ssize_t read(char* ptr, size_t size) override {
    if (!wait(POLLIN)) return -1;
    ssize_t n;
    do n = ::recv(sock_, ptr, size, 0);
    while (n < 0 && errno == EINTR);
    return n;
  }
  ssize_t write(const char* ptr, size_t size) override {
    // Writing the answer is not bound by the request deadline, but a client
    // that stops reading is dropped after 10 s.
    pollfd p{sock_, POLLOUT, 0};
    if (::poll(&p, 1, 10000) <= 0) return -1;
    ssize_t n;
    do n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n > 0) written_ += static_cast<size_t>(n);
    return n;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(false, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(true, ip, port); }
  socket_t socket() const override { return sock_; }

  bool timed_out() const { return timed_out_; }
  size_t written() const { return written_; }

 private:
  bool wait(short events) const {
    if (events == POLLOUT) {
      pollfd p{sock_, POLLOUT, 0};
      return ::poll(&p, 1, 10000) > 0;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) {
      timed_out_ = true;
      return false;
    }
    pollfd p{sock_, events, 0};
    int r;
    do r = ::poll(&p, 1, static_cast<int>(left.count()));
    while (r < 0 && errno == EINTR);
    if (r == 0) timed_out_ = true;
    return r > 0;
  }
  void address(bool local, std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int r = local ? ::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len)
                        : ::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len);
    if (r != 0) return;
    char buf[INET6_ADDRSTRLEN] = {0};
    if (addr.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
      port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
      port = ntohs(a->sin6_port);
    }
    ip = buf;
  }

  int sock_;
  Clock::time_point deadline_;
  mutable bool timed_out_ = false;
  size_t written_ = 0;
};

// Fixed threads, bounded queue; a connection that does not fit is run on the
// accept thread in "refusing" mode (answered 503 at once).
class BoundedPool : public httplib::TaskQueue {
 public:
  BoundedPool(int threads, size_t backlog) : backlog_(backlog) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (jobs_.size() < backlog_) {
        jobs_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    t_refusing = true;
    fn();
    t_refusing = false;
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, queue drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  size_t backlog_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
};

void write_all(int sock, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(sock, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string raw_json_response(int status, const char* reason, const std::string& message,
                              const std::string& extra_headers = "") {
  const std::string body = "{\"error\":\"" + message + "\",\"status\":" + std::to_string(status) + "}";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nConnection: close\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

HttpServer::HttpServer(const HttpLimits& limits) : limits_(limits) {
  set_payload_max_length(limits.max_body_bytes);
  set_keep_alive_max_count(limits.keep_alive_max);
  new_task_queue = [this] { return new BoundedPool(limits_.threads, limits_.backlog); };
}

bool HttpServer::timed_out() { return t_stream && t_stream->timed_out(); }

void HttpServer::close_after_response() { t_close = true; }

void HttpServer::graceful_stop() {
  stopping_ = true;
  stop();
}

bool HttpServer::wait_for_request(socket_t sock) const {
  const auto until = Clock::now() + limits_.idle_timeout;
  while (Clock::now() < until) {
    pollfd p{sock, POLLIN, 0};
    const int r = ::poll(&p, 1, 100);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
    if (stopping_) return false;
  }
  return false;
}

void HttpServer::refuse(socket_t sock) {
  ++refused_;
  write_all(sock, raw_json_response(503, "Service Unavailable",
                                    "too many connections, retry later", "Retry-After: 1\r\n"));
  ::shutdown(sock, SHUT_WR);
  // Drain what the client already sent, so closing does not reset the
  // connection before it reads the answer.
  char buf[4096];
  while (::recv(sock, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
  ::close(sock);
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  if (t_refusing) {
    refuse(sock);
    return false;
  }
  ++open_connections_;
  // Answers go out as headers then body: without this, Nagle's algorithm
  // holds the body until the client's delayed ACK (tens of ms).
  const int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  bool ret = false;
  // The first request of a connection is served even when stopping (it was
  // accepted before the stop); further keep-alive requests are not.
  for (size_t count = limits_.keep_alive_max; count > 0; --count) {
    if (count < limits_.keep_alive_max && stopping_) break;
    if (!wait_for_request(sock)) break;
    DeadlineStream strm(sock, Clock::now() + limits_.request_timeout);
    t_stream = &strm;
    t_close = false;
    bool closed = false;
    ret = process_request(strm, count == 1 || stopping_, closed, nullptr);
    t_stream = nullptr;
    if (t_close || strm.timed_out()) closed = true;
    if (strm.timed_out() && strm.written() == 0) {
      write_all(sock, raw_json_response(408, "Request Timeout",
                                        "the request was not received within the request timeout"));
      ret = false;
    }
    if (!ret || closed) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  --open_connections_;
  return ret;
}

}  // namespace vedge::serve
