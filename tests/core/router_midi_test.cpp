// Routing MIDI messages into the channel table and the sink (SPEC §3.1,
// §3.2). Each test builds its Config by hand, as the loader would produce it
// from a file with one MIDI device:
//
//   devices:
//     keys: {midi: "nanoKONTROL2*"}        # device 0
//     din: {serial: /dev/ttyAMA0, format: midi, baud: 31250}   # device 1
//     board: {serial: /dev/ttyACM0}        # device 2, format lines
//   map: (per test)

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/channels.hpp"
#include "core/midi.hpp"
#include "core/router.hpp"
#include "router_harness.hpp"

namespace csb {
namespace {

using test::RecordingSink;

/// A mapping `from: keys KIND [lo..hi] [ch ch_lo..ch_hi]` to a channel template;
/// ch_lo..ch_hi as written, 1..16 (0: no `ch`, every channel).
Mapping midi_map(SourceKind kind, int lo, int hi, std::string to, int ch_lo = 0, int ch_hi = 0) {
  Mapping m;
  m.from.device = "keys";
  m.from.kind = kind;
  m.from.lo = lo;
  m.from.hi = hi;
  m.from.has_number = lo >= 0;
  if (lo < 0) m.from.lo = m.from.hi = 0;
  if (ch_lo > 0) {  // as the loader holds them: 0-based
    m.from.midi_channel_lo = ch_lo - 1;
    m.from.midi_channel_hi = ch_hi - 1;
  }
  m.to = std::move(to);
  return m;
}

/// The same, for sources without a number (aftertouch, program, bend, clock).
Mapping midi_map(SourceKind kind, std::string to, int ch_lo = 0, int ch_hi = 0) {
  return midi_map(kind, -1, -1, std::move(to), ch_lo, ch_hi);
}

Mapping raw(Mapping m) {
  m.range_raw = true;
  return m;
}

Config make_config(std::vector<Mapping> map) {
  Config c;
  c.path = "<test>";
  DeviceConfig keys;
  keys.name = "keys";
  keys.kind = DeviceKind::midi;
  keys.glob = "nanoKONTROL2*";
  c.devices.push_back(keys);
  DeviceConfig din;
  din.name = "din";
  din.kind = DeviceKind::serial;
  din.format = SerialFormat::midi;
  din.glob = "/dev/ttyAMA0";
  din.baud = 31250;
  c.devices.push_back(din);
  DeviceConfig board;
  board.name = "board";
  board.kind = DeviceKind::serial;
  board.format = SerialFormat::lines;
  board.glob = "/dev/ttyACM0";
  c.devices.push_back(board);
  c.map = std::move(map);
  return c;
}

/// A router over a fresh channel table; send() feeds device 0 ("keys").
struct Bench : test::RouterBench {
  explicit Bench(std::vector<Mapping> map) : RouterBench(make_config(std::move(map))) {}

  void send(std::uint8_t status, std::uint8_t d1 = 0, std::uint8_t d2 = 0, std::int64_t t = 1000,
            std::uint32_t device = 0) {
    router->on_midi(device, MidiMessage::make(status, d1, d2), t, counters);
  }
  void cc(int ch, int n, int v) { send(0xB0 | (ch - 1), n, v); }
  /// Marks a channel applied, as the performance thread would.
  void clean(std::string_view name) { table.at(table.find(name)).dirty.store(false); }
};

// --- building -----------------------------------------------------------------

TEST(RouterMidi, Build_AddsChannelsForMidiMappings) {
  Bench b({midi_map(SourceKind::cc, 0, 2, "fader{i}"), midi_map(SourceKind::bend, "pitch")});
  for (std::string_view name : {"fader0", "fader1", "fader2", "pitch"})
    EXPECT_NE(b.table.find(name), kNoSlot) << name;
  EXPECT_EQ(b.table.size(), 4u);
  EXPECT_EQ(b.router->mapped_slots().size(), 4u);
  EXPECT_FALSE(b.dirty("fader0"));
}

TEST(RouterMidi, Templates_IAndN_PerNumber) {
  // from: keys cc 16..18 -> f{i} writes f0 f1 f2, cc{n} writes cc16 cc17 cc18.
  Bench b({midi_map(SourceKind::cc, 16, 18, "f{i}"), midi_map(SourceKind::cc, 16, 18, "cc{n}")});
  b.cc(1, 17, 127);
  EXPECT_DOUBLE_EQ(b.value("f1"), 1.0);
  EXPECT_DOUBLE_EQ(b.value("cc17"), 1.0);
  EXPECT_FALSE(b.dirty("f0"));
  EXPECT_FALSE(b.dirty("cc18"));
  EXPECT_EQ(b.table.find("f3"), kNoSlot);
  EXPECT_EQ(b.table.find("cc15"), kNoSlot);
}

TEST(RouterMidi, ChTemplate_OneChannelPerMidiChannelInFilter) {
  // from: keys cc 7 ch 1..4 -> volume{ch}
  Bench b({midi_map(SourceKind::cc, 7, 7, "volume{ch}", 1, 4)});
  for (std::string_view name : {"volume1", "volume2", "volume3", "volume4"})
    EXPECT_NE(b.table.find(name), kNoSlot) << name;
  EXPECT_EQ(b.table.find("volume5"), kNoSlot);
  EXPECT_EQ(b.table.find("volume0"), kNoSlot);
  b.cc(3, 7, 127);
  EXPECT_DOUBLE_EQ(b.value("volume3"), 1.0);
  EXPECT_FALSE(b.dirty("volume1"));
  EXPECT_FALSE(b.dirty("volume4"));
  b.cc(5, 7, 127);  // outside the filter
  EXPECT_EQ(b.counters.events, 1u);
  EXPECT_EQ(b.counters.unmatched, 1u);
}

TEST(RouterMidi, ChTemplate_NoFilter_SixteenChannels) {
  Bench b({midi_map(SourceKind::cc, 7, 7, "v{ch}")});
  EXPECT_EQ(b.table.size(), 16u);
  b.cc(16, 7, 127);
  EXPECT_DOUBLE_EQ(b.value("v16"), 1.0);
  EXPECT_FALSE(b.dirty("v1"));
}

TEST(RouterMidi, NoChTemplate_EveryChannelWritesTheSameChannel) {
  Bench b({midi_map(SourceKind::cc, 7, 7, "vol")});
  b.cc(1, 7, 127);
  EXPECT_DOUBLE_EQ(b.value("vol"), 1.0);
  b.cc(16, 7, 0);
  EXPECT_DOUBLE_EQ(b.value("vol"), 0.0);
  EXPECT_EQ(b.counters.events, 2u);
}

TEST(RouterMidi, ChFilter_OtherChannelsUnmatched) {
  // from: keys note 36..51 ch 10 -> pad{n}: drum pads on channel 10 only.
  Bench b({midi_map(SourceKind::note, 36, 51, "pad{n}", 10, 10)});
  b.send(0x90, 36, 127);  // channel 1
  EXPECT_FALSE(b.dirty("pad36"));
  EXPECT_EQ(b.counters.unmatched, 1u);
  b.send(0x99, 36, 127);  // channel 10
  EXPECT_DOUBLE_EQ(b.value("pad36"), 1.0);
  EXPECT_EQ(b.counters.events, 1u);
}

// --- cc ---------------------------------------------------------------------------

TEST(RouterMidi, Cc_ScaledOntoRange) {
  Mapping m = midi_map(SourceKind::cc, 16, 16, "cutoff");
  m.range = {0, 10};
  Bench b({m});
  b.cc(1, 16, 127);
  EXPECT_DOUBLE_EQ(b.value("cutoff"), 10.0);
  b.cc(1, 16, 0);
  EXPECT_DOUBLE_EQ(b.value("cutoff"), 0.0);
  b.cc(1, 16, 64);
  EXPECT_DOUBLE_EQ(b.value("cutoff"), 640.0 / 127.0);
  b.cc(1, 17, 64);  // no mapping for cc 17
  EXPECT_EQ(b.counters.events, 3u);
  EXPECT_EQ(b.counters.unmatched, 1u);
  EXPECT_EQ(b.counters.bad, 0u);
}

TEST(RouterMidi, Cc_ExpCurve) {
  Mapping m = midi_map(SourceKind::cc, 16, 16, "cutoff");
  m.range = {100, 8000};
  m.curve = Curve::exp;
  Bench b({m});
  b.cc(1, 16, 127);
  EXPECT_NEAR(b.value("cutoff"), 8000.0, 1e-9);
  b.cc(1, 16, 0);
  EXPECT_NEAR(b.value("cutoff"), 100.0, 1e-9);
}

TEST(RouterMidi, Cc_ArrivalTimeKept) {
  Bench b({midi_map(SourceKind::cc, 1, 1, "mod")});
  b.send(0xB0, 1, 10, 123456);
  EXPECT_EQ(b.table.at(b.table.find("mod")).arrival_ns.load(), 123456);
}

TEST(RouterMidi, Cc_Toggle_FlipsOnRiseThrough64) {
  // Korg nanoKONTROL sends momentary buttons as CC 127 then 0.
  Mapping m = midi_map(SourceKind::cc, 64, 64, "sustain");
  m.value = ValueMode::toggle;
  Bench b({m});
  b.cc(1, 64, 127);
  EXPECT_DOUBLE_EQ(b.value("sustain"), 1.0);
  b.cc(1, 64, 127);  // still held: no flip
  EXPECT_DOUBLE_EQ(b.value("sustain"), 1.0);
  b.cc(1, 64, 0);
  EXPECT_DOUBLE_EQ(b.value("sustain"), 1.0);
  b.cc(1, 64, 64);  // exactly 64 counts as pressed
  EXPECT_DOUBLE_EQ(b.value("sustain"), 0.0);
  b.cc(1, 64, 63);
  b.cc(1, 64, 100);
  EXPECT_DOUBLE_EQ(b.value("sustain"), 1.0);
}

TEST(RouterMidi, Cc_Do_FiresOnceOnRiseThrough64) {
  Mapping m = midi_map(SourceKind::cc, 45, 45, "");
  m.action = Action::reset;
  Bench b({m});
  b.cc(1, 45, 0);
  EXPECT_TRUE(b.sink.actions.empty());
  b.cc(1, 45, 127);
  b.cc(1, 45, 127);
  b.cc(1, 45, 90);
  EXPECT_EQ(b.sink.actions, std::vector<Action>{Action::reset});
  b.cc(1, 45, 0);
  b.cc(1, 45, 127);
  EXPECT_EQ(b.sink.actions.size(), 2u);
  EXPECT_EQ(b.counters.events, 6u);
  EXPECT_EQ(b.table.size(), 0u);  // do: makes no channel
}

TEST(RouterMidi, Cc_Do_EdgePerMidiChannel) {
  // The same button on two channels: each channel's press is its own edge.
  Mapping m = midi_map(SourceKind::cc, 45, 45, "");
  m.action = Action::pause;
  Bench b({m});
  b.cc(1, 45, 127);
  b.cc(2, 45, 127);
  EXPECT_EQ(b.sink.actions.size(), 2u);
}

// --- cc14 ---------------------------------------------------------------------------

TEST(RouterMidi, Cc14_PairsMsbAndLsb) {
  Bench b({raw(midi_map(SourceKind::cc14, 1, 1, "pos"))});
  b.cc(1, 1, 0x40);  // MSB
  EXPECT_DOUBLE_EQ(b.value("pos"), 0x40 << 7);
  b.cc(1, 33, 0x05);  // LSB on 1 + 32
  EXPECT_DOUBLE_EQ(b.value("pos"), (0x40 << 7) | 0x05);
  b.cc(1, 1, 0x41);  // a new MSB keeps the last LSB
  EXPECT_DOUBLE_EQ(b.value("pos"), (0x41 << 7) | 0x05);
  b.cc(1, 33, 0x7F);
  EXPECT_DOUBLE_EQ(b.value("pos"), (0x41 << 7) | 0x7F);
  EXPECT_EQ(b.counters.events, 4u);
}

TEST(RouterMidi, Cc14_LoneMsbMovesValue) {
  // A fader that sends only MSBs still works, at 7-bit resolution.
  Bench b({midi_map(SourceKind::cc14, 7, 7, "vol")});
  b.cc(1, 7, 0x7F);
  EXPECT_DOUBLE_EQ(b.value("vol"), double(0x7F << 7) / 16383.0);
  b.cc(1, 7, 0x20);
  EXPECT_DOUBLE_EQ(b.value("vol"), double(0x20 << 7) / 16383.0);
}

TEST(RouterMidi, Cc14_PairsPerChannel) {
  Bench b({raw(midi_map(SourceKind::cc14, 1, 1, "pos{ch}", 1, 2))});
  b.cc(1, 33, 0x05);
  b.cc(2, 1, 0x10);  // channel 2 has no LSB yet
  EXPECT_DOUBLE_EQ(b.value("pos2"), 0x10 << 7);
  EXPECT_DOUBLE_EQ(b.value("pos1"), 0x05);
}

TEST(RouterMidi, Cc14_AndCcOnSameNumber_BothFire) {
  Bench b({raw(midi_map(SourceKind::cc14, 1, 1, "fine")), midi_map(SourceKind::cc, 1, 1, "mod")});
  b.cc(1, 1, 127);
  EXPECT_DOUBLE_EQ(b.value("fine"), 127 << 7);
  EXPECT_DOUBLE_EQ(b.value("mod"), 1.0);
  EXPECT_EQ(b.counters.events, 1u);
}

// --- nrpn / rpn ---------------------------------------------------------------------

TEST(RouterMidi, Nrpn_SelectDataEntryIncrementDecrement) {
  // NRPN 300 = MSB 2, LSB 44.
  Bench b({raw(midi_map(SourceKind::nrpn, 300, 300, "np"))});
  b.cc(1, 99, 2);
  b.cc(1, 98, 44);
  EXPECT_FALSE(b.dirty("np"));
  b.cc(1, 6, 10);
  EXPECT_DOUBLE_EQ(b.value("np"), 10 << 7);
  b.cc(1, 38, 5);
  EXPECT_DOUBLE_EQ(b.value("np"), (10 << 7) | 5);
  b.cc(1, 96, 1);
  EXPECT_DOUBLE_EQ(b.value("np"), (10 << 7) | 6);
  b.cc(1, 97, 1);
  b.cc(1, 97, 1);
  EXPECT_DOUBLE_EQ(b.value("np"), (10 << 7) | 4);
  b.cc(1, 6, 11);  // a new MSB keeps the LSB
  EXPECT_DOUBLE_EQ(b.value("np"), (11 << 7) | 4);
  EXPECT_EQ(b.counters.events, 8u);  // the two selects are for a mapped parameter too
  EXPECT_EQ(b.counters.unmatched, 0u);
}

TEST(RouterMidi, Nrpn_TwoPortsOfOneDeviceKeepTheirOwnSelects) {
  // One glob opened two controllers: their parameter selects never mix.
  Bench b({raw(midi_map(SourceKind::nrpn, 300, 300, "np")),
           raw(midi_map(SourceKind::nrpn, 5, 5, "other"))});
  auto cc = [&](std::uint32_t port, int n, int v) {
    b.router->on_midi(0, MidiMessage::make(0xB0, n, v), 1000, b.counters, port);
  };
  cc(0, 99, 2);
  cc(0, 98, 44);  // port 0 selects 300
  cc(1, 99, 0);
  cc(1, 98, 5);  // port 1 selects 5
  cc(0, 6, 10);
  EXPECT_DOUBLE_EQ(b.value("np"), 10 << 7);
  EXPECT_FALSE(b.dirty("other"));
  cc(1, 6, 3);
  EXPECT_DOUBLE_EQ(b.value("other"), 3 << 7);
  EXPECT_DOUBLE_EQ(b.value("np"), 10 << 7);
  // A port that went away forgets its select; the other keeps its own.
  b.router->reset_port(0, 1);
  cc(1, 6, 9);
  EXPECT_DOUBLE_EQ(b.value("other"), 3 << 7);
  cc(0, 96, 1);
  EXPECT_DOUBLE_EQ(b.value("np"), (10 << 7) | 1);
}

TEST(RouterMidi, Nrpn_IncDecClampAtEnds) {
  Bench b({raw(midi_map(SourceKind::nrpn, 0, 0, "np"))});
  b.cc(1, 99, 0);
  b.cc(1, 98, 0);
  b.cc(1, 97, 1);
  EXPECT_DOUBLE_EQ(b.value("np"), 0.0);
  b.cc(1, 6, 127);
  b.cc(1, 38, 127);
  b.cc(1, 96, 1);
  EXPECT_DOUBLE_EQ(b.value("np"), 16383.0);
}

TEST(RouterMidi, Nrpn_OtherParameterNotRouted) {
  Bench b({raw(midi_map(SourceKind::nrpn, 300, 301, "np{i}"))});
  b.cc(1, 99, 2);
  b.cc(1, 98, 45);  // 301
  b.cc(1, 6, 3);
  EXPECT_DOUBLE_EQ(b.value("np1"), 3 << 7);
  EXPECT_FALSE(b.dirty("np0"));
  b.cc(1, 98, 46);  // 302: no mapping
  b.cc(1, 6, 9);
  EXPECT_DOUBLE_EQ(b.value("np1"), 3 << 7);
  EXPECT_EQ(b.counters.unmatched, 1u);  // the data entry; the select is part of choosing one
  b.cc(1, 98, 44);                      // back to 300: its own value, not 301's
  b.cc(1, 96, 0);
  EXPECT_DOUBLE_EQ(b.value("np0"), 1.0);
}

TEST(RouterMidi, Nrpn_SelectionPerChannel) {
  Bench b({raw(midi_map(SourceKind::nrpn, 300, 300, "np"))});
  b.cc(1, 99, 2);
  b.cc(1, 98, 44);
  b.cc(2, 6, 10);  // channel 2 selected nothing
  EXPECT_FALSE(b.dirty("np"));
  b.cc(1, 6, 10);
  EXPECT_DOUBLE_EQ(b.value("np"), 10 << 7);
}

TEST(RouterMidi, Rpn_NullDeselects) {
  // RPN 0 is the pitch bend range: 2 semitones.
  // A mapping on 127/127 itself shows that null selects nothing, not that parameter.
  Bench b({raw(midi_map(SourceKind::rpn, 0, 0, "bend_range")),
           raw(midi_map(SourceKind::rpn, 16383, 16383, "rpn_null"))});
  b.cc(1, 101, 0);
  b.cc(1, 100, 0);
  b.cc(1, 6, 2);
  EXPECT_DOUBLE_EQ(b.value("bend_range"), 2 << 7);
  b.cc(1, 101, 127);
  b.cc(1, 100, 127);  // null: data entry goes nowhere now
  b.clean("bend_range");
  b.cc(1, 6, 12);
  b.cc(1, 96, 0);
  EXPECT_FALSE(b.dirty("bend_range"));
  EXPECT_FALSE(b.dirty("rpn_null"));
  EXPECT_DOUBLE_EQ(b.value("bend_range"), 2 << 7);
  b.cc(1, 101, 0);
  b.cc(1, 100, 0);  // selected again
  b.cc(1, 38, 1);
  EXPECT_DOUBLE_EQ(b.value("bend_range"), (2 << 7) | 1);
}

TEST(RouterMidi, NrpnAndRpn_SameNumberAreDifferentParameters) {
  Bench b(
      {raw(midi_map(SourceKind::nrpn, 0, 0, "n0")), raw(midi_map(SourceKind::rpn, 0, 0, "r0"))});
  b.cc(1, 99, 0);
  b.cc(1, 98, 0);
  b.cc(1, 6, 1);
  EXPECT_DOUBLE_EQ(b.value("n0"), 1 << 7);
  EXPECT_FALSE(b.dirty("r0"));
  b.cc(1, 101, 0);
  b.cc(1, 100, 0);
  b.cc(1, 6, 2);
  EXPECT_DOUBLE_EQ(b.value("r0"), 2 << 7);
  EXPECT_DOUBLE_EQ(b.value("n0"), 1 << 7);
}

TEST(RouterMidi, Nrpn_DefaultScaleOverFourteenBits) {
  Bench b({midi_map(SourceKind::nrpn, 300, 300, "np")});
  b.cc(1, 99, 2);
  b.cc(1, 98, 44);
  b.cc(1, 6, 127);
  b.cc(1, 38, 127);
  EXPECT_DOUBLE_EQ(b.value("np"), 1.0);
}

// --- note ---------------------------------------------------------------------------

TEST(RouterMidi, Note_VelocityScaled_OffGivesZero) {
  Bench b({midi_map(SourceKind::note, 60, 60, "pad")});
  b.send(0x90, 60, 127);
  EXPECT_DOUBLE_EQ(b.value("pad"), 1.0);
  b.send(0x80, 60, 64);  // note-off with release velocity 64: still 0
  EXPECT_DOUBLE_EQ(b.value("pad"), 0.0);
  b.send(0x90, 60, 64);
  EXPECT_DOUBLE_EQ(b.value("pad"), 64.0 / 127.0);
  b.send(0x90, 60, 0);  // note-on velocity 0 is a note-off
  EXPECT_DOUBLE_EQ(b.value("pad"), 0.0);
  EXPECT_EQ(b.counters.events, 4u);
}

TEST(RouterMidi, Note_Gate_OneOnZeroOffOntoRange) {
  Mapping m = midi_map(SourceKind::note, 36, 36, "kick_gate");
  m.value = ValueMode::gate;
  m.range = {0, 5};
  Bench b({m});
  b.send(0x90, 36, 10);  // soft: the gate is full anyway
  EXPECT_DOUBLE_EQ(b.value("kick_gate"), 5.0);
  b.send(0x80, 36, 0);
  EXPECT_DOUBLE_EQ(b.value("kick_gate"), 0.0);
  b.send(0x90, 36, 100);
  b.send(0x90, 36, 0);
  EXPECT_DOUBLE_EQ(b.value("kick_gate"), 0.0);
}

TEST(RouterMidi, Note_Toggle_FlipsOnEachNoteOn) {
  Mapping m = midi_map(SourceKind::note, 36, 36, "mute");
  m.value = ValueMode::toggle;
  m.range = {2, 8};
  Bench b({m});
  b.send(0x90, 36, 100);
  EXPECT_DOUBLE_EQ(b.value("mute"), 8.0);
  b.send(0x80, 36, 0);
  b.send(0x90, 36, 0);
  EXPECT_DOUBLE_EQ(b.value("mute"), 8.0);
  b.send(0x90, 36, 1);
  EXPECT_DOUBLE_EQ(b.value("mute"), 2.0);
}

TEST(RouterMidi, Note_Do_FiresOnNoteOnOnly) {
  Mapping m = midi_map(SourceKind::note, 60, 60, "");
  m.action = Action::toggle_pause;
  Bench b({m});
  b.send(0x90, 60, 100);
  b.send(0x80, 60, 0);
  b.send(0x90, 60, 0);
  EXPECT_EQ(b.sink.actions, std::vector<Action>{Action::toggle_pause});
  b.send(0x90, 60, 1);
  EXPECT_EQ(b.sink.actions.size(), 2u);
}

TEST(RouterMidi, Note_Score_FormattedOnNoteOn) {
  // from: keys note 60..61 -> score 'i "kick" 0 0.5 {value} {n} {i}'
  Mapping m = midi_map(SourceKind::note, 60, 61, "");
  m.score = "i \"kick\" 0 0.5 {value} {n} {i}";
  Bench b({m});
  b.send(0x90, 61, 127);
  b.send(0x80, 61, 0);
  ASSERT_EQ(b.sink.scores.size(), 1u);
  EXPECT_EQ(b.sink.scores[0], "i \"kick\" 0 0.5 1 61 1");
}

TEST(RouterMidi, Score_ChTemplate_PerChannel) {
  Mapping m = raw(midi_map(SourceKind::program, ""));
  m.score = "i 2 0 1 {ch} {value}";
  Bench b({m});
  b.send(0xC2, 5);
  EXPECT_EQ(b.sink.scores, std::vector<std::string>{"i 2 0 1 3 5"});
}

// --- program, touch, bend -----------------------------------------------------------

TEST(RouterMidi, Program_ValueIsProgramNumber) {
  Bench b({raw(midi_map(SourceKind::program, "patch")), midi_map(SourceKind::program, "patch01")});
  b.send(0xC0, 42);
  EXPECT_DOUBLE_EQ(b.value("patch"), 42.0);
  EXPECT_DOUBLE_EQ(b.value("patch01"), 42.0 / 127.0);
}

TEST(RouterMidi, Program_Do_FiresOnEveryChange) {
  Mapping m = midi_map(SourceKind::program, "");
  m.action = Action::reload;
  Bench b({m});
  b.send(0xC0, 3);
  b.send(0xC0, 3);  // the same program again still fires
  EXPECT_EQ(b.sink.actions, (std::vector<Action>{Action::reload, Action::reload}));
}

TEST(RouterMidi, PolyTouch_PerNote) {
  Mapping m = midi_map(SourceKind::polytouch, 60, 60, "press");
  m.curve = Curve::power;
  m.power = 2;
  Bench b({m});
  b.send(0xA0, 60, 127);
  EXPECT_DOUBLE_EQ(b.value("press"), 1.0);
  b.send(0xA0, 60, 0);
  EXPECT_DOUBLE_EQ(b.value("press"), 0.0);
  b.send(0xA0, 61, 127);  // another note
  EXPECT_DOUBLE_EQ(b.value("press"), 0.0);
  EXPECT_EQ(b.counters.unmatched, 1u);
}

TEST(RouterMidi, Aftertouch_ChannelPressure) {
  Mapping m = midi_map(SourceKind::aftertouch, "at");
  m.invert = true;
  Bench b({m});
  b.send(0xD3, 127);
  EXPECT_DOUBLE_EQ(b.value("at"), 0.0);
  b.send(0xD3, 0);
  EXPECT_DOUBLE_EQ(b.value("at"), 1.0);
}

TEST(RouterMidi, Bend_NormalisedToMinusOneOne) {
  Mapping m = midi_map(SourceKind::bend, "pitch");
  m.range = {-1, 1};  // the loader's default for bend
  Bench b({m});
  b.send(0xE0, 0x00, 0x40);
  EXPECT_DOUBLE_EQ(b.value("pitch"), 0.0);  // a centred wheel reads exactly 0
  b.send(0xE0, 0x00, 0x00);
  EXPECT_DOUBLE_EQ(b.value("pitch"), -1.0);
  b.send(0xE0, 0x7F, 0x7F);
  EXPECT_DOUBLE_EQ(b.value("pitch"), 1.0 - 2.0 / 16384.0);
}

TEST(RouterMidi, Bend_RawPassesSignedValue) {
  Bench b({raw(midi_map(SourceKind::bend, "pb"))});
  b.send(0xE0, 0x00, 0x00);
  EXPECT_DOUBLE_EQ(b.value("pb"), -8192.0);
  b.send(0xE0, 0x7F, 0x7F);
  EXPECT_DOUBLE_EQ(b.value("pb"), 8191.0);
}

// --- clock --------------------------------------------------------------------------

/// Sends `ticks` clock ticks at `bpm` from t0; returns the time of the next one.
std::int64_t ticks(Bench& b, double bpm, int count, std::int64_t t0) {
  const double period = 60e9 / (bpm * 24);
  for (int k = 0; k < count; ++k) b.send(0xF8, 0, 0, t0 + std::llround(k * period));
  return t0 + std::llround(count * period);
}

TEST(RouterMidi, Clock_BpmFromTicks) {
  Bench b({midi_map(SourceKind::clock, "tempo")});
  std::int64_t t = ticks(b, 120, 1, 1'000'000'000);
  EXPECT_FALSE(b.dirty("tempo"));  // one tick is no tempo yet
  t = ticks(b, 120, 24, t);
  EXPECT_NEAR(b.value("tempo"), 120.0, 1e-3);
  ticks(b, 120, 100, t);
  EXPECT_NEAR(b.value("tempo"), 120.0, 1e-3);
  EXPECT_EQ(b.counters.events, 125u);
}

TEST(RouterMidi, Clock_AveragesOverLast24Intervals) {
  // Jitter of a USB MIDI interface: intervals alternate +-2 ms around 120 BPM.
  Bench b({midi_map(SourceKind::clock, "tempo")});
  const std::int64_t period = 20'833'333;
  std::int64_t t = 0;
  for (int k = 0; k < 49; ++k) {
    b.send(0xF8, 0, 0, t);
    t += period + (k % 2 ? 2'000'000 : -2'000'000);
  }
  EXPECT_NEAR(b.value("tempo"), 120.0, 1e-3);
  // The tempo halves: after 24 new intervals only the new one counts.
  ticks(b, 60, 25, t);
  EXPECT_NEAR(b.value("tempo"), 60.0, 1e-3);
}

TEST(RouterMidi, Clock_StartResets) {
  Bench b({midi_map(SourceKind::clock, "tempo")});
  std::int64_t t = ticks(b, 120, 30, 0);
  b.send(0xFC, 0, 0, t);                // stop
  b.send(0xFA, 0, 0, t + 400'000'000);  // start 0.4 s later, at 90 BPM
  b.clean("tempo");
  b.send(0xF8, 0, 0, t + 400'000'000);
  EXPECT_FALSE(b.dirty("tempo"));  // the pause is not an interval
  ticks(b, 90, 3, t + 400'000'000 + std::llround(60e9 / (90 * 24)));
  EXPECT_NEAR(b.value("tempo"), 90.0, 1e-3);
}

TEST(RouterMidi, Clock_InScalesBpm) {
  Mapping m = midi_map(SourceKind::clock, "tempo01");
  m.in = std::make_pair(60.0, 180.0);
  Bench b({m});
  ticks(b, 120, 25, 0);
  EXPECT_NEAR(b.value("tempo01"), 0.5, 1e-6);
}

// --- several mappings, counters, devices --------------------------------------------

TEST(RouterMidi, OneSourceSeveralMappings_AllFire) {
  Mapping a = midi_map(SourceKind::cc, 1, 1, "a");
  Mapping c = midi_map(SourceKind::cc, 1, 1, "c");
  c.range = {0, 10};
  Mapping act = midi_map(SourceKind::cc, 1, 1, "");
  act.action = Action::reset;
  Mapping sc = raw(midi_map(SourceKind::cc, 1, 1, ""));
  sc.score = "i 1 0 1 {value}";
  Bench b({a, c, act, sc});
  b.cc(1, 1, 127);
  EXPECT_DOUBLE_EQ(b.value("a"), 1.0);
  EXPECT_DOUBLE_EQ(b.value("c"), 10.0);
  EXPECT_EQ(b.sink.actions, std::vector<Action>{Action::reset});
  EXPECT_EQ(b.sink.scores, std::vector<std::string>{"i 1 0 1 127"});
  EXPECT_EQ(b.counters.events, 1u);  // one message, however many mappings
}

TEST(RouterMidi, RoutedToSink_WithSourceLabel) {
  Bench b(
      {midi_map(SourceKind::cc, 7, 7, "vol"), midi_map(SourceKind::note, 60, 60, "n{ch}", 2, 2)});
  b.cc(1, 7, 127);
  b.send(0x91, 60, 127);
  EXPECT_EQ(b.sink.routed, (std::vector<std::string>{"cc 7", "note 60 ch 2"}));
  EXPECT_EQ(b.sink.values, (std::vector<double>{1.0, 1.0}));
}

TEST(RouterMidi, MalformedMessage_CountedBad) {
  Bench b({midi_map(SourceKind::note, 60, 60, "pad")});
  MidiMessage m = MidiMessage::make(0x90, 60, 127);
  m.size = 2;
  b.router->on_midi(0, m, 0, b.counters);
  EXPECT_EQ(b.counters.bad, 1u);
  EXPECT_FALSE(b.dirty("pad"));
}

TEST(RouterMidi, SystemMessages_CountNothing) {
  // Active sensing every 300 ms must not swell the unmatched counter.
  Bench b({midi_map(SourceKind::cc, 7, 7, "vol")});
  b.send(0xFE);
  b.send(0xFA);
  b.send(0xF2, 1, 2);
  EXPECT_EQ(b.counters.events + b.counters.unmatched + b.counters.bad, 0u);
}

TEST(RouterMidi, SerialMidiDevice_Routed) {
  Mapping m = midi_map(SourceKind::cc, 7, 7, "din_vol");
  m.from.device = "din";
  Bench b({m, midi_map(SourceKind::cc, 7, 7, "keys_vol")});
  b.send(0xB0, 7, 127, 1, /*device=*/1);
  EXPECT_DOUBLE_EQ(b.value("din_vol"), 1.0);
  EXPECT_FALSE(b.dirty("keys_vol"));  // devices do not share sources
}

TEST(RouterMidi, NonMidiDevice_Ignored) {
  Bench b({midi_map(SourceKind::cc, 7, 7, "vol")});
  b.send(0xB0, 7, 127, 1, /*device=*/2);  // the lines board
  b.send(0xB0, 7, 127, 1, /*device=*/9);  // no such device
  EXPECT_FALSE(b.dirty("vol"));
  EXPECT_EQ(b.counters.events + b.counters.unmatched + b.counters.bad, 0u);
}

TEST(RouterMidi, MidiAndLinesMappingsInterleaved_EachRoutedToItsOwn) {
  // MIDI bindings are made between lines bindings: the lines tables must
  // still point at their own.
  Mapping light;
  light.from.device = "board";
  light.from.kind = SourceKind::named;
  light.from.name = "light";
  light.to = "brightness";
  light.in = std::make_pair(0.0, 1023.0);
  Mapping dist = light;
  dist.from.name = "dist";
  dist.to = "distance";
  dist.in.reset();
  Bench b({midi_map(SourceKind::cc, 0, 7, "fader{i}"), light,
           midi_map(SourceKind::note, 60, 60, "pad"), dist});
  b.router->on_line(2, "light=1023 dist=42", 5, b.counters);
  EXPECT_DOUBLE_EQ(b.value("brightness"), 1.0);
  EXPECT_DOUBLE_EQ(b.value("distance"), 42.0);
  EXPECT_FALSE(b.dirty("fader0"));
  EXPECT_FALSE(b.dirty("pad"));
  b.cc(1, 7, 127);
  EXPECT_DOUBLE_EQ(b.value("fader7"), 1.0);
  EXPECT_DOUBLE_EQ(b.value("distance"), 42.0);
}

TEST(RouterMidi, DecoderToRouter_RunningStatusStream) {
  // A DIN keyboard: note-on, then the same note off with running status.
  Bench b({midi_map(SourceKind::note, 60, 60, "pad")});
  MidiDecoder d;
  const std::uint8_t bytes[] = {0x90, 60, 127, 0xF8, 60, 0};
  std::vector<double> seen;
  d.feed(
      bytes, sizeof bytes,
      [&](const MidiMessage& m) {
        b.router->on_midi(0, m, 0, b.counters);
        if (m.is_channel_voice()) seen.push_back(b.value("pad"));
      },
      [](std::span<const std::uint8_t>) {});
  EXPECT_EQ(seen, (std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(b.counters.events, 2u);
}

}  // namespace
}  // namespace csb
