#pragma once
// Small pure text helpers shared by the config loader, the router and the app.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/names.hpp"  // valid_channel_name and the other name rules

namespace csb {

/// Case-insensitive shell glob (`*`, `?`, `[...]`) on a whole string.
/// Used for MIDI port names.
bool glob_match_nocase(std::string_view pattern, std::string_view text);

/// Case-sensitive shell glob, as for file paths (fnmatch without FNM_PATHNAME).
bool glob_match(std::string_view pattern, std::string_view text);

/// Why `pattern` is not a glob that means what it says (empty when it is one):
/// a `[` never closed by `]` (fnmatch and glob(3) then match a literal `[`),
/// an unknown `[:class:]`, a backwards range like `[9-0]`, a `\` at the end.
/// These match nothing, or something else than written, without an error.
std::string glob_problem(std::string_view pattern);

/// Parses a duration with a unit: `500us`, `20ms`, `1s`, `1.5s`, `2m`.
/// nullopt when the text is not such a number with a unit, or is negative.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// Parses a whole token as a finite double, without locale (`512`, `-3.5`, `1e3`).
/// nullopt on anything else, NaN and infinities included.
std::optional<double> parse_number(std::string_view text);

/// The shortest decimal text that reads back as the same double (`512`, `0.25`, `-3.5e-07`).
/// Writes into buf (at least 32 bytes), returns the length. Allocation-free.
std::size_t format_shortest(double v, char* buf);
std::string format_shortest(double v);

/// How a `{value...}` placeholder of a feedback `line:` writes the value
/// (SPEC §3.4): `{value}` shortest, `{value:d}` rounded to an integer,
/// `{value:.Nf}` with N (0..15) decimals.
struct ValueFormat {
  enum class Kind : std::uint8_t { shortest, integer, fixed };
  Kind kind = Kind::shortest;
  int decimals = 0;
};

/// The format of a placeholder's inside (`value`, `value:d`, `value:.2f`);
/// nullopt when it is not a value placeholder.
std::optional<ValueFormat> parse_value_placeholder(std::string_view inside);

/// Writes `v` as `f` says into buf (at least 48 bytes); returns the length.
/// Allocation-free. A value too large for `:d` is written as shortest.
std::size_t format_value(double v, const ValueFormat& f, char* buf);

/// Calls f(line) for each non-empty line of `text` (split on '\n'), in
/// order. Allocation-free. Any thread.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  for (std::size_t p = 0; p < text.size();) {
    std::size_t nl = std::min(text.find('\n', p), text.size());
    if (nl > p) f(text.substr(p, nl - p));
    p = nl + 1;
  }
}

}  // namespace csb
