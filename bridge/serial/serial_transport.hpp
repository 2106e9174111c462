#pragma once
// What serial devices share (SPEC §3.3, §5): the paths their ports hold,
// so two globs never open one board, and udev's plug announcements, which
// start a scan at once. It makes the SerialDevice of a `serial:` entry.
// Loop thread.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "device/device.hpp"

namespace csb {

class UdevWatch;

class SerialTransport : public Transport {
 public:
  /// `scan_soon` runs on the loop when udev announces a tty.
  SerialTransport(boost::asio::io_context& io, std::function<void()> scan_soon);
  ~SerialTransport() override;

  bool handles(const DeviceConfig& d) const override;
  std::unique_ptr<Device> make(const Config& config, DeviceIndex index, DeviceSink& sink) override;
  void begin_scan() override { in_use_.clear(); }

  /// The real paths of the ports open now (claimed before a scan, then
  /// added to as ports open).
  std::vector<std::string>& in_use() { return in_use_; }

 private:
  boost::asio::io_context& io_;
  std::function<void()> scan_soon_;
  std::unique_ptr<UdevWatch> udev_;  ///< made with the first serial device
  std::vector<std::string> in_use_;
};

}  // namespace csb
