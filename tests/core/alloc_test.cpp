// SPEC §8: no heap allocation on the path from a received event to the
// channel write, after start-up. Counted with a replaced operator new.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <span>
#include <vector>

#include "core/channels.hpp"
#include "core/firmata.hpp"
#include "core/firmata_session.hpp"
#include "core/lines_parser.hpp"
#include "core/midi.hpp"
#include "core/note_set.hpp"
#include "core/router.hpp"
#include "firmata_uno.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
// The nothrow forms too (std::stable_sort's buffer), or a sanitizer's own
// nothrow new would be paired with the free() above.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
  return std::malloc(n ? n : 1);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace {

struct NullSink : csb::RouterSink {
  void on_action(csb::Action) override {}
  void on_score(std::string_view) override {}
};

csb::Config lines_config() {
  csb::Config c;
  csb::DeviceConfig d;
  d.name = "board";
  d.kind = csb::DeviceKind::serial;
  d.format = csb::SerialFormat::lines;
  d.columns = {"light_sensor_long_name", "dist"};
  c.devices.push_back(d);
  auto map = [&](csb::SourceKind kind, std::string name, std::string to) {
    csb::Mapping m;
    m.from.device = "board";
    m.from.kind = kind;
    m.from.name = std::move(name);
    m.to = std::move(to);
    m.in = std::pair{0.0, 1023.0};
    c.map.push_back(m);
  };
  map(csb::SourceKind::named, "light_sensor_long_name", "a_channel_name_longer_than_sso");
  map(csb::SourceKind::named, "dist", "dist");
  map(csb::SourceKind::wildcard, "", "sensor.{name}");
  return c;
}

}  // namespace

TEST(HotPath, LineToChannelWrite_AllocatesNothing) {
  csb::ChannelTable table;
  NullSink sink;
  csb::Config config = lines_config();
  csb::Router router(config, table, sink);
  csb::LineSplitter splitter(256);
  csb::InputCounters counters;
  const std::string bytes =
      "light_sensor_long_name=512 dist:40\r\n300,20\nlight_sensor_long_name 7\n";
  // Start-up: the wildcard makes its channels on first sight of each name.
  splitter.feed(bytes.data(), bytes.size(),
                [&](std::string_view l) { router.on_line(0, l, 1, counters); });

  counting = true;
  for (int i = 0; i < 1000; ++i)
    splitter.feed(bytes.data(), bytes.size(),
                  [&](std::string_view l) { router.on_line(0, l, i, counters); });
  counting = false;
  EXPECT_EQ(allocations.load(), 0);
  EXPECT_EQ(counters.bad, 0u);
  EXPECT_EQ(table.at(table.find("a_channel_name_longer_than_sso")).value.load(), 7.0 / 1023.0);
}

namespace {

csb::Config midi_config() {
  csb::Config c;
  csb::DeviceConfig d;
  d.name = "keys";
  d.kind = csb::DeviceKind::midi;
  c.devices.push_back(d);
  auto map = [&](csb::SourceKind kind, int lo, int hi, std::string to) -> csb::Mapping& {
    csb::Mapping m;
    m.from.device = "keys";
    m.from.kind = kind;
    m.from.lo = lo;
    m.from.hi = hi;
    m.from.has_number = true;
    m.to = std::move(to);
    c.map.push_back(m);
    return c.map.back();
  };
  map(csb::SourceKind::cc, 0, 7, "a_fader_channel_name_longer_than_sso_{i}");
  map(csb::SourceKind::cc, 10, 10, "pan{ch}");
  map(csb::SourceKind::cc, 64, 64, "sustain").value = csb::ValueMode::toggle;
  map(csb::SourceKind::note, 36, 51, "pad{n}");
  map(csb::SourceKind::note, 36, 36, "kick_gate").value = csb::ValueMode::gate;
  map(csb::SourceKind::cc14, 1, 1, "mod_wheel_fine");
  map(csb::SourceKind::nrpn, 300, 301, "nrpn{n}").range_raw = true;
  return c;
}

}  // namespace

TEST(HotPath, MidiToChannelWrite_AllocatesNothing) {
  csb::ChannelTable table;
  NullSink sink;
  csb::Config config = midi_config();
  csb::Router router(config, table, sink);
  csb::MidiDecoder decoder;
  csb::InputCounters counters;
  // cc with running status on two channels, a held button, notes on and off
  // (velocity 0), a 14-bit mod wheel, an NRPN select + data entry + increment,
  // and clock ticks (no clock mapping) in between.
  const std::vector<std::uint8_t> bytes = {
      0xB0, 0x00, 0x40, 0x07, 0x7F, 0xB1, 0x0A, 0x20,              // cc 0, cc 7, pan ch 2
      0xB0, 0x40, 0x7F, 0x40, 0x00,                                // sustain toggle
      0x90, 0x24, 0x64, 0xF8, 0x24, 0x00, 0x80, 0x25, 0x40,        // notes
      0xB0, 0x01, 0x40, 0x21, 0x05,                                // cc14 1
      0xB0, 0x63, 0x02, 0x62, 0x2C, 0x06, 0x0A, 0x26, 0x05, 0x60,  // nrpn 300
      0x00, 0xF8, 0x61, 0x00,                                      // inc, dec
      0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7,                          // identity request
  };
  std::uint64_t sysex = 0;
  auto feed = [&](std::int64_t t) {
    decoder.feed(
        bytes.data(), bytes.size(),
        [&](const csb::MidiMessage& m) { router.on_midi(0, m, t, counters); },
        [&](std::span<const std::uint8_t>) { ++sysex; });
  };
  feed(1);  // start-up

  counting = true;
  for (int i = 0; i < 1000; ++i) feed(i);
  counting = false;
  EXPECT_EQ(allocations.load(), 0);
  EXPECT_EQ(counters.bad, 0u);
  EXPECT_EQ(decoder.errors(), 0u);
  EXPECT_EQ(sysex, 1001u);
  EXPECT_EQ(table.at(table.find("a_fader_channel_name_longer_than_sso_7")).value.load(), 1.0);
  EXPECT_EQ(table.at(table.find("nrpn300")).value.load(), (10 << 7) | 5);
  EXPECT_EQ(table.at(table.find("pad36")).value.load(), 0.0);
  EXPECT_GT(counters.events, 1000u * 15);
}

namespace {

/// Routes what a Firmata session hands over, as the serial device does; its
/// bytes go nowhere.
struct RoutingHost : csb::firmata::Session::Host {
  csb::Router& router;
  csb::InputCounters counters;
  std::int64_t now = 0;
  long bytes = 0, analogs = 0, digitals = 0, configured_count = 0;
  explicit RoutingHost(csb::Router& r) : router(r) {}
  void send(const std::uint8_t*, std::size_t n) override { bytes += static_cast<long>(n); }
  void analog(int c, int v) override {
    ++analogs;
    router.on_firmata(0, csb::SourceKind::analog, c, v, now, counters);
  }
  void digital(int p, int v) override {
    ++digitals;
    router.on_firmata(0, csb::SourceKind::digital, p, v, now, counters);
  }
  void configured() override { ++configured_count; }
  void problem(std::string_view) override {}
  void text(std::string_view) override {}
  void silent() override {}
};

}  // namespace

TEST(HotPath, FirmataValuesAndFeedback_AllocateNothing) {
  namespace fm = csb::firmata;
  fm::PinPlan plan;
  plan.analog = 0b111;
  plan.pullup[2] = true;
  plan.output[13] = true;
  plan.pwm[9] = true;
  csb::Config config;
  csb::DeviceConfig device;
  device.name = "uno";
  device.format = csb::SerialFormat::firmata;
  config.devices.push_back(device);
  csb::Mapping pots;
  pots.from.device = "uno";
  pots.from.kind = csb::SourceKind::analog;
  pots.from.lo = 0;
  pots.from.hi = 2;
  pots.from.has_number = true;
  pots.to = "a_pot_channel_name_longer_than_sso_{n}";
  config.map.push_back(pots);
  csb::Mapping button = pots;
  button.from.kind = csb::SourceKind::digital;
  button.from.lo = button.from.hi = 2;
  button.to = "button";
  button.value = csb::ValueMode::toggle;
  config.map.push_back(button);
  csb::ChannelTable table;
  NullSink sink;
  csb::Router router(config, table, sink);
  RoutingHost host(router);
  fm::Session session(plan, host);
  fm::Decoder decoder(fm::End::kHost);
  std::int64_t now = 0;
  auto deliver = [&](const std::uint8_t* b, std::size_t n) {
    decoder.feed(
        b, n, [&](const fm::Message& m) { session.on_message(m, now); },
        [&](std::uint8_t id, std::span<const std::uint8_t> p) { session.on_sysex(id, p, now); });
  };

  // Start-up: the handshake with a board of 20 pins, A0..A5 on 14..19.
  const fm::Board uno = csb::test::standard_firmata_uno();
  static std::uint8_t reply[4096];
  session.open(now);
  deliver(reply, fm::version_report(2, 5, reply, sizeof reply));
  deliver(reply, fm::capability_response(uno, reply, sizeof reply));
  deliver(reply, fm::analog_mapping_response(uno, reply, sizeof reply));
  ASSERT_EQ(session.state(), fm::Session::State::kReady);

  // A sampling interval's worth: three analog values, port 0 changing.
  std::vector<std::uint8_t> bytes;
  std::uint8_t b[fm::kMaxEncoded];
  for (int c = 0; c < 3; ++c) {
    const std::size_t n = fm::analog_write(c, 100u * c, b);
    bytes.insert(bytes.end(), b, b + n);
  }
  const std::size_t ports = bytes.size();
  bytes.resize(ports + 3);
  csb::Feedback led, dimmer;
  led.kind = csb::FeedbackKind::firmata_digital;
  led.number = 13;
  dimmer.kind = csb::FeedbackKind::firmata_pwm;
  dimmer.number = 9;
  std::size_t sent = 0;

  counting = true;
  for (int i = 0; i < 1000; ++i) {
    now += 19'000'000;
    host.now = now;
    fm::digital_port(0, (i & 1) << 2, bytes.data() + ports);
    deliver(bytes.data(), bytes.size());
    session.tick(now);
    // Feedback is encoded on the performance thread, without the session.
    std::uint8_t out[6];
    sent += fm::encode_feedback(led, i & 1, out) + fm::encode_feedback(dimmer, i / 1000.0, out);
  }
  counting = false;
  EXPECT_EQ(allocations.load(), 0);
  EXPECT_EQ(host.analogs, 3000);
  EXPECT_EQ(host.digitals, 1000);
  EXPECT_EQ(host.configured_count, 1);
  EXPECT_EQ(decoder.errors(), 0u);
  EXPECT_EQ(sent, 6000u);
  EXPECT_EQ(host.counters.events, 4000u);
  EXPECT_EQ(host.counters.bad, 0u);
  EXPECT_EQ(table.at(table.find("a_pot_channel_name_longer_than_sso_2")).value.load(),
            200 / 1023.0);
}

TEST(HotPath, NoteSetFeedAndRelease_AllocateNothing) {
  // A passthrough port's notes, and what ends them when it goes away.
  csb::NoteSet held;
  int released = 0;
  counting = true;
  for (int i = 0; i < 1000; ++i) {
    const auto c = static_cast<std::uint8_t>(i % 16);
    const auto n = static_cast<std::uint8_t>(i % 128);
    held.feed(csb::MidiMessage::make(csb::midi::kNoteOn | c, n, 100));
    held.feed(csb::MidiMessage::make(csb::midi::kControlChange | c, 64, 127));
    if (i % 100 == 99) {
      held.for_each_release([&](const csb::MidiMessage&) { ++released; });
      held.clear();
    }
  }
  counting = false;
  EXPECT_EQ(allocations.load(), 0);
  EXPECT_EQ(released, 10 * (100 + 16));
  EXPECT_TRUE(held.empty());
}
