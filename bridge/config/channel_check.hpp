#pragma once
// What a config does to channels that its YAML alone does not show (SPEC §2:
// `check` refuses everything `run` would): a channel written as a control
// and as a string channel, more channels than the channel table holds, and a
// type that clashes with the orchestra's own use of the channel.

#include <vector>

#include "core/channels.hpp"
#include "core/config.hpp"

namespace csb {

/// Every such problem of a loaded config, each at its mapping or feedback
/// entry (FILE:LINE:COL). Reads the CSD's text (at most 4 MiB); a CSD that
/// cannot be read is the loader's to report. Any thread.
std::vector<Diagnostic> check_channels(const Config& config);

/// For a reload: the mappings of `config` whose channel the running table
/// `live` holds with the other type (a channel keeps its type until the
/// service restarts), or that would not fit in it. Adds nothing to `live`.
/// Loop thread (it reads `live`).
std::vector<Diagnostic> check_channels_against(const Config& config, const ChannelTable& live);

}  // namespace csb
