#include "core/command.hpp"

#include <array>

#include <fmt/format.h>

#include "core/text.hpp"

namespace csb {

std::vector<CommandWord> split_command(std::string_view line) {
  std::vector<CommandWord> words;
  std::size_t p = 0;
  while (p < line.size()) {
    while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
    if (p == line.size()) break;
    if (line[p] == '"') {
      std::string w;
      ++p;
      while (p < line.size() && line[p] != '"') {
        if (line[p] == '\\' && p + 1 < line.size()) ++p;
        w += line[p++];
      }
      ++p;
      words.push_back({std::move(w), true});
    } else {
      std::size_t s = p;
      while (p < line.size() && line[p] != ' ' && line[p] != '\t') ++p;
      words.push_back({std::string(line.substr(s, p - s)), false});
    }
  }
  return words;
}

std::variant<Command, std::string> parse_command(std::string_view line) {
  auto words = split_command(line);
  if (words.empty()) return std::string("empty command");
  struct Form {
    std::string_view word;
    Verb verb;
    std::size_t args;
    std::string_view usage;
  };
  static constexpr std::array<Form, 10> kForms{{
      {"status", Verb::status, 0, "status"},
      {"reset", Verb::reset, 0, "reset"},
      {"reload", Verb::reload, 0, "reload"},
      {"pause", Verb::pause, 0, "pause"},
      {"resume", Verb::resume, 0, "resume"},
      {"get", Verb::get, 1, "get NAME"},
      {"set", Verb::set, 2, "set NAME VALUE (a \"quoted\" VALUE sets a string channel)"},
      {"devices", Verb::devices, 0, "devices"},
      {"channels", Verb::channels, 0, "channels"},
      {"monitor", Verb::monitor, 0, "monitor"},
  }};
  const std::string& word = words[0].text;
  for (const Form& f : kForms) {
    if (word != f.word) continue;
    if (words.size() != f.args + 1) return fmt::format("usage: {}", f.usage);
    Command c;
    c.verb = f.verb;
    if (f.args >= 1) c.name = words[1].text;
    if (f.verb == Verb::set) {
      const auto& [text, quoted] = words[2];
      if (quoted) {
        c.text = text;
      } else if (!(c.number = parse_number(text))) {
        return fmt::format("not a finite number: '{}'", text);
      }
    }
    return c;
  }
  return fmt::format(
      "unknown command '{}' (status, reset, reload, pause, resume, get, set, devices, channels, "
      "monitor)",
      word);
}

std::string command_word(std::string_view arg) {
  if (arg.find_first_of(" \t\"") == std::string_view::npos) return std::string(arg);
  bool quoted = arg.size() >= 2 && arg.front() == '"' && arg.back() == '"';
  if (quoted && arg.substr(1, arg.size() - 2).find('"') == std::string_view::npos)
    return std::string(arg);
  std::string w = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') w += '\\';
    w += c;
  }
  return w + '"';
}

}  // namespace csb
