#pragma once
// A Firmata board on one open serial port (SPEC §3.5): the port's bytes
// framed and handed to the board's session (core/firmata_session.hpp), the
// session's retries and probes on a timer, what it sends written to the
// port, its pin values handed on. Feedback does not pass here: the
// performance thread writes its bytes (core/firmata.hpp) to the port itself.
//
// Threads: the loop thread.

#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/config.hpp"
#include "core/firmata.hpp"
#include "core/firmata_session.hpp"

namespace csb {

class FirmataBoard final : private firmata::Session::Host {
 public:
  struct Hooks {
    /// Bytes for the board; false when the port did not take them all.
    std::function<bool(const std::uint8_t*, std::size_t)> write;
    /// A read pin's value: analog (A0..A15, raw) or digital (D0..D53, 0/1).
    std::function<void(SourceKind kind, int pin, double raw, std::int64_t t_ns)> value;
    /// The board is set up (again): its feedback values are due.
    std::function<void()> ready;
    /// It stopped answering: the port is to be closed and looked for again.
    std::function<void()> silent;
  };

  FirmataBoard(boost::asio::io_context& io, std::string device, const firmata::PinPlan& plan,
               Hooks hooks);
  ~FirmataBoard();

  /// The port opened: the handshake starts.
  void open();
  /// The port closed: nothing more is sent or timed.
  void close();
  /// Bytes the port read at t_ns.
  void feed(const std::uint8_t* bytes, std::size_t n, std::int64_t t_ns);

  /// What did not frame or parse, or a board does not send (counted as bad input).
  std::uint64_t bad() const;
  const firmata::Session& session() const { return session_; }

 private:
  // firmata::Session::Host
  void send(const std::uint8_t* bytes, std::size_t n) override;
  void analog(int channel, int value) override;
  void digital(int pin, int value) override;
  void configured() override;
  void problem(std::string_view text) override;
  void text(std::string_view text) override;
  void silent() override;

  /// The timer set for the session's next tick, unless it is set sooner.
  void arm();

  std::string device_;
  Hooks hooks_;
  boost::asio::steady_timer timer_;
  std::int64_t armed_for_ = -1;  // the tick the timer waits for; -1: none
  firmata::Decoder decoder_{firmata::End::kHost};
  firmata::Session session_;
  std::int64_t now_ = 0;  // when the bytes being fed were read
  std::uint64_t texts_ = 0;
};

}  // namespace csb
