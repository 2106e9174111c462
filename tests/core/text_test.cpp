// Small text helpers: durations in the config, numbers on the serial line,
// port-name globs and the `{value}` text sent back to devices.

#include "core/text.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>

namespace csb {
namespace {

using namespace std::chrono_literals;

TEST(Text, ParseDuration_Units) {
  EXPECT_EQ(parse_duration("500us"), std::chrono::nanoseconds(500us));
  EXPECT_EQ(parse_duration("20ms"), std::chrono::nanoseconds(20ms));
  EXPECT_EQ(parse_duration("1s"), std::chrono::nanoseconds(1s));
  EXPECT_EQ(parse_duration("1.5s"), std::chrono::nanoseconds(1500ms));
  EXPECT_EQ(parse_duration("0ms"), std::chrono::nanoseconds(0));
  EXPECT_EQ(parse_duration("30s"), std::chrono::nanoseconds(30s));
}

TEST(Text, ParseDuration_RejectsMissingUnitNegativeAndUnknownUnit) {
  // A bare number is ambiguous (seconds? milliseconds?): always an error.
  EXPECT_FALSE(parse_duration("5"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("1h"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("ms"));
  EXPECT_FALSE(parse_duration("1 s"));
  EXPECT_FALSE(parse_duration("1.2.3s"));
  EXPECT_FALSE(parse_duration("1e3ms"));
  EXPECT_FALSE(parse_duration("1S"));
  EXPECT_FALSE(parse_duration("1sec"));
}

TEST(Text, ParseNumber_Accepts) {
  EXPECT_EQ(parse_number("512"), 512.0);
  EXPECT_EQ(parse_number("-3.5"), -3.5);
  EXPECT_EQ(parse_number("1e3"), 1000.0);
  EXPECT_EQ(parse_number("+5"), 5.0);  // some sensors print the sign
  EXPECT_EQ(parse_number("0.25"), 0.25);
  EXPECT_EQ(parse_number("-1.5E-3"), -0.0015);
  EXPECT_EQ(parse_number("0"), 0.0);
}

TEST(Text, ParseNumber_RejectsNonNumbersNanInf) {
  for (std::string_view t : {"", "abc", "5x", "x5", " 5", "5 ", "1,5", "0x10", "+", "-", "++5",
                             "nan", "NaN", "-nan", "inf", "-inf", "+inf", "infinity", "1e400"}) {
    EXPECT_FALSE(parse_number(t)) << "'" << t << "'";
  }
}

TEST(Text, ParseNumber_RejectsPlusMinus) {
  // The '+' skip must not let a second sign through.
  EXPECT_FALSE(parse_number("+-5"));
  EXPECT_FALSE(parse_number("+-0.5"));
}

TEST(Text, ParseNumber_NeedsWholeToken) {
  // A trailing character must not be ignored the way strtod would.
  EXPECT_FALSE(parse_number("512\r"));
  EXPECT_FALSE(parse_number("1.5s"));
}

TEST(Text, GlobNocase_MidiPortNames) {
  // ALSA names the Korg "nanoKONTROL2 MIDI 1"; a user writes it in lower case.
  EXPECT_TRUE(glob_match_nocase("nanokontrol2*", "nanoKONTROL2 MIDI 1"));
  EXPECT_TRUE(glob_match_nocase("NANOKONTROL2*", "nanoKONTROL2 MIDI 1"));
  EXPECT_TRUE(glob_match_nocase("*midi ?", "nanoKONTROL2 MIDI 1"));
  EXPECT_FALSE(glob_match_nocase("nanokontrol*", "Launchpad Mini"));
  // Whole string: a prefix without `*` does not match.
  EXPECT_FALSE(glob_match_nocase("nanokontrol2", "nanoKONTROL2 MIDI 1"));
}

TEST(Text, Glob_IsCaseSensitiveForPaths) {
  EXPECT_TRUE(glob_match("/dev/serial/by-id/usb-Arduino*",
                         "/dev/serial/by-id/usb-Arduino__www.arduino.cc__0043-if00"));
  EXPECT_FALSE(glob_match("/dev/serial/by-id/usb-arduino*",
                          "/dev/serial/by-id/usb-Arduino__www.arduino.cc__0043-if00"));
  EXPECT_TRUE(glob_match("/dev/ttyACM?", "/dev/ttyACM0"));
  EXPECT_FALSE(glob_match("/dev/ttyACM?", "/dev/ttyACM10"));
  EXPECT_TRUE(glob_match("/dev/ttyUSB[0-3]", "/dev/ttyUSB2"));
  EXPECT_FALSE(glob_match("/dev/ttyUSB[0-3]", "/dev/ttyUSB7"));
  EXPECT_FALSE(glob_match("nanokontrol2*", "nanoKONTROL2 MIDI 1"));
}

TEST(Text, FormatShortest_Examples) {
  // The SPEC's examples for `{value}` in feedback lines.
  EXPECT_EQ(format_shortest(512.0), "512");
  EXPECT_EQ(format_shortest(0.25), "0.25");
  EXPECT_EQ(format_shortest(-3.5e-07), "-3.5e-07");
  EXPECT_EQ(format_shortest(0.1), "0.1");
  EXPECT_EQ(format_shortest(0.0), "0");
  EXPECT_EQ(format_shortest(1.0), "1");
  EXPECT_EQ(format_shortest(-42.0), "-42");
}

TEST(Text, FormatShortest_BufferOverload) {
  char buf[32];
  std::memset(buf, '#', sizeof buf);
  std::size_t n = format_shortest(0.25, buf);
  EXPECT_EQ(std::string_view(buf, n), "0.25");
}

TEST(Text, FormatShortest_RoundTrips) {
  // 0.1 is not exact in binary; the text must read back to the same double.
  EXPECT_EQ(parse_number(format_shortest(0.1)), 0.1);
  EXPECT_EQ(parse_number(format_shortest(1.0 / 3.0)), 1.0 / 3.0);
  EXPECT_EQ(parse_number(format_shortest(-2.2250738585072014e-308)), -2.2250738585072014e-308);
  EXPECT_EQ(parse_number(format_shortest(1.7976931348623157e308)), 1.7976931348623157e308);

  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> mant(-1.0, 1.0);
  std::uniform_int_distribution<int> exp(-300, 300);
  for (int k = 0; k < 10000; ++k) {
    double v = std::ldexp(mant(rng), exp(rng));
    std::string s = format_shortest(v);
    ASSERT_LE(s.size(), 24u) << s;
    ASSERT_EQ(parse_number(s), v) << s;
  }
}

}  // namespace
}  // namespace csb

namespace csb {
namespace {

std::string formatted(double v, const char* placeholder) {
  auto f = parse_value_placeholder(placeholder);
  if (!f) return "(not a value placeholder)";
  char buf[48];
  return std::string(buf, format_value(v, *f, buf));
}

TEST(FormatValue, PlaceholdersOfFeedbackLines) {
  EXPECT_EQ(formatted(0.25, "value"), "0.25");
  EXPECT_EQ(formatted(511.6, "value:d"), "512");
  EXPECT_EQ(formatted(-2.5, "value:d"), "-3");
  EXPECT_EQ(formatted(0.4, "value:.2f"), "0.40");
  EXPECT_EQ(formatted(3.14159, "value:.0f"), "3");
  EXPECT_EQ(formatted(1e300, "value:d"), "1e+300");  // too large for an integer: shortest
  for (const char* bad : {"value:", "value:x", "value:.f", "value:.16f", "value:.2", "name", ""})
    EXPECT_FALSE(parse_value_placeholder(bad)) << bad;
}

TEST(Text, GlobProblem_ValidGlobsHaveNone) {
  for (std::string_view g : {"/dev/ttyACM*", "/dev/ttyUSB[0-3]", "/dev/tty[!S]*", "nano*",
                             "*midi ?", "[]]x", "[!]]", "[[:digit:]]", "x[a-]", "a\\[b", "[\\]]",
                             "/dev/serial/by-id/usb-Arduino*", "[[:alpha:][:digit:]_]"})
    EXPECT_EQ(glob_problem(g), "") << g;
}

TEST(Text, GlobProblem_BrokenGlobsSaySo) {
  // glob(3) and fnmatch match these without an error: an unclosed '[' as a
  // literal '[', the others as nothing at all.
  EXPECT_NE(glob_problem("/dev/ttyACM[").find("the '[' at character 12 is never closed"),
            std::string::npos)
      << glob_problem("/dev/ttyACM[");
  EXPECT_NE(glob_problem("/dev/ttyUSB[0-3").find("never closed"), std::string::npos);
  EXPECT_NE(glob_problem("[[:alpha:]").find("never closed"), std::string::npos);
  EXPECT_NE(glob_problem("x[[:digits:]]").find("'[:digits:]' is not a character class"),
            std::string::npos);
  EXPECT_NE(glob_problem("/dev/ttyUSB[9-0]").find("the range '9-0' is backwards"),
            std::string::npos);
  EXPECT_NE(glob_problem("nano\\").find("lone '\\'"), std::string::npos);
  // And each is what fnmatch would have done silently.
  EXPECT_TRUE(glob_match("/dev/ttyACM[", "/dev/ttyACM["));
  EXPECT_FALSE(glob_match("/dev/ttyUSB[9-0]", "/dev/ttyUSB5"));
}

TEST(ForEachLine, GivesTheNonEmptyLinesInOrder) {
  std::vector<std::string> got;
  for_each_line("one\n\ntwo\nthree", [&](std::string_view l) { got.emplace_back(l); });
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
  got.clear();
  for_each_line("\n\n", [&](std::string_view l) { got.emplace_back(l); });
  EXPECT_TRUE(got.empty());
}

}  // namespace
}  // namespace csb
