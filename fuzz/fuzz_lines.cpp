// Fuzz target: the serial `lines` format (core/lines_parser.hpp). The input's
// first byte chooses how the rest is cut into reads, the second the splitter's
// max_line (16..256, as a config allows); the rest is the byte stream.
//
// Checked: the lines are the same whatever the split (compared with one
// whole read), each at most max_line bytes and without `\n`; every value
// parse_line gives points into its line and says what its kind promises.

#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"

#include "core/lines_parser.hpp"

namespace {

/// An empty view may point anywhere (a default one is null).
bool within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_line(std::string_view line) {
  int last_index = -1;
  csb::LineProblems problems = csb::parse_line(line, [&](const csb::LineValue& v) {
    FUZZ_CHECK(within(v.text, line));
    FUZZ_CHECK(within(v.name, line));
    switch (v.kind) {
      case csb::LineValue::Kind::named:
        FUZZ_CHECK(!v.name.empty());
        FUZZ_CHECK(v.name.find_first_of("=:") == std::string_view::npos);
        break;
      case csb::LineValue::Kind::positional:
        FUZZ_CHECK(v.name.empty() && v.is_number);
        FUZZ_CHECK(v.index == last_index + 1);
        last_index = v.index;
        break;
      case csb::LineValue::Kind::trigger:
        FUZZ_CHECK(!v.name.empty() && v.is_number && v.number == 1);
        break;
    }
  });
  FUZZ_CHECK(problems.bad_tokens >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  fuzz::Splits splits(data[0]);
  const std::size_t max_line = 16 + data[1] % 241;
  const char* bytes = reinterpret_cast<const char*>(data + 2);
  const std::size_t n = size - 2;

  std::vector<std::string> whole;
  csb::LineSplitter one_read(max_line);
  one_read.feed(bytes, n, [&](std::string_view l) { whole.emplace_back(l); });

  csb::LineSplitter splitter(max_line);
  std::size_t got = 0;
  for (std::size_t p = 0; p < n;) {
    std::size_t len = std::min(splits.next(), n - p);
    splitter.feed(bytes + p, len, [&](std::string_view line) {
      FUZZ_CHECK(line.size() <= max_line);
      FUZZ_CHECK(line.find('\n') == std::string_view::npos);
      FUZZ_CHECK(got < whole.size() && line == whole[got]);
      ++got;
      check_line(line);
    });
    p += len;
  }
  FUZZ_CHECK(got == whole.size());
  FUZZ_CHECK(splitter.overlong_count() == one_read.overlong_count());
  return 0;
}
