#pragma once
// Compile checks: a CSD compiled with Csound beside the running performance
// (`csbridge check`, a reload, csound.watch), and the options entry Csound
// refuses when one does. Each in Csound instances of its own; any thread.

#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace csb {

/// Compiles a CSD with `options` and no audio or MIDI, then stops. Returns
/// Csound's error lines, or an empty string when it compiles. `run_header`:
/// also run the orchestra header's init code (tables, `system_i`, OSC ports),
/// as `csbridge check` does; without it only the orchestra is compiled, which
/// is safe beside a running performance. Any thread; its own Csound instance.
std::string test_compile(const std::string& csd, const std::vector<std::string>& options,
                         bool run_header = true);

/// The entries of `csound.options` Csound refuses on its own (an unknown
/// flag, a flag without its value; each is tried alone on an orchestra of
/// one empty instrument), each a problem at its entry of `file`, worded like
/// the config loader's; empty when Csound takes them all. Tells a bad
/// options entry from a CSD that does not compile. Any thread; instances of
/// its own.
std::vector<Diagnostic> options_problems(const std::string& file, const CsoundConfig& cs);

}  // namespace csb
