#pragma once
// The device model (SPEC §3, §5). Every configured device is a Device,
// whatever carries it: a serial board (lines, MIDI bytes or Firmata) or a set
// of MIDI ports. A Transport is what the devices of one kind share (the
// system's port lists, a watch for plugs, a MIDI API) and makes them; one
// DeviceSet (device_set.hpp) owns them all.
//
// A device is known everywhere by its DeviceIndex: its position in the
// configuration's `devices:` list, which the router, feedback and status use.
//
// Threads: every method on the loop thread, except FeedbackPort::try_send
// (any thread, the performance thread's included; it never blocks).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/feedback.hpp"
#include "core/midi.hpp"
#include "core/router.hpp"

namespace csb {

using DeviceIndex = std::uint32_t;

class Device;

/// Where devices hand what they read, on the loop thread.
class DeviceSink {
 public:
  virtual ~DeviceSink() = default;
  /// A complete line of a `format: lines` board (t_ns: steady clock at the read).
  virtual void on_line(DeviceIndex device, std::string_view line, std::int64_t t_ns,
                       InputCounters& counters) = 0;
  /// A MIDI message from input port `port` (0..Router::kMaxMidiPorts-1).
  virtual void on_midi(DeviceIndex device, std::uint32_t port, const MidiMessage& m,
                       std::int64_t t_ns, InputCounters& counters) = 0;
  /// A Firmata board's pin value (SourceKind analog or digital).
  virtual void on_pin(DeviceIndex device, SourceKind kind, int pin, double raw, std::int64_t t_ns,
                      InputCounters& counters) = 0;
  /// MIDI input port `port` closed: its running state and what it held down go.
  virtual void on_midi_port_closed(DeviceIndex device, std::uint32_t port) = 0;
  /// `to`, an output of `device`, (re)connected: it gets the last feedback.
  virtual void on_output_ready(Device& device, FeedbackPort& to) = 0;
};

/// A device's figures for `status` and `devices` (SPEC §6), in one shape.
struct DeviceStats {
  bool connected = false;
  std::string port;                  ///< the port status names first ("" when none is open)
  std::vector<std::string> ports;    ///< the open input ports
  InputCounters input;               ///< values used, unmatched, bad
  std::uint64_t decode_errors = 0;   ///< bytes or messages the transport dropped
  std::uint64_t queue_overflow = 0;  ///< messages a full queue refused
  std::uint64_t connects = 0;
  std::string last_error;
  nlohmann::json details = nlohmann::json::object();  ///< the transport's own figures
};

/// One configured device. Its feedback side is FeedbackPort::try_send:
/// any thread (the performance thread's, Csound's workers', the loop), never
/// blocking. Every other method: the loop thread.
class Device : public FeedbackPort {
 public:
  ~Device() override = default;

  /// Loop thread.
  virtual const DeviceConfig& config() const = 0;
  /// Loop thread.
  virtual DeviceIndex index() const = 0;
  /// Its position in the configuration changed (a reload kept it). Loop thread.
  virtual void set_index(DeviceIndex index) = 0;
  /// "serial" or "midi", as status says. Loop thread.
  virtual const char* kind_name() const = 0;
  /// Whether a reload to entry `index` of `next` keeps it open as it is.
  /// Loop thread.
  virtual bool keeps(const Config& next, DeviceIndex index) const = 0;

  /// Before any device scans: marks what it holds open as taken, so no other
  /// device's glob opens it too. Loop thread.
  virtual void claim_open() = 0;
  /// Opens what its glob matches now that no device holds, and closes what
  /// went away; what it reads from then on goes to its sink on the loop
  /// thread. Loop thread.
  virtual void scan() = 0;
  /// Loop thread.
  virtual void close_all(const std::string& why) = 0;
  /// Loop thread.
  virtual bool connected() const = 0;
  /// Loop thread.
  virtual DeviceStats stats() const = 0;
};

/// What the devices of one kind share, and their maker. Loop thread, every
/// method.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Whether it makes the device of this entry.
  virtual bool handles(const DeviceConfig& d) const = 0;
  /// Makes the device of entry `index` of `config`; it reads into `sink`.
  virtual std::unique_ptr<Device> make(const Config& config, DeviceIndex index,
                                       DeviceSink& sink) = 0;
  /// A reload applies `next`; the devices it keeps were asked (Device::keeps).
  virtual void reconfigure(const Config& next) {}
  /// Before the devices scan: reads the system's lists again.
  virtual void begin_scan() {}
  /// After they scanned: a scan wanted sooner than the period (0: none).
  virtual std::chrono::milliseconds end_scan() { return std::chrono::milliseconds(0); }
  /// The service stops: nothing more is read.
  virtual void stop() {}
  /// Adds its part to status (SPEC §6), if it has one.
  virtual void describe(nlohmann::json& status) const {}
};

}  // namespace csb
