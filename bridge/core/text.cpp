#include "core/text.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "core/config.hpp"

namespace csb {

bool glob_match(std::string_view pattern, std::string_view text) {
  return fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), 0) == 0;
}

bool glob_match_nocase(std::string_view pattern, std::string_view text) {
  return fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), FNM_CASEFOLD) == 0;
}

std::string glob_problem(std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      if (++i == p.size()) return "it ends in a lone '\\', which escapes nothing";
      continue;
    }
    if (p[i] != '[') continue;
    // A bracket expression, as fnmatch reads one: `!` or `^` negates, a `]`
    // first is a member, `[:class:]` `[.x.]` `[=x=]` are one member each.
    std::size_t open = i;
    std::size_t j = i + 1;
    if (j < p.size() && (p[j] == '!' || p[j] == '^')) ++j;
    if (j < p.size() && p[j] == ']') ++j;
    int prev = -1;  // the last single member, for ranges
    bool closed = false;
    while (j < p.size()) {
      char c = p[j];
      if (c == ']') {
        closed = true;
        break;
      }
      if (c == '[' && j + 1 < p.size() && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
        char kind = p[j + 1];
        std::size_t end = p.find(std::string{kind, ']'}, j + 2);
        if (end == std::string_view::npos) break;  // unclosed: reported below
        std::string_view name = p.substr(j + 2, end - j - 2);
        if (kind == ':') {
          static constexpr std::string_view classes[] = {"alnum", "alpha", "blank", "cntrl",
                                                         "digit", "graph", "lower", "print",
                                                         "punct", "space", "upper", "xdigit"};
          if (std::find(std::begin(classes), std::end(classes), name) == std::end(classes))
            return fmt::format(
                "'[:{}:]' is not a character class (alnum, alpha, digit, lower, "
                "upper, xdigit, space, ...)",
                name);
        }
        prev = -1;
        j = end + 2;
        continue;
      }
      if (c == '\\' && j + 1 < p.size()) c = p[++j];
      if (c == '-' && prev >= 0 && j + 1 < p.size() && p[j + 1] != ']') {
        char hi = p[j + 1];
        std::size_t skip = 1;
        if (hi == '\\' && j + 2 < p.size()) {
          hi = p[j + 2];
          skip = 2;
        }
        if (static_cast<unsigned char>(hi) < prev)
          return fmt::format("the range '{}-{}' is backwards and matches nothing: write '{}-{}'",
                             static_cast<char>(prev), hi, hi, static_cast<char>(prev));
        prev = -1;
        j += skip + 1;
        continue;
      }
      prev = static_cast<unsigned char>(c);
      ++j;
    }
    if (!closed)
      return fmt::format(
          "the '[' at character {} is never closed: end the set with ']' (like "
          "[0-9]), or write '\\[' for a '[' in the name",
          open + 1);
    i = j;
  }
  return {};
}

std::optional<double> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const char* b = text.data();
  const char* e = b + text.size();
  if (*b == '+') {  // from_chars rejects a leading '+', a sensor may send it
    ++b;
    if (b == e || *b == '-' || *b == '+') return std::nullopt;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(b, e, v, std::chars_format::general);
  if (ec != std::errc() || p != e || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return std::nullopt;
  auto num = parse_number(text.substr(0, i));
  if (!num || *num < 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  double scale = 0;
  if (unit == "us")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m" || unit == "min")
    scale = 60e9;
  else
    return std::nullopt;
  return std::chrono::nanoseconds(static_cast<long long>(std::llround(*num * scale)));
}

std::size_t format_shortest(double v, char* buf) {
  auto [p, ec] = std::to_chars(buf, buf + 31, v);
  if (ec != std::errc()) return 0;
  return static_cast<std::size_t>(p - buf);
}

std::string format_shortest(double v) {
  char buf[32];
  return std::string(buf, format_shortest(v, buf));
}

std::string Diagnostic::to_string() const {
  if (mark.line > 0) return fmt::format("{}:{}:{}: {}", file, mark.line, mark.col, message);
  return fmt::format("{}: {}", file, message);
}

static std::string join_diagnostics(const std::vector<Diagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) {
    if (!out.empty()) out += '\n';
    out += d.to_string();
  }
  return out;
}

ConfigError::ConfigError(std::vector<Diagnostic> diags)
    : std::runtime_error(join_diagnostics(diags)), diags_(std::move(diags)) {}

std::optional<ValueFormat> parse_value_placeholder(std::string_view inside) {
  if (inside == "value") return ValueFormat{};
  if (inside == "value:d") return ValueFormat{ValueFormat::Kind::integer, 0};
  constexpr std::string_view fixed = "value:.";
  if (inside.size() >= fixed.size() + 2 && inside.substr(0, fixed.size()) == fixed &&
      inside.back() == 'f') {
    std::string_view digits = inside.substr(fixed.size(), inside.size() - fixed.size() - 1);
    int n = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec == std::errc() && p == digits.data() + digits.size() && n >= 0 && n <= 15 &&
        digits.size() <= 2)
      return ValueFormat{ValueFormat::Kind::fixed, n};
  }
  return std::nullopt;
}

std::size_t format_value(double v, const ValueFormat& f, char* buf) {
  switch (f.kind) {
    case ValueFormat::Kind::integer:
      if (std::isfinite(v) && std::fabs(v) < 9e15) {
        auto r = std::to_chars(buf, buf + 48, static_cast<long long>(std::llround(v)));
        return static_cast<std::size_t>(r.ptr - buf);
      }
      break;
    case ValueFormat::Kind::fixed:
      if (std::isfinite(v) && std::fabs(v) < 1e30) {
        auto r = std::to_chars(buf, buf + 48, v, std::chars_format::fixed, f.decimals);
        if (r.ec == std::errc()) return static_cast<std::size_t>(r.ptr - buf);
      }
      break;
    case ValueFormat::Kind::shortest:
      break;
  }
  return format_shortest(v, buf);
}

}  // namespace csb
