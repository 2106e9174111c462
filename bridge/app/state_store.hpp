#pragma once
// Values that outlive a restart (SPEC §4 "Kept values": an appliance rebooted
// mid-show comes back sounding as it was): the last value of every channel a
// device, a wildcard mapping or `set` wrote, whatever config wrote it, kept as
// JSON in one file that is replaced atomically, oldest first.
//
// Threads: every member on the loop thread; the writes of save_async() on a
// writer thread of its own, so the loop never waits for the disk (an fsync on
// an SD card may take long).

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace csb {

class StateStore {
 public:
  /// name -> number or string, in the order they were last written (oldest first).
  using Values = nlohmann::ordered_json;
  /// At most this many names are kept; the oldest go first.
  static constexpr std::size_t kMaxNames = 4096;

  /// Where the values are kept: $STATE_DIRECTORY (as systemd's
  /// StateDirectory= sets it; the first of a ':' list), else
  /// $XDG_STATE_HOME/csbridge, else $HOME/.local/state/csbridge; empty when
  /// none of them is set.
  static std::string default_dir();

  /// `dir` empty: nothing is kept.
  explicit StateStore(std::string dir);
  /// Finishes the write under way (a pending one is dropped: save() at stop
  /// wrote newer values) and joins the writer.
  ~StateStore();

  bool enabled() const { return !path_.empty(); }
  /// <dir>/values.json
  const std::string& path() const { return path_; }

  /// The saved values, an object of name -> number or string; empty when
  /// there is no file. A file that cannot be read or parsed gives an empty
  /// object and says why in `error`.
  Values load(std::string& error) const;

  /// Writes `values` to a temporary file beside the file, syncs it and
  /// renames it over the file, so a crash or power cut leaves the old file or
  /// the new one, never a part. Makes the directory when needed. Waits for a
  /// write under way; a pending one is dropped (these values are newer).
  bool save(const Values& values, std::string& error);
  /// As save(), on the writer thread; the newest values waiting win.
  void save_async(const Values& values);
  /// Why the writer thread's last write failed; empty when it succeeded.
  std::string last_error();

 private:
  static std::string text_of(const Values& values);
  bool write(const std::string& text, std::string& error);
  void writer_loop();

  std::string dir_;
  std::string path_;
  std::mutex write_mu_;  // one write at a time
  std::mutex mu_;        // guards the members below
  std::condition_variable cv_;
  std::optional<std::string> pending_;
  bool quit_ = false;
  std::string error_;
  std::thread writer_;
};

}  // namespace csb
