#include "core/midi.hpp"

#include <algorithm>
#include <cmath>

#include "core/scaling.hpp"

namespace csb {

int midi_data_length(std::uint8_t status) {
  if (status < 0x80) return -1;
  if (status < 0xF0) {
    switch (status & 0xF0) {
      case midi::kProgramChange:
      case midi::kChannelTouch:
        return 1;
      default:
        return 2;
    }
  }
  switch (status) {
    case midi::kTimeCode:
    case midi::kSongSelect:
      return 1;
    case midi::kSongPosition:
      return 2;
    case midi::kTuneRequest:
    case midi::kClock:
    case 0xFA:
    case 0xFB:
    case 0xFC:
    case midi::kActiveSensing:
    case midi::kReset:
      return 0;
    default:  // F0 F7 (sysex), F4 F5 F9 FD (undefined)
      return -1;
  }
}

MidiMessage MidiMessage::make(std::uint8_t status, std::uint8_t d1, std::uint8_t d2) {
  MidiMessage m;
  m.data[0] = status;
  int len = midi_data_length(status);
  if (len >= 1) m.data[1] = d1;
  if (len >= 2) m.data[2] = d2;
  m.size = static_cast<std::uint8_t>(1 + std::max(len, 0));
  return m;
}

bool MidiMessage::from_bytes(const std::uint8_t* bytes, std::size_t n, MidiMessage& out) {
  if (n == 0) return false;
  int len = midi_data_length(bytes[0]);
  if (len < 0 || n != static_cast<std::size_t>(len) + 1) return false;
  for (std::size_t i = 1; i < n; ++i)
    if (bytes[i] & 0x80) return false;
  out = make(bytes[0], n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0);
  return true;
}

bool MidiMessage::well_formed() const {
  int len = midi_data_length(data[0]);
  if (len < 0 || size != len + 1) return false;
  for (int i = 1; i < size; ++i)
    if (data[i] & 0x80) return false;
  return true;
}

MidiDecoder::MidiDecoder() : sysex_(new std::uint8_t[kMaxSysex]) {}

void MidiDecoder::reset() {
  sysex_len_ = 0;
  in_sysex_ = false;
  sysex_overflow_ = false;
  status_ = 0;
  need_ = 0;
  have_ = 0;
  partial_ = false;
}

bool MidiDecoder::begin_status(std::uint8_t b) {
  if (in_sysex_) {
    in_sysex_ = false;
    if (b == midi::kSysexEnd) {
      if (sysex_overflow_) {
        ++sysex_dropped_;
        return false;
      }
      sysex_[sysex_len_++] = b;
      return true;
    }
    ++sysex_dropped_;  // cut short by another status byte, which is then read as usual
  } else if (partial_) {
    ++errors_;  // the incomplete message is dropped
  }
  partial_ = false;
  have_ = 0;
  if (b == midi::kSysexStart) {
    in_sysex_ = true;
    sysex_overflow_ = false;
    sysex_[0] = b;
    sysex_len_ = 1;
    status_ = 0;
    return false;
  }
  int len = midi_data_length(b);
  if (len < 0) {
    // F4, F5 or a stray F7: undefined, and like any system common status
    // they end running status, so the data bytes after them are not misread.
    ++errors_;
    status_ = 0;
    return false;
  }
  status_ = b;
  need_ = static_cast<std::uint8_t>(len);
  partial_ = len > 0;
  return false;
}

std::size_t encode_feedback(const Feedback& f, double value, std::uint8_t out[6]) {
  if (std::isnan(value)) return 0;
  const double x = feedback_position(f, value);
  const auto status_ch = static_cast<std::uint8_t>(std::clamp(f.midi_channel, 0, 15));
  const auto number = static_cast<std::uint8_t>(f.number & 0x7F);
  switch (f.kind) {
    case FeedbackKind::midi_cc:
    case FeedbackKind::midi_note: {
      auto v = static_cast<std::uint8_t>(std::lround(x * 127.0));
      std::uint8_t status = f.kind == FeedbackKind::midi_cc ? midi::kControlChange : midi::kNoteOn;
      out[0] = status | status_ch;
      out[1] = number;
      out[2] = v;
      return 3;
    }
    case FeedbackKind::midi_cc14: {
      auto v = static_cast<unsigned>(std::lround(x * 16383.0));
      out[0] = midi::kControlChange | status_ch;
      out[1] = static_cast<std::uint8_t>(f.number & 0x1F);
      out[2] = static_cast<std::uint8_t>(v >> 7);
      out[3] = midi::kControlChange | status_ch;
      out[4] = static_cast<std::uint8_t>((f.number & 0x1F) + 32);
      out[5] = static_cast<std::uint8_t>(v & 0x7F);
      return 6;
    }
    default:
      return 0;
  }
}

}  // namespace csb
