// The one `{...}` placeholder parser: what the loader checks, the router
// expands into channel names and score events, and a feedback line fills in.

#include "core/placeholder.hpp"

#include "core/feedback.hpp"
#include "core/router.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace csb {
namespace {

/// The pieces as "T:text" and "P:inside@offset", and the unclosed position.
struct Split {
  std::vector<std::string> pieces;
  std::size_t unclosed;
};

template <class Known>
Split split(std::string_view tpl, Known known) {
  Split s;
  s.unclosed = for_each_template_piece(tpl, known, [&](const TemplatePiece& p) {
    if (p.kind == TemplatePiece::Kind::text)
      s.pieces.push_back("T:" + std::string(p.text));
    else
      s.pieces.push_back("P:" + std::string(p.text) + "@" + std::to_string(p.offset));
  });
  return s;
}

Split split_all(std::string_view tpl) {
  return split(tpl, [](std::string_view) { return true; });
}

using Pieces = std::vector<std::string>;

TEST(TemplatePieces, TextAndPlaceholdersInOrder) {
  auto s = split_all("strip{i}.ch{ch}");
  EXPECT_EQ(s.pieces, (Pieces{"T:strip", "P:i@5", "T:.ch", "P:ch@11"}));
  EXPECT_EQ(s.unclosed, std::string_view::npos);
}

TEST(TemplatePieces, PlaceholdersOnlyAndNoText) {
  EXPECT_EQ(split_all("{name}").pieces, (Pieces{"P:name@0"}));
  EXPECT_EQ(split_all("{i}{n}").pieces, (Pieces{"P:i@0", "P:n@3"}));
  EXPECT_EQ(split_all("").pieces, Pieces{});
  EXPECT_EQ(split_all("cutoff").pieces, (Pieces{"T:cutoff"}));
}

TEST(TemplatePieces, UnclosedBraceSaysWhere) {
  auto s = split_all("pad{n}{oops");
  EXPECT_EQ(s.pieces, (Pieces{"T:pad", "P:n@3", "T:{oops"}));
  EXPECT_EQ(s.unclosed, 6u);
  EXPECT_EQ(split_all("{").unclosed, 0u);
  EXPECT_EQ(split_all("a}b").unclosed, std::string_view::npos);  // a lone '}' is text
  EXPECT_EQ(split_all("a}b").pieces, (Pieces{"T:a}b"}));
}

TEST(TemplatePieces, EveryBraceAPlaceholderForTheLoader) {
  // The loader then says '{a{i}' is no placeholder it knows.
  EXPECT_EQ(split_all("x{a{i}y").pieces, (Pieces{"T:x", "P:a{i@1", "T:y"}));
  EXPECT_EQ(split_all("{}").pieces, (Pieces{"P:@0"}));
}

TEST(TemplatePieces, AnUnknownPlaceholderIsTextAndParsingGoesOnAfterItsBrace) {
  auto only_i = [](std::string_view k) { return k == "i"; };
  EXPECT_EQ(split("x{a{i}y", only_i).pieces, (Pieces{"T:x{a", "P:i@3", "T:y"}));
  EXPECT_EQ(split("{b}{i}", only_i).pieces, (Pieces{"T:{b}", "P:i@3"}));
  EXPECT_EQ(split("{}", only_i).pieces, (Pieces{"T:{}"}));
  auto s = split("{b}{", only_i);
  EXPECT_EQ(s.pieces, (Pieces{"T:{b}{"}));
  EXPECT_EQ(s.unclosed, 3u);
}

TEST(TemplatePieces, APlaceholdersNameAndFormat) {
  std::vector<TemplatePiece> got;
  for_each_template_piece("led={value:.2f} {value} {value:} {name}", [&](const TemplatePiece& p) {
    if (p.kind == TemplatePiece::Kind::placeholder) got.push_back(p);
  });
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].name(), "value");
  EXPECT_EQ(got[0].format(), ".2f");
  EXPECT_TRUE(got[0].has_format());
  EXPECT_EQ(got[1].name(), "value");
  EXPECT_EQ(got[1].format(), "");
  EXPECT_FALSE(got[1].has_format());
  EXPECT_EQ(got[2].name(), "value");
  EXPECT_EQ(got[2].format(), "");
  EXPECT_TRUE(got[2].has_format());
  EXPECT_EQ(got[3].name(), "name");
  EXPECT_EQ(got[3].offset, 33u);
}

TEST(ExpandTemplate, FillsWhatItKnowsAndKeepsTheRest) {
  EXPECT_EQ(expand_template("strip{i}.ch{ch}", 2, 9, 16, {}), "strip2.ch16");
  EXPECT_EQ(expand_template("{name}", 0, 0, 0, "light"), "light");
  EXPECT_EQ(expand_template("i 1 0 1 {value} {n}", 0, 60, 1, {}, "0.5"), "i 1 0 1 0.5 60");
  EXPECT_EQ(expand_template("x{a{i}y", 3, 0, 0, {}), "x{a3y");
  EXPECT_EQ(expand_template("{oops} {i", 1, 0, 0, {}), "{oops} {i");
}

TEST(LineTemplate, FillsValueAndNameAndEndsTheLine) {
  char buf[64];
  auto line = [&](const std::string& tpl, double v) {
    return std::string(buf, LineTemplate(tpl).format(v, nullptr, "lamp", buf, sizeof buf));
  };
  EXPECT_EQ(line("led={value:d}", 2.6), "led=3\n");
  EXPECT_EQ(line("{name} {value:.2f}", 0.5), "lamp 0.50\n");
  EXPECT_EQ(line("{value} {bad} {value:x} {", 1), "1 {bad} {value:x} {\n");
  EXPECT_EQ(line("{{value}}", 1), "{1}\n");
}

}  // namespace
}  // namespace csb
