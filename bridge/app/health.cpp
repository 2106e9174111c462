#include "app/health.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/systemd.hpp"

namespace csb {

using namespace std::chrono_literals;

Health::Health(boost::asio::io_context& io, Engine& engine, Performance& performance,
               std::function<std::string()> status_line)
    : engine_(engine),
      performance_(performance),
      status_line_(std::move(status_line)),
      timer_(io) {}

void Health::start() {
  watchdog_ = systemd::watchdog_interval();
  if (watchdog_.count() > 0) spdlog::info("systemd watchdog: {} ms", watchdog_.count() / 1000);
  schedule();
}

void Health::stop() {
  timer_.cancel();
  systemd::stopping();
}

void Health::schedule() {
  // Also without systemd: `status` says `stuck` when run by hand too.
  // systemd wants a ping within every watchdog interval: twice per interval.
  std::chrono::nanoseconds period = 1s;
  if (watchdog_.count() > 0) period = std::min<std::chrono::nanoseconds>(period, watchdog_ / 2);
  timer_.expires_after(period);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    tick();
    schedule();
  });
}

void Health::tick() {
  // The loop is healthy: this runs on it. The performance thread is when no
  // performance is meant to run (none, or paused), or when it made a k-cycle
  // since the last tick. A reset waits for the running k-cycle to end, so a
  // performance stuck in one stays stuck through a reset.
  // A performance seen running for the first time gets a whole period for
  // its first k-cycle (a slow start is not a stuck one).
  std::uint64_t k = engine_.kcycles();
  bool meant_to_run = engine_.running() && !engine_.paused();
  bool ok = !meant_to_run || !was_running_ || k != kcycles_;
  kcycles_ = k;
  was_running_ = meant_to_run;
  performance_.set_stuck(
      !ok, fmt::format("{} ms", watchdog_.count() > 0 ? watchdog_.count() / 2000 : 1000),
      watchdog_.count() > 0);
  if (ok && watchdog_.count() > 0) systemd::watchdog();
  std::string line = status_line_();
  if (line != sent_status_) {
    systemd::status(line);
    sent_status_ = line;
  }
}

void Health::tried() {
  if (ready_sent_) return;
  ready_sent_ = true;
  sent_status_ = status_line_();
  systemd::ready(sent_status_);
}

void Health::reloading() {
  if (ready_sent_) systemd::reloading();  // before READY=1 there is nothing to reload from
}

void Health::reloaded() {
  if (!ready_sent_) return;
  sent_status_ = status_line_();
  systemd::ready(sent_status_);
}

}  // namespace csb
