// DeviceSet, the one owner of the devices, with a transport and devices of
// the test's own: what it makes, keeps, retires, scans and reports.

#include "device/device_set.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace csb {
namespace {

using namespace std::chrono_literals;

/// What happened, in order, across the transport and its devices.
std::vector<std::string> journal;

struct TestSink : DeviceSink {
  void on_line(DeviceIndex, std::string_view, std::int64_t, InputCounters&) override {}
  void on_midi(DeviceIndex, std::uint32_t, const MidiMessage&, std::int64_t,
               InputCounters&) override {}
  void on_pin(DeviceIndex, SourceKind, int, double, std::int64_t, InputCounters&) override {}
  void on_midi_port_closed(DeviceIndex, std::uint32_t) override {}
  void on_output_ready(Device&, FeedbackPort&) override {}
};

class TestDevice : public Device {
 public:
  TestDevice(const DeviceConfig& c, DeviceIndex i) : config_(c), index_(i) {}
  ~TestDevice() override { journal.push_back("gone " + config_.name); }
  const DeviceConfig& config() const override { return config_; }
  DeviceIndex index() const override { return index_; }
  void set_index(DeviceIndex i) override { index_ = i; }
  const char* kind_name() const override { return "test"; }
  bool keeps(const Config& next, DeviceIndex i) const override {
    return next.devices[i].settings() == config_.settings();
  }
  void claim_open() override { journal.push_back("claim " + config_.name); }
  void scan() override {
    journal.push_back("scan " + config_.name);
    connected_ = true;
  }
  void close_all(const std::string& why) override {
    journal.push_back("close " + config_.name + " (" + why + ")");
    connected_ = false;
  }
  bool connected() const override { return connected_; }
  DeviceStats stats() const override {
    DeviceStats s;
    s.connected = connected_;
    s.port = connected_ ? "p0" : "";
    if (connected_) s.ports = {"p0"};
    s.input.events = 3;
    s.connects = 1;
    s.details = {{"own", 7}};
    return s;
  }
  SendResult try_send(const char*, std::size_t) noexcept override { return SendResult::absent; }

 private:
  DeviceConfig config_;
  DeviceIndex index_;
  bool connected_ = false;
};

/// Makes the serial entries; `soon`: the scan it wants sooner.
class TestTransport : public Transport {
 public:
  explicit TestTransport(std::chrono::milliseconds soon) : soon_(soon) {}
  bool handles(const DeviceConfig& d) const override { return d.kind == DeviceKind::serial; }
  std::unique_ptr<Device> make(const Config& c, DeviceIndex i, DeviceSink&) override {
    journal.push_back("make " + c.devices[i].name);
    return std::make_unique<TestDevice>(c.devices[i], i);
  }
  void reconfigure(const Config&) override { journal.push_back("reconfigure"); }
  void begin_scan() override { journal.push_back("begin"); }
  std::chrono::milliseconds end_scan() override {
    journal.push_back("end");
    return soon_;
  }
  void describe(nlohmann::json& status) const override { status["test"] = true; }

 private:
  std::chrono::milliseconds soon_;
};

DeviceConfig serial(const std::string& name, const std::string& glob) {
  DeviceConfig d;
  d.name = name;
  d.kind = DeviceKind::serial;
  d.glob = glob;
  return d;
}

DeviceConfig midi(const std::string& name) {
  DeviceConfig d;
  d.name = name;
  d.kind = DeviceKind::midi;
  d.glob = "*";
  return d;
}

class DeviceSetTest : public ::testing::Test {
 protected:
  void SetUp() override { journal.clear(); }
  DeviceSet make_set(std::chrono::milliseconds soon_a = 0ms,
                     std::chrono::milliseconds soon_b = 0ms) {
    std::vector<std::unique_ptr<Transport>> t;
    t.push_back(std::make_unique<TestTransport>(soon_a));
    t.push_back(std::make_unique<TestTransport>(soon_b));
    return DeviceSet(std::move(t), sink);
  }
  TestSink sink;
};

TEST_F(DeviceSetTest, MakesEachEntryWithTheFirstTransportThatHandlesItAndSkipsTheRest) {
  Config c;
  c.devices = {serial("a", "/dev/a*"), midi("m"), serial("b", "/dev/b*")};
  DeviceSet set = make_set();
  set.build(c);
  EXPECT_EQ(journal, (std::vector<std::string>{"make a", "make b"}));
  ASSERT_EQ(set.all().size(), 2u);
  EXPECT_EQ(set.all()[0]->index(), 0u);
  EXPECT_EQ(set.all()[1]->index(), 2u);
  EXPECT_EQ(set.find("b"), set.all()[1].get());
  EXPECT_EQ(set.find("m"), nullptr);
}

TEST_F(DeviceSetTest, EveryDeviceClaimsWhatItHoldsBeforeAnyScansAndTheSoonestWishWins) {
  Config c;
  c.devices = {serial("a", "/dev/a*"), serial("b", "/dev/b*")};
  DeviceSet set = make_set(1000ms, 20ms);
  set.build(c);
  journal.clear();
  EXPECT_EQ(set.scan(), 20ms);
  EXPECT_EQ(journal, (std::vector<std::string>{"begin", "begin", "claim a", "claim b", "scan a",
                                               "scan b", "end", "end"}));
  EXPECT_EQ(set.connected(), 2u);
  EXPECT_EQ(make_set(0ms, 0ms).scan(), 0ms);
}

TEST_F(DeviceSetTest, AReloadKeepsEqualEntriesReindexedAndRetiresTheOthersUntilDropped) {
  Config before;
  before.devices = {serial("a", "/dev/a*"), serial("b", "/dev/b*")};
  DeviceSet set = make_set();
  set.build(before);
  Device* a = set.all()[0].get();
  journal.clear();

  Config next;
  next.devices = {serial("c", "/dev/c*"), serial("a", "/dev/a*")};
  DeviceSet::Changes ch = set.reload(next);
  EXPECT_EQ(ch.kept, std::vector<std::string>{"a"});
  EXPECT_EQ(ch.opened, std::vector<std::string>{"c"});
  EXPECT_EQ(ch.closed, std::vector<std::string>{"b"});
  // Closed first, the transports told, then the new one made; b lives on.
  EXPECT_EQ(journal, (std::vector<std::string>{"close b (closed by the reload)", "reconfigure",
                                               "reconfigure", "make c"}));
  ASSERT_EQ(set.all().size(), 2u);
  EXPECT_EQ(set.all()[0]->config().name, "c");  // in the order of the file
  EXPECT_EQ(set.all()[1].get(), a);             // the same object, connection and all
  EXPECT_EQ(a->index(), 1u);
  journal.clear();
  set.drop_retired();
  EXPECT_EQ(journal, std::vector<std::string>{"gone b"});
}

TEST_F(DeviceSetTest, ListsEveryDeviceInOneShapeAndTheTransportsAddTheirParts) {
  Config c;
  c.devices = {serial("a", "/dev/a*")};
  DeviceSet set = make_set();
  set.build(c);
  set.scan();
  nlohmann::json list = set.to_json();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], (nlohmann::json{{"name", "a"},
                                     {"kind", "test"},
                                     {"state", "connected"},
                                     {"glob", "/dev/a*"},
                                     {"port", "p0"},
                                     {"ports", {"p0"}},
                                     {"events", 3},
                                     {"unmatched", 0},
                                     {"bad_input", 0},
                                     {"connects", 1},
                                     {"last_error", ""},
                                     {"own", 7}}));
  nlohmann::json status = nlohmann::json::object();
  set.describe(status);
  EXPECT_EQ(status["test"], true);
  set.stop();
  EXPECT_EQ(journal.back(), "close a (stopping)");
  EXPECT_EQ(set.connected(), 0u);
}

}  // namespace
}  // namespace csb
