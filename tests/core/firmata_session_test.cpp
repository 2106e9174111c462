// The host's side of a Firmata board (SPEC §3.5), against a StandardFirmata
// Uno made of the codec's board-side encoders: the handshake that never
// waits for an unsolicited version, retries, pins from the board's own
// replies, modes and reporting for what the plan uses, restarts, probes of
// a quiet board, a board that stops answering.

#include "core/firmata_session.hpp"
#include "firmata_uno.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace csb::firmata {
namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::int64_t kMs = 1'000'000;

/// What the session told its device.
struct TestHost : Session::Host {
  Bytes sent;
  std::vector<std::pair<int, int>> analogs, digitals;
  std::vector<std::string> problems, texts;
  int configured_count = 0, silent_count = 0;

  void send(const std::uint8_t* b, std::size_t n) override { sent.insert(sent.end(), b, b + n); }
  void analog(int c, int v) override { analogs.emplace_back(c, v); }
  void digital(int p, int v) override { digitals.emplace_back(p, v); }
  void configured() override { ++configured_count; }
  void problem(std::string_view t) override { problems.emplace_back(t); }
  void text(std::string_view t) override { texts.emplace_back(t); }
  void silent() override { ++silent_count; }

  Bytes take() { return std::exchange(sent, {}); }
};

/// StandardFirmata 2.5 on an Uno (pins as in firmata_test.cpp), answering
/// the queries it reads and keeping every other command.
struct FakeUno {
  Board pins;
  bool answers = true;
  bool pullup = true;  // false: an older firmware with no INPUT_PULLUP
  int protocol_minor = 5;
  std::vector<std::string> commands;

  FakeUno() { make_pins(); }
  void make_pins() { pins = test::standard_firmata_uno(pullup); }

  /// What it sends at its start (after a reset).
  Bytes boot() {
    Bytes out;
    append_version(out);
    append_firmware(out);
    return out;
  }

  /// Reads the host's bytes; returns its replies.
  Bytes read(const Bytes& from_host) {
    Bytes out;
    Decoder d(End::kBoard);
    d.feed(
        from_host.data(), from_host.size(),
        [&](const Message& m) {
          if (m.command == kVersion) {
            if (answers) append_version(out);
            return;
          }
          std::string s = std::to_string(m.command) + "/" + std::to_string(m.index);
          for (int i = 0; i < m.size; ++i) {
            s += ' ';
            s += std::to_string(m.data[i]);
          }
          commands.push_back(s);
        },
        [&](std::uint8_t id, std::span<const std::uint8_t> payload) {
          if (!answers) return;
          std::uint8_t buf[4096];
          std::size_t n = 0;
          if (id == kReportFirmware) {
            append_firmware(out);
          } else if (id == kCapabilityQuery) {
            n = capability_response(pins, buf, sizeof buf);
          } else if (id == kAnalogMappingQuery) {
            n = analog_mapping_response(pins, buf, sizeof buf);
          } else {
            std::string s = "sysex " + std::to_string(id);
            for (std::uint8_t b : payload) {
              s += ' ';
              s += std::to_string(b);
            }
            commands.push_back(s);
          }
          out.insert(out.end(), buf, buf + n);
        });
    return out;
  }

  void append_version(Bytes& out) {
    std::uint8_t buf[8];
    const std::size_t n = version_report(2, protocol_minor, buf, sizeof buf);
    out.insert(out.end(), buf, buf + n);
  }
  void append_firmware(Bytes& out) {
    std::uint8_t buf[64];
    const std::size_t n = firmware_report(2, 5, "StandardFirmata.ino", buf, sizeof buf);
    out.insert(out.end(), buf, buf + n);
  }
};

/// A session, its host and its board, with a clock the test moves.
struct Rig {
  PinPlan plan;
  TestHost host;
  FakeUno uno;
  Decoder decoder{End::kHost};
  std::unique_ptr<Session> session;
  std::int64_t now = 1000 * kMs;

  explicit Rig(PinPlan p) : plan(p), session(std::make_unique<Session>(plan, host)) {}

  /// Bytes from the board to the session.
  void deliver(const Bytes& bytes) {
    decoder.feed(
        bytes.data(), bytes.size(), [&](const Message& m) { session->on_message(m, now); },
        [&](std::uint8_t id, std::span<const std::uint8_t> p) { session->on_sysex(id, p, now); });
  }
  /// The session's bytes to the board and its answers back, until quiet.
  void pump() {
    for (int i = 0; i < 20; ++i) {
      Bytes out = host.take();
      if (out.empty()) return;
      deliver(uno.read(out));
    }
    FAIL() << "the session and the board never went quiet";
  }
  void advance(std::int64_t ns) {
    now += ns;
    session->tick(now);
  }
};

PinPlan uno_plan() {
  PinPlan p;
  p.analog = 0b11;     // A0, A1
  p.pullup[2] = true;  // a button to ground
  p.input[7] = true;
  p.input[8] = true;
  p.output[13] = true;
  p.output[12] = true;
  p.pwm[9] = true;
  p.servo[10] = true;
  return p;
}

TEST(FirmataSession, AsksAtOnceAndSetsUpWhatThePlanUses) {
  Rig r(uno_plan());
  r.session->open(r.now);
  // The queries go out at the open: no waiting for a report the board
  // sends only when the open reset it.
  EXPECT_EQ(r.host.sent, (Bytes{0xF9, 0xF0, 0x79, 0xF7}));
  EXPECT_EQ(r.session->state(), Session::State::kAsking);
  r.pump();
  ASSERT_EQ(r.session->state(), Session::State::kReady);
  EXPECT_EQ(r.host.configured_count, 1);
  EXPECT_TRUE(r.host.problems.empty()) << ::testing::PrintToString(r.host.problems);
  EXPECT_EQ(r.session->firmware().name(), "StandardFirmata.ino");
  EXPECT_EQ(r.session->protocol(), 205);
  EXPECT_EQ(r.session->board().analog_pin(0), 14);

  // 244 = F4 set pin mode, 192 = C0 report analog, 208 = D0 report digital.
  const std::vector<std::string> want = {
      "244/0 14 2",     "192/0 1",     // A0: pin 14 analog, reported
      "244/0 15 2",     "192/1 1",     // A1
      "244/0 2 11",                    // D2 INPUT_PULLUP
      "244/0 7 0",      "244/0 8 0",   // D7, D8 input
      "244/0 12 1",     "244/0 13 1",  // outputs
      "244/0 9 3",      "244/0 10 4",  // PWM9, SERVO10
      "208/0 1",        "208/1 1",     // ports 0 (D2, D7) and 1 (D8) reported
      "sysex 122 19 0",                // sampling 19 ms
  };
  EXPECT_EQ(r.uno.commands, want);
  EXPECT_EQ(r.session->stats().handshakes, 1u);
  EXPECT_EQ(r.session->stats().retries, 0u);
}

TEST(FirmataSession, ABoardInItsBootloaderIsAskedAgainEverySecond) {
  Rig r(uno_plan());
  r.uno.answers = false;  // reset by the open: deaf for about two seconds
  r.session->open(r.now);
  r.pump();
  EXPECT_EQ(r.session->next_tick(), r.now + Session::kReplyNs);
  r.advance(999 * kMs);
  EXPECT_TRUE(r.host.sent.empty());  // not yet
  r.advance(1 * kMs);
  EXPECT_EQ(r.host.sent, (Bytes{0xF9, 0xF0, 0x79, 0xF7}));
  r.pump();
  // It boots: its own reports arrive before it hears a query, and are taken.
  r.uno.answers = true;
  r.advance(500 * kMs);
  r.deliver(r.uno.boot());
  r.pump();
  EXPECT_EQ(r.session->state(), Session::State::kReady);
  EXPECT_EQ(r.session->stats().retries, 1u);
  EXPECT_EQ(r.session->stats().restarts, 0u);
  EXPECT_EQ(r.host.configured_count, 1);
}

TEST(FirmataSession, ABoardThatNeverAnswersIsSilentAfterTenTries) {
  Rig r(uno_plan());
  r.uno.answers = false;
  r.session->open(r.now);
  for (int i = 0; i < Session::kAskTries - 1; ++i) {
    r.advance(Session::kReplyNs);
    r.pump();
  }
  EXPECT_EQ(r.host.silent_count, 0);
  r.advance(Session::kReplyNs);
  EXPECT_EQ(r.host.silent_count, 1);
  EXPECT_EQ(r.session->state(), Session::State::kSilent);
  EXPECT_EQ(r.session->next_tick(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(r.session->stats().retries, static_cast<std::uint64_t>(Session::kAskTries - 1));
  r.advance(10 * Session::kReplyNs);
  EXPECT_TRUE(r.host.sent.empty());

  // Reopened by the device: it starts again.
  r.uno.answers = true;
  r.session->open(r.now);
  r.pump();
  EXPECT_EQ(r.session->state(), Session::State::kReady);
}

TEST(FirmataSession, ValuesOfTheReadPinsReachTheHost) {
  Rig r(uno_plan());
  r.session->open(r.now);
  r.pump();
  std::uint8_t b[kMaxEncoded];
  Bytes board;
  auto add = [&](std::size_t n) { board.insert(board.end(), b, b + n); };
  add(analog_write(0, 512, b));  // A0
  add(analog_write(1, 1023, b));
  add(analog_write(2, 7, b));           // A2: not read
  add(digital_port(0, 0b10000100, b));  // D2 and D7 high: first report
  add(digital_port(0, 0b10000100, b));  // the same again: no change
  add(digital_port(0, 0b00000100, b));  // D7 low
  add(digital_port(0, 0b00000111, b));  // D0 D1 (serial, not read) change
  add(digital_port(1, 0b00000001, b));  // D8 high
  add(digital_port(1, 0b00100001, b));  // D13 is an output: not read
  r.deliver(board);
  EXPECT_EQ(r.host.analogs, (std::vector<std::pair<int, int>>{{0, 512}, {1, 1023}}));
  // D2 is pulled up: high is its button let go, 0.
  EXPECT_EQ(r.host.digitals, (std::vector<std::pair<int, int>>{{2, 0}, {7, 1}, {7, 0}, {8, 1}}));
}

TEST(FirmataSession, AReportNobodyAskedForIsARestartAndTheBoardIsSetUpAgain) {
  Rig r(uno_plan());
  r.session->open(r.now);
  r.pump();
  r.uno.commands.clear();
  r.advance(1500 * kMs);
  r.deliver(r.uno.boot());  // reset by a brown-out, say
  r.pump();
  EXPECT_EQ(r.session->stats().restarts, 1u);
  EXPECT_EQ(r.host.configured_count, 2);
  EXPECT_EQ(r.session->state(), Session::State::kReady);
  EXPECT_EQ(r.uno.commands.size(), 14u);  // every mode and report again
  ASSERT_EQ(r.host.problems.size(), 1u);
  EXPECT_EQ(r.host.problems[0], "the board restarted: setting it up again");

  // Its report of a digital port after the restart is a first report again.
  std::uint8_t b[kMaxEncoded];
  r.deliver(Bytes(b, b + digital_port(0, 0, b)));
  // (D2, pulled up, reads low: pressed, 1.)
  EXPECT_EQ(r.host.digitals, (std::vector<std::pair<int, int>>{{2, 1}, {7, 0}}));
}

TEST(FirmataSession, ARestartRightAfterTheSetUpIsStillARestart) {
  Rig r(uno_plan());
  r.session->open(r.now);
  r.pump();
  ASSERT_EQ(r.session->state(), Session::State::kReady);
  r.deliver(r.uno.boot());  // no time at all after the set-up
  r.pump();
  EXPECT_EQ(r.session->stats().restarts, 1u);
  EXPECT_EQ(r.host.configured_count, 2);
}

TEST(FirmataSession, ARestartWhileAProbeIsOutIsFoundByItsFirmwareReport) {
  PinPlan plan;
  plan.input[2] = true;
  Rig r(plan);
  r.session->open(r.now);
  r.pump();
  r.advance(Session::kIdleNs);
  EXPECT_EQ(r.host.take(), Bytes{0xF9});  // the probe, not answered yet
  r.deliver(r.uno.boot());                // its version report passes for the answer
  r.pump();
  EXPECT_EQ(r.session->stats().restarts, 1u);
  EXPECT_EQ(r.host.configured_count, 2);
}

TEST(FirmataSession, AQuietBoardIsProbedAndOneThatStopsAnsweringIsSilent) {
  PinPlan plan;
  plan.input[2] = true;  // digital only: a board that reports nothing while nothing changes
  Rig r(plan);
  r.session->open(r.now);
  r.pump();
  ASSERT_EQ(r.session->state(), Session::State::kReady);
  EXPECT_EQ(r.session->next_tick(), r.now + Session::kIdleNs);
  r.advance(Session::kIdleNs - 1);
  EXPECT_TRUE(r.host.sent.empty());
  r.advance(1);
  EXPECT_EQ(r.host.sent, Bytes{0xF9});  // a version query, no firmware query
  r.pump();                             // answered: no restart, no set-up
  EXPECT_EQ(r.session->stats().restarts, 0u);
  EXPECT_EQ(r.host.configured_count, 1);
  EXPECT_EQ(r.session->next_tick(), r.now + Session::kIdleNs);

  r.uno.answers = false;  // its cable pulled while the port stays open
  r.advance(Session::kIdleNs);
  for (int i = 0; i < Session::kQueryTries; ++i) {  // the probe, then each retry
    EXPECT_EQ(r.host.take(), Bytes{0xF9});
    r.advance(Session::kReplyNs);
  }
  EXPECT_EQ(r.host.silent_count, 1);
  EXPECT_EQ(r.session->state(), Session::State::kSilent);
}

TEST(FirmataSession, PinsTheBoardCannotDoAreSaidAndTheOthersSetUp) {
  PinPlan plan;
  plan.analog = 1u << 6;  // A6: an Uno has A0..A5
  plan.pwm[13] = true;    // no PWM on 13
  plan.input[30] = true;  // no pin 30
  plan.output[12] = true;
  Rig r(plan);
  r.session->open(r.now);
  r.pump();
  ASSERT_EQ(r.session->state(), Session::State::kReady);
  EXPECT_EQ(r.host.problems,
            (std::vector<std::string>{"A6: the board has no analog input A6",
                                      "D30: the board cannot read pin 30",
                                      "PWM13: pin 13 cannot be driven that way on this board"}));
  // What it can do is set up all the same.
  EXPECT_EQ(r.uno.commands, (std::vector<std::string>{"244/0 12 1", "sysex 122 19 0"}));
}

TEST(FirmataSession, AnAnalogPinTheMappingsReadIsNotSetToAnotherMode) {
  PinPlan plan;
  plan.analog = 0b11;     // A0, A1: pins 14 and 15 on an Uno
  plan.input[14] = true;  // D14 is A0's pin
  plan.output[15] = true;
  Rig r(plan);
  r.session->open(r.now);
  r.pump();
  EXPECT_EQ(r.host.problems,
            (std::vector<std::string>{
                "D14: it is A0 on this board, which a mapping reads; D14 is left out",
                "D15: it is A1 on this board, which a mapping reads; D15 is left out"}));
  EXPECT_EQ(r.uno.commands, (std::vector<std::string>{"244/0 14 2", "192/0 1", "244/0 15 2",
                                                      "192/1 1", "sysex 122 19 0"}));
}

TEST(FirmataSession, AnOlderFirmwareIsToldItsDOutputsWillNotWork) {
  PinPlan plan;
  plan.output[13] = true;
  Rig r(plan);
  r.uno.protocol_minor = 3;  // Firmata 2.3: no set-digital-pin
  r.session->open(r.now);
  r.pump();
  ASSERT_EQ(r.session->state(), Session::State::kReady);
  EXPECT_EQ(r.host.problems,
            std::vector<std::string>{"the board speaks Firmata 2.3: D outputs need 2.5 or later "
                                     "(update its StandardFirmata), so their feedback is ignored"});
}

TEST(FirmataSession, AnOlderFirmwareGetsItsPullUpFromAOneWritten) {
  Rig r(uno_plan());
  r.uno.pullup = false;  // Firmata 2.3: no INPUT_PULLUP
  r.uno.protocol_minor = 3;
  r.uno.make_pins();
  r.session->open(r.now);
  r.pump();
  ASSERT_EQ(r.session->state(), Session::State::kReady);
  ASSERT_EQ(r.host.problems.size(), 1u);  // only that its D outputs will not work
  EXPECT_EQ(r.host.problems[0].rfind("the board speaks Firmata 2.3", 0), 0u);
  const auto& c = r.uno.commands;
  EXPECT_NE(std::find(c.begin(), c.end(), "244/0 2 0"), c.end());  // D2 INPUT
  EXPECT_NE(std::find(c.begin(), c.end(), "144/0 4 0"), c.end());  // then a 1 written to it
}

TEST(FirmataSession, MalformedRepliesAreCountedAndAskedAgain) {
  Rig r(uno_plan());
  r.session->open(r.now);
  r.deliver(r.uno.read(r.host.take()));  // version and firmware
  EXPECT_EQ(r.host.take(), (Bytes{0xF0, 0x6B, 0xF7}));
  r.deliver(Bytes{0xF0, 0x6C, 0x00, 0x01, 0xF7});  // a pin not ended
  r.deliver(Bytes{0xF0, 0x79, 0x02, 0xF7});        // a firmware report without its minor
  r.deliver(Bytes{0xF0, 0x71, 0x41, 0xF7});        // half a character
  r.deliver(Bytes{0xF0, 0x05, 0x01, 0xF7});        // a sysex a board does not send
  r.deliver(Bytes{0xC0, 0x01});                    // nor a host's command
  EXPECT_EQ(r.session->stats().malformed, 3u);
  EXPECT_EQ(r.session->stats().unknown, 2u);
  EXPECT_EQ(r.session->state(), Session::State::kCapabilities);
  r.advance(Session::kReplyNs);
  EXPECT_EQ(r.host.sent, (Bytes{0xF0, 0x6B, 0xF7}));
  r.pump();
  EXPECT_EQ(r.session->state(), Session::State::kReady);
  EXPECT_EQ(r.session->stats().retries, 1u);
}

TEST(FirmataSession, TheBoardsTextReachesTheHost) {
  Rig r(uno_plan());
  r.session->open(r.now);
  r.pump();
  r.deliver(Bytes{0xF0, 0x71, 0x6F, 0x00, 0x6B, 0x00, 0xF7});
  EXPECT_EQ(r.host.texts, std::vector<std::string>{"ok"});
}

TEST(FirmataPlan, TheMappingsAndFeedbackOfTheDeviceSayWhatItUses) {
  Config c;
  DeviceConfig other, uno;
  other.name = "other";
  other.format = SerialFormat::firmata;
  uno.name = "uno";
  uno.format = SerialFormat::firmata;
  uno.sampling_ms = 50;
  c.devices = {other, uno};
  auto map = [&](const char* dev, SourceKind kind, int lo, int hi, bool pullup) {
    Mapping m;
    m.from.device = dev;
    m.from.kind = kind;
    m.from.lo = lo;
    m.from.hi = hi;
    m.pullup = pullup;
    c.map.push_back(m);
  };
  map("uno", SourceKind::analog, 0, 2, false);
  map("uno", SourceKind::digital, 2, 3, false);
  map("uno", SourceKind::digital, 3, 4, true);  // D3 pulled up: one mapping says so
  map("other", SourceKind::digital, 7, 7, false);
  auto feedback = [&](const char* dev, FeedbackKind kind, int pin) {
    Feedback f;
    f.device = dev;
    f.kind = kind;
    f.number = pin;
    c.feedback.push_back(f);
  };
  feedback("uno", FeedbackKind::firmata_digital, 13);
  feedback("uno", FeedbackKind::firmata_pwm, 9);
  feedback("uno", FeedbackKind::firmata_servo, 10);
  feedback("other", FeedbackKind::firmata_pwm, 11);

  const PinPlan p = plan_for(c, 1);
  EXPECT_EQ(p.analog, 0b111);
  EXPECT_EQ(p.input.count(), 1u);
  EXPECT_TRUE(p.input[2]);
  EXPECT_EQ(p.pullup.count(), 2u);
  EXPECT_TRUE(p.pullup[3] && p.pullup[4]);
  EXPECT_EQ(p.output.count(), 1u);
  EXPECT_TRUE(p.output[13]);
  EXPECT_EQ(p.pwm.count(), 1u);
  EXPECT_TRUE(p.pwm[9]);
  EXPECT_EQ(p.servo.count(), 1u);
  EXPECT_TRUE(p.servo[10]);
  EXPECT_EQ(p.sampling_ms, 50u);

  const PinPlan q = plan_for(c, 0);
  EXPECT_EQ(q.analog, 0);
  EXPECT_TRUE(q.input[7]);
  EXPECT_TRUE(q.pwm[11]);
  EXPECT_EQ(q.sampling_ms, 19u);
  EXPECT_EQ(plan_for(c, 2).analog, 0);  // no such device
}

}  // namespace
}  // namespace csb::firmata
