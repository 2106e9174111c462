#pragma once
// One configured serial device and every port its glob has opened: the
// default's `/dev/ttyACM*` takes each board plugged in, and all of them feed
// the same mappings. Feedback goes to every open port.
//
// Threads: loop thread, except try_send (any thread: the ports are made
// once, here, and never change).

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "device/device.hpp"
#include "serial/serial_port.hpp"

namespace csb {

class SerialTransport;

class SerialDevice : public Device {
 public:
  static constexpr std::size_t kMaxPorts = 8;

  /// `plan` is for `format: firmata` only.
  SerialDevice(boost::asio::io_context& io, SerialTransport& transport, const DeviceConfig& config,
               DeviceIndex index, DeviceSink& sink, const firmata::PinPlan& plan = {});

  const DeviceConfig& config() const override { return config_; }
  DeviceIndex index() const override { return index_; }
  void set_index(DeviceIndex index) override;
  const char* kind_name() const override { return "serial"; }
  /// The same settings, and for a firmata board the same pins set up.
  bool keeps(const Config& next, DeviceIndex index) const override;

  void claim_open() override;
  /// Opens every path the glob matches now that no device holds, while a
  /// port is free. Only character devices are opened; see scan_error().
  void scan() override;
  void close_all(const std::string& why) override;
  bool connected() const override;
  DeviceStats stats() const override;

  /// Failed if an open port did not take it, else sent if one did, else absent.
  SendResult try_send(const char* data, std::size_t len) noexcept override;

  /// Why the last scan left no port open although the glob matched something
  /// (a port that would not open, or only files that are not serial ports);
  /// empty when a port is open or nothing matched.
  const std::string& scan_error() const { return scan_error_; }

 private:
  SerialTransport& transport_;
  DeviceConfig config_;
  DeviceIndex index_;
  firmata::PinPlan plan_;
  std::array<std::unique_ptr<SerialPort>, kMaxPorts> ports_;
  std::string scan_error_;
};

}  // namespace csb
