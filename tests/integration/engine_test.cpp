// The Csound engine inside the real service: resets keep values, broken
// CSDs never stop the service, on_exit, pause, signals, clean stops.

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "harness.hpp"

using namespace csbt;

namespace {

const char* kCopy = R"(
chn_k "x", 1
chn_k "y", 2
chn_S "s", 1
chn_k "slen", 2
instr 1
  chnset chnget:k("x"), "y"
  chnset strlenk(chnget:S("s")), "slen"
endin
alwayson 1
)";

struct EngineFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<Bridge> bridge;

  std::string config(const std::string& csound_extra = "", const std::string& score = "f0 z",
                     const std::string& orchestra = kCopy) {
    dir.write("test.csd", make_csd(orchestra, score));
    return dir.write("test.yaml",
                     "csound:\n  csd: test.csd\n  restart_delay: 100ms\n" + csound_extra);
  }
  /// The `status` reply; an empty csound object while the socket is not up yet.
  nlohmann::json status() {
    auto s = bridge->ctl("status");
    if (!s.contains("csound")) s["csound"] = nlohmann::json::object();
    return s;
  }
  void TearDown() override {
    if (bridge && bridge->alive()) EXPECT_EQ(bridge->terminate(), 0) << bridge->log();
  }
};

}  // namespace

TEST_F(EngineFixture, Engine_SetAndGetThroughControlSocket) {
  bridge = std::make_unique<Bridge>(dir, config());
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  EXPECT_EQ(bridge->ctl("set x 0.5")["ok"], true);
  EXPECT_TRUE(bridge->wait_value("y", 0.5));
  EXPECT_EQ(bridge->ctl("set s \"two words\"")["ok"], true);
  EXPECT_TRUE(bridge->wait_value("slen", 9));
  auto bad = bridge->ctl("set x nan");
  EXPECT_EQ(bad["ok"], false);
  EXPECT_NE(bad["error"].get<std::string>().find("number"), std::string::npos);
  EXPECT_EQ(bridge->ctl("set x")["ok"], false);
  // `get` never invents a channel the orchestra does not have.
  auto missing = bridge->ctl("get no_such_channel");
  EXPECT_EQ(missing["ok"], false) << missing.dump();
  EXPECT_NE(missing["error"].get<std::string>().find("no_such_channel"), std::string::npos);
  EXPECT_EQ(bridge->ctl("get no_such_channel")["ok"], false);  // asked again: still no
  auto listed = bridge->ctl("channels");  // kept: a loop over a temporary's part dangles
  for (auto& c : listed["channels"]) EXPECT_NE(c["name"], "no_such_channel");
  EXPECT_EQ(bridge->ctl("frobnicate")["ok"], false);
  // The connection-level errors did not hurt the service.
  EXPECT_EQ(bridge->value("y"), 0.5);
  auto channels = bridge->ctl("channels");
  ASSERT_EQ(channels["ok"], true);
  bool found = false;
  for (auto& c : channels["channels"])
    if (c["name"] == "y") found = true;
  EXPECT_TRUE(found) << channels.dump();
}

TEST_F(EngineFixture, Engine_ResetRestoresEveryValue) {
  bridge = std::make_unique<Bridge>(dir, config());
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  bridge->ctl("set x 42");
  bridge->ctl("set s \"hello\"");
  ASSERT_TRUE(bridge->wait_value("y", 42));
  auto k_before = status()["csound"]["kcycles"].get<long>();
  EXPECT_EQ(bridge->ctl("reset")["ok"], true);
  EXPECT_TRUE(eventually([&] { return status()["csound"]["restarts"] == 1; }));
  ASSERT_TRUE(bridge->wait_state("running"));
  EXPECT_TRUE(bridge->wait_value("y", 42)) << bridge->log();
  EXPECT_TRUE(bridge->wait_value("slen", 5));
  EXPECT_GT(status()["csound"]["kcycles"].get<long>(), k_before);
}

TEST_F(EngineFixture, Engine_Sigusr1Resets) {
  bridge = std::make_unique<Bridge>(dir, config());
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  bridge->ctl("set x 7");
  ASSERT_TRUE(bridge->wait_value("y", 7));
  bridge->signal(SIGUSR1);
  EXPECT_TRUE(eventually([&] { return status()["csound"]["restarts"] == 1; })) << bridge->log();
  EXPECT_TRUE(bridge->wait_value("y", 7));
}

TEST_F(EngineFixture, Engine_BrokenCsdOnResetKeepsServiceUpAndRecovers) {
  bridge = std::make_unique<Bridge>(dir, config());
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  bridge->ctl("set x 3");
  ASSERT_TRUE(bridge->wait_value("y", 3));

  dir.write("test.csd", make_csd("instr 1\n  kx chnget \"x\"\n  this is not csound\nendin\n"));
  bridge->ctl("reset");
  ASSERT_TRUE(bridge->wait_state("failed")) << bridge->log();
  auto s = status();
  std::string err = s["csound"]["last_error"];
  EXPECT_NE(err.find("error"), std::string::npos) << err;  // Csound's own words
  // Still serving, still recording values while it retries with back-off.
  EXPECT_EQ(bridge->ctl("set x 4")["ok"], true);
  EXPECT_TRUE(eventually([&] { return status()["csound"].value("restarts", 0) >= 2; }, 5s));

  dir.write("test.csd", make_csd(kCopy));
  ASSERT_TRUE(bridge->wait_state("running", 10s)) << bridge->log();
  EXPECT_TRUE(bridge->wait_value("y", 4));
  EXPECT_EQ(status()["csound"]["last_error"], "");
}

TEST_F(EngineFixture, Engine_BrokenCsdAtStartIsRetried) {
  dir.write("test.csd", make_csd("instr 1\n  garbage here\nendin\n"));
  std::string cfg = dir.write("test.yaml", "csound:\n  csd: test.csd\n  restart_delay: 100ms\n");
  bridge = std::make_unique<Bridge>(dir, cfg);
  ASSERT_TRUE(bridge->wait_state("failed")) << bridge->log();
  EXPECT_TRUE(bridge->alive());
  dir.write("test.csd", make_csd(kCopy));
  EXPECT_TRUE(bridge->wait_state("running", 10s)) << bridge->log();
}

TEST_F(EngineFixture, Engine_AFailedStartIsLoggedOnceWithCsoundsErrors) {
  // A variable used before it is defined: Csound names it in its error.
  dir.write("test.csd", make_csd("instr 1\n  chnset kundefined_here, \"y\"\nendin\n"));
  std::string cfg = dir.write("test.yaml", "csound:\n  csd: test.csd\n  restart_delay: 10s\n");
  bridge = std::make_unique<Bridge>(dir, cfg);
  ASSERT_TRUE(bridge->wait_state("failed")) << bridge->log();
  ASSERT_TRUE(eventually([&] { return bridge->log().find("next start in") != std::string::npos; }))
      << bridge->log();
  std::string log = bridge->log();
  EXPECT_EQ(count_of(log, "failed to start"), 1u) << log;
  // Csound's line comes with the failure, and only there.
  EXPECT_EQ(count_of(log, "kundefined_here' used before defined"), 1u) << log;
  EXPECT_LT(log.find("failed to start"), log.find("kundefined_here' used before defined")) << log;
}

TEST_F(EngineFixture, Engine_OnExitExitEndsTheServiceWithZero) {
  bridge = std::make_unique<Bridge>(dir, config("  on_exit: exit\n", "i 1 0 0.3"));
  auto code = bridge->wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << bridge->log();
  EXPECT_EQ(*code, 0);
}

TEST_F(EngineFixture, Engine_OnExitStopStaysUpIdle) {
  bridge = std::make_unique<Bridge>(dir, config("  on_exit: stop\n", "i 1 0 0.3"));
  ASSERT_TRUE(bridge->wait_state("stopped")) << bridge->log();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(status()["csound"]["state"], "stopped");
  EXPECT_EQ(status()["csound"]["restarts"], 0);
  // A reset plays it again.
  bridge->ctl("reset");
  EXPECT_TRUE(bridge->wait_state("running"));
}

TEST_F(EngineFixture, Engine_OnExitRestartPlaysAgain) {
  bridge = std::make_unique<Bridge>(dir, config("  on_exit: restart\n", "i 1 0 0.3"));
  EXPECT_TRUE(eventually([&] { return status()["csound"].value("restarts", 0) >= 2; }, 10s))
      << bridge->log();
}

TEST_F(EngineFixture, Engine_PauseStopsKcyclesAndKeepsValues) {
  bridge = std::make_unique<Bridge>(dir, config());
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  EXPECT_EQ(bridge->ctl("pause")["state"], "paused");
  auto k1 = status()["csound"]["kcycles"].get<long>();
  // A name never seen cannot be looked up while paused: said so, at once.
  auto unknown = bridge->ctl("get not_seen_yet");
  EXPECT_EQ(unknown["ok"], false);
  EXPECT_NE(unknown["error"].get<std::string>().find("paused"), std::string::npos);
  bridge->ctl("set x 9");
  std::this_thread::sleep_for(200ms);
  EXPECT_LE(status()["csound"]["kcycles"].get<long>() - k1, 2);
  EXPECT_EQ(bridge->ctl("resume")["state"], "running");
  EXPECT_TRUE(bridge->wait_value("y", 9));
}

TEST_F(EngineFixture, Engine_SigtermStopsCleanlyWithinTwoSeconds) {
  bridge = std::make_unique<Bridge>(dir, config());
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  auto t0 = Clock::now();
  auto code = bridge->terminate(2s);
  ASSERT_TRUE(code.has_value()) << "still running 2 s after SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_LT(Clock::now() - t0, 2s);
  // The control socket is removed on the way out.
  EXPECT_NE(::access(bridge->socket().c_str(), F_OK), 0);
}

TEST_F(EngineFixture, Engine_SigintStopsCleanlyEvenWhileFailed) {
  dir.write("test.csd", make_csd("instr 1\n  garbage here\nendin\n"));
  std::string cfg = dir.write("test.yaml", "csound:\n  csd: test.csd\n");
  bridge = std::make_unique<Bridge>(dir, cfg);
  ASSERT_TRUE(bridge->wait_state("failed")) << bridge->log();
  bridge->signal(SIGINT);
  EXPECT_EQ(bridge->wait_exit(2s), 0);
}

TEST_F(EngineFixture, Engine_CsoundMessagesReachTheLog) {
  const char* orc = R"(
instr 1
  prints "hello from the orchestra\n"
endin
)";
  bridge = std::make_unique<Bridge>(dir, config("", "i 1 0 0.1\nf0 z", orc));
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  EXPECT_TRUE(eventually([&] {
    return bridge->log().find("hello from the orchestra") != std::string::npos;
  })) << bridge->log();
}

TEST_F(EngineFixture, Engine_LatencyIsMeasuredPerKcycle) {
  // -b64 paces one k-cycle per buffer, so an event waits at most one k-period.
  bridge = std::make_unique<Bridge>(dir, config("  options: [-b64, -B256]\n"));
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  // Each value is applied before the next is set: two sets within one
  // k-cycle count once (the latest wins), which a busy machine can cause.
  for (int i = 1; i <= 40; ++i) {
    bridge->ctl("set x " + std::to_string(i));
    ASSERT_TRUE(bridge->wait_value("y", i)) << i << "\n" << bridge->log();
  }
  auto lat = status()["latency_us"];
  EXPECT_EQ(lat["count"], 40);
  EXPECT_GT(lat["p50"].get<double>(), 0);
  EXPECT_LT(lat["p50"].get<double>(), 5000) << lat.dump();  // loose: shared CI machines
}

TEST_F(EngineFixture, Engine_StuckOrchestraStillStopsWithinTwoSeconds) {
  // An endless k-rate loop: Csound never gets back to its message queue.
  std::string orc = stuck_orchestra("timeinsts() > 0.2");
  bridge = std::make_unique<Bridge>(dir, config("", "f0 z", orc));
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  // Stuck: the k-cycle count stops moving (on a busy machine performance
  // time may lag the wall clock, so wait for that, not for a fixed time).
  long last = -1;
  ASSERT_TRUE(eventually(
      [&] {
        long k = status()["csound"].value("kcycles", 0L);
        bool stuck = k > 100 && k == last;
        last = k;
        std::this_thread::sleep_for(100ms);
        return stuck;
      },
      10s));
  auto t0 = Clock::now();
  auto code = bridge->terminate(2500ms);
  ASSERT_TRUE(code.has_value()) << "still running after SIGTERM";
  EXPECT_EQ(*code, 1);  // not a clean stop, and said so
  EXPECT_LT(Clock::now() - t0, 2s);
  EXPECT_NE(bridge->log().find("did not stop"), std::string::npos) << bridge->log();
}

TEST_F(EngineFixture, Engine_StuckOrchestraShowsStuckByHandAndAResetOfItEndsClearly) {
  // Run by hand: no notify socket, no watchdog.
  std::string orc = stuck_orchestra("timeinsts() > 0.2");
  bridge = std::make_unique<Bridge>(dir, config("", "f0 z", orc));
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  ASSERT_TRUE(bridge->wait_state("stuck", 10s)) << bridge->log();
  auto s = status();
  EXPECT_NE(s["csound"]["last_error"].get<std::string>().find("stuck in a k-cycle"),
            std::string::npos)
      << s.dump();
  // A reset cannot end a k-cycle that never ends: it says so, and stays so.
  EXPECT_TRUE(bridge->ctl("reset").value("ok", false));
  std::this_thread::sleep_for(1500ms);
  s = status();
  EXPECT_EQ(s["csound"]["state"], "stuck") << s.dump();
  EXPECT_NE(s["csound"]["last_error"].get<std::string>().find("only a restart of the service"),
            std::string::npos)
      << s.dump();
  // A name it never knew: says why it cannot look.
  auto g = bridge->ctl("get nosuch");
  EXPECT_NE(g.value("error", "").find("no performance to look in (stuck)"), std::string::npos)
      << g.dump();
  auto code = bridge->terminate(2500ms);
  ASSERT_TRUE(code.has_value()) << "still running after SIGTERM";
  EXPECT_EQ(*code, 1);
}

TEST_F(EngineFixture, Engine_NoAudioDeviceFallsBackToNullAudioAndSaysSo) {
  // A real-time output to a device that cannot open: here a sound card that
  // is not there (-+rtaudio=alsa -odac:hw:97,0).
  dir.write("test.csd", make_csd(kCopy, "f0 z", "-d -m0 -+rtaudio=alsa -odac:hw:97,0"));
  bridge = std::make_unique<Bridge>(
      dir, dir.write("test.yaml", "csound:\n  csd: test.csd\n  restart_delay: 100ms\n"),
      std::vector<std::string>{}, /*audio_null=*/false);
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  auto s = status();
  EXPECT_EQ(s["csound"]["audio"], "null (no audio device opened)") << s.dump();
  // One clear line: not alsa-lib's own lines on stderr, nor Csound's error
  // lines (or its "1 errors in performance") as errors before it.
  std::string log = bridge->log();
  auto said = log.find("no audio device could be opened (");
  EXPECT_NE(said, std::string::npos) << log;
  EXPECT_EQ(log.find("no audio device could be opened", said + 1), std::string::npos) << log;
  EXPECT_EQ(log.find("ALSA lib"), std::string::npos) << log;
  EXPECT_EQ(log.find(" error "), std::string::npos) << log;
  EXPECT_EQ(log.find("Failed to initialise"), std::string::npos) << log;
  // Paced by the clock, not as fast as the machine goes: about 750 k-cycles a second.
  long k0 = status()["csound"].value("kcycles", 0L);
  std::this_thread::sleep_for(1s);
  long k1 = status()["csound"].value("kcycles", 0L);
  EXPECT_GT(k1 - k0, 300);
  EXPECT_LT(k1 - k0, 1200);
  // Values still flow.
  EXPECT_EQ(bridge->ctl("set x 0.5")["ok"], true);
  EXPECT_TRUE(bridge->wait_value("y", 0.5)) << bridge->log();
}

TEST(EnginePacing, CsOptionsWithNoSoundArePacedByTheBridge) {
  // -n in the CSD's own options, and no --audio null: Csound alone would run
  // millions of k-cycles a second. Its null module, asked for by name, sleeps
  // in whole milliseconds: the bridge paces that too.
  for (const char* options : {"-d -m0 -n", "-d -m0 -odac -+rtaudio=null"}) {
    SCOPED_TRACE(options);
    TempDir dir;
    dir.write("n.csd", make_csd("instr 1\nendin\nalwayson 1\n", "f0 z", options));
    auto cfg = dir.write("n.yaml", "csound:\n  csd: n.csd\n");
    Bridge bridge(dir, cfg, {}, /*audio_null=*/false);
    ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
    auto k0 = bridge.ctl("status")["csound"]["kcycles"].get<double>();
    auto t0 = Clock::now();
    std::this_thread::sleep_for(1s);
    auto k1 = bridge.ctl("status")["csound"]["kcycles"].get<double>();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    double rate = (k1 - k0) / s;  // 48000 / 64 = 750 a second in real time
    EXPECT_GT(rate, 600) << bridge.log();
    EXPECT_LT(rate, 900) << bridge.log();
    EXPECT_EQ(bridge.ctl("status")["csound"]["audio"],
              "null (no real-time audio device in the options)");
    EXPECT_EQ(bridge.terminate(), 0) << bridge.log();
  }
}

TEST(EnginePacing, ScoreThatEndsIsRestartedWithoutBackingOff) {
  TempDir dir;
  dir.write("short.csd", make_csd("instr 1\nendin\n", "i 1 0 0.2"));
  auto cfg = dir.write("short.yaml",
                       "csound:\n  csd: short.csd\n  on_exit: restart\n  restart_delay: 100ms\n");
  Bridge bridge(dir, cfg);
  ASSERT_TRUE(bridge.wait_state("running")) << bridge.log();
  std::this_thread::sleep_for(3s);
  // 0.2 s of score and 0.1 s of delay: about 10 restarts; doubling the delay
  // after each (0.1, 0.2, 0.4, 0.8, 1.6 s) would give 4.
  EXPECT_GE(bridge.ctl("status")["csound"]["restarts"].get<int>(), 7) << bridge.log();
  EXPECT_EQ(bridge.terminate(), 0) << bridge.log();
}
