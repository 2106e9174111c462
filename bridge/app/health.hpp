#pragma once
// Health and systemd (SPEC §7): every second (or half the watchdog
// interval) the loop checks that the performance thread moves, feeds
// systemd's watchdog while all is well, and sends STATUS= when the state's
// few words changed; READY=1 once the first start was tried, RELOADING=1 and
// READY=1 around a reload. Outside systemd only the check runs. Loop thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/performance.hpp"
#include "engine/engine.hpp"

namespace csb {

class Health {
 public:
  /// `status_line`: the service's state in a few words.
  Health(boost::asio::io_context& io, Engine& engine, Performance& performance,
         std::function<std::string()> status_line);

  /// Reads the watchdog interval systemd asks for and starts the checks.
  void start();
  void stop();
  /// A start was tried: READY=1, once.
  void tried();
  /// A reload begins (RELOADING=1) or ended (READY=1 with the new state);
  /// nothing before the first READY=1.
  void reloading();
  void reloaded();

 private:
  void schedule();
  void tick();

  Engine& engine_;
  Performance& performance_;
  std::function<std::string()> status_line_;
  boost::asio::steady_timer timer_;
  bool ready_sent_ = false;
  std::string sent_status_;
  std::chrono::microseconds watchdog_{0};
  std::uint64_t kcycles_ = 0;  ///< k-cycles at the last tick
  bool was_running_ = false;   ///< a performance was meant to run at the last tick
};

}  // namespace csb
