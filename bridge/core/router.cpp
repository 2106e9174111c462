#include "core/router.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "core/names.hpp"
#include "core/placeholder.hpp"
#include "core/text.hpp"

namespace csb {

struct Router::Binding {
  enum class Kind : std::uint8_t { control, string, action, score };
  Kind kind = Kind::control;
  std::uint32_t slot = kNoSlot;
  Scaler scaler;
  ValueMode mode = ValueMode::velocity;
  Action action = Action::none;
  std::uint32_t score = 0;  // index into score_templates_
  int i = 0, n = 0;
  int ch = 0;                // the MIDI channel as {ch} writes it, 1..16; 0 for none or every one
  bool edge_source = false;  // do:/score: fire on a rise through 0.5 (lines values)
  std::string label;  // MIDI, firmata: the source for on_routed ("cc 7", "note 60 ch 10", "A0")
  double prev = NAN;
  bool toggled = false;

  // Wildcard bindings: channel template and the channels made so far.
  bool wildcard = false;
  std::string to_template;
  StringMap<std::uint32_t> wild_slots;
  bool wild_full = false;  // refused a name already (said once)
};

struct Router::LinesTable {
  StringMap<std::vector<std::uint32_t>> by_name;
  std::vector<std::vector<std::uint32_t>> by_index;
  std::vector<std::uint32_t> wildcard;
  std::vector<std::string> columns;
};

/// A firmata board's bindings, by pin.
struct Router::FirmataTable {
  std::vector<std::uint32_t> analog[kFirmataAnalogPins];
  std::vector<std::uint32_t> digital[kFirmataDigitalPins];
};

namespace {

// A MIDI device's dense table: one span of binding ids per (source kind,
// channel 0..15, number). nrpn/rpn numbers (0..16383) are too many for it
// and go to a sorted list looked up once per parameter select.
constexpr std::uint32_t kCcKeys = 0;                     // 16 x 128 controller numbers
constexpr std::uint32_t kCc14Keys = kCcKeys + 16 * 128;  // 16 x 32 (by the MSB number)
constexpr std::uint32_t kNoteKeys = kCc14Keys + 16 * 32;
constexpr std::uint32_t kPolyKeys = kNoteKeys + 16 * 128;
constexpr std::uint32_t kTouchKeys = kPolyKeys + 16 * 128;  // 16, one per channel
constexpr std::uint32_t kProgramKeys = kTouchKeys + 16;
constexpr std::uint32_t kBendKeys = kProgramKeys + 16;
constexpr std::uint32_t kClockKey = kBendKeys + 16;  // clock has no channel
constexpr std::uint32_t kDenseKeys = kClockKey + 1;

/// The dense key of a MIDI source (not nrpn/rpn); ch is 0-based.
std::uint32_t dense_key(SourceKind kind, int ch, int n) {
  auto c = static_cast<std::uint32_t>(ch);
  auto u = static_cast<std::uint32_t>(n);
  switch (kind) {
    case SourceKind::cc:
      return kCcKeys + c * 128 + u;
    case SourceKind::cc14:
      return kCc14Keys + c * 32 + u;
    case SourceKind::note:
      return kNoteKeys + c * 128 + u;
    case SourceKind::polytouch:
      return kPolyKeys + c * 128 + u;
    case SourceKind::aftertouch:
      return kTouchKeys + c;
    case SourceKind::program:
      return kProgramKeys + c;
    case SourceKind::bend:
      return kBendKeys + c;
    default:
      return kClockKey;
  }
}

/// The key of an nrpn/rpn parameter on a channel (0-based) in the sorted list.
std::uint32_t param_key(bool rpn, int ch, int param) {
  return (rpn ? 1u << 18 : 0u) | static_cast<std::uint32_t>(ch) << 14 |
         static_cast<std::uint32_t>(param);
}

constexpr std::uint8_t kNoValue = 0xFF;  // no cc value seen yet
// A clock that stopped without a stop message: the gap is not an interval.
constexpr std::int64_t kClockGapNs = 1'000'000'000;

/// A gate (1 on, 0 off) onto a mapping's range, through invert and curve.
double gate_value(const Scaler& s, bool on) {
  double x = on ? 1.0 : 0.0;
  if (s.pass) return x;
  if (s.invert) x = 1.0 - x;
  return s.shape(x);
}

}  // namespace

/// One MIDI value as every binding of its source sees it.
struct Router::MidiEvent {
  double raw = 0;     // the source's raw value (SPEC §3.1)
  bool rise = false;  // a rising edge: note-on, a cc through 64, a program change
  bool on = false;    // for gate: note-on (a cc at 64 or more)
};

struct Router::MidiTable {
  struct Span {
    std::uint32_t begin = 0, count = 0;  // into ids
  };
  struct Param {
    std::uint32_t key = 0;
    Span span;
  };
  enum class Select : std::uint8_t { none, nrpn, rpn };
  struct ChannelState {
    std::uint8_t cc_last[128];  // kNoValue until the first value
    std::uint8_t cc14_msb[32] = {};
    std::uint8_t cc14_lsb[32] = {};
    std::uint8_t nrpn_msb = 0, nrpn_lsb = 0, rpn_msb = 0, rpn_lsb = 0;
    Select select = Select::none;
    std::int32_t param = -1;  // index into params of the selected parameter; -1: none mapped
    ChannelState() { std::fill(std::begin(cc_last), std::end(cc_last), kNoValue); }
  };
  // Tempo from the last 24 intervals between clock ticks: 25 timestamps.
  static constexpr int kTicks = 25;

  /// What one port's message stream has said so far: running controller
  /// values, parameter selections, clock ticks. Two ports one glob opened
  /// never mix their NRPN selects or their tempo.
  struct PortState {
    ChannelState ch[16];
    std::vector<std::uint16_t> param_value;  // by index into params: what data entry works on
    std::int64_t ticks[kTicks] = {};
    int tick_head = 0;   // where the next tick goes
    int tick_count = 0;  // ticks held, up to kTicks
  };

  std::vector<Span> dense = std::vector<Span>(kDenseKeys);
  std::vector<std::uint32_t> ids;
  std::vector<Param> params;                          // sorted by key
  std::uint16_t nrpn_channels = 0, rpn_channels = 0;  // bit c: some parameter mapped on c
  std::vector<PortState> ports;                       // kMaxMidiPorts, made at build time

  // Build time only: (key, binding id) in mapping order.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pending_dense, pending_params;

  /// Turns the pending pairs into spans: ids of one key are contiguous, in mapping order.
  void build() {
    auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
    std::stable_sort(pending_dense.begin(), pending_dense.end(), by_key);
    std::stable_sort(pending_params.begin(), pending_params.end(), by_key);
    for (auto [key, id] : pending_dense) {
      Span& s = dense[key];
      if (s.count == 0) s.begin = static_cast<std::uint32_t>(ids.size());
      ids.push_back(id);
      ++s.count;
    }
    for (auto [key, id] : pending_params) {
      if (params.empty() || params.back().key != key)
        params.push_back({key, {static_cast<std::uint32_t>(ids.size()), 0}});
      ids.push_back(id);
      ++params.back().span.count;
    }
    pending_dense = {};
    pending_params = {};
    ports.resize(kMaxMidiPorts);
    for (PortState& p : ports) p.param_value.assign(params.size(), 0);
  }

  /// The index in params of a parameter, or -1.
  std::int32_t find_param(std::uint32_t key) const {
    auto it = std::lower_bound(params.begin(), params.end(), key,
                               [](const Param& p, std::uint32_t k) { return p.key < k; });
    return it != params.end() && it->key == key ? static_cast<std::int32_t>(it - params.begin())
                                                : -1;
  }

  /// Resolves a channel's selected nrpn/rpn parameter after a select CC.
  void select(PortState& port, int c) {
    ChannelState& s = port.ch[c];
    if (s.select == Select::rpn && s.rpn_msb == 127 && s.rpn_lsb == 127)
      s.select = Select::none;  // the RPN null function deselects
    switch (s.select) {
      case Select::none:
        s.param = -1;
        break;
      case Select::nrpn:
        s.param = find_param(param_key(false, c, s.nrpn_msb << 7 | s.nrpn_lsb));
        break;
      case Select::rpn:
        s.param = find_param(param_key(true, c, s.rpn_msb << 7 | s.rpn_lsb));
        break;
    }
  }

  /// Records a clock tick; the tempo in BPM over the ticks held, or 0 when unknown.
  static double tick(PortState& p, std::int64_t t_ns) {
    auto& ticks = p.ticks;
    int& tick_head = p.tick_head;
    int& tick_count = p.tick_count;
    if (tick_count > 0 && t_ns - ticks[(tick_head + kTicks - 1) % kTicks] > kClockGapNs)
      tick_count = 0;
    ticks[tick_head] = t_ns;
    tick_head = (tick_head + 1) % kTicks;
    if (tick_count < kTicks) ++tick_count;
    if (tick_count < 2) return 0;
    std::int64_t newest = ticks[(tick_head + kTicks - 1) % kTicks];
    std::int64_t oldest = ticks[(tick_head + kTicks - tick_count) % kTicks];
    if (newest <= oldest) return 0;
    double interval_ns = static_cast<double>(newest - oldest) / (tick_count - 1);
    return 60e9 / (interval_ns * 24.0);
  }
};

namespace {

/// The placeholders expand_template fills; any other `{` is text.
bool expanded_placeholder(std::string_view key) {
  return key == "i" || key == "n" || key == "ch" || key == "name" || key == "value";
}

/// Whether expand_template fills a `{key}` in tpl.
bool expands(std::string_view tpl, std::string_view key) {
  bool found = false;
  for_each_template_piece(tpl, expanded_placeholder, [&](const TemplatePiece& p) {
    found = found || (p.kind == TemplatePiece::Kind::placeholder && p.text == key);
  });
  return found;
}

}  // namespace

std::string expand_template(std::string_view tpl, int i, int n, int ch, std::string_view name,
                            std::string_view value) {
  std::string out;
  out.reserve(tpl.size() + 8);
  for_each_template_piece(tpl, expanded_placeholder, [&](const TemplatePiece& p) {
    if (p.kind == TemplatePiece::Kind::text)
      out += p.text;
    else if (p.text == "i")
      out += std::to_string(i);
    else if (p.text == "n")
      out += std::to_string(n);
    else if (p.text == "ch")
      out += std::to_string(ch);
    else if (p.text == "name")
      out += name;
    else
      out += value;
  });
  return out;
}

Router::Binding Router::make_binding(const Mapping& m, int i, int n, int ch) {
  Binding b;
  b.scaler = make_scaler(m);
  b.mode = m.value;
  b.i = i;
  b.n = n;
  b.ch = ch;
  if (m.action != Action::none) {
    b.kind = Binding::Kind::action;
    b.action = m.action;
  } else if (!m.score.empty()) {
    b.kind = Binding::Kind::score;
    b.score = static_cast<std::uint32_t>(score_templates_.size());
    score_templates_.push_back(m.score);
  } else {
    b.kind = m.is_string ? Binding::Kind::string : Binding::Kind::control;
  }
  return b;
}

std::uint32_t Router::add_channel(const std::string& name, ChannelType type, const Mapping& m) {
  std::uint32_t s = channels_.add(name, type);
  if (s == kNoSlot) {
    // Once per mapping: a range could say it 2048 times.
    if (!problems_.empty() && problems_.back().mark.line == m.mark.line &&
        problems_.back().mark.col == m.mark.col)
      return kNoSlot;
    bool clash = channels_.find(name) != kNoSlot;
    problems_.push_back(Diagnostic{
        path_, m.mark,
        clash ? fmt::format("channel '{}' is written as a {} channel here and as a {} channel by "
                            "another mapping: a channel has one type (type: string on both, or "
                            "on neither)",
                            name, type == ChannelType::string ? "string" : "control",
                            type == ChannelType::string ? "control" : "string")
              : fmt::format("channel '{}': the mappings make more channels than the channel "
                            "table holds ({}); map fewer numbers or use fewer names",
                            name, channels_.capacity())});
    return kNoSlot;
  }
  mapped_.push_back(s);
  mapped_marks_.push_back(m.mark);
  return s;
}

Router::Router(const Config& config, ChannelTable& channels, RouterSink& sink,
               std::vector<Diagnostic>* problems)
    : channels_(channels), sink_(sink), path_(config.path) {
  lines_.resize(config.devices.size());
  midi_.resize(config.devices.size());
  firmata_.resize(config.devices.size());
  for (std::size_t d = 0; d < config.devices.size(); ++d) {
    const DeviceConfig& dev = config.devices[d];
    if (dev.kind == DeviceKind::serial && dev.format == SerialFormat::lines) {
      lines_[d] = std::make_unique<LinesTable>();
      lines_[d]->columns = dev.columns;
    } else if (dev.speaks_midi()) {
      midi_[d] = std::make_unique<MidiTable>();
    } else if (dev.kind == DeviceKind::serial && dev.format == SerialFormat::firmata) {
      firmata_[d] = std::make_unique<FirmataTable>();
    }
  }

  // Bindings are appended first and tables filled after, so that pointers
  // into bindings_ are never held while it grows.
  struct Pending {
    std::uint32_t device;
    SourceKind kind;
    std::string name;
    int number;
    std::uint32_t binding;  // MIDI mappings add bindings in between
  };
  std::vector<Pending> pending;

  for (const Mapping& m : config.map) {
    std::uint32_t dev = 0;
    for (; dev < config.devices.size(); ++dev)
      if (config.devices[dev].name == m.from.device) break;
    if (dev == config.devices.size()) continue;
    if (midi_[dev]) {
      add_midi_mapping(m, dev);
      continue;
    }
    if (firmata_[dev]) {
      add_firmata_mapping(m, dev);
      continue;
    }
    if (!lines_[dev]) continue;

    int lo = m.from.has_number ? m.from.lo : 0;
    int hi = m.from.has_number ? m.from.hi : 0;
    for (int n = lo; n <= hi; ++n) {
      Binding b = make_binding(m, n - lo, n, 0);
      b.edge_source = true;
      if (b.kind == Binding::Kind::control || b.kind == Binding::Kind::string) {
        ChannelType type = m.is_string ? ChannelType::string : ChannelType::control;
        if (m.from.kind == SourceKind::wildcard) {
          b.wildcard = true;
          b.to_template = m.to.empty() ? "{name}" : m.to;
        } else {
          std::string name = expand_template(m.to, b.i, n, 0, m.from.name);
          b.slot = add_channel(name, type, m);
        }
      }
      pending.push_back(
          {dev, m.from.kind, m.from.name, n, static_cast<std::uint32_t>(bindings_.size())});
      bindings_.push_back(std::move(b));
    }
  }

  for (const Pending& p : pending) {
    LinesTable& t = *lines_[p.device];
    const std::uint32_t bid = p.binding;
    switch (p.kind) {
      case SourceKind::named:
        t.by_name[p.name].push_back(bid);
        break;
      case SourceKind::positional:
        if (t.by_index.size() <= static_cast<std::size_t>(p.number))
          t.by_index.resize(p.number + 1);
        t.by_index[p.number].push_back(bid);
        break;
      case SourceKind::wildcard:
        t.wildcard.push_back(bid);
        break;
      default:
        break;
    }
  }
  for (auto& t : midi_)
    if (t) t->build();
  if (problems_.empty()) return;
  if (!problems) throw ConfigError(std::move(problems_));
  for (auto& d : problems_) problems->push_back(std::move(d));
  problems_.clear();
}

Router::~Router() = default;

void Router::add_midi_mapping(const Mapping& m, std::uint32_t device) {
  MidiTable& t = *midi_[device];
  const Source& src = m.from;
  const bool has_channel = source_kind_info(src.kind).has_channel;
  const bool param = src.kind == SourceKind::nrpn || src.kind == SourceKind::rpn;
  // One binding per channel only when the channel name or score event says
  // which channel; otherwise every channel writes the same one.
  const bool per_channel = has_channel && (expands(m.to, "ch") || expands(m.score, "ch"));
  // MIDI channels 0..15; a clock has none, and one key.
  const int ch_lo = has_channel ? src.midi_channel_lo : 0;
  const int ch_hi = has_channel ? src.midi_channel_hi : 0;
  const int lo = src.has_number ? src.lo : 0;
  const int hi = src.has_number ? src.hi : 0;

  auto add = [&](int n, int ch) {  // ch 0..15, or -1 for every channel in the filter
    const int written = ch + 1;    // as {ch} and the label say it: 1..16, 0 for none
    Binding b = make_binding(m, n - lo, n, written);
    b.label = midi_source_word(src.kind);
    if (src.has_number) b.label += " " + std::to_string(n);
    if (ch >= 0) b.label += " ch " + std::to_string(written);
    // (type: string is refused by the loader on MIDI sources: nothing routes to it)
    if (b.kind == Binding::Kind::control) {
      b.slot = add_channel(expand_template(m.to, b.i, n, written, {}), ChannelType::control, m);
    }
    auto id = static_cast<std::uint32_t>(bindings_.size());
    bindings_.push_back(std::move(b));
    for (int c = ch >= 0 ? ch : ch_lo; c <= (ch >= 0 ? ch : ch_hi); ++c) {
      if (param) {
        const bool rpn = src.kind == SourceKind::rpn;
        t.pending_params.emplace_back(param_key(rpn, c, n), id);
        (rpn ? t.rpn_channels : t.nrpn_channels) |= static_cast<std::uint16_t>(1u << c);
      } else
        t.pending_dense.emplace_back(dense_key(src.kind, c, n), id);
    }
  };

  for (int n = lo; n <= hi; ++n) {
    if (per_channel)
      for (int c = ch_lo; c <= ch_hi; ++c) add(n, c);
    else
      add(n, -1);
  }
}

void Router::add_firmata_mapping(const Mapping& m, std::uint32_t device) {
  FirmataTable& t = *firmata_[device];
  const bool analog = m.from.kind == SourceKind::analog;
  const int max = analog ? kFirmataAnalogPins : kFirmataDigitalPins;
  for (int n = m.from.lo; n <= m.from.hi && n < max; ++n) {
    Binding b = make_binding(m, n - m.from.lo, n, 0);
    b.edge_source = true;
    b.label = fmt::format("{}{}", analog ? 'A' : 'D', n);
    if (b.kind == Binding::Kind::control)
      b.slot = add_channel(expand_template(m.to, b.i, n, 0, {}), ChannelType::control, m);
    (analog ? t.analog : t.digital)[n].push_back(static_cast<std::uint32_t>(bindings_.size()));
    bindings_.push_back(std::move(b));
  }
}

void Router::on_firmata(std::uint32_t device, SourceKind kind, int pin, double raw,
                        std::int64_t t_ns, InputCounters& counters) {
  FirmataTable* t = device < firmata_.size() ? firmata_[device].get() : nullptr;
  if (!t) return;
  const bool analog = kind == SourceKind::analog;
  if ((!analog && kind != SourceKind::digital) || pin < 0 ||
      pin >= (analog ? kFirmataAnalogPins : kFirmataDigitalPins)) {
    ++counters.bad;
    return;
  }
  const std::vector<std::uint32_t>& ids = (analog ? t->analog : t->digital)[pin];
  int used = 0;
  for (std::uint32_t id : ids) {
    Binding& b = bindings_[id];
    used += route(b, raw, {}, true, b.label, device, t_ns) ? 1 : 0;
  }
  if (used > 0)
    ++counters.events;
  else if (!ids.empty())
    ++counters.bad;
  else
    ++counters.unmatched;
}

void Router::fire_score(const Binding& b, double value) {
  char buf[32];
  std::size_t len = format_shortest(value, buf);
  std::string ev =
      expand_template(score_templates_[b.score], b.i, b.n, b.ch, {}, std::string_view(buf, len));
  sink_.on_score(ev);
}

bool Router::route(Binding& b, double raw, std::string_view text, bool is_number,
                   std::string_view source, std::uint32_t device, std::int64_t t_ns) {
  if (b.kind != Binding::Kind::string && !is_number) return false;
  std::uint32_t slot = b.slot;
  if (b.wildcard) {
    auto it = b.wild_slots.find(source);
    if (it != b.wild_slots.end()) {
      slot = it->second;
    } else {
      if (!valid_channel_name(source)) return false;
      ChannelType type =
          b.kind == Binding::Kind::string ? ChannelType::string : ChannelType::control;
      bool room = b.wild_slots.size() < kMaxWildcardChannels;
      if (room) slot = channels_.add(expand_template(b.to_template, 0, 0, 0, source), type);
      if (!room || slot == kNoSlot) {
        ++wildcard_.refused;
        if (!b.wild_full) sink_.on_wildcard_full(device, b.to_template, room);
        b.wild_full = true;
        return false;
      }
      ++wildcard_.made;
      b.wild_slots.emplace(std::string(source), slot);
    }
  }

  switch (b.kind) {
    case Binding::Kind::string:
      channels_.set_string(slot, text, t_ns);
      sink_.on_routed(device, source, slot, NAN);
      return true;
    case Binding::Kind::control: {
      double v;
      if (b.mode == ValueMode::toggle) {
        // Flips between the range ends on each rise through 0.5.
        bool rise = !(b.prev >= 0.5) && raw >= 0.5;
        b.prev = raw;
        if (!rise) return true;
        b.toggled = !b.toggled;
        v = b.toggled ? b.scaler.out_hi : b.scaler.out_lo;
      } else {
        v = b.scaler.apply(raw);
      }
      if (!std::isfinite(v)) return false;
      channels_.set(slot, v, t_ns);
      sink_.on_routed(device, source, slot, v);
      return true;
    }
    case Binding::Kind::action:
    case Binding::Kind::score: {
      bool rise = !(b.prev >= 0.5) && raw >= 0.5;
      b.prev = raw;
      if (!rise) return true;
      if (b.kind == Binding::Kind::action)
        sink_.on_action(b.action);
      else
        fire_score(b, b.scaler.apply(raw));
      return true;
    }
  }
  return false;
}

bool Router::route_midi(Binding& b, const MidiEvent& e, std::uint32_t device, std::int64_t t_ns) {
  switch (b.kind) {
    case Binding::Kind::control: {
      double v;
      if (b.mode == ValueMode::toggle) {
        // Flips between the range ends on each note-on or rise through 64.
        if (!e.rise) return true;
        b.toggled = !b.toggled;
        v = b.toggled ? b.scaler.out_hi : b.scaler.out_lo;
      } else if (b.mode == ValueMode::gate) {
        v = gate_value(b.scaler, e.on);
      } else {
        v = b.scaler.apply(e.raw);
      }
      if (!std::isfinite(v)) return false;
      channels_.set(b.slot, v, t_ns);
      sink_.on_routed(device, b.label, b.slot, v);
      return true;
    }
    case Binding::Kind::action:
      if (e.rise) sink_.on_action(b.action);
      return true;
    case Binding::Kind::score:
      if (e.rise)
        fire_score(b,
                   b.mode == ValueMode::gate ? gate_value(b.scaler, e.on) : b.scaler.apply(e.raw));
      return true;
    case Binding::Kind::string:
      return false;
  }
  return false;
}

void Router::reset_port(std::uint32_t device, std::uint32_t port) {
  MidiTable* t = device < midi_.size() ? midi_[device].get() : nullptr;
  if (!t || port >= t->ports.size()) return;
  MidiTable::PortState& p = t->ports[port];
  for (auto& c : p.ch) c = MidiTable::ChannelState();
  std::fill(p.param_value.begin(), p.param_value.end(), 0);
  p.tick_count = 0;
}

void Router::on_midi(std::uint32_t device, const MidiMessage& m, std::int64_t t_ns,
                     InputCounters& counters, std::uint32_t port) {
  MidiTable* t = device < midi_.size() ? midi_[device].get() : nullptr;
  if (!t) return;
  MidiTable::PortState& ps = t->ports[port < t->ports.size() ? port : 0];
  if (!m.well_formed()) {
    ++counters.bad;
    return;
  }
  int offered = 0, used = 0;
  // A mapping is for the message though no value was routed (an nrpn select, a first tick).
  bool claimed = false;
  auto offer = [&](MidiTable::Span s, const MidiEvent& e) {
    for (std::uint32_t k = 0; k < s.count; ++k) {
      ++offered;
      used += route_midi(bindings_[t->ids[s.begin + k]], e, device, t_ns) ? 1 : 0;
    }
  };
  const int c = m.channel_index();  // 0..15 for channel voice messages
  const std::uint8_t d1 = m.data1(), d2 = m.data2();

  switch (m.type()) {
    case midi::kNoteOff:
    case midi::kNoteOn: {
      // Note-on with velocity 0 is a note-off (running status senders use it).
      const bool on = m.type() == midi::kNoteOn && d2 > 0;
      offer(t->dense[dense_key(SourceKind::note, c, d1)], {on ? double(d2) : 0.0, on, on});
      break;
    }
    case midi::kPolyTouch:
      offer(t->dense[dense_key(SourceKind::polytouch, c, d1)], {double(d2), false, d2 > 0});
      break;
    case midi::kControlChange: {
      MidiTable::ChannelState& s = ps.ch[c];
      // Rising through 64, or a first value at 64 or above (a first press).
      const bool rise = d2 >= 64 && (s.cc_last[d1] == kNoValue || s.cc_last[d1] < 64);
      s.cc_last[d1] = d2;
      offer(t->dense[dense_key(SourceKind::cc, c, d1)], {double(d2), rise, d2 >= 64});
      if (d1 < 32) {
        // A lone MSB moves the value too: a fader that sends only MSBs still works.
        s.cc14_msb[d1] = d2;
        offer(t->dense[dense_key(SourceKind::cc14, c, d1)],
              {double(d2 << 7 | s.cc14_lsb[d1]), false, true});
      } else if (d1 < 64) {
        s.cc14_lsb[d1 - 32] = d2;
        offer(t->dense[dense_key(SourceKind::cc14, c, d1 - 32)],
              {double(s.cc14_msb[d1 - 32] << 7 | d2), false, true});
      }
      switch (d1) {
        case 99:   // NRPN select MSB
        case 98:   // NRPN select LSB
        case 101:  // RPN select MSB
        case 100:  // RPN select LSB
          if (d1 == 99) s.nrpn_msb = d2;
          if (d1 == 98) s.nrpn_lsb = d2;
          if (d1 == 101) s.rpn_msb = d2;
          if (d1 == 100) s.rpn_lsb = d2;
          s.select = d1 >= 100 ? MidiTable::Select::rpn : MidiTable::Select::nrpn;
          t->select(ps, c);
          // Part of selecting a parameter some mapping is for (a select
          // takes two messages; the first may name an unmapped one).
          claimed = ((d1 >= 100 ? t->rpn_channels : t->nrpn_channels) >> c & 1) != 0;
          break;
        case 6:   // data entry MSB
        case 38:  // data entry LSB
        case 96:  // increment
        case 97:  // decrement
          if (s.param >= 0) {
            MidiTable::Param& p = t->params[s.param];
            unsigned v = ps.param_value[s.param];
            if (d1 == 6) v = static_cast<unsigned>(d2) << 7 | (v & 0x7F);
            if (d1 == 38) v = (v & 0x3F80) | d2;
            if (d1 == 96 && v < 16383) ++v;
            if (d1 == 97 && v > 0) --v;
            ps.param_value[s.param] = static_cast<std::uint16_t>(v);
            offer(p.span, {double(v), false, v > 0});
          }
          break;
        default:
          break;
      }
      break;
    }
    case midi::kProgramChange:
      offer(t->dense[dense_key(SourceKind::program, c, 0)], {double(d1), true, true});
      break;
    case midi::kChannelTouch:
      offer(t->dense[dense_key(SourceKind::aftertouch, c, 0)], {double(d1), false, d1 > 0});
      break;
    case midi::kPitchBend:
      offer(t->dense[dense_key(SourceKind::bend, c, 0)], {double(m.bend()), false, m.bend() != 0});
      break;
    case midi::kClock: {
      const MidiTable::Span s = t->dense[kClockKey];
      const double bpm = MidiTable::tick(ps, t_ns);
      if (bpm > 0) offer(s, {bpm, false, false});
      claimed = s.count > 0;
      break;
    }
    case midi::kStart:
    case midi::kContinue:
    case midi::kStop:
      // The clock starts over: the pause before a start is not an interval.
      ps.tick_count = 0;
      return;
    default:
      return;  // other system messages carry no source value
  }
  if (used > 0 || claimed)
    ++counters.events;
  else if (offered > 0)
    ++counters.bad;
  else
    ++counters.unmatched;
}

void Router::on_line(std::uint32_t device, std::string_view line, std::int64_t t_ns,
                     InputCounters& counters) {
  LinesTable* t = device < lines_.size() ? lines_[device].get() : nullptr;
  if (!t) return;
  LineProblems problems = parse_line(line, [&](const LineValue& v) {
    int offered = 0, used = 0;
    auto offer = [&](Binding& b, std::string_view source) {
      ++offered;
      used += route(b, v.number, v.text, v.is_number, source, device, t_ns) ? 1 : 0;
    };
    std::string_view name = v.name;
    if (v.kind == LineValue::Kind::positional) {
      // The source of a positional value is its index, as `from:` names it.
      char index[16];
      auto end = std::to_chars(index, index + sizeof index, v.index).ptr;
      std::string_view source(index, static_cast<std::size_t>(end - index));
      if (static_cast<std::size_t>(v.index) < t->by_index.size())
        for (std::uint32_t id : t->by_index[v.index]) offer(bindings_[id], source);
      if (static_cast<std::size_t>(v.index) < t->columns.size()) name = t->columns[v.index];
    }
    if (!name.empty()) {
      auto it = t->by_name.find(name);
      if (it != t->by_name.end()) {
        for (std::uint32_t id : it->second) {
          Binding& b = bindings_[id];
          // A trigger is a momentary press: from released, so each one fires.
          if (v.kind == LineValue::Kind::trigger) b.prev = 0;
          offer(b, name);
          if (v.kind == LineValue::Kind::trigger) b.prev = 0;
        }
      }
      if (v.kind != LineValue::Kind::trigger)
        for (std::uint32_t id : t->wildcard) offer(bindings_[id], name);
    }
    if (used > 0)
      ++counters.events;
    else if (offered > 0)
      ++counters.bad;
    else
      ++counters.unmatched;
  });
  if (problems.binary) ++counters.bad;
  counters.bad += static_cast<std::uint64_t>(problems.bad_tokens);
}

}  // namespace csb
