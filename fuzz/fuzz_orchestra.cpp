// Fuzz target: the orchestra scan of `check` (core/orchestra_scan.hpp): the
// channel names a CSD's text uses, and the type each use gives them. The
// input is the CSD's text.
//
// Checked: every name found is a non-empty literal of the text, on a line the
// text has, with its use said; never more names than the channel table holds.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.hpp"

#include "core/orchestra_scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view csd(reinterpret_cast<const char*>(data), size);
  auto found = csb::scan_orchestra_channels(csd);
  const int lines = 1 + static_cast<int>(std::count(csd.begin(), csd.end(), '\n'));
  FUZZ_CHECK(found.size() <= csb::ChannelTable::kCapacity);
  for (const auto& [name, use] : found) {
    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(csd.find("\"" + name + "\"") != std::string_view::npos);
    FUZZ_CHECK(use.line >= 1 && use.line <= lines);
    FUZZ_CHECK(!use.how.empty());
  }
  return 0;
}
