// Reload, csound.watch and values kept across restarts (SPEC §4, issue 4),
// on a real csbridge with real Csound and pty boards: a valid reload keeps the
// connection of an unchanged device, an invalid one (or one whose CSD does not
// compile) keeps the old configuration playing, a broken CSD edit under
// `watch` keeps the last good performance, and channel values come back after
// a kill.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.hpp"

using namespace csbt;
using json = nlohmann::json;

namespace {

// Copies inputs to output channels; `version` says which CSD plays.
std::string orchestra(int version) {
  return "chn_k \"light\", 1\nchn_k \"light_out\", 2\nchn_k \"bright\", 1\n"
         "chn_k \"bright_out\", 2\nchn_k \"pot\", 1\nchn_k \"pot_out\", 2\n"
         "chn_S \"mode\", 1\nchn_k \"mode_len\", 2\nchn_k \"version\", 2\n"
         "instr 1\n"
         "  chnset chnget:k(\"light\"), \"light_out\"\n"
         "  chnset chnget:k(\"bright\"), \"bright_out\"\n"
         "  chnset chnget:k(\"pot\"), \"pot_out\"\n"
         "  Smode chnget \"mode\"\n"
         "  chnset strlenk(Smode), \"mode_len\"\n"
         "  chnset " +
         std::to_string(version) +
         ", \"version\"\n"
         "endin\n"
         "alwayson 1\n";
}

// An edit with a mistake: a variable never defined.
const char* kBroken = "instr 1\n  chnset knotdefined, \"version\"\nendin\n";

json device(const json& status, const std::string& name) {
  for (const auto& d : status["devices"])
    if (d["name"] == name) return d;
  return nullptr;
}

std::uint64_t restarts(const Bridge& b) {
  return b.ctl("status")["csound"]["restarts"].get<std::uint64_t>();
}

std::uint64_t kcycles(const Bridge& b) {
  return b.ctl("status")["csound"]["kcycles"].get<std::uint64_t>();
}

/// The performance moves on (it was not stopped).
bool still_playing(const Bridge& b) {
  auto k = kcycles(b);
  return eventually([&] { return kcycles(b) > k + 10; }, 3s) &&
         b.ctl("status")["csound"]["state"] == "running";
}

struct ReloadFixture : ::testing::Test {
  TempDir dir;

  std::string serial_device(const std::string& name, const std::string& link) {
    return "  " + name + ":\n    serial: " + dir.file(link) + "\n    format: lines\n";
  }

  std::string write_config(const std::string& devices, const std::string& map,
                           const std::string& csound_extra = "") {
    return dir.write("test.yaml", "csound:\n  csd: test.csd\n  restart_delay: 100ms\n" +
                                      csound_extra + "scan: 100ms\ndevices:\n" + devices +
                                      "map:\n" + map);
  }

  /// The board "a", and a bridge playing orchestra 1 with `map` on it.
  std::unique_ptr<PtyBoard> board_a_;
  std::unique_ptr<Bridge> bridge_;
  void start_one_board(const std::string& map, const std::string& csound_extra = "") {
    dir.write("test.csd", make_csd(orchestra(1)));
    board_a_ = std::make_unique<PtyBoard>(dir.file("a"));
    bridge_ =
        std::make_unique<Bridge>(dir, write_config(serial_device("a", "a"), map, csound_extra));
    ASSERT_TRUE(bridge_->wait_state("running")) << bridge_->log();
  }
};

}  // namespace

TEST_F(ReloadFixture, Reload_ValidChangeKeepsTheUnchangedDeviceConnectedAndAppliesTheRest) {
  dir.write("test.csd", make_csd(orchestra(1)));
  PtyBoard a(dir.file("a")), b(dir.file("b")), c(dir.file("c"));
  auto cfg = write_config(serial_device("a", "a") + serial_device("b", "b"),
                          "  - from: a light\n    to: light\n  - from: b pot\n    to: pot\n");
  Bridge bridge(dir, cfg);
  ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
  ASSERT_TRUE(eventually([&] {
    auto s = bridge.ctl("status");
    return device(s, "a")["state"] == "connected" && device(s, "b")["state"] == "connected";
  })) << bridge.log();
  a.write_line("light=0.25");
  ASSERT_TRUE(bridge.wait_value("light_out", 0.25)) << bridge.log();
  auto before = restarts(bridge);

  // a stays as it was, its mapping changes; b goes; c comes.
  write_config(serial_device("a", "a") + serial_device("c", "c"),
               "  - from: a light\n    to: bright\n  - from: c pot\n    to: pot\n");
  json r = bridge.ctl("reload");
  ASSERT_EQ(r["ok"], true) << r.dump() << bridge.log();
  EXPECT_EQ(r["devices"]["kept"], json::array({"a"}));
  EXPECT_EQ(r["devices"]["opened"], json::array({"c"}));
  EXPECT_EQ(r["devices"]["closed"], json::array({"b"}));

  ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
  EXPECT_EQ(restarts(bridge), before + 1);  // Csound was reset
  ASSERT_TRUE(eventually([&] { return device(bridge.ctl("status"), "c")["state"] == "connected"; }))
      << bridge.log();
  json s = bridge.ctl("status");
  EXPECT_EQ(device(s, "a")["connects"], 1) << "a was reopened: " << s.dump();
  EXPECT_EQ(device(s, "a")["state"], "connected");
  EXPECT_TRUE(device(s, "b").is_null()) << s.dump();
  EXPECT_EQ(s["reload"]["reloads"], 1);
  EXPECT_TRUE(s["reload"]["errors"].empty());

  // The kept connection carries the new mapping; the new board is read.
  a.write_line("light=0.75");
  EXPECT_TRUE(bridge.wait_value("bright_out", 0.75)) << bridge.log();
  c.write_line("pot=0.5");
  EXPECT_TRUE(bridge.wait_value("pot_out", 0.5)) << bridge.log();
  // The value a set before the reload was kept across the reset.
  EXPECT_TRUE(bridge.wait_value("light_out", 0.25)) << bridge.log();
  // b is closed: what it sends goes nowhere.
  b.write_line("pot=0.9");
  std::this_thread::sleep_for(200ms);
  EXPECT_DOUBLE_EQ(bridge.value("pot_out"), 0.5);
}

TEST_F(ReloadFixture, Reload_InvalidFileKeepsTheOldConfigPlayingAndReportsEveryError) {
  start_one_board("  - from: a light\n    to: light\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& a = *board_a_;
  auto& bridge = *bridge_;
  auto before = restarts(bridge);

  // Two problems: an unknown key and a bad duration.
  dir.write("test.yaml",
            "csound:\n  csd: test.csd\n  restart_delay: soon\nscan: 100ms\ncolour: red\n"
            "devices:\n" +
                serial_device("a", "a") + "map:\n  - from: a light\n    to: bright\n");
  json r = bridge.ctl("reload");
  ASSERT_EQ(r["ok"], false) << r.dump();
  ASSERT_EQ(r["errors"].size(), 2u) << r.dump();
  std::string errors = r["errors"].dump();
  EXPECT_NE(errors.find(dir.file("test.yaml") + ":3:18:"), std::string::npos)
      << errors;  // restart_delay
  EXPECT_NE(errors.find(dir.file("test.yaml") + ":5:1:"), std::string::npos) << errors;  // colour
  EXPECT_NE(r["error"].get<std::string>().find("still running"), std::string::npos);

  // The status says so, the log has every error, and the old one plays on.
  json s = bridge.ctl("status");
  EXPECT_EQ(s["reload"]["errors"].size(), 2u) << s.dump();
  EXPECT_EQ(s["reload"]["reloads"], 0);
  EXPECT_TRUE(still_playing(bridge));
  EXPECT_EQ(restarts(bridge), before);
  EXPECT_NE(bridge.log().find(":3:18:"), std::string::npos) << bridge.log();
  EXPECT_NE(bridge.log().find(":5:1:"), std::string::npos) << bridge.log();
  a.write_line("light=0.5");
  EXPECT_TRUE(bridge.wait_value("light_out", 0.5)) << bridge.log();
  EXPECT_EQ(device(s, "a")["connects"], 1);

  // SIGHUP reads it too (systemctl reload), with the same outcome.
  bridge.signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return bridge.log().find("SIGHUP") != std::string::npos; }));
  EXPECT_TRUE(still_playing(bridge));

  // Fixed: applied, and the errors are gone from the status.
  write_config(serial_device("a", "a"), "  - from: a light\n    to: bright\n");
  r = bridge.ctl("reload");
  ASSERT_EQ(r["ok"], true) << r.dump() << bridge.log();
  s = bridge.ctl("status");
  EXPECT_TRUE(s["reload"]["errors"].empty()) << s.dump();
  EXPECT_EQ(s["reload"]["reloads"], 1);
  ASSERT_TRUE(bridge.wait_state("running"));
  a.write_line("light=0.125");
  EXPECT_TRUE(bridge.wait_value("bright_out", 0.125)) << bridge.log();
}

TEST_F(ReloadFixture, Reload_ToACsdThatDoesNotCompileKeepsTheOldPerformance) {
  dir.write("broken.csd", make_csd(kBroken));
  start_one_board("  - from: a light\n    to: light\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& bridge = *bridge_;
  auto before = restarts(bridge);

  dir.write("test.yaml", "csound:\n  csd: broken.csd\ndevices:\n" + serial_device("a", "a") +
                             "map:\n  - from: a light\n    to: light\n");
  json r = bridge.ctl("reload");
  ASSERT_EQ(r["ok"], false) << r.dump();
  EXPECT_NE(r["errors"].dump().find("knotdefined"), std::string::npos) << r.dump();
  // One problem, however many lines Csound wrote about it.
  ASSERT_EQ(r["errors"].size(), 1u) << r.dump();
  std::string problem = r["errors"][0];
  EXPECT_EQ(problem.rfind(dir.file("test.yaml") + ": the CSD ", 0), 0u) << problem;
  EXPECT_NE(problem.find("does not compile:\n"), std::string::npos) << problem;
  EXPECT_GE(std::count(problem.begin(), problem.end(), '\n'), 2) << problem;
  EXPECT_EQ(r["error"].get<std::string>().rfind("1 problem in ", 0), 0u) << r.dump();
  EXPECT_EQ(bridge.ctl("status")["reload"]["errors"].size(), 1u);
  EXPECT_NE(bridge.log().find("reload: 1 problem in "), std::string::npos) << bridge.log();
  EXPECT_TRUE(still_playing(bridge));
  EXPECT_EQ(restarts(bridge), before);
  EXPECT_EQ(bridge.value("version"), 1);
  EXPECT_NE(bridge.ctl("status")["csound"]["csd"].get<std::string>().find("test.csd"),
            std::string::npos);
}

TEST_F(ReloadFixture, Reload_WithAnOptionsEntryCsoundRefusesNamesTheEntry) {
  start_one_board("  - from: a light\n    to: light\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& bridge = *bridge_;
  dir.write("test.yaml", "csound:\n  csd: test.csd\n  options: [-y]\ndevices:\n" +
                             serial_device("a", "a") + "map:\n  - from: a light\n    to: light\n");
  json r = bridge.ctl("reload");
  ASSERT_EQ(r["ok"], false) << r.dump();
  ASSERT_EQ(r["errors"].size(), 1u) << r.dump();
  EXPECT_EQ(r["errors"][0], dir.file("test.yaml") +
                                ":3:13: csound.options[0]: Csound does not take '-y': "
                                "unknown flag -y");
  EXPECT_TRUE(still_playing(bridge));
  // Started with it, the service says so too, once, at the entry.
  bridge.terminate();
  bridge_ = std::make_unique<Bridge>(dir, dir.file("test.yaml"));
  EXPECT_TRUE(eventually([&] {
    return count_of(bridge_->log(), "test.yaml:3:13: csound.options[0]: Csound does not take") == 1;
  })) << bridge_->log();
  EXPECT_TRUE(bridge_->wait_state("failed")) << bridge_->log();
  // status says where, after every retry too.
  EXPECT_TRUE(eventually([&] {
    return bridge_->ctl("status")["csound"]["last_error"] ==
           dir.file("test.yaml") +
               ":3:13: csound.options[0]: Csound does not take '-y': unknown "
               "flag -y";
  })) << bridge_->ctl("status").dump();
}

TEST_F(ReloadFixture, Watch_ABrokenEditKeepsTheLastGoodPerformanceAndAGoodOneIsPlayed) {
  start_one_board("  - from: a light\n    to: light\n", "  watch: true\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& a = *board_a_;
  auto& bridge = *bridge_;
  ASSERT_TRUE(bridge.wait_value("version", 1)) << bridge.log();
  a.write_line("light=0.5");
  ASSERT_TRUE(bridge.wait_value("light_out", 0.5)) << bridge.log();
  auto before = restarts(bridge);

  // Written in place, as many editors do.
  { std::ofstream(dir.file("test.csd"), std::ios::trunc) << make_csd(kBroken); }
  // (An editor caught between truncating and writing may give a first error
  // about an empty file; the next look sees the whole edit.)
  ASSERT_TRUE(eventually([&] {
    return bridge.ctl("status")["csound"]["watch_error"].get<std::string>().find("knotdefined") !=
           std::string::npos;
  })) << bridge.log();
  json s = bridge.ctl("status");
  EXPECT_NE(s["csound"]["watch_error"].get<std::string>().find("knotdefined"), std::string::npos)
      << s.dump();
  EXPECT_TRUE(still_playing(bridge));
  EXPECT_EQ(restarts(bridge), before);
  EXPECT_EQ(bridge.value("version"), 1);
  EXPECT_NE(bridge.log().find("does not compile; still playing"), std::string::npos)
      << bridge.log();

  // Replaced by rename, as others do: played, and the values come along.
  dir.write("next.csd", make_csd(orchestra(2)));
  ASSERT_EQ(std::rename(dir.file("next.csd").c_str(), dir.file("test.csd").c_str()), 0);
  ASSERT_TRUE(bridge.wait_value("version", 2, 5s)) << bridge.log();
  EXPECT_EQ(restarts(bridge), before + 1);
  EXPECT_TRUE(bridge.ctl("status")["csound"]["watch_error"].get<std::string>().empty());
  EXPECT_TRUE(bridge.wait_value("light_out", 0.5)) << bridge.log();
}

TEST_F(ReloadFixture, Watch_EditsMadeWhileACheckRunsLeaveOnlyTheNewestToCheck) {
  start_one_board("  - from: a light\n    to: light\n", "  watch: true\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& bridge = *bridge_;
  ASSERT_TRUE(bridge.wait_value("version", 1)) << bridge.log();
  auto before = restarts(bridge);

  // Every edit includes a FIFO: Csound's compile of it waits until the test
  // opens the FIFO, so the edits after the first are made while a check runs.
  std::string gate = dir.file("gate.orc");
  ASSERT_EQ(::mkfifo(gate.c_str(), 0600), 0);
  int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(::inotify_add_watch(watch, gate.c_str(), IN_CLOSE_NOWRITE), 0);
  for (int version = 2; version <= 5; ++version) {
    dir.write("next.csd", make_csd("#include \"" + gate + "\"\n" + orchestra(version)));
    ASSERT_EQ(std::rename(dir.file("next.csd").c_str(), dir.file("test.csd").c_str()), 0);
    std::this_thread::sleep_for(800ms);  // settled and seen by the watch
  }
  // Each compile that waits on the FIFO is let through (an empty include),
  // and counted when it closes the FIFO.
  int compiles = 0;
  auto quiet_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - quiet_since < 2s) {
    int fd = ::open(gate.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd < 0) {  // ENXIO: no compile reads it now
      std::this_thread::sleep_for(10ms);
      continue;
    }
    ::close(fd);
    ASSERT_TRUE(eventually(
        [&] {
          alignas(inotify_event) char buf[4096];
          return ::read(watch, buf, sizeof buf) > 0;
        },
        2s))
        << "a compile read the FIFO and never closed it";
    ++compiles;
    quiet_since = std::chrono::steady_clock::now();
  }
  ::close(watch);
  // The check that ran during the edits, one check of the newest edit (not
  // one per edit), and the performance that plays it.
  EXPECT_EQ(compiles, 3) << bridge.log();
  ASSERT_TRUE(bridge.wait_value("version", 5, 5s)) << bridge.log();
  EXPECT_EQ(restarts(bridge), before + 1);
}

TEST_F(ReloadFixture, State_ChannelValuesComeBackAfterAKillAndAfterAStop) {
  dir.write("test.csd", make_csd(orchestra(1)));
  PtyBoard a(dir.file("a"));
  auto cfg = write_config(serial_device("a", "a"),
                          "  - from: a light\n    to: light\n"
                          "  - from: a mode\n    to: mode\n    type: string\n");
  auto saved = [&](const std::string& needle) {
    std::ifstream in(dir.file("state/values.json"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str().find(needle) != std::string::npos;
  };
  {
    Bridge bridge(dir, cfg);
    ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
    a.write_line("light=0.7");
    a.write_line("mode=minor");
    ASSERT_TRUE(bridge.wait_value("light_out", 0.7)) << bridge.log();
    // Written within a second; then the power goes.
    ASSERT_TRUE(eventually([&] { return saved("0.7") && saved("minor"); }, 3s)) << bridge.log();
    bridge.signal(SIGKILL);
    ASSERT_TRUE(bridge.wait_exit(2s));
  }
  {
    Bridge bridge(dir, cfg);
    ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
    // Nothing was sent since: the orchestra has the values from before.
    EXPECT_TRUE(bridge.wait_value("light_out", 0.7)) << bridge.log();
    EXPECT_TRUE(bridge.wait_value("mode_len", 5)) << bridge.log();
    EXPECT_NE(bridge.log().find("2 restored"), std::string::npos) << bridge.log();
    // A value that came just before a stop is written at the stop.
    a.write_line("light=0.3");
    ASSERT_TRUE(bridge.wait_value("light_out", 0.3)) << bridge.log();
    ASSERT_EQ(bridge.terminate(), 0);
  }
  EXPECT_TRUE(saved("0.3"));
  Bridge bridge(dir, cfg);
  ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
  EXPECT_TRUE(bridge.wait_value("light_out", 0.3)) << bridge.log();
}

TEST_F(ReloadFixture, Stop_DuringALongCsdCheckWaitsForItAndExitsCleanlyWithTheValuesWritten) {
  // The stop deadline guards a stuck performance only: a SIGTERM while a
  // reload's CSD check compiles a large orchestra waits for that check, then
  // writes the values and exits 0.
  start_one_board("  - from: a light\n    to: light\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& bridge = *bridge_;
  board_a_->write_line("light=0.6");
  ASSERT_TRUE(bridge.wait_value("light_out", 0.6)) << bridge.log();
  std::string large = orchestra(2);
  for (int i = 2; i < 20000; ++i)
    large += "instr " + std::to_string(i) + "\n  a1 oscili 0.1, " + std::to_string(i) +
             "\n  out a1\nendin\n";
  dir.write("large.csd", make_csd(large));
  dir.write("test.yaml", "csound:\n  csd: large.csd\ndevices:\n" + serial_device("a", "a") +
                             "map:\n  - from: a light\n    to: light\n");
  bridge.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return bridge.log().find("reading") != std::string::npos; }))
      << bridge.log();
  std::this_thread::sleep_for(300ms);
  auto asked = std::chrono::steady_clock::now();
  bridge.signal(SIGTERM);
  auto code = bridge.wait_exit(120s);
  auto took = std::chrono::steady_clock::now() - asked;
  ASSERT_TRUE(code) << bridge.log();
  EXPECT_EQ(*code, 0) << bridge.log();
  EXPECT_EQ(bridge.log().find("exiting now"), std::string::npos) << bridge.log();
  std::ifstream in(dir.file("state/values.json"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("0.6"), std::string::npos) << text.str();
  // The check outlasted the deadline: this test would fail with the stop
  // cut short at 1.8 s.
  RecordProperty(
      "stop_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_GT(took, 1800ms) << "the check was too quick to test the deadline";
}

TEST_F(ReloadFixture, State_AnUnreadableFileIsReportedAndReplaced) {
  dir.write("test.csd", make_csd(orchestra(1)));
  PtyBoard a(dir.file("a"));
  auto cfg = write_config(serial_device("a", "a"), "  - from: a light\n    to: light\n");
  std::filesystem::create_directories(dir.file("state"));
  dir.write("state/values.json", "{\"values\": [garbage");
  Bridge bridge(dir, cfg);
  ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
  EXPECT_NE(bridge.log().find("is not a csbridge values file"), std::string::npos) << bridge.log();
  a.write_line("light=0.6");
  ASSERT_TRUE(bridge.wait_value("light_out", 0.6)) << bridge.log();
  EXPECT_TRUE(eventually(
      [&] {
        std::ifstream in(dir.file("state/values.json"));
        std::stringstream text;
        text << in.rdbuf();
        return text.str().find("0.6") != std::string::npos;
      },
      3s));
}

TEST_F(ReloadFixture, Reload_ByAMappedTriggerAppliesTheFixedConfigOfAFailedCsd) {
  dir.write("broken.csd", make_csd(kBroken));
  dir.write("test.csd", make_csd(orchestra(1)));
  PtyBoard a(dir.file("a"));
  std::string map = "  - from: a light\n    to: light\n  - from: a again\n    do: reload\n";
  dir.write("test.yaml",
            "csound:\n  csd: broken.csd\n  restart_delay: 10s\nscan: 100ms\n"
            "devices:\n" +
                serial_device("a", "a") + "map:\n" + map);
  Bridge bridge(dir, dir.file("test.yaml"));
  ASSERT_TRUE(bridge.wait_state("failed")) << bridge.log();
  ASSERT_TRUE(eventually([&] { return device(bridge.ctl("status"), "a")["state"] == "connected"; }))
      << bridge.log();

  // Nothing plays, so nothing is compiled first: the button applies it at once.
  write_config(serial_device("a", "a"), map);
  a.write_line("light=0.5");
  a.write_line("again");
  ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
  EXPECT_TRUE(bridge.wait_value("version", 1)) << bridge.log();
  EXPECT_TRUE(bridge.wait_value("light_out", 0.5)) << bridge.log();
  json s = bridge.ctl("status");
  EXPECT_EQ(s["reload"]["reloads"], 1) << s.dump();
  EXPECT_EQ(device(s, "a")["connects"], 1) << s.dump();
  EXPECT_TRUE(bridge.alive());
}

TEST_F(ReloadFixture, Reload_RightAfterAResetStillCompilesTheNewCsdFirst) {
  dir.write("broken.csd", make_csd(kBroken));
  start_one_board("  - from: a light\n    to: light\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& bridge = *bridge_;

  dir.write("test.yaml", "csound:\n  csd: broken.csd\ndevices:\n" + serial_device("a", "a") +
                             "map:\n  - from: a light\n    to: light\n");
  // The reload comes while the reset restarts the good CSD: that one is
  // still protected.
  ASSERT_EQ(bridge.ctl("reset")["ok"], true);
  json r = bridge.ctl("reload");
  EXPECT_EQ(r["ok"], false) << r.dump() << bridge.log();
  EXPECT_TRUE(bridge.wait_state("running")) << bridge.log();
  EXPECT_TRUE(still_playing(bridge));
  EXPECT_NE(bridge.ctl("status")["csound"]["csd"].get<std::string>().find("test.csd"),
            std::string::npos);
}

TEST_F(ReloadFixture, Reload_ThatWouldChangeAChannelsTypeIsRefusedAndTheServicePlaysOn) {
  start_one_board("  - from: a light\n    to: pot\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& a = *board_a_;
  auto& bridge = *bridge_;
  auto before = restarts(bridge);

  // "pot" is a control channel in the orchestra (chn_k) and in the running service.
  write_config(serial_device("a", "a"), "  - from: a light\n    to: pot\n    type: string\n");
  json r = bridge.ctl("reload");
  ASSERT_EQ(r["ok"], false) << r.dump() << bridge.log();
  EXPECT_NE(r["errors"].dump().find("'pot' is a control channel in the orchestra"),
            std::string::npos)
      << r.dump();
  EXPECT_TRUE(bridge.alive());
  EXPECT_TRUE(still_playing(bridge));
  EXPECT_EQ(restarts(bridge), before);
  a.write_line("light=0.5");
  EXPECT_TRUE(bridge.wait_value("pot_out", 0.5)) << bridge.log();
}

TEST_F(ReloadFixture, Reload_OntoAChannelSetAsAStringIsRefusedAtTheMapping) {
  start_one_board("  - from: a light\n    to: pot\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& bridge = *bridge_;
  // Nothing in the orchestra's text names it: `set` made it a string channel.
  ASSERT_EQ(bridge.ctl("set note \"two words\"")["ok"], true);
  auto used = bridge.ctl("status")["limits"]["channels"]["used"];
  write_config(serial_device("a", "a"),
               "  - from: a light\n    to: note\n  - from: a other\n    to: brand_new\n");
  json r = bridge.ctl("reload");
  // Refused before anything changed: not even the new channel was made.
  EXPECT_EQ(bridge.ctl("status")["limits"]["channels"]["used"], used);
  ASSERT_EQ(r["ok"], false) << r.dump() << bridge.log();
  std::string errors = r["errors"].dump();
  EXPECT_NE(errors.find("keeps its type"), std::string::npos) << errors;
  // At the mapping: FILE:LINE:COL, not the file alone.
  EXPECT_TRUE(std::regex_search(errors, std::regex("test\\.yaml:[0-9]+:[0-9]+: channel 'note'")))
      << errors;
  EXPECT_TRUE(still_playing(bridge));
}

TEST_F(ReloadFixture, Reload_WithThousandsOfErrorsReportsTheFirstHundredAndCountsThemAll) {
  start_one_board("  - from: a light\n    to: light\n");
  ASSERT_FALSE(HasFatalFailure());
  auto& bridge = *bridge_;
  std::string map;
  for (int k = 0; k < 1500; ++k)
    map += "  - from: a v" + std::to_string(k) + "\n    to: c" + std::to_string(k) +
           "\n    curve: expo\n";
  dir.write("test.yaml",
            "csound:\n  csd: test.csd\ndevices:\n" + serial_device("a", "a") + "map:\n" + map);
  json r = bridge.ctl("reload");
  ASSERT_EQ(r["ok"], false) << r.dump().substr(0, 2000);
  EXPECT_NE(r["error"].get<std::string>().find("1500 problems"), std::string::npos) << r["error"];
  ASSERT_EQ(r["errors"].size(), 101u);
  EXPECT_NE(r["errors"][100].get<std::string>().find("... and 1400 more"), std::string::npos)
      << r["errors"][100];
  EXPECT_EQ(bridge.ctl("status")["reload"]["errors"].size(), 101u);
  EXPECT_TRUE(still_playing(bridge));
}

TEST_F(ReloadFixture, Reload_TheCompileCheckDoesNotRunTheHeaderOfTheNewCsd) {
  dir.write("test.csd", make_csd(orchestra(1)));
  // Its header appends a line to a file each time it runs.
  dir.write("next.csd", make_csd("gires system_i 1, \"echo run >> " + dir.file("runs") + "\"\n" +
                                 orchestra(2)));
  PtyBoard a(dir.file("a"));
  auto cfg = write_config(serial_device("a", "a"), "  - from: a light\n    to: light\n");
  Bridge bridge(dir, cfg);
  ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();

  dir.write("test.yaml", "csound:\n  csd: next.csd\ndevices:\n" + serial_device("a", "a") +
                             "map:\n  - from: a light\n    to: light\n");
  ASSERT_EQ(bridge.ctl("reload")["ok"], true) << bridge.log();
  ASSERT_TRUE(bridge.wait_value("version", 2)) << bridge.log();
  std::ifstream in(dir.file("runs"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "run\n") << "the header ran more than once (the check ran it)";
}

TEST_F(ReloadFixture, State_AtMost4096NamesAreKeptTheOldestDroppedFirst) {
  // 5000 names kept from before, oldest first, and one value written now.
  std::string seeded = "{\"csbridge\": \"channel values\", \"values\": {";
  for (int i = 0; i < 5000; ++i)
    seeded += (i ? ", \"old" : "\"old") + std::to_string(i) + "\": " + std::to_string(i);
  ::mkdir(dir.file("state").c_str(), 0700);
  dir.write("state/values.json", seeded + "}}\n");
  start_one_board("  - from: a light\n    to: light\n");
  ASSERT_FALSE(HasFatalFailure());
  board_a_->write_line("light=0.5");
  ASSERT_TRUE(bridge_->wait_value("light_out", 0.5)) << bridge_->log();
  ASSERT_EQ(bridge_->terminate(), 0) << bridge_->log();
  std::ifstream in(dir.file("state/values.json"));
  auto saved = json::parse(in);
  const auto& values = saved["values"];
  ASSERT_EQ(values.size(), 4096u) << saved.dump().substr(0, 200);
  // 5001 names: the 905 oldest went.
  EXPECT_FALSE(values.contains("old904"));
  EXPECT_EQ(values["old905"], 905);
  EXPECT_EQ(values["old4999"], 4999);
  EXPECT_EQ(values["light"], 0.5);
}

TEST_F(ReloadFixture, State_WildcardValuesAndNamesOfAnotherConfigAreKept) {
  dir.write("test.csd", make_csd(orchestra(1)));
  PtyBoard a(dir.file("a"));
  auto text = [&] {
    std::ifstream in(dir.file("state/values.json"));
    std::stringstream t;
    t << in.rdbuf();
    return t.str();
  };
  {
    // The embedded default maps `from: DEV *`: those values were never saved.
    Bridge bridge(dir, write_config(serial_device("a", "a"), "  - from: a *\n"));
    ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
    a.write_line("light=0.7 extra=3");
    ASSERT_TRUE(bridge.wait_value("light_out", 0.7)) << bridge.log();
    ASSERT_EQ(bridge.terminate(), 0) << bridge.log();
  }
  EXPECT_NE(text().find("\"light\": 0.7"), std::string::npos) << text();
  EXPECT_NE(text().find("\"extra\": 3"), std::string::npos) << text();
  {
    // Another config that names only pot: light and extra stay in the file.
    Bridge bridge(dir, write_config(serial_device("a", "a"), "  - from: a pot\n    to: pot\n"));
    ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
    EXPECT_TRUE(bridge.wait_value("light_out", 0.7)) << bridge.log();
    a.write_line("pot=0.2");
    ASSERT_TRUE(bridge.wait_value("pot_out", 0.2)) << bridge.log();
    // A reload that drops the pot mapping: pot's value stays in the file.
    write_config(serial_device("a", "a"), "  - from: a bright\n    to: bright\n");
    ASSERT_EQ(bridge.ctl("reload")["ok"], true) << bridge.log();
    ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
    a.write_line("bright=0.4");
    ASSERT_TRUE(bridge.wait_value("bright_out", 0.4)) << bridge.log();
    ASSERT_EQ(bridge.terminate(), 0) << bridge.log();
  }
  EXPECT_NE(text().find("\"light\": 0.7"), std::string::npos) << text();
  EXPECT_NE(text().find("\"extra\": 3"), std::string::npos) << text();
  EXPECT_NE(text().find("\"pot\": 0.2"), std::string::npos) << text();
  EXPECT_NE(text().find("\"bright\": 0.4"), std::string::npos) << text();
}
