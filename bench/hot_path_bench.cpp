// Micro-benchmarks of the event path that runs for every value a board
// sends: split a line, tokenize it, look its names up, scale, and store into
// the channel table; for a Firmata board, frame its messages, hand them
// through its session and route the pin values (SPEC §8: no allocation,
// lock or system call there).

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/channels.hpp"
#include "core/firmata.hpp"
#include "core/firmata_session.hpp"
#include "core/lines_parser.hpp"
#include "core/router.hpp"
#include "firmata_uno.hpp"

namespace {

struct NullSink : csb::RouterSink {
  void on_action(csb::Action) override {}
  void on_score(std::string_view) override {}
};

csb::Config board_config() {
  csb::Config c;
  csb::DeviceConfig d;
  d.name = "board";
  d.kind = csb::DeviceKind::serial;
  d.format = csb::SerialFormat::lines;
  c.devices.push_back(d);
  for (const char* name : {"light", "dist", "pot"}) {
    csb::Mapping m;
    m.from.device = "board";
    m.from.kind = csb::SourceKind::named;
    m.from.name = name;
    m.to = name;
    m.in = std::pair{0.0, 1023.0};
    m.range = {100.0, 8000.0};
    m.curve = csb::Curve::exp;
    c.map.push_back(m);
  }
  return c;
}

void BM_RouteLine(benchmark::State& state, const std::string& line) {
  csb::ChannelTable table;
  NullSink sink;
  csb::Config config = board_config();
  csb::Router router(config, table, sink);
  csb::InputCounters counters;
  std::int64_t t = 0;
  for (auto _ : state) router.on_line(0, line, ++t, counters);
  state.SetItemsProcessed(state.iterations());
  state.counters["values/line"] =
      static_cast<double>(counters.events) / static_cast<double>(state.iterations());
}
BENCHMARK_CAPTURE(BM_RouteLine, one_value, std::string("light=512"));
BENCHMARK_CAPTURE(BM_RouteLine, three_values, std::string("light=512 dist:40.5 pot 300"));

void BM_SplitAndRoute(benchmark::State& state) {
  csb::ChannelTable table;
  NullSink sink;
  csb::Config config = board_config();
  csb::Router router(config, table, sink);
  csb::LineSplitter splitter(256);
  csb::InputCounters counters;
  std::string bytes;
  for (int i = 0; i < 64; ++i) bytes += "light=" + std::to_string(i * 16) + "\r\n";
  for (auto _ : state)
    splitter.feed(bytes.data(), bytes.size(),
                  [&](std::string_view l) { router.on_line(0, l, 1, counters); });
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_SplitAndRoute);

/// Hands a session's pin values to the router, as the serial device does.
struct RoutingHost : csb::firmata::Session::Host {
  csb::Router& router;
  csb::InputCounters counters;
  explicit RoutingHost(csb::Router& r) : router(r) {}
  void send(const std::uint8_t*, std::size_t) override {}
  void analog(int c, int v) override {
    router.on_firmata(0, csb::SourceKind::analog, c, v, 1, counters);
  }
  void digital(int p, int v) override {
    router.on_firmata(0, csb::SourceKind::digital, p, v, 1, counters);
  }
  void configured() override {}
  void problem(std::string_view) override {}
  void text(std::string_view) override {}
  void silent() override {}
};

// One sampling interval of an Uno reading A0..A5 (as StandardFirmata sends
// it: six analog messages) and one digital port, framed, through the
// session, routed and stored.
void BM_FirmataFrameAndRoute(benchmark::State& state) {
  namespace fm = csb::firmata;
  csb::Config config;
  csb::DeviceConfig d;
  d.name = "uno";
  d.format = csb::SerialFormat::firmata;
  config.devices.push_back(d);
  csb::Mapping pots;
  pots.from.device = "uno";
  pots.from.kind = csb::SourceKind::analog;
  pots.from.lo = 0;
  pots.from.hi = 5;
  pots.from.has_number = true;
  pots.to = "pot{n}";
  config.map.push_back(pots);
  csb::Mapping button = pots;
  button.from.kind = csb::SourceKind::digital;
  button.from.lo = button.from.hi = 2;
  button.to = "button";
  config.map.push_back(button);
  csb::ChannelTable table;
  NullSink sink;
  csb::Router router(config, table, sink);
  RoutingHost host(router);
  fm::Session session(fm::plan_for(config, 0), host);
  fm::Decoder decoder(fm::End::kHost);
  auto deliver = [&](const std::uint8_t* b, std::size_t n) {
    decoder.feed(
        b, n, [&](const fm::Message& m) { session.on_message(m, 1); },
        [&](std::uint8_t id, std::span<const std::uint8_t> p) { session.on_sysex(id, p, 1); });
  };
  // The handshake with an Uno: 20 pins, A0..A5 on 14..19.
  const fm::Board uno = csb::test::standard_firmata_uno();
  static std::uint8_t reply[4096];
  session.open(0);
  deliver(reply, fm::version_report(2, 5, reply, sizeof reply));
  deliver(reply, fm::capability_response(uno, reply, sizeof reply));
  deliver(reply, fm::analog_mapping_response(uno, reply, sizeof reply));
  if (session.state() != fm::Session::State::kReady) state.SkipWithError("no handshake");

  std::vector<std::uint8_t> interval;
  std::uint8_t b[fm::kMaxEncoded];
  for (int c = 0; c < 6; ++c) {
    const std::size_t n = fm::analog_write(c, 100u * c + 1, b);
    interval.insert(interval.end(), b, b + n);
  }
  const std::size_t port = interval.size();
  interval.resize(port + 3);
  unsigned i = 0;
  for (auto _ : state) {
    fm::digital_port(0, (++i & 1) << 2, interval.data() + port);  // D2 changes
    deliver(interval.data(), interval.size());
  }
  state.SetItemsProcessed(state.iterations() * 7);  // messages
  state.counters["values/interval"] =
      static_cast<double>(host.counters.events) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_FirmataFrameAndRoute);

void BM_ChannelTableSet(benchmark::State& state) {
  csb::ChannelTable table;
  std::uint32_t slot = table.add("cutoff", csb::ChannelType::control);
  double v = 0;
  for (auto _ : state) table.set(slot, v += 1, 1);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChannelTableSet);

}  // namespace

BENCHMARK_MAIN();
