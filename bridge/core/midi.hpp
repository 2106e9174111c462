#pragma once
// MIDI 1.0 bytes (SPEC §3.1, §3.4): one decoded message, a byte-stream decoder
// for serial `format: midi` ports (and anything else that hands over bytes in
// arbitrary pieces), and the encoder for MIDI feedback. Pure: no device I/O,
// no allocation after construction. Not thread-safe: each object has one owner.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/config.hpp"

namespace csb {

/// Status bytes (and the high nibble of channel voice statuses).
namespace midi {
inline constexpr std::uint8_t kNoteOff = 0x80;
inline constexpr std::uint8_t kNoteOn = 0x90;
inline constexpr std::uint8_t kPolyTouch = 0xA0;
inline constexpr std::uint8_t kControlChange = 0xB0;
inline constexpr std::uint8_t kProgramChange = 0xC0;
inline constexpr std::uint8_t kChannelTouch = 0xD0;
inline constexpr std::uint8_t kPitchBend = 0xE0;
inline constexpr std::uint8_t kSysexStart = 0xF0;
inline constexpr std::uint8_t kTimeCode = 0xF1;
inline constexpr std::uint8_t kSongPosition = 0xF2;
inline constexpr std::uint8_t kSongSelect = 0xF3;
inline constexpr std::uint8_t kTuneRequest = 0xF6;
inline constexpr std::uint8_t kSysexEnd = 0xF7;
inline constexpr std::uint8_t kClock = 0xF8;
inline constexpr std::uint8_t kStart = 0xFA;
inline constexpr std::uint8_t kContinue = 0xFB;
inline constexpr std::uint8_t kStop = 0xFC;
inline constexpr std::uint8_t kActiveSensing = 0xFE;
inline constexpr std::uint8_t kReset = 0xFF;
}  // namespace midi

/// Data bytes that follow a status byte: 0..2 for channel voice, system
/// common and realtime statuses; -1 for sysex (F0, F7), undefined statuses
/// (F4 F5 F9 FD) and data bytes (< 0x80).
int midi_data_length(std::uint8_t status);

/// One complete channel voice, system common or realtime message (not sysex).
struct MidiMessage {
  std::uint8_t data[3] = {0, 0, 0};
  std::uint8_t size = 0;  ///< bytes used in data, 1..3 (0 for an empty message)

  /// A message from its status and data bytes; size follows from the status.
  static MidiMessage make(std::uint8_t status, std::uint8_t d1 = 0, std::uint8_t d2 = 0);
  /// A message from a complete packet (as RtMidi hands them over): false for
  /// sysex, undefined statuses, a wrong length, or data bytes >= 0x80.
  static bool from_bytes(const std::uint8_t* bytes, std::size_t n, MidiMessage& out);

  std::uint8_t status() const { return data[0]; }
  /// The high nibble (0x80..0xE0) for channel voice messages, the whole
  /// status byte (0xF1..0xFF) for system messages.
  std::uint8_t type() const { return data[0] < 0xF0 ? data[0] & 0xF0 : data[0]; }
  /// MIDI channel 1..16 for channel voice messages, 0 for system messages.
  int channel() const { return is_channel_voice() ? (data[0] & 0x0F) + 1 : 0; }
  /// The same 0-based, as Config holds channels: 0..15 for channel voice
  /// messages, -1 for system messages.
  int channel_index() const { return channel() - 1; }
  std::uint8_t data1() const { return data[1]; }
  std::uint8_t data2() const { return data[2]; }
  /// Pitch bend: the 14-bit value centred on 0, -8192..8191.
  int bend() const { return ((data[2] << 7) | data[1]) - 8192; }

  bool is_channel_voice() const { return data[0] >= 0x80 && data[0] < 0xF0; }
  bool is_system_common() const { return data[0] > 0xF0 && data[0] < 0xF8; }
  bool is_realtime() const { return data[0] >= 0xF8; }
  /// The byte count matches the status (what the router relies on).
  bool well_formed() const;

  friend bool operator==(const MidiMessage& a, const MidiMessage& b) {
    if (a.size != b.size) return false;
    for (std::uint8_t i = 0; i < a.size; ++i)
      if (a.data[i] != b.data[i]) return false;
    return true;
  }
};

/// Decodes a MIDI 1.0 byte stream fed in any split (a DIN port on a UART,
/// USB-serial adapters that deliver one byte per read):
/// - running status: data bytes after a complete channel voice message reuse its status;
/// - realtime bytes (F8..FF) may come anywhere, even inside another message
///   or a sysex; they are emitted at once and disturb nothing;
/// - system common messages (F1 F2 F3 F6) and sysex cancel running status;
/// - sysex (F0 .. F7) is collected up to kMaxSysex bytes, F0 and F7 included,
///   and emitted whole; a longer one, or one cut short by another status
///   byte, is dropped and counted in sysex_dropped();
/// - undefined statuses (F4 F5 F9 FD), a stray F7, data bytes with no status
///   to go with, and a message cut short by a status byte are dropped and
///   counted in errors().
/// Memory is bounded; nothing is allocated after construction.
class MidiDecoder {
 public:
  static constexpr std::size_t kMaxSysex = 4096;

  /// Allocates the sysex buffer. May throw std::bad_alloc.
  MidiDecoder();

  /// Decodes n bytes; calls on_message(const MidiMessage&) for each message
  /// and on_sysex(std::span<const std::uint8_t>) for each whole sysex (the
  /// bytes F0..F7, valid only during the call), in stream order.
  template <class OnMessage, class OnSysex>
  void feed(const std::uint8_t* bytes, std::size_t n, OnMessage&& on_message, OnSysex&& on_sysex);

  /// Forgets running status and any partial message or sysex (after a disconnect).
  void reset();

  std::uint64_t messages() const { return messages_; }  ///< messages and sysex emitted
  std::uint64_t errors() const { return errors_; }
  std::uint64_t sysex_dropped() const { return sysex_dropped_; }

 private:
  /// A status byte (0x80..0xF7) arrives: ends the sysex or partial message in progress.
  /// Returns true when the byte completed a sysex (to emit).
  bool begin_status(std::uint8_t b);

  std::unique_ptr<std::uint8_t[]> sysex_;
  std::size_t sysex_len_ = 0;
  bool in_sysex_ = false;
  bool sysex_overflow_ = false;
  std::uint8_t status_ = 0;  // the message being collected, or running status; 0 = none
  std::uint8_t need_ = 0;    // data bytes status_ takes
  std::uint8_t have_ = 0;    // data bytes collected so far
  bool partial_ = false;     // a status or data bytes arrived and the message is not complete
  std::uint8_t data_[2] = {0, 0};
  std::uint64_t messages_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t sysex_dropped_ = 0;
};

template <class OnMessage, class OnSysex>
void MidiDecoder::feed(const std::uint8_t* bytes, std::size_t n, OnMessage&& on_message,
                       OnSysex&& on_sysex) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t b = bytes[i];
    if (b >= 0xF8) {
      if (b == 0xF9 || b == 0xFD) {
        ++errors_;
        continue;
      }
      ++messages_;
      on_message(MidiMessage::make(b));
      continue;
    }
    if (b & 0x80) {
      if (begin_status(b)) {
        ++messages_;
        on_sysex(std::span<const std::uint8_t>(sysex_.get(), sysex_len_));
        continue;
      }
      if (need_ == 0 && status_ != 0) {  // tune request: complete on its own
        ++messages_;
        on_message(MidiMessage::make(status_));
        status_ = 0;
        partial_ = false;
      }
      continue;
    }
    if (in_sysex_) {
      // Room is kept for the closing F7.
      if (sysex_len_ < kMaxSysex - 1)
        sysex_[sysex_len_++] = b;
      else
        sysex_overflow_ = true;
      continue;
    }
    if (status_ == 0) {
      ++errors_;  // a data byte with no status to go with
      continue;
    }
    data_[have_++] = b;
    partial_ = true;
    if (have_ < need_) continue;
    ++messages_;
    on_message(MidiMessage::make(status_, data_[0], have_ > 1 ? data_[1] : 0));
    have_ = 0;
    partial_ = false;
    if (status_ >= 0xF0) status_ = 0;  // system common messages leave no running status
  }
}

/// The MIDI bytes for a feedback entry (FeedbackKind midi_cc, midi_cc14,
/// midi_note; f.midi_channel is 0-based): `value` mapped from f.range onto 0..127
/// (0..16383 for cc14), clamped and rounded. cc14 sends the MSB on cc N and
/// the LSB on cc N+32 (6 bytes); note sends a note-on whose velocity is the
/// value (velocity 0 is note-off). Returns the byte count: 0 for other kinds
/// and for NaN. Any thread; allocation-free.
std::size_t encode_feedback(const Feedback& f, double value, std::uint8_t out[6]);

}  // namespace csb
