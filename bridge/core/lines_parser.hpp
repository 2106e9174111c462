#pragma once
// The serial `lines` format (SPEC §3.3): a bounded line splitter that takes
// bytes in any split, and a tokenizer for one line. Pure, allocation-free
// after construction.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/names.hpp"

namespace csb {

/// One value read from a line.
struct LineValue {
  enum class Kind { named, positional, trigger };
  Kind kind = Kind::named;
  std::string_view name;  ///< named and trigger; empty for positional
  int index = -1;         ///< positional: 0-based among the line's positional values
  bool is_number = false;
  double number = 0;      ///< when is_number (triggers: 1)
  std::string_view text;  ///< the value as sent (a named string value: to the end of the line)
};

/// Splits a byte stream into lines of at most max_line bytes.
/// Longer lines are dropped whole (counted once each); half a line left at a
/// disconnect is dropped by reset(). Calls on_line(std::string_view) for each
/// complete line without its `\n` / `\r\n`. Not thread-safe: one owner.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line) : max_(max_line) { buf_.reserve(max_line); }

  template <class OnLine>
  void feed(const char* data, std::size_t n, OnLine&& on_line) {
    for (std::size_t i = 0; i < n; ++i) {
      char c = data[i];
      if (c == '\n') {
        if (overlong_) {
          overlong_ = false;
        } else {
          std::size_t len = buf_.size();
          if (len > 0 && buf_[len - 1] == '\r') --len;
          on_line(std::string_view(buf_.data(), len));
        }
        buf_.clear();
      } else if (!overlong_) {
        // max_line counts the message, not the `\r` of a `\r\n` ending.
        if (buf_.size() >= max_ && !(buf_.size() == max_ && c == '\r')) {
          overlong_ = true;
          ++overlong_count_;
          buf_.clear();
        } else {
          buf_.push_back(c);
        }
      }
    }
  }

  /// Forgets a partial line (after a disconnect).
  void reset() {
    buf_.clear();
    overlong_ = false;
  }
  std::uint64_t overlong_count() const { return overlong_count_; }

 private:
  std::size_t max_;
  std::string buf_;
  bool overlong_ = false;
  std::uint64_t overlong_count_ = 0;
};

/// What parse_line found wrong with a line.
struct LineProblems {
  int bad_tokens = 0;   ///< tokens that are neither value, number nor word
  bool binary = false;  ///< the line holds control bytes: dropped whole
};

/// Tokenizes one line (SPEC §3.3) and calls on_value(const LineValue&) for each
/// value in order. Empty lines and `#` comments give nothing. A line holding
/// control characters (binary noise) gives nothing and sets problems.binary.
/// A `name=` or `name:` value that is not a number is a string value: its text
/// runs to the end of the line (`msg=hello world`), so nothing follows it.
template <class OnValue>
LineProblems parse_line(std::string_view line, OnValue&& on_value);

namespace detail {
inline bool is_sep(char c) {
  return c == ' ' || c == '\t' || c == ',' || c == ';';
}
/// A number token without locale; false on anything else.
bool parse_number_token(std::string_view t, double& out);
/// Fills value fields from the text after `name=`.
inline void set_value_text(LineValue& v, std::string_view text) {
  v.text = text;
  v.is_number = parse_number_token(text, v.number);
}
/// The line from `from` (a view into it) to its end, without trailing spaces and tabs.
inline std::string_view rest_of_line(std::string_view line, std::string_view from) {
  std::size_t b = static_cast<std::size_t>(from.data() - line.data());
  std::size_t e = line.size();
  while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t')) --e;
  return line.substr(b, e - b);
}
}  // namespace detail

template <class OnValue>
LineProblems parse_line(std::string_view line, OnValue&& on_value) {
  LineProblems problems;
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\r') || u == 0x7f) {
      problems.binary = true;
      return problems;
    }
  }
  std::size_t p = 0;
  while (p < line.size() && detail::is_sep(line[p])) ++p;
  if (p == line.size() || line[p] == '#') return problems;

  // Views into the line; the two-token idiom needs the count before deciding.
  constexpr int kMaxTokens = 64;
  std::string_view tokens[kMaxTokens];
  int count = 0;
  int overflow = 0;  // tokens past kMaxTokens: absurdly long lines keep a bound on work
  while (p < line.size()) {
    while (p < line.size() && detail::is_sep(line[p])) ++p;
    if (p == line.size()) break;
    std::size_t start = p;
    while (p < line.size() && !detail::is_sep(line[p])) ++p;
    if (count == kMaxTokens) {
      ++overflow;
      continue;
    }
    tokens[count++] = line.substr(start, p - start);
  }

  auto find_assign = [](std::string_view t) {
    for (std::size_t i = 0; i < t.size(); ++i)
      if (t[i] == '=' || t[i] == ':') return i;
    return std::string_view::npos;
  };

  if (count == 2 && is_name_start(tokens[0][0]) &&
      find_assign(tokens[0]) == std::string_view::npos) {
    // `light 512`: the Serial.print(name); Serial.println(v) idiom.
    LineValue v;
    v.kind = LineValue::Kind::named;
    v.name = tokens[0];
    detail::set_value_text(v, tokens[1]);
    on_value(v);
    return problems;
  }

  int positional = 0;
  for (int i = 0; i < count; ++i) {
    std::string_view t = tokens[i];
    LineValue v;
    std::size_t eq = find_assign(t);
    if (eq != std::string_view::npos) {
      if (eq == 0) {
        ++problems.bad_tokens;
        continue;
      }
      v.kind = LineValue::Kind::named;
      v.name = t.substr(0, eq);
      std::string_view value = t.substr(eq + 1);
      // `light: 512`, as Serial.print("light: ") writes it: the value is the next token.
      if (value.empty() && i + 1 < count) value = tokens[++i];
      detail::set_value_text(v, value);
      if (!v.is_number && !value.empty()) {
        // A string value runs to the end of the line, spaces included (SPEC §3.2).
        v.text = detail::rest_of_line(line, value);
        on_value(v);
        return problems;
      }
    } else if (detail::parse_number_token(t, v.number)) {
      v.kind = LineValue::Kind::positional;
      v.index = positional++;
      v.is_number = true;
      v.text = t;
    } else if (is_name_start(t[0])) {
      v.kind = LineValue::Kind::trigger;
      v.name = t;
      v.is_number = true;
      v.number = 1;
      v.text = t;
    } else {
      ++problems.bad_tokens;
      continue;
    }
    on_value(v);
  }
  problems.bad_tokens += overflow;
  return problems;
}

}  // namespace csb
