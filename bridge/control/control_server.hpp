#pragma once
// The control socket (SPEC §6): a Unix stream socket, one command a line,
// one JSON reply a line. A line over 4096 bytes gets an error reply, then the
// connection is closed. A session that sent `monitor` then receives event
// lines, bounded: a client that does not read loses lines (counted), the
// service never waits for it. A session idle for the idle timeout (60 s) is
// closed, monitors excepted, and when all 32 sessions are taken the one idle
// the longest makes room, so a new client always gets in.
//
// Threads: loop thread only.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

namespace csb {

class ControlSession;

class ControlServer {
 public:
  /// Replies to one command line by calling `reply` (now or later) exactly once.
  using Handler = std::function<void(ControlSession& session, const std::string& line,
                                     std::function<void(std::string)> reply)>;

  /// Binds and listens on `path` with file mode `mode`. A stale socket file
  /// is replaced; a live one (another instance answering) throws
  /// std::runtime_error, as does any other failure to bind.
  ControlServer(boost::asio::io_context& io, std::string path, unsigned mode, Handler handler,
                std::chrono::milliseconds idle_timeout = std::chrono::seconds(60));
  ~ControlServer();

  /// Sends one line to every monitoring session.
  void broadcast(const std::string& line);
  bool has_monitors() const { return !monitors_.empty(); }
  const std::string& path() const { return path_; }

 private:
  friend class ControlSession;
  void accept();
  /// Closes the session idle the longest (not a monitor, no command being
  /// answered); false when there is none.
  bool make_room();

  boost::asio::io_context& io_;
  std::string path_;
  Handler handler_;
  std::chrono::milliseconds idle_timeout_;
  static constexpr std::size_t kMaxSessions = 32;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  std::set<std::shared_ptr<ControlSession>> sessions_;
  std::set<ControlSession*> monitors_;
};

class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  static constexpr std::size_t kMaxLine = 4096;
  static constexpr std::size_t kMaxQueued = 1024;

  ControlSession(ControlServer& server, boost::asio::local::stream_protocol::socket socket);
  void start();
  /// Makes this session a monitor: it receives broadcast lines from now on.
  void start_monitor();
  /// Queues a line for the client (dropped and counted past kMaxQueued).
  void send(std::string line);
  void close();
  /// Sends `line`, then closes once it is written.
  void send_and_close(std::string line);

  /// Idle: not a monitor, no command being answered.
  bool idle() const { return !monitor_ && !answering_; }
  std::chrono::steady_clock::time_point last_active() const { return last_active_; }

 private:
  void read_line();
  void write_next();
  void arm_idle_timer();

  ControlServer& server_;
  boost::asio::local::stream_protocol::socket socket_;
  boost::asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_active_;
  std::string in_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool closed_ = false;
  bool closing_ = false;  // close once out_ is written
  bool monitor_ = false;
  bool answering_ = false;
  std::uint64_t dropped_ = 0;
};

}  // namespace csb
