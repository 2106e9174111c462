#pragma once
// The words of one control command line (SPEC §6), pure and allocation-bounded
// by the line: the control socket caps lines at 4096 bytes.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
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

enum class Verb { status, reset, reload, pause, resume, devices, channels, monitor, get, set };

/// One control command with the arguments its verb takes (SPEC §6).
struct Command {
  Verb verb = Verb::status;
  std::string name;                 ///< get, set: the channel name as written
  std::optional<double> number;     ///< set NAME 0.5: a finite number
  std::optional<std::string> text;  ///< set NAME "text": a quoted value (a string channel)
};

/// Reads one command line: its verb and arguments, or the reply's words for
/// a mistake ("empty command", "usage: get NAME", "not a finite number:
/// 'x'", "unknown command 'x' (...)"). Whether a name is a valid channel
/// name is the caller's to say. Pure; any thread.
std::variant<Command, std::string> parse_command(std::string_view line);

/// One argument of `csbridge ctl` as a command-line word that split_command
/// gives back whole: as it is when it has no space, tab or quote, or is
/// already "in quotes" (`'"two words"'` on the shell); else quoted, with `"`
/// and `\` escaped (`"two words"` on the shell). Any thread.
std::string command_word(std::string_view arg);

}  // namespace csb
