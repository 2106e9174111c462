#pragma once
// The running service: one asio event loop owning devices, routing, the
// control socket, timers and signals, and the Csound engine beside it.
//
// Threads: everything here runs on the loop thread (the one calling run()).
// The engine reports from its own threads by posting onto the loop.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "core/channels.hpp"
#include "core/config.hpp"
#include "core/router.hpp"
#include "engine/engine.hpp"

namespace csb {

class ControlServer;
class ControlSession;
class SerialGroup;
class MidiBackend;
class MidiDevice;
class MidiWaker;

struct RunOptions {
  bool audio_null = false;
  std::string control_path;  ///< overrides the config's control.socket when set
};

/// The default control socket path (SPEC §3): $RUNTIME_DIRECTORY/control.sock,
/// else $XDG_RUNTIME_DIR/csbridge.sock, else /tmp/csbridge-$UID.sock.
std::string default_control_path();

class App : private RouterSink {
 public:
  /// Throws std::runtime_error when the service cannot start at all (the
  /// control socket is taken, Csound cannot be created).
  App(Config config, RunOptions options);
  ~App() override;

  /// Runs until SIGTERM/SIGINT (returns 0) or `on_exit: exit` (0 when the
  /// score ended, 1 on a Csound error).
  int run();

 private:
  enum class CsState { starting, running, paused, restarting, failed, stopped };

  // RouterSink
  void on_action(Action action) override;
  void on_score(std::string_view event) override;
  void on_routed(std::uint32_t device, std::string_view source, std::uint32_t slot,
                 double value) override;

  void build_devices();
  void scan_devices();
  void schedule_scan();
  void wait_midi();
  void on_midi_message(MidiDevice& dev, std::uint32_t port, const MidiMessage& m,
                       std::int64_t t_ns);
  /// Passes a message of a passthrough device's port to Csound, noting the
  /// notes and sustain it holds.
  void pass_through(std::uint32_t device, std::uint32_t port, const MidiMessage& m);
  /// The port went away: ends the notes and the sustain it held.
  void release_held(std::uint32_t device, std::uint32_t port);
  void drain_messages();
  void schedule_drain();
  void on_engine_event(EngineEvent ev);
  void start_engine();
  void schedule_retry();
  void reset(const char* why);
  void pause();
  void resume();
  void shutdown(int code);
  void handle_signal(int signo);
  void wait_signals();
  /// Every health period: STATUS= when it changed, WATCHDOG=1 while healthy.
  void schedule_health();
  void health_tick();
  /// The state in a few words, for systemd's STATUS=.
  std::string status_line() const;

  void handle_command(ControlSession& session, const std::string& line,
                      std::function<void(std::string)> reply);
  void answer_get(const std::string& name, std::uint32_t slot,
                  std::function<void(std::string)> reply, int tries);
  /// The slot `set` writes, made if need be; kNoSlot after replying an error.
  std::uint32_t set_slot(const std::string& name, ChannelType type,
                         const std::function<void(std::string)>& reply);
  nlohmann::json status_json() const;
  nlohmann::json devices_json() const;
  nlohmann::json channels_json() const;
  nlohmann::json channel_value(std::uint32_t slot) const;
  const char* state_name() const;

  Config config_;
  RunOptions options_;
  boost::asio::io_context io_{1};  // one thread runs it: asio may skip its locking
  boost::asio::signal_set signals_;
  boost::asio::steady_timer scan_timer_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer health_timer_;
  ChannelTable channels_;
  std::unique_ptr<Router> router_;
  std::vector<std::unique_ptr<SerialGroup>> serial_;
  std::shared_ptr<MidiWaker> midi_waker_;
  std::unique_ptr<MidiBackend> midi_backend_;
  std::vector<std::unique_ptr<MidiDevice>> midi_;
  boost::asio::posix::stream_descriptor midi_wake_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<Engine> engine_;

  CsState state_ = CsState::starting;
  bool pause_wanted_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
  std::uint64_t restarts_ = 0;
  std::uint64_t start_attempts_ = 0;
  std::chrono::nanoseconds backoff_;
  std::chrono::steady_clock::time_point started_at_;
  std::chrono::steady_clock::time_point performance_started_at_;
  std::string last_error_;
  double sr_ = 0, kr_ = 0;
  int ksmps_ = 0;
  std::uint64_t csound_errors_ = 0;
  // systemd (SPEC §7)
  bool ready_sent_ = false;
  std::string sent_status_;
  std::chrono::microseconds watchdog_{0};
  std::uint64_t health_kcycles_ = 0;  ///< k-cycles at the last health tick
  bool perf_stalled_ = false;
  bool audio_fallback_ = false;  ///< the performance plays with null audio: no device opened
  /// Channels added only because a client asked for them with `get`.
  static constexpr std::size_t kMaxWatched = 256;
  std::size_t watched_ = 0;
  /// Channels `set` made that nothing else names.
  static constexpr std::size_t kMaxSetChannels = 256;
  std::size_t set_created_ = 0;
  /// Of the latest engine restart(): older engine events are stale.
  std::uint64_t generation_ = 0;
  /// What each passthrough port holds down in Csound, by device * 8 + port.
  struct Held {
    std::uint64_t notes[16][2] = {};
    std::uint16_t sustain = 0;  // bit c: CC64 down on channel c
  };
  std::vector<Held> held_;
};

}  // namespace csb
