#include "serial/serial_transport.hpp"

#include "core/firmata_session.hpp"
#include "serial/serial_device.hpp"
#include "serial/udev_watch.hpp"

namespace csb {

SerialTransport::SerialTransport(boost::asio::io_context& io, std::function<void()> scan_soon)
    : io_(io), scan_soon_(std::move(scan_soon)) {}

SerialTransport::~SerialTransport() = default;

bool SerialTransport::handles(const DeviceConfig& d) const {
  return d.kind == DeviceKind::serial;
}

std::unique_ptr<Device> SerialTransport::make(const Config& config, DeviceIndex index,
                                              DeviceSink& sink) {
  if (!udev_) udev_ = std::make_unique<UdevWatch>(io_, scan_soon_);
  return std::make_unique<SerialDevice>(io_, *this, config.devices[index], index, sink,
                                        firmata::plan_for(config, index));
}

}  // namespace csb
