#include "control/control_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

namespace csb {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

ControlServer::ControlServer(asio::io_context& io, std::string path, unsigned mode, Handler handler,
                             std::chrono::milliseconds idle_timeout)
    : io_(io),
      path_(std::move(path)),
      handler_(std::move(handler)),
      idle_timeout_(idle_timeout),
      acceptor_(io),
      retry_(io) {
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error(
          fmt::format("control socket {}: a file that is not a socket "
                      "is in the way",
                      path_));
    stream::socket probe(io);
    boost::system::error_code ec;
    probe.connect(stream::endpoint(path_), ec);
    if (!ec)
      throw std::runtime_error(
          fmt::format("control socket {}: another csbridge is already listening there", path_));
    ::unlink(path_.c_str());  // stale, left by a process that died
  }
  boost::system::error_code ec;
  acceptor_.open(stream(), ec);
  if (!ec) acceptor_.bind(stream::endpoint(path_), ec);
  if (!ec) acceptor_.listen(16, ec);
  if (ec) throw std::runtime_error(fmt::format("control socket {}: {}", path_, ec.message()));
  if (::chmod(path_.c_str(), mode) != 0)
    spdlog::warn("control socket {}: cannot set mode {:o}", path_, mode);
  accept();
}

ControlServer::~ControlServer() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
  auto sessions = sessions_;  // close() erases from sessions_
  for (auto& s : sessions) s->close();
  ::unlink(path_.c_str());
}

void ControlServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, say: try again in a while, not in a spin.
      spdlog::warn("control socket: accept failed: {}; retrying in 100 ms", ec.message());
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](boost::system::error_code e) {
        if (!e) accept();
      });
      return;
    }
    if (sessions_.size() >= kMaxSessions && !make_room()) {
      boost::system::error_code ignored;
      static const std::string busy = "{\"ok\":false,\"error\":\"too many control connections\"}\n";
      asio::write(socket, asio::buffer(busy), ignored);  // a local socket: no wait
      socket.close(ignored);
    } else {
      auto session = std::make_shared<ControlSession>(*this, std::move(socket));
      sessions_.insert(session);
      session->start();
    }
    accept();
  });
}

bool ControlServer::make_room() {
  std::shared_ptr<ControlSession> oldest;
  for (const auto& s : sessions_)
    if (s->idle() && (!oldest || s->last_active() < oldest->last_active())) oldest = s;
  if (!oldest) return false;
  oldest->send_and_close(
      "{\"ok\":false,\"error\":\"closed: idle the longest of 32 connections, making room for a "
      "new one\"}");
  // Out of the count at once; the socket closes once the line is written.
  sessions_.erase(oldest);
  return true;
}

void ControlServer::broadcast(const std::string& line) {
  for (auto* m : monitors_) m->send(line);
}

ControlSession::ControlSession(ControlServer& server, stream::socket socket)
    : server_(server),
      socket_(std::move(socket)),
      idle_timer_(server.io_),
      last_active_(std::chrono::steady_clock::now()) {}

void ControlSession::start() {
  arm_idle_timer();
  read_line();
}

void ControlSession::arm_idle_timer() {
  if (closed_ || monitor_) return;
  idle_timer_.expires_after(server_.idle_timeout_);
  std::weak_ptr<ControlSession> weak = shared_from_this();
  idle_timer_.async_wait([this, weak](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || closed_ || !idle()) return;
    send_and_close(fmt::format(
        "{{\"ok\":false,\"error\":\"closed: nothing sent for {} s\"}}",
        std::chrono::duration_cast<std::chrono::seconds>(server_.idle_timeout_).count()));
  });
}

void ControlSession::start_monitor() {
  monitor_ = true;
  idle_timer_.cancel();
  server_.monitors_.insert(this);
}

void ControlSession::send_and_close(std::string line) {
  if (closed_ || closing_) return;
  send(std::move(line));
  closing_ = true;
  if (!writing_) close();
}

void ControlSession::read_line() {
  auto self = shared_from_this();
  asio::async_read_until(socket_, asio::dynamic_buffer(in_, kMaxLine + 1), '\n',
                         [this, self](boost::system::error_code ec, std::size_t n) {
                           if (closed_ || closing_) return;
                           if (ec == asio::error::not_found) {
                             send_and_close(fmt::format(
                                 "{{\"ok\":false,\"error\":\"a command line may be at most {} "
                                 "bytes; closing the connection\"}}",
                                 kMaxLine));
                             return;
                           }
                           if (ec) {
                             close();
                             return;
                           }
                           last_active_ = std::chrono::steady_clock::now();
                           answering_ = true;
                           idle_timer_.cancel();
                           std::string line = in_.substr(0, n - 1);
                           in_.erase(0, n);
                           if (!line.empty() && line.back() == '\r') line.pop_back();
                           std::weak_ptr<ControlSession> weak = self;
                           server_.handler_(*this, line, [this, weak](std::string reply) {
                             auto s = weak.lock();
                             if (!s || closed_) return;
                             answering_ = false;
                             last_active_ = std::chrono::steady_clock::now();
                             send(std::move(reply));
                             arm_idle_timer();
                             read_line();
                           });
                         });
}

void ControlSession::send(std::string line) {
  if (closed_) return;
  if (out_.size() >= kMaxQueued) {
    ++dropped_;
    return;
  }
  line += '\n';
  out_.push_back(std::move(line));
  if (!writing_) write_next();
}

void ControlSession::write_next() {
  if (out_.empty() || closed_) {
    writing_ = false;
    if (closing_) close();
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(out_.front()),
                    [this, self](boost::system::error_code ec, std::size_t) {
                      if (ec) {
                        close();
                        return;
                      }
                      out_.pop_front();
                      write_next();
                    });
}

void ControlSession::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  idle_timer_.cancel();
  socket_.close(ec);
  server_.monitors_.erase(this);
  // Erasing may drop the last owner: do it last, after touching members.
  auto self = shared_from_this();
  server_.sessions_.erase(self);
}

}  // namespace csb
