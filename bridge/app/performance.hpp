#pragma once
// The performance's supervisor (SPEC §4): starts the Csound performance,
// restarts it with back-off after a failure, follows the engine's events
// (started, failed, ended as `on_exit` says), pauses and resumes it, and logs
// Csound's message lines. Loop thread, every method.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "app/checker.hpp"
#include "core/channels.hpp"
#include "core/config.hpp"
#include "engine/engine.hpp"

namespace csb {

class Performance {
 public:
  enum class State { starting, running, paused, restarting, failed, stopped };

  struct Hooks {
    /// `on_exit: exit`: the service stops with this code.
    std::function<void(int code)> exit;
    /// The performance before the current start has ended: nothing sends
    /// feedback to the devices a reload closed any more.
    std::function<void()> previous_gone;
    /// An event of the current start was handled: a start was tried
    /// (systemd may hear READY=1).
    std::function<void()> event_handled;
  };

  /// `config` is the service's, replaced by reloads; `audio_null`: --audio null.
  Performance(boost::asio::io_context& io, const Config& config, bool audio_null,
              ChannelTable& channels, Engine& engine, Checker& checker, Hooks hooks);

  /// The first start, and Csound's lines drained every 100 ms from now on.
  void start();
  void reset(const char* why);
  /// The engine keeps the wish across restarts: a performance started while
  /// a pause is wanted waits before its first k-cycle.
  void pause();
  void resume();
  void toggle_pause() { pause_wanted_ ? resume() : pause(); }
  /// From the engine's threads, posted onto the loop.
  void on_event(EngineEvent ev);
  /// Logs Csound's lines queued so far.
  void drain_messages();
  /// A reload is being applied: the options are looked at again after the
  /// next failed start.
  void forget_options();
  /// A reload applied another configuration: the back-off starts over.
  void config_changed();
  /// The service stops: the performance is joined (a stuck one cut short
  /// after 1.8 s), and nothing restarts it.
  void stop();

  /// The health check's verdict: no k-cycle for a whole period.
  void set_stuck(bool stuck, const std::string& period, bool watchdog);
  bool stuck() const { return stuck_; }
  /// Another role's error for status (an edited CSD that does not compile).
  void set_error(const std::string& error) { last_error_ = error; }

  State state() const { return state_; }
  bool playing() const { return state_ == State::running || state_ == State::paused; }
  /// The last start succeeded: a performance plays, or is being restarted
  /// (a reset, a restart after the score ended), that a reload or an edited
  /// CSD must not silence unless the new CSD compiles.
  bool good() const { return good_; }
  const char* state_name() const;
  /// A few words for systemd's STATUS=; `edit_broken`: csound.watch saw an
  /// edit that does not compile.
  std::string summary(bool edit_broken) const;
  /// status.csound (SPEC §6), without the watch's keys.
  nlohmann::json to_json() const;

 private:
  void schedule_drain();
  void schedule_retry();
  void begin();
  /// status.csound.audio: what paces the performance.
  const char* audio_state() const;

  boost::asio::io_context& io_;
  const Config& config_;
  bool audio_null_;
  ChannelTable& channels_;
  Engine& engine_;
  Checker& checker_;
  Hooks hooks_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer retry_timer_;

  State state_ = State::starting;
  bool good_ = false;
  bool pause_wanted_ = false;
  bool stopped_ = false;
  bool stuck_ = false;
  bool audio_fallback_ = false;  ///< the performance plays with null audio: no device opened
  std::uint64_t restarts_ = 0;
  std::uint64_t start_attempts_ = 0;
  std::uint64_t generation_ = 0;  ///< of the latest engine restart(): older events are stale
  std::chrono::nanoseconds backoff_;
  std::chrono::steady_clock::time_point started_at_;
  std::string last_error_;
  double sr_ = 0, kr_ = 0;
  int ksmps_ = 0;
  std::uint64_t csound_errors_ = 0;
  bool options_checked_ = false;  // options_problems looked for since the config was loaded
  std::string options_error_;     // what they found: last_error_ after each failed start
};

}  // namespace csb
