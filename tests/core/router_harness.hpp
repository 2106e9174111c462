#pragma once
// What the router tests share: a sink that records what the router hands to
// the rest of the bridge, and a router over a fresh channel table.

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/channels.hpp"
#include "core/config.hpp"
#include "core/router.hpp"

namespace csb::test {

/// Records what the router hands to the rest of the bridge.
class RecordingSink : public RouterSink {
 public:
  void on_action(Action action) override { actions.push_back(action); }
  void on_score(std::string_view event) override { scores.emplace_back(event); }
  void on_routed(std::uint32_t, std::string_view source, std::uint32_t slot,
                 double value) override {
    routed.emplace_back(source);
    routed_slots.push_back(slot);
    values.push_back(value);
  }
  void on_wildcard_full(std::uint32_t, std::string_view to, bool table_full) override {
    full.emplace_back(std::string(to) + (table_full ? " (table)" : ""));
  }

  std::vector<Action> actions;
  std::vector<std::string> scores;
  std::vector<std::string> routed;
  std::vector<std::uint32_t> routed_slots;
  std::vector<double> values;
  std::vector<std::string> full;  ///< on_wildcard_full: the template
};

/// A router built from `config` over a fresh channel table.
struct RouterBench {
  explicit RouterBench(Config c)
      : config(std::move(c)), router(std::make_unique<Router>(config, table, sink)) {}

  /// The control value of a channel; fails the test when it does not exist.
  double value(std::string_view name) {
    std::uint32_t s = table.find(name);
    EXPECT_NE(s, kNoSlot) << name;
    return s == kNoSlot ? NAN : table.at(s).value.load();
  }
  bool dirty(std::string_view name) {
    std::uint32_t s = table.find(name);
    EXPECT_NE(s, kNoSlot) << name;
    return s != kNoSlot && table.at(s).dirty.load();
  }
  std::string string_value(std::string_view name) {
    std::uint32_t s = table.find(name);
    EXPECT_NE(s, kNoSlot) << name;
    std::string out;
    if (s != kNoSlot) {
      EXPECT_TRUE(table.try_copy_string(s, out));
    }
    return out;
  }

  Config config;
  ChannelTable table;
  RecordingSink sink;
  InputCounters counters;
  std::unique_ptr<Router> router;
};

}  // namespace csb::test
