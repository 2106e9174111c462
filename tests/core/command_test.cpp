// The words of a control command line (SPEC §6).

#include "core/command.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <variant>

namespace csb {
namespace {

std::vector<CommandWord> words(std::initializer_list<std::pair<const char*, bool>> list) {
  std::vector<CommandWord> out;
  for (auto [t, q] : list) out.push_back({t, q});
  return out;
}

TEST(SplitCommand, WordsSplitOnSpacesAndTabs) {
  EXPECT_EQ(split_command("set  x\t0.5 "), words({{"set", false}, {"x", false}, {"0.5", false}}));
  EXPECT_TRUE(split_command("").empty());
  EXPECT_TRUE(split_command(" \t ").empty());
}

TEST(SplitCommand, AQuotedWordKeepsItsSpacesAndEscapes) {
  EXPECT_EQ(split_command(R"(set lcd "hello  world")"),
            words({{"set", false}, {"lcd", false}, {"hello  world", true}}));
  EXPECT_EQ(split_command(R"(set t "say \"hi\" \\ ok")"),
            words({{"set", false}, {"t", false}, {R"(say "hi" \ ok)", true}}));
  EXPECT_EQ(split_command(R"(set t "")"), words({{"set", false}, {"t", false}, {"", true}}));
}

TEST(SplitCommand, AnUnclosedQuoteRunsToTheEnd) {
  EXPECT_EQ(split_command(R"(set t "open ended)"),
            words({{"set", false}, {"t", false}, {"open ended", true}}));
  EXPECT_EQ(split_command("\"\\"), words({{"\\", true}}));
}

TEST(CommandWord, EveryShellArgumentComesBackAsOneWord) {
  // As `csbridge ctl set tag ARG` gets them from the shell.
  struct Case {
    const char* arg;
    CommandWord back;
  };
  for (const Case& c :
       {Case{"0.5", {"0.5", false}}, Case{"two words", {"two words", true}},
        Case{"\"two words\"", {"two words", true}},  // quoted for the shell
        Case{"\"one\"", {"one", true}}, Case{"say \"hi\"", {"say \"hi\"", true}},
        Case{"back\\slash and", {"back\\slash and", true}}, Case{"\"", {"\"", true}}}) {
    SCOPED_TRACE(c.arg);
    auto words = split_command("set tag " + command_word(c.arg));
    ASSERT_EQ(words.size(), 3u);
    EXPECT_EQ(words[2], c.back);
  }
}

TEST(ParseCommand, EachVerbTakesItsArguments) {
  auto c = std::get<Command>(parse_command("status"));
  EXPECT_EQ(c.verb, Verb::status);
  c = std::get<Command>(parse_command(" get  light "));
  EXPECT_EQ(c.verb, Verb::get);
  EXPECT_EQ(c.name, "light");
  c = std::get<Command>(parse_command("set x -5"));
  EXPECT_EQ(c.verb, Verb::set);
  EXPECT_EQ(c.name, "x");
  EXPECT_EQ(c.number, -5.0);
  EXPECT_FALSE(c.text);
  c = std::get<Command>(parse_command(R"(set lcd "hello  world")"));
  EXPECT_EQ(c.text, "hello  world");
  EXPECT_FALSE(c.number);
  c = std::get<Command>(parse_command(R"(set lcd "12")"));  // quoted: text, not a number
  EXPECT_EQ(c.text, "12");
  for (auto [line, verb] : {std::pair{"reset", Verb::reset},
                            {"reload", Verb::reload},
                            {"pause", Verb::pause},
                            {"resume", Verb::resume},
                            {"devices", Verb::devices},
                            {"channels", Verb::channels},
                            {"monitor", Verb::monitor}})
    EXPECT_EQ(std::get<Command>(parse_command(line)).verb, verb) << line;
}

TEST(ParseCommand, MistakesGetTheReplysWords) {
  auto mistake = [](std::string_view line) {
    auto r = parse_command(line);
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "(parsed)";
  };
  EXPECT_EQ(mistake(""), "empty command");
  EXPECT_EQ(mistake(" \t"), "empty command");
  EXPECT_EQ(mistake("status now"), "usage: status");
  EXPECT_EQ(mistake("get"), "usage: get NAME");
  EXPECT_EQ(mistake("get a b"), "usage: get NAME");
  EXPECT_EQ(mistake("set x"), R"(usage: set NAME VALUE (a "quoted" VALUE sets a string channel))");
  EXPECT_EQ(mistake("set x 1 2"),
            R"(usage: set NAME VALUE (a "quoted" VALUE sets a string channel))");
  EXPECT_EQ(mistake("set x -inf"), "not a finite number: '-inf'");
  EXPECT_EQ(mistake("set x nan"), "not a finite number: 'nan'");
  EXPECT_EQ(mistake("set x 0x10"), "not a finite number: '0x10'");
  EXPECT_EQ(mistake("STATUS"),
            "unknown command 'STATUS' (status, reset, reload, pause, resume, "
            "get, set, devices, channels, monitor)");
}

}  // namespace
}  // namespace csb
