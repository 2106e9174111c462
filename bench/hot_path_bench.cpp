// Micro-benchmarks of the event path that runs for every value a board
// sends: split a line, tokenize it, look its names up, scale, and store into
// the channel table (SPEC §8: no allocation, lock or system call there).

#include <benchmark/benchmark.h>

#include <string>

#include "core/channels.hpp"
#include "core/lines_parser.hpp"
#include "core/router.hpp"

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
