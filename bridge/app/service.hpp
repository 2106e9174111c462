#pragma once
// The running service: one asio event loop that wires the roles together
// and runs them, the Csound engine beside it.
//
// - the devices (DeviceSet) read into the router (DeviceSink, here);
// - the performance's supervisor (performance.hpp), its health and systemd
//   (health.hpp);
// - reload (reloader.hpp) and the CSD watch (csd_watch.hpp), both checking
//   off the loop (checker.hpp);
// - passthrough notes (passthrough.hpp), values kept across restarts
//   (kept_values.hpp), the control socket's commands (control_commands.hpp).
//
// Here: the wiring, run, signals, the device scans, applying a reloaded
// configuration, and the stop, which stops every role (cancelling its
// timers) and then the loop.
//
// Threads: everything here runs on the loop thread (the one calling run()).
// The engine reports from its own threads by posting onto the loop.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/channels.hpp"
#include "core/config.hpp"
#include "core/router.hpp"
#include "device/device.hpp"

namespace csb {

class Checker;
class ControlCommands;
class ControlServer;
class CsdWatch;
class DeviceSet;
class Engine;
class Health;
class KeptValues;
class Passthrough;
class Performance;
class Reloader;

struct RunOptions {
  bool audio_null = false;
  std::string control_path;  ///< overrides the config's control.socket when set
};

/// The default control socket path (SPEC §3): $RUNTIME_DIRECTORY/control.sock,
/// else $XDG_RUNTIME_DIR/csbridge.sock, else /tmp/csbridge-$UID.sock.
std::string default_control_path();

class Service : private RouterSink, private DeviceSink {
 public:
  /// Throws std::runtime_error when the service cannot start at all (the
  /// control socket is taken, Csound cannot be created).
  Service(Config config, RunOptions options);
  ~Service() override;

  /// Runs until SIGTERM/SIGINT (returns 0) or `on_exit: exit` (0 when the
  /// score ended, 1 on a Csound error).
  int run();

 private:
  // RouterSink
  void on_action(Action action) override;
  void on_score(std::string_view event) override;
  void on_wildcard_full(std::uint32_t device, std::string_view to, bool table_full) override;
  void on_routed(std::uint32_t device, std::string_view source, std::uint32_t slot,
                 double value) override;

  // DeviceSink
  void on_line(DeviceIndex device, std::string_view line, std::int64_t t_ns,
               InputCounters& counters) override;
  void on_midi(DeviceIndex device, std::uint32_t port, const MidiMessage& m, std::int64_t t_ns,
               InputCounters& counters) override;
  void on_pin(DeviceIndex device, SourceKind kind, int pin, double raw, std::int64_t t_ns,
              InputCounters& counters) override;
  void on_midi_port_closed(DeviceIndex device, std::uint32_t port) override;
  void on_output_ready(Device& device, FeedbackPort& to) override;

  /// Binds config_'s feedback entries to the devices and hands them, with
  /// the Csound settings, to the engine for its next start.
  void configure_engine();
  /// A reloaded file, read, valid and its CSD checked: applied, or refused
  /// when its channels clash with the running ones.
  void apply_config(Config next);

  void scan_devices();
  void schedule_scan();
  /// A scan in a few ms (ALSA, JACK or udev announced a change), unless one is due.
  void scan_soon(std::chrono::milliseconds delay = std::chrono::milliseconds(5));

  void wait_signals();
  void handle_signal(int signo);
  /// Stops every role, then the loop.
  void shutdown(int code);
  /// The state in a few words, for systemd's STATUS=.
  std::string status_line() const;

  Config config_;
  RunOptions options_;
  boost::asio::io_context io_{1};  // one thread runs it: asio may skip its locking
  boost::asio::signal_set signals_;
  boost::asio::steady_timer scan_timer_;
  boost::asio::steady_timer announce_timer_;  ///< scan_soon()
  bool announce_scan_due_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;

  ChannelTable channels_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Checker> checker_;
  std::unique_ptr<Performance> performance_;
  std::unique_ptr<Health> health_;
  std::unique_ptr<Reloader> reloader_;
  std::unique_ptr<CsdWatch> watch_;
  std::unique_ptr<Passthrough> passthrough_;
  std::unique_ptr<KeptValues> values_;
  std::unique_ptr<DeviceSet> devices_;
  std::unique_ptr<ControlCommands> commands_;
};

}  // namespace csb
