#pragma once
// Firmata 2.x bytes (SPEC §3.5), as StandardFirmata speaks them: a framer
// for either end of the line, fed bytes in any split; the parsers of the
// sysex replies; the encoders of what each end sends. Pure: no device I/O,
// no allocation after construction. Not thread-safe: each object has one
// owner; the free functions may run on any thread.
//
// Firmata borrows MIDI's framing (a status byte has the top bit set, a data
// byte not) but not its meanings, nor running status, and one byte reads
// differently at each end: F9 alone asks for the version (host to board),
// F9 and two data bytes report it (board to host).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/config.hpp"

namespace csb::firmata {

// Commands. The low nibble of the first four is a pin (analog) or a port
// (digital: 8 pins, port P holds pins 8P..8P+7).
inline constexpr std::uint8_t kDigitalMessage = 0x90;  // port; pins 0-6, pin 7
inline constexpr std::uint8_t kAnalogMessage = 0xE0;   // analog pin 0-15; LSB, MSB
inline constexpr std::uint8_t kReportAnalog = 0xC0;    // analog pin; 0 off, 1 on
inline constexpr std::uint8_t kReportDigital = 0xD0;   // port; 0 off, 1 on
inline constexpr std::uint8_t kStartSysex = 0xF0;
inline constexpr std::uint8_t kSetPinMode = 0xF4;     // pin, mode
inline constexpr std::uint8_t kSetDigitalPin = 0xF5;  // pin, 0/1 (Firmata 2.5)
inline constexpr std::uint8_t kEndSysex = 0xF7;
inline constexpr std::uint8_t kVersion = 0xF9;  // host: query; board: major, minor
inline constexpr std::uint8_t kSystemReset = 0xFF;

// Sysex commands (the byte after F0).
inline constexpr std::uint8_t kAnalogMappingQuery = 0x69;
inline constexpr std::uint8_t kAnalogMappingResponse = 0x6A;
inline constexpr std::uint8_t kCapabilityQuery = 0x6B;
inline constexpr std::uint8_t kCapabilityResponse = 0x6C;
inline constexpr std::uint8_t kPinStateQuery = 0x6D;
inline constexpr std::uint8_t kPinStateResponse = 0x6E;
inline constexpr std::uint8_t kExtendedAnalog = 0x6F;
inline constexpr std::uint8_t kServoConfig = 0x70;
inline constexpr std::uint8_t kStringData = 0x71;
inline constexpr std::uint8_t kReportFirmware = 0x79;
inline constexpr std::uint8_t kSamplingInterval = 0x7A;

/// Pin modes, as set-pin-mode and the capability response number them.
enum class Mode : std::uint8_t {
  kInput = 0x00,
  kOutput = 0x01,
  kAnalog = 0x02,
  kPwm = 0x03,
  kServo = 0x04,
  kShift = 0x05,
  kI2c = 0x06,
  kOneWire = 0x07,
  kStepper = 0x08,
  kEncoder = 0x09,
  kSerial = 0x0A,
  kPullup = 0x0B,
};

/// The analog mapping's "not an analog pin", and the capability response's
/// end of a pin's modes.
inline constexpr std::uint8_t kNone = 0x7F;
/// Pin numbers are data bytes: 0..127.
inline constexpr int kMaxPins = 128;
/// Analog and digital messages address analog pins and ports 0..15.
inline constexpr int kMaxChannels = 16;
/// The most any encoder below writes, but the firmware and pin-list replies.
inline constexpr std::size_t kMaxEncoded = 8;

/// Which end reads the bytes: a host reads what a board sends.
enum class End : std::uint8_t { kHost, kBoard };

/// Data bytes after a status byte at the reading end: 0..2; -1 for sysex
/// (F0, F7), a command Firmata does not have, and data bytes (< 0x80).
int data_length(std::uint8_t status, End reading);

/// One message that is not a sysex.
struct Message {
  /// 0x90 0xC0 0xD0 0xE0 (nibble cleared), or F4 F5 F9 FF.
  std::uint8_t command = 0;
  /// The nibble of 0x90..0xE0: the port or the analog pin; 0 for the others.
  std::uint8_t index = 0;
  std::uint8_t data[2] = {0, 0};
  std::uint8_t size = 0;  ///< data bytes, 0..2

  /// The two data bytes as one 14-bit value (LSB first): an analog value,
  /// a digital port's pins (bit k is pin 8·port+k).
  int value() const { return data[0] | (data[1] << 7); }
};

/// Frames a Firmata byte stream fed in any split:
/// - a message is emitted once its data bytes are in; a status byte (the
///   top bit set) before then cuts it short: dropped and counted in errors();
/// - a sysex (F0 ID PAYLOAD F7) is collected up to kMaxSysex bytes (ID and
///   payload) and emitted whole; a longer one, or one a status byte cuts
///   short (an unterminated sysex ends there), is dropped and counted in
///   sysex_dropped(); an empty one (F0 F7) counts in errors();
/// - a command Firmata does not have (MIDI's 0x80, 0xA0, 0xB0, F1..FE but
///   F4 F5 F9), a stray F7, and data bytes no status asked for count one
///   error a run: the data bytes after one are skipped.
/// Memory is bounded; nothing is allocated after construction.
class Decoder {
 public:
  static constexpr std::size_t kMaxSysex = 4096;

  /// Allocates the sysex buffer. May throw std::bad_alloc.
  explicit Decoder(End reading);

  /// Frames n bytes; calls on_message(const Message&) for each message and
  /// on_sysex(std::uint8_t id, std::span<const std::uint8_t> payload) for
  /// each sysex (payload: the data bytes after the ID, valid only during the
  /// call), in stream order.
  template <class OnMessage, class OnSysex>
  void feed(const std::uint8_t* bytes, std::size_t n, OnMessage&& on_message, OnSysex&& on_sysex);

  /// Forgets any message or sysex in progress (after a disconnect).
  void reset();

  std::uint64_t messages() const { return messages_; }  ///< messages and sysex emitted
  std::uint64_t errors() const { return errors_; }
  std::uint64_t sysex_dropped() const { return sysex_dropped_; }

 private:
  End end_;
  std::unique_ptr<std::uint8_t[]> sysex_;
  std::size_t sysex_len_ = 0;
  bool in_sysex_ = false;
  bool sysex_overflow_ = false;
  bool skipping_ = false;    // data bytes are not counted until the next status
  std::uint8_t status_ = 0;  // the message being collected; 0 = none
  std::uint8_t need_ = 0;
  std::uint8_t have_ = 0;
  std::uint8_t data_[2] = {0, 0};
  std::uint64_t messages_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t sysex_dropped_ = 0;
};

// ---- Replies a host reads (sysex payloads: the bytes after the ID) ----

/// REPORT_FIRMWARE: major, minor, the name in 7-bit halves (LSB first).
struct Firmware {
  std::uint8_t major = 0, minor = 0;
  char text[64] = {};
  std::uint8_t length = 0;
  std::string_view name() const { return {text, length}; }
};
/// False when the payload is shorter than the version or a name character
/// lacks its second half. Characters outside printable ASCII read as '?';
/// a name over 63 characters is cut there.
bool parse_firmware(std::span<const std::uint8_t> payload, Firmware& out);

/// One pin as the capability and analog-mapping responses describe it.
struct Pin {
  std::uint32_t modes = 0;           ///< bit m: Mode m supported (m < 32)
  std::uint8_t resolution[16] = {};  ///< bits, by mode (0x00..0x0F)
  std::uint8_t analog = kNone;       ///< its analog channel, or kNone

  bool supports(Mode m) const { return (modes >> static_cast<unsigned>(m)) & 1u; }
  int bits(Mode m) const { return resolution[static_cast<unsigned>(m) & 15u]; }
};

/// The pins a board has, from its own replies.
struct Board {
  Pin pins[kMaxPins];
  int pin_count = 0;      ///< pins the capability response listed
  int mapping_count = 0;  ///< pins the analog-mapping response listed

  /// The pin number of analog channel `channel` (A0 is channel 0), or -1.
  int analog_pin(int channel) const;
};

/// CAPABILITY_RESPONSE: for each pin, (mode, resolution) pairs, then 7F.
/// Sets every pin's modes and resolutions (none for pins not listed).
/// False, leaving `board` as it was, when a pin's list is cut short by the
/// end or more than kMaxPins pins are listed.
bool parse_capability(std::span<const std::uint8_t> payload, Board& board);

/// ANALOG_MAPPING_RESPONSE: for each pin, its analog channel or 7F. Sets
/// every pin's channel (kNone for pins not listed). False, leaving `board`
/// as it was, for more than kMaxPins pins.
bool parse_analog_mapping(std::span<const std::uint8_t> payload, Board& board);

/// PIN_STATE_RESPONSE: pin, mode, state in 1..4 7-bit groups (LSB first).
struct PinState {
  std::uint8_t pin = 0, mode = 0;
  std::uint32_t state = 0;
};
bool parse_pin_state(std::span<const std::uint8_t> payload, PinState& out);

/// STRING_DATA: characters in 7-bit halves. False for an odd count.
/// Writes at most `cap` - 1 characters and a NUL; `length` excludes it.
bool parse_string(std::span<const std::uint8_t> payload, char* out, std::size_t cap,
                  std::size_t& length);

/// EXTENDED_ANALOG: pin, value in 1..4 7-bit groups (LSB first).
bool parse_extended_analog(std::span<const std::uint8_t> payload, std::uint8_t& pin,
                           std::uint32_t& value);

/// SAMPLING_INTERVAL: milliseconds, two 7-bit halves.
bool parse_sampling_interval(std::span<const std::uint8_t> payload, unsigned& ms);

// ---- What a host sends: each writes at most kMaxEncoded bytes into out
// and returns the count. Pins, ports and channels are masked to what the
// message can carry; values are clamped to it. ----

std::size_t query_version(std::uint8_t* out);
std::size_t query_firmware(std::uint8_t* out);
std::size_t query_capability(std::uint8_t* out);
std::size_t query_analog_mapping(std::uint8_t* out);
std::size_t query_pin_state(int pin, std::uint8_t* out);
std::size_t set_pin_mode(int pin, Mode mode, std::uint8_t* out);
std::size_t report_analog(int channel, bool on, std::uint8_t* out);
std::size_t report_digital(int port, bool on, std::uint8_t* out);
/// A digital port's 8 pins at once (bit k is pin 8·port+k); a board sends
/// the same message to report its inputs.
std::size_t digital_port(int port, unsigned pins, std::uint8_t* out);
std::size_t set_digital_pin(int pin, bool high, std::uint8_t* out);
/// An analog message for pins 0..15 and values up to 14 bits, else an
/// EXTENDED_ANALOG sysex (up to 28 bits); a board reports analog inputs with
/// the analog message.
std::size_t analog_write(int pin, std::uint32_t value, std::uint8_t* out);
/// Clamped to 1..16383 ms.
std::size_t sampling_interval(unsigned ms, std::uint8_t* out);
std::size_t servo_config(int pin, unsigned min_us, unsigned max_us, std::uint8_t* out);
std::size_t system_reset(std::uint8_t* out);

// ---- What a board sends besides analog and digital messages. These write
// up to `cap` bytes and return the count, or 0 when it does not fit. ----

std::size_t version_report(int major, int minor, std::uint8_t* out, std::size_t cap);
std::size_t firmware_report(int major, int minor, std::string_view name, std::uint8_t* out,
                            std::size_t cap);
/// Pins 0..board.pin_count-1, each mode of `modes` with its resolution.
std::size_t capability_response(const Board& board, std::uint8_t* out, std::size_t cap);
/// Pins 0..board.mapping_count-1.
std::size_t analog_mapping_response(const Board& board, std::uint8_t* out, std::size_t cap);

// ---- Feedback (SPEC §3.4, §3.5) ----

/// The bytes for a feedback entry of kind firmata_digital, firmata_pwm or
/// firmata_servo (f.number the pin): `value` mapped from f.range onto the
/// pin's raw range, clamped and rounded: 0..255 for PWM, 0..180 degrees for
/// a servo; a digital pin is high from the middle of the range up. A digital
/// pin is written with set-digital-pin (Firmata 2.5: it needs no state of
/// the pin's port), PWM and servo with the analog message (extended analog
/// past pin 15). Returns the byte count, at most 6; 0 for other kinds and
/// for NaN. Any thread; allocation-free.
std::size_t encode_feedback(const Feedback& f, double value, std::uint8_t out[6]);

// ---- Decoder::feed ----

template <class OnMessage, class OnSysex>
void Decoder::feed(const std::uint8_t* bytes, std::size_t n, OnMessage&& on_message,
                   OnSysex&& on_sysex) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t b = bytes[i];
    if (b & 0x80) {
      if (in_sysex_) {
        in_sysex_ = false;
        if (b == kEndSysex) {
          if (sysex_overflow_) {
            ++sysex_dropped_;
          } else if (sysex_len_ == 0) {
            ++errors_;
          } else {
            ++messages_;
            on_sysex(sysex_[0], std::span<const std::uint8_t>(sysex_.get() + 1, sysex_len_ - 1));
          }
          continue;
        }
        ++sysex_dropped_;  // unterminated: b begins the next message
      } else if (status_ != 0) {
        ++errors_;  // a message cut short
        status_ = 0;
      }
      skipping_ = false;
      if (b == kStartSysex) {
        in_sysex_ = true;
        sysex_len_ = 0;
        sysex_overflow_ = false;
        continue;
      }
      const int need = data_length(b, end_);
      if (need < 0) {
        ++errors_;
        skipping_ = true;
        continue;
      }
      status_ = b;
      need_ = static_cast<std::uint8_t>(need);
      have_ = 0;
    } else if (in_sysex_) {
      if (sysex_len_ < kMaxSysex)
        sysex_[sysex_len_++] = b;
      else
        sysex_overflow_ = true;
      continue;
    } else if (status_ == 0) {
      if (!skipping_) ++errors_;  // no status asked for it (Firmata has no running status)
      skipping_ = true;
      continue;
    } else {
      data_[have_++] = b;
    }
    if (have_ < need_) continue;
    Message m;
    m.command = status_ < 0xF0 ? status_ & 0xF0 : status_;
    m.index = status_ < 0xF0 ? status_ & 0x0F : 0;
    m.size = have_;
    m.data[0] = have_ > 0 ? data_[0] : 0;
    m.data[1] = have_ > 1 ? data_[1] : 0;
    status_ = 0;
    ++messages_;
    on_message(static_cast<const Message&>(m));
  }
}

}  // namespace csb::firmata
