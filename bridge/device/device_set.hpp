#pragma once
// The one owner of the devices: makes them from the configuration through
// their transports, keeps or replaces them on a reload, retires what a reload
// closed, scans, and reports them. Loop thread, every method.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "device/device.hpp"

namespace csb {

class DeviceSet {
 public:
  /// `transports`: one per device kind; the first that handles an entry makes it.
  DeviceSet(std::vector<std::unique_ptr<Transport>> transports, DeviceSink& sink);
  ~DeviceSet();

  /// Makes every device of `config`.
  void build(const Config& config);

  /// What a reload did to the devices, by name.
  struct Changes {
    std::vector<std::string> kept, opened, closed;
  };
  /// A device stays open, connection and counters included, when its entry
  /// is the same in both files (Device::keeps); any other is closed and
  /// retired, and a new one made.
  Changes reload(const Config& next);
  /// The devices a reload closed are gone once nothing can send them feedback
  /// any more (the performance that had them ended).
  void drop_retired() { retired_.clear(); }

  /// Every transport's lists read, every device scanned. Returns the delay of
  /// a scan wanted sooner than the period (0: none).
  std::chrono::milliseconds scan();
  void close_all(const std::string& why);
  void stop();

  /// In the order of the configuration.
  const std::vector<std::unique_ptr<Device>>& all() const { return devices_; }
  bool empty() const { return devices_.empty(); }
  /// The device named `name`; nullptr when none is.
  Device* find(const std::string& name) const;
  std::size_t connected() const;

  /// `devices` of the control socket (SPEC §6): one object a device.
  nlohmann::json to_json() const;
  /// Adds the transports' parts to status.
  void describe(nlohmann::json& status) const;

 private:
  std::unique_ptr<Device> make(const Config& config, DeviceIndex index);

  std::vector<std::unique_ptr<Transport>> transports_;
  DeviceSink& sink_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<std::unique_ptr<Device>> retired_;
};

}  // namespace csb
