#pragma once
// The one parser of `{...}` placeholders (docs/configuration.md, "Templates"):
// channel-name templates (`to: "pad{n}"`), score events (`'i 1 0 1 {value}'`)
// and feedback lines (`line: "led={value:d}"`) are all split by it into
// pieces of text and placeholders. The loader checks the placeholders, the
// router and the feedback expand them.
//
// Pure and allocation-free; any thread.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace csb {

/// One piece of a template: literal text, or a placeholder.
struct TemplatePiece {
  enum class Kind : std::uint8_t { text, placeholder };
  Kind kind = Kind::text;
  /// The literal text, or what a placeholder's braces hold (`value:.2f`).
  std::string_view text;
  /// Where the piece starts in the template (a placeholder's `{`).
  std::size_t offset = 0;

  /// A placeholder's name: what it holds before a `:` (`value` of `value:.2f`).
  std::string_view name() const { return text.substr(0, text.find(':')); }
  /// A placeholder's format: what it holds after the first `:` (`.2f` of
  /// `value:.2f`); empty without a `:`. See has_format.
  std::string_view format() const {
    auto colon = text.find(':');
    return colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  }
  /// Whether a placeholder holds a `:` (`value:` has an empty format).
  bool has_format() const { return text.find(':') != std::string_view::npos; }
};

/// Splits `tpl` into pieces and calls on_piece(const TemplatePiece&) for
/// each, in order. A `{` opens a placeholder that the next `}` closes;
/// `known(inside)` decides whether it is one: when it says false, the `{` is
/// text and parsing goes on right after it (so `{x{i}` is the text `{x` and
/// the placeholder `i`). Adjacent text is one piece; no piece is empty
/// unless a placeholder's braces hold nothing (`{}`, when known).
///
/// Returns where a `{` no `}` closes stands in `tpl` (it and what follows
/// are then a text piece), or npos when there is none.
template <class Known, class OnPiece>
std::size_t for_each_template_piece(std::string_view tpl, Known&& known, OnPiece&& on_piece) {
  std::size_t text_from = 0;
  auto flush_text = [&](std::size_t to) {
    if (to > text_from)
      on_piece(TemplatePiece{TemplatePiece::Kind::text, tpl.substr(text_from, to - text_from),
                             text_from});
  };
  for (std::size_t p = 0; p < tpl.size(); ++p) {
    if (tpl[p] != '{') continue;
    std::size_t close = tpl.find('}', p + 1);
    if (close == std::string_view::npos) {
      flush_text(tpl.size());
      return p;
    }
    std::string_view inside = tpl.substr(p + 1, close - p - 1);
    if (!known(inside)) continue;  // a literal `{`
    flush_text(p);
    on_piece(TemplatePiece{TemplatePiece::Kind::placeholder, inside, p});
    text_from = close + 1;
    p = close;
  }
  flush_text(tpl.size());
  return std::string_view::npos;
}

/// The same, every `{...}` a placeholder (for the loader, which then says
/// which ones it does not know).
template <class OnPiece>
std::size_t for_each_template_piece(std::string_view tpl, OnPiece&& on_piece) {
  return for_each_template_piece(
      tpl, [](std::string_view) { return true; }, on_piece);
}

}  // namespace csb
