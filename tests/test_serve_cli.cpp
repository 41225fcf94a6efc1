// `vedge serve` as a process: it prints the port it listens on, answers,
// and on SIGTERM stops accepting connections but finishes the request in
// flight (here: one whose body is still arriving), then exits 0. Also the
// flags' errors. Needs ../shared (skips without it).
#ifdef VEDGE_WITH_SERVE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <regex>
#include <thread>

#include "test_serve_util.h"

extern char** environ;

namespace vt = vedge::test;
using nlohmann::json;

namespace {

struct Child {
  pid_t pid = -1;
  std::string out, err;
};

Child spawn_vedge(const std::vector<std::string>& args, const std::string& work) {
  Child c;
  c.out = work + "/stdout.txt";
  c.err = work + "/stderr.txt";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> all = {VEDGE_CLI};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  EXPECT_EQ(posix_spawn(&c.pid, VEDGE_CLI, &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

// Exit code, or -1 if it did not exit within `seconds` (then it is killed).
int wait_exit(pid_t pid, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// The port from "vedge serve: listening on http://127.0.0.1:PORT/".
int wait_port(const Child& c, int seconds) {
  const std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)/");
  for (int i = 0; i < seconds * 20; ++i) {
    std::smatch m;
    const std::string out = vt::slurp(c.out);
    if (std::regex_search(out, m, re)) return std::stoi(m[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -1;
}

std::string get(int port, const std::string& path) {
  vt::RawConn c(port);
  if (!c.connected()) return "";
  c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  return vt::parse_raw(c.read_all(5000)).body;
}

TEST(ServeCli, SigtermFinishesTheRequestInFlight) {
  VEDGE_SKIP_WITHOUT_SHARED();
  const std::string work = vt::work_dir("ServeCli.Sigterm");
  const std::string image = vt::coco_picks(work).faces[0];
  const json want = vt::cli_detect({image}, "", work).at(image)["detections"];

  Child c = spawn_vedge({"serve", vt::ultraface_model(), "--spec", vt::ultraface_spec(), "--port", "0"}, work);
  const int port = wait_port(c, 60);
  ASSERT_GT(port, 0) << vt::slurp(c.err);
  EXPECT_EQ(json::parse(get(port, "/healthz"))["status"], "ok");

  // A request whose body is half sent.
  const std::string body = vt::slurp(image);
  vt::RawConn req(port);
  ASSERT_TRUE(req.connected());
  ASSERT_TRUE(req.send("POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                       "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                       body.substr(0, body.size() / 2)));
  // The server is inside it (its handler counts it) before the signal.
  bool in_flight = false;
  for (int i = 0; i < 200 && !in_flight; ++i) {
    in_flight = get(port, "/metrics").find("\nvedge_requests_in_flight 1\n") != std::string::npos;
    if (!in_flight) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(in_flight);
  ASSERT_EQ(kill(c.pid, SIGTERM), 0);

  // New connections are refused once the listening socket is closed...
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    refused = !vt::RawConn(port).connected();
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(refused);
  // ...but the request in flight is finished and answered.
  ASSERT_TRUE(req.send(body.substr(body.size() / 2)));
  const vt::RawResponse r = vt::parse_raw(req.read_all(20000));
  EXPECT_EQ(r.status, 200) << r.headers << r.body;
  EXPECT_EQ(json::parse(r.body)["detections"], want);
  EXPECT_EQ(wait_exit(c.pid, 20), 0) << vt::slurp(c.err);
  EXPECT_NE(vt::slurp(c.err).find("SIGTERM: finishing the requests in flight"), std::string::npos);
}

TEST(ServeCli, BadFlagsAndModel) {
  const std::string work = vt::work_dir("ServeCli.BadFlags");
  Child c = spawn_vedge({"serve"}, work);
  EXPECT_EQ(wait_exit(c.pid, 20), 1);
  EXPECT_NE(vt::slurp(c.err).find("expected one MODEL"), std::string::npos) << vt::slurp(c.err);
  c = spawn_vedge({"serve", work + "/missing.onnx"}, work);
  EXPECT_EQ(wait_exit(c.pid, 20), 1);
  EXPECT_NE(vt::slurp(c.err).find("missing.onnx"), std::string::npos) << vt::slurp(c.err);
  c = spawn_vedge({"serve", "m.onnx", "--max-batch", "0"}, work);
  EXPECT_EQ(wait_exit(c.pid, 20), 1);
  EXPECT_NE(vt::slurp(c.err).find("--max-batch"), std::string::npos) << vt::slurp(c.err);
}

}  // namespace

#else
#include <gtest/gtest.h>
TEST(ServeCli, NotBuilt) { GTEST_SKIP() << "built without the server (VEDGE_BUILD_SERVE=OFF)"; }
#endif
