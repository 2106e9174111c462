#include "core/orchestra_scan.hpp"

#include <gtest/gtest.h>

namespace csb {
namespace {

TEST(OrchestraScan, EveryTypedUseWithALiteralName) {
  auto found = scan_orchestra_channels(R"(<CsoundSynthesizer>
<CsOptions>-n</CsOptions>
<CsInstruments>
chn_k "gain", 1
chn_S "title", 2
instr 1
  kx chnget "knob"
  Sx chnget "tag"
  gSy chnget "gtag"
  ky = chnget:k("fn")
  Sz = chnget:S("fs")
  chnset kx * 2, "out"
  chnset "text", "lit"
  chnset(Sx, "fnset")
  outvalue "lamp", kx
  outvalue "lcd", Sx
  kv invalue "inv"
  ax chnget "audio"
endin
</CsInstruments>
</CsoundSynthesizer>
)");
  auto type = [&](const char* name) {
    auto it = found.find(name);
    return it == found.end()                        ? std::string("none")
           : it->second.type == ChannelType::string ? "string"
                                                    : "control";
  };
  EXPECT_EQ(type("gain"), "control");
  EXPECT_EQ(type("title"), "string");
  EXPECT_EQ(type("knob"), "control");
  EXPECT_EQ(type("tag"), "string");
  EXPECT_EQ(type("gtag"), "string");
  EXPECT_EQ(type("fn"), "control");
  EXPECT_EQ(type("fs"), "string");
  EXPECT_EQ(type("out"), "control");
  EXPECT_EQ(type("lit"), "string");
  EXPECT_EQ(type("fnset"), "string");
  EXPECT_EQ(type("lamp"), "control");
  EXPECT_EQ(type("lcd"), "string");
  EXPECT_EQ(type("inv"), "control");
  EXPECT_EQ(type("audio"), "none");  // not a control or string channel
  EXPECT_EQ(found.at("title").line, 5);
  EXPECT_EQ(found.at("title").how, "chn_S");
}

TEST(OrchestraScan, CommentsAndOtherSectionsAreSkipped) {
  auto found = scan_orchestra_channels(R"(<CsoundSynthesizer>
<CsScore>
i 1 0 1 "chnset Sx, \"score\""
</CsScore>
<CsInstruments>
; chn_S "commented"
  kx chnget "real" // chn_S "trailing"
/* chn_S "block"
   chn_S "block2" */
  chnset Sx, "semi;colon"
</CsInstruments>
</CsoundSynthesizer>
)");
  EXPECT_EQ(found.count("commented"), 0u);
  EXPECT_EQ(found.count("trailing"), 0u);
  EXPECT_EQ(found.count("block"), 0u);
  EXPECT_EQ(found.count("block2"), 0u);
  EXPECT_EQ(found.count("score"), 0u);
  EXPECT_EQ(found.count("real"), 1u);
  EXPECT_EQ(found.count("semi;colon"), 1u);  // a ; inside a string is no comment
}

TEST(OrchestraScan, TheFirstUseWinsAndBrokenTextIsNoProblem) {
  auto found = scan_orchestra_channels("kx chnget \"a\"\nSx chnget \"a\"\nchnset\nchnset ,\n\"\n");
  ASSERT_EQ(found.count("a"), 1u);
  EXPECT_EQ(found.at("a").type, ChannelType::control);
  EXPECT_EQ(found.at("a").line, 1);
}

TEST(OrchestraScan, AnEscapedQuoteDoesNotEndAString) {
  // One string: prints "x \" chnset Sx, \"bogus\" ; y", then a real use.
  auto found = scan_orchestra_channels(
      "prints \"x \\\" chnset Sx, \\\"bogus\\\" ; y\"\n  kx chnget \"after\" ; chn_S \"no\"\n");
  EXPECT_EQ(found.size(), 1u);
  EXPECT_EQ(found.count("after"), 1u);
}

TEST(OrchestraScan, AStringNotClosedOnItsLineNamesNothing) {
  // Found by fuzz_orchestra (fuzz/corpus/orchestra/unclosed-string-is-no-name).
  auto found = scan_orchestra_channels("kx chnget \"open\nchnset kx, \"also open\n");
  EXPECT_TRUE(found.empty());
}

}  // namespace
}  // namespace csb
