#include "app/app.hpp"

#include <glob.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "app/systemd.hpp"
#include "config/channel_check.hpp"
#include "config/loader.hpp"
#include "control/control_server.hpp"
#include "core/clock.hpp"
#include "core/command.hpp"
#include "core/text.hpp"
#include "device/device_set.hpp"
#include "engine/compile_check.hpp"
#include "midi/midi_transport.hpp"
#include "serial/serial_transport.hpp"

namespace csb {

namespace asio = boost::asio;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// One reply line. Text from outside (board values, names, Csound's words)
/// may be any bytes: invalid UTF-8 becomes U+FFFD instead of an exception.
std::string to_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// `head`, then each line of `text` indented, one log record a line: the
/// journal reads the priority off the start of every line.
void log_lines(spdlog::level::level_enum level, const std::string& head, std::string_view text) {
  spdlog::log(level, "{}", head);
  for_each_line(text, [&](std::string_view line) { spdlog::log(level, "  {}", line); });
}

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

std::string error_reply(const std::string& message) {
  return to_line(json{{"ok", false}, {"error", message}});
}

}  // namespace

std::string default_control_path() {
  if (const char* d = std::getenv("RUNTIME_DIRECTORY"); d && *d) {
    std::string dir(d);
    // systemd may list several directories separated by ':'; use the first.
    return dir.substr(0, dir.find(':')) + "/control.sock";
  }
  if (const char* d = std::getenv("XDG_RUNTIME_DIR"); d && *d)
    return std::string(d) + "/csbridge.sock";
  return fmt::format("/tmp/csbridge-{}.sock", ::getuid());
}

App::App(Config config, RunOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      signals_(io_),
      scan_timer_(io_),
      announce_timer_(io_),
      drain_timer_(io_),
      retry_timer_(io_),
      health_timer_(io_),
      watch_timer_(io_),
      save_timer_(io_),
      backoff_(config_.csound.restart_delay),
      state_store_(StateStore::default_dir()) {
  started_at_ = std::chrono::steady_clock::now();
  // First, so a stop asked for during start-up is a clean stop too.
  for (int signo : {SIGINT, SIGTERM, SIGUSR1, SIGHUP}) signals_.add(signo);
  router_ = std::make_unique<Router>(config_, channels_, static_cast<RouterSink&>(*this));
  std::string socket = !options_.control_path.empty()    ? options_.control_path
                       : !config_.control.socket.empty() ? config_.control.socket
                                                         : default_control_path();
  control_ = std::make_unique<ControlServer>(
      io_, socket, config_.control.mode,
      [this](ControlSession& s, const std::string& line, std::function<void(std::string)> reply) {
        handle_command(s, line, std::move(reply));
      });
  engine_ = std::make_unique<Engine>(channels_, [this](EngineEvent ev) {
    // Engine threads: hand over to the loop and return at once.
    asio::post(io_, [this, ev = std::move(ev)]() mutable { on_engine_event(std::move(ev)); });
  });
  std::vector<std::unique_ptr<Transport>> transports;
  transports.push_back(std::make_unique<SerialTransport>(io_, [this] { scan_soon(); }));
  transports.push_back(
      std::make_unique<MidiTransport>(io_, config_.midi_api, [this] { scan_soon(); }));
  devices_ = std::make_unique<DeviceSet>(std::move(transports), static_cast<DeviceSink&>(*this));
  devices_->build(config_);
  configure_engine();
}

App::~App() {
  if (checker_.joinable()) checker_.join();
  engine_.reset();  // joins Csound's threads before the devices they write to go
  devices_.reset();
}

void App::configure_engine() {
  std::vector<FeedbackBinding> feedback;
  bool host_midi = false;
  for (const DeviceConfig& d : config_.devices) host_midi = host_midi || d.passthrough;
  for (const Feedback& f : config_.feedback) {
    FeedbackBinding b;
    b.config = f;
    // Watched, never made: the orchestra makes it, a string channel or a
    // control one (SPEC §3.4).
    b.slot = channels_.add(f.channel, ChannelType::control, /*watch_only=*/true);
    if (b.slot == kNoSlot) b.slot = channels_.find(f.channel);
    b.port = devices_->find(f.device);
    // Serial boards take lines, MIDI bytes (`format: midi`) or Firmata
    // messages, and MIDI ports MIDI (the loader matched the kind to the device).
    if (!b.port) {
      spdlog::warn("feedback {} -> {}: this device kind is not handled by this version; ignored",
                   f.channel, f.device);
      continue;
    }
    feedback.push_back(std::move(b));
  }
  engine_->configure({config_.csound.csd, config_.csound.options, options_.audio_null, host_midi,
                      config_.csound.pace},
                     std::move(feedback));
}

// --- DeviceSink ------------------------------------------------------------

void App::on_line(DeviceIndex device, std::string_view line, std::int64_t t,
                  InputCounters& counters) {
  router_->on_line(device, line, t, counters);
}

void App::on_midi(DeviceIndex device, std::uint32_t port, const MidiMessage& m, std::int64_t t,
                  InputCounters& counters) {
  router_->on_midi(device, m, t, counters, port);
  if (config_.devices[device].passthrough) pass_through(device, port, m);
}

void App::on_pin(DeviceIndex device, SourceKind kind, int pin, double raw, std::int64_t t,
                 InputCounters& counters) {
  router_->on_firmata(device, kind, pin, raw, t, counters);
}

void App::on_midi_port_closed(DeviceIndex device, std::uint32_t port) {
  router_->reset_port(device, port);
  release_held(device, port);
}

void App::on_output_ready(Device& device, FeedbackPort& to) {
  engine_->resend_feedback(&device, &to);
}

void App::pass_through(std::uint32_t device, std::uint32_t port, const MidiMessage& m) {
  if (held_.empty()) held_.resize(config_.devices.size() * Router::kMaxMidiPorts);
  Held& h = held_[device * Router::kMaxMidiPorts + port % Router::kMaxMidiPorts];
  const int c = m.channel() - 1;
  switch (m.type()) {
    case midi::kNoteOn:
    case midi::kNoteOff: {
      const std::uint64_t bit = std::uint64_t{1} << (m.data1() % 64);
      if (m.type() == midi::kNoteOn && m.data2() > 0)
        h.notes[c][m.data1() / 64] |= bit;
      else
        h.notes[c][m.data1() / 64] &= ~bit;
      break;
    }
    case midi::kControlChange:
      if (m.data1() == 64) {
        if (m.data2() >= 64)
          h.sustain |= static_cast<std::uint16_t>(1u << c);
        else
          h.sustain &= static_cast<std::uint16_t>(~(1u << c));
      }
      break;
    default:
      break;
  }
  engine_->push_midi(m);
}

void App::release_held(std::uint32_t device, std::uint32_t port) {
  if (held_.empty()) return;
  Held& h = held_[device * Router::kMaxMidiPorts + port % Router::kMaxMidiPorts];
  int released = 0;
  for (int c = 0; c < 16; ++c) {
    for (int w = 0; w < 2; ++w)
      for (std::uint64_t bits = h.notes[c][w]; bits; bits &= bits - 1, ++released)
        engine_->push_midi(
            MidiMessage::make(static_cast<std::uint8_t>(midi::kNoteOff | c),
                              static_cast<std::uint8_t>(w * 64 + __builtin_ctzll(bits)), 0));
    if (h.sustain >> c & 1)
      engine_->push_midi(
          MidiMessage::make(static_cast<std::uint8_t>(midi::kControlChange | c), 64, 0));
  }
  if (released > 0 || h.sustain)
    spdlog::info("device {}: {} held note(s) ended as its port went away",
                 config_.devices[device].name, released);
  h = Held{};
}

int App::run() {
  wait_signals();
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&handled, s);
  pthread_sigmask(SIG_UNBLOCK, &handled, nullptr);
  spdlog::info("csbridge: config {}, CSD {}, control socket {}", config_.path, config_.csound.csd,
               control_->path());
  restore_values();
  scan_devices();
  schedule_drain();
  start_engine();
  start_watch();
  schedule_save();
  watchdog_ = systemd::watchdog_interval();
  if (watchdog_.count() > 0) spdlog::info("systemd watchdog: {} ms", watchdog_.count() / 1000);
  schedule_health();
  io_.run();
  drain_messages();
  return exit_code_;
}

void App::wait_signals() {
  signals_.async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    handle_signal(signo);
    if (!stopping_) wait_signals();
  });
}

void App::handle_signal(int signo) {
  switch (signo) {
    case SIGINT:
    case SIGTERM:
      spdlog::info("{}: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
      shutdown(0);
      break;
    case SIGUSR1:
      reset("SIGUSR1");
      break;
    case SIGHUP:
      reload("SIGHUP");
      break;
  }
}

// --- systemd ---------------------------------------------------------------

void App::schedule_health() {
  // Also without systemd: `status` says `stuck` when run by hand too.
  if (stopping_) return;
  // systemd wants a ping within every watchdog interval: twice per interval.
  std::chrono::nanoseconds period = 1s;
  if (watchdog_.count() > 0) period = std::min<std::chrono::nanoseconds>(period, watchdog_ / 2);
  health_timer_.expires_after(period);
  health_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    health_tick();
    schedule_health();
  });
}

void App::health_tick() {
  // The loop is healthy: this runs on it. The performance thread is when no
  // performance is meant to run (none, or paused), or when it made a k-cycle
  // since the last tick. A reset waits for the running k-cycle to end, so a
  // performance stuck in one stays stuck through a reset.
  // A performance seen running for the first time gets a whole period for
  // its first k-cycle (a slow start is not a stuck one).
  std::uint64_t k = engine_->kcycles();
  bool meant_to_run = engine_->running() && !engine_->paused();
  bool perf_ok = !meant_to_run || !health_was_running_ || k != health_kcycles_;
  health_kcycles_ = k;
  health_was_running_ = meant_to_run;
  if (!perf_ok && !perf_stalled_) {
    std::string period =
        fmt::format("{} ms", watchdog_.count() > 0 ? watchdog_.count() / 2000 : 1000);
    last_error_ = "the performance is stuck in a k-cycle (none for " + period +
                  "); a reset waits for it to end, so only a restart of the service ends it" +
                  (watchdog_.count() > 0 ? " (the systemd watchdog is no longer fed)" : "");
    spdlog::error("csound: {}", last_error_);
  } else if (perf_ok && perf_stalled_) {
    spdlog::info("csound: the performance thread is moving again");
    if (last_error_.rfind("the performance is stuck", 0) == 0) last_error_.clear();
  }
  perf_stalled_ = !perf_ok;
  if (perf_ok && watchdog_.count() > 0) systemd::watchdog();
  std::string line = status_line();
  if (line != sent_status_) {
    systemd::status(line);
    sent_status_ = line;
  }
}

std::string App::status_line() const {
  std::size_t connected = devices_->connected(), total = devices_->all().size();
  std::string csd = std::filesystem::path(config_.csound.csd).filename().string();
  std::string what;
  switch (state_) {
    case CsState::starting:
      what = "starting " + csd;
      break;
    case CsState::running:
      what = "playing " + csd;
      if (!watch_error_.empty()) what += " (its edit does not compile)";
      break;
    case CsState::paused:
      what = "paused " + csd;
      break;
    case CsState::restarting:
      what = "restarting " + csd;
      break;
    case CsState::failed:
      what = csd + " failed: " + last_error_.substr(0, last_error_.find('\n'));
      break;
    case CsState::stopped:
      what = "stopped";
      break;
  }
  if (perf_stalled_) what = csd + " is stuck";
  std::string line = fmt::format("{}; {} of {} devices connected", what, connected, total);
  if (!config_errors_.empty())
    line += fmt::format("; reload refused ({} problem{})", config_problems_,
                        config_problems_ == 1 ? "" : "s");
  return line;
}

void App::shutdown(int code) {
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = code;
  systemd::stopping();
  // A second SIGTERM or Ctrl-C now kills at once (default dispositions), and
  // an orchestra stuck in a k-cycle cannot hold the stop past 2 s.
  boost::system::error_code ec;
  signals_.cancel(ec);
  signals_.clear(ec);
  {
    // Only a stuck orchestra is cut short: the final values write below, the
    // checker and the ports take the time they need.
    StopDeadline deadline(1800ms);
    engine_->shutdown();  // normally about one k-cycle: the performance thread only joins
  }
  state_ = CsState::stopped;
  scan_timer_.cancel();
  announce_timer_.cancel();
  drain_timer_.cancel();
  retry_timer_.cancel();
  health_timer_.cancel();
  watch_timer_.cancel();
  save_timer_.cancel();
  save_values(/*at_stop=*/true);
  control_.reset();
  devices_->stop();
  io_.stop();
}

// --- devices -------------------------------------------------------------

void App::scan_devices() {
  // A transport may want the next look sooner than the period: a MIDI output
  // opened now is said at the next scan, an API not open yet is asked again.
  auto soon = devices_->scan();
  if (soon.count() > 0 && soon < config_.scan) scan_soon(soon);
  schedule_scan();
}

void App::scan_soon(std::chrono::milliseconds delay) {
  // A plug announces a client, its ports and our own subscriptions (or a
  // board's tty and its links) in one burst: one scan a few milliseconds
  // later sees them all.
  if (announce_scan_due_ || stopping_) return;
  announce_scan_due_ = true;
  announce_timer_.expires_after(delay);
  announce_timer_.async_wait([this](boost::system::error_code ec) {
    announce_scan_due_ = false;
    if (!ec && !stopping_) scan_devices();
  });
}

void App::schedule_scan() {
  // Always: a glob may match another board plugged in later.
  if (stopping_ || devices_->empty()) return;
  scan_timer_.expires_after(config_.scan);
  scan_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) scan_devices();
  });
}

// --- Csound messages -----------------------------------------------------

void App::drain_messages() {
  CsoundMessage m;
  while (engine_ && engine_->pop_message(m)) {
    std::string_view text(m.text, m.len);
    switch (m.level) {
      case CsoundMessage::Level::error:
        ++csound_errors_;
        spdlog::error("csound: {}", text);
        if (state_ == CsState::running || state_ == CsState::paused) last_error_ = text;
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

void App::schedule_drain() {
  drain_timer_.expires_after(100ms);  // log lines need no hurry; idle wake-ups cost CPU
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    drain_messages();
    schedule_drain();
  });
}

// --- engine --------------------------------------------------------------

void App::start_engine() {
  if (stopping_) return;
  retry_timer_.cancel();
  if (start_attempts_++ > 0) ++restarts_;
  state_ = start_attempts_ == 1 ? CsState::starting : CsState::restarting;
  generation_ = engine_->restart();
}

void App::schedule_retry() {
  auto delay = backoff_;
  backoff_ = std::min<std::chrono::nanoseconds>(backoff_ * 2, 30s);
  spdlog::info("csound: next start in {:.3g} s", std::chrono::duration<double>(delay).count());
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) start_engine();
  });
}

void App::reset(const char* why) {
  if (stopping_) return;
  spdlog::info("reset ({})", why);
  backoff_ = config_.csound.restart_delay;
  start_engine();
}

void App::on_engine_event(EngineEvent ev) {
  drain_messages();  // Csound's own lines first, then what became of them
  // An event of a performance a newer reset replaced (it ended, or started
  // only to be stopped, as the reset came) says nothing about now.
  if (stopping_ || ev.generation != generation_) return;
  // The performance before this one has ended: nothing sends feedback to
  // the devices a reload closed any more.
  if (ev.kind != EngineEvent::Kind::ended) devices_->drop_retired();
  switch (ev.kind) {
    case EngineEvent::Kind::started:
      sr_ = ev.sr;
      kr_ = ev.kr;
      ksmps_ = ev.ksmps;
      performance_started_at_ = std::chrono::steady_clock::now();
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
      good_performance_ = true;
      state_ = pause_wanted_ ? CsState::paused : CsState::running;
      spdlog::info("csound: {} {} (sr {}, ksmps {})",
                   pause_wanted_ ? "paused at the start of" : "playing", config_.csound.csd, sr_,
                   ksmps_);
      break;
    case EngineEvent::Kind::start_failed:
      good_performance_ = false;
      state_ = CsState::failed;
      last_error_ = options_error_.empty() ? ev.error : options_error_;
      log_lines(spdlog::level::err, fmt::format("csound: {} failed to start:", config_.csound.csd),
                ev.error);
      if (!options_checked_ && !config_.csound.options.empty()) {
        // Once a config: is it an options entry Csound refuses?
        options_checked_ = true;
        off_loop([this, path = config_.path, cs = config_.csound]() -> std::function<void()> {
          auto bad = options_problems(path, cs);
          return [this, bad = std::move(bad)] {
            if (bad.empty() || good_performance_) return;
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
          state_ = CsState::restarting;
          // Back off only after failures: a score that ended as written, or a
          // performance that played a while, starts again after restart_delay.
          if (score_end || std::chrono::steady_clock::now() - performance_started_at_ > 5s)
            backoff_ = config_.csound.restart_delay;
          schedule_retry();
          break;
        case OnExit::stop:
          good_performance_ = false;
          state_ = CsState::stopped;
          break;
        case OnExit::exit:
          shutdown(score_end ? 0 : 1);
          break;
      }
      break;
    }
  }
  // READY=1 once the first start was tried, whatever came of it.
  if (!ready_sent_ && !stopping_) {
    ready_sent_ = true;
    sent_status_ = status_line();
    systemd::ready(sent_status_);
  }
}

// The engine keeps the wish across restarts: a performance started while a
// pause is wanted waits before its first k-cycle.
void App::pause() {
  pause_wanted_ = true;
  engine_->pause();
  if (state_ == CsState::running) state_ = CsState::paused;
}

void App::resume() {
  pause_wanted_ = false;
  engine_->resume();
  if (state_ == CsState::paused) state_ = CsState::running;
}

// --- reload (SPEC §4) ----------------------------------------------------

void App::reload(const char* why, Reply reply) {
  if (stopping_) {
    if (reply) reply(error_reply("stopping"));
    return;
  }
  if (reloading_) {
    // The file may have changed again since this one was read: read it once more after.
    reload_again_ = true;
    if (reply) reload_next_replies_.push_back(std::move(reply));
    return;
  }
  if (reply) reload_replies_.push_back(std::move(reply));
  reloading_ = true;
  if (ready_sent_) systemd::reloading();  // before READY=1 there is nothing to reload from
  spdlog::info("reload ({}): reading {}", why, config_.path);
  // Read and checked off the loop: a large file must not hold up devices,
  // the performance's feedback or the watchdog.
  off_loop([this, path = config_.path]() -> std::function<void()> {
    // A large file's YAML tree leaves this thread's malloc arena holding
    // memory nobody uses any more: give it back once it is parsed.
    struct Trim {
      ~Trim() { ::malloc_trim(0); }
    } trim;
    try {
      auto next = std::make_shared<Config>(load_config_file(path));
      return [this, next] { reload_loaded(next); };
    } catch (const ConfigError& e) {
      std::vector<std::string> errors;
      for (const auto& d : e.diagnostics()) errors.push_back(d.to_string());
      return [this, errors = std::move(errors)]() mutable { refuse_reload(std::move(errors)); };
    } catch (const std::exception& e) {
      return [this, error = fmt::format("{}: {}", path, e.what())] { refuse_reload({error}); };
    }
  });
}

void App::reload_loaded(std::shared_ptr<Config> next) {
  // A performance that plays is never stopped for a CSD that cannot replace
  // it: compile the new one first, off the loop.
  if (!good_performance_) return apply_config(std::move(*next));
  off_loop([this, next]() -> std::function<void()> {
    std::string errors = test_compile(next->csound.csd, next->csound.options, /*run_header=*/false);
    // An options entry Csound refuses is that entry's problem, not the CSD's.
    std::vector<std::string> bad_options;
    if (!errors.empty())
      for (const auto& d : options_problems(next->path, next->csound))
        bad_options.push_back(d.to_string());
    return [this, next, errors = std::move(errors), bad_options = std::move(bad_options)] {
      if (stopping_) return;
      if (!errors.empty() && good_performance_) {
        if (!bad_options.empty()) return refuse_reload(bad_options);
        // One problem, however many lines Csound wrote about it.
        std::string problem =
            fmt::format("{}: the CSD {} does not compile:", next->path, next->csound.csd);
        for_each_line(errors, [&](std::string_view line) { (problem += '\n') += line; });
        return refuse_reload({std::move(problem)});
      }
      apply_config(std::move(*next));
    };
  });
}

void App::refuse_reload(std::vector<std::string> errors) {
  const std::size_t problems = errors.size();
  // A file with an error in each of 4000 entries must not fill the log and
  // every status reply: the first ones say what is wrong, check says all.
  if (problems > kMaxReportedProblems) {
    errors.resize(kMaxReportedProblems);
    errors.push_back(fmt::format("... and {} more (csbridge check {} lists every one)",
                                 problems - kMaxReportedProblems, config_.path));
  }
  for (const auto& e : errors) {
    std::size_t nl = std::min(e.find('\n'), e.size());
    log_lines(spdlog::level::err, "reload: " + e.substr(0, nl), std::string_view(e).substr(nl));
  }
  std::string summary =
      fmt::format("{} problem{} in {}; still running the configuration loaded before", problems,
                  problems == 1 ? "" : "s", config_.path);
  spdlog::error("reload: {}", summary);
  config_problems_ = problems;
  config_errors_ = errors;
  finish_reload(json{{"ok", false}, {"error", summary}, {"errors", errors}});
}

void App::apply_config(Config next) {
  options_checked_ = false;
  options_error_.clear();
  // The routing tables first: a channel the running service knows with the
  // other type (or a full table) refuses the reload before anything changed.
  // Checked on a table of its own first, so a refused reload adds nothing.
  if (auto clashes = check_channels_against(next, channels_); !clashes.empty()) {
    std::vector<std::string> errors;
    for (const auto& d : clashes) errors.push_back(d.to_string());
    return refuse_reload(std::move(errors));
  }
  std::unique_ptr<Router> router;
  try {
    router = std::make_unique<Router>(next, channels_, static_cast<RouterSink&>(*this));
  } catch (const std::exception& e) {
    return refuse_reload({fmt::format("{}: {}", next.path, e.what())});
  }
  DeviceSet::Changes changes = devices_->reload(next);
  held_.clear();

  if (options_.control_path.empty() &&
      (next.control.socket != config_.control.socket || next.control.mode != config_.control.mode))
    spdlog::warn("reload: control: a new socket path or mode takes effect at the next start");
  config_ = std::move(next);
  router_ = std::move(router);
  configure_engine();

  ++reloads_;
  config_errors_.clear();
  backoff_ = config_.csound.restart_delay;
  spdlog::info("reload: applied {}: {} device(s) kept open, {} opened, {} closed", config_.path,
               changes.kept.size(), changes.opened.size(), changes.closed.size());
  scan_timer_.cancel();
  scan_devices();  // the new devices now, not a scan period later
  start_watch();
  reset("reload");
  finish_reload(
      json{{"ok", true},
           {"config", config_.path},
           {"devices",
            {{"kept", changes.kept}, {"opened", changes.opened}, {"closed", changes.closed}}}});
}

void App::finish_reload(const json& outcome) {
  reloading_ = false;
  auto replies = std::move(reload_replies_);
  reload_replies_.clear();
  std::string line = to_line(outcome);
  for (auto& r : replies) r(line);
  if (ready_sent_) {
    sent_status_ = status_line();
    systemd::ready(sent_status_);
  }
  if (reload_again_ && !stopping_) {
    reload_again_ = false;
    reload_replies_ = std::move(reload_next_replies_);
    reload_next_replies_.clear();
    reload("asked again during a reload");
  }
}

// --- CSD compile checks ----------------------------------------------------

void App::check_csd(std::string csd, std::vector<std::string> options,
                    std::function<void(std::string)> done, bool watch) {
  off_loop(
      [csd = std::move(csd), options = std::move(options),
       done = std::move(done)]() mutable -> std::function<void()> {
        std::string errors = test_compile(csd, options, /*run_header=*/false);
        return [done = std::move(done), errors = std::move(errors)] { done(errors); };
      },
      watch);
}

void App::off_loop(std::function<std::function<void()>()> work, bool watch) {
  // An edit made while a check runs supersedes the edits still waiting:
  // only the newest version of the file is worth compiling.
  if (watch)
    checks_.erase(std::remove_if(checks_.begin(), checks_.end(), [](auto& c) { return c.watch; }),
                  checks_.end());
  checks_.push_back({std::move(work), watch});
  if (!checking_) next_check();
}

void App::next_check() {
  if (checking_ || checks_.empty() || stopping_) return;
  checking_ = true;
  if (checker_.joinable()) checker_.join();  // it has posted its result: done
  Check c = std::move(checks_.front());
  checks_.pop_front();
  checker_ = std::thread([this, work = std::move(c.work)] {
    std::function<void()> then = work();
    asio::post(io_, [this, then = std::move(then)] {
      checking_ = false;
      if (!stopping_) then();
      next_check();
    });
  });
}

// --- csound.watch ------------------------------------------------------------

App::FileSig App::file_sig(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

void App::start_watch() {
  watch_timer_.cancel();
  watch_error_.clear();
  if (!config_.csound.watch || stopping_) return;
  csd_sig_ = csd_last_ = file_sig(config_.csound.csd);
  schedule_watch();
}

void App::schedule_watch() {
  // Polled: a stat four times a second costs nothing, and sees an editor's
  // write in place, its rename over the file, and a directory replaced.
  watch_timer_.expires_after(250ms);
  watch_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    watch_tick();
    schedule_watch();
  });
}

void App::watch_tick() {
  FileSig now = file_sig(config_.csound.csd);
  bool settled = now == csd_last_;  // unchanged since the last look: not mid-write
  csd_last_ = now;
  if (!now.exists || now == csd_sig_ || !settled) return;
  csd_sig_ = now;
  csd_changed();
}

void App::csd_changed() {
  const std::string& csd = config_.csound.csd;
  spdlog::info("csound.watch: {} changed on disk", csd);
  if (!good_performance_) {
    // Nothing plays that a broken edit could silence: start it now.
    watch_error_.clear();
    reset("the CSD changed on disk");
    return;
  }
  check_csd(
      csd, config_.csound.options,
      [this, sig = csd_sig_](std::string errors) {
        if (stopping_ || !(sig == csd_sig_)) return;  // changed again: that check decides
        if (errors.empty()) {
          watch_error_.clear();
          reset("the CSD changed on disk");
          return;
        }
        watch_error_ = errors;
        last_error_ = errors;
        log_lines(spdlog::level::err,
                  fmt::format("csound.watch: {} was changed and does not compile; still playing "
                              "the last version that did:",
                              config_.csound.csd),
                  errors);
      },
      /*watch=*/true);
}

// --- values that outlive restarts ---------------------------------------------

void App::restore_values() {
  if (!state_store_.enabled()) {
    spdlog::warn(
        "state: neither STATE_DIRECTORY, XDG_STATE_HOME nor HOME is set: channel values are "
        "not kept across restarts");
    return;
  }
  std::string error;
  StateStore::Values saved = state_store_.load(error);
  if (!error.empty()) spdlog::warn("state: {}", error);
  // Every name comes back, whichever config wrote it; oldest first, so the
  // table's order (and so the next save's) stays the order of writing.
  int restored = 0;
  std::int64_t t = steady_ns();
  kept_ = StateStore::Values::object();
  for (auto& [name, value] : saved.items()) {
    if (!valid_channel_name(name) || !(value.is_number() || value.is_string())) continue;
    if (value.is_number() && !std::isfinite(value.get<double>())) continue;
    ChannelType type = value.is_string() ? ChannelType::string : ChannelType::control;
    std::uint32_t slot = channels_.add(name, type);
    if (slot == kNoSlot) {
      kept_[name] = value;  // the other type now, or no room: kept in the file all the same
      continue;
    }
    if (type == ChannelType::control)
      channels_.set(slot, value.get<double>(), t);
    else
      channels_.set_string(slot, value.get<std::string>(), t);
    ++restored;
  }
  saved_arrival_ = t;
  spdlog::info("state: channel values are kept in {}; {} restored", state_store_.path(), restored);
}

void App::schedule_save() {
  if (stopping_ || !state_store_.enabled()) return;
  save_timer_.expires_after(1s);  // at most once a second
  save_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    save_values();
    schedule_save();
  });
}

void App::save_values(bool at_stop) {
  if (!state_store_.enabled() || !router_) return;
  // What the writer thread could not write is reported once, and retried.
  std::string error = state_store_.last_error();
  if (error != state_error_) {
    if (!error.empty())
      spdlog::warn("state: {}; values are not kept until it can be written", error);
    else
      spdlog::info("state: {} written again", state_store_.path());
    state_error_ = error;
  }
  // Every channel a device, a wildcard mapping, `set` or the file before
  // wrote, oldest first: kept_ holds what the table could not take.
  std::vector<std::pair<std::int64_t, std::uint32_t>> written;
  std::int64_t latest = 0;
  for (std::uint32_t slot = 0; slot < channels_.size(); ++slot) {
    const ChannelSlot& s = channels_.at(slot);
    if (!s.has_value.load(std::memory_order_relaxed)) continue;
    std::int64_t t = s.arrival_ns.load(std::memory_order_relaxed);
    latest = std::max(latest, t);
    written.emplace_back(t, slot);
  }
  if (latest <= saved_arrival_ && state_error_.empty()) return;  // nothing new since
  std::sort(written.begin(), written.end());
  StateStore::Values values = StateStore::Values::object();
  bool whole = true;
  for (auto& [name, value] : kept_.items()) {
    std::uint32_t slot = channels_.find(name);
    if (slot == kNoSlot || !channels_.at(slot).has_value.load()) values[name] = value;
  }
  for (auto [t, slot] : written) {
    ChannelSlot& s = channels_.at(slot);
    if (s.type == ChannelType::control) {
      values[s.name] = s.value.load();
    } else {
      std::string text;
      if (channels_.try_copy_string(slot, text))
        values[s.name] = text;
      else
        whole = false;  // the performance thread holds it this instant: again next time
    }
  }
  // At most kMaxNames, the oldest dropped first.
  if (values.size() > StateStore::kMaxNames) {
    StateStore::Values newest = StateStore::Values::object();
    std::size_t skip = values.size() - StateStore::kMaxNames;
    for (auto& [name, value] : values.items())
      if (skip > 0)
        --skip;
      else
        newest[name] = value;
    values = std::move(newest);
    StateStore::Values still = StateStore::Values::object();
    for (auto& [name, value] : kept_.items())
      if (values.contains(name)) still[name] = value;
    kept_ = std::move(still);
  }
  if (whole) saved_arrival_ = latest;
  if (!at_stop) return state_store_.save_async(values);
  if (!state_store_.save(values, error))
    spdlog::warn("state: {}; the values of this run are not kept", error);
}

// --- RouterSink ----------------------------------------------------------

void App::on_action(Action action) {
  switch (action) {
    case Action::reset:
      reset("mapped control");
      break;
    case Action::reload:
      // Not from inside the router: a reload replaces it.
      asio::post(io_, [this] { reload("mapped control"); });
      break;
    case Action::pause:
      pause();
      break;
    case Action::resume:
      resume();
      break;
    case Action::toggle_pause:
      if (pause_wanted_)
        resume();
      else
        pause();
      break;
    case Action::none:
      break;
  }
}

void App::on_score(std::string_view event) {
  if (!engine_->push_score(event)) spdlog::debug("score event dropped: {}", event);
}

void App::on_wildcard_full(std::uint32_t device, std::string_view to, bool table_full) {
  const std::string& name = config_.devices[device].name;
  if (table_full)
    spdlog::warn(
        "{}: the '*' mapping to '{}' makes no more channels: the channel table is full "
        "({} channels); values of new names are dropped",
        name, to, ChannelTable::kCapacity);
  else
    spdlog::warn(
        "{}: the '*' mapping to '{}' made {} channels, its most; values of new names "
        "are dropped (status: limits.wildcard)",
        name, to, Router::kMaxWildcardChannels);
}

void App::on_routed(std::uint32_t device, std::string_view source, std::uint32_t slot,
                    double value) {
  if (!control_ || !control_->has_monitors()) return;
  const ChannelSlot& s = channels_.at(slot);
  json j{{"device", config_.devices[device].name}, {"source", source}, {"channel", s.name}};
  if (s.type == ChannelType::string)
    j["value"] = std::string(s.str.get(), s.str_len);
  else
    j["value"] = value;
  control_->broadcast(to_line(j));
}

// --- control commands ----------------------------------------------------

const char* App::audio_state() const {
  if (options_.audio_null) return "null";
  if (audio_fallback_) return "null (no audio device opened)";
  if (!config_.csound.pace && engine_->self_paced()) return "none (unpaced: csound.pacing is none)";
  if (engine_->self_paced()) return "null (no real-time audio device in the options)";
  return "device";
}

const char* App::state_name() const {
  if (perf_stalled_) return "stuck";  // whatever was asked of it since
  switch (state_) {
    case CsState::starting:
      return "starting";
    case CsState::running:
      return "running";
    case CsState::paused:
      return "paused";
    case CsState::restarting:
      return "restarting";
    case CsState::failed:
      return "failed";
    case CsState::stopped:
      return "stopped";
  }
  return "unknown";
}

json App::devices_json() const {
  return devices_->to_json();
}

json App::channel_value(std::uint32_t slot) const {
  const ChannelSlot& s = channels_.at(slot);
  if (s.watch_only.load() && !s.present.load()) return nullptr;
  bool playing = state_ == CsState::running || state_ == CsState::paused;
  if (s.type == ChannelType::string) {
    // The text the orchestra sees, whoever wrote it (SPEC §6).
    std::string out;
    if (playing && channels_.copy_seen_text(slot, out)) return out;
    if (!s.has_value.load()) return nullptr;
    if (!const_cast<ChannelTable&>(channels_).try_copy_string(slot, out)) return nullptr;
    return out;
  }
  double seen = s.seen.load();
  if (playing && std::isfinite(seen)) return seen;
  if (s.has_value.load()) return s.value.load();
  return nullptr;
}

json App::channels_json() const {
  json list = json::array();
  for (std::uint32_t i = 0; i < channels_.size(); ++i) {
    const ChannelSlot& s = channels_.at(i);
    if (s.watch_only.load() && !s.present.load()) continue;  // asked for, never found
    list.push_back({{"name", s.name},
                    {"type", s.type == ChannelType::string ? "string" : "control"},
                    {"value", channel_value(i)}});
  }
  return list;
}

json App::status_json() const {
  const LatencyHistogram& lat = engine_->latency();
  auto us = [](std::int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::uint64_t bad = 0, overflow = 0;
  for (const auto& d : devices_->all()) {
    DeviceStats s = d->stats();
    bad += s.input.bad + s.decode_errors;
    overflow += s.queue_overflow;
  }
  json status = {
      {"ok", true},
      {"version", CSBRIDGE_VERSION},
      {"config", config_.path},
      {"uptime_s",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count()},
      {"csound",
       {{"state", state_name()},
        {"csd", config_.csound.csd},
        {"restarts", restarts_},
        {"last_error", last_error_},
        {"kcycles", engine_->kcycles()},
        {"sr", sr_},
        {"ksmps", ksmps_},
        {"kr", kr_},
        {"audio", audio_state()},
        {"error_messages", csound_errors_},
        {"watch", config_.csound.watch},
        {"watch_error", watch_error_}}},
      {"reload", {{"reloads", reloads_}, {"errors", config_errors_}}},
      {"state_file", state_store_.path()},
      {"devices", devices_json()},
      {"latency_us",
       {{"count", lat.count()},
        {"p50", us(lat.quantile_ns(0.5))},
        {"p90", us(lat.quantile_ns(0.9))},
        {"p99", us(lat.quantile_ns(0.99))},
        {"max", us(lat.max_ns())}}},
      {"dropped",
       {{"transient", engine_->dropped_transient()},
        {"csound_messages", engine_->dropped_messages()},
        {"bad_input", bad},
        {"midi_queue", overflow}}},
      {"feedback", {{"sent", engine_->feedback_sent()}, {"failed", engine_->feedback_failed()}}},
      {"limits", limits_json()},
  };
  devices_->describe(status);
  status["midi"]["passed_to_csound"] = engine_->midi_passed();
  return status;
}

json App::limits_json() const {
  const WildcardCounters& wild = router_->wildcard_counters();
  return {{"channels", {{"used", channels_.size()}, {"max", ChannelTable::kCapacity}}},
          {"wildcard",
           {{"made", wild.made},
            {"refused", wild.refused},
            {"max_per_mapping", Router::kMaxWildcardChannels}}},
          {"watched", {{"used", watched_}, {"max", kMaxWatched}, {"refused", watch_refused_}}},
          {"set", {{"used", set_created_}, {"max", kMaxSetChannels}, {"refused", set_refused_}}}};
}

void App::answer_get(const std::string& name, std::uint32_t slot,
                     std::function<void(std::string)> reply, std::uint64_t after_sweep, int tries) {
  // Every 10 ms until the performance thread has looked the name up (a
  // watched name not found yet: looked for again), at most a second (a
  // paused or stopped performance never will).
  bool looked = engine_->looked_up_slots() > slot && engine_->watch_sweeps() >= after_sweep;
  if (!looked && tries < 100 && !stopping_) {
    auto timer = std::make_shared<asio::steady_timer>(io_, 10ms);
    timer->async_wait(
        [this, timer, name, slot, reply, after_sweep, tries](boost::system::error_code ec) {
          if (!ec) answer_get(name, slot, reply, after_sweep, tries + 1);
        });
    return;
  }
  if (!channels_.at(slot).present.load())
    return reply(error_reply(fmt::format("no channel '{}' in the orchestra", name)));
  reply(to_line(json{{"ok", true}, {"name", name}, {"value", channel_value(slot)}}));
}

std::uint32_t App::set_slot(const std::string& name, ChannelType type,
                            const std::function<void(std::string)>& reply) {
  std::uint32_t slot = channels_.find(name);
  if (slot == kNoSlot) {
    if (!valid_channel_name(name)) {
      reply(
          error_reply(fmt::format("bad channel name '{}': a letter or _ first, then letters, "
                                  "digits, _ . -, at most 64 bytes",
                                  name)));
      return kNoSlot;
    }
    // `set` may make channels, but not without bound.
    if (set_created_ >= kMaxSetChannels) {
      if (set_refused_++ == 0)
        spdlog::warn(
            "set made {} channels, its most: set of a new name is refused "
            "(status: limits.set)",
            kMaxSetChannels);
      reply(error_reply(
          fmt::format("no channel '{}', and {} made by set already", name, kMaxSetChannels)));
      return kNoSlot;
    }
    slot = channels_.add(name, type);
    if (slot == kNoSlot) {
      reply(error_reply("the channel table is full"));
      return kNoSlot;
    }
    ++set_created_;
    return slot;
  }
  if (channels_.at(slot).type != type) {
    reply(error_reply(
        fmt::format("'{}' is a {} channel", name,
                    channels_.at(slot).type == ChannelType::string ? "string" : "control")));
    return kNoSlot;
  }
  return channels_.add(name, type);  // a watched name becomes a full channel
}

void App::handle_command(ControlSession& session, const std::string& line,
                         std::function<void(std::string)> reply) {
  auto parsed = parse_command(line);
  if (auto* mistake = std::get_if<std::string>(&parsed)) return reply(error_reply(*mistake));
  const Command& c = std::get<Command>(parsed);
  auto ok = [&](json extra = json::object()) {
    extra["ok"] = true;
    reply(to_line(extra));
  };

  switch (c.verb) {
    case Verb::status:
      return reply(to_line(status_json()));
    case Verb::reset:
      reset("control socket");
      return ok();
    case Verb::pause:
      pause();
      return ok({{"state", state_name()}});
    case Verb::resume:
      resume();
      return ok({{"state", state_name()}});
    case Verb::devices:
      return ok({{"devices", devices_json()}});
    case Verb::channels:
      return ok({{"channels", channels_json()}});
    case Verb::monitor:
      session.start_monitor();
      return ok({{"monitor", true}});
    case Verb::reload:
      return reload("control socket", std::move(reply));
    case Verb::get:
      return get_command(c.name, std::move(reply));
    case Verb::set:
      return set_command(c, std::move(reply));
  }
}

void App::get_command(const std::string& name, std::function<void(std::string)> reply) {
  std::uint32_t slot = channels_.find(name);
  if (slot != kNoSlot) {
    const ChannelSlot& s = channels_.at(slot);
    if (!s.watch_only.load() || s.present.load())
      return reply(to_line(json{{"ok", true}, {"name", name}, {"value", channel_value(slot)}}));
    // Watched and not found so far: an instrument may have made it since.
    if (state_ != CsState::running)
      return reply(error_reply(fmt::format("no channel '{}' in the orchestra", name)));
    return answer_get(name, slot, std::move(reply), engine_->watch_sweeps() + 2, 0);
  }
  if (state_ != CsState::running && state_ != CsState::paused)
    return reply(error_reply(fmt::format(
        "no channel '{}' known, and no performance to look in ({})", name, state_name())));
  if (state_ == CsState::paused)
    return reply(
        error_reply(fmt::format("no channel '{}' known, and paused: resume to look "
                                "in the orchestra",
                                name)));
  // Not known yet: watch it (never creating it in the orchestra) and answer
  // once the performance thread has looked for it.
  if (watched_ >= kMaxWatched) {
    if (watch_refused_++ == 0)
      spdlog::warn(
          "get looked for {} names the bridge did not know, its most: get of a new "
          "name is refused (status: limits.watched)",
          kMaxWatched);
    return reply(error_reply(
        fmt::format("no channel '{}' (and {} names asked for already)", name, kMaxWatched)));
  }
  slot = channels_.add(name, ChannelType::control, /*watch_only=*/true);
  if (slot == kNoSlot) return reply(error_reply("the channel table is full"));
  ++watched_;
  answer_get(name, slot, std::move(reply), 0, 0);
}

void App::set_command(const Command& c, std::function<void(std::string)> reply) {
  std::int64_t t = steady_ns();
  if (c.text) {
    std::uint32_t slot = set_slot(c.name, ChannelType::string, reply);
    if (slot == kNoSlot) return;
    channels_.set_string(slot, *c.text, t);
    return reply(to_line(json{{"ok", true}, {"name", c.name}, {"value", *c.text}}));
  }
  std::uint32_t slot = set_slot(c.name, ChannelType::control, reply);
  if (slot == kNoSlot) return;
  channels_.set(slot, *c.number, t);
  reply(to_line(json{{"ok", true}, {"name", c.name}, {"value", *c.number}}));
}

}  // namespace csb
