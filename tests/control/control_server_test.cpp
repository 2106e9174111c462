// The control socket server on a real Unix socket and a real event loop,
// with a short idle timeout so a test need not wait a minute.

#include "control/control_server.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace csb {
namespace {

using namespace std::chrono_literals;

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Everything the peer sends until it closes, or until `timeout`; `closed` says which.
std::string read_until_close(int fd, std::chrono::milliseconds timeout, bool& closed) {
  std::string got;
  closed = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return got;
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      closed = true;
      return got;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "csb-ctl-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    path_ = dir_ + "/ctl.sock";
  }
  void TearDown() override {
    if (loop_.joinable()) {
      boost::asio::post(io_, [this] {
        server_.reset();
        io_.stop();
      });
      loop_.join();
    }
    std::filesystem::remove_all(dir_);
  }
  /// A server answering "pong" to every line, with `idle` as its idle timeout.
  void start(std::chrono::milliseconds idle) {
    server_ = std::make_unique<ControlServer>(
        io_, path_, 0600,
        [](ControlSession& s, const std::string& line, std::function<void(std::string)> reply) {
          if (line == "monitor") s.start_monitor();
          reply("pong");
        },
        idle);
    loop_ = std::thread([this] { io_.run(); });
  }

  boost::asio::io_context io_;
  std::unique_ptr<ControlServer> server_;
  std::thread loop_;
  std::string dir_, path_;
};

TEST_F(ControlServerTest, IdleSession_IsClosedWithAReasonButAMonitorIsNot) {
  start(300ms);
  int idle = connect_to(path_);
  int monitor = connect_to(path_);
  ASSERT_GE(idle, 0);
  ASSERT_GE(monitor, 0);
  ASSERT_EQ(::send(monitor, "monitor\n", 8, MSG_NOSIGNAL), 8);
  bool closed = false;
  std::string said = read_until_close(idle, 3s, closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(said.find("nothing sent for"), std::string::npos) << said;
  std::string to_monitor = read_until_close(monitor, 1s, closed);
  EXPECT_FALSE(closed) << to_monitor;
  EXPECT_EQ(to_monitor, "pong\n");
  ::close(idle);
  ::close(monitor);
}

TEST_F(ControlServerTest, ASessionThatTalksStaysOpen) {
  start(300ms);
  int fd = connect_to(path_);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(::send(fd, "ping\n", 5, MSG_NOSIGNAL), 5);
  }
  bool closed = false;
  std::string got = read_until_close(fd, 100ms, closed);
  EXPECT_FALSE(closed);
  EXPECT_EQ(got.find("nothing sent"), std::string::npos) << got;
  ::close(fd);
}

}  // namespace
}  // namespace csb
