#pragma once
// The kinds of source a mapping's `from:` names (SPEC §3.1,
// docs/configuration.md "Sources"), and one table of what each is: its word
// in the config, whether it takes a number and up to which, its raw range,
// whether it has a MIDI channel and whether it has a rising edge. The
// loader, the router and the scaling read these properties here, not from
// switch statements of their own.
//
// Pure, constexpr; any thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace csb {

/// Pins a `format: firmata` source can name: A0..A15, D0..D53.
inline constexpr int kFirmataAnalogPins = 16;
inline constexpr int kFirmataDigitalPins = 54;

enum class SourceKind {
  // MIDI (kind midi, or serial format midi)
  cc,
  cc14,
  nrpn,
  rpn,
  note,
  polytouch,
  aftertouch,
  program,
  bend,
  clock,
  // serial format lines
  named,       ///< `NAME`
  positional,  ///< `INDEX` (0-based) — lo..hi hold the index range
  wildcard,    ///< `*`: every named value
  // serial format firmata
  analog,   ///< A0..A15 — lo..hi hold the pin range
  digital,  ///< D0..D53
};

/// Which devices a source kind is read from.
enum class SourceFamily : std::uint8_t {
  midi,     ///< MIDI ports and serial `format: midi`
  lines,    ///< serial `format: lines`
  firmata,  ///< serial `format: firmata`
};

/// What one source kind is.
struct SourceKindInfo {
  SourceKind kind;
  SourceFamily family;
  /// Its word in `from:` (`cc`, `note`, ...); empty for the lines and
  /// firmata kinds, which are written as a name, an index, `*` or a pin.
  std::string_view word;
  /// What messages call it: the word, or `named value`, `analog pin`, ...
  std::string_view description;
  /// The highest number it takes (cc 0..127, a pin, an index); -1 when it
  /// takes none.
  int max_number;
  /// Whether it has a raw range, the `in:` it defaults to; without one
  /// (clock's BPM, lines values) the value passes as read unless `in:` says.
  bool has_raw_range;
  double raw_lo, raw_hi;
  /// Whether it has a MIDI channel (`ch N`, `{ch}`).
  bool has_channel;
  /// Whether it has a rising edge, so `do:` and `score:` can fire on it
  /// (SPEC §3.2): a note-on, a cc rising through 64, any program change, a
  /// lines trigger word or value rising through 0.5, a firmata digital pin.
  bool rising_edge;

  /// Whether it takes a number or range (`cc 7`, `A0..A5`, `2..4`).
  constexpr bool takes_number() const { return max_number >= 0; }
};

/// Every source kind, in the order of SourceKind.
inline constexpr std::array<SourceKindInfo, 15> kSourceKinds{{
    // kind, family, word, description, max number, raw range, channel, edge
    {SourceKind::cc, SourceFamily::midi, "cc", "cc", 127, true, 0, 127, true, true},
    {SourceKind::cc14, SourceFamily::midi, "cc14", "cc14", 31, true, 0, 16383, true, false},
    {SourceKind::nrpn, SourceFamily::midi, "nrpn", "nrpn", 16383, true, 0, 16383, true, false},
    {SourceKind::rpn, SourceFamily::midi, "rpn", "rpn", 16383, true, 0, 16383, true, false},
    {SourceKind::note, SourceFamily::midi, "note", "note", 127, true, 0, 127, true, true},
    {SourceKind::polytouch, SourceFamily::midi, "polytouch", "polytouch", 127, true, 0, 127, true,
     false},
    {SourceKind::aftertouch, SourceFamily::midi, "aftertouch", "aftertouch", -1, true, 0, 127, true,
     false},
    {SourceKind::program, SourceFamily::midi, "program", "program", -1, true, 0, 127, true, true},
    // -8192 maps to 0 and 0 to exactly the middle, so a centred wheel reads 0.
    {SourceKind::bend, SourceFamily::midi, "bend", "bend", -1, true, -8192, 8192, true, false},
    // BPM passes as measured unless `in` is given.
    {SourceKind::clock, SourceFamily::midi, "clock", "clock", -1, false, 0, 0, false, false},
    {SourceKind::named, SourceFamily::lines, "", "named value", -1, false, 0, 0, false, true},
    {SourceKind::positional, SourceFamily::lines, "", "positional value", 65535, false, 0, 0, false,
     true},
    {SourceKind::wildcard, SourceFamily::lines, "", "wildcard '*'", -1, false, 0, 0, false, false},
    {SourceKind::analog, SourceFamily::firmata, "", "analog pin", kFirmataAnalogPins - 1, true, 0,
     1023, false, false},
    {SourceKind::digital, SourceFamily::firmata, "", "digital pin", kFirmataDigitalPins - 1, true,
     0, 1, false, true},
}};

static_assert(
    [] {
      for (std::size_t i = 0; i < kSourceKinds.size(); ++i)
        if (static_cast<std::size_t>(kSourceKinds[i].kind) != i) return false;
      return static_cast<std::size_t>(SourceKind::digital) + 1 == kSourceKinds.size();
    }(),
    "kSourceKinds holds every SourceKind, in order");

/// What `kind` is.
constexpr const SourceKindInfo& source_kind_info(SourceKind kind) {
  return kSourceKinds[static_cast<std::size_t>(kind)];
}

/// The MIDI source kind whose word `word` is; nullptr when none is.
constexpr const SourceKindInfo* find_midi_source(std::string_view word) {
  for (const SourceKindInfo& s : kSourceKinds)
    if (s.family == SourceFamily::midi && s.word == word) return &s;
  return nullptr;
}

/// The config word of a MIDI source kind (`cc`, `cc14`, `nrpn`, `rpn`,
/// `note`, `polytouch`, `aftertouch`, `program`, `bend`, `clock`); nullptr
/// for the other kinds.
constexpr const char* midi_source_word(SourceKind kind) {
  const SourceKindInfo& s = source_kind_info(kind);
  return s.family == SourceFamily::midi ? s.word.data() : nullptr;
}

}  // namespace csb
