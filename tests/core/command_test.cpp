// The words of a control command line (SPEC §6).

#include "core/command.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace csb
