#include "engine/engine.hpp"

// csound.hpp must come before csPerfThread.hpp (CSOUND_NOTES).
// clang-format off
#include <csound.hpp>
#include <csPerfThread.hpp>
#include <csound_type_system.h>
#include <cfgvar.h>
// clang-format on

#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/midi.hpp"
#include "core/spin.hpp"
#include "core/text.hpp"
#include "engine/message_lines.hpp"

namespace csb {

namespace {

using namespace std::chrono_literals;

/// Below JACK's own threads (its default is 70 on Debian's jackd2).
constexpr int kPerformancePriority = 60;

/// Raises the calling (performance) thread to SCHED_FIFO when the process is
/// allowed realtime priority (RLIMIT_RTPRIO, as the unit's LimitRTPRIO=
/// sets it); stays as it is, quietly, when not. Said once per process.
void raise_priority() {
  static std::atomic<bool> said{false};
  rlimit rl{};
  if (::getrlimit(RLIMIT_RTPRIO, &rl) != 0 || rl.rlim_cur == 0) {
    if (!said.exchange(true))
      spdlog::debug("csound: no realtime priority allowed (RLIMIT_RTPRIO 0); normal scheduling");
    return;
  }
  sched_param sp{};
  sp.sched_priority = static_cast<int>(std::min<rlim_t>(rl.rlim_cur, kPerformancePriority));
  int rc = ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &sp);
  if (!said.exchange(true)) {
    if (rc == 0)
      spdlog::info("csound: performance thread at realtime priority {} (SCHED_FIFO)",
                   sp.sched_priority);
    else
      spdlog::debug("csound: realtime priority refused ({}); normal scheduling", std::strerror(rc));
  }
}

/// One feedback entry, and how the performance reads its channel.
struct FeedbackChannel {
  FeedbackOutput out;
  // Performance thread only:
  bool found = false;          // looked up in the running orchestra
  MYFLT* ptr = nullptr;        // a control channel
  bool is_text = false;        // a string channel (read with csoundGetStringChannel)
  bool from_outvalue = false;  // the orchestra uses outvalue: ignore the bus
  double bus = NAN;            // the control value when last looked at
  std::string text;            // the string channel's text when last looked at

  FeedbackChannel(FeedbackBinding b, FeedbackCounters& counters) : out(std::move(b), counters) {
    text.reserve(kMaxStringValue);
  }
  const std::string& name() const { return out.binding().config.channel; }
};

enum class Want { none, start, quit };

bool contains_nocase(std::string_view text, std::string_view word) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  for (std::size_t i = 0; i + word.size() <= text.size(); ++i) {
    std::size_t k = 0;
    while (k < word.size() && lower(text[i + k]) == word[k]) ++k;
    if (k == word.size()) return true;
  }
  return false;
}

}  // namespace

/// The log level of one Csound line. Csound sends its banner and statistics
/// with the error attribute too, so errors are recognised by their words.
CsoundMessage::Level classify_message(int attr, std::string_view text,
                                      CsoundMessage::Level previous) {
  using L = CsoundMessage::Level;
  int type = attr & CSOUNDMSG_TYPE_MASK;
  // The lines after an error that say where it is: " from file x.csd (1), line 12:",
  // ">>>ky = kx +* <<<", "line 12:".
  if (previous == L::error) {
    std::size_t b = text.find_first_not_of(" \t");
    std::string_view t = b == std::string_view::npos ? std::string_view() : text.substr(b);
    if (t.rfind("from file", 0) == 0 || t.rfind(">>>", 0) == 0 || t.rfind("line ", 0) == 0 ||
        t.rfind("Line ", 0) == 0)
      return L::error;
  }
  if (type == CSOUNDMSG_WARNING || text.rfind("WARNING", 0) == 0) return L::warning;
  if (type == CSOUNDMSG_ORCH || type == CSOUNDMSG_STDOUT) return L::info;
  if (type == CSOUNDMSG_ERROR) {
    if (text.rfind("0 errors", 0) == 0) return L::debug;
    for (std::string_view w : {"error", "fail", "cannot", "can't", "unable", "not found", "invalid",
                               "illegal", "unexpected", "undefined", "no such"})
      if (contains_nocase(text, w)) return L::error;
  }
  return L::debug;
}

struct Engine::Impl {
  Engine* owner = nullptr;
  Listener listener;
  CSOUND* cs = nullptr;

  std::mutex mu;  // guards want and generation
  std::condition_variable cv;
  Want want = Want::none;
  std::uint64_t generation = 0;  // of the latest restart()
  std::thread control;

  // The loop never calls the performance thread: Csound's Stop/Pause/Play go
  // through a queue whose mutex Join() destroys, so a call racing the end of
  // a performance could lock a dead mutex. The loop raises these flags
  // instead, and the process callback acts on them on the thread itself.
  CsoundPerformanceThread* perf = nullptr;  // set before Play(), cleared after Join()
  std::atomic<bool> stop_wanted{false};
  std::atomic<bool> pause_wanted{false};
  std::mutex pause_mu;
  std::condition_variable pause_cv;

  /// Performance thread, before a k-cycle: stops or waits while paused when
  /// asked to; false when this k-cycle's work is to be skipped.
  bool obey_requests();

  Settings settings;
  std::vector<std::unique_ptr<FeedbackChannel>> feedback;
  /// What configure() asked for, taken by the control thread before the next
  /// start, when no performance runs (guarded by mu).
  struct Next {
    Settings settings;
    std::vector<FeedbackBinding> feedback;
  };
  std::unique_ptr<Next> next;

  // Performance-thread state (also touched by the control thread while no
  // performance runs; thread start and join order the two).
  std::vector<MYFLT*> slot_ptrs = std::vector<MYFLT*>(ChannelTable::kCapacity, nullptr);
  std::uint32_t known_slots = 0;
  bool first_cycle = true;
  std::int64_t cycle_start_ns = 0;
  std::string string_scratch;
  char score_text[256];
  std::uint64_t notes_on[16][2] = {};  // passthrough notes Csound holds on, by channel

  /// Csound's MIDI read callback: pending note-offs, then queued messages,
  /// whole ones only, at most n bytes. Performance thread.
  int read_midi(unsigned char* buf, int n);

  // Messages: written by whichever Csound thread prints (several with -j).
  SpinLock message_lock;
  MessageLines lines;
  bool fresh = true;  // csoundReset on a new instance only prints a bogus "end of score"
  bool capturing = false;
  bool quiet = false;           // every line goes to the log at debug level
  bool compile_failed = false;  // the last compile on this instance failed
  std::string captured_errors;
  std::string captured_tail;
  // outvalue may be called from Csound's worker threads (-j) too.
  SpinLock outvalue_lock;

  // Pacing under --audio null (see pace()).
  bool precise_pacing = false;
  bool pace_probed = false;         // the first quarter second was looked at
  std::int64_t pace_probe_ns = 0;   // when k-cycle 0 started
  std::int64_t pace_origin_ns = 0;  // when k-cycle 0 should start
  double period_ns = 0;
  std::int64_t cycle = 0;  // k-cycles performed in this performance

  /// Sleeps until k-cycle `cycle` is due; returns the time it starts.
  std::int64_t pace(std::int64_t now);
  void control_loop();
  bool start_performance(EngineEvent& ev);
  /// Resets (unless fresh), sets the host callbacks and compiles; Csound's result.
  int compile(bool null_audio);
  MYFLT* channel_ptr(ChannelSlot& s);
  void fetch_slot_ptrs();
  void apply_slot(std::uint32_t i, std::int64_t now, bool record_latency);
  void apply_channels(std::int64_t now, bool record_latency);
  void run_feedback(std::int64_t now);
  /// Looks a feedback channel up in the running orchestra, never creating it.
  void find_feedback_channel(FeedbackChannel& fb);
  /// Reads a string channel into `out` (performance thread, between k-cycles).
  void read_string_channel(const std::string& name, std::string& out);
  void message(int attr, const char* text);
  /// A line of the bridge's own for the log, handed over like Csound's. Any thread.
  void note(CsoundMessage::Level level, std::string_view text);
  /// note() for each line of `text`.
  void note_lines(CsoundMessage::Level level, std::string_view text);
};

// Csound's callbacks, with C linkage-compatible signatures.
struct EngineCallbacks {
  static int midi_open(CSOUND* cs, void** user, const char*) {
    *user = csoundGetHostData(cs);
    return 0;
  }
  static int midi_read(CSOUND*, void* user, unsigned char* buf, int n) {
    return user ? static_cast<Engine::Impl*>(user)->read_midi(buf, n) : 0;
  }
  static int midi_close(CSOUND*, void*) { return 0; }

  static void on_message(CSOUND* cs, int attr, const char* text) {
    auto* impl = static_cast<Engine::Impl*>(csoundGetHostData(cs));
    if (impl) impl->message(attr, text);
  }

  static void on_outvalue(CSOUND* cs, const char* name, void* value, const void* type) {
    auto* impl = static_cast<Engine::Impl*>(csoundGetHostData(cs));
    if (!impl || !name || !value) return;
    auto* t = static_cast<const CS_TYPE*>(type);
    // A string outvalue hands over the text itself (Csound's koutvalS).
    bool is_text = t && t->varTypeName && t->varTypeName[0] == 'S';
    double v = is_text ? NAN : *static_cast<MYFLT*>(value);
    std::string_view text = is_text ? std::string_view(static_cast<const char*>(value)) : "";
    std::int64_t now = steady_ns();
    std::lock_guard guard(impl->outvalue_lock);
    for (auto& fb : impl->feedback) {
      if (std::strcmp(fb->name().c_str(), name) != 0) continue;
      fb->from_outvalue = true;
      // `get` of the channel answers what outvalue sent, as for chnset.
      std::uint32_t slot = fb->out.binding().slot;
      ChannelTable& table = impl->owner->channels_;
      if (is_text) {
        fb->out.observe_text(text.substr(0, kMaxStringValue - 1), now);
        if (slot != kNoSlot && table.at(slot).type == ChannelType::string) {
          table.store_seen_text(slot, text);
          table.at(slot).present.store(true, std::memory_order_release);
        }
        continue;
      }
      fb->out.observe(v, now);
      if (slot != kNoSlot && table.at(slot).type == ChannelType::control) {
        table.at(slot).seen.store(v, std::memory_order_relaxed);
        table.at(slot).present.store(true, std::memory_order_release);
      }
    }
  }

  static void on_kcycle(void* data) {
    auto* impl = static_cast<Engine::Impl*>(data);
    Engine& e = *impl->owner;
    if (!impl->obey_requests()) return;
    if (impl->first_cycle) raise_priority();
    // The k-cycle before has just ended: its outputs leave now, before any
    // pacing sleep, not a k-period later.
    {
      std::lock_guard guard(impl->outvalue_lock);
      impl->run_feedback(steady_ns());
    }
    impl->first_cycle = false;
    std::int64_t now = impl->pace(steady_ns());
    // After a pause or a stall, values waited for the performance, not for a
    // k-cycle: they would only blur what the histogram is for.
    bool record_latency = impl->cycle_start_ns != 0 && now - impl->cycle_start_ns < 50'000'000;
    impl->cycle_start_ns = now;
    e.kcycles_.fetch_add(1, std::memory_order_relaxed);
    impl->apply_channels(now, record_latency);
    Engine::ScoreEvent ev;
    while (e.scores_.pop(ev)) {
      std::memcpy(impl->score_text, ev.text, ev.len);
      impl->score_text[ev.len] = '\0';
      csoundInputMessage(impl->cs, impl->score_text);
    }
    ++impl->cycle;
  }
};

int Engine::Impl::read_midi(unsigned char* buf, int n) {
  Engine& e = *owner;
  int used = 0;
  // The queue first: a note-off the loop could not queue came after
  // everything queued before it.
  while (const MidiMessage* m = e.midi_in_.front()) {
    if (used + m->size > n) return used;  // the rest at the next k-cycle
    std::memcpy(buf + used, m->data, m->size);
    used += m->size;
    const std::uint8_t type = m->type();
    if (type == midi::kNoteOn || type == midi::kNoteOff) {
      const int c = m->channel_index(), note = m->data1();
      const std::uint64_t bit = std::uint64_t{1} << (note % 64);
      if (type == midi::kNoteOn && m->data2() > 0)
        notes_on[c][note / 64] |= bit;
      else
        notes_on[c][note / 64] &= ~bit;
    }
    e.midi_in_.drop_front();
  }
  if (!e.any_pending_off_.exchange(false, std::memory_order_acq_rel)) return used;
  for (int c = 0; c < 16; ++c)
    for (int w = 0; w < 2; ++w) {
      std::uint64_t bits = e.pending_off_[c][w].exchange(0, std::memory_order_acq_rel);
      std::uint64_t sounding = bits & notes_on[c][w];
      while (sounding) {
        const int b = __builtin_ctzll(sounding);
        if (used + 3 > n) {  // no room: the rest at the next k-cycle
          e.pending_off_[c][w].fetch_or(sounding);
          e.any_pending_off_ = true;
          break;
        }
        sounding &= sounding - 1;
        notes_on[c][w] &= ~(std::uint64_t{1} << b);
        buf[used++] = static_cast<unsigned char>(midi::kNoteOff | c);
        buf[used++] = static_cast<unsigned char>(w * 64 + b);
        buf[used++] = 0;
      }
    }
  return used;
}

bool Engine::Impl::obey_requests() {
  if (pause_wanted.load(std::memory_order_acquire) && !stop_wanted.load()) {
    std::unique_lock lk(pause_mu);
    owner->paused_ = true;
    pause_cv.wait(lk, [&] { return !pause_wanted.load() || stop_wanted.load(); });
    owner->paused_ = false;
  }
  if (stop_wanted.load(std::memory_order_acquire)) {
    perf->Stop();  // from the thread itself: its queue is alive; it ends after this k-cycle
    return false;
  }
  return true;
}

std::int64_t Engine::Impl::pace(std::int64_t now) {
  if (!precise_pacing) {
    // A device that paces nothing (`-odac -n`: the options say dac, the
    // last flag says no sound): k-cycles come much faster than the clock.
    // Seen over the first quarter second, the bridge takes over the pacing.
    if (!settings.pace || pace_probed) return now;
    if (cycle == 0) pace_probe_ns = now;
    auto due = static_cast<std::int64_t>(static_cast<double>(cycle) * period_ns);
    if (due < 250'000'000) return now;
    pace_probed = true;
    if (now - pace_probe_ns >= due / 2) return now;
    char text[160];
    std::snprintf(text, sizeof text,
                  "the performance ran %lld k-cycles in %.0f ms: no audio device paces it, so "
                  "the bridge paces it to the clock",
                  static_cast<long long>(cycle), static_cast<double>(now - pace_probe_ns) / 1e6);
    note(CsoundMessage::Level::warning, text);
    precise_pacing = true;
    owner->self_paced_ = true;
    pace_origin_ns = now - due;
    return now;
  }
  if (cycle == 0) {
    // Linux lets a sleeping thread wake up to 50 µs late by default ("timer
    // slack"), a delay every event would wait out. This thread's wake-ups
    // are the pacing: make them exact.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  }
  // Csound's null audio module sleeps in whole milliseconds, so on its own
  // k-cycles of 1.33 ms start 1.07, 1.07, 1.07 and 2.1 ms apart and an event
  // may wait two k-periods. Sleeping here to each k-cycle's exact start keeps
  // every wait under one k-period.
  auto target = pace_origin_ns + static_cast<std::int64_t>(static_cast<double>(cycle) * period_ns);
  if (now - target > 50'000'000) {
    // Far behind (a pause, a stall): start a fresh schedule, no catch-up burst.
    pace_origin_ns = now - static_cast<std::int64_t>(static_cast<double>(cycle) * period_ns);
    return now;
  }
  if (target <= now) return now;
  timespec ts{static_cast<time_t>(target / 1'000'000'000),
              static_cast<long>(target % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
  return steady_ns();
}

void Engine::Impl::note(CsoundMessage::Level level, std::string_view text) {
  std::lock_guard guard(message_lock);
  CsoundMessage m;
  m.level = level;
  m.len = static_cast<std::uint16_t>(std::min(text.size(), sizeof m.text));
  std::memcpy(m.text, text.data(), m.len);
  if (!owner->messages_.push(m)) owner->dropped_messages_.fetch_add(1);
}

void Engine::Impl::message(int attr, const char* text) {
  std::lock_guard guard(message_lock);
  lines.feed(attr, text, [&](CsoundMessage::Level level, std::string_view line) {
    if (quiet) level = CsoundMessage::Level::debug;
    if (capturing) {
      (captured_tail += line) += '\n';
      if (captured_tail.size() > 2048) captured_tail.erase(0, captured_tail.size() - 2048);
      if (level == CsoundMessage::Level::error) {
        // Held back: a start that fails logs them once, with the failure
        // (see start_performance); one that works hands them on then.
        (captured_errors += line) += '\n';
        return;
      }
    }
    CsoundMessage m;
    m.level = level;
    m.len = static_cast<std::uint16_t>(std::min(line.size(), sizeof m.text));
    std::memcpy(m.text, line.data(), m.len);
    if (!owner->messages_.push(m)) owner->dropped_messages_.fetch_add(1);
  });
}

MYFLT* Engine::Impl::channel_ptr(ChannelSlot& s) {
  int type = s.type == ChannelType::string ? CSOUND_STRING_CHANNEL : CSOUND_CONTROL_CHANNEL;
  MYFLT* p = nullptr;
  if (s.watch_only.load(std::memory_order_acquire)) {
    // Type 0 only looks the channel up: a `get` never creates one. The slot
    // takes the type the orchestra gave its channel.
    int existing = csoundGetChannelPtr(cs, &p, s.name.c_str(), 0) & CSOUND_CHANNEL_TYPE_MASK;
    if (existing != CSOUND_CONTROL_CHANNEL && existing != CSOUND_STRING_CHANNEL) return nullptr;
    type = existing;
    s.type.store(type == CSOUND_STRING_CHANNEL ? ChannelType::string : ChannelType::control,
                 std::memory_order_release);
    if (csoundGetChannelPtr(cs, &p, s.name.c_str(), type) != 0) return nullptr;
  } else if (csoundGetChannelPtr(cs, &p, s.name.c_str(), type | CSOUND_INPUT_CHANNEL) != 0) {
    return nullptr;
  }
  s.present.store(true, std::memory_order_release);  // after its type
  return p;
}

void Engine::Impl::fetch_slot_ptrs() {
  ChannelTable& table = owner->channels_;
  std::uint32_t n = table.size();
  for (; known_slots < n; ++known_slots) {
    ChannelSlot& s = table.at(known_slots);
    s.present.store(false, std::memory_order_relaxed);
    table.forget_seen_text(known_slots);
    slot_ptrs[known_slots] = channel_ptr(s);
  }
  owner->looked_up_.store(known_slots, std::memory_order_release);
}

void Engine::Impl::apply_slot(std::uint32_t i, std::int64_t now, bool record_latency) {
  MYFLT* p = slot_ptrs[i];
  if (!p) return;  // stays dirty: applied once the orchestra has the channel
  ChannelSlot& s = owner->channels_.at(i);
  if (!s.dirty.load(std::memory_order_relaxed) ||
      !s.dirty.exchange(false, std::memory_order_acquire))
    return;
  if (s.type == ChannelType::control) {
    double v = s.value.load(std::memory_order_relaxed);
    *p = v;
    s.seen.store(v, std::memory_order_relaxed);
    if (record_latency) owner->latency_.add(now - s.arrival_ns.load(std::memory_order_relaxed));
  } else if (owner->channels_.try_copy_string(i, string_scratch)) {
    csoundSetStringChannel(cs, s.name.c_str(), string_scratch.data());
  } else {
    s.dirty.store(true, std::memory_order_relaxed);  // writer busy: the next sweep
  }
}

void Engine::Impl::apply_channels(std::int64_t now, bool record_latency) {
  fetch_slot_ptrs();
  ChannelTable& table = owner->channels_;
  std::uint32_t i;
  while (table.pop_dirty(i))
    if (i < known_slots) apply_slot(i, now, record_latency);
  // A sweep now and then (about 3 a second): channels the orchestra made
  // later (chnset at i-time), values that waited for them, busy strings, and
  // a dirty ring that overflowed.
  bool sweep = (cycle & 255) == 0;
  if (table.take_overflow() || sweep) {
    for (std::uint32_t k = 0; k < known_slots; ++k) {
      if (!slot_ptrs[k] && sweep) slot_ptrs[k] = channel_ptr(table.at(k));
      apply_slot(k, now, false);
    }
  }
  // What the orchestra did to its channels, for `get` and `channels`: every
  // 8 k-cycles (about 10 ms), not every one. Watched names it did not have
  // are looked for again as often: an instrument may have made them.
  if ((cycle & 7) == 0) {
    for (std::uint32_t k = 0; k < known_slots; ++k) {
      if (!slot_ptrs[k] && table.at(k).watch_only.load(std::memory_order_relaxed))
        slot_ptrs[k] = channel_ptr(table.at(k));
      if (!slot_ptrs[k]) continue;
      ChannelSlot& s = table.at(k);
      if (s.type == ChannelType::control) {
        s.seen.store(*slot_ptrs[k], std::memory_order_relaxed);
      } else {
        read_string_channel(s.name, string_scratch);
        table.store_seen_text(k, string_scratch);
      }
    }
    owner->watch_sweeps_.fetch_add(1, std::memory_order_release);
  }
}

void Engine::Impl::read_string_channel(const std::string& name, std::string& out) {
  // Sized from the channel itself: csoundGetStringChannel copies the whole
  // text (CSOUND_NOTES). Grows, and so allocates, only when the text does.
  int size = csoundGetChannelDatasize(cs, name.c_str());
  out.resize(static_cast<std::size_t>(std::max(size, 1)));
  out[0] = '\0';
  csoundGetStringChannel(cs, name.c_str(), out.data());
  out.resize(std::strlen(out.c_str()));
  if (out.size() >= kMaxStringValue) out.resize(kMaxStringValue - 1);
}

void Engine::Impl::find_feedback_channel(FeedbackChannel& fb) {
  MYFLT* p = nullptr;
  // Type 0 only looks: the orchestra makes the channel (chn_k, chn_S, or
  // chnset when an instrument starts), with the type it wants.
  int existing = csoundGetChannelPtr(cs, &p, fb.name().c_str(), 0);
  if (existing <= 0) return;
  fb.found = true;
  if ((existing & CSOUND_CHANNEL_TYPE_MASK) == CSOUND_STRING_CHANNEL) {
    if (fb.out.takes_text()) {
      fb.is_text = true;
    } else {
      note(CsoundMessage::Level::warning,
           fmt::format("feedback {} -> {}: '{}' is a string channel and MIDI feedback sends "
                       "numbers; nothing is sent",
                       fb.name(), fb.out.binding().config.device, fb.name()));
    }
  } else if ((existing & CSOUND_CHANNEL_TYPE_MASK) == CSOUND_CONTROL_CHANNEL &&
             csoundGetChannelPtr(cs, &p, fb.name().c_str(), CSOUND_CONTROL_CHANNEL) == 0) {
    fb.ptr = p;
  }
}

void Engine::Impl::run_feedback(std::int64_t now) {
  // A device that just reconnected gets every last value first, in order
  // with what follows.
  Engine::Resend r;
  while (owner->resends_.pop(r))
    for (auto& fb : feedback)
      if (fb->out.binding().port == r.port) fb->out.resend(r.to);
  // Channels the orchestra had not made yet (an instrument's chnset makes
  // its channel when it starts): looked for every k-cycle (a hash look-up),
  // so their first change goes out at once too.
  for (auto& fbp : feedback) {
    FeedbackChannel& fb = *fbp;
    if (!fb.found) {
      find_feedback_channel(fb);
      if (fb.found && !first_cycle) {
        // Made by an instrument since the start: its value is news.
        if (fb.ptr && !fb.from_outvalue) fb.out.observe(fb.bus = *fb.ptr, now);
        continue;
      }
    }
    if (fb.from_outvalue) {
      fb.out.flush(now);
    } else if (fb.ptr) {
      double v = *fb.ptr;
      if (first_cycle) {
        fb.bus = v;  // the bus before the orchestra ran: a baseline, not a change
      } else if (v != fb.bus) {
        fb.bus = v;
        fb.out.observe(v, now);
      } else {
        fb.out.flush(now);
      }
    } else if (fb.is_text) {
      read_string_channel(fb.name(), string_scratch);
      if (first_cycle) {
        fb.text = string_scratch;
      } else if (string_scratch != fb.text) {
        fb.text = string_scratch;
        fb.out.observe_text(fb.text, now);
      } else {
        fb.out.flush(now);
      }
    }
  }
}

int Engine::Impl::compile(bool null_audio) {
  if (!fresh) {
    // After a failed compile, the reset's "1 errors in performance" sums up
    // the failure already reported: not an error of its own.
    quiet = compile_failed;
    csoundReset(cs);
    quiet = false;
  }
  fresh = false;
  // csoundReset drops the host data's callbacks: set them again every time.
  csoundSetHostData(cs, this);
  csoundSetMessageStringCallback(cs, EngineCallbacks::on_message);
  csoundSetOutputChannelCallback(cs, EngineCallbacks::on_outvalue);
  if (settings.host_midi) {
    csoundSetHostImplementedMIDIIO(cs, 1);
    csoundSetExternalMidiInOpenCallback(cs, EngineCallbacks::midi_open);
    csoundSetExternalMidiReadCallback(cs, EngineCallbacks::midi_read);
    csoundSetExternalMidiInCloseCallback(cs, EngineCallbacks::midi_close);
  }

  std::vector<std::string> args{"csbridge", settings.csd};
  args.insert(args.end(), settings.options.begin(), settings.options.end());
  if (settings.host_midi) {
    // After the CSD's own options: MIDI input is the host's, whatever they say.
    args.emplace_back("-+rtmidi=hostbased");
    args.emplace_back("-M0");
  }
  if (null_audio) {
    args.emplace_back("-odac");
    args.emplace_back("-+rtaudio=null");
  }
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());

  captured_errors.clear();
  captured_tail.clear();
  capturing = true;
  // csoundCompile reads <CsOptions> first, then these arguments, then starts.
  int r = csoundCompile(cs, static_cast<int>(argv.size()), argv.data());
  pace_origin_ns = steady_ns();  // csoundStart opened the null module's clock just now
  capturing = false;
  compile_failed = r != 0;
  return r;
}

void Engine::Impl::note_lines(CsoundMessage::Level level, std::string_view text) {
  for_each_line(text, [&](std::string_view line) { note(level, line); });
}

bool Engine::Impl::start_performance(EngineEvent& ev) {
  bool null_audio = settings.audio_null;
  int r = compile(null_audio);
  auto errors = [&] {
    std::string e = !captured_errors.empty() ? captured_errors : captured_tail;
    while (!e.empty() && e.back() == '\n') e.pop_back();
    return e;
  };
  if (r != 0 && !null_audio) {
    // No sound card (yet): play on, paced by the clock, rather than not at
    // all. The next reset tries the sound card again.
    std::string e = errors();
    if (e.find("real time audio") != std::string::npos) {
      // The loop says it in one line; Csound's own account is for debugging.
      note_lines(CsoundMessage::Level::debug, captured_errors);
      null_audio = true;
      r = compile(true);
      if (r == 0) {
        ev.audio_fallback = true;
        ev.error = e;
      }
    }
  }
  if (r != 0) {
    // The loop logs these once, with the failure.
    ev.kind = EngineEvent::Kind::start_failed;
    ev.error = errors();
    if (ev.error.empty()) ev.error = "Csound could not compile or start " + settings.csd;
    return false;
  }
  // Errors Csound printed on a start that worked still belong in the log.
  note_lines(CsoundMessage::Level::error, captured_errors);

  ev.sr = csoundGetSr(cs);
  ev.kr = csoundGetKr(cs);
  ev.ksmps = static_cast<int>(csoundGetKsmps(cs));
  // Paced by a sound card only when the output is a real-time device of a
  // module other than null; otherwise (-n, a file, the null module, which
  // sleeps in whole milliseconds) the bridge paces k-cycles itself.
  const char* out = csoundGetOutputName(cs);
  const csCfgVariable_t* module = csoundQueryConfigurationVariable(cs, "rtaudio");
  bool device = !null_audio && out && std::strncmp(out, "dac", 3) == 0 && module &&
                module->h.type == CSOUNDCFG_STRING &&
                std::strcmp(reinterpret_cast<const char*>(module->s.p), "null") != 0;
  precise_pacing = settings.pace && !device;
  pace_probed = false;
  ev.self_paced = !device;
  owner->self_paced_ = !device;
  period_ns = 1e9 / ev.kr;
  // One k-period behind the null module's clock: it then never sleeps itself
  // (it always finds itself due), and each k-cycle costs one wake-up, as with
  // Csound alone, instead of two.
  pace_origin_ns += static_cast<std::int64_t>(period_ns);
  cycle = 0;
  cycle_start_ns = 0;
  controlChannelInfo_t* list = nullptr;
  int n = csoundListChannels(cs, &list);
  for (int i = 0; i < n && list; ++i)
    ev.channels.emplace_back(list[i].name,
                             (list[i].type & CSOUND_CHANNEL_TYPE_MASK) == CSOUND_STRING_CHANNEL);
  if (list) csoundDeleteChannelList(cs, list);

  for (auto& fb : feedback) {
    fb->found = fb->is_text = fb->from_outvalue = false;
    fb->ptr = nullptr;
    fb->bus = NAN;
    fb->text.clear();
    fb->out.restart();
  }

  // Channel pointers die with every reset: fetch them all again, and put
  // back the last value of every channel a device or `set` ever wrote.
  known_slots = 0;
  fetch_slot_ptrs();
  ChannelTable& table = owner->channels_;
  for (std::uint32_t i = 0; i < known_slots; ++i) {
    ChannelSlot& s = table.at(i);
    if (!slot_ptrs[i] || !s.has_value.load(std::memory_order_acquire)) continue;
    s.dirty.store(true, std::memory_order_relaxed);
    apply_slot(i, 0, false);
  }
  // Score events queued for the performance that ended never reach one.
  Engine::ScoreEvent stale;
  while (owner->scores_.pop(stale)) owner->dropped_transient_.fetch_add(1);
  // Resends queued meanwhile stay: a board that reconnected during the
  // reset gets its last values from the new performance's first k-cycle.
  // A new instance holds no notes: MIDI queued for the old one, and its
  // pending note-offs, are for nothing that sounds now.
  MidiMessage m;
  while (owner->midi_in_.pop(m)) owner->dropped_transient_.fetch_add(1);
  for (auto& c : owner->pending_off_)
    for (auto& w : c) w.store(0);
  owner->any_pending_off_ = false;
  std::memset(notes_on, 0, sizeof notes_on);
  first_cycle = true;
  return true;
}

void Engine::Impl::control_loop() {
  std::unique_lock lk(mu);
  for (;;) {
    cv.wait(lk, [&] { return want != Want::none; });
    if (want == Want::quit) return;
    want = Want::none;
    std::uint64_t gen = generation;
    if (next) {
      // No performance runs here: the last one was joined below.
      settings = std::move(next->settings);
      feedback.clear();
      for (auto& b : next->feedback)
        feedback.push_back(std::make_unique<FeedbackChannel>(std::move(b), owner->feedback_));
      next.reset();
    }
    lk.unlock();

    EngineEvent ev;
    ev.generation = gen;
    bool ok = start_performance(ev);
    lk.lock();
    if (want != Want::none) continue;  // asked again while compiling: that one wins
    // Cleared under mu, where restart() and shutdown() raise it: a request
    // made from here on stops the performance about to start.
    stop_wanted = false;
    lk.unlock();
    if (!ok) {
      listener(std::move(ev));
      lk.lock();
      continue;
    }
    perf = new CsoundPerformanceThread(cs);
    perf->SetProcessCallback(EngineCallbacks::on_kcycle, this);
    owner->paused_ = false;
    owner->running_ = true;
    perf->Play();
    ev.kind = EngineEvent::Kind::started;
    listener(std::move(ev));

    EngineEvent end;
    end.kind = EngineEvent::Kind::ended;
    end.generation = gen;
    end.status = perf->Join();  // until the score ends, an error, or stop_wanted
    end.requested = stop_wanted.load();
    delete perf;
    perf = nullptr;
    owner->running_ = false;
    owner->paused_ = false;
    listener(std::move(end));
    lk.lock();
  }
}

Engine::Engine(ChannelTable& channels, Listener listener)
    : impl_(std::make_unique<Impl>()), channels_(channels) {
  static const int init = csoundInitialize(CSOUNDINIT_NO_SIGNAL_HANDLER | CSOUNDINIT_NO_ATEXIT);
  (void)init;
  impl_->owner = this;
  impl_->listener = std::move(listener);
  impl_->lines.line.reserve(4096);
  impl_->string_scratch.reserve(kMaxStringValue);
  impl_->cs = csoundCreate(impl_.get());
  if (!impl_->cs) throw std::runtime_error("cannot create a Csound instance");
  csoundSetMessageStringCallback(impl_->cs, EngineCallbacks::on_message);
  impl_->control = std::thread([this] { impl_->control_loop(); });
}

Engine::~Engine() {
  shutdown();
  if (impl_->cs) csoundDestroy(impl_->cs);
}

void Engine::configure(Settings settings, std::vector<FeedbackBinding> feedback) {
  std::lock_guard lk(impl_->mu);
  impl_->next = std::make_unique<Impl::Next>(Impl::Next{std::move(settings), std::move(feedback)});
}

std::uint64_t Engine::restart() {
  std::uint64_t gen;
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->want == Want::quit) return impl_->generation;
    impl_->want = Want::start;
    impl_->stop_wanted = true;  // the running performance, if any, ends
    gen = ++impl_->generation;
    impl_->cv.notify_all();
  }
  wake_paused();
  return gen;
}

void Engine::shutdown() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->want = Want::quit;
    impl_->stop_wanted = true;
    impl_->cv.notify_all();
  }
  wake_paused();
  if (impl_->control.joinable()) impl_->control.join();
}

void Engine::wake_paused() {
  // A paused performance waits on pause_cv: let it see stop_wanted.
  std::lock_guard lk(impl_->pause_mu);
  impl_->pause_cv.notify_all();
}

void Engine::pause() {
  impl_->pause_wanted = true;
}

void Engine::resume() {
  std::lock_guard lk(impl_->pause_mu);
  impl_->pause_wanted = false;
  impl_->pause_cv.notify_all();
}

bool Engine::push_score(std::string_view event) {
  ScoreEvent ev;
  if (!running_ || impl_->pause_wanted || event.size() >= sizeof ev.text) {
    dropped_transient_.fetch_add(1);
    return false;
  }
  ev.len = static_cast<std::uint16_t>(event.size());
  std::memcpy(ev.text, event.data(), event.size());
  if (!scores_.push(ev)) {
    dropped_transient_.fetch_add(1);
    return false;
  }
  return true;
}

bool Engine::push_midi(const MidiMessage& m) {
  const std::uint8_t type = m.type();
  const bool note_off = type == midi::kNoteOff || (type == midi::kNoteOn && m.data2() == 0);
  if (!running_) {  // the next performance starts with no notes on
    dropped_transient_.fetch_add(1);
    return false;
  }
  // Note-offs queue even while paused, in order, into room nothing else may
  // take; other messages are transient and dropped while paused.
  if (note_off
          ? midi_in_.push(m)
          : !impl_->pause_wanted && midi_in_.free_slots() > kMidiOffReserve && midi_in_.push(m)) {
    midi_passed_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (note_off) {
    // Even that room is full: the performance thread ends the note when it
    // can, after what is queued.
    const int c = m.channel_index(), note = m.data1();
    pending_off_[c][note / 64].fetch_or(std::uint64_t{1} << (note % 64));
    any_pending_off_ = true;
  }
  dropped_transient_.fetch_add(1);
  return false;
}

void Engine::resend_feedback(FeedbackPort* port, FeedbackPort* to) {
  // While a performance runs its thread sends, in order with its own sends
  // (a paused one when it resumes). With 64 resends already waiting, this
  // one goes out from here, out of order with the performance's sends.
  if (running_ && resends_.push({port, to})) return;
  // mu: the control thread replaces the entries under it.
  std::lock_guard lk(impl_->mu);
  for (auto& fb : impl_->feedback)
    if (fb->out.binding().port == port) fb->out.resend(to);
}

}  // namespace csb
