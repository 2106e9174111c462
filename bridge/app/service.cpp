#include "app/service.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "app/checker.hpp"
#include "app/control_commands.hpp"
#include "app/csd_watch.hpp"
#include "app/health.hpp"
#include "app/kept_values.hpp"
#include "app/passthrough.hpp"
#include "app/performance.hpp"
#include "app/reloader.hpp"
#include "config/channel_check.hpp"
#include "control/control_server.hpp"
#include "device/device_set.hpp"
#include "engine/engine.hpp"
#include "midi/midi_transport.hpp"
#include "serial/serial_transport.hpp"

namespace csb {

namespace asio = boost::asio;
using json = nlohmann::json;

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

Service::Service(Config config, RunOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      signals_(io_),
      scan_timer_(io_),
      announce_timer_(io_) {
  // First, so a stop asked for during start-up is a clean stop too.
  for (int signo : {SIGINT, SIGTERM, SIGUSR1, SIGHUP}) signals_.add(signo);
  router_ = std::make_unique<Router>(config_, channels_, static_cast<RouterSink&>(*this));
  std::string socket = !options_.control_path.empty()    ? options_.control_path
                       : !config_.control.socket.empty() ? config_.control.socket
                                                         : default_control_path();
  control_ = std::make_unique<ControlServer>(
      io_, socket, config_.control.mode,
      [this](ControlSession& s, const std::string& line, std::function<void(std::string)> reply) {
        commands_->handle(s, line, std::move(reply));
      });
  engine_ = std::make_unique<Engine>(channels_, [this](EngineEvent ev) {
    // Engine threads: hand over to the loop and return at once.
    asio::post(io_,
               [this, ev = std::move(ev)]() mutable { performance_->on_event(std::move(ev)); });
  });
  checker_ = std::make_unique<Checker>(io_);
  performance_ = std::make_unique<Performance>(
      io_, config_, options_.audio_null, channels_, *engine_, *checker_,
      Performance::Hooks{[this](int code) { shutdown(code); }, [this] { devices_->drop_retired(); },
                         [this] { health_->tried(); }});
  health_ =
      std::make_unique<Health>(io_, *engine_, *performance_, [this] { return status_line(); });
  reloader_ = std::make_unique<Reloader>(config_, *checker_, *performance_, *health_,
                                         [this](Config next) { apply_config(std::move(next)); });
  watch_ = std::make_unique<CsdWatch>(io_, config_, *checker_, *performance_);
  passthrough_ =
      std::make_unique<Passthrough>([this](const MidiMessage& m) { engine_->push_midi(m); });
  passthrough_->reset(config_.devices.size());
  values_ = std::make_unique<KeptValues>(io_, channels_);
  // The transports, one a device kind: the first that handles an entry makes its device.
  std::vector<std::unique_ptr<Transport>> transports;
  transports.push_back(std::make_unique<SerialTransport>(io_, [this] { scan_soon(); }));
  transports.push_back(
      std::make_unique<MidiTransport>(io_, config_.midi_api, [this] { scan_soon(); }));
  devices_ = std::make_unique<DeviceSet>(std::move(transports), static_cast<DeviceSink&>(*this));
  commands_ = std::make_unique<ControlCommands>(
      ControlCommands::Parts{io_, config_, channels_, *engine_, *performance_, *reloader_, *watch_,
                             *devices_, *values_, [this]() -> const Router& { return *router_; }});
  devices_->build(config_);
  configure_engine();
}

Service::~Service() {
  checker_.reset();  // waits for a check that runs
  engine_.reset();   // joins Csound's threads before the devices they write to go
  devices_.reset();
}

void Service::configure_engine() {
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
    // Serial boards take lines, MIDI bytes (`format: midi`) or Firmata
    // messages, and MIDI ports MIDI (the loader matched the kind to the device).
    b.port = devices_->find(f.device);
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

void Service::on_line(DeviceIndex device, std::string_view line, std::int64_t t,
                      InputCounters& counters) {
  router_->on_line(device, line, t, counters);
}

void Service::on_midi(DeviceIndex device, std::uint32_t port, const MidiMessage& m, std::int64_t t,
                      InputCounters& counters) {
  router_->on_midi(device, m, t, counters, port);
  if (config_.devices[device].passthrough) passthrough_->pass(device, port, m);
}

void Service::on_pin(DeviceIndex device, SourceKind kind, int pin, double raw, std::int64_t t,
                     InputCounters& counters) {
  router_->on_firmata(device, kind, pin, raw, t, counters);
}

void Service::on_midi_port_closed(DeviceIndex device, std::uint32_t port) {
  router_->reset_port(device, port);
  passthrough_->release(device, port, config_.devices[device].name);
}

void Service::on_output_ready(Device& device, FeedbackPort& to) {
  engine_->resend_feedback(&device, &to);
}

// --- run and stop ------------------------------------------------------------

int Service::run() {
  wait_signals();
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&handled, s);
  pthread_sigmask(SIG_UNBLOCK, &handled, nullptr);
  spdlog::info("csbridge: config {}, CSD {}, control socket {}", config_.path, config_.csound.csd,
               control_->path());
  values_->restore();
  scan_devices();
  performance_->start();
  watch_->start();
  values_->start();
  health_->start();
  io_.run();
  performance_->drain_messages();
  return exit_code_;
}

void Service::wait_signals() {
  signals_.async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    handle_signal(signo);
    if (!stopping_) wait_signals();
  });
}

void Service::handle_signal(int signo) {
  switch (signo) {
    case SIGINT:
    case SIGTERM:
      spdlog::info("{}: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
      shutdown(0);
      break;
    case SIGUSR1:
      performance_->reset("SIGUSR1");
      break;
    case SIGHUP:
      reloader_->reload("SIGHUP");
      break;
  }
}

void Service::shutdown(int code) {
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = code;
  health_->stop();  // STOPPING=1 first
  // A second SIGTERM or Ctrl-C now kills at once (default dispositions), and
  // an orchestra stuck in a k-cycle cannot hold the stop past 2 s.
  boost::system::error_code ec;
  signals_.cancel(ec);
  signals_.clear(ec);
  performance_->stop();
  checker_->stop();
  watch_->stop();
  scan_timer_.cancel();
  announce_timer_.cancel();
  values_->stop();  // the final write, waiting for the disk
  control_.reset();
  devices_->stop();
  io_.stop();
}

std::string Service::status_line() const {
  std::string line =
      fmt::format("{}; {} of {} devices connected", performance_->summary(!watch_->error().empty()),
                  devices_->connected(), devices_->all().size());
  if (!reloader_->errors().empty())
    line += fmt::format("; reload refused ({} problem{})", reloader_->problems(),
                        reloader_->problems() == 1 ? "" : "s");
  return line;
}

// --- devices -----------------------------------------------------------------

void Service::scan_devices() {
  // A transport may want the next look sooner than the period: a MIDI output
  // opened now is said at the next scan, an API not open yet is asked again.
  auto soon = devices_->scan();
  if (soon.count() > 0 && soon < config_.scan) scan_soon(soon);
  schedule_scan();
}

void Service::scan_soon(std::chrono::milliseconds delay) {
  // A plug announces a client, its ports and our own subscriptions (or a
  // board's tty and its links) in one burst: one scan a few milliseconds
  // later sees them all.
  if (announce_scan_due_ || stopping_) return;
  announce_scan_due_ = true;
  announce_timer_.expires_after(delay);
  announce_timer_.async_wait([this](boost::system::error_code ec) {
    announce_scan_due_ = false;
    if (!ec) scan_devices();
  });
}

void Service::schedule_scan() {
  // Always: a glob may match another board plugged in later.
  if (stopping_ || devices_->empty()) return;
  scan_timer_.expires_after(config_.scan);
  scan_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) scan_devices();
  });
}

// --- reload (SPEC §4) ----------------------------------------------------------

void Service::apply_config(Config next) {
  performance_->forget_options();
  // The routing tables first: a channel the running service knows with the
  // other type (or a full table) refuses the reload before anything changed.
  // Checked on a table of its own first, so a refused reload adds nothing.
  if (auto clashes = check_channels_against(next, channels_); !clashes.empty()) {
    std::vector<std::string> errors;
    for (const auto& d : clashes) errors.push_back(d.to_string());
    return reloader_->refuse(std::move(errors));
  }
  std::unique_ptr<Router> router;
  try {
    router = std::make_unique<Router>(next, channels_, static_cast<RouterSink&>(*this));
  } catch (const std::exception& e) {
    return reloader_->refuse({fmt::format("{}: {}", next.path, e.what())});
  }
  DeviceSet::Changes changes = devices_->reload(next);
  passthrough_->reset(next.devices.size());

  if (options_.control_path.empty() &&
      (next.control.socket != config_.control.socket || next.control.mode != config_.control.mode))
    spdlog::warn("reload: control: a new socket path or mode takes effect at the next start");
  config_ = std::move(next);
  router_ = std::move(router);
  configure_engine();
  performance_->config_changed();
  spdlog::info("reload: applied {}: {} device(s) kept open, {} opened, {} closed", config_.path,
               changes.kept.size(), changes.opened.size(), changes.closed.size());
  scan_timer_.cancel();
  scan_devices();  // the new devices now, not a scan period later
  watch_->start();
  performance_->reset("reload");
  reloader_->applied(
      json{{"ok", true},
           {"config", config_.path},
           {"devices",
            {{"kept", changes.kept}, {"opened", changes.opened}, {"closed", changes.closed}}}});
}

// --- RouterSink --------------------------------------------------------------

void Service::on_action(Action action) {
  switch (action) {
    case Action::reset:
      performance_->reset("mapped control");
      break;
    case Action::reload:
      // Not from inside the router: a reload replaces it.
      asio::post(io_, [this] { reloader_->reload("mapped control"); });
      break;
    case Action::pause:
      performance_->pause();
      break;
    case Action::resume:
      performance_->resume();
      break;
    case Action::toggle_pause:
      performance_->toggle_pause();
      break;
    case Action::none:
      break;
  }
}

void Service::on_score(std::string_view event) {
  if (!engine_->push_score(event)) spdlog::debug("score event dropped: {}", event);
}

void Service::on_wildcard_full(std::uint32_t device, std::string_view to, bool table_full) {
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

void Service::on_routed(std::uint32_t device, std::string_view source, std::uint32_t slot,
                        double value) {
  if (!control_ || !control_->has_monitors()) return;
  control_->broadcast(commands_->monitor_line(config_.devices[device].name, source, slot, value));
}

}  // namespace csb
