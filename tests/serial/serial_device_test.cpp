// A serial device on its own, with real pseudo-terminals and no service
// around it: what a reload keeps, what a scan opens (a port no other
// device holds, character devices only), and its figures.

#include "serial/serial_device.hpp"

#include <gtest/gtest.h>
#include <pty.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/loader.hpp"
#include "serial/serial_transport.hpp"

namespace csb {
namespace {

namespace fs = std::filesystem;

struct NoSink : DeviceSink {
  void on_line(DeviceIndex, std::string_view, std::int64_t, InputCounters&) override {}
  void on_midi(DeviceIndex, std::uint32_t, const MidiMessage&, std::int64_t,
               InputCounters&) override {}
  void on_pin(DeviceIndex, SourceKind, int, double, std::int64_t, InputCounters&) override {}
  void on_midi_port_closed(DeviceIndex, std::uint32_t) override {}
  void on_output_ready(Device&, FeedbackPort&) override { ++ready; }
  int ready = 0;
};

/// One pseudo-terminal, its slave linked at `link`.
struct Pty {
  explicit Pty(const fs::path& link) {
    char name[256];
    EXPECT_EQ(::openpty(&master, &slave, name, nullptr, nullptr), 0);
    fs::create_symlink(name, link);
  }
  ~Pty() {
    ::close(master);
    ::close(slave);
  }
  int master = -1, slave = -1;
};

class SerialDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("csb-serial-device-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "x.csd") << "<CsoundSynthesizer></CsoundSynthesizer>\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  Config load(const std::string& devices, const std::string& map = "") {
    return load_config_text(
        "csound:\n  csd: x.csd\ndevices:\n" + devices + (map.empty() ? "" : "map:\n" + map),
        (dir_ / "test.yaml").string(), dir_.string());
  }
  std::string glob(const std::string& stem) { return (dir_ / stem).string() + "*"; }

  fs::path dir_;
  boost::asio::io_context io_;
  SerialTransport transport_{io_, [] {}};
  NoSink sink_;
};

TEST_F(SerialDeviceTest, AReloadKeepsItOnlyForTheSameSettingsAndTheSamePins) {
  const std::string board = "  board:\n    serial: \"" + glob("tty") + "\"\n";
  Config c = load(board);
  auto d = transport_.make(c, 0, sink_);
  EXPECT_TRUE(d->keeps(load(board), 0));
  EXPECT_FALSE(d->keeps(load(board + "    baud: 9600\n"), 0));
  EXPECT_FALSE(d->keeps(load("  board:\n    midi: \"x*\"\n"), 0));

  const std::string uno = board + "    format: firmata\n";
  Config f = load(uno, "  - {from: board A0, to: a}\n");
  auto u = transport_.make(f, 0, sink_);
  EXPECT_TRUE(u->keeps(load(uno, "  - {from: board A0, to: other}\n"), 0));
  // Another pin read: the board would be set up differently.
  EXPECT_FALSE(u->keeps(load(uno, "  - {from: board A1, to: a}\n"), 0));
}

TEST_F(SerialDeviceTest, AScanOpensPortsNoOtherDeviceHoldsAndNeverAFile) {
  Pty one(dir_ / "tty1"), two(dir_ / "tty2");
  std::ofstream(dir_ / "ttyfile") << "not a port\n";
  const std::string devices = "  first:\n    serial: \"" + glob("tty") + "\"\n" +
                              "  second:\n    serial: \"" + glob("tty") + "\"\n";
  Config c = load(devices);
  auto first = transport_.make(c, 0, sink_);
  auto second = transport_.make(c, 1, sink_);

  transport_.begin_scan();
  first->claim_open();
  second->claim_open();
  first->scan();
  second->scan();
  DeviceStats s = first->stats();
  EXPECT_TRUE(first->connected());
  EXPECT_EQ(s.ports.size(), 2u);  // both ports; the file is no port
  EXPECT_FALSE(second->connected()) << "a port another device holds is not opened twice";
  EXPECT_EQ(sink_.ready, 2);  // each port opened gets the last feedback
  EXPECT_EQ(s.connects, 2u);
  EXPECT_EQ(s.port, s.ports[0]);

  // The next scan: what `first` holds is claimed before `second` looks.
  transport_.begin_scan();
  first->claim_open();
  second->claim_open();
  second->scan();
  EXPECT_FALSE(second->connected());
  first->close_all("test");
  EXPECT_FALSE(first->connected());
}

TEST_F(SerialDeviceTest, OnlyFilesThatAreNotPortsIsTheLastErrorWhileNoneIsOpen) {
  std::ofstream(dir_ / "ttyfile") << "not a port\n";
  Config c = load("  board:\n    serial: \"" + glob("tty") + "\"\n");
  auto d = transport_.make(c, 0, sink_);
  transport_.begin_scan();
  d->scan();
  EXPECT_FALSE(d->connected());
  DeviceStats s = d->stats();
  EXPECT_NE(s.last_error.find("matches only files that are not serial ports"), std::string::npos)
      << s.last_error;
  EXPECT_EQ(s.details["bytes_in"], 0);
  EXPECT_EQ(s.details["write_failures"], 0);
}

}  // namespace
}  // namespace csb
