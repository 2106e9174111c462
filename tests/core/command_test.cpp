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

}  // namespace
}  // namespace csb
