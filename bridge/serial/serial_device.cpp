#include "serial/serial_device.hpp"

#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "serial/serial_transport.hpp"

namespace csb {

namespace {
std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}
}  // namespace

SerialDevice::SerialDevice(boost::asio::io_context& io, SerialTransport& transport,
                           const DeviceConfig& config, DeviceIndex index, DeviceSink& sink,
                           const firmata::PinPlan& plan)
    : transport_(transport), config_(config), index_(index), plan_(plan) {
  auto on_line = [&sink](SerialPort& p, std::string_view line, std::int64_t t) {
    sink.on_line(p.index(), line, t, p.counters());
  };
  auto on_midi = [&sink](SerialPort& p, const MidiMessage& m, std::int64_t t) {
    sink.on_midi(p.index(), p.port_index(), m, t, p.counters());
  };
  auto on_state = [this, &sink](SerialPort& p, bool connected) {
    if (!connected && config_.format == SerialFormat::midi)
      sink.on_midi_port_closed(p.index(), p.port_index());
    // Only the board that came back gets the last feedback values.
    if (connected) sink.on_output_ready(*this, p);
  };
  auto on_pin = [&sink](SerialPort& p, SourceKind kind, int pin, double raw, std::int64_t t) {
    sink.on_pin(p.index(), kind, pin, raw, t, p.counters());
  };
  for (std::uint32_t i = 0; i < kMaxPorts; ++i) {
    ports_[i] =
        std::make_unique<SerialPort>(io, config, index, on_line, on_midi, on_state, on_pin, plan);
    ports_[i]->set_port_index(i);
  }
}

void SerialDevice::set_index(DeviceIndex index) {
  index_ = index;
  for (auto& p : ports_) p->set_index(index);
}

bool SerialDevice::keeps(const Config& next, DeviceIndex index) const {
  // A firmata board is set up for the pins the mappings use: kept only when they are the same.
  const DeviceConfig& d = next.devices[index];
  return d.kind == DeviceKind::serial && config_.settings() == d.settings() &&
         plan_ == firmata::plan_for(next, index);
}

void SerialDevice::scan() {
  std::vector<std::string>& in_use = transport_.in_use();
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
  if (!connected()) {
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

void SerialDevice::claim_open() {
  for (auto& p : ports_)
    if (p->connected()) transport_.in_use().push_back(real_path(p->path()));
}

bool SerialDevice::connected() const {
  return std::any_of(ports_.begin(), ports_.end(), [](auto& p) { return p->connected(); });
}

DeviceStats SerialDevice::stats() const {
  DeviceStats s;
  std::uint64_t bytes = 0, write_failures = 0;
  for (const auto& p : ports_) {
    const InputCounters& pc = p->counters();
    s.input.events += pc.events;
    s.input.unmatched += pc.unmatched;
    s.input.bad += pc.bad;
    bytes += p->bytes_in();
    s.connects += p->connects();
    write_failures += p->write_failures();
    if (p->connected()) s.ports.push_back(p->path());
    if (!p->last_error().empty() && p->connects() > 0) s.last_error = p->last_error();
  }
  s.connected = !s.ports.empty();
  if (s.connected) s.port = s.ports[0];
  // While none is open, why the last look for one found none.
  if (!s.connected && !scan_error_.empty()) s.last_error = scan_error_;
  s.details = {{"bytes_in", bytes}, {"write_failures", write_failures}};
  return s;
}

}  // namespace csb
