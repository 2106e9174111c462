#include "core/router.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

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
  int i = 0, n = 0, ch = 0;
  bool edge_source = false;  // do:/score: fire on a rise through 0.5 (lines values)
  double prev = NAN;
  bool toggled = false;

  // Wildcard bindings: channel template and the channels made so far.
  bool wildcard = false;
  std::string to_template;
  StringMap<std::uint32_t> wild_slots;
};

struct Router::LinesTable {
  StringMap<std::vector<std::uint32_t>> by_name;
  std::vector<std::vector<std::uint32_t>> by_index;
  std::vector<std::uint32_t> wildcard;
  std::vector<std::string> columns;
};

bool valid_channel_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(name[0])) return false;
  for (char c : name)
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-') return false;
  return true;
}

std::string expand_template(std::string_view tpl, int i, int n, int ch, std::string_view name,
                            std::string_view value) {
  std::string out;
  out.reserve(tpl.size() + 8);
  for (std::size_t p = 0; p < tpl.size(); ++p) {
    if (tpl[p] == '{') {
      std::size_t e = tpl.find('}', p);
      if (e != std::string_view::npos) {
        std::string_view key = tpl.substr(p + 1, e - p - 1);
        bool known = true;
        if (key == "i")
          out += std::to_string(i);
        else if (key == "n")
          out += std::to_string(n);
        else if (key == "ch")
          out += std::to_string(ch);
        else if (key == "name")
          out += name;
        else if (key == "value")
          out += value;
        else
          known = false;
        if (known) {
          p = e;
          continue;
        }
      }
    }
    out += tpl[p];
  }
  return out;
}

std::uint32_t Router::add_channel(const std::string& name, ChannelType type) {
  std::uint32_t s = channels_.add(name, type);
  if (s == kNoSlot)
    throw std::runtime_error(fmt::format(
        "channel '{}' cannot be added: the channel table is full or the name is already a {} "
        "channel",
        name, type == ChannelType::string ? "control" : "string"));
  return s;
}

Router::Router(const Config& config, ChannelTable& channels, RouterSink& sink)
    : channels_(channels), sink_(sink) {
  lines_.resize(config.devices.size());
  for (std::size_t d = 0; d < config.devices.size(); ++d) {
    const DeviceConfig& dev = config.devices[d];
    if (dev.kind == DeviceKind::serial && dev.format == SerialFormat::lines) {
      lines_[d] = std::make_unique<LinesTable>();
      lines_[d]->columns = dev.columns;
    }
  }

  // Bindings are appended first and tables filled after, so that pointers
  // into bindings_ are never held while it grows.
  struct Pending {
    std::uint32_t device;
    SourceKind kind;
    std::string name;
    int number;
  };
  std::vector<Pending> pending;

  for (const Mapping& m : config.map) {
    std::uint32_t dev = 0;
    for (; dev < config.devices.size(); ++dev)
      if (config.devices[dev].name == m.from.device) break;
    if (dev == config.devices.size() || !lines_[dev]) continue;  // MIDI/firmata: not routed here

    int lo = m.from.has_number ? m.from.lo : 0;
    int hi = m.from.has_number ? m.from.hi : 0;
    for (int n = lo; n <= hi; ++n) {
      Binding b;
      b.scaler = make_scaler(m);
      b.mode = m.value;
      b.i = n - lo;
      b.n = n;
      b.edge_source = true;
      if (m.action != Action::none) {
        b.kind = Binding::Kind::action;
        b.action = m.action;
      } else if (!m.score.empty()) {
        b.kind = Binding::Kind::score;
        b.score = static_cast<std::uint32_t>(score_templates_.size());
        score_templates_.push_back(m.score);
      } else {
        b.kind = m.is_string ? Binding::Kind::string : Binding::Kind::control;
        ChannelType type = m.is_string ? ChannelType::string : ChannelType::control;
        if (m.from.kind == SourceKind::wildcard) {
          b.wildcard = true;
          b.to_template = m.to.empty() ? "{name}" : m.to;
        } else {
          std::string name = expand_template(m.to, b.i, n, 0, m.from.name);
          b.slot = add_channel(name, type);
          mapped_.push_back(b.slot);
        }
      }
      pending.push_back({dev, m.from.kind, m.from.name, n});
      bindings_.push_back(std::move(b));
    }
  }

  for (std::size_t id = 0; id < pending.size(); ++id) {
    const Pending& p = pending[id];
    LinesTable& t = *lines_[p.device];
    auto bid = static_cast<std::uint32_t>(id);
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
}

Router::~Router() = default;

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
      if (b.wild_slots.size() >= kMaxWildcardChannels || !valid_channel_name(source)) return false;
      ChannelType type =
          b.kind == Binding::Kind::string ? ChannelType::string : ChannelType::control;
      slot = channels_.add(expand_template(b.to_template, 0, 0, 0, source), type);
      if (slot == kNoSlot) return false;
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
      if (static_cast<std::size_t>(v.index) < t->by_index.size())
        for (std::uint32_t id : t->by_index[v.index]) offer(bindings_[id], v.text);
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
