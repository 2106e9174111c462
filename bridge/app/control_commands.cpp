#include "app/control_commands.hpp"

#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "app/csd_watch.hpp"
#include "app/kept_values.hpp"
#include "app/performance.hpp"
#include "app/reloader.hpp"
#include "control/control_server.hpp"
#include "control/reply.hpp"
#include "core/clock.hpp"
#include "core/names.hpp"
#include "core/text.hpp"
#include "device/device_set.hpp"

namespace csb {

using json = nlohmann::json;
using namespace std::chrono_literals;

ControlCommands::ControlCommands(Parts parts)
    : p_(std::move(parts)), started_at_(std::chrono::steady_clock::now()) {}

json ControlCommands::channel_value(std::uint32_t slot) const {
  const ChannelSlot& s = p_.channels.at(slot);
  if (s.watch_only.load() && !s.present.load()) return nullptr;
  bool playing = p_.performance.playing();
  if (s.type == ChannelType::string) {
    // The text the orchestra sees, whoever wrote it (SPEC §6).
    std::string out;
    if (playing && p_.channels.copy_seen_text(slot, out)) return out;
    if (!s.has_value.load()) return nullptr;
    if (!const_cast<ChannelTable&>(p_.channels).try_copy_string(slot, out)) return nullptr;
    return out;
  }
  double seen = s.seen.load();
  if (playing && std::isfinite(seen)) return seen;
  if (s.has_value.load()) return s.value.load();
  return nullptr;
}

json ControlCommands::channels_json() const {
  json list = json::array();
  for (std::uint32_t i = 0; i < p_.channels.size(); ++i) {
    const ChannelSlot& s = p_.channels.at(i);
    if (s.watch_only.load() && !s.present.load()) continue;  // asked for, never found
    list.push_back({{"name", s.name},
                    {"type", s.type == ChannelType::string ? "string" : "control"},
                    {"value", channel_value(i)}});
  }
  return list;
}

json ControlCommands::status_json() const {
  const LatencyHistogram& lat = p_.engine.latency();
  auto us = [](std::int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::uint64_t bad = 0, overflow = 0;
  for (const auto& d : p_.devices.all()) {
    DeviceStats s = d->stats();
    bad += s.input.bad + s.decode_errors;
    overflow += s.queue_overflow;
  }
  json status = {
      {"ok", true},
      {"version", CSBRIDGE_VERSION},
      {"config", p_.config.path},
      {"uptime_s",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count()},
      {"csound", p_.performance.to_json()},
      {"reload", {{"reloads", p_.reloader.reloads()}, {"errors", p_.reloader.errors()}}},
      {"state_file", p_.values.path()},
      {"devices", p_.devices.to_json()},
      {"latency_us",
       {{"count", lat.count()},
        {"p50", us(lat.quantile_ns(0.5))},
        {"p90", us(lat.quantile_ns(0.9))},
        {"p99", us(lat.quantile_ns(0.99))},
        {"max", us(lat.max_ns())}}},
      {"dropped",
       {{"transient", p_.engine.dropped_transient()},
        {"csound_messages", p_.engine.dropped_messages()},
        {"bad_input", bad},
        {"midi_queue", overflow}}},
      {"feedback", {{"sent", p_.engine.feedback_sent()}, {"failed", p_.engine.feedback_failed()}}},
      {"limits", limits_json()},
  };
  status["csound"]["watch"] = p_.config.csound.watch;
  status["csound"]["watch_error"] = p_.watch.error();
  p_.devices.describe(status);
  status["midi"]["passed_to_csound"] = p_.engine.midi_passed();
  return status;
}

std::string ControlCommands::monitor_line(const std::string& device, std::string_view source,
                                          std::uint32_t slot, double value) const {
  const ChannelSlot& s = p_.channels.at(slot);
  json j{{"device", device}, {"source", source}, {"channel", s.name}};
  if (s.type == ChannelType::string)
    j["value"] = std::string(s.str.get(), s.str_len);
  else
    j["value"] = value;
  return reply_line(j);
}

json ControlCommands::limits_json() const {
  const WildcardCounters& wild = p_.router().wildcard_counters();
  return {{"channels", {{"used", p_.channels.size()}, {"max", ChannelTable::kCapacity}}},
          {"wildcard",
           {{"made", wild.made},
            {"refused", wild.refused},
            {"max_per_mapping", Router::kMaxWildcardChannels}}},
          {"watched", {{"used", watched_}, {"max", kMaxWatched}, {"refused", watch_refused_}}},
          {"set", {{"used", set_created_}, {"max", kMaxSetChannels}, {"refused", set_refused_}}}};
}

void ControlCommands::answer_get(const std::string& name, std::uint32_t slot, Reply reply,
                                 std::uint64_t after_sweep, int tries) {
  // Every 10 ms until the performance thread has looked the name up (a
  // watched name not found yet: looked for again), at most a second (a
  // paused or stopped performance never will).
  bool looked = p_.engine.looked_up_slots() > slot && p_.engine.watch_sweeps() >= after_sweep;
  if (!looked && tries < 100) {
    auto timer = std::make_shared<boost::asio::steady_timer>(p_.io, 10ms);
    timer->async_wait(
        [this, timer, name, slot, reply, after_sweep, tries](boost::system::error_code ec) {
          if (!ec) answer_get(name, slot, reply, after_sweep, tries + 1);
        });
    return;
  }
  if (!p_.channels.at(slot).present.load())
    return reply(error_reply(fmt::format("no channel '{}' in the orchestra", name)));
  reply(reply_line(json{{"ok", true}, {"name", name}, {"value", channel_value(slot)}}));
}

std::uint32_t ControlCommands::set_slot(const std::string& name, ChannelType type,
                                        const Reply& reply) {
  std::uint32_t slot = p_.channels.find(name);
  if (slot == kNoSlot) {
    if (!valid_channel_name(name)) {
      reply(error_reply(fmt::format("bad channel name '{}': {}", name, kChannelNameRule)));
      return kNoSlot;
    }
    // `set` may make channels, but not without bound.
    if (set_created_ >= kMaxSetChannels) {
      if (set_refused_++ == 0)
        spdlog::warn(
            "set made {} channels, its most: set of a new name is refused "
            "(status: limits.set)",
            kMaxSetChannels);
      reply(error_reply(
          fmt::format("no channel '{}', and {} made by set already", name, kMaxSetChannels)));
      return kNoSlot;
    }
    slot = p_.channels.add(name, type);
    if (slot == kNoSlot) {
      reply(error_reply("the channel table is full"));
      return kNoSlot;
    }
    ++set_created_;
    return slot;
  }
  if (p_.channels.at(slot).type != type) {
    reply(error_reply(
        fmt::format("'{}' is a {} channel", name,
                    p_.channels.at(slot).type == ChannelType::string ? "string" : "control")));
    return kNoSlot;
  }
  return p_.channels.add(name, type);  // a watched name becomes a full channel
}

void ControlCommands::handle(ControlSession& session, const std::string& line, Reply reply) {
  auto parsed = parse_command(line);
  if (auto* mistake = std::get_if<std::string>(&parsed)) return reply(error_reply(*mistake));
  const Command& c = std::get<Command>(parsed);
  auto ok = [&](json fields = json::object()) { reply(ok_reply(std::move(fields))); };

  switch (c.verb) {
    case Verb::status:
      return reply(reply_line(status_json()));
    case Verb::reset:
      p_.performance.reset("control socket");
      return ok();
    case Verb::pause:
      p_.performance.pause();
      return ok({{"state", p_.performance.state_name()}});
    case Verb::resume:
      p_.performance.resume();
      return ok({{"state", p_.performance.state_name()}});
    case Verb::devices:
      return ok({{"devices", p_.devices.to_json()}});
    case Verb::channels:
      return ok({{"channels", channels_json()}});
    case Verb::monitor:
      session.start_monitor();
      return ok({{"monitor", true}});
    case Verb::reload:
      return p_.reloader.reload("control socket", std::move(reply));
    case Verb::get:
      return get(c.name, std::move(reply));
    case Verb::set:
      return set(c, std::move(reply));
  }
}

void ControlCommands::get(const std::string& name, Reply reply) {
  std::uint32_t slot = p_.channels.find(name);
  if (slot != kNoSlot) {
    const ChannelSlot& s = p_.channels.at(slot);
    if (!s.watch_only.load() || s.present.load())
      return reply(reply_line(json{{"ok", true}, {"name", name}, {"value", channel_value(slot)}}));
    // Watched and not found so far: an instrument may have made it since.
    if (p_.performance.state() != Performance::State::running)
      return reply(error_reply(fmt::format("no channel '{}' in the orchestra", name)));
    return answer_get(name, slot, std::move(reply), p_.engine.watch_sweeps() + 2, 0);
  }
  if (!p_.performance.playing())
    return reply(
        error_reply(fmt::format("no channel '{}' known, and no performance to look in ({})", name,
                                p_.performance.state_name())));
  if (p_.performance.state() == Performance::State::paused)
    return reply(
        error_reply(fmt::format("no channel '{}' known, and paused: resume to look "
                                "in the orchestra",
                                name)));
  // Not known yet: watch it (never creating it in the orchestra) and answer
  // once the performance thread has looked for it.
  if (watched_ >= kMaxWatched) {
    if (watch_refused_++ == 0)
      spdlog::warn(
          "get looked for {} names the bridge did not know, its most: get of a new "
          "name is refused (status: limits.watched)",
          kMaxWatched);
    return reply(error_reply(
        fmt::format("no channel '{}' (and {} names asked for already)", name, kMaxWatched)));
  }
  slot = p_.channels.add(name, ChannelType::control, /*watch_only=*/true);
  if (slot == kNoSlot) return reply(error_reply("the channel table is full"));
  ++watched_;
  answer_get(name, slot, std::move(reply), 0, 0);
}

void ControlCommands::set(const Command& c, Reply reply) {
  std::int64_t t = steady_ns();
  if (c.text) {
    std::uint32_t slot = set_slot(c.name, ChannelType::string, reply);
    if (slot == kNoSlot) return;
    p_.channels.set_string(slot, *c.text, t);
    return reply(reply_line(json{{"ok", true}, {"name", c.name}, {"value", *c.text}}));
  }
  std::uint32_t slot = set_slot(c.name, ChannelType::control, reply);
  if (slot == kNoSlot) return;
  p_.channels.set(slot, *c.number, t);
  reply(reply_line(json{{"ok", true}, {"name", c.name}, {"value", *c.number}}));
}

}  // namespace csb
