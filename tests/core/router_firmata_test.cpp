// Routing a Firmata board's pin values (SPEC §3.1, §3.2): analog pins
// scaled over their raw range, digital pins as 0/1 with `do:`, `score:` and
// `value: toggle` on the rising edge, every mapping of a pin written.
//
// The config, as YAML:
//   devices:
//     uno:   {serial: /dev/ttyACM*, format: firmata}
//     board: {serial: /dev/ttyUSB*}
//   map:
//     - {from: uno A0..A5, to: "pot{n}"}
//     - {from: uno A0, to: cutoff, range: [100, 8000], curve: exp}
//     - {from: uno D2, to: button}
//     - {from: uno D3, do: reset}
//     - {from: uno D4, score: 'i "kick" 0 0.5 {value}'}
//     - {from: uno D5, to: latch, value: toggle}

#include <gtest/gtest.h>

#include <string>

#include "core/router.hpp"
#include "router_harness.hpp"

namespace csb {
namespace {

Mapping pin(SourceKind kind, int lo, int hi) {
  Mapping m;
  m.from.device = "uno";
  m.from.kind = kind;
  m.from.lo = lo;
  m.from.hi = hi;
  m.from.has_number = true;
  return m;
}

Config firmata_config() {
  Config c;
  c.path = "<test>";
  DeviceConfig uno;
  uno.name = "uno";
  uno.kind = DeviceKind::serial;
  uno.glob = "/dev/ttyACM*";
  uno.format = SerialFormat::firmata;
  c.devices.push_back(uno);
  DeviceConfig board;
  board.name = "board";
  board.kind = DeviceKind::serial;
  board.glob = "/dev/ttyUSB*";
  c.devices.push_back(board);

  Mapping pots = pin(SourceKind::analog, 0, 5);
  pots.to = "pot{n}";
  c.map.push_back(pots);
  Mapping cutoff = pin(SourceKind::analog, 0, 0);
  cutoff.to = "cutoff";
  cutoff.range = {100.0, 8000.0};
  cutoff.curve = Curve::exp;
  c.map.push_back(cutoff);
  Mapping button = pin(SourceKind::digital, 2, 2);
  button.to = "button";
  c.map.push_back(button);
  Mapping reset = pin(SourceKind::digital, 3, 3);
  reset.action = Action::reset;
  c.map.push_back(reset);
  Mapping kick = pin(SourceKind::digital, 4, 4);
  kick.score = "i \"kick\" 0 0.5 {value}";
  c.map.push_back(kick);
  Mapping latch = pin(SourceKind::digital, 5, 5);
  latch.to = "latch";
  latch.value = ValueMode::toggle;
  c.map.push_back(latch);
  return c;
}

struct Bench : test::RouterBench {
  Bench() : RouterBench(firmata_config()) {}
  void analog(int p, double raw) {
    router->on_firmata(0, SourceKind::analog, p, raw, 1000, counters);
  }
  void digital(int p, double raw) {
    router->on_firmata(0, SourceKind::digital, p, raw, 1000, counters);
  }
};

TEST(RouterFirmata, AnalogPinsAreScaledOverTheirRawRangeIntoEveryMapping) {
  Bench b;
  b.analog(0, 1023);
  EXPECT_DOUBLE_EQ(b.value("pot0"), 1.0);
  EXPECT_DOUBLE_EQ(b.value("cutoff"), 8000.0);
  b.analog(0, 0);
  EXPECT_DOUBLE_EQ(b.value("pot0"), 0.0);
  EXPECT_DOUBLE_EQ(b.value("cutoff"), 100.0);
  b.analog(3, 511.5);
  EXPECT_DOUBLE_EQ(b.value("pot3"), 0.5);
  b.analog(5, 2000);  // clamped to the raw range
  EXPECT_DOUBLE_EQ(b.value("pot5"), 1.0);
  EXPECT_EQ(b.counters.events, 4u);
  ASSERT_GE(b.sink.routed.size(), 2u);
  EXPECT_EQ(b.sink.routed[0], "A0");
}

TEST(RouterFirmata, DigitalPinsWriteTheirLevelAndFireOnTheRise) {
  Bench b;
  b.digital(2, 1);
  EXPECT_DOUBLE_EQ(b.value("button"), 1.0);
  b.digital(2, 0);
  EXPECT_DOUBLE_EQ(b.value("button"), 0.0);

  for (double level : {0, 1, 1, 0, 1}) b.digital(3, level);
  EXPECT_EQ(b.sink.actions, (std::vector<Action>{Action::reset, Action::reset}));

  for (double level : {1, 0, 1}) b.digital(4, level);
  EXPECT_EQ(b.sink.scores, (std::vector<std::string>{"i \"kick\" 0 0.5 1", "i \"kick\" 0 0.5 1"}));

  b.digital(5, 1);
  EXPECT_DOUBLE_EQ(b.value("latch"), 1.0);
  b.digital(5, 0);
  EXPECT_DOUBLE_EQ(b.value("latch"), 1.0);
  b.digital(5, 1);
  EXPECT_DOUBLE_EQ(b.value("latch"), 0.0);
}

TEST(RouterFirmata, UnmappedPinsAndNonsenseAreCountedNotRouted) {
  Bench b;
  b.analog(7, 100);   // not mapped
  b.digital(13, 1);   // not mapped
  b.analog(16, 100);  // no such pin
  b.digital(54, 1);
  b.digital(-1, 1);
  b.router->on_firmata(0, SourceKind::cc, 1, 1, 1000, b.counters);  // not a pin kind
  EXPECT_EQ(b.counters.unmatched, 2u);
  EXPECT_EQ(b.counters.bad, 4u);
  EXPECT_EQ(b.counters.events, 0u);
  EXPECT_TRUE(b.sink.routed.empty());

  // Pin values for a device that is not a firmata board, and lines for one
  // that is, are not for it.
  InputCounters other;
  b.router->on_firmata(1, SourceKind::analog, 0, 1023, 1000, other);
  b.router->on_line(0, "A0=1023", 1000, other);
  EXPECT_EQ(other.events + other.unmatched + other.bad, 0u);
  EXPECT_DOUBLE_EQ(b.value("pot0"), 0.0);
}

}  // namespace
}  // namespace csb
