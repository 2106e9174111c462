// A virtual MIDI controller on a private JACK server (dummy backend) drives a
// real csbridge running a real Csound orchestra. Values are checked inside
// the orchestra: it copies every input channel to an output channel read
// with `ctl get`, or sends it back as feedback the controller receives.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "harness.hpp"
#include "jack_harness.hpp"

using namespace csbt;

namespace {

/// Channels the orchestra copies from NAME to o_NAME.
const std::vector<std::string> kCopied = {"vol",  "pan2", "fine", "np",   "pbr",   "n60",
                                          "pt60", "at",   "prog", "bend", "tempo", "knob"};

std::string copy_orchestra(const std::string& extra = "") {
  std::string body = "instr 1\n";
  for (const auto& n : kCopied) body += "  chnset chnget:k(\"" + n + "\"), \"o_" + n + "\"\n";
  body += "  outvalue \"fb\", chnget:k(\"knob\")\nendin\nalwayson 1\n" + extra;
  return body;
}

/// Every source kind (tests/data/midi/every_source_kind.yaml, shared with
/// the rig), cc 1 to knob, and knob back through the orchestra's fb as cc 2.
std::string source_mappings() {
  std::ifstream in(CSB_TEST_DATA "/midi/every_source_kind.yaml");
  std::string kinds(std::istreambuf_iterator<char>(in), {});
  return "map:\n" + kinds +
         "  - {from: nano cc 1, to: knob, range: raw}\n"
         "feedback:\n"
         "  - {from: fb, to: nano cc 2, range: [0, 127], rate: 0}\n";
}

struct MidiFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<JackServer> jack;
  TestController ctl;
  std::unique_ptr<Bridge> bridge;

  std::string config(const std::string& api, const std::string& device_extra,
                     const std::string& rest, const std::string& orchestra,
                     const std::string& scan = "100ms") {
    dir.write("test.csd", make_csd(orchestra));
    return dir.write("test.yaml",
                     "csound:\n  csd: test.csd\n  restart_delay: 100ms\n"
                     "scan: " +
                         scan + "\nmidi:\n  api: " + api +
                         "\n"
                         "devices:\n  nano:\n    midi: \"nanokontrol2*\"\n" +
                         device_extra + rest);
  }

  void TearDown() override {
    if (HasFailure() && jack) std::cout << "jackd said:\n" << jack->log();
  }

  void start(const std::string& cfg) {
    bridge = std::make_unique<Bridge>(dir, cfg);
    ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  }

  nlohmann::json device() const {
    auto d = bridge->ctl("devices");
    return d["devices"].is_array() && !d["devices"].empty() ? d["devices"][0] : nlohmann::json{};
  }
  bool wait_device(const std::string& state, std::chrono::milliseconds timeout = 5s) const {
    return eventually([&] { return device().value("state", "") == state; }, timeout);
  }
  /// The input and, with feedback, the output port are both open.
  bool wait_connected(std::size_t outputs = 1) const {
    return eventually([&] {
      auto d = device();
      return d.value("state", "") == "connected" && d["outputs"].is_array() &&
             d["outputs"].size() == outputs && d["ports"].size() == 1;
    });
  }
};

// --- every source kind ---------------------------------------------------

TEST_F(MidiFixture, EverySourceKindReachesTheOrchestra) {
  jack = std::make_unique<JackServer>();
  ctl.open();
  start(config("jack", "", source_mappings(), copy_orchestra()));
  ASSERT_TRUE(wait_connected()) << bridge->log();
  auto& b = *bridge;

  ctl.cc(1, 7, 99);
  EXPECT_TRUE(b.wait_value("o_vol", 99)) << b.log();
  ctl.cc(1, 10, 5);  // channel 1: the mapping is for channel 2 only
  ctl.cc(2, 10, 77);
  EXPECT_TRUE(b.wait_value("o_pan2", 77));
  ctl.cc(1, 1 + 32, 3);  // LSB before any MSB
  ctl.cc(1, 1, 10);      // the MSB completes it
  EXPECT_TRUE(b.wait_value("o_fine", 10 * 128 + 3));
  ctl.cc(1, 1, 11);  // a lone MSB moves it, keeping the LSB
  EXPECT_TRUE(b.wait_value("o_fine", 11 * 128 + 3));
  // NRPN 300 = MSB 2, LSB 44; data entry, then increment.
  for (auto [n, v] : {std::pair{99, 2}, {98, 44}, {6, 20}, {38, 1}, {96, 1}}) ctl.cc(1, n, v);
  EXPECT_TRUE(b.wait_value("o_np", 20 * 128 + 2));
  // RPN 0 (pitch-bend range): data entry MSB 12, then decrement.
  for (auto [n, v] : {std::pair{101, 0}, {100, 0}, {6, 12}, {97, 1}}) ctl.cc(1, n, v);
  EXPECT_TRUE(b.wait_value("o_pbr", 12 * 128 - 1));
  ctl.send({0x90, 60, 100});
  EXPECT_TRUE(b.wait_value("o_n60", 100));
  ctl.send({0x90, 60, 0});  // velocity 0 is note-off
  EXPECT_TRUE(b.wait_value("o_n60", 0));
  ctl.send({0x90, 60, 90});
  EXPECT_TRUE(b.wait_value("o_n60", 90));
  ctl.send({0x80, 60, 64});
  EXPECT_TRUE(b.wait_value("o_n60", 0));
  ctl.send({0xA0, 60, 33});
  EXPECT_TRUE(b.wait_value("o_pt60", 33));
  ctl.send({0xD0, 44});
  EXPECT_TRUE(b.wait_value("o_at", 44));
  ctl.send({0xC0, 7});
  EXPECT_TRUE(b.wait_value("o_prog", 7));
  ctl.send({0xE0, 0x00, 0x50});  // 0x50 << 7 = 10240, centred: 2048
  EXPECT_TRUE(b.wait_value("o_bend", 2048));
  // 24 ticks a beat at 120 BPM: a tick every 20.833 ms, on an absolute
  // schedule so that a loaded machine's late wake-ups do not add up.
  auto t0 = Clock::now();
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_until(t0 + i * std::chrono::microseconds(20833));
    ctl.send({0xF8});
  }
  EXPECT_TRUE(eventually([&] { return std::abs(b.value("o_tempo") - 120) < 6; }))
      << b.value("o_tempo");

  auto d = device();
  EXPECT_EQ(d["api"], "jack");
  EXPECT_EQ(d["port"], "nanoKONTROL2:nanoKONTROL2 MIDI 1");
  EXPECT_GE(d["events"].get<int>(), 20) << d.dump();
  EXPECT_GE(d["unmatched"].get<int>(), 1) << d.dump();  // cc 10 on channel 1
  EXPECT_EQ(d["decoder_errors"], 0);
}

// --- hotplug -------------------------------------------------------------

TEST_F(MidiFixture, ControllerAndServerStartedAfterTheBridgeAreFound) {
  jack = std::make_unique<JackServer>(/*start=*/false);
  // `auto` on a machine without an ALSA sequencer (as here); where there is
  // one, auto would pick ALSA, so JACK is asked for by name.
  const bool alsa = ::access("/dev/snd/seq", F_OK) == 0;
  start(config(alsa ? "jack" : "auto", "", source_mappings(), copy_orchestra()));
  // No ALSA sequencer here (or no such port in it) and no JACK server yet:
  // the service plays on and says so once.
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(device()["state"], "absent");
  if (::access("/dev/snd/seq", F_OK) != 0) {
    EXPECT_NE(bridge->log().find("no MIDI API can be opened"), std::string::npos) << bridge->log();
    std::string log = bridge->log();
    EXPECT_EQ(log.find("no MIDI API can be opened"), log.rfind("no MIDI API can be opened"))
        << "said more than once:\n"
        << log;
    ASSERT_TRUE(jack->start()) << jack->error();
    EXPECT_TRUE(eventually([&] {
      return bridge->log().find("jack is available now") != std::string::npos;
    })) << bridge->log();
  } else {
    GTEST_SKIP() << "this machine has an ALSA sequencer: auto picks ALSA, not JACK";
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(device()["state"], "absent");
  ctl.open();
  ASSERT_TRUE(wait_connected()) << bridge->log();
  ctl.cc(1, 7, 42);
  EXPECT_TRUE(bridge->wait_value("o_vol", 42));
}

TEST_F(MidiFixture, TheJackServerStoppingAndComingBackIsSurvived) {
  jack = std::make_unique<JackServer>();
  ctl.open();
  start(config("jack", "", source_mappings(), copy_orchestra()));
  ASSERT_TRUE(wait_connected()) << bridge->log();
  ctl.close();
  jack->stop();
  EXPECT_TRUE(wait_device("absent")) << bridge->log();
  EXPECT_TRUE(eventually([&] { return bridge->ctl("status")["midi"]["available"] == false; }));
  EXPECT_EQ(bridge->ctl("status")["csound"]["state"], "running");
  ASSERT_TRUE(jack->start()) << jack->error();
  ctl.open();
  ASSERT_TRUE(wait_connected()) << bridge->log();
  ctl.cc(1, 7, 55);
  EXPECT_TRUE(bridge->wait_value("o_vol", 55)) << bridge->log();
  EXPECT_NE(bridge->log().find("the JACK server stopped"), std::string::npos);
}

TEST_F(MidiFixture, AJackServerStartedAfterTheServiceIsFoundWithinASecondWhateverTheScan) {
  // No server yet (or one too busy to take the client): the API is asked
  // again every second, not every scan period.
  jack = std::make_unique<JackServer>(/*start=*/false);
  start(config("jack", "", source_mappings(), copy_orchestra(), "60s"));
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(bridge->ctl("status")["midi"]["available"], false);
  ASSERT_TRUE(jack->start()) << jack->error();
  ctl.open();
  EXPECT_TRUE(eventually([&] { return bridge->ctl("status")["midi"]["available"] == true; }, 5s))
      << bridge->log();
  ASSERT_TRUE(wait_connected()) << bridge->log();
  ctl.cc(1, 7, 55);
  EXPECT_TRUE(bridge->wait_value("o_vol", 55)) << bridge->log();
}

TEST_F(MidiFixture, PlugsAndReplugsQuickerThanAScanAreSeenFromJacksNotices) {
  // A scan every minute: only JACK's port registration notices can find the
  // controller within the test's time, and a replug quicker than the
  // notices' scan (5 ms) is told by the connection it dropped.
  jack = std::make_unique<JackServer>();
  start(config("jack", "", source_mappings(), copy_orchestra(), "60s"));
  auto& b = *bridge;
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(device()["state"], "absent");
  std::vector<double> ms;
  auto timed_connect = [&](int connects) {
    const auto t0 = std::chrono::steady_clock::now();
    bool ok = eventually([&] { return device()["connects"] >= connects; });
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    return ok;
  };
  ctl.open();
  ASSERT_TRUE(timed_connect(1)) << b.log();
  ASSERT_TRUE(wait_connected()) << b.log();
  for (int round = 1; round <= 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ctl.cc(1, 1, round);  // knob -> orchestra -> outvalue fb -> cc 2
    ASSERT_TRUE(ctl.wait_for({0xB0, 2, static_cast<std::uint8_t>(round)})) << b.log();
    const int before = device()["connects"];
    ctl.close();
    ctl.open();
    ASSERT_TRUE(timed_connect(before + 1)) << device().dump() << b.log();
    // The last value comes again without being asked, and the input hears.
    ASSERT_TRUE(ctl.wait_for({0xB0, 2, static_cast<std::uint8_t>(round)})) << b.log();
    ctl.cc(1, 7, round);
    ASSERT_TRUE(b.wait_value("o_vol", round)) << b.log();
  }
  std::sort(ms.begin(), ms.end());
  std::cout << "[ note     ] the controller's open() returning to its input open (polled): median "
            << ms[ms.size() / 2] << " ms, worst " << ms.back() << " ms\n";
  EXPECT_EQ(b.terminate(), 0) << b.log();
}

TEST_F(MidiFixture, ReconnectedTwentyTimesWithFeedbackSentAgain) {
  jack = std::make_unique<JackServer>();
  ctl.open();
  start(config("jack", "", source_mappings(), copy_orchestra()));
  ASSERT_TRUE(wait_connected()) << bridge->log();
  for (int round = 1; round <= 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ctl.cc(1, 1, round);  // knob -> orchestra -> outvalue fb -> cc 2
    ASSERT_TRUE(ctl.wait_for({0xB0, 2, static_cast<std::uint8_t>(round)}))
        << bridge->log() << device().dump();
    ctl.close();
    ASSERT_TRUE(wait_device("absent")) << bridge->log();
    ctl.take();
    ctl.open();
    // The last value comes again without being asked.
    ASSERT_TRUE(ctl.wait_for({0xB0, 2, static_cast<std::uint8_t>(round)})) << bridge->log();
    ASSERT_TRUE(wait_connected());
  }
  auto d = device();
  EXPECT_GE(d["connects"], 21);
  EXPECT_LE(d["connects"], 21 + ctl.retries());
  EXPECT_TRUE(bridge->alive());
}

TEST_F(MidiFixture, ASysexBurstAndAnUnendedSysexLeaveTheInputListening) {
  // A patch dump: 200 closed 202-byte sysex, four per JACK cycle (what one
  // cycle's MIDI buffer holds at 256 frames: the test controller's RtMidi
  // drops the rest), then a dump cut short (F0 and no F7), then knob moves.
  // Every sysex is counted, and every CC after them arrives at once: JACK
  // hands over whole messages, so an unended sysex holds nothing back.
  jack = std::make_unique<JackServer>();
  ctl.open();
  start(config("jack", "", source_mappings(), copy_orchestra()));
  ASSERT_TRUE(wait_connected()) << bridge->log();
  auto& b = *bridge;
  std::vector<std::uint8_t> dump(202, 0x42);
  dump.front() = 0xF0;
  dump.back() = 0xF7;
  for (int group = 1; group <= 50; ++group) {
    for (int i = 0; i < 4; ++i) {
      dump[1] = static_cast<std::uint8_t>((group * 4 + i) & 0x7F);
      ctl.send(dump);
    }
    ASSERT_TRUE(eventually([&] { return device()["sysex"] == group * 4; }))
        << "sysex group " << group << "\n"
        << device().dump() << b.log();
  }
  ctl.send({0xF0, 0x7D, 0x01, 0x02});
  for (int v = 1; v <= 20; ++v) {
    ctl.cc(1, 7, v);
    ASSERT_TRUE(b.wait_value("o_vol", v)) << "CC " << v << " after the sysex\n"
                                          << device().dump() << b.log();
  }
  auto d = device();
  EXPECT_GE(d["sysex"], 200) << d.dump();
  EXPECT_EQ(d["queue_overflow"], 0) << d.dump();
  EXPECT_EQ(b.terminate(), 0) << b.log();
}

// --- passthrough ---------------------------------------------------------

const char* kPassthroughOrchestra = R"(
massign 0, 0
massign 3, 7
instr 1
  chnset active:k(7), "active7"
  chnset active:k(1), "active1"
endin
alwayson 1
instr 7
  chnset notnum(), "i7note"
  chnset veloc(), "i7vel"
  chnset ctrl7(3, 1, 0, 127), "i7mod"
  chnset pchbend:k(0, 2), "i7bend"
endin
)";

TEST_F(MidiFixture, PassthroughNotesPlayTheInstrumentMassignChose) {
  jack = std::make_unique<JackServer>();
  ctl.open();
  start(config("jack", "    passthrough: true\n", "", kPassthroughOrchestra));
  ASSERT_TRUE(wait_device("connected")) << bridge->log();
  auto& b = *bridge;
  // The device can connect before the first k-cycle has run (slowly, under
  // a sanitizer): wait for the orchestra's own instance first.
  ASSERT_TRUE(b.wait_value("active1", 1)) << b.log();
  // A first get of a name starts watching it; wait until the performance
  // knows it, so the get after the note answers at once, even on a busy host.
  ASSERT_TRUE(b.wait_value("active7", 0)) << b.log();

  ctl.send({0x90, 64, 100});  // channel 1: massign sent it nowhere (not to instr 1)
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(b.value("active7"), 0);
  EXPECT_EQ(b.value("active1"), 1);  // the alwayson instance alone
  ctl.send({0x80, 64, 0});

  ctl.send({0xB2, 1, 99});    // channel 3 mod wheel
  ctl.send({0x92, 62, 101});  // channel 3 note-on
  ctl.send({0xE2, 0, 0x60});  // bend up
  EXPECT_TRUE(b.wait_value("active7", 1)) << b.log();
  EXPECT_TRUE(b.wait_value("i7note", 62));
  EXPECT_TRUE(b.wait_value("i7vel", 101));
  EXPECT_TRUE(b.wait_value("i7mod", 99));
  EXPECT_TRUE(eventually([&] { return b.value("i7bend") > 0.9; })) << b.value("i7bend");
  ctl.send({0x92, 62, 0});
  EXPECT_TRUE(b.wait_value("active7", 0));

  // A note-off that comes while paused is not lost: the note ends on resume.
  ctl.send({0x92, 65, 90});
  ASSERT_TRUE(b.wait_value("active7", 1));
  EXPECT_EQ(b.ctl("pause")["ok"], true);
  ASSERT_TRUE(b.wait_state("paused"));
  ctl.send({0x82, 65, 0});
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(b.ctl("resume")["ok"], true);
  EXPECT_TRUE(b.wait_value("active7", 0)) << "a hanging note";

  // Across a reset: the new performance holds nothing; the old note's
  // note-off reaches it harmlessly and new notes play.
  ctl.send({0x92, 67, 90});
  ASSERT_TRUE(b.wait_value("active7", 1));
  EXPECT_EQ(b.ctl("reset")["ok"], true);
  ASSERT_TRUE(eventually([&] { return b.ctl("status")["csound"]["restarts"] == 1; }));
  ASSERT_TRUE(b.wait_state("running"));
  EXPECT_TRUE(b.wait_value("active7", 0));
  ctl.send({0x82, 67, 0});
  ctl.send({0x92, 69, 90});
  EXPECT_TRUE(b.wait_value("i7note", 69));
  ctl.send({0x82, 69, 0});
  EXPECT_TRUE(b.wait_value("active7", 0));
  EXPECT_GE(b.ctl("status")["midi"]["passed_to_csound"].get<int>(), 10);

  // Unplugged with a key and the sustain pedal down: nothing is left sounding.
  ctl.send({0xB2, 64, 127});
  ctl.send({0x92, 71, 90});
  ASSERT_TRUE(b.wait_value("active7", 1));
  ctl.close();
  EXPECT_TRUE(b.wait_value("active7", 0)) << "a note held by an unplugged controller";
  EXPECT_NE(b.log().find("held note(s) ended"), std::string::npos) << b.log();
}

// --- feedback ------------------------------------------------------------

TEST_F(MidiFixture, FeedbackCcCc14AndNotesArriveOnChangeOnly) {
  jack = std::make_unique<JackServer>();
  ctl.open();
  const char* orchestra = R"(
instr 1
  outvalue "level", chnget:k("level_in")
  chnset chnget:k("fine_in"), "fine"
  chnset chnget:k("lamp_in"), "lamp"
endin
alwayson 1
)";
  start(config("jack", "", R"(feedback:
  - {from: level, to: nano cc 20 ch 2, range: [0, 1], rate: 0}
  - {from: fine, to: nano cc14 3, range: [0, 1], rate: 0}
  - {from: lamp, to: nano note 36, range: [0, 1], rate: 0}
)",
               orchestra));
  ASSERT_TRUE(wait_connected()) << bridge->log();
  // The output is announced (its values sent again) at the next scan.
  std::this_thread::sleep_for(300ms);
  auto& b = *bridge;
  b.ctl("set level_in 0.5");
  EXPECT_TRUE(ctl.wait_for({0xB1, 20, 64})) << b.log();
  b.ctl("set fine_in 1");
  EXPECT_TRUE(ctl.wait_for({0xB0, 3, 127}));  // MSB, then the LSB on cc 35
  EXPECT_TRUE(ctl.wait_for({0xB0, 35, 127}));
  b.ctl("set lamp_in 1");
  EXPECT_TRUE(ctl.wait_for({0x90, 36, 127}));
  b.ctl("set lamp_in 0");
  EXPECT_TRUE(ctl.wait_for({0x90, 36, 0}));
  // Nothing changed: nothing more is sent.
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(ctl.take().empty());
  auto d = device();
  EXPECT_GE(d["sent"].get<int>(), 4);
  EXPECT_EQ(d["send_failures"], 0);
}

TEST_F(MidiFixture, FeedbackNeverHoldsUpThePerformanceWhileJackStalls) {
  // Only the JACK process cycle empties a port's queue: with the server
  // stopped, a send that waited for room on the performance thread would
  // stop every k-cycle. The device's writer thread waits instead, and the
  // performance, control and scans go on.
  jack = std::make_unique<JackServer>();
  ctl.open();
  std::string orchestra = "instr 1\n  kn init 0\n  kn = (kn + 1) % 128\n";
  std::string feedback = "feedback:\n";
  for (int i = 0; i < 8; ++i) {
    orchestra += "  outvalue \"f" + std::to_string(i) + "\", kn\n";
    feedback += "  - {from: f" + std::to_string(i) + ", to: nano cc " + std::to_string(20 + i) +
                ", range: [0, 127], rate: 0}\n";
  }
  orchestra += "  chnset chnget:k(\"x\"), \"y\"\nendin\nalwayson 1\n";
  // Scans go on every 100 ms while the server is stopped: listing ports and
  // checking connections read JACK's shared graph, never wait for it.
  start(config("jack", "", feedback, orchestra));
  ASSERT_TRUE(wait_connected()) << bridge->log();
  auto& b = *bridge;
  ASSERT_TRUE(eventually([&] { return !ctl.take().empty(); })) << b.log();

  jack->freeze(true);
  std::this_thread::sleep_for(1s);  // 8 CCs a k-cycle fill the port's queue at once
  auto kcycles = [&] { return b.ctl("status")["csound"]["kcycles"].get<double>(); };
  double k0 = kcycles();
  std::this_thread::sleep_for(1s);
  double k1 = kcycles();
  EXPECT_GT(k1 - k0, 300) << "k-cycles in a second while JACK stalls\n" << b.log();
  EXPECT_EQ(b.ctl("set x 0.5")["ok"], true);
  EXPECT_TRUE(b.wait_value("y", 0.5)) << b.log();
  // The sends did wait: the writer's queue filled and refused the rest.
  EXPECT_GT(device()["send_failures"].get<double>(), 0) << device().dump();
  jack->freeze(false);
  // The server going on, feedback flows again.
  ctl.take();
  EXPECT_TRUE(eventually([&] { return !ctl.take().empty(); })) << b.log();
  EXPECT_EQ(device()["state"], "connected");
  EXPECT_EQ(b.terminate(5s), 0) << b.log();
}

// --- bad input -----------------------------------------------------------

TEST_F(MidiFixture, SysexFloodAndRandomBytesLeaveTheBridgeUp) {
  jack = std::make_unique<JackServer>();
  ctl.open();
  // Random note-ons passed through would make the orchestra itself grow
  // (instances of instr 1 held for ever): massign sends them nowhere.
  start(config("jack", "    passthrough: true\n", source_mappings(),
               copy_orchestra("massign 0, 0\n")));
  ASSERT_TRUE(wait_connected()) << bridge->log();
  auto& b = *bridge;
  ctl.cc(1, 7, 1);
  ASSERT_TRUE(b.wait_value("o_vol", 1));
  std::mt19937 rng(7);
  int sysex = 0;
  auto flood = [&](std::chrono::seconds how_long) {
    auto until = Clock::now() + how_long;
    while (Clock::now() < until) {
      std::vector<std::uint8_t> big(1000, 0x11);
      big.front() = 0xF0;
      big.back() = 0xF7;
      ctl.send(big);
      ++sysex;
      for (int i = 0; i < 20; ++i) {
        std::vector<std::uint8_t> noise(1 + rng() % 8);
        for (auto& x : noise) x = static_cast<std::uint8_t>(rng());
        ctl.send(noise);
      }
      std::this_thread::sleep_for(2ms);
    }
  };
  // The first second brings the MIDI threads' buffers to their working
  // size; after that, nothing may grow.
  flood(1s);
  long rss_before = b.rss_kb();
  flood(5s);
  ASSERT_TRUE(b.alive()) << b.log();
  ctl.cc(1, 7, 123);
  EXPECT_TRUE(b.wait_value("o_vol", 123)) << b.log();
  auto d = device();
  EXPECT_GT(d["sysex"].get<int>(), 0) << d.dump();
  EXPECT_GT(d["decoder_errors"].get<int>() + d["bad_input"].get<int>(), 0) << d.dump();
  EXPECT_EQ(b.ctl("status")["csound"]["state"], "running");
  std::cout << "[ note     ] " << sysex << " sysex and " << sysex * 20
            << " noise packets; RSS grew " << b.rss_kb() - rss_before << " KiB\n";
  if (rss_is_meaningful()) {
    EXPECT_LT(b.rss_kb() - rss_before, 1024) << "RSS grew";
  }
  EXPECT_GT(sysex, 500);
  EXPECT_EQ(b.terminate(), 0) << b.log();
}

// --- ALSA ----------------------------------------------------------------

TEST_F(MidiFixture, AlsaFailsSoftWithoutASequencer) {
  start(config("alsa", "", source_mappings(), copy_orchestra()));
  std::this_thread::sleep_for(500ms);
  auto status = bridge->ctl("status");
  if (::access("/dev/snd/seq", F_OK) == 0) {
    // A machine with a sound kernel: the ALSA path runs for real.
    EXPECT_TRUE(eventually([&] { return bridge->ctl("status")["midi"]["available"] == true; }));
    EXPECT_EQ(bridge->ctl("status")["midi"]["api"], "alsa");
    return;
  }
  // This machine has no ALSA sequencer: the test says so and checks that
  // the service plays on, says why once, and keeps the device absent.
  std::cout << "[ note     ] no /dev/snd/seq here: checking that ALSA fails soft\n";
  EXPECT_EQ(status["midi"]["available"], false);
  EXPECT_EQ(status["csound"]["state"], "running");
  EXPECT_EQ(device()["state"], "absent");
  std::string log = bridge->log();
  auto first = log.find("no ALSA sequencer");
  EXPECT_NE(first, std::string::npos) << log;
  EXPECT_EQ(first, log.rfind("no ALSA sequencer")) << "said more than once:\n" << log;
  EXPECT_EQ(log.find("ALSA lib"), std::string::npos) << "the library's own noise:\n" << log;
  EXPECT_EQ(bridge->terminate(), 0);
}

}  // namespace

// --- reload --------------------------------------------------------------

TEST_F(MidiFixture, AReloadKeepsAnUnchangedControllerConnectedAndAppliesItsNewMappings) {
  jack = std::make_unique<JackServer>();
  ctl.open();
  auto cfg = config("jack", "", source_mappings(), copy_orchestra());
  start(cfg);
  ASSERT_TRUE(wait_connected()) << bridge->log();
  auto& b = *bridge;
  ctl.cc(1, 7, 99);
  ASSERT_TRUE(b.wait_value("o_vol", 99)) << b.log();

  // The same device and feedback; cc 7 now goes to "at" as well.
  std::string text = source_mappings();
  text.insert(text.find("feedback:"), "  - {from: nano cc 7, to: at, range: raw}\n");
  config("jack", "", text, copy_orchestra());
  auto r = b.ctl("reload");
  ASSERT_EQ(r["ok"], true) << r.dump() << b.log();
  EXPECT_EQ(r["devices"]["kept"], nlohmann::json::array({"nano"})) << r.dump();
  ASSERT_TRUE(b.wait_state("running")) << b.log();

  ctl.cc(1, 7, 42);
  EXPECT_TRUE(b.wait_value("o_at", 42)) << b.log();
  EXPECT_TRUE(b.wait_value("o_vol", 42)) << b.log();
  auto d = device();
  EXPECT_EQ(d["connects"], 1) << "the controller was reopened: " << d.dump();
  EXPECT_EQ(d["ports"].size(), 1u) << d.dump();
  // Feedback goes out of the same output port, from the new performance.
  ctl.take();
  ctl.cc(1, 1, 77);
  EXPECT_TRUE(ctl.wait_for({0xB0, 2, 77})) << b.log();
}
