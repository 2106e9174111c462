#include "serial/serial_port.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "serial/firmata_board.hpp"
#include "serial/termios2.hpp"

namespace csb {

namespace asio = boost::asio;

SerialPort::SerialPort(asio::io_context& io, DeviceConfig config, std::uint32_t index,
                       OnLine on_line, OnMidi on_midi, OnState on_state, OnPin on_pin,
                       const firmata::PinPlan& plan)
    : config_(std::move(config)),
      index_(index),
      on_line_(std::move(on_line)),
      on_midi_(std::move(on_midi)),
      on_state_(std::move(on_state)),
      on_pin_(std::move(on_pin)),
      stream_(io),
      splitter_(config_.max_line) {
  if (config_.format != SerialFormat::firmata) return;
  FirmataBoard::Hooks hooks;
  hooks.write = [this](const std::uint8_t* b, std::size_t n) { return write_now(b, n); };
  hooks.value = [this](SourceKind kind, int pin, double raw, std::int64_t t) {
    if (on_pin_) on_pin_(*this, kind, pin, raw, t);
  };
  hooks.ready = [this] { on_state_(*this, true); };
  // Closed from the board's timer; the scan opens it again.
  hooks.silent = [this] { close("the board stopped answering"); };
  board_ = std::make_unique<FirmataBoard>(io, config_.name, plan, std::move(hooks));
}

SerialPort::~SerialPort() {
  {
    std::lock_guard lock(write_lock_);
    write_fd_ = -1;
  }
  boost::system::error_code ec;
  stream_.close(ec);
}

bool SerialPort::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    last_error_ = fmt::format("cannot open {}: {}", path, std::strerror(errno));
    return false;
  }
  std::string err = configure_serial(fd, config_.baud, config_.flow == Flow::rtscts, config_.dtr);
  if (!err.empty()) {
    ::close(fd);
    last_error_ = fmt::format("cannot configure {}: {}", path, err);
    return false;
  }
  stream_.assign(fd);
  path_ = path;
  splitter_.reset();
  decoder_.reset();
  ++connects_;
  last_error_.clear();
  {
    std::lock_guard lock(write_lock_);
    write_fd_ = fd;
    writable_ = true;
    resync_ = false;
  }
  spdlog::info("device {}: connected on {} at {} baud", config_.name, path, config_.baud);
  read_more();
  if (board_)
    board_->open();  // connected for feedback once the board is set up
  else
    on_state_(*this, true);
  return true;
}

void SerialPort::close(const std::string& why, bool vanished) {
  if (!stream_.is_open()) return;
  // The performance thread may be writing: take the writer lock first so the
  // descriptor is never closed (and reused) under it.
  {
    std::lock_guard lock(write_lock_);
    write_fd_ = -1;
    writable_ = false;
  }
  boost::system::error_code ec;
  stream_.close(ec);
  splitter_.reset();  // half a line (or message) at a disconnect is not a message
  decoder_.reset();
  if (board_) board_->close();
  last_error_ = why;
  if (!vanished) {
    spdlog::info("device {}: closed {}", config_.name, path_);
    return;
  }
  spdlog::warn("device {}: disconnected from {} ({}); looking for it again", config_.name, path_,
               why);
  on_state_(*this, false);
}

void SerialPort::read_more() {
  // A read that completed just before the port was closed (a reload retired
  // its device, or it was closed and opened again) is of a connection that
  // is gone: its handler may still run, with success, and is dropped.
  stream_.async_read_some(asio::buffer(buf_), [this, connection = connects_](
                                                  boost::system::error_code ec, std::size_t n) {
    if (ec == asio::error::operation_aborted || !stream_.is_open() || connection != connects_)
      return;
    if (ec) {
      close(ec == asio::error::eof ? "end of file" : ec.message());
      return;
    }
    std::int64_t t = steady_ns();
    bytes_in_ += n;
    if (board_) {
      const std::uint64_t bad = board_->bad();
      board_->feed(reinterpret_cast<const std::uint8_t*>(buf_), n, t);
      counters_.bad += board_->bad() - bad;
    } else if (config_.format == SerialFormat::midi) {
      std::uint64_t bad = decoder_.errors() + decoder_.sysex_dropped();
      decoder_.feed(
          reinterpret_cast<const std::uint8_t*>(buf_), n,
          [&](const MidiMessage& m) { on_midi_(*this, m, t); },
          [](auto) {});  // sysex: accepted, bounded, not routed
      counters_.bad += decoder_.errors() + decoder_.sysex_dropped() - bad;
    } else {
      std::uint64_t overlong = splitter_.overlong_count();
      splitter_.feed(buf_, n, [&](std::string_view line) { on_line_(*this, line, t); });
      counters_.bad += splitter_.overlong_count() - overlong;
    }
    if (stream_.is_open()) read_more();
  });
}

bool SerialPort::write_now(const std::uint8_t* data, std::size_t len) noexcept {
  // try_send holds the lock for one write(2): yield to it rather than spin.
  while (!write_lock_.try_lock()) std::this_thread::yield();
  const ssize_t written = write_fd_ >= 0 ? ::write(write_fd_, data, len) : -1;
  write_lock_.unlock();
  if (written == static_cast<ssize_t>(len)) return true;
  write_failures_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

SendResult SerialPort::try_send(const char* data, std::size_t len) noexcept {
  if (!write_lock_.try_lock()) {
    write_failures_.fetch_add(1, std::memory_order_relaxed);
    return SendResult::failed;  // the loop is opening or closing the port
  }
  SendResult result = SendResult::absent;
  if (write_fd_ >= 0) {
    // After a line went out in part, a newline first: the board then drops
    // the fragment as one bad line instead of reading it glued to this one.
    char buf[1024];
    const char* out = data;
    std::size_t n = len;
    // Not for MIDI or Firmata: there 0x0A is a data byte, and the next
    // message's status byte already ends the fragment.
    if (resync_ && config_.format == SerialFormat::lines && len < sizeof buf) {
      buf[0] = '\n';
      std::memcpy(buf + 1, data, len);
      out = buf;
      n = len + 1;
    }
    ssize_t written = ::write(write_fd_, out, n);
    if (written == static_cast<ssize_t>(n)) {
      resync_ = false;
      result = SendResult::sent;
    } else {
      if (written > 0) resync_ = true;
      result = SendResult::failed;
    }
  }
  write_lock_.unlock();
  if (result == SendResult::failed) write_failures_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

}  // namespace csb
