#pragma once
// Csound's messages, which arrive in fragments, as whole lines with their
// level: for the engine's message ring and for compile checks alike.

#include <string>
#include <string_view>

#include "engine/engine.hpp"

namespace csb {

/// Csound's messages arrive in fragments: this joins them into lines, each
/// with its level. One writer at a time.
struct MessageLines {
  std::string line;
  int attr = 0;
  CsoundMessage::Level previous = CsoundMessage::Level::debug;

  template <class OnLine>
  void feed(int fragment_attr, const char* text, OnLine&& on_line) {
    for (const char* p = text; *p; ++p) {
      if (line.empty()) attr = fragment_attr;
      if (*p != '\n') {
        if (line.size() < 4096) line += *p;
        continue;
      }
      previous = classify_message(attr, line, previous);
      on_line(previous, std::string_view(line));
      line.clear();
    }
  }
};

}  // namespace csb
