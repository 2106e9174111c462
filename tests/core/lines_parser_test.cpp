// The serial `lines` format (SPEC §3.3): the byte splitter is fed bytes in
// every split a serial port can produce, and the tokenizer one line at a time.

#include "core/lines_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace csb {
namespace {

/// Everything a LineValue says, owned, so it outlives the parsed line.
struct Value {
  LineValue::Kind kind;
  std::string name;
  int index;
  bool is_number;
  double number;
  std::string text;
};

struct Parsed {
  std::vector<Value> values;
  LineProblems problems;
};

Parsed parse(std::string_view line) {
  Parsed out;
  out.problems = parse_line(line, [&](const LineValue& v) {
    out.values.push_back(
        {v.kind, std::string(v.name), v.index, v.is_number, v.number, std::string(v.text)});
  });
  return out;
}

std::vector<std::string> split_all(LineSplitter& s, std::string_view bytes) {
  std::vector<std::string> lines;
  s.feed(bytes.data(), bytes.size(), [&](std::string_view l) { lines.emplace_back(l); });
  return lines;
}

// --- LineSplitter -----------------------------------------------------------

// A text with every kind of line: \n and \r\n endings, an empty line, a
// comment and a positional line. The splitter passes all of them on (parse_line
// decides what to ignore).
constexpr std::string_view kText = "light=1\r\nfoo 2\n\n# c\n1,2,3\r\ntag ABC123\n";
const std::vector<std::string> kTextLines = {"light=1", "foo 2", "", "# c", "1,2,3", "tag ABC123"};

TEST(LineSplitter, WholeText_GivesEveryLineWithoutTerminator) {
  LineSplitter s(256);
  EXPECT_EQ(split_all(s, kText), kTextLines);
  EXPECT_EQ(s.overlong_count(), 0u);
}

TEST(LineSplitter, OneByteAtATime_SameLines) {
  // A USB-serial adapter can deliver one byte per read.
  LineSplitter s(256);
  std::vector<std::string> lines;
  for (char c : kText) s.feed(&c, 1, [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_EQ(lines, kTextLines);
}

TEST(LineSplitter, EveryTwoWaySplit_SameLines) {
  // Reads split anywhere, including between \r and \n.
  for (std::size_t cut = 0; cut <= kText.size(); ++cut) {
    LineSplitter s(256);
    std::vector<std::string> lines;
    auto on_line = [&](std::string_view l) { lines.emplace_back(l); };
    s.feed(kText.data(), cut, on_line);
    s.feed(kText.data() + cut, kText.size() - cut, on_line);
    EXPECT_EQ(lines, kTextLines) << "split at " << cut;
  }
}

TEST(LineSplitter, CrLf_IsStrippedOnlyAtTheEnd) {
  // Serial.println sends \r\n; only the \r right before \n is part of the
  // terminator.
  LineSplitter s(256);
  EXPECT_EQ(split_all(s, "a\r\n\r\nb\n"), (std::vector<std::string>{"a", "", "b"}));
}

TEST(LineSplitter, PartialLine_IsHeldUntilNewline) {
  LineSplitter s(256);
  EXPECT_TRUE(split_all(s, "light=5").empty());
  EXPECT_EQ(split_all(s, "12\n"), (std::vector<std::string>{"light=512"}));
}

TEST(LineSplitter, LineOfExactlyMaxLine_IsKept) {
  // "at most max_line bytes": the limit itself is allowed.
  LineSplitter s(8);
  EXPECT_EQ(split_all(s, "12345678\n"), (std::vector<std::string>{"12345678"}));
  EXPECT_EQ(s.overlong_count(), 0u);
}

TEST(LineSplitter, LineOfExactlyMaxLineWithCrLf_IsKept) {
  // The terminator is not part of the line: Serial.println output of
  // max_line bytes must behave like the same line ended by \n.
  LineSplitter s(8);
  EXPECT_EQ(split_all(s, "12345678\r\n"), (std::vector<std::string>{"12345678"}));
  EXPECT_EQ(s.overlong_count(), 0u);
}

TEST(LineSplitter, OverlongLine_DroppedWholeAndCountedOnce_NextLineFine) {
  LineSplitter s(8);
  EXPECT_EQ(split_all(s, "123456789\nok\n"), (std::vector<std::string>{"ok"}));
  EXPECT_EQ(s.overlong_count(), 1u);
}

TEST(LineSplitter, OverlongLineAcrossReads_CountedOnce) {
  // The tail of an overlong line must not come out as a line of its own.
  LineSplitter s(8);
  EXPECT_TRUE(split_all(s, "1234567890").empty());
  EXPECT_TRUE(split_all(s, "abcdefghijkl").empty());
  EXPECT_EQ(split_all(s, "xyz\nok\n"), (std::vector<std::string>{"ok"}));
  EXPECT_EQ(s.overlong_count(), 1u);
}

TEST(LineSplitter, TwoOverlongLines_CountedTwice) {
  LineSplitter s(4);
  EXPECT_EQ(split_all(s, "aaaaaa\nbb\ncccccccc\n"), (std::vector<std::string>{"bb"}));
  EXPECT_EQ(s.overlong_count(), 2u);
}

TEST(LineSplitter, OneMegabyteWithoutNewline_NextLineParses) {
  // A board spewing garbage without newlines must not grow the buffer: the
  // splitter forgets the bytes and the first good line after it comes out.
  LineSplitter s(256);
  std::string junk(1 << 20, 'x');
  std::vector<std::string> lines;
  auto on_line = [&](std::string_view l) { lines.emplace_back(l); };
  for (std::size_t off = 0; off < junk.size(); off += 4096)
    s.feed(junk.data() + off, 4096, on_line);
  EXPECT_TRUE(lines.empty());
  s.feed("\nlight=5\n", 9, on_line);
  EXPECT_EQ(lines, (std::vector<std::string>{"light=5"}));
  EXPECT_EQ(s.overlong_count(), 1u);
}

TEST(LineSplitter, Reset_DropsHalfALine) {
  // After a disconnect the half line from before must not be glued onto the
  // first line after the reconnect.
  LineSplitter s(256);
  EXPECT_TRUE(split_all(s, "light=12").empty());
  s.reset();
  EXPECT_EQ(split_all(s, "3\n"), (std::vector<std::string>{"3"}));
}

TEST(LineSplitter, ResetDuringOverlong_NextLineFine) {
  LineSplitter s(4);
  EXPECT_TRUE(split_all(s, "toolongline").empty());
  s.reset();
  EXPECT_EQ(split_all(s, "ok\n"), (std::vector<std::string>{"ok"}));
  EXPECT_EQ(s.overlong_count(), 1u);
}

// --- parse_line -------------------------------------------------------------

TEST(LinesParser, NameEqualsValue_IsNamedValue) {
  Parsed p = parse("light=512");
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::named);
  EXPECT_EQ(p.values[0].name, "light");
  EXPECT_TRUE(p.values[0].is_number);
  EXPECT_DOUBLE_EQ(p.values[0].number, 512.0);
  EXPECT_EQ(p.values[0].text, "512");
  EXPECT_EQ(p.problems.bad_tokens, 0);
  EXPECT_FALSE(p.problems.binary);
}

TEST(LinesParser, NameColonValue_IsNamedValue) {
  Parsed p = parse("temp:21.5");
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::named);
  EXPECT_EQ(p.values[0].name, "temp");
  EXPECT_DOUBLE_EQ(p.values[0].number, 21.5);
}

TEST(LinesParser, SeveralNamedValues_InOrder) {
  Parsed p = parse("a=1 b:2 c=3");
  ASSERT_EQ(p.values.size(), 3u);
  EXPECT_EQ(p.values[0].name, "a");
  EXPECT_EQ(p.values[1].name, "b");
  EXPECT_EQ(p.values[2].name, "c");
  EXPECT_DOUBLE_EQ(p.values[2].number, 3.0);
}

TEST(LinesParser, TwoTokenIdiom_IsNamedValue) {
  // Serial.print("light "); Serial.println(v);
  Parsed p = parse("light 512");
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::named);
  EXPECT_EQ(p.values[0].name, "light");
  EXPECT_TRUE(p.values[0].is_number);
  EXPECT_DOUBLE_EQ(p.values[0].number, 512.0);
}

TEST(LinesParser, TwoTokenIdiom_NonNumber_IsStringValue) {
  // An RFID reader sending `tag ABC123`: a string value, not a trigger.
  Parsed p = parse("tag ABC123");
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::named);
  EXPECT_EQ(p.values[0].name, "tag");
  EXPECT_FALSE(p.values[0].is_number);
  EXPECT_EQ(p.values[0].text, "ABC123");
}

TEST(LinesParser, TwoTokensStartingWithDigit_AreTwoPositionals) {
  Parsed p = parse("512 30");
  ASSERT_EQ(p.values.size(), 2u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::positional);
  EXPECT_EQ(p.values[0].index, 0);
  EXPECT_DOUBLE_EQ(p.values[0].number, 512.0);
  EXPECT_EQ(p.values[1].index, 1);
  EXPECT_DOUBLE_EQ(p.values[1].number, 30.0);
}

TEST(LinesParser, ThreeTokens_NoIdiom) {
  // Only exactly two tokens make the idiom: here a trigger and two positionals.
  Parsed p = parse("light 512 3");
  ASSERT_EQ(p.values.size(), 3u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::trigger);
  EXPECT_EQ(p.values[0].name, "light");
  EXPECT_EQ(p.values[1].kind, LineValue::Kind::positional);
  EXPECT_EQ(p.values[1].index, 0);
  EXPECT_EQ(p.values[2].index, 1);
  EXPECT_DOUBLE_EQ(p.values[2].number, 3.0);
}

TEST(LinesParser, Positional_IndexedAmongPositionalsOnly) {
  // Named values and triggers between numbers do not shift the index.
  Parsed p = parse("a=1 10 go 20");
  ASSERT_EQ(p.values.size(), 4u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::named);
  EXPECT_EQ(p.values[1].kind, LineValue::Kind::positional);
  EXPECT_EQ(p.values[1].index, 0);
  EXPECT_DOUBLE_EQ(p.values[1].number, 10.0);
  EXPECT_EQ(p.values[2].kind, LineValue::Kind::trigger);
  EXPECT_EQ(p.values[3].kind, LineValue::Kind::positional);
  EXPECT_EQ(p.values[3].index, 1);
  EXPECT_DOUBLE_EQ(p.values[3].number, 20.0);
  EXPECT_EQ(p.values[0].index, -1);  // named values have no index
}

TEST(LinesParser, Separators_SpaceTabCommaSemicolon) {
  Parsed p = parse("1 2\t3,4;5 ,; \t6");
  ASSERT_EQ(p.values.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(p.values[i].kind, LineValue::Kind::positional);
    EXPECT_EQ(p.values[i].index, i);
    EXPECT_DOUBLE_EQ(p.values[i].number, i + 1.0);
  }
  EXPECT_EQ(p.problems.bad_tokens, 0);
}

TEST(LinesParser, LeadingAndTrailingSeparators_Ignored) {
  Parsed p = parse("  ,light=5;  ");
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_EQ(p.values[0].name, "light");
  EXPECT_DOUBLE_EQ(p.values[0].number, 5.0);
}

TEST(LinesParser, BareWord_IsTriggerWithValueOne) {
  Parsed p = parse("knock");
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::trigger);
  EXPECT_EQ(p.values[0].name, "knock");
  EXPECT_TRUE(p.values[0].is_number);
  EXPECT_DOUBLE_EQ(p.values[0].number, 1.0);
}

TEST(LinesParser, CommentAndEmptyLines_GiveNothing) {
  for (std::string_view line : {"", "   ", "\t,;", "# light=5", "  # comment 1 2 3"}) {
    Parsed p = parse(line);
    EXPECT_TRUE(p.values.empty()) << "'" << line << "'";
    EXPECT_EQ(p.problems.bad_tokens, 0) << "'" << line << "'";
    EXPECT_FALSE(p.problems.binary) << "'" << line << "'";
  }
}

TEST(LinesParser, Numbers_WithoutLocale) {
  // Parsed as in the C locale whatever the process locale: `.` is the point.
  Parsed p = parse("-3.5 1e3 +5 0.25 -0");
  ASSERT_EQ(p.values.size(), 5u);
  EXPECT_DOUBLE_EQ(p.values[0].number, -3.5);
  EXPECT_DOUBLE_EQ(p.values[1].number, 1000.0);
  EXPECT_DOUBLE_EQ(p.values[2].number, 5.0);
  EXPECT_DOUBLE_EQ(p.values[3].number, 0.25);
  EXPECT_DOUBLE_EQ(p.values[4].number, 0.0);
  for (const Value& v : p.values) EXPECT_EQ(v.kind, LineValue::Kind::positional);
}

TEST(LinesParser, NanAndInf_AreNotNumbers) {
  // `nan`/`inf` start with a letter: triggers, not positional numbers.
  Parsed p = parse("nan inf 7");
  ASSERT_EQ(p.values.size(), 3u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::trigger);
  EXPECT_EQ(p.values[1].kind, LineValue::Kind::trigger);
  EXPECT_EQ(p.values[2].kind, LineValue::Kind::positional);
  EXPECT_EQ(p.values[2].index, 0);

  // As named values they are string values, which numeric mappings reject.
  for (std::string_view line : {"x=nan", "x=inf", "x=-inf", "x=NaN", "x=infinity"}) {
    Parsed q = parse(line);
    ASSERT_EQ(q.values.size(), 1u) << line;
    EXPECT_FALSE(q.values[0].is_number) << line;
  }

  // A signed nan/inf is neither number nor word.
  Parsed r = parse("-inf -nan");
  EXPECT_TRUE(r.values.empty());
  EXPECT_EQ(r.problems.bad_tokens, 2);
}

TEST(LinesParser, ControlBytes_GiveNothingAndSetBinary) {
  // Line noise at the wrong baud rate: dropped whole, even the readable part.
  const char noise[] = {'l', 'i', 'g', 'h', 't', '=', '5', ' ', '\x01', '\x02', 'x'};
  Parsed p = parse(std::string_view(noise, sizeof noise));
  EXPECT_TRUE(p.values.empty());
  EXPECT_TRUE(p.problems.binary);

  Parsed nul = parse(std::string_view("a=1\0b=2", 7));
  EXPECT_TRUE(nul.values.empty());
  EXPECT_TRUE(nul.problems.binary);

  Parsed del = parse("a=1\x7f");
  EXPECT_TRUE(del.values.empty());
  EXPECT_TRUE(del.problems.binary);
}

TEST(LinesParser, TabIsNotBinary) {
  Parsed p = parse("a=1\tb=2");
  EXPECT_FALSE(p.problems.binary);
  EXPECT_EQ(p.values.size(), 2u);
}

TEST(LinesParser, EmptyName_CountedBad) {
  Parsed p = parse("=5 :7 light=1");
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_EQ(p.values[0].name, "light");
  EXPECT_EQ(p.problems.bad_tokens, 2);
  EXPECT_FALSE(p.problems.binary);
}

TEST(LinesParser, TokenNeitherNumberNorWord_CountedBad) {
  // `12abc` is not a number and does not start with a letter.
  Parsed p = parse("12abc 0x10 5");
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_EQ(p.values[0].kind, LineValue::Kind::positional);
  EXPECT_EQ(p.values[0].index, 0);  // bad tokens take no index
  EXPECT_DOUBLE_EQ(p.values[0].number, 5.0);
  EXPECT_EQ(p.problems.bad_tokens, 2);
}

TEST(LinesParser, NamedValueUnparsable_IsStringValue) {
  Parsed p = parse("light=5x");
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_FALSE(p.values[0].is_number);
  EXPECT_EQ(p.values[0].text, "5x");
  EXPECT_EQ(p.problems.bad_tokens, 0);  // the router decides whether that is bad
}

TEST(LinesParser, NamedStringValue_RunsToTheEndOfTheLine) {
  // An LCD or RFID sketch sends text with spaces: `Serial.print("msg=");
  // Serial.println(text)`. The text is one value, not a value and triggers.
  for (std::string_view line :
       {"msg=hello world", "msg: hello world", "msg:hello world", "msg=hello world  \t"}) {
    Parsed p = parse(line);
    ASSERT_EQ(p.values.size(), 1u) << line;
    EXPECT_EQ(p.values[0].kind, LineValue::Kind::named) << line;
    EXPECT_EQ(p.values[0].name, "msg") << line;
    EXPECT_FALSE(p.values[0].is_number) << line;
    EXPECT_EQ(p.values[0].text, "hello world") << line;
    EXPECT_EQ(p.problems.bad_tokens, 0) << line;
  }
  // Separators, numbers and `=` inside the text are the text.
  Parsed p = parse("a=1 note=C4, 440 Hz; x=2");
  ASSERT_EQ(p.values.size(), 2u);
  EXPECT_EQ(p.values[0].name, "a");
  EXPECT_DOUBLE_EQ(p.values[0].number, 1.0);
  EXPECT_EQ(p.values[1].name, "note");
  EXPECT_EQ(p.values[1].text, "C4, 440 Hz; x=2");
}

TEST(LinesParser, NamedNumberValue_StillEndsAtItsToken) {
  // Only text runs on: a number is one token, and what follows parses as before.
  Parsed p = parse("light=512 go 7 dist: 30");
  ASSERT_EQ(p.values.size(), 4u);
  EXPECT_EQ(p.values[0].name, "light");
  EXPECT_DOUBLE_EQ(p.values[0].number, 512.0);
  EXPECT_EQ(p.values[0].text, "512");
  EXPECT_EQ(p.values[1].kind, LineValue::Kind::trigger);
  EXPECT_EQ(p.values[2].kind, LineValue::Kind::positional);
  EXPECT_EQ(p.values[3].name, "dist");
  EXPECT_DOUBLE_EQ(p.values[3].number, 30.0);
  // An empty value stays empty, and the three-word line stays three triggers.
  Parsed e = parse("msg=");
  ASSERT_EQ(e.values.size(), 1u);
  EXPECT_EQ(e.values[0].text, "");
  EXPECT_EQ(parse("msg hello world").values.size(), 3u);
}

TEST(LinesParser, StringValueAfterManyTokens_TakesTheRestUncounted) {
  // The token bound counts only what is parsed as tokens, not the text of a string value.
  std::string line = "msg=";
  for (int i = 0; i < 100; ++i) line += " w" + std::to_string(i);
  Parsed p = parse(line);
  ASSERT_EQ(p.values.size(), 1u);
  EXPECT_EQ(p.values[0].text, line.substr(5));
  EXPECT_EQ(p.problems.bad_tokens, 0);
}

}  // namespace
}  // namespace csb
