#include "device/device_set.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace csb {

DeviceSet::DeviceSet(std::vector<std::unique_ptr<Transport>> transports, DeviceSink& sink)
    : transports_(std::move(transports)), sink_(sink) {}

DeviceSet::~DeviceSet() {
  // Devices first: they use their transport until they are gone.
  devices_.clear();
  retired_.clear();
}

std::unique_ptr<Device> DeviceSet::make(const Config& config, DeviceIndex index) {
  const DeviceConfig& d = config.devices[index];
  for (auto& t : transports_)
    if (t->handles(d)) return t->make(config, index, sink_);
  spdlog::warn("device {}: this device kind is not handled by this version; ignored", d.name);
  return nullptr;
}

void DeviceSet::build(const Config& config) {
  for (DeviceIndex i = 0; i < config.devices.size(); ++i)
    if (auto d = make(config, i)) devices_.push_back(std::move(d));
}

DeviceSet::Changes DeviceSet::reload(const Config& next) {
  Changes changes;
  std::vector<std::unique_ptr<Device>> devices;
  std::vector<DeviceIndex> fresh;  // entries of `next` to make
  for (DeviceIndex i = 0; i < next.devices.size(); ++i) {
    auto it = std::find_if(devices_.begin(), devices_.end(),
                           [&](auto& d) { return d && d->keeps(next, i); });
    if (it == devices_.end()) {
      fresh.push_back(i);
      continue;
    }
    (*it)->set_index(i);
    devices.push_back(std::move(*it));
    changes.kept.push_back(next.devices[i].name);
  }
  // Closed at once, but kept until the old performance, which may still send
  // them feedback, is gone (drop_retired). What their passthrough ports held
  // ends with the reset that follows.
  for (auto& d : devices_)
    if (d) {
      changes.closed.push_back(d->config().name);
      d->close_all("closed by the reload");
      retired_.push_back(std::move(d));
    }
  for (auto& t : transports_) t->reconfigure(next);
  devices_ = std::move(devices);
  for (DeviceIndex i : fresh)
    if (auto d = make(next, i)) {
      changes.opened.push_back(next.devices[i].name);
      devices_.push_back(std::move(d));
    }
  std::sort(devices_.begin(), devices_.end(),
            [](auto& a, auto& b) { return a->index() < b->index(); });
  return changes;
}

std::chrono::milliseconds DeviceSet::scan() {
  for (auto& t : transports_) t->begin_scan();
  for (auto& d : devices_) d->claim_open();
  for (auto& d : devices_) d->scan();
  std::chrono::milliseconds soon{0};
  for (auto& t : transports_) {
    auto want = t->end_scan();
    if (want.count() > 0 && (soon.count() == 0 || want < soon)) soon = want;
  }
  return soon;
}

void DeviceSet::close_all(const std::string& why) {
  for (auto& d : devices_) d->close_all(why);
}

void DeviceSet::stop() {
  close_all("stopping");
  for (auto& t : transports_) t->stop();
}

Device* DeviceSet::find(const std::string& name) const {
  for (auto& d : devices_)
    if (d->config().name == name) return d.get();
  return nullptr;
}

std::size_t DeviceSet::connected() const {
  return static_cast<std::size_t>(
      std::count_if(devices_.begin(), devices_.end(), [](auto& d) { return d->connected(); }));
}

nlohmann::json DeviceSet::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (auto& d : devices_) {
    DeviceStats s = d->stats();
    nlohmann::json j = std::move(s.details);
    j["name"] = d->config().name;
    j["kind"] = d->kind_name();
    j["state"] = s.connected ? "connected" : "absent";
    j["glob"] = d->config().glob;
    j["port"] = s.port;
    j["ports"] = s.ports;
    j["events"] = s.input.events;
    j["unmatched"] = s.input.unmatched;
    j["bad_input"] = s.input.bad;
    j["connects"] = s.connects;
    j["last_error"] = s.last_error;
    list.push_back(std::move(j));
  }
  return list;
}

void DeviceSet::describe(nlohmann::json& status) const {
  for (auto& t : transports_) t->describe(status);
}

}  // namespace csb
