#pragma once
// Reads a YAML configuration file into a validated csb::Config (SPEC §3).

#include <string>
#include <string_view>

#include "core/config.hpp"

namespace csb {

/// Limits of a config (SPEC §3): a larger file is refused before it is parsed,
/// so a reload never stalls the loop on a huge file.
inline constexpr std::size_t kMaxConfigBytes = 1 << 20;
/// At most this many devices, mappings or feedback entries.
inline constexpr std::size_t kMaxConfigEntries = 4096;
/// The longest control socket path a Unix socket takes (sun_path, less its NUL).
inline constexpr std::size_t kMaxSocketPath = 107;

/// Loads and validates a configuration file. Relative paths in it resolve
/// against the file's directory. Throws ConfigError holding every problem
/// found (each with FILE:LINE:COL), never only the first. Any thread.
Config load_config_file(const std::string& path);

/// As load_config_file, for YAML text: `file` names it in messages and
/// `base_dir` is where relative paths resolve.
Config load_config_text(std::string_view yaml, const std::string& file,
                        const std::string& base_dir);

}  // namespace csb
