#pragma once
// The host's side of one Firmata board (SPEC §3.5), as a state machine fed
// the board's framed messages and the time; what it sends goes out through
// its Host. Pure: no device I/O; nothing is allocated once it is made.
//
//   open ─▶ asking ─▶ capabilities ─▶ mapping ─▶ ready
//             │            │             │         │
//             └────────────┴─────────────┴─────────┴──▶ silent (reopen it)
//
// - asking: the version and firmware queries, sent again every second (a
//   board reset by the open sits in its bootloader for about two), never
//   waiting for the report a board sends at its start: one not reset by
//   the open never sends it.
// - capabilities, mapping: what the board's pins can do, and which pin each
//   analog channel is, from its own replies, never from a fixed offset.
// - ready: the pins the plan uses are set to their modes, their reporting
//   turned on, the sampling interval set; then Host::configured() (the
//   device resends its feedback values: core/firmata.hpp encodes them, on
//   the performance thread, with no state of the session's). Analog values and digital changes
//   of the read pins go to the Host. A board heard from for none of kIdle
//   is asked its version; one that does not answer is silent.
// - A version or firmware report nobody asked for (the board restarted) or
//   a new open starts the handshake again.
//
// Threads: one at a time, the device's (the loop thread); the Host is called
// on it.

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/firmata.hpp"

namespace csb::firmata {

/// What one device's mappings and feedback use of its board.
struct PinPlan {
  std::uint16_t analog = 0;                  ///< bit c: A<c> is read
  std::bitset<kMaxPins> input, pullup;       ///< digital pins read (pullup: with INPUT_PULLUP)
  std::bitset<kMaxPins> output, pwm, servo;  ///< pins feedback writes
  unsigned sampling_ms = 19;

  bool operator==(const PinPlan&) const = default;
};

/// What device `device` (an index into config.devices, a firmata board)
/// uses of its board: the A and D pins its mappings read (D with `mode:
/// pullup` pulled up when any of its mappings says so), the D, PWM and
/// SERVO pins its feedback writes, its sampling interval.
PinPlan plan_for(const Config& config, std::uint32_t device);

struct SessionStats {
  std::uint64_t handshakes = 0;  ///< boards configured
  std::uint64_t restarts = 0;    ///< reports nobody asked for
  std::uint64_t retries = 0;     ///< queries sent again for want of an answer
  std::uint64_t silences = 0;    ///< times the board stopped answering
  std::uint64_t malformed = 0;   ///< replies that did not parse
  std::uint64_t unknown = 0;     ///< sysex and commands a board does not send a host
};

class Session {
 public:
  /// What the session tells its device, on the thread that calls the session.
  class Host {
   public:
    /// Bytes for the board, in order.
    virtual void send(const std::uint8_t* bytes, std::size_t n) = 0;
    /// A<channel>'s value (raw, 0..1023 on an Uno), for the channels read.
    virtual void analog(int channel, int value) = 0;
    /// A read pin's level (a pulled-up pin's inverted: pressed to ground is
    /// 1): at its first report, then on each change.
    virtual void digital(int pin, int value) = 0;
    /// The board is set up: the device sends its feedback values again.
    virtual void configured() = 0;
    /// A pin the plan uses that the board cannot do that with, and the like.
    virtual void problem(std::string_view text) = 0;
    /// The board's STRING_DATA.
    virtual void text(std::string_view text) = 0;
    /// Nothing answered: the device closes the port and opens it again.
    virtual void silent() = 0;

   protected:
    ~Host() = default;
  };

  enum class State { kClosed, kAsking, kCapabilities, kMapping, kReady, kSilent };

  static constexpr std::int64_t kReplyNs = 1'000'000'000;  ///< a query's answer, at most
  static constexpr int kAskTries = 10;   ///< version queries before silent (bootloader)
  static constexpr int kQueryTries = 3;  ///< other queries and idle probes before silent
  static constexpr std::int64_t kIdleNs = 2'000'000'000;  ///< quiet this long: ask

  Session(const PinPlan& plan, Host& host) : plan_(plan), host_(host) {}

  /// The port opened (or was reopened): the handshake starts.
  void open(std::int64_t now);
  /// The port went away: nothing more is sent.
  void close() { state_ = State::kClosed; }

  /// What the board sent, framed by a Decoder(End::kHost).
  void on_message(const Message& m, std::int64_t now);
  void on_sysex(std::uint8_t id, std::span<const std::uint8_t> payload, std::int64_t now);

  /// Retries and probes due by `now`. Call it by next_tick() at the latest.
  void tick(std::int64_t now);
  /// When tick() is next due; INT64_MAX while closed or silent.
  std::int64_t next_tick() const;

  State state() const { return state_; }
  const Board& board() const { return board_; }
  const Firmware& firmware() const { return firmware_; }
  /// The protocol version the board reported: major·100 + minor, 0 before.
  int protocol() const { return protocol_; }
  const SessionStats& stats() const { return stats_; }

 private:
  void send(const std::uint8_t* bytes, std::size_t n) { host_.send(bytes, n); }
  void ask(std::int64_t now);
  void query(State next, std::int64_t now);
  void configure();
  /// Anything from the board: it is there.
  void heard(std::int64_t now);
  /// A version or firmware report: an answer to ours, or the board restarted.
  void on_report(bool firmware, std::int64_t now);
  void go_silent();

  PinPlan plan_;
  Host& host_;
  State state_ = State::kClosed;
  Board board_;
  Firmware firmware_;
  int protocol_ = 0;
  std::int64_t asked_at_ = -1;  // the last query of the handshake or a probe sent
  // Version and firmware queries not answered yet. A board answers in
  // order, so once the set-up's replies are in, none is owed but probes'.
  int versions_owed_ = 0, firmwares_owed_ = 0;
  int tries_ = 0;
  bool probing_ = false;  // ready: a version query out as a probe
  std::int64_t heard_at_ = 0;
  std::bitset<kMaxPins> usable_in_;           // read pins, as configured
  std::uint8_t port_out_[kMaxPins / 8] = {};  // pull-ups of an older firmware, by port
  std::uint8_t port_in_[kMaxPins / 8] = {};   // the read pins' last levels
  std::bitset<kMaxPins> in_known_;            // read pins reported since configured
  SessionStats stats_;
};

}  // namespace csb::firmata
