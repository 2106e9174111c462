#pragma once
// A MIDI API as the devices use it (SPEC §3, §5): list the port names, open
// an input that hands over whole messages, open an output that takes one
// message at a time. Two implementations: ALSA's sequencer through RtMidi
// (alsa_api.cpp) and JACK on libjack, one client for every port
// (jack_api.cpp). MidiDevice (midi_device.hpp) never knows which.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace csb {

/// The client name csbridge's ports carry; a `*` glob never matches them.
inline constexpr const char* kMidiClientName = "csbridge";
/// A port of csbridge's (this one's or another's): never listed for a device,
/// which would read its own feedback back.
bool own_midi_port(const std::string& name);

/// One feedback message or a few (cc14 is two), as queued for a sender.
struct MidiPacket {
  std::uint8_t len = 0;
  std::uint8_t bytes[15];
};

/// One whole message from an input port, on the transport's thread (RtMidi's
/// ALSA thread, or JACK's process thread: it must not wait).
using MidiBytesFn = void (*)(void* user, const std::uint8_t* data, std::size_t len) noexcept;

/// Made on the loop thread, destroyed on the closer thread (midi_device.cpp).
class MidiInput {
 public:
  virtual ~MidiInput() = default;  // no callback runs once it returns; may wait
  /// Errors the API reported after the port opened (counted, not routed). Any thread.
  virtual std::uint64_t errors() const { return 0; }
  /// False once the port read lost its link though its name may be listed
  /// again (JACK: the connection went with the port). Loop thread.
  virtual bool alive() const { return true; }
};

/// Made on the loop thread, destroyed on the closer thread.
class MidiOutput {
 public:
  virtual ~MidiOutput() = default;  // may wait: called off the loop
  /// One message; false when refused now (tried again later). Called by the
  /// device's writer thread only; never waits.
  virtual bool send(const std::uint8_t* data, std::size_t len) noexcept = 0;
  /// As MidiInput::alive(); any thread.
  virtual bool alive() const { return true; }
};

/// Every method on the loop thread.
class MidiApiClient {
 public:
  virtual ~MidiApiClient() = default;
  /// "alsa" or "jack".
  virtual const char* name() const = 0;
  /// The names of the ports we can read (input) or write (!input), csbridge's
  /// own left out; false when listing failed or the API went away (why()).
  virtual bool list(bool input, std::vector<std::string>& names) = 0;
  virtual std::string why() const = 0;
  /// Opens our port `label` and links it to the port `name`; nullptr with
  /// the reason in `error`. `on_bytes(user, ...)` runs until the input is
  /// destroyed. Loop thread.
  virtual std::unique_ptr<MidiInput> open_input(const std::string& name, const std::string& label,
                                                MidiBytesFn on_bytes, void* user,
                                                std::string& error) = 0;
  virtual std::unique_ptr<MidiOutput> open_output(const std::string& name, const std::string& label,
                                                  std::string& error) = 0;
};

/// Whether ALSA's sequencer can be opened now; why not in `why`.
bool alsa_reachable(std::string& why);

/// ALSA's sequencer through RtMidi; nullptr with `why` when it cannot open.
std::unique_ptr<MidiApiClient> open_alsa_api(std::string& why);
/// One JACK client for every port. `on_change` (JACK's notification
/// thread; may be empty) runs when another client's port registers or
/// unregisters, and only when `active` (a listing for `ports` is not).
std::unique_ptr<MidiApiClient> open_jack_api(std::function<void()> on_change, bool active,
                                             std::string& why);

}  // namespace csb
