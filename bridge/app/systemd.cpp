#include "app/systemd.hpp"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>

namespace csb::systemd {

namespace {
void notify(const std::string& text) {
  // 0: keep $NOTIFY_SOCKET for the next call. Failures change nothing for
  // the service; systemd notices what it did not hear.
  sd_notify(0, text.c_str());
}
}  // namespace

bool notify_enabled() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  return s && *s;
}

std::chrono::microseconds watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return {};
  return std::chrono::microseconds(usec);
}

void ready(const std::string& s) {
  notify("READY=1\nSTATUS=" + s);
}

void status(const std::string& s) {
  notify("STATUS=" + s);
}

void watchdog() {
  notify("WATCHDOG=1");
}

void reloading() {
  // MONOTONIC_USEC lets systemd (253 and later) tell this reload from the last.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
              static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() {
  notify("STOPPING=1");
}

bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js || !*js) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

}  // namespace csb::systemd
