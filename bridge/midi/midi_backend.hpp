#pragma once
// The MIDI API the devices use (SPEC §3, §5): MidiBackend picks it
// (`midi.api`; auto: ALSA, then JACK), lists the port names at each scan,
// and tells once when none can be opened. MidiWaker is how the input threads
// wake the loop. Loop thread, unless said.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "midi/midi_api.hpp"

namespace csb {

/// Wakes the loop from MIDI threads: an eventfd written once per burst.
class MidiWaker {
 public:
  MidiWaker();
  ~MidiWaker();
  int fd() const { return fd_; }
  /// Any thread; never blocks. Writes the eventfd only if no wake is pending.
  void wake() noexcept;
  /// Loop thread, once woken: clears the eventfd before draining.
  void rearm() noexcept;

 private:
  int fd_ = -1;
  std::atomic<bool> pending_{false};
};

/// One port name as an API lists it.
struct MidiPortName {
  std::string api;  ///< "alsa" or "jack"
  std::string name;
  bool input = true;  ///< a source we can read (false: a destination we can write)
};

/// Every MIDI port every compiled API lists now (for `csbridge ports`), and a
/// line per API that cannot be opened in `problems`.
std::vector<MidiPortName> list_all_midi_ports(std::vector<std::string>& problems);

class MidiBackend {
 public:
  /// `on_change`: see open_jack_api (ALSA's news comes from AlsaAnnounce).
  explicit MidiBackend(MidiApi api, std::function<void()> on_change = {});
  ~MidiBackend();

  /// Reads both port lists again, opening the API first when none is open.
  /// False when no API can be opened (logged once, until one opens).
  bool refresh();
  bool available() const { return client_ != nullptr; }
  /// "alsa", "jack", or "" when none is open.
  const char* api_name() const;
  const std::vector<std::string>& inputs() const { return inputs_; }
  const std::vector<std::string>& outputs() const { return outputs_; }
  /// The open API; nullptr when none is.
  MidiApiClient* client() const { return client_.get(); }

 private:
  bool open_api();
  void close_api();

  MidiApi wanted_;
  std::function<void()> on_change_;
  std::unique_ptr<MidiApiClient> client_;
  bool told_unavailable_ = false;
  std::vector<std::string> inputs_, outputs_;
};

}  // namespace csb
