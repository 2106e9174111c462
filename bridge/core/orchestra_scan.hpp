#pragma once
// The channels an orchestra names with a literal name, and the type each use
// gives them, read off the CSD's text (SPEC §2 `check`): `chnget` makes its
// channel only when an instrument starts, so a compile does not show them.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/channels.hpp"

namespace csb {

struct OrchestraChannel {
  ChannelType type = ChannelType::control;
  int line = 0;     ///< in the CSD, from 1
  std::string how;  ///< the use, for messages: "chn_S", "chnset of a string", ...
};

/// Scans the <CsInstruments> section (the whole text when it has none) for
/// `chn_k`/`chn_S` declarations and `chnget`, `chnset`, `invalue`, `outvalue`
/// with a literal channel name; the first typed use of a name wins. Audio
/// and unknown uses are left out. Comments are skipped. At most 4096 names.
StringMap<OrchestraChannel> scan_orchestra_channels(std::string_view csd);

}  // namespace csb
