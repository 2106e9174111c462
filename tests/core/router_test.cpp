// Routing lines from a `lines` serial device into the channel table and the
// sink (SPEC §3.2, §3.3), and the channel table itself. The Config is built by
// hand, as the loader would produce it for:
//
//   devices:
//     board: {serial: "/dev/ttyACM*", format: lines, columns: [light, dist]}
//   map:
//     - {from: board light, to: brightness, in: [0, 1023], range: [0, 1]}
//     - {from: board 0..2, to: "p{i}"}
//     - {from: board tag, to: rfid, type: string}
//     - {from: board btn, do: reset}
//     - {from: board knock, score: 'i "kick" 0 0.5 {value}'}
//     - {from: board knock, do: pause}
//     - {from: board level, to: level.a}
//     - {from: board level, to: level.b, range: [0, 10], in: [0, 1]}
//     - {from: board "*", to: "sensor.{name}"}      # only when with_wildcard

#include "core/router.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/channels.hpp"
#include "router_harness.hpp"

namespace csb {
namespace {

using test::RecordingSink;

Mapping named(std::string name, std::string to) {
  Mapping m;
  m.from.device = "board";
  m.from.kind = SourceKind::named;
  m.from.name = std::move(name);
  m.to = std::move(to);
  return m;
}

Config make_config(bool with_wildcard) {
  Config c;
  c.path = "<test>";
  DeviceConfig board;
  board.name = "board";
  board.kind = DeviceKind::serial;
  board.glob = "/dev/ttyACM*";
  board.format = SerialFormat::lines;
  board.columns = {"light", "dist"};
  c.devices.push_back(board);

  Mapping light = named("light", "brightness");
  light.in = std::make_pair(0.0, 1023.0);
  c.map.push_back(light);

  Mapping pos;
  pos.from.device = "board";
  pos.from.kind = SourceKind::positional;
  pos.from.lo = 0;
  pos.from.hi = 2;
  pos.from.has_number = true;
  pos.to = "p{i}";
  c.map.push_back(pos);

  Mapping tag = named("tag", "rfid");
  tag.is_string = true;
  c.map.push_back(tag);

  Mapping btn = named("btn", "");
  btn.action = Action::reset;
  c.map.push_back(btn);

  Mapping knock_score = named("knock", "");
  knock_score.score = "i \"kick\" 0 0.5 {value}";
  c.map.push_back(knock_score);

  Mapping knock_pause = named("knock", "");
  knock_pause.action = Action::pause;
  c.map.push_back(knock_pause);

  c.map.push_back(named("level", "level.a"));
  Mapping level_b = named("level", "level.b");
  level_b.in = std::make_pair(0.0, 1.0);
  level_b.range = {0.0, 10.0};
  c.map.push_back(level_b);

  if (with_wildcard) {
    Mapping wild;
    wild.from.device = "board";
    wild.from.kind = SourceKind::wildcard;
    wild.to = "sensor.{name}";
    c.map.push_back(wild);
  }
  return c;
}

/// A router over a fresh channel table; line() feeds device 0 ("board").
struct Bench : test::RouterBench {
  explicit Bench(bool with_wildcard) : RouterBench(make_config(with_wildcard)) {}

  void line(std::string_view text, std::int64_t t_ns = 1000) {
    router->on_line(0, text, t_ns, counters);
  }
};

// --- Router: building ---------------------------------------------------------

TEST(Router, Build_AddsEveryNamedChannel) {
  // Channels exist from the start (before any value), so Csound can be told
  // about them and a reset can restore them.
  Bench b(false);
  for (std::string_view name : {"brightness", "p0", "p1", "p2", "rfid", "level.a", "level.b"})
    EXPECT_NE(b.table.find(name), kNoSlot) << name;
  EXPECT_EQ(b.table.find("p3"), kNoSlot);
  EXPECT_EQ(b.table.size(), 7u);
  EXPECT_EQ(b.router->mapped_slots().size(), 7u);
  EXPECT_EQ(b.table.at(b.table.find("rfid")).type, ChannelType::string);
  EXPECT_EQ(b.table.at(b.table.find("brightness")).type, ChannelType::control);
  EXPECT_FALSE(b.dirty("brightness"));
}

TEST(Router, Build_TypeClash_Throws) {
  // One channel name used as a string and as a control channel cannot work.
  Config c = make_config(false);
  c.map.push_back(named("other", "rfid"));  // control, but rfid is a string channel
  ChannelTable table;
  RecordingSink sink;
  EXPECT_THROW({ Router r(c, table, sink); }, std::runtime_error);
}

TEST(Router, Build_MidiDeviceIgnoresLines) {
  // A MIDI device's mappings make their channels, but lines never reach them.
  Config c = make_config(false);
  DeviceConfig knobs;
  knobs.name = "knobs";
  knobs.kind = DeviceKind::midi;
  knobs.glob = "nanoKONTROL2*";
  c.devices.push_back(knobs);
  Mapping cc;
  cc.from.device = "knobs";
  cc.from.kind = SourceKind::cc;
  cc.from.lo = cc.from.hi = 0;
  cc.from.has_number = true;
  cc.to = "fader0";
  c.map.push_back(cc);
  ChannelTable table;
  RecordingSink sink;
  Router r(c, table, sink);
  EXPECT_NE(table.find("fader0"), kNoSlot);
  InputCounters counters;
  r.on_line(1, "fader0=1", 0, counters);  // a line for the MIDI device: ignored
  EXPECT_FALSE(table.at(table.find("fader0")).has_value.load());
  EXPECT_EQ(counters.events + counters.unmatched + counters.bad, 0u);
}

// --- Router: values -----------------------------------------------------------

TEST(Router, NamedValue_ScaledOverIn) {
  Bench b(false);
  b.line("light=1023", 5000);
  EXPECT_DOUBLE_EQ(b.value("brightness"), 1.0);
  std::uint32_t s = b.table.find("brightness");
  EXPECT_TRUE(b.table.at(s).dirty.load());
  EXPECT_EQ(b.table.at(s).arrival_ns.load(), 5000);
  b.line("light 511.5");  // the two-token idiom routes the same way
  EXPECT_DOUBLE_EQ(b.value("brightness"), 0.5);
  b.line("light:2000");  // clamped to the top of `in`
  EXPECT_DOUBLE_EQ(b.value("brightness"), 1.0);
  EXPECT_EQ(b.counters.events, 3u);
  EXPECT_EQ(b.counters.unmatched, 0u);
  EXPECT_EQ(b.counters.bad, 0u);
}

TEST(Router, Positional_RoutedByIndex) {
  // `board 0..2 -> p{i}`: index 3 has neither mapping nor column.
  Bench b(false);
  b.line("10 20 30 40");
  EXPECT_DOUBLE_EQ(b.value("p0"), 10.0);
  EXPECT_DOUBLE_EQ(b.value("p1"), 20.0);
  EXPECT_DOUBLE_EQ(b.value("p2"), 30.0);
  EXPECT_EQ(b.counters.events, 3u);
  EXPECT_EQ(b.counters.unmatched, 1u);
  EXPECT_EQ(b.counters.bad, 0u);
}

TEST(Router, Columns_NamePositionalValues) {
  // columns: [light, dist] — the first bare number is also `light`.
  Bench b(false);
  b.line("1023 7");
  EXPECT_DOUBLE_EQ(b.value("brightness"), 1.0);
  EXPECT_DOUBLE_EQ(b.value("p0"), 1023.0);
  EXPECT_DOUBLE_EQ(b.value("p1"), 7.0);
  EXPECT_EQ(b.counters.events, 2u);
}

TEST(Router, Columns_FeedWildcardByColumnName) {
  Bench b(true);
  b.line("512 7");
  EXPECT_DOUBLE_EQ(b.value("sensor.light"), 512.0);
  EXPECT_DOUBLE_EQ(b.value("sensor.dist"), 7.0);
  EXPECT_DOUBLE_EQ(b.value("brightness"), 512.0 / 1023.0);
}

TEST(Router, Wildcard_MakesChannelPerName) {
  Bench b(true);
  b.line("temp=21.5 hum=40");
  EXPECT_DOUBLE_EQ(b.value("sensor.temp"), 21.5);
  EXPECT_DOUBLE_EQ(b.value("sensor.hum"), 40.0);
  EXPECT_EQ(b.counters.events, 2u);
  EXPECT_EQ(b.counters.unmatched, 0u);
  // A named mapping and the wildcard both take `light`.
  b.line("light=1023");
  EXPECT_DOUBLE_EQ(b.value("brightness"), 1.0);
  EXPECT_DOUBLE_EQ(b.value("sensor.light"), 1023.0);
}

TEST(Router, Wildcard_DoesNotTakeTriggersOrPositionals) {
  // `*` is for named values: a bare word or an unnamed number has no name.
  Bench b(true);
  b.line("hello");
  b.line("1 2 3 4 5");
  EXPECT_EQ(b.table.find("sensor.hello"), kNoSlot);
  EXPECT_EQ(b.counters.unmatched, 3u);  // `hello`, indexes 3 and 4 (no mapping, no column)
}

TEST(Router, Wildcard_CappedAtMaxChannels) {
  // A board sending random names must not fill the channel table.
  Bench b(true);
  const std::uint32_t before = b.table.size();
  const std::size_t extra = 44;
  for (std::size_t k = 0; k < Router::kMaxWildcardChannels + extra; ++k)
    b.line("w" + std::to_string(k) + "=1");
  EXPECT_EQ(b.table.size(), before + Router::kMaxWildcardChannels);
  EXPECT_NE(b.table.find("sensor.w255"), kNoSlot);
  EXPECT_EQ(b.table.find("sensor.w256"), kNoSlot);
  EXPECT_EQ(b.counters.bad, extra);
  // Counted, and said once.
  EXPECT_EQ(b.router->wildcard_counters().made, Router::kMaxWildcardChannels);
  EXPECT_EQ(b.router->wildcard_counters().refused, extra);
  EXPECT_EQ(b.sink.full, (std::vector<std::string>{"sensor.{name}"}));
  // Names it already has keep working after the cap.
  b.line("w0=7");
  EXPECT_DOUBLE_EQ(b.value("sensor.w0"), 7.0);
  EXPECT_EQ(b.counters.bad, extra);
}

TEST(Router, Wildcard_AFullChannelTableIsSaidOnceToo) {
  Bench b(true);
  for (std::uint32_t k = b.table.size(); k < ChannelTable::kCapacity; ++k)
    b.table.add("filler" + std::to_string(k), ChannelType::control);
  b.line("new1=1");
  b.line("new2=1");
  EXPECT_EQ(b.router->wildcard_counters().refused, 2u);
  EXPECT_EQ(b.sink.full, (std::vector<std::string>{"sensor.{name} (table)"}));
}

TEST(Router, StringValue_ToStringMapping) {
  Bench b(false);
  b.line("tag ABC123", 42);
  EXPECT_EQ(b.string_value("rfid"), "ABC123");
  std::uint32_t s = b.table.find("rfid");
  EXPECT_TRUE(b.table.at(s).dirty.load());
  EXPECT_EQ(b.table.at(s).arrival_ns.load(), 42);
  b.line("tag=0042");  // a number-looking tag stays the text as sent
  EXPECT_EQ(b.string_value("rfid"), "0042");
  EXPECT_EQ(b.counters.events, 2u);
  EXPECT_EQ(b.counters.bad, 0u);
}

TEST(Router, StringValueWithSpaces_ReachesTheStringChannelWhole) {
  Bench b(false);
  b.line("tag=hello world");
  EXPECT_EQ(b.string_value("rfid"), "hello world");
  b.line("tag: Room 2, door B");
  EXPECT_EQ(b.string_value("rfid"), "Room 2, door B");
  b.line("light=1023 tag=a b");  // a number before the text still routes
  EXPECT_DOUBLE_EQ(b.value("brightness"), 1.0);
  EXPECT_EQ(b.string_value("rfid"), "a b");
  EXPECT_EQ(b.counters.events, 4u);
  EXPECT_EQ(b.counters.unmatched, 0u);  // "world" is no trigger of its own
  EXPECT_EQ(b.counters.bad, 0u);
}

TEST(Router, StringValue_ToNumericMapping_CountedBad) {
  // `light=abc` cannot be scaled: dropped, counted, the channel keeps its value.
  Bench b(false);
  b.line("light=1023");
  std::uint32_t s = b.table.find("brightness");
  b.table.at(s).dirty.store(false);  // as if applied by the performance thread
  b.line("light=abc");
  b.line("light=nan");
  EXPECT_EQ(b.counters.bad, 2u);
  EXPECT_DOUBLE_EQ(b.value("brightness"), 1.0);
  EXPECT_FALSE(b.dirty("brightness"));
}

TEST(Router, Counters_EventsUnmatchedBad) {
  Bench b(false);
  b.line("light=512 unknown=5 =3 zzz");
  EXPECT_EQ(b.counters.events, 1u);     // light
  EXPECT_EQ(b.counters.unmatched, 2u);  // unknown, trigger zzz
  EXPECT_EQ(b.counters.bad, 1u);        // =3
}

TEST(Router, BinaryNoise_CountedBadAndNothingRouted) {
  Bench b(false);
  b.line(std::string_view("light=1023\x01\x02", 12));
  EXPECT_EQ(b.counters.bad, 1u);
  EXPECT_EQ(b.counters.events, 0u);
  EXPECT_FALSE(b.dirty("brightness"));
  EXPECT_TRUE(b.sink.routed.empty());
}

TEST(Router, CommentsAndEmptyLines_CountNothing) {
  Bench b(true);
  b.line("");
  b.line("# light=1023");
  EXPECT_EQ(b.counters.events + b.counters.unmatched + b.counters.bad, 0u);
  EXPECT_FALSE(b.dirty("brightness"));
}

TEST(Router, LatestValueWins_InOneLine) {
  Bench b(false);
  b.line("light=0 light=1023 light=511.5");
  EXPECT_DOUBLE_EQ(b.value("brightness"), 0.5);
  EXPECT_EQ(b.counters.events, 3u);
}

TEST(Router, LatestValueWins_AcrossLines) {
  Bench b(false);
  b.line("light=1023", 1);
  b.line("light=0", 2);
  b.line("light=511.5", 3);
  EXPECT_DOUBLE_EQ(b.value("brightness"), 0.5);
  EXPECT_EQ(b.table.at(b.table.find("brightness")).arrival_ns.load(), 3);
}

TEST(Router, OneSourceTwoChannelMappings_BothWritten) {
  Bench b(false);
  b.line("level=0.5");
  EXPECT_DOUBLE_EQ(b.value("level.a"), 0.5);  // no `in`: passes unchanged
  EXPECT_DOUBLE_EQ(b.value("level.b"), 5.0);  // in [0,1] onto [0,10]
  EXPECT_EQ(b.counters.events, 1u);           // one value, however many mappings
}

TEST(Router, RoutedToSink_WithSourceName) {
  Bench b(false);
  b.line("light=1023");
  ASSERT_EQ(b.sink.routed.size(), 1u);
  EXPECT_EQ(b.sink.routed[0], "light");
  EXPECT_EQ(b.sink.routed_slots[0], b.table.find("brightness"));
}

// --- Router: actions and scores ----------------------------------------------

TEST(Router, Action_FiresOnceOnRiseThroughHalf) {
  // A button held down sends btn=1 repeatedly: one reset, not one per line.
  Bench b(false);
  b.line("btn=0");
  EXPECT_TRUE(b.sink.actions.empty());
  b.line("btn=1");
  ASSERT_EQ(b.sink.actions.size(), 1u);
  EXPECT_EQ(b.sink.actions[0], Action::reset);
  b.line("btn=1");
  b.line("btn=0.7");
  b.line("btn=0.5");
  EXPECT_EQ(b.sink.actions.size(), 1u);
  b.line("btn=0.2");  // released
  EXPECT_EQ(b.sink.actions.size(), 1u);
  b.line("btn=0.9");  // pressed again
  EXPECT_EQ(b.sink.actions.size(), 2u);
  EXPECT_EQ(b.counters.bad, 0u);
}

TEST(Router, Action_FirstValueHigh_Fires) {
  // No previous value yet: a first `btn=1` is a press.
  Bench b(false);
  b.line("btn=1");
  EXPECT_EQ(b.sink.actions.size(), 1u);
}

TEST(Router, Action_ExactlyHalfIsHigh) {
  Bench b(false);
  b.line("btn=0.49");
  EXPECT_TRUE(b.sink.actions.empty());
  b.line("btn=0.5");
  EXPECT_EQ(b.sink.actions.size(), 1u);
}

TEST(Router, Trigger_FiresEveryTime) {
  // A bare word is a momentary press: rise and fall in one, so each fires.
  Bench b(false);
  b.line("btn");
  b.line("btn");
  b.line("btn");
  EXPECT_EQ(b.sink.actions, (std::vector<Action>{Action::reset, Action::reset, Action::reset}));
  EXPECT_EQ(b.counters.events, 3u);
}

TEST(Router, Score_FormattedWithValue) {
  Bench b(false);
  b.line("knock=0.75");
  ASSERT_EQ(b.sink.scores.size(), 1u);
  EXPECT_EQ(b.sink.scores[0], "i \"kick\" 0 0.5 0.75");
  b.line("knock=0.8");  // still high: no new event
  EXPECT_EQ(b.sink.scores.size(), 1u);
}

TEST(Router, OneSourceScoreAndAction_BothFire) {
  // `knock` feeds a score event and a pause: a trigger fires both, every time.
  Bench b(false);
  b.line("knock");
  b.line("knock");
  EXPECT_EQ(b.sink.scores, (std::vector<std::string>{"i \"kick\" 0 0.5 1", "i \"kick\" 0 0.5 1"}));
  EXPECT_EQ(b.sink.actions, (std::vector<Action>{Action::pause, Action::pause}));
}

TEST(Router, Action_StringValue_CountedBad) {
  Bench b(false);
  b.line("btn=on");
  EXPECT_TRUE(b.sink.actions.empty());
  EXPECT_EQ(b.counters.bad, 1u);
}

// --- ChannelTable -------------------------------------------------------------

TEST(ChannelTable, AddThenFind_SameSlot) {
  ChannelTable t;
  EXPECT_EQ(t.find("cutoff"), kNoSlot);
  std::uint32_t a = t.add("cutoff", ChannelType::control);
  std::uint32_t b = t.add("rfid", ChannelType::string);
  ASSERT_NE(a, kNoSlot);
  ASSERT_NE(b, kNoSlot);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.find("cutoff"), a);
  EXPECT_EQ(t.find("rfid"), b);
  EXPECT_EQ(t.add("cutoff", ChannelType::control), a);  // adding again finds it
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.at(a).name, "cutoff");
  EXPECT_EQ(t.at(b).type, ChannelType::string);
}

TEST(ChannelTable, TypeClash_ReturnsNoSlot) {
  ChannelTable t;
  std::uint32_t a = t.add("x", ChannelType::control);
  EXPECT_EQ(t.add("x", ChannelType::string), kNoSlot);
  EXPECT_EQ(t.find("x"), a);  // the existing channel is untouched
  EXPECT_EQ(t.at(a).type, ChannelType::control);
  EXPECT_EQ(t.size(), 1u);
}

TEST(ChannelTable, Capacity_FullReturnsNoSlot) {
  ChannelTable t;
  for (std::uint32_t i = 0; i < ChannelTable::kCapacity; ++i)
    ASSERT_EQ(t.add("c" + std::to_string(i), ChannelType::control), i);
  EXPECT_EQ(t.add("one.too.many", ChannelType::control), kNoSlot);
  EXPECT_EQ(t.size(), ChannelTable::kCapacity);
  // Existing names are still found when full.
  EXPECT_EQ(t.add("c7", ChannelType::control), 7u);
}

TEST(ChannelTable, Set_MarksDirtyWithArrivalTime) {
  ChannelTable t;
  std::uint32_t s = t.add("cutoff", ChannelType::control);
  EXPECT_FALSE(t.at(s).dirty.load());
  EXPECT_FALSE(t.at(s).has_value.load());
  t.set(s, 440.5, 123456789);
  EXPECT_EQ(t.at(s).value.load(), 440.5);
  EXPECT_EQ(t.at(s).arrival_ns.load(), 123456789);
  EXPECT_TRUE(t.at(s).dirty.load());
  EXPECT_TRUE(t.at(s).has_value.load());
  t.set(s, 880.0, 200000000);  // latest wins
  EXPECT_EQ(t.at(s).value.load(), 880.0);
  EXPECT_EQ(t.at(s).arrival_ns.load(), 200000000);
}

TEST(ChannelTable, SetString_CopiesAndMarksDirty) {
  ChannelTable t;
  std::uint32_t s = t.add("rfid", ChannelType::string);
  t.set_string(s, "ABC123", 77);
  std::string out;
  ASSERT_TRUE(t.try_copy_string(s, out));
  EXPECT_EQ(out, "ABC123");
  EXPECT_TRUE(t.at(s).dirty.load());
  EXPECT_EQ(t.at(s).arrival_ns.load(), 77);
  t.set_string(s, "Z", 78);  // a shorter value replaces, not overlays
  ASSERT_TRUE(t.try_copy_string(s, out));
  EXPECT_EQ(out, "Z");
}

TEST(ChannelTable, SetString_TruncatesToMaxMinusOne) {
  ChannelTable t;
  std::uint32_t s = t.add("rfid", ChannelType::string);
  std::string big(kMaxStringValue + 500, 'a');
  big[kMaxStringValue - 2] = 'y';  // the last byte kept
  big[kMaxStringValue - 1] = 'z';  // the first byte dropped
  t.set_string(s, big, 1);
  std::string out;
  ASSERT_TRUE(t.try_copy_string(s, out));
  ASSERT_EQ(out.size(), kMaxStringValue - 1);
  EXPECT_EQ(out.back(), 'y');
  EXPECT_EQ(t.at(s).str[kMaxStringValue - 1], '\0');  // C string for Csound
}

TEST(ChannelTable, TryCopyString_BusyLock_ReturnsFalse) {
  // The performance thread must never wait on the loop: a held lock means
  // "try again next k-cycle".
  ChannelTable t;
  std::uint32_t s = t.add("rfid", ChannelType::string);
  t.set_string(s, "ABC", 1);
  ASSERT_TRUE(t.at(s).str_lock.try_lock());
  std::string out = "unchanged";
  EXPECT_FALSE(t.try_copy_string(s, out));
  EXPECT_EQ(out, "unchanged");
  t.at(s).str_lock.unlock();
  EXPECT_TRUE(t.try_copy_string(s, out));
  EXPECT_EQ(out, "ABC");
}

}  // namespace
}  // namespace csb
