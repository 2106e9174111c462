// The name rules of docs/configuration.md: channel names, lines value and
// column names, device names, and what a lines word starts with.

#include "core/names.hpp"

#include <gtest/gtest.h>

#include <string>

namespace csb {
namespace {

TEST(ValidChannelName, OneRuleForEveryName) {
  EXPECT_TRUE(valid_channel_name("cutoff"));
  EXPECT_TRUE(valid_channel_name("_x.1-a"));
  EXPECT_FALSE(valid_channel_name("8ball"));
  EXPECT_FALSE(valid_channel_name(""));
  EXPECT_FALSE(valid_channel_name("a b"));
  EXPECT_FALSE(valid_channel_name(std::string(65, 'a')));
}

TEST(ValidChannelName, SixtyFourBytesAtMost) {
  EXPECT_TRUE(valid_channel_name(std::string(64, 'a')));
  EXPECT_FALSE(valid_channel_name(std::string(65, 'a')));
  EXPECT_TRUE(valid_channel_name("_" + std::string(63, '9')));
}

TEST(ValidChannelName, StartsWithALetterOrUnderscore) {
  for (const char* ok : {"a", "Z", "_", "_1", "x.y", "x-y", "strip0.ch16"})
    EXPECT_TRUE(valid_channel_name(ok)) << ok;
  for (const char* bad : {".a", "-a", "1", "0x", "{name}", "a{i}", "a/b", "a:b", "a=b", "é"})
    EXPECT_FALSE(valid_channel_name(bad)) << bad;
}

TEST(ValidChannelName, AsciiOnlyWhateverTheLocale) {
  // Bytes above 0x7f (UTF-8 letters, Latin-1 letters) are never name characters.
  EXPECT_FALSE(valid_channel_name("caf\xc3\xa9"));
  EXPECT_FALSE(valid_channel_name("\xe9t\xe9"));
  for (int c = 0x80; c <= 0xff; ++c) {
    EXPECT_FALSE(is_name_start(static_cast<char>(c))) << c;
    EXPECT_FALSE(is_name_char(static_cast<char>(c))) << c;
  }
}

TEST(ValidValueName, ALetterFirstUnlikeAChannelName) {
  EXPECT_TRUE(valid_value_name("light"));
  EXPECT_TRUE(valid_value_name("a.b-c_1"));
  EXPECT_FALSE(valid_value_name("_x"));  // a channel name, but not a `from:` value name
  EXPECT_TRUE(valid_channel_name("_x"));
  EXPECT_FALSE(valid_value_name("1a"));
  EXPECT_FALSE(valid_value_name(""));
  EXPECT_TRUE(valid_value_name(std::string(64, 'v')));
  EXPECT_FALSE(valid_value_name(std::string(65, 'v')));
}

TEST(ValidDeviceName, LettersDigitsUnderscoreDash) {
  for (const char* ok : {"uno", "board_2", "nano-kontrol", "A"})
    EXPECT_TRUE(valid_device_name(ok)) << ok;
  for (const char* bad : {"", "_uno", "2board", "my.board", "my board", "-x"})
    EXPECT_FALSE(valid_device_name(bad)) << bad;
  EXPECT_TRUE(valid_device_name(std::string(200, 'd')));  // no length limit
}

TEST(NameChars, WhatEachRuleIsBuiltOf) {
  for (int i = 0; i < 0x80; ++i) {
    const char c = static_cast<char>(i);
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    EXPECT_EQ(is_ascii_letter(c), letter) << int(c);
    EXPECT_EQ(is_ascii_digit(c), digit) << int(c);
    EXPECT_EQ(is_name_start(c), letter || c == '_') << int(c);
    EXPECT_EQ(is_name_char(c), letter || digit || c == '_' || c == '.' || c == '-') << int(c);
  }
}

// The rules are constexpr: a table of names can be checked when it compiles.
static_assert(valid_channel_name("cutoff") && !valid_channel_name("8ball"));
static_assert(valid_value_name("light") && !valid_value_name("_light"));
static_assert(valid_device_name("uno") && !valid_device_name("u.no"));

}  // namespace
}  // namespace csb
