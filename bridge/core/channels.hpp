#pragma once
// The channel table: every Csound channel the bridge writes or watches, with
// the latest value of each. It is the hand-over between the event loop (which
// writes values as devices send them) and the performance thread (which
// applies them at the start of the next k-cycle): latest value wins, so a
// flood of one control costs one channel write per k-cycle.
//
// Threads: add()/find()/set()/set_string() on the loop thread only;
// pop_dirty(), take_overflow() and the `seen` values on the performance
// thread; reads of value/seen from any thread. Slots are never removed, and live as long as the
// table, so names and indices stay valid across Csound resets.

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/spin.hpp"
#include "core/spsc.hpp"

namespace csb {

/// Hash for string-keyed maps looked up by string_view without allocating.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

enum class ChannelType : std::uint8_t { control, string };

inline constexpr std::uint32_t kNoSlot = 0xffffffffu;
inline constexpr std::size_t kMaxStringValue = 1024;

struct ChannelSlot {
  std::string name;  ///< immutable once published
  /// Fixed once published, except for a watched slot: the performance thread
  /// gives it the type the orchestra's channel has, before `present`.
  std::atomic<ChannelType> type{ChannelType::control};
  /// Only watched (`get`, feedback): never created in Csound, read only if
  /// the orchestra has it.
  std::atomic<bool> watch_only{false};
  /// The performance thread found the channel in the running orchestra.
  std::atomic<bool> present{false};

  std::atomic<double> value{0.0};           ///< latest host-side value
  std::atomic<bool> has_value{false};       ///< a value was set: restore it on reset
  std::atomic<std::int64_t> arrival_ns{0};  ///< when `value` arrived (steady clock)
  std::atomic<bool> dirty{false};           ///< not yet written to Csound
  std::atomic<double> seen{NAN};            ///< the orchestra's value, copied each k-cycle

  // String values (string channels only): a tiny spinlock; the performance
  // thread only try-locks.
  SpinLock str_lock;
  std::size_t str_len = 0;
  std::unique_ptr<char[]> str;  ///< kMaxStringValue bytes, made when the slot is

  // The orchestra's text (string channels), copied now and then by the
  // performance thread, which only try-locks.
  mutable SpinLock seen_lock;
  std::size_t seen_len = 0;
  std::atomic<bool> seen_valid{false};  ///< seen_str holds the running orchestra's text
  std::unique_ptr<char[]> seen_str;     ///< kMaxStringValue bytes, made with `str`
};

class ChannelTable {
 public:
  /// The channels one config may make: its mappings, its feedback and the
  /// names its orchestra uses (`csbridge check` refuses more).
  static constexpr std::uint32_t kConfigChannels = 4096;
  /// The service's table: a config's channels, as many kept values again
  /// (every name values.json keeps, whatever config wrote it, is restored),
  /// and room for the names `get`, `set` and `*` make at run time.
  static constexpr std::uint32_t kCapacity = 2 * kConfigChannels + 1024;

  /// `capacity` up to kCapacity: a smaller table checks a config's share.
  explicit ChannelTable(std::uint32_t capacity = kCapacity)
      : slots_(new ChannelSlot[capacity]), capacity_(capacity) {}

  std::uint32_t capacity() const { return capacity_; }

  /// Loop thread. The slot of `name`, or kNoSlot.
  std::uint32_t find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? kNoSlot : it->second;
  }

  /// Loop thread. Finds or adds a channel; kNoSlot when the table is full or
  /// the name exists with the other type. `watch_only`: see ChannelSlot; an
  /// add without it makes a watched channel a full one.
  std::uint32_t add(std::string_view name, ChannelType type, bool watch_only = false) {
    std::uint32_t s = find(name);
    if (s != kNoSlot) {
      if (slots_[s].type.load(std::memory_order_acquire) != type) return kNoSlot;
      if (!watch_only) slots_[s].watch_only.store(false, std::memory_order_release);
      return s;
    }
    std::uint32_t n = size_.load(std::memory_order_relaxed);
    if (n == capacity_) return kNoSlot;
    slots_[n].name = std::string(name);
    slots_[n].type.store(type, std::memory_order_relaxed);
    slots_[n].watch_only.store(watch_only, std::memory_order_relaxed);
    // A watched name may turn out to be a string channel.
    if (type == ChannelType::string || watch_only) {
      slots_[n].str = std::make_unique<char[]>(kMaxStringValue);
      slots_[n].str[0] = '\0';
      slots_[n].seen_str = std::make_unique<char[]>(kMaxStringValue);
    }
    index_.emplace(slots_[n].name, n);
    size_.store(n + 1, std::memory_order_release);
    return n;
  }

  /// Any thread: slots [0, size()) are published.
  std::uint32_t size() const { return size_.load(std::memory_order_acquire); }
  ChannelSlot& at(std::uint32_t i) { return slots_[i]; }
  const ChannelSlot& at(std::uint32_t i) const { return slots_[i]; }

  /// Loop thread: a new control value (latest wins).
  void set(std::uint32_t i, double v, std::int64_t t_ns) {
    ChannelSlot& s = slots_[i];
    s.value.store(v, std::memory_order_relaxed);
    s.arrival_ns.store(t_ns, std::memory_order_relaxed);
    s.has_value.store(true, std::memory_order_relaxed);
    mark_dirty(i);
  }

  /// Loop thread: a new string value, truncated to kMaxStringValue - 1 bytes.
  void set_string(std::uint32_t i, std::string_view text, std::int64_t t_ns) {
    ChannelSlot& s = slots_[i];
    {
      std::lock_guard guard(s.str_lock);  // the performance thread only tries it
      s.str_len = std::min(text.size(), kMaxStringValue - 1);
      std::memcpy(s.str.get(), text.data(), s.str_len);
      s.str[s.str_len] = '\0';
    }
    s.arrival_ns.store(t_ns, std::memory_order_relaxed);
    s.has_value.store(true, std::memory_order_relaxed);
    mark_dirty(i);
  }

  /// Performance thread: the next slot marked dirty since the last call
  /// (a slot may come twice; its dirty flag says whether it still is).
  bool pop_dirty(std::uint32_t& i) { return dirty_ring_.pop(i); }
  /// Performance thread: true once after the dirty ring overflowed, so every
  /// slot must be looked at.
  bool take_overflow() { return overflow_.exchange(false, std::memory_order_acquire); }

  /// Copies a string value out under the lock, or returns false when the
  /// writer holds it (try again next k-cycle). Any thread.
  bool try_copy_string(std::uint32_t i, std::string& out) {
    ChannelSlot& s = slots_[i];
    std::unique_lock guard(s.str_lock, std::try_to_lock);
    if (!guard) return false;
    out.assign(s.str.get(), s.str_len);
    return true;
  }

  /// Performance thread: the text the orchestra's string channel holds, for
  /// `get`; skipped (false) when a reader holds the lock.
  bool store_seen_text(std::uint32_t i, std::string_view text) {
    ChannelSlot& s = slots_[i];
    if (!s.seen_str) return false;
    {
      std::unique_lock guard(s.seen_lock, std::try_to_lock);
      if (!guard) return false;
      s.seen_len = std::min(text.size(), kMaxStringValue - 1);
      std::memcpy(s.seen_str.get(), text.data(), s.seen_len);
    }
    s.seen_valid.store(true, std::memory_order_release);
    return true;
  }
  /// Loop thread: the orchestra's text, or false when none was seen (yet).
  /// The lock is held for a copy into the stack only.
  bool copy_seen_text(std::uint32_t i, std::string& out) const {
    const ChannelSlot& s = slots_[i];
    if (!s.seen_str || !s.seen_valid.load(std::memory_order_acquire)) return false;
    char buf[kMaxStringValue];
    std::size_t len;
    {
      std::lock_guard guard(s.seen_lock);
      len = s.seen_len;
      std::memcpy(buf, s.seen_str.get(), len);
    }
    out.assign(buf, len);
    return true;
  }
  /// Performance or control thread, at a reset: nothing seen in the new
  /// orchestra yet. Takes no lock.
  void forget_seen_text(std::uint32_t i) {
    slots_[i].seen_valid.store(false, std::memory_order_release);
  }

 private:
  /// Flags a slot for the performance thread: the value store happens
  /// before the flag (release), the flag before the index is queued.
  void mark_dirty(std::uint32_t i) {
    if (!slots_[i].dirty.exchange(true, std::memory_order_acq_rel) && !dirty_ring_.push(i))
      overflow_.store(true, std::memory_order_release);
  }

  std::unique_ptr<ChannelSlot[]> slots_;
  std::uint32_t capacity_;
  std::atomic<std::uint32_t> size_{0};
  // A slot is queued only when its flag goes up, so twice the capacity only
  // overflows when a reset cleared flags of queued slots many times over.
  SpscRing<std::uint32_t, std::bit_ceil(2 * kCapacity)> dirty_ring_;
  std::atomic<bool> overflow_{false};
  StringMap<std::uint32_t> index_;  // loop thread only
};

}  // namespace csb
