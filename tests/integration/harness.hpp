#pragma once
// Integration-test harness: real parts only. A temporary directory, a
// pseudo-terminal as a serial board, the csbridge binary as a child process
// paced with --audio null, and a client for its control socket. Every
// process started here is stopped by its pid.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace csbt {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Writes `text` to `name` inside the directory; returns the full path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

/// A serial board: the master side of a pty, with its slave reachable
/// through a symlink (so a test can "replug" it under the same glob).
class PtyBoard {
 public:
  /// Opens a pty and points `link` at its slave.
  explicit PtyBoard(std::string link);
  ~PtyBoard();
  void write(const std::string& bytes);
  void write_line(const std::string& line) { write(line + "\n"); }
  /// The next complete line the bridge sent, or nullopt after `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 2000ms);
  /// Every line that arrives within `window`.
  std::vector<std::string> read_lines_for(std::chrono::milliseconds window);
  /// Every byte that arrives within `window` (for MIDI boards).
  std::string read_bytes_for(std::chrono::milliseconds window);
  /// Closes the master: the bridge sees the device vanish.
  void unplug();
  /// A fresh pty under the same link.
  void replug();
  const std::string& link() const { return link_; }

 private:
  void open_pty();
  std::string link_;
  int master_ = -1;
  std::string pending_;
};

/// The csbridge binary running one config.
class Bridge {
 public:
  /// Starts `csbridge run CONFIG --audio null --control <dir>/ctl.sock`
  /// (without `--audio null` when `audio_null` is false).
  Bridge(const TempDir& dir, const std::string& config, std::vector<std::string> extra = {},
         bool audio_null = true);
  ~Bridge();

  /// Sends one control command; the parsed reply (or {"ok":false,...} when
  /// the socket does not answer).
  nlohmann::json ctl(const std::string& command) const;
  /// Waits until `status` says csound.state == state.
  bool wait_state(const std::string& state, std::chrono::milliseconds timeout = 10s) const;
  /// Waits until `get name` returns `value` (within tolerance).
  bool wait_value(const std::string& name, double value, std::chrono::milliseconds timeout = 5s,
                  double tolerance = 1e-9) const;
  /// The current numeric value of a channel (NaN when none).
  double value(const std::string& name) const;

  /// SIGTERM, then waits; the exit status, or nullopt if it did not exit in `timeout`.
  std::optional<int> terminate(std::chrono::milliseconds timeout = 3s);
  void signal(int signo) const;
  bool alive() const;
  /// Waits for the process to exit by itself; its exit code.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// Resident memory in KiB, from /proc.
  long rss_kb() const;
  std::string log() const;
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }

 private:
  pid_t pid_ = -1;
  std::string socket_;
  std::string log_path_;
  std::optional<int> exit_code_;
};

/// A connection to the control socket that stays open (for `monitor`, and
/// for misbehaving clients).
class ControlClient {
 public:
  explicit ControlClient(const std::string& socket);
  ~ControlClient();
  bool connected() const { return fd_ >= 0; }
  void send(const std::string& bytes);
  /// The next line, or nullopt on timeout or when the service closed the connection.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 2000ms);
  /// True once the service has closed the connection.
  bool closed_by_peer(std::chrono::milliseconds timeout = 2000ms);

 private:
  int fd_ = -1;
  std::string pending_;
};

/// Runs csbridge with `args` to completion; exit code and combined output.
struct RunResult {
  int code = -1;
  std::string output;
};
RunResult run_csbridge(const std::vector<std::string>& args, std::chrono::seconds timeout = 60s);

/// Whether resident memory says anything about csbridge's own growth: not in
/// a sanitizer build, whose runtime holds freed memory back on purpose
/// (ASan's quarantine) or keeps shadow memory (TSan).
constexpr bool rss_is_meaningful() {
#if defined(CSB_SANITIZE_address) || defined(CSB_SANITIZE_thread)
  return false;
#else
  return true;
#endif
}

/// Polls `pred` until true or `timeout`.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s);

/// How many times `needle` occurs in `text` (a log line said once, say).
std::size_t count_of(const std::string& text, const std::string& needle);

/// An orchestra whose instr 1 (always on) loops for ever inside one k-cycle
/// once the k-rate `condition` holds: Csound never gets back to its queue.
std::string stuck_orchestra(const std::string& condition);

/// A test CSD: `body` is the orchestra after the header (sr 48000, ksmps 64).
std::string make_csd(const std::string& body, const std::string& score = "f0 z",
                     const std::string& options = "-d -m0");

}  // namespace csbt
