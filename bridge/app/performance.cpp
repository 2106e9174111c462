#include "app/performance.hpp"

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "app/log_lines.hpp"
#include "engine/compile_check.hpp"

namespace csb {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// Csound's reason for not opening the audio device, from its error lines:
/// the last one, without the " *** " it starts with and the "Failed to
/// initialise real time audio output" Csound glues onto it.
std::string audio_failure(std::string_view errors) {
  std::string_view last = errors.substr(errors.rfind('\n') + 1);
  constexpr std::string_view kGlued = "Failed to initialise real time audio output";
  if (last.size() > kGlued.size() && last.substr(last.size() - kGlued.size()) == kGlued)
    last.remove_suffix(kGlued.size());
  std::size_t b = last.find_first_not_of(" *");
  return std::string(b == std::string_view::npos ? errors.substr(errors.rfind('\n') + 1)
                                                 : last.substr(b));
}

/// Ends the process with exit code 1 unless it is destroyed within `limit`:
/// a Csound k-cycle that never returns cannot hold a stop past 2 s.
class StopDeadline {
 public:
  explicit StopDeadline(std::chrono::milliseconds limit)
      : thread_([this, limit] {
          std::unique_lock lk(mu_);
          if (cv_.wait_for(lk, limit, [this] { return done_; })) return;
          spdlog::critical("stopping: Csound did not stop within {} ms; exiting now",
                           limit.count());
          std::_Exit(1);
        }) {}
  ~StopDeadline() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

Performance::Performance(boost::asio::io_context& io, const Config& config, bool audio_null,
                         ChannelTable& channels, Engine& engine, Checker& checker, Hooks hooks)
    : io_(io),
      config_(config),
      audio_null_(audio_null),
      channels_(channels),
      engine_(engine),
      checker_(checker),
      hooks_(std::move(hooks)),
      drain_timer_(io),
      retry_timer_(io),
      backoff_(config.csound.restart_delay) {}

void Performance::start() {
  schedule_drain();
  begin();
}

void Performance::begin() {
  if (stopped_) return;
  retry_timer_.cancel();
  if (start_attempts_++ > 0) ++restarts_;
  state_ = start_attempts_ == 1 ? State::starting : State::restarting;
  generation_ = engine_.restart();
}

void Performance::schedule_retry() {
  auto delay = backoff_;
  backoff_ = std::min<std::chrono::nanoseconds>(backoff_ * 2, 30s);
  spdlog::info("csound: next start in {:.3g} s", std::chrono::duration<double>(delay).count());
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) begin();
  });
}

void Performance::reset(const char* why) {
  if (stopped_) return;
  spdlog::info("reset ({})", why);
  backoff_ = config_.csound.restart_delay;
  begin();
}

void Performance::forget_options() {
  options_checked_ = false;
  options_error_.clear();
}

void Performance::config_changed() {
  backoff_ = config_.csound.restart_delay;
}

void Performance::drain_messages() {
  CsoundMessage m;
  while (engine_.pop_message(m)) {
    std::string_view text(m.text, m.len);
    switch (m.level) {
      case CsoundMessage::Level::error:
        ++csound_errors_;
        spdlog::error("csound: {}", text);
        if (playing()) last_error_ = text;
        break;
      case CsoundMessage::Level::warning:
        spdlog::warn("csound: {}", text);
        break;
      case CsoundMessage::Level::info:
        spdlog::info("csound: {}", text);
        break;
      case CsoundMessage::Level::debug:
        spdlog::debug("csound: {}", text);
        break;
    }
  }
}

void Performance::schedule_drain() {
  drain_timer_.expires_after(100ms);  // log lines need no hurry; idle wake-ups cost CPU
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    drain_messages();
    schedule_drain();
  });
}

void Performance::on_event(EngineEvent ev) {
  drain_messages();  // Csound's own lines first, then what became of them
  // An event of a performance a newer reset replaced (it ended, or started
  // only to be stopped, as the reset came) says nothing about now.
  if (stopped_ || ev.generation != generation_) return;
  if (ev.kind != EngineEvent::Kind::ended) hooks_.previous_gone();
  switch (ev.kind) {
    case EngineEvent::Kind::started:
      sr_ = ev.sr;
      kr_ = ev.kr;
      ksmps_ = ev.ksmps;
      started_at_ = std::chrono::steady_clock::now();
      for (auto& [name, is_string] : ev.channels) {
        ChannelType type = is_string ? ChannelType::string : ChannelType::control;
        std::uint32_t known = channels_.find(name);
        // The loader saw every literal name; a name made at run time may clash.
        if (known != kNoSlot && channels_.at(known).type != type &&
            !channels_.at(known).watch_only.load())
          spdlog::error(
              "channel '{}' is a {} channel in the orchestra, but the bridge writes {} "
              "to it, which the orchestra never sees: a channel has one type (change "
              "the mapping's type or the orchestra's channel)",
              name, is_string ? "string" : "control", is_string ? "numbers" : "text");
        else
          channels_.add(name, type);
      }
      last_error_.clear();
      if (ev.audio_fallback)
        spdlog::warn(
            "csound: no audio device could be opened ({}); playing without sound, paced by the "
            "clock as with --audio null. A sound card plugged in later is used at the next reset",
            audio_failure(ev.error));
      else if (audio_fallback_)
        spdlog::info("csound: the audio device opened; playing with sound");
      audio_fallback_ = ev.audio_fallback;
      good_ = true;
      state_ = pause_wanted_ ? State::paused : State::running;
      spdlog::info("csound: {} {} (sr {}, ksmps {})",
                   pause_wanted_ ? "paused at the start of" : "playing", config_.csound.csd, sr_,
                   ksmps_);
      break;
    case EngineEvent::Kind::start_failed:
      good_ = false;
      state_ = State::failed;
      last_error_ = options_error_.empty() ? ev.error : options_error_;
      log_lines(spdlog::level::err, fmt::format("csound: {} failed to start:", config_.csound.csd),
                ev.error);
      if (!options_checked_ && !config_.csound.options.empty()) {
        // Once a config: is it an options entry Csound refuses?
        options_checked_ = true;
        checker_.run([this, path = config_.path, cs = config_.csound]() -> std::function<void()> {
          auto bad = options_problems(path, cs);
          return [this, bad = std::move(bad)] {
            if (bad.empty() || good_) return;
            for (const auto& d : bad) {
              spdlog::error("csound: {}", d.to_string());
              if (!options_error_.empty()) options_error_ += "; ";
              options_error_ += d.to_string();
            }
            last_error_ = options_error_;
          };
        });
      }
      schedule_retry();
      break;
    case EngineEvent::Kind::ended: {
      if (ev.requested) break;  // a reset or stop we asked for
      bool score_end = ev.status == 2;
      if (!score_end) last_error_ = fmt::format("performance ended with error {}", ev.status);
      spdlog::log(score_end ? spdlog::level::info : spdlog::level::err, "csound: {}",
                  score_end ? "the score ended" : last_error_);
      switch (config_.csound.on_exit) {
        case OnExit::restart:
          state_ = State::restarting;
          // Back off only after failures: a score that ended as written, or a
          // performance that played a while, starts again after restart_delay.
          if (score_end || std::chrono::steady_clock::now() - started_at_ > 5s)
            backoff_ = config_.csound.restart_delay;
          schedule_retry();
          break;
        case OnExit::stop:
          good_ = false;
          state_ = State::stopped;
          break;
        case OnExit::exit:
          hooks_.exit(score_end ? 0 : 1);
          break;
      }
      break;
    }
  }
  if (!stopped_) hooks_.event_handled();
}

void Performance::pause() {
  pause_wanted_ = true;
  engine_.pause();
  if (state_ == State::running) state_ = State::paused;
}

void Performance::resume() {
  pause_wanted_ = false;
  engine_.resume();
  if (state_ == State::paused) state_ = State::running;
}

void Performance::stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    // Only a stuck orchestra is cut short: the final values write, the
    // checker and the ports take the time they need.
    StopDeadline deadline(1800ms);
    engine_.shutdown();  // normally about one k-cycle: the performance thread only joins
  }
  state_ = State::stopped;
  drain_timer_.cancel();
  retry_timer_.cancel();
}

void Performance::set_stuck(bool stuck, const std::string& period, bool watchdog) {
  if (stuck && !stuck_) {
    last_error_ = "the performance is stuck in a k-cycle (none for " + period +
                  "); a reset waits for it to end, so only a restart of the service ends it" +
                  (watchdog ? " (the systemd watchdog is no longer fed)" : "");
    spdlog::error("csound: {}", last_error_);
  } else if (!stuck && stuck_) {
    spdlog::info("csound: the performance thread is moving again");
    if (last_error_.rfind("the performance is stuck", 0) == 0) last_error_.clear();
  }
  stuck_ = stuck;
}

const char* Performance::state_name() const {
  if (stuck_) return "stuck";  // whatever was asked of it since
  switch (state_) {
    case State::starting:
      return "starting";
    case State::running:
      return "running";
    case State::paused:
      return "paused";
    case State::restarting:
      return "restarting";
    case State::failed:
      return "failed";
    case State::stopped:
      return "stopped";
  }
  return "unknown";
}

const char* Performance::audio_state() const {
  if (audio_null_) return "null";
  if (audio_fallback_) return "null (no audio device opened)";
  if (!config_.csound.pace && engine_.self_paced()) return "none (unpaced: csound.pacing is none)";
  if (engine_.self_paced()) return "null (no real-time audio device in the options)";
  return "device";
}

std::string Performance::summary(bool edit_broken) const {
  std::string csd = std::filesystem::path(config_.csound.csd).filename().string();
  if (stuck_) return csd + " is stuck";
  switch (state_) {
    case State::starting:
      return "starting " + csd;
    case State::running:
      return "playing " + csd + (edit_broken ? " (its edit does not compile)" : "");
    case State::paused:
      return "paused " + csd;
    case State::restarting:
      return "restarting " + csd;
    case State::failed:
      return csd + " failed: " + last_error_.substr(0, last_error_.find('\n'));
    case State::stopped:
      return "stopped";
  }
  return csd;
}

json Performance::to_json() const {
  return {{"state", state_name()},
          {"csd", config_.csound.csd},
          {"restarts", restarts_},
          {"last_error", last_error_},
          {"kcycles", engine_.kcycles()},
          {"sr", sr_},
          {"ksmps", ksmps_},
          {"kr", kr_},
          {"audio", audio_state()},
          {"error_messages", csound_errors_}};
}

}  // namespace csb
