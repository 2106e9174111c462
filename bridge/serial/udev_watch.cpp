#include "serial/udev_watch.hpp"

#include <libudev.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>

namespace csb {

namespace {
udev_monitor* monitor_of(void* p) {
  return static_cast<udev_monitor*>(p);
}
}  // namespace

UdevWatch::UdevWatch(boost::asio::io_context& io, std::function<void()> on_change)
    : fd_(io), on_change_(std::move(on_change)) {
  // udevd's control socket: without it no event would ever come.
  if (::access("/run/udev/control", F_OK) != 0) {
    spdlog::info("serial: udev is not running; boards are found by scanning only");
    return;
  }
  udev* u = udev_new();
  // "udev", not "kernel": sent once the rules ran and the links exist.
  udev_monitor* m = u ? udev_monitor_new_from_netlink(u, "udev") : nullptr;
  if (!m || udev_monitor_filter_add_match_subsystem_devtype(m, "tty", nullptr) < 0 ||
      udev_monitor_enable_receiving(m) < 0) {
    spdlog::warn("serial: cannot follow udev's events ({}); boards are found by scanning only",
                 std::strerror(errno));
    if (m) udev_monitor_unref(m);
    if (u) udev_unref(u);
    return;
  }
  udev_ = u;
  monitor_ = m;
  boost::system::error_code ec;
  fd_.assign(::dup(udev_monitor_get_fd(m)), ec);
  spdlog::info("serial: following udev's events; a board is opened as soon as it is plugged in");
  wait();
}

UdevWatch::~UdevWatch() {
  boost::system::error_code ec;
  fd_.close(ec);
  if (monitor_) udev_monitor_unref(monitor_of(monitor_));
  if (udev_) udev_unref(static_cast<udev*>(udev_));
}

void UdevWatch::wait() {
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                 [this](boost::system::error_code ec) {
                   if (!ec) read_events();
                 });
}

void UdevWatch::read_events() {
  // The reactor wakes on new data only: read until the socket is empty (a
  // message libudev drops also reads as no device). What can be pending is
  // bounded by the socket's receive buffer; the bound here is a safety net.
  bool changed = false;
  for (int n = 0; n < 4096; ++n) {
    pollfd p{udev_monitor_get_fd(monitor_of(monitor_)), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
    if (udev_device* d = udev_monitor_receive_device(monitor_of(monitor_))) {
      const char* action = udev_device_get_action(d);
      if (action && (std::strcmp(action, "add") == 0 || std::strcmp(action, "remove") == 0))
        changed = true;
      udev_device_unref(d);
    }
  }
  if (changed && on_change_) on_change_();
  wait();
}

}  // namespace csb
