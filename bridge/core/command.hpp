#pragma once
// The words of one control command line (SPEC §6), pure and allocation-bounded
// by the line: the control socket caps lines at 4096 bytes.

#include <string>
#include <utility>
#include <vector>

namespace csb {

/// One word of a command line; `quoted` when it was written "in quotes"
/// (a quoted `set` value sets a string channel).
struct CommandWord {
  std::string text;
  bool quoted = false;
  bool operator==(const CommandWord&) const = default;
};

/// Splits a command line into words on spaces and tabs. A "quoted" word keeps
/// its spaces; `\"` and `\\` inside quotes stand for `"` and `\`. An
/// unclosed quote runs to the end of the line. Any thread.
std::vector<CommandWord> split_command(std::string_view line);

/// One argument of `csbridge ctl` as a command-line word that split_command
/// gives back whole: as it is when it has no space, tab or quote, or is
/// already "in quotes" (`'"two words"'` on the shell); else quoted, with `"`
/// and `\` escaped (`"two words"` on the shell). Any thread.
std::string command_word(std::string_view arg);

}  // namespace csb
