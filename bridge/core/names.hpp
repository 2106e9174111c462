#pragma once
// The name rules of csbridge, as docs/configuration.md states them: what a
// channel name, a lines value name (and column name) and a device name may
// be, and which characters a lines device's words start with. One place, so
// that the loader, the router, the lines parser and the app agree.
//
// ASCII only, whatever the locale. Pure and allocation-free; any thread.

#include <cstddef>
#include <string_view>

namespace csb {

/// The longest channel name or value name, in bytes (noise from a board
/// makes no channels).
inline constexpr std::size_t kMaxNameBytes = 64;

/// `a`..`z`, `A`..`Z`.
constexpr bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// `0`..`9`.
constexpr bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}

/// What a channel name and a lines device's word (a two-token `light 512`
/// name, a trigger) start with: a letter or `_`.
constexpr bool is_name_start(char c) {
  return is_ascii_letter(c) || c == '_';
}

/// What channel names and value names hold, and what a `to:` template holds
/// outside its placeholders: letters, digits, `_` `.` `-`.
constexpr bool is_name_char(char c) {
  return is_ascii_letter(c) || is_ascii_digit(c) || c == '_' || c == '.' || c == '-';
}

/// Channel names ("Channel names" in docs/configuration.md: `to:`, feedback
/// `from:`, the names a `*` source makes, `ctl set`, kept values): a letter
/// or `_` first, then letters, digits, `_` `.` `-`, at most 64 bytes.
constexpr bool valid_channel_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes || !is_name_start(name[0])) return false;
  for (char c : name)
    if (!is_name_char(c)) return false;
  return true;
}
inline constexpr const char* kChannelNameRule =
    "a letter or _ first, then letters, digits, _ . -, at most 64 bytes";

/// The names of a lines device's values in `from: DEVICE NAME`, and its
/// `columns:` (docs/configuration.md, "Serial format: lines" and `columns`):
/// a letter first (not `_`), then as a channel name. Stricter than a
/// channel name: a board's `_x=1` reaches a `*` mapping only.
constexpr bool valid_value_name(std::string_view name) {
  return !name.empty() && is_ascii_letter(name[0]) && valid_channel_name(name);
}
inline constexpr const char* kValueNameRule = "a letter, then letters, digits, _ . -";

/// Device names, the keys under `devices:` (docs/configuration.md,
/// "devices"): a letter, then letters, digits, `_` and `-`; no `.`, no
/// length limit.
constexpr bool valid_device_name(std::string_view name) {
  if (name.empty() || !is_ascii_letter(name[0])) return false;
  for (char c : name)
    if (!is_ascii_letter(c) && !is_ascii_digit(c) && c != '_' && c != '-') return false;
  return true;
}
inline constexpr const char* kDeviceNameRule = "a letter, then letters, digits, _ or -";

}  // namespace csb
