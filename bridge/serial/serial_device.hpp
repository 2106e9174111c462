#pragma once
// One configured serial device and every port its glob has opened: the
// default's `/dev/ttyACM*` takes each board plugged in, and all of them feed
// the same mappings. Feedback goes to every open port.
//
// Threads: loop thread, except try_send (any thread: the instances are made
// once, here, and never change).

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "serial/serial_port.hpp"

namespace csb {

class SerialDevice : public FeedbackPort {
 public:
  static constexpr std::size_t kMaxPorts = 8;

  /// `on_pin` and `plan` are for `format: firmata` only.
  SerialDevice(boost::asio::io_context& io, const DeviceConfig& config, std::uint32_t index,
              const SerialPort::OnLine& on_line, const SerialPort::OnMidi& on_midi,
              const SerialPort::OnState& on_state, const SerialPort::OnPin& on_pin = {},
              const firmata::PinPlan& plan = {});

  /// Opens every path the glob matches now that is not in `in_use` (real
  /// paths), while a port is free; adds what it opened to `in_use`. Only
  /// character devices are opened; see scan_error().
  void scan(std::vector<std::string>& in_use);
  /// Why the last scan left no port open although the glob matched something
  /// (a port that would not open, or only files that are not serial ports);
  /// empty when a port is open or nothing matched.
  const std::string& scan_error() const { return scan_error_; }
  void close_all(const std::string& why);

  /// Failed if an open port did not take it, else sent if one did, else absent.
  SendResult try_send(const char* data, std::size_t len) noexcept override;
  /// Adds the real path of every open port to `in_use`.
  void collect_open(std::vector<std::string>& in_use) const;

  const DeviceConfig& config() const { return config_; }
  /// What a firmata board's ports set up (a reload keeps the device only when it is the same).
  const firmata::PinPlan& plan() const { return plan_; }
  /// Its position in the configuration changed (a reload kept it): loop thread.
  void set_index(std::uint32_t index) {
    for (auto& p : ports_) p->set_index(index);
  }
  bool any_connected() const;
  /// Every instance, open or not.
  const std::array<std::unique_ptr<SerialPort>, kMaxPorts>& ports() const { return ports_; }

 private:
  DeviceConfig config_;
  firmata::PinPlan plan_;
  std::array<std::unique_ptr<SerialPort>, kMaxPorts> ports_;
  std::string scan_error_;
};

}  // namespace csb
