// The table of source kinds: each kind's word, numbers, raw range, MIDI
// channel and rising edge, as SPEC §3.1/§3.2 and docs/configuration.md
// state them.

#include "core/source_kind.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace csb {
namespace {

struct Expected {
  SourceKind kind;
  SourceFamily family;
  const char* word;
  int max_number;
  bool raw;
  double lo, hi;
  bool channel, edge;
};

// Written out from the documentation, not from the table.
constexpr Expected kExpected[] = {
    {SourceKind::cc, SourceFamily::midi, "cc", 127, true, 0, 127, true, true},
    {SourceKind::cc14, SourceFamily::midi, "cc14", 31, true, 0, 16383, true, false},
    {SourceKind::nrpn, SourceFamily::midi, "nrpn", 16383, true, 0, 16383, true, false},
    {SourceKind::rpn, SourceFamily::midi, "rpn", 16383, true, 0, 16383, true, false},
    {SourceKind::note, SourceFamily::midi, "note", 127, true, 0, 127, true, true},
    {SourceKind::polytouch, SourceFamily::midi, "polytouch", 127, true, 0, 127, true, false},
    {SourceKind::aftertouch, SourceFamily::midi, "aftertouch", -1, true, 0, 127, true, false},
    {SourceKind::program, SourceFamily::midi, "program", -1, true, 0, 127, true, true},
    {SourceKind::bend, SourceFamily::midi, "bend", -1, true, -8192, 8192, true, false},
    {SourceKind::clock, SourceFamily::midi, "clock", -1, false, 0, 0, false, false},
    {SourceKind::named, SourceFamily::lines, "", -1, false, 0, 0, false, true},
    {SourceKind::positional, SourceFamily::lines, "", 65535, false, 0, 0, false, true},
    {SourceKind::wildcard, SourceFamily::lines, "", -1, false, 0, 0, false, false},
    {SourceKind::analog, SourceFamily::firmata, "", 15, true, 0, 1023, false, false},
    {SourceKind::digital, SourceFamily::firmata, "", 53, true, 0, 1, false, true},
};

TEST(SourceKinds, EveryKindAsDocumented) {
  ASSERT_EQ(std::size(kExpected), kSourceKinds.size());
  for (const Expected& e : kExpected) {
    const SourceKindInfo& k = source_kind_info(e.kind);
    SCOPED_TRACE(std::string(k.description));
    EXPECT_EQ(k.kind, e.kind);
    EXPECT_EQ(k.family, e.family);
    EXPECT_EQ(k.word, e.word);
    EXPECT_EQ(k.max_number, e.max_number);
    EXPECT_EQ(k.takes_number(), e.max_number >= 0);
    EXPECT_EQ(k.has_raw_range, e.raw);
    if (e.raw) {
      EXPECT_EQ(k.raw_lo, e.lo);
      EXPECT_EQ(k.raw_hi, e.hi);
    }
    EXPECT_EQ(k.has_channel, e.channel);
    EXPECT_EQ(k.rising_edge, e.edge);
  }
}

TEST(SourceKinds, MidiWordsFindTheirKindAndNothingElseDoes) {
  for (const SourceKindInfo& k : kSourceKinds) {
    if (k.family != SourceFamily::midi) {
      EXPECT_EQ(midi_source_word(k.kind), nullptr) << k.description;
      continue;
    }
    ASSERT_NE(find_midi_source(k.word), nullptr) << k.word;
    EXPECT_EQ(find_midi_source(k.word)->kind, k.kind);
    EXPECT_EQ(std::string(midi_source_word(k.kind)), k.word);
    EXPECT_EQ(k.description, k.word);  // messages say a MIDI source by its word
  }
  for (const char* w : {"", "CC", "notes", "named value", "analog pin", "A0", "*", "pitchbend"})
    EXPECT_EQ(find_midi_source(w), nullptr) << w;
}

TEST(SourceKinds, DescriptionsAreDistinct) {
  std::set<std::string_view> seen;
  for (const SourceKindInfo& k : kSourceKinds) {
    EXPECT_FALSE(k.description.empty());
    EXPECT_TRUE(seen.insert(k.description).second) << k.description;
  }
  EXPECT_EQ(source_kind_info(SourceKind::named).description, "named value");
  EXPECT_EQ(source_kind_info(SourceKind::wildcard).description, "wildcard '*'");
  EXPECT_EQ(source_kind_info(SourceKind::digital).description, "digital pin");
}

TEST(SourceKinds, FirmataPinsAreThePinsASourceNames) {
  EXPECT_EQ(source_kind_info(SourceKind::analog).max_number, kFirmataAnalogPins - 1);
  EXPECT_EQ(source_kind_info(SourceKind::digital).max_number, kFirmataDigitalPins - 1);
}

}  // namespace
}  // namespace csb
