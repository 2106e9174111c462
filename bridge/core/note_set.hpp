#pragma once
// What a MIDI input holds down in whatever it plays into: the notes sounding
// on each channel and each channel's sustain pedal (CC64). Fed the messages
// that pass; when the input goes away, it lists the messages that let go of
// everything it holds, so no note hangs (SPEC §3.1, passthrough).
//
// Pure and allocation-free. Not thread-safe: one owner (the loop thread for
// passthrough ports).

#include <bit>
#include <cstdint>

#include "core/midi.hpp"

namespace csb {

class NoteSet {
 public:
  /// The most messages for_each_release gives: every note of every channel,
  /// and a sustain-off per channel.
  static constexpr int kMaxReleases = 16 * 128 + 16;

  /// Takes what `m` does to what is held: a note-on with a velocity above 0
  /// holds its note, a note-off or a note-on with velocity 0 lets it go;
  /// CC64 at 64 or above holds the channel's sustain, below 64 lets it go.
  /// Any other message (and a data byte above 127) changes nothing.
  void feed(const MidiMessage& m) {
    const std::uint8_t type = m.type();
    const int c = m.channel_index();
    if (c < 0 || m.data1() > 127) return;
    switch (type) {
      case midi::kNoteOn:
      case midi::kNoteOff: {
        const std::uint64_t bit = std::uint64_t{1} << (m.data1() % 64);
        if (type == midi::kNoteOn && m.data2() > 0)
          notes_[c][m.data1() / 64] |= bit;
        else
          notes_[c][m.data1() / 64] &= ~bit;
        break;
      }
      case midi::kControlChange:
        if (m.data1() != 64) break;
        if (m.data2() >= 64)
          sustain_ |= static_cast<std::uint16_t>(1u << c);
        else
          sustain_ &= static_cast<std::uint16_t>(~(1u << c));
        break;
      default:
        break;
    }
  }

  /// Whether note 0..127 sounds on channel 0..15.
  bool holds(int channel, int note) const {
    return (notes_[channel][note / 64] >> (note % 64) & 1) != 0;
  }
  /// Whether channel 0..15 holds its sustain pedal down.
  bool sustained(int channel) const { return (sustain_ >> channel & 1) != 0; }
  /// The notes held, on every channel.
  int note_count() const {
    int n = 0;
    for (const auto& words : notes_) n += std::popcount(words[0]) + std::popcount(words[1]);
    return n;
  }
  /// The channels whose sustain is held.
  int sustain_count() const { return std::popcount(sustain_); }
  /// Nothing is held.
  bool empty() const { return note_count() == 0 && sustain_ == 0; }

  /// Calls f(const MidiMessage&) with each message that lets go of what is
  /// held, in order: channel by channel from 1 to 16, its notes from low to
  /// high as note-offs of velocity 0, then its sustain-off (CC64 0) when it
  /// holds one. At most kMaxReleases calls. Holds on to everything: clear()
  /// once the messages are sent.
  template <class F>
  void for_each_release(F&& f) const {
    for (int c = 0; c < 16; ++c) {
      for (int w = 0; w < 2; ++w)
        for (std::uint64_t bits = notes_[c][w]; bits; bits &= bits - 1)
          f(MidiMessage::make(static_cast<std::uint8_t>(midi::kNoteOff | c),
                              static_cast<std::uint8_t>(w * 64 + std::countr_zero(bits)), 0));
      if (sustained(c))
        f(MidiMessage::make(static_cast<std::uint8_t>(midi::kControlChange | c), 64, 0));
    }
  }

  /// Holds nothing.
  void clear() { *this = NoteSet{}; }

 private:
  std::uint64_t notes_[16][2] = {};  // bit n % 64 of word n / 64: note n sounds
  std::uint16_t sustain_ = 0;        // bit c: CC64 down on channel c
};

}  // namespace csb
