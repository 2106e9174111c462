#pragma once
// Routing tables built from a Config (SPEC §3.2): every source of every
// device resolves to its bindings by a precomputed lookup; channel names are
// expanded once, at build time, into channel-table slots. Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/channels.hpp"
#include "core/config.hpp"
#include "core/lines_parser.hpp"
#include "core/midi.hpp"
#include "core/scaling.hpp"

namespace csb {

/// What routing does besides writing channels. Loop thread.
class RouterSink {
 public:
  virtual ~RouterSink() = default;
  /// A `do:` action fired on a rising edge.
  virtual void on_action(Action action) = 0;
  /// A formatted `score:` event fired on a rising edge.
  virtual void on_score(std::string_view event) = 0;
  /// A value was routed to a channel (for `monitor`); cheap when unused.
  virtual void on_routed(std::uint32_t device, std::string_view source, std::uint32_t slot,
                         double value) {}
  /// A `*` mapping (channel template `to`) refused its first new name: it made
  /// kMaxWildcardChannels already, or (`table_full`) the channel table is
  /// full. Once per mapping.
  virtual void on_wildcard_full(std::uint32_t device, std::string_view to, bool table_full) {}
};

/// What the `*` mappings of a config did (for `status`).
struct WildcardCounters {
  std::uint64_t made = 0;     ///< channels made
  std::uint64_t refused = 0;  ///< values for a new name no channel could be made for
};

/// Per-device input counters, kept by the owner of the device.
struct InputCounters {
  std::uint64_t events = 0;     ///< values at least one mapping used
  std::uint64_t unmatched = 0;  ///< values no mapping is for
  std::uint64_t bad = 0;        ///< unparsable, binary, overlong, or refused by every mapping
};

class Router {
 public:
  /// Most channels a wildcard (`*`) mapping creates, so a board sending
  /// random names cannot fill the channel table.
  static constexpr std::size_t kMaxWildcardChannels = 256;
  /// Ports of one device (a glob may open several) with their own MIDI state.
  static constexpr std::uint32_t kMaxMidiPorts = 8;

  /// Builds the tables and adds every channel a mapping names to `channels`.
  /// Throws ConfigError, with every mapping whose channel does not fit (the
  /// channel table is full, or the channel exists with the other type); with
  /// `problems`, appends them there instead, for a router only looked at.
  Router(const Config& config, ChannelTable& channels, RouterSink& sink,
         std::vector<Diagnostic>* problems = nullptr);
  ~Router();

  /// Routes one line from a `lines` device (index into Config::devices).
  void on_line(std::uint32_t device, std::string_view line, std::int64_t t_ns,
               InputCounters& counters);

  /// Routes one message from a device that speaks MIDI (a MIDI port or a
  /// serial `format: midi` port; index into Config::devices) to every mapping
  /// of its source (SPEC §3.1): cc, cc14, nrpn, rpn, note, polytouch,
  /// aftertouch, program, bend and clock (t_ns times the clock ticks).
  /// Sysex is not routed. Looks up precomputed tables indexed by channel and
  /// number; allocation-free except for `score:` events. A message for a device
  /// that does not speak MIDI is ignored. `port` (0..kMaxMidiPorts-1) tells
  /// apart the ports one device's glob opened: each has its own running
  /// state (cc14 halves, NRPN selects, clock ticks). Loop thread.
  void on_midi(std::uint32_t device, const MidiMessage& m, std::int64_t t_ns,
               InputCounters& counters, std::uint32_t port = 0);
  /// Forgets what a port's stream said so far (it disconnected). Loop thread.
  void reset_port(std::uint32_t device, std::uint32_t port);

  /// Routes one pin value of a serial `format: firmata` board (index into
  /// Config::devices) to every mapping of the pin: `analog` A0..A15 (raw
  /// 0..1023 on an Uno) or `digital` D0..D53 (0/1; `do:` and `score:` fire
  /// as it rises). Allocation-free except for `score:` events. A value for a
  /// device that is not a firmata board is ignored. Loop thread.
  void on_firmata(std::uint32_t device, SourceKind kind, int pin, double raw, std::int64_t t_ns,
                  InputCounters& counters);

  /// Channel slots written by mappings (for restoring and listing).
  const std::vector<std::uint32_t>& mapped_slots() const { return mapped_; }
  /// Where in the config the mapping of each mapped_slots() entry is.
  const std::vector<Mark>& mapped_marks() const { return mapped_marks_; }
  const WildcardCounters& wildcard_counters() const { return wildcard_; }

 private:
  struct Binding;
  struct LinesTable;
  struct MidiTable;
  struct MidiEvent;
  struct FirmataTable;

  /// Routes one value to one binding; false when the binding cannot use it
  /// (a string for a number, no room for a new wildcard channel).
  bool route(Binding& b, double raw, std::string_view text, bool is_number, std::string_view source,
             std::uint32_t device, std::int64_t t_ns);
  /// Routes one MIDI value to one binding; false when the binding cannot use it.
  bool route_midi(Binding& b, const MidiEvent& e, std::uint32_t device, std::int64_t t_ns);
  /// Adds the bindings of a mapping on a MIDI device (one per number, and one
  /// per channel when `to` or `score` holds {ch}) and queues their table keys.
  void add_midi_mapping(const Mapping& m, std::uint32_t device);
  /// Adds the bindings of a mapping on a firmata board, one per pin.
  void add_firmata_mapping(const Mapping& m, std::uint32_t device);
  /// A binding for number n (index i in its range) on MIDI channel ch as
  /// {ch} writes it (1..16; 0: any), with its scaling and its kind; a channel
  /// target is left to the caller.
  Binding make_binding(const Mapping& m, int i, int n, int ch);
  /// Adds a channel mapping `m` writes (and remembers it); see Router().
  std::uint32_t add_channel(const std::string& name, ChannelType type, const Mapping& m);
  void fire_score(const Binding& b, double value);

  ChannelTable& channels_;
  RouterSink& sink_;
  std::vector<Binding> bindings_;
  std::vector<std::unique_ptr<LinesTable>> lines_;      // by device index; null when not lines
  std::vector<std::unique_ptr<MidiTable>> midi_;        // by device index; null when not MIDI
  std::vector<std::unique_ptr<FirmataTable>> firmata_;  // by device index; null when not firmata
  std::vector<std::string> score_templates_;
  std::vector<std::uint32_t> mapped_;
  std::vector<Mark> mapped_marks_;
  std::string path_;  // the config's, for errors
  std::vector<Diagnostic> problems_;
  WildcardCounters wildcard_;
};

/// Expands {i} {n} {ch} {name} in a channel or score template.
std::string expand_template(std::string_view tpl, int i, int n, int ch, std::string_view name,
                            std::string_view value = {});

}  // namespace csb
