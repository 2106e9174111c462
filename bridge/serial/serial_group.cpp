#include "serial/serial_group.hpp"

#include <glob.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace csb {

namespace {
std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}
}  // namespace

SerialGroup::SerialGroup(boost::asio::io_context& io, const DeviceConfig& config,
                         std::uint32_t index, const SerialDevice::OnLine& on_line,
                         const SerialDevice::OnMidi& on_midi, const SerialDevice::OnState& on_state)
    : config_(config) {
  for (std::uint32_t i = 0; i < kMaxPorts; ++i) {
    ports_[i] = std::make_unique<SerialDevice>(io, config, index, on_line, on_midi, on_state);
    ports_[i]->set_port_index(i);
  }
}

void SerialGroup::scan(std::vector<std::string>& in_use) {
  glob_t g{};
  if (::glob(config_.glob.c_str(), 0, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      auto free =
          std::find_if(ports_.begin(), ports_.end(), [](auto& p) { return !p->connected(); });
      if (free == ports_.end()) break;
      std::string path = g.gl_pathv[i];
      std::string real = real_path(path);
      if (std::find(in_use.begin(), in_use.end(), real) != in_use.end()) continue;
      if ((*free)->open(path))
        in_use.push_back(real);
      else
        spdlog::debug("device {}: {}", config_.name, (*free)->last_error());
    }
  }
  globfree(&g);
}

void SerialGroup::close_all(const std::string& why) {
  for (auto& p : ports_) p->close(why, /*vanished=*/false);
}

SendResult SerialGroup::try_send(const char* data, std::size_t len) noexcept {
  // One port that did not take it makes it a failure: the retry sends the
  // same line to every port again, which boards that had it take as a no-op.
  SendResult result = SendResult::absent;
  for (auto& p : ports_) {
    if (!p->writable()) continue;
    SendResult r = p->try_send(data, len);
    if (r == SendResult::failed || result == SendResult::absent) result = r;
  }
  return result;
}

void SerialGroup::collect_open(std::vector<std::string>& in_use) const {
  for (auto& p : ports_)
    if (p->connected()) in_use.push_back(real_path(p->path()));
}

bool SerialGroup::any_connected() const {
  return std::any_of(ports_.begin(), ports_.end(), [](auto& p) { return p->connected(); });
}

}  // namespace csb
