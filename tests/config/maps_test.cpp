// The shipped controller maps (STYLE §10): one test instance per
// mappings/*.yaml, found when the test program starts, so a new map is covered
// without touching this file. Each map must load without a single problem,
// say in its leading comment which controller and preset it is for, and use
// only channels and score instruments its orchestra declares: the loader
// cannot know that `to: cc47` is a typo, the orchestra's channel list can.
// (`csbridge check` on every map, Csound compile included, is the ctest
// MapCheck.* in tests/CMakeLists.txt.)

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/loader.hpp"

namespace csb {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> shipped_maps() {
  std::vector<fs::path> out;
  fs::path dir = fs::path(CSB_SOURCE_DIR) / "mappings";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// What an orchestra declares: the channels it reads and writes, and its
/// instruments (numbers and names).
struct Orchestra {
  std::set<std::string> inputs;   ///< chn_k/chn_S with mode 1 or 3, and ControlIn
  std::set<std::string> outputs;  ///< chn_k/chn_S with mode 2 or 3
  std::set<std::string> instruments;
};

Orchestra read_orchestra(const fs::path& csd) {
  Orchestra o;
  std::string text = read_text(csd);
  // The demo declares its inputs through a ControlIn UDO; plain chn_k too.
  static const std::regex control_in(R"re(ControlIn\s+"([^"]+)")re");
  static const std::regex chn(R"re(chn_[kS]\s+"([^"]+)"\s*,\s*([0-9]))re");
  static const std::regex instr(R"re((?:^|\n)\s*instr\s+([A-Za-z_0-9]+))re");
  for (std::sregex_iterator it(text.begin(), text.end(), control_in), end; it != end; ++it)
    o.inputs.insert((*it)[1]);
  for (std::sregex_iterator it(text.begin(), text.end(), chn), end; it != end; ++it) {
    int mode = std::stoi((*it)[2]);
    if (mode & 1) o.inputs.insert((*it)[1]);
    if (mode & 2) o.outputs.insert((*it)[1]);
  }
  for (std::sregex_iterator it(text.begin(), text.end(), instr), end; it != end; ++it)
    o.instruments.insert((*it)[1]);
  return o;
}

/// The instrument a score template starts: `i "Name" ...` or `i 12 ...`.
std::string score_instrument(const std::string& score) {
  static const std::regex re(R"re(^\s*i\s*"?([A-Za-z_0-9]+)"?)re");
  std::smatch m;
  return std::regex_search(score, m, re) ? std::string(m[1]) : std::string();
}

class ShippedMap : public ::testing::TestWithParam<fs::path> {};

TEST_P(ShippedMap, LoadsWithoutProblems) {
  try {
    Config c = load_config_file(GetParam().string());
    EXPECT_FALSE(c.devices.empty()) << "a map with no device plays nothing";
    EXPECT_FALSE(c.map.empty()) << "a map with no mapping routes nothing";
  } catch (const ConfigError& e) {
    ADD_FAILURE() << e.what();
  }
}

// The comment block at the top is the map's documentation: which controller,
// which preset or mode, how to run it.
TEST_P(ShippedMap, StartsWithACommentSayingWhatAndHowToRun) {
  std::istringstream in(read_text(GetParam()));
  std::string line, comment;
  while (std::getline(in, line) && !line.empty() && line[0] == '#') comment += line + "\n";
  EXPECT_GE(std::count(comment.begin(), comment.end(), '\n'), 5)
      << "no comment block at the top of " << GetParam().filename();
  EXPECT_NE(comment.find("csbridge run"), std::string::npos)
      << "the comment does not say how to run it:\n"
      << comment;
}

TEST_P(ShippedMap, UsesOnlyWhatItsOrchestraDeclares) {
  Config c;
  try {
    c = load_config_file(GetParam().string());
  } catch (const ConfigError&) {
    GTEST_SKIP() << "does not load (LoadsWithoutProblems says why)";
  }
  Orchestra o = read_orchestra(c.csound.csd);
  ASSERT_FALSE(o.inputs.empty()) << c.csound.csd << " declares no input channel";
  for (const Mapping& m : c.map) {
    SCOPED_TRACE(::testing::Message() << GetParam().filename().string() << ":" << m.mark.line);
    // Templates ({n}, {name}...) name channels only known at run time.
    if (!m.to.empty() && m.to.find('{') == std::string::npos) {
      EXPECT_TRUE(o.inputs.count(m.to))
          << "'" << m.to << "' is not an input channel of " << c.csound.csd;
    }
    if (!m.score.empty()) {
      std::string instr = score_instrument(m.score);
      EXPECT_TRUE(o.instruments.count(instr)) << "score '" << m.score << "' starts instrument '"
                                              << instr << "', not in " << c.csound.csd;
    }
  }
  for (const Feedback& f : c.feedback) {
    SCOPED_TRACE(::testing::Message() << GetParam().filename().string() << ":" << f.mark.line);
    EXPECT_TRUE(o.outputs.count(f.channel))
        << "'" << f.channel << "' is not an output channel of " << c.csound.csd;
  }
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Maps, ShippedMap, ::testing::ValuesIn(shipped_maps()), test_name);

// Without this the suite above could silently shrink to nothing.
TEST(ShippedMaps, TheLibraryIsThere) {
  std::set<std::string> names;
  for (const auto& p : shipped_maps()) names.insert(p.filename().string());
  for (const char* expected :
       {"default.yaml", "nanokontrol2.yaml", "mpd218.yaml", "minilab3.yaml",
        "launch-control-xl.yaml", "generic-8x8.yaml", "arduino-lines.yaml", "firmata.yaml"})
    EXPECT_TRUE(names.count(expected)) << "mappings/" << expected << " is missing";
}

}  // namespace
}  // namespace csb
