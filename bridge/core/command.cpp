#include "core/command.hpp"

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
