#include "serial/firmata_board.hpp"

#include <chrono>
#include <limits>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace csb {

FirmataBoard::FirmataBoard(boost::asio::io_context& io, std::string device,
                           const firmata::PinPlan& plan, Hooks hooks)
    : device_(std::move(device)), hooks_(std::move(hooks)), timer_(io), session_(plan, *this) {}

FirmataBoard::~FirmataBoard() {
  timer_.cancel();
}

void FirmataBoard::open() {
  decoder_.reset();
  now_ = steady_ns();
  session_.open(now_);
  arm();
}

void FirmataBoard::close() {
  session_.close();
  decoder_.reset();
  timer_.cancel();
  armed_for_ = -1;
}

void FirmataBoard::feed(const std::uint8_t* bytes, std::size_t n, std::int64_t t_ns) {
  now_ = t_ns;
  decoder_.feed(
      bytes, n, [&](const firmata::Message& m) { session_.on_message(m, now_); },
      [&](std::uint8_t id, std::span<const std::uint8_t> payload) {
        session_.on_sysex(id, payload, now_);
      });
  arm();
}

std::uint64_t FirmataBoard::bad() const {
  const firmata::SessionStats& s = session_.stats();
  return decoder_.errors() + decoder_.sysex_dropped() + s.malformed + s.unknown;
}

void FirmataBoard::arm() {
  const std::int64_t due = session_.next_tick();
  if (due == std::numeric_limits<std::int64_t>::max()) return;
  if (armed_for_ >= 0 && armed_for_ <= due) return;  // it fires sooner, and sets itself again
  armed_for_ = due;
  timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(due)));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // cancelled: closed, or set sooner
    armed_for_ = -1;
    now_ = steady_ns();
    session_.tick(now_);
    arm();
  });
}

void FirmataBoard::send(const std::uint8_t* bytes, std::size_t n) {
  if (!hooks_.write(bytes, n))
    spdlog::debug("device {}: the port did not take {} bytes for the board", device_, n);
}

void FirmataBoard::analog(int channel, int value) {
  hooks_.value(SourceKind::analog, channel, value, now_);
}

void FirmataBoard::digital(int pin, int value) {
  hooks_.value(SourceKind::digital, pin, value, now_);
}

void FirmataBoard::configured() {
  const firmata::Firmware& f = session_.firmware();
  spdlog::info("device {}: {} {}.{} (Firmata {}.{}), {} pins: set up", device_,
               f.name().empty() ? "a Firmata board" : f.name(), f.major, f.minor,
               session_.protocol() / 100, session_.protocol() % 100, session_.board().pin_count);
  hooks_.ready();
}

void FirmataBoard::problem(std::string_view text) {
  spdlog::warn("device {}: {}", device_, text);
}

void FirmataBoard::text(std::string_view text) {
  // A board that says too much is heard at debug level after its first 20.
  if (++texts_ <= 20)
    spdlog::info("device {}: the board says: {}", device_, text);
  else
    spdlog::debug("device {}: the board says: {}", device_, text);
}

void FirmataBoard::silent() {
  spdlog::warn("device {}: the board does not answer", device_);
  hooks_.silent();
}

}  // namespace csb
