// NoteSet: what a passthrough input holds down, and the messages that let go
// of it when the input goes away (as Passthrough::release sends them).

#include "core/note_set.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace csb {
namespace {

using Bytes = std::vector<std::uint8_t>;

MidiMessage msg(std::uint8_t status, std::uint8_t d1 = 0, std::uint8_t d2 = 0) {
  return MidiMessage::make(status, d1, d2);
}

/// Every release message, its bytes one after another.
Bytes releases(const NoteSet& s) {
  Bytes out;
  s.for_each_release([&](const MidiMessage& m) { out.insert(out.end(), m.data, m.data + m.size); });
  return out;
}

TEST(NoteSet, NoteOnHoldsNoteOffAndVelocityZeroLetGo) {
  NoteSet s;
  EXPECT_TRUE(s.empty());
  s.feed(msg(0x90, 60, 100));
  s.feed(msg(0x92, 127, 1));
  s.feed(msg(0x92, 0, 1));
  EXPECT_TRUE(s.holds(0, 60));
  EXPECT_TRUE(s.holds(2, 127));
  EXPECT_TRUE(s.holds(2, 0));
  EXPECT_FALSE(s.holds(1, 60));
  EXPECT_EQ(s.note_count(), 3);
  s.feed(msg(0x80, 60, 64));  // note-off
  s.feed(msg(0x92, 127, 0));  // note-on with velocity 0: running-status senders' note-off
  EXPECT_FALSE(s.holds(0, 60));
  EXPECT_FALSE(s.holds(2, 127));
  EXPECT_EQ(s.note_count(), 1);
  s.feed(msg(0x82, 0, 0));
  EXPECT_TRUE(s.empty());
}

TEST(NoteSet, SustainHeldFrom64) {
  NoteSet s;
  s.feed(msg(0xB0, 64, 63));
  EXPECT_FALSE(s.sustained(0));
  s.feed(msg(0xB0, 64, 64));
  s.feed(msg(0xBF, 64, 127));
  EXPECT_TRUE(s.sustained(0));
  EXPECT_TRUE(s.sustained(15));
  EXPECT_EQ(s.sustain_count(), 2);
  EXPECT_FALSE(s.empty());
  s.feed(msg(0xB0, 64, 0));
  EXPECT_FALSE(s.sustained(0));
  EXPECT_EQ(s.sustain_count(), 1);
}

TEST(NoteSet, OtherMessagesChangeNothing) {
  NoteSet s;
  for (const MidiMessage& m :
       {msg(0xB0, 7, 100), msg(0xB0, 65, 127), msg(0xA0, 60, 50), msg(0xC0, 5), msg(0xD0, 80),
        msg(0xE0, 0, 64), msg(0xF8), msg(0xFA), msg(0xF2, 1, 2)})
    s.feed(m);
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(releases(s).empty());
}

TEST(NoteSet, ReleasesChannelByChannelNotesLowToHighThenSustain) {
  NoteSet s;
  s.feed(msg(0x92, 70, 90));  // channel 3
  s.feed(msg(0xB2, 64, 127));
  s.feed(msg(0x90, 64, 10));  // channel 1: fed high to low, across the two words
  s.feed(msg(0x90, 63, 10));
  s.feed(msg(0x90, 5, 10));
  s.feed(msg(0xB9, 64, 100));                                          // channel 10: sustain only
  EXPECT_EQ(releases(s), (Bytes{0x80, 5, 0, 0x80, 63, 0, 0x80, 64, 0,  // channel 1
                                0x82, 70, 0, 0xB2, 64, 0,              // channel 3
                                0xB9, 64, 0}));                        // channel 10
  EXPECT_EQ(s.note_count(), 4);                                        // listing lets go of nothing
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(releases(s).empty());
}

TEST(NoteSet, EverythingHeldIsAtMostMaxReleases) {
  NoteSet s;
  for (int c = 0; c < 16; ++c) {
    for (int n = 0; n < 128; ++n)
      s.feed(msg(static_cast<std::uint8_t>(0x90 | c), static_cast<std::uint8_t>(n), 1));
    s.feed(msg(static_cast<std::uint8_t>(0xB0 | c), 64, 64));
  }
  int count = 0, notes = 0;
  s.for_each_release([&](const MidiMessage& m) {
    ++count;
    notes += m.type() == midi::kNoteOff && m.data2() == 0;
  });
  EXPECT_EQ(count, NoteSet::kMaxReleases);
  EXPECT_EQ(notes, 16 * 128);
  EXPECT_EQ(s.note_count(), 16 * 128);
  EXPECT_EQ(s.sustain_count(), 16);
}

}  // namespace
}  // namespace csb
