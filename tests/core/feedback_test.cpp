#include "core/feedback.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace csb {
namespace {

/// A port that records what it was sent, or answers what it is told to.
class RecordingPort : public FeedbackPort {
 public:
  SendResult answer = SendResult::sent;
  std::vector<std::string> got;
  SendResult try_send(const char* data, std::size_t len) noexcept override {
    if (answer == SendResult::sent) got.emplace_back(data, len);
    return answer;
  }
};

constexpr std::int64_t kMs = 1'000'000;

FeedbackBinding line_binding(RecordingPort& port, const std::string& line, double rate = 0) {
  FeedbackBinding b;
  b.config.channel = "lcd";
  b.config.device = "board";
  b.config.kind = FeedbackKind::line;
  b.config.line = line;
  b.config.rate = rate;
  b.port = &port;
  return b;
}

TEST(FeedbackOutput, TextOfAStringChannelFillsTheValuePlaceholder) {
  RecordingPort port;
  FeedbackCounters counters;
  FeedbackOutput out(line_binding(port, "lcd {value}"), counters);
  ASSERT_TRUE(out.takes_text());
  out.observe_text("hello world", 0);
  out.observe_text("hello world", kMs);  // unchanged: nothing more
  out.observe_text("bye", 2 * kMs);
  EXPECT_EQ(port.got, (std::vector<std::string>{"lcd hello world\n", "lcd bye\n"}));
  EXPECT_EQ(counters.sent, 2u);
}

TEST(FeedbackOutput, AFormatAsksForANumberButTextIsSentAsItIs) {
  RecordingPort port;
  FeedbackCounters counters;
  FeedbackOutput out(line_binding(port, "{name}={value:d}"), counters);
  out.observe_text("3.7 V", 0);
  out.observe(3.7, kMs);
  EXPECT_EQ(port.got, (std::vector<std::string>{"lcd=3.7 V\n", "lcd=4\n"}));
}

TEST(FeedbackOutput, MidiEntriesTakeNoText) {
  RecordingPort port;
  FeedbackCounters counters;
  FeedbackBinding b;
  b.config.kind = FeedbackKind::midi_cc;
  b.config.number = 7;
  b.port = &port;
  FeedbackOutput out(b, counters);
  EXPECT_FALSE(out.takes_text());
  out.observe_text("loud", 0);
  out.observe(1.0, kMs);
  ASSERT_EQ(port.got.size(), 1u);
  EXPECT_EQ(port.got[0], std::string("\xB0\x07\x7F", 3));
}

TEST(FeedbackOutput, FirmataEntriesSendTheirPinsMessage) {
  RecordingPort port;
  FeedbackCounters counters;
  FeedbackBinding b;
  b.config.kind = FeedbackKind::firmata_pwm;
  b.config.number = 9;
  b.config.rate = 0;  // every change
  b.port = &port;
  FeedbackOutput out(b, counters);
  EXPECT_FALSE(out.takes_text());
  out.observe(1.0, 0);
  out.observe(0.999, kMs);  // 255 again: the same bytes, not sent
  out.observe(0.0, 2 * kMs);
  EXPECT_EQ(port.got, (std::vector<std::string>{std::string("\xE9\x7F\x01", 3),
                                                std::string("\xE9\x00\x00", 3)}));
  b.config.kind = FeedbackKind::firmata_digital;
  b.config.number = 13;
  FeedbackOutput led(b, counters);
  led.observe(1.0, 0);
  EXPECT_EQ(port.got.back(), std::string("\xF5\x0D\x01", 3));
}

TEST(FeedbackOutput, OnlyChangesOfTheBytesAreSent) {
  RecordingPort port;
  FeedbackCounters counters;
  FeedbackOutput out(line_binding(port, "v {value:d}"), counters);
  out.observe(1.1, 0);
  out.observe(1.2, kMs);  // still "v 1"
  out.observe(1.6, 2 * kMs);
  out.observe(std::numeric_limits<double>::quiet_NaN(), 3 * kMs);
  EXPECT_EQ(port.got, (std::vector<std::string>{"v 1\n", "v 2\n"}));
}

TEST(FeedbackOutput, TheRateHoldsTheLatestValueBackUntilItAllows) {
  RecordingPort port;
  FeedbackCounters counters;
  FeedbackOutput out(line_binding(port, "{value}", /*rate=*/10), counters);  // 100 ms
  out.observe(1, 0);
  out.observe(2, 10 * kMs);
  out.observe(3, 20 * kMs);
  EXPECT_TRUE(out.pending());
  out.flush(50 * kMs);
  EXPECT_EQ(port.got.size(), 1u);
  out.flush(100 * kMs);
  EXPECT_EQ(port.got, (std::vector<std::string>{"1\n", "3\n"}));
  EXPECT_FALSE(out.pending());
}

TEST(FeedbackOutput, AFailedSendIsRetriedAndCountedOnce) {
  RecordingPort port;
  FeedbackCounters counters;
  FeedbackOutput out(line_binding(port, "{value}"), counters);
  port.answer = SendResult::failed;
  out.observe(5, 0);
  out.flush(kMs);
  out.flush(2 * kMs);
  EXPECT_EQ(counters.failed, 1u);
  port.answer = SendResult::sent;
  out.flush(3 * kMs);
  EXPECT_EQ(port.got, (std::vector<std::string>{"5\n"}));
  EXPECT_FALSE(out.pending());
}

TEST(FeedbackOutput, AReconnectedDeviceGetsTheLastBytesAgain) {
  RecordingPort port, other;
  FeedbackCounters counters;
  FeedbackOutput out(line_binding(port, "lcd {value}"), counters);
  EXPECT_FALSE(out.resend(&other));  // nothing sent yet
  port.answer = SendResult::absent;  // unplugged: it gets the text when it is back
  out.observe_text("ready", 0);
  EXPECT_FALSE(out.pending());
  EXPECT_TRUE(out.resend(&other));
  EXPECT_EQ(other.got, (std::vector<std::string>{"lcd ready\n"}));
}

TEST(FeedbackOutput, LineBreaksInATextBecomeSpaces) {
  RecordingPort port;
  FeedbackCounters counters;
  FeedbackOutput out(line_binding(port, "lcd {value}"), counters);
  out.observe_text("two\nlines\r", 0);
  EXPECT_EQ(port.got, (std::vector<std::string>{"lcd two lines \n"}));
}

TEST(FeedbackOutput, ALineTooLongForOneMessageIsCountedNotCut) {
  RecordingPort port;
  FeedbackCounters counters;
  FeedbackOutput out(line_binding(port, "{value}"), counters);
  out.observe_text(std::string(FeedbackOutput::kMaxBytes, 'x'), 0);
  EXPECT_TRUE(port.got.empty());
  EXPECT_EQ(counters.failed, 1u);
}

}  // namespace
}  // namespace csb
