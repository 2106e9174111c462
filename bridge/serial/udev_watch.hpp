// udev's tty events: where udev runs, a serial board plugged in is announced
// once its rules ran (its /dev/serial/by-id link exists), so it is opened at
// once instead of at the next scan. Without udev (a container, a board
// without udevd) nothing is announced and the scan finds boards as before.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>

namespace csb {

class UdevWatch {
 public:
  /// Follows udev's events of the tty subsystem; `on_change` runs on the
  /// loop after any add or remove (a scan is then due).
  UdevWatch(boost::asio::io_context& io, std::function<void()> on_change);
  ~UdevWatch();
  UdevWatch(const UdevWatch&) = delete;
  UdevWatch& operator=(const UdevWatch&) = delete;

  /// False when udev's events cannot be followed here.
  bool listening() const { return monitor_ != nullptr; }

 private:
  void wait();
  void read_events();

  void* udev_ = nullptr;     // struct udev, kept out of this header
  void* monitor_ = nullptr;  // struct udev_monitor
  boost::asio::posix::stream_descriptor fd_;
  std::function<void()> on_change_;
};

}  // namespace csb
