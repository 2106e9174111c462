#pragma once
// Small pure text helpers shared by the config loader, the router and the app.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace csb {

/// Case-insensitive shell glob (`*`, `?`, `[...]`) on a whole string.
/// Used for MIDI port names.
bool glob_match_nocase(std::string_view pattern, std::string_view text);

/// Case-sensitive shell glob, as for file paths (fnmatch without FNM_PATHNAME).
bool glob_match(std::string_view pattern, std::string_view text);

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

}  // namespace csb
