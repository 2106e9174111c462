#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace csbt {

namespace fs = std::filesystem;

/// The next `\n`-ended line from fd, buffered in `pending`, or nullopt after
/// `timeout` (or at end of file, when `eof_ends`).
std::optional<std::string> read_line_from(int fd, std::string& pending,
                                          std::chrono::milliseconds timeout, bool eof_ends) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::size_t nl = pending.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      if (eof_ends) return std::nullopt;
      std::this_thread::sleep_for(10ms);
      continue;
    }
    pending.append(buf, static_cast<std::size_t>(n));
  }
}

TempDir::TempDir() {
  std::string tpl = (fs::temp_directory_path() / "csbridge-test-XXXXXX").string();
  if (!::mkdtemp(tpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  std::string p = file(name);
  std::ofstream(p) << text;
  return p;
}

// --- PtyBoard --------------------------------------------------------------

PtyBoard::PtyBoard(std::string link) : link_(std::move(link)) {
  open_pty();
}

PtyBoard::~PtyBoard() {
  if (master_ >= 0) ::close(master_);
  ::unlink(link_.c_str());
}

void PtyBoard::open_pty() {
  int slave = -1;
  char name[256];
  if (::openpty(&master_, &slave, name, nullptr, nullptr) != 0)
    throw std::runtime_error(std::string("openpty: ") + std::strerror(errno));
  termios t;
  ::tcgetattr(master_, &t);
  ::cfmakeraw(&t);
  ::tcsetattr(master_, TCSANOW, &t);
  // Only the bridge holds the slave open, so its close is seen as a hangup.
  ::close(slave);
  ::fcntl(master_, F_SETFD, FD_CLOEXEC);
  ::unlink(link_.c_str());
  if (::symlink(name, link_.c_str()) != 0)
    throw std::runtime_error(std::string("symlink: ") + std::strerror(errno));
  pending_.clear();
}

void PtyBoard::write(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(master_, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{master_, POLLOUT, 0};
        ::poll(&p, 1, 100);
        continue;
      }
      throw std::runtime_error(std::string("pty write: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
}

std::optional<std::string> PtyBoard::read_line(std::chrono::milliseconds timeout) {
  // EIO while no one holds the slave: nothing to read yet, not the end.
  auto line = read_line_from(master_, pending_, timeout, /*eof_ends=*/false);
  if (line && !line->empty() && line->back() == '\r') line->pop_back();
  return line;
}

std::vector<std::string> PtyBoard::read_lines_for(std::chrono::milliseconds window) {
  std::vector<std::string> lines;
  auto deadline = Clock::now() + window;
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (auto l = read_line(left)) lines.push_back(*l);
  }
  return lines;
}

std::string PtyBoard::read_bytes_for(std::chrono::milliseconds window) {
  std::string out = std::move(pending_);
  pending_.clear();
  auto deadline = Clock::now() + window;
  while (Clock::now() < deadline) {
    pollfd p{master_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(master_, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void PtyBoard::unplug() {
  if (master_ >= 0) ::close(master_);
  master_ = -1;
  ::unlink(link_.c_str());
}

void PtyBoard::replug() {
  unplug();
  open_pty();
}

// --- Bridge ----------------------------------------------------------------

Bridge::Bridge(const TempDir& dir, const std::string& config, std::vector<std::string> extra,
               bool audio_null) {
  socket_ = dir.file("ctl.sock");
  log_path_ = dir.file("bridge.log");
  // Channel values are kept in the test's directory, never in $HOME: a
  // bridge started again on the same directory finds them (as after a reboot).
  std::string state_dir = dir.file("state");
  std::vector<std::string> args{CSBRIDGE_BIN, "run", config, "--control", socket_};
  if (audio_null) args.insert(args.end(), {"--audio", "null"});
  args.insert(args.end(), extra.begin(), extra.end());
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // If the test program dies without its destructors (a crash, SIGPIPE),
    // the bridge dies with it: an orphan would keep globbing a stale
    // symlink and steal a later test's reused /dev/pts number.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setenv("STATE_DIRECTORY", state_dir.c_str(), 1);
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

Bridge::~Bridge() {
  if (pid_ > 0 && !exit_code_) {
    // Stopped as the service is, so it leaves JACK's graph: a client that
    // dies in it holds a sync-mode server for ten times its timeout.
    ::kill(pid_, SIGTERM);
    if (!wait_exit(std::chrono::seconds(3))) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
}

nlohmann::json Bridge::ctl(const std::string& command) const {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {{"ok", false}, {"error", "connect failed"}};
  }
  std::string line = command + "\n";
  (void)::write(fd, line.data(), line.size());
  std::string reply;
  char c;
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 5000) > 0 && ::read(fd, &c, 1) == 1 && c != '\n') reply += c;
  ::close(fd);
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded()) return {{"ok", false}, {"error", "bad reply: " + reply}};
  return j;
}

bool Bridge::wait_state(const std::string& state, std::chrono::milliseconds timeout) const {
  return eventually(
      [&] {
        auto s = ctl("status");
        return s.value("ok", false) && s["csound"]["state"] == state;
      },
      timeout);
}

double Bridge::value(const std::string& name) const {
  auto r = ctl("get " + name);
  if (!r.value("ok", false) || !r["value"].is_number()) return NAN;
  return r["value"].get<double>();
}

bool Bridge::wait_value(const std::string& name, double v, std::chrono::milliseconds timeout,
                        double tolerance) const {
  return eventually([&] { return std::fabs(value(name) - v) <= tolerance; }, timeout);
}

void Bridge::signal(int signo) const {
  ::kill(pid_, signo);
}

bool Bridge::alive() const {
  if (exit_code_) return false;
  return ::waitpid(pid_, nullptr, WNOHANG) == 0;
}

std::optional<int> Bridge::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

std::optional<int> Bridge::terminate(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  ::kill(pid_, SIGTERM);
  return wait_exit(timeout);
}

long Bridge::rss_kb() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::string Bridge::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// --- ControlClient ---------------------------------------------------------

ControlClient::ControlClient(const std::string& socket) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

void ControlClient::send(const std::string& bytes) {
  // MSG_NOSIGNAL: a service that closed the connection must not kill the test.
  (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

std::optional<std::string> ControlClient::read_line(std::chrono::milliseconds timeout) {
  return read_line_from(fd_, pending_, timeout, /*eof_ends=*/true);
}

bool ControlClient::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    }
  }
  return false;
}

// --- helpers ---------------------------------------------------------------

RunResult run_csbridge(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  TempDir state;  // see Bridge::Bridge
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // see Bridge::Bridge
    if (::getppid() != parent) ::_exit(127);
    ::setenv("STATE_DIRECTORY", state.path().c_str(), 1);
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    std::vector<std::string> all{CSBRIDGE_BIN};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  RunResult r;
  auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    pollfd p{pipefd[0], POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      r.output += "\n[timed out]";
      break;
    }
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    r.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

std::string make_csd(const std::string& body, const std::string& score,
                     const std::string& options) {
  return "<CsoundSynthesizer>\n<CsOptions>\n" + options +
         "\n</CsOptions>\n<CsInstruments>\n"
         "sr = 48000\nksmps = 64\nnchnls = 1\n0dbfs = 1\n" +
         body + "\n</CsInstruments>\n<CsScore>\n" + score + "\n</CsScore>\n</CsoundSynthesizer>\n";
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

std::string stuck_orchestra(const std::string& condition) {
  return "instr 1\n  if " + condition +
         " then\n    kcount = 0\n  spin:\n    kcount += 1\n    if kcount > -1 kgoto spin\n"
         "  endif\nendin\nalwayson 1\n";
}

}  // namespace csbt
