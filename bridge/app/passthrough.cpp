#include "app/passthrough.hpp"

#include <spdlog/spdlog.h>

#include "core/router.hpp"

namespace csb {

Passthrough::Held& Passthrough::held(std::uint32_t device, std::uint32_t port) {
  std::size_t i = std::size_t{device} * Router::kMaxMidiPorts + port % Router::kMaxMidiPorts;
  if (i >= held_.size()) held_.resize(i + 1);
  return held_[i];
}

void Passthrough::pass(std::uint32_t device, std::uint32_t port, const MidiMessage& m) {
  Held& h = held(device, port);
  const int c = m.channel() - 1;
  switch (m.type()) {
    case midi::kNoteOn:
    case midi::kNoteOff: {
      const std::uint64_t bit = std::uint64_t{1} << (m.data1() % 64);
      if (m.type() == midi::kNoteOn && m.data2() > 0)
        h.notes[c][m.data1() / 64] |= bit;
      else
        h.notes[c][m.data1() / 64] &= ~bit;
      break;
    }
    case midi::kControlChange:
      if (m.data1() == 64) {
        if (m.data2() >= 64)
          h.sustain |= static_cast<std::uint16_t>(1u << c);
        else
          h.sustain &= static_cast<std::uint16_t>(~(1u << c));
      }
      break;
    default:
      break;
  }
  engine_.push_midi(m);
}

void Passthrough::release(std::uint32_t device, std::uint32_t port, const std::string& name) {
  std::size_t i = std::size_t{device} * Router::kMaxMidiPorts + port % Router::kMaxMidiPorts;
  if (i >= held_.size()) return;
  Held& h = held_[i];
  int released = 0;
  for (int c = 0; c < 16; ++c) {
    for (int w = 0; w < 2; ++w)
      for (std::uint64_t bits = h.notes[c][w]; bits; bits &= bits - 1, ++released)
        engine_.push_midi(
            MidiMessage::make(static_cast<std::uint8_t>(midi::kNoteOff | c),
                              static_cast<std::uint8_t>(w * 64 + __builtin_ctzll(bits)), 0));
    if (h.sustain >> c & 1)
      engine_.push_midi(
          MidiMessage::make(static_cast<std::uint8_t>(midi::kControlChange | c), 64, 0));
  }
  if (released > 0 || h.sustain)
    spdlog::info("device {}: {} held note(s) ended as its port went away", name, released);
  h = Held{};
}

}  // namespace csb
