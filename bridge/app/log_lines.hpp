#pragma once
// A message of several lines in the log.

#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "core/text.hpp"

namespace csb {

/// `head`, then each line of `text` indented, one log record a line: the
/// journal reads the priority off the start of every line.
inline void log_lines(spdlog::level::level_enum level, const std::string& head,
                      std::string_view text) {
  spdlog::log(level, "{}", head);
  for_each_line(text, [&](std::string_view line) { spdlog::log(level, "  {}", line); });
}

}  // namespace csb
