#include "core/orchestra_scan.hpp"

#include <cctype>
#include <vector>

namespace csb {

namespace {

struct Token {
  enum class Kind : std::uint8_t { word, string, number, other } kind;
  std::string_view text;  // a string's text without its quotes
};

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

/// Splits one line (comments already gone) into words (with a `:type`
/// suffix kept, `chnget:S`), strings, numbers and single other characters.
void tokenize(std::string_view line, std::vector<Token>& out) {
  out.clear();
  for (std::size_t i = 0; i < line.size();) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (c == '"') {
      std::size_t end = i + 1;
      while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
      if (end >= line.size()) {  // not closed on its line: no name
        out.push_back({Token::Kind::other, line.substr(i)});
        break;
      }
      out.push_back({Token::Kind::string, line.substr(i + 1, end - i - 1)});
      i = end + 1;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i;
      while (j < line.size() && (word_char(line[j]) || line[j] == ':')) ++j;
      out.push_back({Token::Kind::word, line.substr(i, j - i)});
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-') {
      std::size_t j = i + 1;
      while (j < line.size() &&
             (std::isalnum(static_cast<unsigned char>(line[j])) || line[j] == '.'))
        ++j;
      out.push_back({Token::Kind::number, line.substr(i, j - i)});
      i = j;
    } else {
      out.push_back({Token::Kind::other, line.substr(i, 1)});
      ++i;
    }
  }
}

enum class Rate : std::uint8_t { none, control, string };

/// The type a variable, literal or `opcode:T` suffix stands for.
Rate rate_of(const Token& t) {
  if (t.kind == Token::Kind::string) return Rate::string;
  if (t.kind == Token::Kind::number) return Rate::control;
  if (t.kind != Token::Kind::word || t.text.empty()) return Rate::none;
  std::string_view v = t.text;
  if (v.size() > 1 && v[0] == 'g') v.remove_prefix(1);  // globals: gkx, gSx
  switch (v[0]) {
    case 'S':
      return Rate::string;
    case 'k':
    case 'i':
      return Rate::control;
    default:
      return Rate::none;  // a-rate, f-sigs, arrays: not a control or string channel
  }
}

/// The opcode's name without a `:T` suffix, and the suffix's type.
std::string_view opcode_of(std::string_view word, Rate& suffix) {
  suffix = Rate::none;
  auto colon = word.find(':');
  if (colon == std::string_view::npos) return word;
  std::string_view t = word.substr(colon + 1);
  if (t == "S") suffix = Rate::string;
  if (t == "k" || t == "i") suffix = Rate::control;
  return word.substr(0, colon);
}

/// The <CsInstruments> body, or all of `csd` when it has none.
std::string_view instruments(std::string_view csd, std::size_t& offset) {
  offset = 0;
  auto open = csd.find("<CsInstruments>");
  if (open == std::string_view::npos) return csd;
  offset = open + 15;
  auto close = csd.find("</CsInstruments>", offset);
  return csd.substr(offset,
                    close == std::string_view::npos ? std::string_view::npos : close - offset);
}

}  // namespace

StringMap<OrchestraChannel> scan_orchestra_channels(std::string_view csd) {
  StringMap<OrchestraChannel> found;
  std::size_t offset;
  std::string_view orc = instruments(csd, offset);
  int line_no = 1;
  for (std::size_t i = 0; i < offset; ++i) line_no += csd[i] == '\n';

  auto note = [&](std::string_view name, Rate r, int line, const char* how) {
    if (r == Rate::none || name.empty() || found.size() >= ChannelTable::kConfigChannels) return;
    if (found.find(name) != found.end()) return;
    found.emplace(std::string(name),
                  OrchestraChannel{r == Rate::string ? ChannelType::string : ChannelType::control,
                                   line, how});
  };

  std::vector<Token> toks;
  std::string text;  // the line without its comments
  bool in_block = false;
  std::size_t pos = 0;
  for (; pos <= orc.size(); ++line_no) {
    std::size_t nl = orc.find('\n', pos);
    if (nl == std::string_view::npos) nl = orc.size();
    std::string_view raw = orc.substr(pos, nl - pos);
    pos = nl + 1;
    // Comments: `;` and `//` to the end of the line, `/* */` across lines.
    text.clear();
    bool in_string = false;
    for (std::size_t k = 0; k < raw.size(); ++k) {
      char c = raw[k];
      char next = k + 1 < raw.size() ? raw[k + 1] : '\0';
      if (in_block) {
        if (c == '*' && next == '/') in_block = false, ++k;
        continue;
      }
      if (in_string && c == '\\' && k + 1 < raw.size()) {  // \" inside a string
        text += c;
        text += raw[++k];
        continue;
      }
      if (c == '"') in_string = !in_string;
      if (!in_string && (c == ';' || (c == '/' && next == '/'))) break;
      if (!in_string && c == '/' && next == '*') {
        in_block = true;
        ++k;
        continue;
      }
      text += c;
    }
    tokenize(text, toks);
    // Brackets and `=` only separate: `Sx = chnget:S("name")`, `chnset(Sx, "name")`.
    std::vector<Token> t;
    for (const Token& tok : toks)
      if (!(tok.kind == Token::Kind::other &&
            (tok.text == "(" || tok.text == ")" || tok.text == "=")))
        t.push_back(tok);
    for (std::size_t k = 0; k < t.size(); ++k) {
      if (t[k].kind != Token::Kind::word) continue;
      Rate suffix;
      std::string_view op = opcode_of(t[k].text, suffix);
      auto string_at = [&](std::size_t j) {
        return j < t.size() && t[j].kind == Token::Kind::string ? t[j].text : std::string_view();
      };
      if (op == "chn_k" || op == "chn_S") {
        bool str = op == "chn_S";
        note(string_at(k + 1), str ? Rate::string : Rate::control, line_no,
             str ? "chn_S" : "chn_k");
      } else if (op == "chnget" || op == "invalue") {
        Rate r = suffix != Rate::none ? suffix : k > 0 ? rate_of(t[k - 1]) : Rate::none;
        note(string_at(k + 1), r, line_no,
             r == Rate::string ? "a string read (chnget/invalue)" : "a control read");
      } else if (op == "chnset") {
        // chnset VALUE, "name": VALUE may be an expression (kx * 2); its
        // first token tells the type.
        std::size_t comma = k + 2;
        while (comma + 1 < t.size() && !(t[comma].text == "," && string_at(comma + 1).size()))
          ++comma;
        if (k + 1 < comma && comma + 1 < t.size()) {
          Rate r = rate_of(t[k + 1]);
          note(string_at(comma + 1), r, line_no,
               r == Rate::string ? "chnset of a string" : "chnset of a number");
        }
      } else if (op == "outvalue") {
        // outvalue "name", VALUE
        if (k + 3 < t.size() && t[k + 2].text == ",") {
          Rate r = rate_of(t[k + 3]);
          note(string_at(k + 1), r, line_no,
               r == Rate::string ? "outvalue of a string" : "outvalue of a number");
        }
      }
    }
    if (nl == orc.size()) break;
  }
  return found;
}

}  // namespace csb
