#pragma once
// A serial board (SPEC §3.3, §5): found by its path glob, opened raw at any
// baud, read line by line on the event loop, closed and looked for again when
// it vanishes. Feedback lines are written by the performance thread through
// FeedbackPort::try_send.
//
// Threads: everything on the loop thread, except try_send (any thread).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "core/config.hpp"
#include "core/feedback.hpp"
#include "core/firmata_session.hpp"
#include "core/lines_parser.hpp"
#include "core/midi.hpp"
#include "core/router.hpp"
#include "core/spin.hpp"

namespace csb {

class FirmataBoard;

class SerialPort : public FeedbackPort {
 public:
  /// Loop thread: a complete line arrived (t_ns: steady clock at the read).
  using OnLine = std::function<void(SerialPort&, std::string_view line, std::int64_t t_ns)>;
  /// Loop thread: a MIDI message arrived (`format: midi`).
  using OnMidi = std::function<void(SerialPort&, const MidiMessage& m, std::int64_t t_ns)>;
  /// Loop thread: the device was opened (true; a firmata board once it is
  /// set up, again after it restarted) or closed (false).
  using OnState = std::function<void(SerialPort&, bool connected)>;
  /// Loop thread: a firmata board's pin value (SourceKind analog or digital).
  using OnPin =
      std::function<void(SerialPort&, SourceKind kind, int pin, double raw, std::int64_t t_ns)>;

  /// `plan` and `on_pin` are for `format: firmata` only.
  SerialPort(boost::asio::io_context& io, DeviceConfig config, std::uint32_t index, OnLine on_line,
             OnMidi on_midi, OnState on_state, OnPin on_pin = {},
             const firmata::PinPlan& plan = {});
  ~SerialPort() override;

  /// Tries to open `path`; false when it cannot (last_error() says why).
  bool open(const std::string& path);
  /// Closes the port (if open) and marks the device absent; `vanished`: it
  /// went away by itself (logged as a warning, and looked for again).
  void close(const std::string& why, bool vanished = true);

  SendResult try_send(const char* data, std::size_t len) noexcept override;
  /// Loop thread: writes all of `data` now, waiting out a send of the
  /// performance thread in progress (one write(2)) instead of failing; false
  /// when the port is closed or did not take it all (a firmata board's set-up).
  bool write_now(const std::uint8_t* data, std::size_t len) noexcept;
  /// Any thread: the port is open for writing (a cheap check before try_send).
  bool writable() const noexcept { return writable_.load(std::memory_order_relaxed); }

  const DeviceConfig& config() const { return config_; }
  std::uint32_t index() const { return index_; }
  void set_index(std::uint32_t index) { index_ = index; }
  /// Which of its device's ports this is (0..7): MIDI running state is per port.
  std::uint32_t port_index() const { return port_index_; }
  void set_port_index(std::uint32_t i) { port_index_ = i; }
  bool connected() const { return stream_.is_open(); }
  const std::string& path() const { return path_; }
  InputCounters& counters() { return counters_; }
  const InputCounters& counters() const { return counters_; }
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t connects() const { return connects_; }
  std::uint64_t write_failures() const { return write_failures_.load(); }
  const std::string& last_error() const { return last_error_; }

 private:
  void read_more();

  DeviceConfig config_;
  std::uint32_t index_;
  std::uint32_t port_index_ = 0;
  OnLine on_line_;
  OnMidi on_midi_;
  OnState on_state_;
  OnPin on_pin_;
  boost::asio::posix::stream_descriptor stream_;
  std::string path_;
  LineSplitter splitter_;                // format lines
  MidiDecoder decoder_;                  // format midi
  std::unique_ptr<FirmataBoard> board_;  // format firmata
  char buf_[4096];
  InputCounters counters_;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t connects_ = 0;
  std::string last_error_;

  // The writer side, shared with the performance thread.
  SpinLock write_lock_;
  int write_fd_ = -1;
  std::atomic<bool> writable_{false};
  bool resync_ = false;  // under write_lock_: a line went out in part
  std::atomic<std::uint64_t> write_failures_{0};
};

}  // namespace csb
