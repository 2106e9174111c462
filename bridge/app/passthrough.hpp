#pragma once
// Passthrough notes (SPEC §3): a `passthrough` device's MIDI messages go to
// Csound's MIDI input, and what each of its ports holds down (notes,
// sustain) is remembered, so that a port that goes away leaves no note
// hanging. Loop thread.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/midi.hpp"
#include "core/note_set.hpp"

namespace csb {

class Passthrough {
 public:
  /// Hands one message to Csound's MIDI input (Engine::push_midi).
  using ToCsound = std::function<void(const MidiMessage&)>;

  explicit Passthrough(ToCsound to_csound) : to_csound_(std::move(to_csound)) {}

  /// Passes a message of port `port` of device `device` to Csound.
  void pass(std::uint32_t device, std::uint32_t port, const MidiMessage& m);
  /// The port went away: ends the notes and the sustain it held (`name`: the
  /// device's, for the log).
  void release(std::uint32_t device, std::uint32_t port, const std::string& name);
  /// A configuration of `devices` devices (at the start, and after a
  /// reload: what the ports held belongs to the devices closed). Made here,
  /// so the message path allocates nothing.
  void reset(std::size_t devices);

 private:
  static std::size_t slot(std::uint32_t device, std::uint32_t port);

  ToCsound to_csound_;
  std::vector<NoteSet> held_;  ///< by slot(device, port)
};

}  // namespace csb
