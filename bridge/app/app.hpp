#pragma once
// The running service: one asio event loop owning devices, routing, the
// control socket, timers and signals, and the Csound engine beside it.
//
// Threads: everything here runs on the loop thread (the one calling run()).
// The engine reports from its own threads by posting onto the loop.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "app/state_store.hpp"
#include "core/channels.hpp"
#include "core/command.hpp"
#include "core/config.hpp"
#include "core/router.hpp"
#include "device/device.hpp"
#include "engine/engine.hpp"

namespace csb {

class ControlServer;
class ControlSession;
class DeviceSet;

struct RunOptions {
  bool audio_null = false;
  std::string control_path;  ///< overrides the config's control.socket when set
};

/// The default control socket path (SPEC §3): $RUNTIME_DIRECTORY/control.sock,
/// else $XDG_RUNTIME_DIR/csbridge.sock, else /tmp/csbridge-$UID.sock.
std::string default_control_path();

class App : private RouterSink, private DeviceSink {
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

  using Reply = std::function<void(std::string)>;

  /// Binds config_'s feedback entries to the devices and hands them, with
  /// the Csound settings, to the engine for its next start.
  void configure_engine();

  /// SPEC §4 reload: reads and validates the file (and, while a performance
  /// plays, compiles its CSD off the loop); applies it or keeps the old one.
  /// `reply` (control socket) gets the outcome.
  void reload(const char* why, Reply reply = {});
  void apply_config(Config next);
  /// The reloaded file read and valid: check its CSD, then apply it.
  void reload_loaded(std::shared_ptr<Config> next);
  /// Keeps the running configuration; `errors` holds one entry a problem (a
  /// CSD that does not compile is one, its first line then Csound's lines).
  void refuse_reload(std::vector<std::string> errors);
  void finish_reload(const nlohmann::json& outcome);

  /// Compiles a CSD on a thread of its own; `done` gets Csound's errors
  /// (empty: it compiles) on the loop. One at a time, in order.
  /// `watch`: a csound.watch check, which replaces any watch check still waiting.
  void check_csd(std::string csd, std::vector<std::string> options,
                 std::function<void(std::string)> done, bool watch = false);
  /// Runs `work` on the checker thread after the jobs before it, then what it
  /// returns on the loop. `watch`: replaces any watch job still waiting.
  void off_loop(std::function<std::function<void()>()> work, bool watch = false);
  void next_check();

  /// csound.watch: the CSD file looked at 4 times a second.
  void start_watch();
  void schedule_watch();
  void watch_tick();
  void csd_changed();

  /// The values of the mapped channels, kept in the state directory.
  void restore_values();
  void schedule_save();
  /// At most once a second on the writer thread; `at_stop`: now, waiting for the disk.
  void save_values(bool at_stop = false);
  void scan_devices();
  void schedule_scan();
  /// A scan in a few ms (ALSA, JACK or udev announced a change), unless one is due.
  void scan_soon(std::chrono::milliseconds delay = std::chrono::milliseconds(5));
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
  void get_command(const std::string& name, std::function<void(std::string)> reply);
  void set_command(const Command& c, std::function<void(std::string)> reply);
  /// Answers `get` of a watched slot once the performance thread has looked
  /// for it, and has looked again for watched names `after_sweep` times.
  void answer_get(const std::string& name, std::uint32_t slot,
                  std::function<void(std::string)> reply, std::uint64_t after_sweep, int tries);
  /// The slot `set` writes, made if need be; kNoSlot after replying an error.
  std::uint32_t set_slot(const std::string& name, ChannelType type,
                         const std::function<void(std::string)>& reply);
  /// How much of each channel budget is used (SPEC §6 status).
  nlohmann::json limits_json() const;
  nlohmann::json status_json() const;
  nlohmann::json devices_json() const;
  nlohmann::json channels_json() const;
  nlohmann::json channel_value(std::uint32_t slot) const;
  const char* state_name() const;
  /// status.csound.audio: what paces the performance.
  const char* audio_state() const;

  Config config_;
  RunOptions options_;
  boost::asio::io_context io_{1};  // one thread runs it: asio may skip its locking
  boost::asio::signal_set signals_;
  boost::asio::steady_timer scan_timer_;
  boost::asio::steady_timer announce_timer_;  ///< scan_soon()
  bool announce_scan_due_ = false;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer health_timer_;
  boost::asio::steady_timer watch_timer_;
  boost::asio::steady_timer save_timer_;
  ChannelTable channels_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<DeviceSet> devices_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<Engine> engine_;

  CsState state_ = CsState::starting;
  /// The last start succeeded: a performance plays, or is being restarted
  /// (a reset, a restart after the score ended), that a reload or an edited
  /// CSD must not silence unless the new CSD compiles.
  bool good_performance_ = false;
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
  bool health_was_running_ = false;   ///< a performance was meant to run at the last tick
  bool perf_stalled_ = false;
  bool audio_fallback_ = false;  ///< the performance plays with null audio: no device opened
  /// Channels added only because a client asked for them with `get`.
  static constexpr std::size_t kMaxWatched = 256;
  std::size_t watched_ = 0;
  std::uint64_t watch_refused_ = 0;
  /// Channels `set` made that nothing else names.
  static constexpr std::size_t kMaxSetChannels = 256;
  std::size_t set_created_ = 0;
  std::uint64_t set_refused_ = 0;
  /// Of the latest engine restart(): older engine events are stale.
  std::uint64_t generation_ = 0;
  /// What each passthrough port holds down in Csound, by device * 8 + port.
  struct Held {
    std::uint64_t notes[16][2] = {};
    std::uint16_t sustain = 0;  // bit c: CC64 down on channel c
  };
  std::vector<Held> held_;

  // Reload. Devices a reload closed live on until the performance that may
  // still send them feedback has ended (the next started/start_failed event:
  // DeviceSet::drop_retired).
  bool reloading_ = false;
  bool reload_again_ = false;  ///< asked again while one was running
  std::vector<Reply> reload_replies_, reload_next_replies_;
  std::uint64_t reloads_ = 0;               ///< applied
  std::vector<std::string> config_errors_;  ///< of the last reload refused
  std::size_t config_problems_ = 0;         ///< how many (config_errors_ holds the first ones)
  static constexpr std::size_t kMaxReportedProblems = 100;

  // Work done off the loop, one job at a time: reading and checking a
  // reloaded config, CSD compile checks (reload, watch). A job's work runs on
  // the checker thread and returns what then runs on the loop.
  struct Check {
    std::function<std::function<void()>()> work;
    bool watch = false;
  };
  std::deque<Check> checks_;
  bool checking_ = false;
  bool options_checked_ = false;  // options_problems looked for since the config was loaded
  std::string options_error_;     // what they found: last_error_ after each failed start
  std::thread checker_;

  // csound.watch
  struct FileSig {
    bool exists = false;
    std::uint64_t ino = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileSig&) const = default;
  };
  static FileSig file_sig(const std::string& path);
  FileSig csd_sig_;          ///< the version last acted on
  FileSig csd_last_;         ///< as seen at the last look: a change must hold still for one
  std::string watch_error_;  ///< the edited CSD that does not compile

  // Values that outlive restarts.
  StateStore state_store_;
  /// Kept values of names the channel table cannot take now (another type,
  /// no room), written back with the others.
  StateStore::Values kept_ = StateStore::Values::object();
  std::int64_t saved_arrival_ = 0;  ///< newest value arrival written
  std::string state_error_;
};

}  // namespace csb
