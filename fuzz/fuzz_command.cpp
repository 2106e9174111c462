// Fuzz target: the control command splitter and parser (core/command.hpp),
// on one line as the control socket hands it over (at most 4096 bytes).
//
// Checked: an unquoted word is never empty and holds no space or tab;
// writing the words back (quoted ones in quotes, `"` and `\` escaped) and
// splitting that again gives the same words; a parsed command has what its
// verb takes (a name for get and set, and for set either text or a finite
// number), a mistake has words to say; and the words written back parse the
// same.

#include <stdlib.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <variant>
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

  auto parsed = csb::parse_command(line);
  if (auto* mistake = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(!mistake->empty());
  } else {
    const auto& c = std::get<csb::Command>(parsed);
    bool named = c.verb == csb::Verb::get || c.verb == csb::Verb::set;
    FUZZ_CHECK(named || c.name.empty());
    FUZZ_CHECK(words.size() == (c.verb == csb::Verb::set ? 3u : named ? 2u : 1u));
    if (c.verb == csb::Verb::set) {
      FUZZ_CHECK(c.number.has_value() != c.text.has_value());
      if (c.number) FUZZ_CHECK(std::isfinite(*c.number));
    } else {
      FUZZ_CHECK(!c.number && !c.text);
    }
  }
  auto again = csb::parse_command(join(words));
  FUZZ_CHECK(again.index() == parsed.index());
  if (auto* c = std::get_if<csb::Command>(&parsed)) {
    const auto& d = std::get<csb::Command>(again);
    FUZZ_CHECK(c->verb == d.verb && c->name == d.name && c->text == d.text);
    FUZZ_CHECK(c->number.has_value() == d.number.has_value());
  }
  return 0;
}
