// SPEC §8: no heap allocation on the path from a received event to the
// channel write, after start-up. Counted with a replaced operator new.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "core/channels.hpp"
#include "core/lines_parser.hpp"
#include "core/router.hpp"

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
