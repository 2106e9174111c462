// A pty board drives a real csbridge running a real Csound orchestra; every
// value is checked inside the orchestra (it copies inputs to output
// channels read with `ctl get`, or to feedback lines read on the pty).

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

#include "harness.hpp"

using namespace csbt;

namespace {

// The orchestra copies what the bridge writes into output channels.
const char* kCopyOrchestra = R"(
chn_k "x", 1
chn_k "y", 2
chn_k "light", 1
chn_k "light_out", 2
chn_S "tag", 1
chn_k "taglen", 2
chn_k "btn_state", 1
chn_k "btn_out", 2
chn_k "hit_out", 2
instr 1
  chnset chnget:k("x"), "y"
  chnset chnget:k("light"), "light_out"
  Stag chnget "tag"
  chnset strlenk(Stag), "taglen"
  chnset chnget:k("btn_state"), "btn_out"
endin
instr 2
  chnset p4, "hit_out"
endin
alwayson 1
)";

struct BoardFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<PtyBoard> board;
  std::unique_ptr<Bridge> bridge;

  /// Writes the CSD and a config with `board` as a lines device plus `rest`.
  std::string config(const std::string& rest, const std::string& orchestra = kCopyOrchestra,
                     const std::string& device_extra = "") {
    dir.write("test.csd", make_csd(orchestra));
    return dir.write("test.yaml",
                     "csound:\n  csd: test.csd\n  restart_delay: 100ms\n"
                     "scan: 100ms\n"
                     "devices:\n  board:\n    serial: " +
                         dir.file("board") + "\n    format: lines\n" + device_extra + rest);
  }

  void start(const std::string& cfg, bool plug = true) {
    if (plug) board = std::make_unique<PtyBoard>(dir.file("board"));
    bridge = std::make_unique<Bridge>(dir, cfg);
    ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
    if (plug) ASSERT_TRUE(wait_connected()) << bridge->log();
  }

  bool wait_connected(bool connected = true) {
    return eventually([&] {
      auto d = bridge->ctl("devices");
      return d.value("ok", false) &&
             d["devices"][0]["state"] == (connected ? "connected" : "absent");
    });
  }

  nlohmann::json device() { return bridge->ctl("devices")["devices"][0]; }

  void TearDown() override {
    if (bridge) {
      auto code = bridge->terminate();
      EXPECT_EQ(code, 0) << bridge->log();
    }
  }
};

}  // namespace

TEST_F(BoardFixture, Serial_NamedValueReachesOrchestra) {
  start(config("map:\n  - from: board x\n    to: x\n"));
  board->write_line("x=0.25");
  EXPECT_TRUE(bridge->wait_value("y", 0.25)) << bridge->log();
  board->write_line("x 512");  // the Serial.print(name); Serial.println(v) idiom
  EXPECT_TRUE(bridge->wait_value("y", 512));
  board->write_line("x: -3.5");
  EXPECT_TRUE(bridge->wait_value("y", -3.5));
  EXPECT_EQ(device()["events"], 3);
}

TEST_F(BoardFixture, Serial_ScalingWithInRangeAndExpCurve) {
  start(config(
      "map:\n  - from: board light\n    to: light\n    in: [0, 1000]\n    range: [100, 8000]\n"
      "    curve: exp\n"));
  board->write_line("light=500");
  // exp: lo * (hi/lo)^x at x = 0.5 is the geometric mean.
  EXPECT_TRUE(bridge->wait_value("light_out", std::sqrt(100.0 * 8000.0), 5s, 1e-6))
      << bridge->value("light_out");
  board->write_line("light=5000");  // clamped to `in`
  EXPECT_TRUE(bridge->wait_value("light_out", 8000, 5s, 1e-6));
}

TEST_F(BoardFixture, Serial_PositionalColumnsAndInvert) {
  start(
      config("map:\n  - from: board light\n    to: light\n    in: [0, 1023]\n"
             "    invert: true\n",
             kCopyOrchestra, "    columns: [light, dist]\n"));
  board->write_line("1023 40");
  EXPECT_TRUE(bridge->wait_value("light_out", 0.0));
  board->write_line("0,40");
  EXPECT_TRUE(bridge->wait_value("light_out", 1.0));
}

TEST_F(BoardFixture, Serial_ToggleFlipsOnEachPress) {
  start(config("map:\n  - from: board btn\n    to: btn_state\n    value: toggle\n"));
  board->write_line("btn");  // a bare word is a trigger: one press
  EXPECT_TRUE(bridge->wait_value("btn_out", 1));
  board->write_line("btn");
  EXPECT_TRUE(bridge->wait_value("btn_out", 0));
  // A value toggles on its rise through 0.5 only, not while it stays high.
  board->write_line("btn=1");
  EXPECT_TRUE(bridge->wait_value("btn_out", 1));
  board->write_line("btn=1");
  board->write_line("btn=0");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(bridge->value("btn_out"), 1);
}

TEST_F(BoardFixture, Serial_StringChannelReachesOrchestra) {
  start(config("map:\n  - from: board tag\n    to: tag\n    type: string\n"));
  board->write_line("tag ABC123");
  EXPECT_TRUE(bridge->wait_value("taglen", 6)) << bridge->log();
  // A named string value runs to the end of the line, spaces and commas included.
  board->write_line("tag=hello world");
  EXPECT_TRUE(bridge->wait_value("taglen", 11)) << bridge->log();
  board->write_line("tag: hi, there");
  EXPECT_TRUE(bridge->wait_value("taglen", 9)) << bridge->log();
  EXPECT_EQ(device()["unmatched"], 0);
}

TEST_F(BoardFixture, Serial_ScoreEventOnRisingEdge) {
  start(config("map:\n  - from: board hit\n    score: 'i 2 0 0.05 {value}'\n"));
  board->write_line("hit=7");
  EXPECT_TRUE(bridge->wait_value("hit_out", 7)) << bridge->log();
  board->write_line("hit=9");  // still high: no new edge
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(bridge->value("hit_out"), 7);
  board->write_line("hit=0");
  board->write_line("hit=3");
  EXPECT_TRUE(bridge->wait_value("hit_out", 3));
}

TEST_F(BoardFixture, Serial_ResetAction) {
  start(config("map:\n  - from: board x\n    to: x\n  - from: board again\n    do: reset\n"));
  board->write_line("x=42");
  ASSERT_TRUE(bridge->wait_value("y", 42));
  board->write_line("again");
  EXPECT_TRUE(eventually([&] { return bridge->ctl("status")["csound"]["restarts"] == 1; }));
  ASSERT_TRUE(bridge->wait_state("running"));
  // The knob position survives the reset.
  EXPECT_TRUE(bridge->wait_value("y", 42)) << bridge->log();
}

TEST_F(BoardFixture, Serial_PauseAndResumeActions) {
  start(config("map:\n  - from: board x\n    to: x\n  - from: board p\n    do: toggle_pause\n"));
  board->write_line("p");
  ASSERT_TRUE(bridge->wait_state("paused"));
  board->write_line("x=5");  // recorded while paused, applied on resume
  std::this_thread::sleep_for(100ms);
  EXPECT_NE(bridge->value("y"), 5);
  board->write_line("p");
  ASSERT_TRUE(bridge->wait_state("running"));
  EXPECT_TRUE(bridge->wait_value("y", 5));
}

TEST_F(BoardFixture, Serial_FeedbackThroughChnset) {
  start(
      config("map:\n  - from: board x\n    to: x\nfeedback:\n  - from: y\n    to: board\n"
             "    line: \"{name}={value}\"\n    rate: 0\n"));
  board->write_line("x=0.25");
  EXPECT_EQ(board->read_line(), "y=0.25");
  board->write_line("x=-3.5e-07");
  EXPECT_EQ(board->read_line(), "y=-3.5e-07");
  board->write_line("x=-3.5e-07");  // unchanged: nothing is sent
  EXPECT_EQ(board->read_line(300ms), std::nullopt);
}

TEST_F(BoardFixture, Serial_FeedbackThroughOutvalue) {
  const char* orc = R"(
chn_k "x", 1
instr 1
  outvalue "y", chnget:k("x")
endin
alwayson 1
)";
  start(
      config("map:\n  - from: board x\n    to: x\nfeedback:\n  - from: y\n    to: board\n"
             "    line: \"y={value}\"\n    rate: 0\n",
             orc));
  // The orchestra's first outvalue is a real value: the board learns it.
  EXPECT_EQ(board->read_line(), "y=0");
  board->write_line("x=512");
  EXPECT_EQ(board->read_line(), "y=512");
  board->write_line("x=1.5");
  EXPECT_EQ(board->read_line(), "y=1.5");
  // outvalue runs every k-cycle; only changes are sent.
  EXPECT_EQ(board->read_line(300ms), std::nullopt);
}

TEST_F(BoardFixture, Serial_FeedbackRateLimitSendsLatest) {
  // A value that changes every k-cycle (750 a second), limited to 20 sends a second.
  const char* orc = R"(
chn_k "ramp", 2
instr 1
  kcount init 0
  kcount += 1
  chnset kcount, "ramp"
endin
alwayson 1
)";
  start(
      config("feedback:\n  - from: ramp\n    to: board\n    line: \"r={value}\"\n"
             "    rate: 20\n",
             orc));
  auto lines = board->read_lines_for(1000ms);
  EXPECT_GE(lines.size(), 15u);
  EXPECT_LE(lines.size(), 23u);
}

TEST_F(BoardFixture, Serial_ReplugReconnectsAndResendsFeedback) {
  start(
      config("map:\n  - from: board x\n    to: x\nfeedback:\n  - from: y\n    to: board\n"
             "    line: \"y={value}\"\n    rate: 0\n"));
  for (int round = 1; round <= 5; ++round) {
    board->write_line("x=" + std::to_string(round));
    ASSERT_EQ(board->read_line(), "y=" + std::to_string(round)) << "round " << round;
    board->write("x=99");  // half a line at the disconnect: dropped, not applied
    board->unplug();
    ASSERT_TRUE(wait_connected(false)) << bridge->log();
    board->replug();
    ASSERT_TRUE(wait_connected(true)) << bridge->log();
    // On reconnect the board gets the last feedback value again.
    EXPECT_EQ(board->read_line(), "y=" + std::to_string(round)) << "round " << round;
  }
  EXPECT_EQ(bridge->value("y"), 5);
  EXPECT_GE(device()["connects"], 6);
}

namespace {
/// Five rounds: the board unplugged, a reset asked for, the board back while
/// the performance restarts. The resend may be queued just before the new
/// performance starts, and must not be thrown away by it.
void back_during_a_reset(BoardFixture& f, const std::string& orchestra) {
  f.start(
      f.config("map:\n  - from: board x\n    to: x\nfeedback:\n  - from: y\n    to: board\n"
               "    line: \"y={value}\"\n    rate: 0\n",
               orchestra));
  for (int round = 1; round <= 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    f.board->write_line("x=" + std::to_string(round));
    ASSERT_EQ(f.board->read_line(), "y=" + std::to_string(round));
    f.board->unplug();
    ASSERT_TRUE(f.wait_connected(false)) << f.bridge->log();
    ASSERT_TRUE(f.bridge->ctl("reset").value("ok", false));
    f.board->replug();
    EXPECT_EQ(f.board->read_line(3s), "y=" + std::to_string(round)) << f.bridge->log();
    ASSERT_TRUE(f.bridge->wait_state("running")) << f.bridge->log();
  }
}
}  // namespace

TEST_F(BoardFixture, Serial_ABoardBackDuringAResetGetsItsLastValues) {
  back_during_a_reset(*this, kCopyOrchestra);
}

TEST_F(BoardFixture, Serial_ABoardBackDuringTheLastKCycleBeforeAResetGetsItsLastValues) {
  // Each k-cycle takes 0.4 s: the reset waits for the running one to end,
  // and the board is back before it has. Its resend is queued for a
  // performance that makes no more k-cycles, and the next one sends it.
  back_during_a_reset(*this, std::string(kCopyOrchestra) +
                                 "instr 3\n  kdone system timeinstk(), \"sleep 0.4\"\nendin\n"
                                 "alwayson 3\n");
}

TEST_F(BoardFixture, Serial_AbsentAtStartIsFoundLater) {
  start(config("map:\n  - from: board x\n    to: x\n"), /*plug=*/false);
  EXPECT_EQ(device()["state"], "absent");
  board = std::make_unique<PtyBoard>(dir.file("board"));
  ASSERT_TRUE(wait_connected());
  board->write_line("x=3");
  EXPECT_TRUE(bridge->wait_value("y", 3));
}

TEST_F(BoardFixture, Serial_AGlobMatchingOnlyRegularFilesSaysSo) {
  // A typo'd glob (or a board not plugged in, with log files beside the
  // link) matches files no serial port can be: status says so, not nothing.
  dir.write("board.log", "not a port\n");
  dir.write("board.txt", "nor this\n");
  dir.write("test.csd", make_csd(kCopyOrchestra));
  std::string cfg = dir.write("test.yaml",
                              "csound:\n  csd: test.csd\nscan: 100ms\n"
                              "devices:\n  board:\n    serial: " +
                                  dir.file("board.*") +
                                  "\n    format: lines\nmap:\n  - from: board x\n    to: x\n");
  start(cfg, /*plug=*/false);
  std::string why;
  EXPECT_TRUE(eventually([&] {
    why = bridge->ctl("status")["devices"][0]["last_error"].get<std::string>();
    return !why.empty();
  })) << bridge->log();
  EXPECT_NE(why.find("matches only files that are not serial ports: " + dir.file("board.log") +
                     ", " + dir.file("board.txt")),
            std::string::npos)
      << why;
  EXPECT_EQ(device()["state"], "absent");
  EXPECT_EQ(device()["last_error"], why);
  // Said once in the log, not at every scan.
  std::this_thread::sleep_for(400ms);
  std::string log = bridge->log();
  auto first = log.find("matches only files");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("matches only files", first + 1), std::string::npos) << log;
  // A board plugged in under the glob is opened, and the message goes.
  board = std::make_unique<PtyBoard>(dir.file("board.tty"));
  ASSERT_TRUE(wait_connected()) << bridge->log();
  EXPECT_EQ(device()["last_error"], "");
  board->write_line("x=3");
  EXPECT_TRUE(bridge->wait_value("y", 3)) << bridge->log();
}

TEST_F(BoardFixture, Serial_OverlongAndGarbageLinesAreCountedNotFatal) {
  start(config("map:\n  - from: board x\n    to: x\n", kCopyOrchestra, "    max_line: 32\n"));
  board->write_line(std::string(100, 'a'));           // over max_line: dropped whole
  board->write_line(std::string("\x01\x02\xff", 3));  // binary noise
  board->write_line("x=abc");                         // not a number for a numeric mapping
  board->write_line("x=1");
  EXPECT_TRUE(bridge->wait_value("y", 1));
  EXPECT_TRUE(eventually([&] { return device()["bad_input"] == 3; })) << device().dump();
  board->write_line("nobody=1");
  EXPECT_TRUE(eventually([&] { return device()["unmatched"] == 1; })) << device().dump();
}

TEST_F(BoardFixture, Serial_FloodKeepsLatestValue) {
  start(config("map:\n  - from: board x\n    to: x\n"));
  std::string burst;
  for (int i = 1; i <= 20000; ++i) burst += "x=" + std::to_string(i) + "\n";
  board->write(burst);
  // Far above the k-rate values coalesce, but the last one always arrives.
  EXPECT_TRUE(bridge->wait_value("y", 20000, 10s)) << bridge->value("y");
  EXPECT_TRUE(eventually([&] { return device()["events"] == 20000; })) << device().dump();
}

TEST_F(BoardFixture, Serial_TenSecondsOfRandomBytes) {
  start(config("map:\n  - from: board x\n    to: x\n  - from: board *\n    to: \"s.{name}\"\n"));
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  long rss_after_warmup = -1;
  auto begin = Clock::now();
  while (Clock::now() - begin < 10s) {
    std::string chunk(4096, '\0');
    for (auto& c : chunk) c = static_cast<char>(byte(rng));
    board->write(chunk);
    if (rss_after_warmup < 0 && Clock::now() - begin > 2s) rss_after_warmup = bridge->rss_kb();
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_TRUE(bridge->alive()) << bridge->log();
  long rss_end = bridge->rss_kb();
  // Flat memory: bounded buffers, a capped number of wildcard channels.
  if (rss_is_meaningful()) {
    EXPECT_LT(rss_end - rss_after_warmup, 2048) << rss_after_warmup << " -> " << rss_end;
  }
  auto d = device();
  EXPECT_GT(d["bad_input"].get<long>(), 0);
  EXPECT_GT(d["bytes_in"].get<long>(), 1'000'000);
  board->write_line("");
  board->write_line("x=77");
  EXPECT_TRUE(bridge->wait_value("y", 77)) << bridge->log();
  EXPECT_EQ(bridge->ctl("status")["csound"]["state"], "running");
}

TEST_F(BoardFixture, Serial_MonitorStreamsRoutedEvents) {
  start(config("map:\n  - from: board x\n    to: x\n"));
  ControlClient monitor(bridge->socket());
  ASSERT_TRUE(monitor.connected());
  monitor.send("monitor\n");
  auto reply = nlohmann::json::parse(monitor.read_line().value_or("{}"));
  ASSERT_EQ(reply["ok"], true);
  board->write_line("x=0.5");
  auto line = monitor.read_line();
  ASSERT_TRUE(line.has_value());
  auto ev = nlohmann::json::parse(*line);
  EXPECT_EQ(ev["device"], "board");
  EXPECT_EQ(ev["source"], "x");
  EXPECT_EQ(ev["channel"], "x");
  EXPECT_EQ(ev["value"], 0.5);
  // Other clients are served while a monitor is open.
  EXPECT_EQ(bridge->ctl("status")["ok"], true);
}

TEST_F(BoardFixture, Serial_OneGlobOpensEveryMatchingBoard) {
  // Like the default's /dev/ttyACM*: two boards, one device, the same mappings.
  dir.write("test.csd", make_csd(kCopyOrchestra));
  std::string cfg = dir.write(
      "test.yaml", "csound:\n  csd: test.csd\nscan: 100ms\ndevices:\n  boards:\n    serial: " +
                       dir.file("acm*") +
                       "\n    format: lines\nmap:\n  - from: boards x\n    to: x\n"
                       "feedback:\n  - from: y\n    to: boards\n    line: \"y={value}\"\n"
                       "    rate: 0\n");
  PtyBoard first(dir.file("acm0"));
  bridge = std::make_unique<Bridge>(dir, cfg);
  ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
  ASSERT_TRUE(eventually([&] { return device()["ports"].size() == 1; })) << device().dump();
  PtyBoard second(dir.file("acm1"));  // plugged in later
  ASSERT_TRUE(eventually([&] { return device()["ports"].size() == 2; })) << device().dump();

  first.write_line("x=1");
  EXPECT_EQ(first.read_line(), "y=1");
  EXPECT_EQ(second.read_line(), "y=1");  // feedback goes to every board
  second.write_line("x=2");
  EXPECT_EQ(first.read_line(), "y=2");
  EXPECT_EQ(second.read_line(), "y=2");

  first.unplug();
  ASSERT_TRUE(eventually([&] { return device()["ports"].size() == 1; })) << device().dump();
  EXPECT_EQ(device()["state"], "connected");
  second.write_line("x=3");
  EXPECT_EQ(second.read_line(), "y=3");
  EXPECT_EQ(device()["events"], 3);
}

TEST_F(BoardFixture, Serial_NonStandardBaudRatesOpen) {
  // termios2 sets any rate: 31250 (DIN MIDI) and 250000 are no Bxxx constant.
  for (const char* baud : {"31250", "250000"}) {
    start(config("map:\n  - from: board x\n    to: x\n", kCopyOrchestra,
                 std::string("    baud: ") + baud + "\n"));
    board->write_line(std::string("x=") + baud);
    EXPECT_TRUE(bridge->wait_value("y", std::stod(baud))) << baud << "\n" << bridge->log();
    EXPECT_EQ(bridge->terminate(), 0);
    bridge.reset();
    board.reset();
  }
}

TEST_F(BoardFixture, Serial_FeedbackWaitsOutAFullBufferAndSendsTheLatest) {
  // The board stops reading: the tty buffer fills and writes fail. The
  // orchestra's final value, made while the buffer was full, must still
  // arrive once the board reads again.
  const char* orc = R"(
chn_k "ramp", 2
instr 1
  kcount init 0
  if timeinsts() < 0.5 then
    kcount += 1
  else
    kcount = 123456
  endif
  chnset kcount, "ramp"
endin
alwayson 1
)";
  start(config("feedback:\n  - from: ramp\n    to: board\n    line: \"r={value} " +
                   std::string(200, 'x') + "\"\n    rate: 0\n",
               orc));
  std::this_thread::sleep_for(1500ms);  // not reading: the buffer is full long before
  auto failed = bridge->ctl("status")["feedback"]["failed"].get<long>();
  EXPECT_GT(failed, 0);
  std::string last;
  for (auto l : board->read_lines_for(1500ms))
    if (!l.empty()) last = l;
  EXPECT_EQ(last.rfind("r=123456 ", 0), 0u) << last.substr(0, 40);
}

TEST_F(BoardFixture, Serial_NoiseNamesMakeNoChannelsAndRepliesStayValid) {
  start(config("map:\n  - from: board *\n"));
  board->write_line("ok_name=1");
  board->write_line("\xfe\xff=2");  // a board at the wrong baud rate
  board->write_line("9lives=3");
  ASSERT_TRUE(bridge->wait_value("ok_name", 1));
  EXPECT_TRUE(eventually([&] { return device()["bad_input"] == 2; })) << device().dump();
  // Replies hold only valid UTF-8, whatever came in.
  ControlClient raw(bridge->socket());
  raw.send("\xff\xfe bogus\n");
  auto reply = raw.read_line();
  ASSERT_TRUE(reply.has_value());
  auto j = nlohmann::json::parse(*reply, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << *reply;
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(bridge->ctl("channels")["ok"], true);
}

TEST_F(BoardFixture, Serial_MidiBoardDrivesChannelsAndGetsFeedback) {
  // A DIN MIDI port on a UART (format: midi, 31250 baud): the same decoder
  // and mappings as a MIDI controller.
  dir.write("test.csd", make_csd(kCopyOrchestra));
  start(dir.write("test.yaml",
                  "csound:\n  csd: test.csd\nscan: 100ms\ndevices:\n  board:\n    serial: " +
                      dir.file("board") +
                      "\n    format: midi\n    baud: 31250\n"
                      "map:\n  - from: board cc 7 ch 1\n    to: x\n    range: raw\n"
                      "  - from: board note 60\n    to: btn_state\n    value: gate\n"
                      "feedback:\n  - from: y\n    to: board cc 20 ch 2\n"
                      "    range: [0, 127]\n    rate: 0\n"));
  auto bytes = [](std::initializer_list<int> b) {
    std::string s;
    for (int c : b) s += static_cast<char>(c);
    return s;
  };
  board->write(bytes({0xB0, 0x07, 100}));
  EXPECT_TRUE(bridge->wait_value("y", 100)) << bridge->log();
  board->write(bytes({0x07, 64}));  // running status
  EXPECT_TRUE(bridge->wait_value("y", 64));
  board->write(bytes({0xB0, 0xF8, 0x07, 16}));  // a clock tick inside the message
  EXPECT_TRUE(bridge->wait_value("y", 16));
  board->write(bytes({0xB1, 0x07, 99}));  // channel 2: not mapped
  board->write(bytes({0x90, 60, 80}));
  EXPECT_TRUE(bridge->wait_value("btn_out", 1));
  board->write(bytes({0x90, 60, 0}));  // note-on velocity 0 is a note-off
  EXPECT_TRUE(bridge->wait_value("btn_out", 0));
  EXPECT_EQ(bridge->value("y"), 16);
  // The orchestra's y went 100, 64, 16: each sent as CC 20 on channel 2.
  std::string out = board->read_bytes_for(300ms);
  EXPECT_EQ(out, bytes({0xB1, 20, 100, 0xB1, 20, 64, 0xB1, 20, 16}));
  EXPECT_TRUE(eventually([&] { return device()["unmatched"].get<int>() >= 1; }));
  EXPECT_EQ(device()["bad_input"], 0);
}

TEST_F(BoardFixture, Serial_MidiFeedbackSendsOnlyChangedBytes) {
  // A ramp over 0..1 changes every k-cycle (750 a second), but only 128 cc
  // values exist: a DIN link must carry each once, not every k-cycle.
  const char* orc = R"(
chn_k "ramp", 2
instr 1
  chnset line:k(0, 0.5, 1), "ramp"
endin
alwayson 1
)";
  dir.write("test.csd", make_csd(orc));
  start(dir.write("test.yaml",
                  "csound:\n  csd: test.csd\nscan: 100ms\ndevices:\n  board:\n"
                  "    serial: " +
                      dir.file("board") +
                      "\n    format: midi\nfeedback:\n  - from: ramp\n"
                      "    to: board cc 1\n    rate: 0\n"));
  std::string out = board->read_bytes_for(1500ms);
  ASSERT_EQ(out.size() % 3, 0u);
  std::size_t messages = out.size() / 3;
  EXPECT_GE(messages, 100u);  // the ramp went through (nearly) every value
  EXPECT_LE(messages, 128u);  // and sent each at most once
  for (std::size_t i = 1; i < messages; ++i)
    EXPECT_LT(static_cast<unsigned char>(out[3 * i - 1]),
              static_cast<unsigned char>(out[3 * i + 2]))
        << "message " << i;
}

TEST_F(BoardFixture, Serial_MonitorNamesAPositionalValueByItsIndex) {
  start(config("map:\n  - from: board 1\n    to: x\n"));
  ControlClient monitor(bridge->socket());
  ASSERT_TRUE(monitor.connected());
  monitor.send("monitor\n");
  ASSERT_TRUE(monitor.read_line());
  board->write_line("12 0.25");
  auto line = monitor.read_line();
  ASSERT_TRUE(line.has_value()) << bridge->log();
  auto ev = nlohmann::json::parse(*line);
  EXPECT_EQ(ev["source"], "1") << *line;  // not the token "0.25"
  EXPECT_EQ(ev["value"], 0.25);
}

TEST_F(BoardFixture, Serial_FeedbackLinesFormatIntegersAndFixedDecimals) {
  start(
      config("map:\n  - from: board x\n    to: x\n"
             "feedback:\n  - from: y\n    to: board\n    rate: 0\n"
             "    line: \"led {value:d} at {value:.2f} ({name})\"\n"));
  board->write_line("x=0.4");
  auto line = board->read_line(3s);
  ASSERT_TRUE(line) << bridge->log();
  EXPECT_EQ(*line, "led 0 at 0.40 (y)");
  // 0.41 prints the same integer but other decimals: sent; 0.414 the same bytes: not.
  board->write_line("x=0.41");
  EXPECT_EQ(board->read_line(3s).value_or(""), "led 0 at 0.41 (y)");
  board->write_line("x=0.414");
  board->write_line("x=2.5");
  EXPECT_EQ(board->read_line(3s).value_or(""), "led 3 at 2.50 (y)");
}

const char* kTextOrchestra = R"(
chn_S "title", 2
chnset "hello there", "title"
instr 1
  kx chnget "x"
  Stext sprintfk "level %d", kx
  chnset Stext, "lcd"
endin
alwayson 1
)";

TEST_F(BoardFixture, Serial_TextTheOrchestraWritesIsSentAndAnsweredByGet) {
  start(
      config("map:\n  - from: board x\n    to: x\n"
             "feedback:\n  - from: lcd\n    to: board\n    rate: 0\n"
             "    line: \"lcd {value}\"\n",
             kTextOrchestra));
  board->write_line("x=3");
  std::optional<std::string> line;
  // The instrument's first text ("level 0") may come first.
  for (int i = 0; i < 3 && line != "lcd level 3"; ++i) line = board->read_line(3s);
  EXPECT_EQ(line.value_or(""), "lcd level 3") << bridge->log();
  // `get` reads what the orchestra holds every 8 k-cycles: soon, not at once.
  nlohmann::json lcd;
  EXPECT_TRUE(eventually([&] {
    lcd = bridge->ctl("get lcd");
    return lcd["value"] == "level 3";
  })) << lcd.dump();
  auto title = bridge->ctl("get title");
  EXPECT_EQ(title["value"], "hello there") << title.dump();
  // Listed with its type, as the orchestra has it.
  auto channels = bridge->ctl("channels");
  bool listed = false;
  for (auto& c : channels["channels"])
    if (c["name"] == "lcd") listed = c["type"] == "string" && c["value"] == "level 3";
  EXPECT_TRUE(listed) << channels.dump();
}
