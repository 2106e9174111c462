// MIDI bytes (SPEC §3.1, §3.4): the decoder is fed a byte stream in every
// split a serial port can produce, and the feedback encoder one value at a time.

#include "core/midi.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace csb {
namespace {

using Bytes = std::vector<std::uint8_t>;

/// What a decoder emitted: each message or sysex as its bytes, in order.
struct Decoded {
  std::vector<Bytes> items;
  std::uint64_t messages = 0, errors = 0, sysex_dropped = 0;
};

/// Feeds `bytes` in pieces cut at `cuts` (ascending offsets) into one decoder.
Decoded decode(const Bytes& bytes, const std::vector<std::size_t>& cuts = {}) {
  MidiDecoder d;
  Decoded out;
  auto on_message = [&](const MidiMessage& m) { out.items.emplace_back(m.data, m.data + m.size); };
  auto on_sysex = [&](std::span<const std::uint8_t> s) {
    out.items.emplace_back(s.begin(), s.end());
  };
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    d.feed(bytes.data() + at, cut - at, on_message, on_sysex);
    at = cut;
  }
  d.feed(bytes.data() + at, bytes.size() - at, on_message, on_sysex);
  out.messages = d.messages();
  out.errors = d.errors();
  out.sysex_dropped = d.sysex_dropped();
  return out;
}

// A stream as a keyboard with a sequencer on a DIN port sends it: running
// status everywhere (note-on velocity 0 for note-off), clock ticks in
// between, an identity-request sysex, system common messages and an NRPN
// written with running status on channel 2.
const Bytes kStream = {
    0x90, 0x3C, 0x64,                                      // note-on C4 100
    0x3E, 0x64,                                            // running status: note-on D4 100
    0xF8,                                                  // clock
    0x3C, 0x00,                                            // running status: note-on C4 0 (off)
    0xB0, 0x07, 0x7F,                                      // cc 7 127
    0x0A, 0x40,                                            // running status: cc 10 64
    0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7,                    // identity request
    0xC0, 0x05,                                            // program 5
    0xE0, 0x00, 0x40,                                      // bend centre
    0xD0, 0x30,                                            // aftertouch
    0xF2, 0x10, 0x20,                                      // song position
    0xF8, 0xFA,                                            // clock, start
    0x80, 0x3C, 0x40,                                      // note-off
    0xA0, 0x3C, 0x10,                                      // polytouch
    0xF1, 0x23,                                            // MTC quarter frame
    0xF6,                                                  // tune request
    0xB1, 0x63, 0x01, 0x62, 0x2C, 0x06, 0x10, 0x26, 0x00,  // NRPN 172 = 2048
    0xFE,                                                  // active sensing
};
const std::vector<Bytes> kStreamItems = {
    {0x90, 0x3C, 0x64},
    {0x90, 0x3E, 0x64},
    {0xF8},
    {0x90, 0x3C, 0x00},
    {0xB0, 0x07, 0x7F},
    {0xB0, 0x0A, 0x40},
    {0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7},
    {0xC0, 0x05},
    {0xE0, 0x00, 0x40},
    {0xD0, 0x30},
    {0xF2, 0x10, 0x20},
    {0xF8},
    {0xFA},
    {0x80, 0x3C, 0x40},
    {0xA0, 0x3C, 0x10},
    {0xF1, 0x23},
    {0xF6},
    {0xB1, 0x63, 0x01},
    {0xB1, 0x62, 0x2C},
    {0xB1, 0x06, 0x10},
    {0xB1, 0x26, 0x00},
    {0xFE},
};

// --- MidiDecoder: splits -------------------------------------------------------

TEST(MidiDecoder, WholeStream_GivesEveryMessage) {
  Decoded d = decode(kStream);
  EXPECT_EQ(d.items, kStreamItems);
  EXPECT_EQ(d.messages, kStreamItems.size());
  EXPECT_EQ(d.errors, 0u);
  EXPECT_EQ(d.sysex_dropped, 0u);
}

TEST(MidiDecoder, OneByteAtATime_SameMessages) {
  // A USB-serial adapter on a DIN port can deliver one byte per read.
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < kStream.size(); ++i) cuts.push_back(i);
  Decoded d = decode(kStream, cuts);
  EXPECT_EQ(d.items, kStreamItems);
  EXPECT_EQ(d.errors, 0u);
}

TEST(MidiDecoder, EveryTwoWaySplit_SameMessages) {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    Decoded d = decode(kStream, {cut});
    EXPECT_EQ(d.items, kStreamItems) << "cut at " << cut;
    EXPECT_EQ(d.errors, 0u) << "cut at " << cut;
  }
}

TEST(MidiDecoder, EveryThreeWaySplit_SameMessages) {
  for (std::size_t a = 0; a <= kStream.size(); ++a)
    for (std::size_t b = a; b <= kStream.size(); ++b)
      ASSERT_EQ(decode(kStream, {a, b}).items, kStreamItems) << "cuts at " << a << ", " << b;
}

// --- MidiDecoder: running status and realtime -----------------------------------

TEST(MidiDecoder, RunningStatus_ReusesLastChannelStatus) {
  Decoded d = decode({0x92, 0x3C, 0x64, 0x3E, 0x50, 0x40, 0x00, 0xC3, 0x01, 0x02});
  EXPECT_EQ(
      d.items,
      (std::vector<Bytes>{
          {0x92, 0x3C, 0x64}, {0x92, 0x3E, 0x50}, {0x92, 0x40, 0x00}, {0xC3, 0x01}, {0xC3, 0x02}}));
  EXPECT_EQ(d.errors, 0u);
}

TEST(MidiDecoder, RealtimeInsideNote_EmittedAtOnceNoteIntact) {
  // A clock between the bytes of a note: the clock comes out first, the note whole.
  Decoded d = decode({0x90, 0xF8, 0x3C, 0xFE, 0x64});
  EXPECT_EQ(d.items, (std::vector<Bytes>{{0xF8}, {0xFE}, {0x90, 0x3C, 0x64}}));
  EXPECT_EQ(d.errors, 0u);
}

TEST(MidiDecoder, RealtimeInRunningStatus_KeepsRunningStatus) {
  Decoded d = decode({0x90, 0x3C, 0x64, 0xF8, 0x3E, 0xFA, 0x64, 0xFC});
  EXPECT_EQ(d.items,
            (std::vector<Bytes>{{0x90, 0x3C, 0x64}, {0xF8}, {0xFA}, {0x90, 0x3E, 0x64}, {0xFC}}));
  EXPECT_EQ(d.errors, 0u);
}

TEST(MidiDecoder, RealtimeInsideSysex_EmittedAndNotPartOfSysex) {
  Decoded d = decode({0xF0, 0x43, 0xF8, 0x10, 0xFE, 0xF7});
  EXPECT_EQ(d.items, (std::vector<Bytes>{{0xF8}, {0xFE}, {0xF0, 0x43, 0x10, 0xF7}}));
  EXPECT_EQ(d.errors, 0u);
  EXPECT_EQ(d.sysex_dropped, 0u);
}

TEST(MidiDecoder, SystemCommon_CancelsRunningStatus) {
  // After a tune request, data bytes have no status: dropped and counted.
  Decoded d = decode({0x90, 0x3C, 0x64, 0xF6, 0x3E, 0x64});
  EXPECT_EQ(d.items, (std::vector<Bytes>{{0x90, 0x3C, 0x64}, {0xF6}}));
  EXPECT_EQ(d.errors, 2u);
}

TEST(MidiDecoder, Sysex_CancelsRunningStatus) {
  Decoded d = decode({0xB0, 0x07, 0x7F, 0xF0, 0x01, 0xF7, 0x07, 0x00});
  EXPECT_EQ(d.items, (std::vector<Bytes>{{0xB0, 0x07, 0x7F}, {0xF0, 0x01, 0xF7}}));
  EXPECT_EQ(d.errors, 2u);
}

// --- MidiDecoder: sysex bound ---------------------------------------------------

TEST(MidiDecoder, Sysex_AtBound_EmittedWhole) {
  Bytes s(MidiDecoder::kMaxSysex, 0x11);
  s.front() = 0xF0;
  s.back() = 0xF7;
  Decoded d = decode(s);
  ASSERT_EQ(d.items.size(), 1u);
  EXPECT_EQ(d.items[0], s);
  EXPECT_EQ(d.sysex_dropped, 0u);
}

TEST(MidiDecoder, Sysex_OverBound_DroppedAndCounted) {
  // One byte more than the bound: dropped whole, and the stream goes on.
  Bytes s(MidiDecoder::kMaxSysex + 1, 0x11);
  s.front() = 0xF0;
  s.back() = 0xF7;
  Bytes tail = {0x90, 0x3C, 0x64, 0xF0, 0x01, 0xF7};
  s.insert(s.end(), tail.begin(), tail.end());
  Decoded d = decode(s);
  EXPECT_EQ(d.items, (std::vector<Bytes>{{0x90, 0x3C, 0x64}, {0xF0, 0x01, 0xF7}}));
  EXPECT_EQ(d.sysex_dropped, 1u);
  EXPECT_EQ(d.errors, 0u);
}

TEST(MidiDecoder, Sysex_CutShortByStatus_DroppedAndStatusRead) {
  // A device unplugged mid-dump and plugged back: no F7, the next message starts.
  Decoded d = decode({0xF0, 0x01, 0x02, 0x90, 0x3C, 0x64});
  EXPECT_EQ(d.items, (std::vector<Bytes>{{0x90, 0x3C, 0x64}}));
  EXPECT_EQ(d.sysex_dropped, 1u);
}

// --- MidiDecoder: errors --------------------------------------------------------

TEST(MidiDecoder, StrayDataBytes_CountedAndSkipped) {
  // Joining a stream in the middle: data bytes before the first status.
  Decoded d = decode({0x3C, 0x64, 0x00, 0x90, 0x3C, 0x64});
  EXPECT_EQ(d.items, (std::vector<Bytes>{{0x90, 0x3C, 0x64}}));
  EXPECT_EQ(d.errors, 3u);
}

TEST(MidiDecoder, UndefinedStatus_CountedAndCancelsRunningStatus) {
  Decoded d = decode({0xF4, 0xF9, 0x90, 0x3C, 0x64, 0xF5, 0x3E, 0x64, 0xFD, 0xF7});
  EXPECT_EQ(d.items, (std::vector<Bytes>{{0x90, 0x3C, 0x64}}));
  // F4 F9 F5 FD and the stray F7, plus the two data bytes after F5.
  EXPECT_EQ(d.errors, 7u);
}

TEST(MidiDecoder, InterruptedMessage_PartialDroppedAndCounted) {
  Decoded d = decode({0x90, 0x3C, 0xB0, 0x07, 0x7F, 0xE0, 0xC1, 0x05});
  EXPECT_EQ(d.items, (std::vector<Bytes>{{0xB0, 0x07, 0x7F}, {0xC1, 0x05}}));
  EXPECT_EQ(d.errors, 2u);  // the half note, the bend with no data
}

TEST(MidiDecoder, Reset_ForgetsPartialMessageAndRunningStatus) {
  MidiDecoder d;
  std::vector<Bytes> items;
  auto on_message = [&](const MidiMessage& m) { items.emplace_back(m.data, m.data + m.size); };
  auto on_sysex = [&](std::span<const std::uint8_t> s) { items.emplace_back(s.begin(), s.end()); };
  const Bytes a = {0x90, 0x3C};
  d.feed(a.data(), a.size(), on_message, on_sysex);
  d.reset();
  const Bytes b = {0x64, 0x3E, 0x64};
  d.feed(b.data(), b.size(), on_message, on_sysex);
  EXPECT_TRUE(items.empty());
  EXPECT_EQ(d.errors(), 3u);
}

// --- MidiMessage ----------------------------------------------------------------

TEST(MidiMessage, Accessors_ChannelTypeData) {
  MidiMessage m = MidiMessage::make(0x9F, 0x3C, 0x64);
  EXPECT_EQ(m.size, 3);
  EXPECT_EQ(m.type(), midi::kNoteOn);
  EXPECT_EQ(m.channel(), 16);
  EXPECT_EQ(m.data1(), 0x3C);
  EXPECT_EQ(m.data2(), 0x64);
  EXPECT_TRUE(m.is_channel_voice());
  EXPECT_TRUE(m.well_formed());

  MidiMessage p = MidiMessage::make(0xC0, 5);
  EXPECT_EQ(p.size, 2);
  EXPECT_EQ(p.channel(), 1);
  EXPECT_EQ(p.type(), midi::kProgramChange);

  MidiMessage clock = MidiMessage::make(0xF8);
  EXPECT_EQ(clock.size, 1);
  EXPECT_EQ(clock.type(), midi::kClock);
  EXPECT_EQ(clock.channel(), 0);
  EXPECT_TRUE(clock.is_realtime());
  EXPECT_TRUE(MidiMessage::make(0xF2, 1, 2).is_system_common());
  EXPECT_EQ(MidiMessage::make(0xF2, 1, 2).size, 3);
}

TEST(MidiMessage, ChannelIndex_ZeroBasedAsConfigHoldsChannels) {
  EXPECT_EQ(MidiMessage::make(0x90, 60, 1).channel_index(), 0);
  EXPECT_EQ(MidiMessage::make(0xBF, 7, 1).channel_index(), 15);
  EXPECT_EQ(MidiMessage::make(0xE9, 0, 64).channel_index(), 9);
  EXPECT_EQ(MidiMessage::make(0xF8).channel_index(), -1);  // no channel
}

TEST(MidiMessage, Bend_CentredOnZero) {
  EXPECT_EQ(MidiMessage::make(0xE0, 0x00, 0x40).bend(), 0);
  EXPECT_EQ(MidiMessage::make(0xE0, 0x00, 0x00).bend(), -8192);
  EXPECT_EQ(MidiMessage::make(0xE0, 0x7F, 0x7F).bend(), 8191);
}

TEST(MidiMessage, FromBytes_RefusesWrongLengthAndSysex) {
  MidiMessage m;
  const std::uint8_t note[] = {0x91, 0x3C, 0x64};
  ASSERT_TRUE(MidiMessage::from_bytes(note, 3, m));
  EXPECT_EQ(m, MidiMessage::make(0x91, 0x3C, 0x64));
  EXPECT_FALSE(MidiMessage::from_bytes(note, 2, m));
  const std::uint8_t bad_data[] = {0x91, 0x3C, 0x80};
  EXPECT_FALSE(MidiMessage::from_bytes(bad_data, 3, m));
  const std::uint8_t sysex[] = {0xF0, 0x01, 0xF7};
  EXPECT_FALSE(MidiMessage::from_bytes(sysex, 3, m));
  const std::uint8_t undefined[] = {0xF4};
  EXPECT_FALSE(MidiMessage::from_bytes(undefined, 1, m));
  EXPECT_FALSE(MidiMessage::from_bytes(note, 0, m));
}

TEST(MidiMessage, WellFormed_SizeMustMatchStatus) {
  MidiMessage m = MidiMessage::make(0x90, 0x3C, 0x64);
  m.size = 2;
  EXPECT_FALSE(m.well_formed());
  MidiMessage empty;
  EXPECT_FALSE(empty.well_formed());
}

// --- encode_feedback ------------------------------------------------------------

/// A feedback entry `to: knobs KIND number ch C`, C as written (1..16).
Feedback feedback(FeedbackKind kind, int number, int ch, double lo = 0, double hi = 1) {
  Feedback f;
  f.channel = "level";
  f.device = "knobs";
  f.kind = kind;
  f.number = number;
  f.midi_channel = ch - 1;  // as the loader holds it
  f.range = {lo, hi};
  return f;
}

Bytes encode(const Feedback& f, double value) {
  std::uint8_t out[6] = {0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE};
  std::size_t n = encode_feedback(f, value, out);
  return Bytes(out, out + n);
}

TEST(EncodeFeedback, Cc_RangeOntoSevenBitsRounded) {
  Feedback f = feedback(FeedbackKind::midi_cc, 20, 1);
  EXPECT_EQ(encode(f, 0.0), (Bytes{0xB0, 20, 0}));
  EXPECT_EQ(encode(f, 1.0), (Bytes{0xB0, 20, 127}));
  EXPECT_EQ(encode(f, 0.5), (Bytes{0xB0, 20, 64}));   // 63.5 rounds up
  EXPECT_EQ(encode(f, 0.25), (Bytes{0xB0, 20, 32}));  // 31.75
}

TEST(EncodeFeedback, Cc_OutsideRangeClamped) {
  Feedback f = feedback(FeedbackKind::midi_cc, 20, 1, 100, 8000);
  EXPECT_EQ(encode(f, 50.0), (Bytes{0xB0, 20, 0}));
  EXPECT_EQ(encode(f, 9000.0), (Bytes{0xB0, 20, 127}));
  EXPECT_EQ(encode(f, INFINITY), (Bytes{0xB0, 20, 127}));
  EXPECT_EQ(encode(f, 4050.0), (Bytes{0xB0, 20, 64}));  // the middle
  EXPECT_TRUE(encode(f, NAN).empty());
}

TEST(EncodeFeedback, Cc_ReversedRangeRunsTheOtherWay) {
  Feedback f = feedback(FeedbackKind::midi_cc, 7, 1, 1, 0);
  EXPECT_EQ(encode(f, 1.0), (Bytes{0xB0, 7, 0}));
  EXPECT_EQ(encode(f, 0.0), (Bytes{0xB0, 7, 127}));
}

TEST(EncodeFeedback, Channel_OneBasedIntoStatusNibble) {
  EXPECT_EQ(encode(feedback(FeedbackKind::midi_cc, 20, 2), 1.0), (Bytes{0xB1, 20, 127}));
  EXPECT_EQ(encode(feedback(FeedbackKind::midi_cc, 20, 16), 1.0), (Bytes{0xBF, 20, 127}));
  EXPECT_EQ(encode(feedback(FeedbackKind::midi_note, 60, 10), 1.0), (Bytes{0x99, 60, 127}));
}

TEST(EncodeFeedback, Cc14_MsbOnNLsbOnNPlus32) {
  Feedback f = feedback(FeedbackKind::midi_cc14, 3, 1, 0, 16383);
  // 4660 = 0x24 << 7 | 0x34
  EXPECT_EQ(encode(f, 4660.0), (Bytes{0xB0, 3, 0x24, 0xB0, 35, 0x34}));
  EXPECT_EQ(encode(f, 16383.0), (Bytes{0xB0, 3, 0x7F, 0xB0, 35, 0x7F}));
  EXPECT_EQ(encode(f, -1.0), (Bytes{0xB0, 3, 0, 0xB0, 35, 0}));
  Feedback g = feedback(FeedbackKind::midi_cc14, 31, 5);
  EXPECT_EQ(encode(g, 0.5), (Bytes{0xB4, 31, 0x40, 0xB4, 63, 0x00}));  // 8191.5 -> 8192
}

TEST(EncodeFeedback, Note_VelocityFromValue_ZeroIsOff) {
  Feedback f = feedback(FeedbackKind::midi_note, 60, 1);
  EXPECT_EQ(encode(f, 1.0), (Bytes{0x90, 60, 127}));
  EXPECT_EQ(encode(f, 0.0), (Bytes{0x90, 60, 0}));
  EXPECT_EQ(encode(f, 2.0), (Bytes{0x90, 60, 127}));
}

TEST(EncodeFeedback, NonMidiKinds_NoBytes) {
  for (FeedbackKind k :
       {FeedbackKind::line, FeedbackKind::firmata_digital, FeedbackKind::firmata_pwm})
    EXPECT_TRUE(encode(feedback(k, 13, 1), 1.0).empty());
}

}  // namespace
}  // namespace csb
