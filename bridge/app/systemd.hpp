#pragma once
// The service manager's side of the process (SPEC §7): readiness, status
// lines, watchdog pings, reload and stop notices over the notify socket
// (libsystemd's sd_notify), and log lines the journal can rank. Outside
// systemd ($NOTIFY_SOCKET unset) every call does nothing.

#include <chrono>
#include <string>

namespace csb::systemd {

/// True when started by systemd with a notify socket.
bool notify_enabled();
/// The watchdog interval systemd asks for (WatchdogSec=), or zero when none.
std::chrono::microseconds watchdog_interval();

void ready(const std::string& status);
void status(const std::string& status);
void watchdog();
void reloading();
void stopping();

/// True when stderr is connected to the journal ($JOURNAL_STREAM names it).
bool stderr_is_journal();

}  // namespace csb::systemd
