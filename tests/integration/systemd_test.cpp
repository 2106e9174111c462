// The service manager's protocol, against a real NOTIFY_SOCKET datagram
// socket as systemd makes one: readiness, status, watchdog pings at the rate
// asked for and only while the performance moves, reload and stop notices;
// and log lines for the journal.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace csbt;

namespace {

/// A datagram socket bound in the test's directory, as systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("bind " + path + ": " + std::strerror(errno));
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  struct Message {
    Clock::time_point at;
    std::string text;
  };
  /// Every datagram that arrives within `window`.
  std::vector<Message> read_for(std::chrono::milliseconds window) {
    std::vector<Message> out;
    auto until = Clock::now() + window;
    while (Clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0))) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) out.push_back({Clock::now(), std::string(buf, static_cast<std::size_t>(n))});
    }
    return out;
  }
  /// Reads until a datagram containing `text` comes; all read so far in `seen`.
  bool wait_for(const std::string& text, std::vector<Message>& seen,
                std::chrono::milliseconds timeout = 10s) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      for (auto& m : read_for(50ms)) {
        seen.push_back(m);
        if (m.text.find(text) != std::string::npos) return true;
      }
    }
    return false;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

int count(const std::vector<NotifySocket::Message>& ms, const std::string& text) {
  int n = 0;
  for (auto& m : ms) n += m.text.find(text) != std::string::npos;
  return n;
}

std::string joined(const std::vector<NotifySocket::Message>& ms) {
  std::string s;
  for (auto& m : ms) s += "[" + m.text + "]\n";
  return s;
}

/// Sets environment variables for the bridges started while it lives.
struct ScopedEnv {
  std::vector<std::string> names;
  void set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    names.push_back(name);
  }
  ~ScopedEnv() {
    for (auto& n : names) ::unsetenv(n.c_str());
  }
};

struct SystemdFixture : ::testing::Test {
  TempDir dir;
  ScopedEnv env;
  std::unique_ptr<NotifySocket> notify;
  std::unique_ptr<Bridge> bridge;

  void SetUp() override {
    notify = std::make_unique<NotifySocket>(dir.file("notify.sock"));
    env.set("NOTIFY_SOCKET", dir.file("notify.sock"));
  }
  std::string config(const std::string& orchestra) {
    dir.write("test.csd", make_csd(orchestra));
    return dir.write("test.yaml", "csound:\n  csd: test.csd\n  restart_delay: 100ms\n");
  }
};

const char* kQuiet = "instr 1\nendin\nalwayson 1\n";

}  // namespace

TEST_F(SystemdFixture, ReadyStatusWatchdogReloadAndStop) {
  env.set("WATCHDOG_USEC", "400000");  // pings every 200 ms
  bridge = std::make_unique<Bridge>(dir, config(kQuiet));
  std::vector<NotifySocket::Message> seen;
  ASSERT_TRUE(notify->wait_for("READY=1", seen)) << joined(seen) << bridge->log();
  EXPECT_NE(seen.back().text.find("STATUS=playing test.csd; 0 of 0 devices connected"),
            std::string::npos)
      << seen.back().text;
  // Pings at half the interval: 10 in 2 s, give or take a busy machine.
  auto window = notify->read_for(2s);
  int pings = count(window, "WATCHDOG=1");
  EXPECT_GE(pings, 7) << joined(window);
  EXPECT_LE(pings, 12) << joined(window);
  EXPECT_NE(bridge->log().find("systemd watchdog: 400 ms"), std::string::npos) << bridge->log();

  seen.clear();
  bridge->signal(SIGHUP);
  ASSERT_TRUE(notify->wait_for("READY=1", seen)) << joined(seen);
  ASSERT_GE(count(seen, "RELOADING=1"), 1) << joined(seen);
  EXPECT_NE(seen.back().text.find("READY=1"), std::string::npos);
  for (auto& m : seen) {
    if (m.text.find("RELOADING=1") != std::string::npos) {
      EXPECT_NE(m.text.find("MONOTONIC_USEC="), std::string::npos) << m.text;
    }
  }

  seen.clear();
  auto t0 = Clock::now();
  auto code = bridge->terminate(2s);
  ASSERT_TRUE(code.has_value()) << "still running 2 s after SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_LT(Clock::now() - t0, 2s);
  auto rest = notify->read_for(100ms);
  EXPECT_EQ(count(rest, "STOPPING=1"), 1) << joined(rest);
}

TEST_F(SystemdFixture, StatusFollowsTheCsoundState) {
  bridge = std::make_unique<Bridge>(dir, config(kQuiet));
  std::vector<NotifySocket::Message> seen;
  ASSERT_TRUE(notify->wait_for("READY=1", seen)) << bridge->log();
  EXPECT_EQ(bridge->ctl("pause")["ok"], true);
  ASSERT_TRUE(notify->wait_for("STATUS=paused test.csd", seen, 3s)) << joined(seen);
  EXPECT_EQ(count(seen, "WATCHDOG=1"), 0) << "no watchdog asked for, none sent";
  EXPECT_EQ(bridge->ctl("resume")["ok"], true);
  ASSERT_TRUE(notify->wait_for("STATUS=playing test.csd", seen, 3s)) << joined(seen);
}

TEST_F(SystemdFixture, ABrokenCsdIsStillReadyAndSaysWhy) {
  dir.write("test.csd", make_csd("instr 1\n  aa oscil\nendin\n"));
  bridge = std::make_unique<Bridge>(
      dir, dir.write("test.yaml", "csound:\n  csd: test.csd\n  restart_delay: 100ms\n"));
  std::vector<NotifySocket::Message> seen;
  ASSERT_TRUE(notify->wait_for("READY=1", seen)) << bridge->log();
  EXPECT_NE(seen.back().text.find("STATUS=test.csd failed: "), std::string::npos)
      << seen.back().text;
}

TEST_F(SystemdFixture, AStuckPerformanceThreadStopsTheWatchdogPings) {
  env.set("WATCHDOG_USEC", "400000");
  // An endless k-rate loop once the channel "hang" is set.
  std::string orc = stuck_orchestra("chnget:k(\"hang\") == 1");
  bridge = std::make_unique<Bridge>(dir, config(orc));
  std::vector<NotifySocket::Message> seen;
  ASSERT_TRUE(notify->wait_for("READY=1", seen)) << bridge->log();
  ASSERT_GE(count(notify->read_for(1s), "WATCHDOG=1"), 3);
  EXPECT_EQ(bridge->ctl("set hang 1")["ok"], true);
  // At most one more ping (a tick that saw the last k-cycles), then none.
  ASSERT_TRUE(notify->wait_for("STATUS=test.csd is stuck", seen, 3s)) << joined(seen);
  auto after = notify->read_for(1500ms);
  EXPECT_EQ(count(after, "WATCHDOG=1"), 0) << joined(after);
  EXPECT_NE(bridge->log().find("the systemd watchdog is no longer fed"), std::string::npos)
      << bridge->log();
}

TEST_F(SystemdFixture, UnderTheJournalLinesCarryPrioritiesAndNoTimestamps) {
  // The journal's stream is the service's stderr: JOURNAL_STREAM names its
  // device and inode. Here stderr is the log file the harness opens.
  std::string log = dir.write("bridge.log", "");
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  env.set("JOURNAL_STREAM", std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino));
  bridge = std::make_unique<Bridge>(dir, config(kQuiet));
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  std::string text = bridge->log();
  EXPECT_EQ(text.rfind("<6>csbridge: config ", 0), 0u) << text;
  EXPECT_NE(text.find("\n<6>csound: playing"), std::string::npos) << text;
  // Every line starts with its priority; the journal adds the time itself.
  std::size_t lines = 0;
  for (std::size_t at = 0; at < text.size(); at = text.find('\n', at) + 1) {
    ++lines;
    EXPECT_TRUE(text[at] == '<' && std::isdigit(static_cast<unsigned char>(text[at + 1])) &&
                text[at + 2] == '>')
        << text.substr(at, text.find('\n', at) - at);
    if (text.find('\n', at) == std::string::npos) break;
  }
  EXPECT_GE(lines, 2u);
}

TEST_F(SystemdFixture, AnotherStreamThanTheJournalKeepsTimestamps) {
  env.set("JOURNAL_STREAM", "1:1");  // stderr is not that
  bridge = std::make_unique<Bridge>(dir, config(kQuiet));
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  EXPECT_EQ(bridge->log().rfind("20", 0), 0u) << bridge->log();
}
