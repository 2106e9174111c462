#include "app/kept_values.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/text.hpp"

namespace csb {

using namespace std::chrono_literals;

KeptValues::KeptValues(boost::asio::io_context& io, ChannelTable& channels)
    : channels_(channels), timer_(io), store_(StateStore::default_dir()) {}

void KeptValues::start() {
  schedule();
}

void KeptValues::stop() {
  timer_.cancel();
  save(/*at_stop=*/true);
}

void KeptValues::restore() {
  if (!store_.enabled()) {
    spdlog::warn(
        "state: neither STATE_DIRECTORY, XDG_STATE_HOME nor HOME is set: channel values are "
        "not kept across restarts");
    return;
  }
  std::string error;
  StateStore::Values saved = store_.load(error);
  if (!error.empty()) spdlog::warn("state: {}", error);
  // Every name comes back, whichever config wrote it; oldest first, so the
  // table's order (and so the next save's) stays the order of writing.
  int restored = 0;
  std::int64_t t = steady_ns();
  kept_ = StateStore::Values::object();
  for (auto& [name, value] : saved.items()) {
    if (!valid_channel_name(name) || !(value.is_number() || value.is_string())) continue;
    if (value.is_number() && !std::isfinite(value.get<double>())) continue;
    ChannelType type = value.is_string() ? ChannelType::string : ChannelType::control;
    std::uint32_t slot = channels_.add(name, type);
    if (slot == kNoSlot) {
      kept_[name] = value;  // the other type now, or no room: kept in the file all the same
      continue;
    }
    if (type == ChannelType::control)
      channels_.set(slot, value.get<double>(), t);
    else
      channels_.set_string(slot, value.get<std::string>(), t);
    ++restored;
  }
  saved_arrival_ = t;
  spdlog::info("state: channel values are kept in {}; {} restored", store_.path(), restored);
}

void KeptValues::schedule() {
  if (!store_.enabled()) return;
  timer_.expires_after(1s);  // at most once a second
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    save();
    schedule();
  });
}

void KeptValues::save(bool at_stop) {
  if (!store_.enabled()) return;
  // What the writer thread could not write is reported once, and retried.
  std::string error = store_.last_error();
  if (error != error_) {
    if (!error.empty())
      spdlog::warn("state: {}; values are not kept until it can be written", error);
    else
      spdlog::info("state: {} written again", store_.path());
    error_ = error;
  }
  // Every channel a device, a wildcard mapping, `set` or the file before
  // wrote, oldest first: kept_ holds what the table could not take.
  std::vector<std::pair<std::int64_t, std::uint32_t>> written;
  std::int64_t latest = 0;
  for (std::uint32_t slot = 0; slot < channels_.size(); ++slot) {
    const ChannelSlot& s = channels_.at(slot);
    if (!s.has_value.load(std::memory_order_relaxed)) continue;
    std::int64_t t = s.arrival_ns.load(std::memory_order_relaxed);
    latest = std::max(latest, t);
    written.emplace_back(t, slot);
  }
  if (latest <= saved_arrival_ && error_.empty()) return;  // nothing new since
  std::sort(written.begin(), written.end());
  StateStore::Values values = StateStore::Values::object();
  bool whole = true;
  for (auto& [name, value] : kept_.items()) {
    std::uint32_t slot = channels_.find(name);
    if (slot == kNoSlot || !channels_.at(slot).has_value.load()) values[name] = value;
  }
  for (auto [t, slot] : written) {
    ChannelSlot& s = channels_.at(slot);
    if (s.type == ChannelType::control) {
      values[s.name] = s.value.load();
    } else {
      std::string text;
      if (channels_.try_copy_string(slot, text))
        values[s.name] = text;
      else
        whole = false;  // the performance thread holds it this instant: again next time
    }
  }
  // At most kMaxNames, the oldest dropped first.
  if (values.size() > StateStore::kMaxNames) {
    StateStore::Values newest = StateStore::Values::object();
    std::size_t skip = values.size() - StateStore::kMaxNames;
    for (auto& [name, value] : values.items())
      if (skip > 0)
        --skip;
      else
        newest[name] = value;
    values = std::move(newest);
    StateStore::Values still = StateStore::Values::object();
    for (auto& [name, value] : kept_.items())
      if (values.contains(name)) still[name] = value;
    kept_ = std::move(still);
  }
  if (whole) saved_arrival_ = latest;
  if (!at_stop) return store_.save_async(values);
  if (!store_.save(values, error))
    spdlog::warn("state: {}; the values of this run are not kept", error);
}

}  // namespace csb
