#include "serial/serial_device.hpp"

#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace csb {

namespace {
std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}
}  // namespace

SerialDevice::SerialDevice(boost::asio::io_context& io, const DeviceConfig& config,
                         std::uint32_t index, const SerialPort::OnLine& on_line,
                         const SerialPort::OnMidi& on_midi, const SerialPort::OnState& on_state,
                         const SerialPort::OnPin& on_pin, const firmata::PinPlan& plan)
    : config_(config), plan_(plan) {
  for (std::uint32_t i = 0; i < kMaxPorts; ++i) {
    ports_[i] =
        std::make_unique<SerialPort>(io, config, index, on_line, on_midi, on_state, on_pin, plan);
    ports_[i]->set_port_index(i);
  }
}

void SerialDevice::scan(std::vector<std::string>& in_use) {
  std::vector<std::string> not_serial;  // matched, but no serial port could be there
  std::string open_error;
  glob_t g{};
  if (::glob(config_.glob.c_str(), 0, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      auto free =
          std::find_if(ports_.begin(), ports_.end(), [](auto& p) { return !p->connected(); });
      if (free == ports_.end()) break;
      std::string path = g.gl_pathv[i];
      std::string real = real_path(path);
      if (std::find(in_use.begin(), in_use.end(), real) != in_use.end()) continue;
      // Serial ports are character devices: a regular file, a directory or
      // a pipe the glob also matches is never opened (nor written to).
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) continue;  // a link to a port that went away
      if (!S_ISCHR(st.st_mode)) {
        not_serial.push_back(path);
        continue;
      }
      if ((*free)->open(path)) {
        in_use.push_back(real);
      } else {
        open_error = (*free)->last_error();
        spdlog::debug("device {}: {}", config_.name, open_error);
      }
    }
  }
  globfree(&g);

  std::string problem;
  if (!any_connected()) {
    if (!open_error.empty()) {
      problem = open_error;
    } else if (!not_serial.empty()) {
      std::string list;
      for (std::size_t i = 0; i < not_serial.size() && i < 4; ++i)
        list += (i ? ", " : "") + not_serial[i];
      if (not_serial.size() > 4) list += fmt::format(" and {} more", not_serial.size() - 4);
      problem =
          fmt::format("'{}' matches only files that are not serial ports: {}", config_.glob, list);
    }
  }
  // Said once when it starts, not at every scan period.
  if (!problem.empty() && problem != scan_error_)
    spdlog::warn("device {}: {}", config_.name, problem);
  scan_error_ = std::move(problem);
}

void SerialDevice::close_all(const std::string& why) {
  for (auto& p : ports_) p->close(why, /*vanished=*/false);
}

SendResult SerialDevice::try_send(const char* data, std::size_t len) noexcept {
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

void SerialDevice::collect_open(std::vector<std::string>& in_use) const {
  for (auto& p : ports_)
    if (p->connected()) in_use.push_back(real_path(p->path()));
}

bool SerialDevice::any_connected() const {
  return std::any_of(ports_.begin(), ports_.end(), [](auto& p) { return p->connected(); });
}

}  // namespace csb
