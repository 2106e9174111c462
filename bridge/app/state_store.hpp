#pragma once
// Values that outlive a restart (issue: an appliance rebooted mid-show comes
// back sounding as it was): the last value of every mapped channel, kept as
// JSON in one file that is replaced atomically.
//
// Threads: loop thread (it is called at most once a second and at stop).

#include <string>

#include <nlohmann/json.hpp>

namespace csb {

class StateStore {
 public:
  /// Where the values are kept: $STATE_DIRECTORY (as systemd's
  /// StateDirectory= sets it; the first of a ':' list), else
  /// $XDG_STATE_HOME/csbridge, else $HOME/.local/state/csbridge; empty when
  /// none of them is set.
  static std::string default_dir();

  /// `dir` empty: nothing is kept.
  explicit StateStore(std::string dir);

  bool enabled() const { return !path_.empty(); }
  /// <dir>/values.json
  const std::string& path() const { return path_; }

  /// The saved values, an object of name -> number or string; empty when
  /// there is no file. A file that cannot be read or parsed gives an empty
  /// object and says why in `error`.
  nlohmann::json load(std::string& error) const;

  /// Writes `values` to a temporary file beside the file, syncs it and
  /// renames it over the file, so a crash or power cut leaves the old file or
  /// the new one, never a part. Makes the directory when needed.
  bool save(const nlohmann::json& values, std::string& error) const;

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace csb
