// Fuzz target: the control command splitter (core/command.hpp), on one line
// as the control socket hands it over (at most 4096 bytes).
//
// Checked: an unquoted word is never empty and holds no space or tab; and
// writing the words back (quoted ones in quotes, `"` and `\` escaped) and
// splitting that again gives the same words.

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"

#include "core/command.hpp"

namespace {

std::string join(const std::vector<csb::CommandWord>& words) {
  std::string line;
  for (const auto& w : words) {
    if (!line.empty()) line += ' ';
    if (!w.quoted) {
      line += w.text;
      continue;
    }
    line += '"';
    for (char c : w.text) {
      if (c == '"' || c == '\\') line += '\\';
      line += c;
    }
    line += '"';
  }
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto words = csb::split_command(line);
  for (const auto& w : words) {
    if (w.quoted) continue;
    FUZZ_CHECK(!w.text.empty());
    FUZZ_CHECK(w.text.find_first_of(" \t") == std::string::npos);
    FUZZ_CHECK(w.text[0] != '"');
  }
  FUZZ_CHECK(csb::split_command(join(words)) == words);
  return 0;
}
