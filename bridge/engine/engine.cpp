#include "engine/engine.hpp"

// csound.hpp must come before csPerfThread.hpp (CSOUND_NOTES).
// clang-format off
#include <csound.hpp>
#include <csPerfThread.hpp>
#include <csound_type_system.h>
// clang-format on

#include <time.h>

#include <cerrno>

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "core/text.hpp"

namespace csb {

namespace {

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// A `line:` template split once into pieces, formatted without allocating.
struct LineTemplate {
  enum class Piece : std::uint8_t { text, value, name };
  std::vector<std::pair<Piece, std::string>> pieces;

  explicit LineTemplate(const std::string& tpl) {
    std::string text;
    for (std::size_t p = 0; p < tpl.size(); ++p) {
      if (tpl.compare(p, 7, "{value}") == 0) {
        flush(text);
        pieces.emplace_back(Piece::value, "");
        p += 6;
      } else if (tpl.compare(p, 6, "{name}") == 0) {
        flush(text);
        pieces.emplace_back(Piece::name, "");
        p += 5;
      } else {
        text += tpl[p];
      }
    }
    text += '\n';
    flush(text);
  }
  void flush(std::string& text) {
    if (!text.empty()) pieces.emplace_back(Piece::text, std::move(text));
    text.clear();
  }

  /// Writes the line into buf (cap bytes); returns its length, 0 if it does not fit.
  std::size_t format(double v, const std::string& name, char* buf, std::size_t cap) const {
    std::size_t len = 0;
    for (const auto& [kind, text] : pieces) {
      char num[32];
      const char* src = text.data();
      std::size_t n = text.size();
      if (kind == Piece::value) {
        n = format_shortest(v, num);
        src = num;
      } else if (kind == Piece::name) {
        src = name.data();
        n = name.size();
      }
      if (len + n > cap) return 0;
      std::memcpy(buf + len, src, n);
      len += n;
    }
    return len;
  }
};

struct FeedbackState {
  FeedbackBinding binding;
  LineTemplate tpl;
  std::int64_t interval_ns = 0;
  // Performance thread only:
  MYFLT* ptr = nullptr;
  double last_seen = NAN;
  std::int64_t last_send_ns = 0;
  bool pending = false;
  bool from_outvalue = false;  // the orchestra uses outvalue: ignore the bus
  // Written by the performance thread, read by the loop for resends:
  std::atomic<double> last_sent{NAN};

  explicit FeedbackState(FeedbackBinding b)
      : binding(std::move(b)),
        tpl(binding.config.line),
        interval_ns(binding.config.rate > 0 ? static_cast<std::int64_t>(1e9 / binding.config.rate)
                                            : 0) {}
};

enum class Want { none, start, stop, quit };

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

namespace {}  // namespace

struct Engine::Impl {
  Engine* owner = nullptr;
  Listener listener;
  CSOUND* cs = nullptr;
  CsoundPerformanceThread* perf = nullptr;  // guarded by mu (null while none runs)

  std::mutex mu;
  std::condition_variable cv;
  Want want = Want::none;
  bool stop_requested = false;
  std::thread control;

  Settings settings;
  std::vector<std::unique_ptr<FeedbackState>> feedback;

  // Performance-thread state (also touched by the control thread while no
  // performance runs; thread start and join order the two).
  std::vector<MYFLT*> slot_ptrs = std::vector<MYFLT*>(ChannelTable::kCapacity, nullptr);
  std::uint32_t known_slots = 0;
  bool first_cycle = true;
  std::string string_scratch;
  char score_text[256];

  // Message assembly (one Csound thread at a time writes messages).
  std::string line;
  int line_attr = 0;
  CsoundMessage::Level prev_level = CsoundMessage::Level::debug;
  bool fresh = true;  // csoundReset on a new instance only prints a bogus "end of score"
  bool capturing = false;
  std::string captured_errors;
  std::string captured_tail;

  // Pacing under --audio null (see pace()).
  bool precise_pacing = false;
  std::int64_t pace_origin_ns = 0;  // when k-cycle 0 should start
  double period_ns = 0;
  std::int64_t cycle = 0;  // k-cycles performed in this performance

  /// Sleeps until k-cycle `cycle` is due; returns the time it starts.
  std::int64_t pace(std::int64_t now);
  void control_loop();
  bool start_performance(EngineEvent& ev);
  MYFLT* channel_ptr(ChannelSlot& s);
  void fetch_slot_ptrs();
  void apply_channels(std::int64_t now);
  void run_feedback(std::int64_t now);
  void observe(FeedbackState& fb, double v, std::int64_t now);
  void send(FeedbackState& fb, double v, std::int64_t now);
  void message(int attr, const char* text);
};

// Csound's callbacks, with C linkage-compatible signatures.
struct EngineCallbacks {
  static void on_message(CSOUND* cs, int attr, const char* text) {
    auto* impl = static_cast<Engine::Impl*>(csoundGetHostData(cs));
    if (impl) impl->message(attr, text);
  }

  static void on_outvalue(CSOUND* cs, const char* name, void* value, const void* type) {
    auto* impl = static_cast<Engine::Impl*>(csoundGetHostData(cs));
    if (!impl || !name || !value) return;
    auto* t = static_cast<const CS_TYPE*>(type);
    if (t && t->varTypeName && t->varTypeName[0] == 'S') return;
    double v = *static_cast<MYFLT*>(value);
    std::int64_t now = now_ns();
    for (auto& fb : impl->feedback) {
      if (std::strcmp(fb->binding.config.channel.c_str(), name) != 0) continue;
      fb->from_outvalue = true;
      impl->observe(*fb, v, now);
      if (fb->binding.slot != kNoSlot)
        impl->owner->channels_.at(fb->binding.slot).seen.store(v, std::memory_order_relaxed);
    }
  }

  static void on_kcycle(void* data) {
    auto* impl = static_cast<Engine::Impl*>(data);
    Engine& e = *impl->owner;
    // The k-cycle before has just ended: its outputs leave now, before any
    // pacing sleep, not a k-period later.
    impl->run_feedback(now_ns());
    impl->first_cycle = false;
    std::int64_t now = impl->pace(now_ns());
    e.last_kcycle_ns_.store(now, std::memory_order_relaxed);
    e.kcycles_.fetch_add(1, std::memory_order_relaxed);
    impl->apply_channels(now);
    Engine::ScoreEvent ev;
    while (e.scores_.pop(ev)) {
      std::memcpy(impl->score_text, ev.text, ev.len);
      impl->score_text[ev.len] = '\0';
      csoundInputMessage(impl->cs, impl->score_text);
    }
    ++impl->cycle;
  }
};

std::int64_t Engine::Impl::pace(std::int64_t now) {
  if (!precise_pacing) return now;
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
  return now_ns();
}

void Engine::Impl::message(int attr, const char* text) {
  if (line.empty()) line_attr = attr;
  for (const char* p = text; *p; ++p) {
    if (*p != '\n') {
      if (line.size() < 4096) line += *p;
      continue;
    }
    CsoundMessage::Level line_level = classify_message(line_attr, line, prev_level);
    prev_level = line_level;
    if (capturing) {
      if (line_level == CsoundMessage::Level::error) captured_errors += line + "\n";
      captured_tail += line + "\n";
      if (captured_tail.size() > 2048) captured_tail.erase(0, captured_tail.size() - 2048);
    }
    CsoundMessage m;
    m.level = line_level;
    m.len = static_cast<std::uint16_t>(std::min(line.size(), sizeof m.text));
    std::memcpy(m.text, line.data(), m.len);
    if (!owner->messages_.push(m)) owner->dropped_messages_.fetch_add(1);
    line.clear();
  }
}

MYFLT* Engine::Impl::channel_ptr(ChannelSlot& s) {
  int type = s.type == ChannelType::string ? CSOUND_STRING_CHANNEL : CSOUND_CONTROL_CHANNEL;
  MYFLT* p = nullptr;
  if (s.watch_only.load(std::memory_order_acquire)) {
    // Type 0 only looks the channel up: a `get` never creates one.
    int existing = csoundGetChannelPtr(cs, &p, s.name.c_str(), 0);
    if (existing <= 0 || (existing & CSOUND_CHANNEL_TYPE_MASK) != type) return nullptr;
    if (csoundGetChannelPtr(cs, &p, s.name.c_str(), type) != 0) return nullptr;
  } else if (csoundGetChannelPtr(cs, &p, s.name.c_str(), type | CSOUND_INPUT_CHANNEL) != 0) {
    return nullptr;
  }
  s.present.store(true, std::memory_order_relaxed);
  return p;
}

void Engine::Impl::fetch_slot_ptrs() {
  ChannelTable& table = owner->channels_;
  std::uint32_t n = table.size();
  for (; known_slots < n; ++known_slots) {
    ChannelSlot& s = table.at(known_slots);
    s.present.store(false, std::memory_order_relaxed);
    slot_ptrs[known_slots] = channel_ptr(s);
  }
  // Channels the orchestra makes later (chnset at i-time) are looked for again
  // now and then; a hash lookup each, a few times a second.
  if ((cycle & 255) == 0)
    for (std::uint32_t i = 0; i < known_slots; ++i)
      if (!slot_ptrs[i]) slot_ptrs[i] = channel_ptr(table.at(i));
}

void Engine::Impl::apply_channels(std::int64_t now) {
  fetch_slot_ptrs();
  ChannelTable& table = owner->channels_;
  for (std::uint32_t i = 0; i < known_slots; ++i) {
    MYFLT* p = slot_ptrs[i];
    if (!p) continue;
    ChannelSlot& s = table.at(i);
    bool dirty = s.dirty.load(std::memory_order_relaxed) &&
                 s.dirty.exchange(false, std::memory_order_acquire);
    if (s.type == ChannelType::control) {
      if (dirty) {
        *p = s.value.load(std::memory_order_relaxed);
        if (now) owner->latency_.add(now - s.arrival_ns.load(std::memory_order_relaxed));
      }
      s.seen.store(*p, std::memory_order_relaxed);
    } else if (dirty) {
      if (table.try_copy_string(i, string_scratch))
        csoundSetStringChannel(cs, s.name.c_str(), string_scratch.data());
      else
        s.dirty.store(true, std::memory_order_relaxed);  // writer busy: next k-cycle
    }
  }
}

void Engine::Impl::send(FeedbackState& fb, double v, std::int64_t now) {
  char buf[512];
  std::size_t len = fb.tpl.format(v, fb.binding.config.channel, buf, sizeof buf);
  bool ok = len > 0 && fb.binding.port && fb.binding.port->try_send(buf, len);
  (ok ? owner->feedback_sent_ : owner->feedback_failed_).fetch_add(1, std::memory_order_relaxed);
  // Kept even when not written: it is sent again when the device reconnects.
  fb.last_sent.store(v, std::memory_order_relaxed);
  fb.last_send_ns = now;
  fb.pending = false;
}

void Engine::Impl::observe(FeedbackState& fb, double v, std::int64_t now) {
  fb.last_seen = v;
  if (v == fb.last_sent.load(std::memory_order_relaxed)) {
    fb.pending = false;
    return;
  }
  if (fb.interval_ns > 0 && now - fb.last_send_ns < fb.interval_ns) {
    fb.pending = true;  // sent when the rate allows, at a later k-cycle
    return;
  }
  send(fb, v, now);
}

void Engine::Impl::run_feedback(std::int64_t now) {
  for (auto& fbp : feedback) {
    FeedbackState& fb = *fbp;
    if (!fb.from_outvalue && fb.ptr) {
      double v = *fb.ptr;
      if (first_cycle && std::isnan(fb.last_sent.load(std::memory_order_relaxed))) {
        fb.last_seen = v;  // the bus before the orchestra ran: a baseline, not a change
      } else if (v != fb.last_seen || fb.pending) {
        observe(fb, v, now);
      }
    } else if (fb.pending && now - fb.last_send_ns >= fb.interval_ns) {
      send(fb, fb.last_seen, now);
    }
  }
}

bool Engine::Impl::start_performance(EngineEvent& ev) {
  if (!fresh) csoundReset(cs);
  fresh = false;
  // csoundReset drops the host data's callbacks: set them again every time.
  csoundSetHostData(cs, this);
  csoundSetMessageStringCallback(cs, EngineCallbacks::on_message);
  csoundSetOutputChannelCallback(cs, EngineCallbacks::on_outvalue);

  std::vector<std::string> args{"csbridge", settings.csd};
  args.insert(args.end(), settings.options.begin(), settings.options.end());
  if (settings.audio_null) {
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
  pace_origin_ns = now_ns();  // csoundStart opened the null module's clock just now
  capturing = false;
  if (r != 0) {
    ev.kind = EngineEvent::Kind::start_failed;
    ev.error = !captured_errors.empty() ? captured_errors : captured_tail;
    while (!ev.error.empty() && ev.error.back() == '\n') ev.error.pop_back();
    if (ev.error.empty()) ev.error = "Csound could not compile or start " + settings.csd;
    return false;
  }

  ev.sr = csoundGetSr(cs);
  ev.kr = csoundGetKr(cs);
  ev.ksmps = static_cast<int>(csoundGetKsmps(cs));
  precise_pacing = settings.audio_null;
  period_ns = 1e9 / ev.kr;
  // One k-period behind the null module's clock: it then never sleeps itself
  // (it always finds itself due), and each k-cycle costs one wake-up, as with
  // Csound alone, instead of two.
  pace_origin_ns += static_cast<std::int64_t>(period_ns);
  cycle = 0;
  controlChannelInfo_t* list = nullptr;
  int n = csoundListChannels(cs, &list);
  for (int i = 0; i < n && list; ++i)
    ev.channels.emplace_back(list[i].name,
                             (list[i].type & CSOUND_CHANNEL_TYPE_MASK) == CSOUND_STRING_CHANNEL);
  if (list) csoundDeleteChannelList(cs, list);

  for (auto& fb : feedback) {
    fb->ptr = nullptr;
    MYFLT* p = nullptr;
    if (csoundGetChannelPtr(cs, &p, fb->binding.config.channel.c_str(),
                            CSOUND_CONTROL_CHANNEL | CSOUND_OUTPUT_CHANNEL) == 0)
      fb->ptr = p;
    fb->from_outvalue = false;
    fb->pending = false;
    fb->last_seen = NAN;
  }

  // Channel pointers die with every reset: fetch them all again, and put
  // back the last value of every channel a device or `set` ever wrote.
  known_slots = 0;
  fetch_slot_ptrs();
  ChannelTable& table = owner->channels_;
  for (std::uint32_t i = 0; i < known_slots; ++i) {
    ChannelSlot& s = table.at(i);
    if (!slot_ptrs[i] || !s.has_value.load(std::memory_order_acquire)) continue;
    s.dirty.exchange(false, std::memory_order_acquire);
    if (s.type == ChannelType::control) {
      *slot_ptrs[i] = s.value.load(std::memory_order_relaxed);
    } else if (table.try_copy_string(i, string_scratch)) {
      csoundSetStringChannel(cs, s.name.c_str(), string_scratch.data());
    } else {
      s.dirty.store(true);
    }
  }
  owner->scores_.clear();
  first_cycle = true;
  return true;
}

void Engine::Impl::control_loop() {
  std::unique_lock lk(mu);
  for (;;) {
    cv.wait(lk, [&] { return want != Want::none; });
    if (want == Want::quit) return;
    if (want == Want::stop) {
      want = Want::none;
      continue;
    }
    want = Want::none;
    stop_requested = false;
    lk.unlock();

    EngineEvent ev;
    bool ok = start_performance(ev);
    if (!ok) {
      listener(std::move(ev));
      lk.lock();
      continue;
    }
    auto* thread = new CsoundPerformanceThread(cs);
    thread->SetProcessCallback(EngineCallbacks::on_kcycle, this);
    lk.lock();
    perf = thread;
    owner->paused_ = false;
    if (want != Want::none) {
      stop_requested = true;  // asked to stop or restart while compiling
      thread->Stop();
    } else {
      thread->Play();
    }
    owner->running_ = true;
    lk.unlock();
    ev.kind = EngineEvent::Kind::started;
    listener(std::move(ev));

    int status = thread->Join();
    lk.lock();
    perf = nullptr;
    owner->running_ = false;
    owner->paused_ = false;
    delete thread;
    EngineEvent end;
    end.kind = EngineEvent::Kind::ended;
    end.status = status;
    end.requested = stop_requested;
    lk.unlock();
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
  impl_->line.reserve(4096);
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
  impl_->settings = std::move(settings);
  impl_->feedback.clear();
  for (auto& b : feedback) impl_->feedback.push_back(std::make_unique<FeedbackState>(std::move(b)));
}

void Engine::restart() {
  std::lock_guard lk(impl_->mu);
  if (impl_->want == Want::quit) return;
  impl_->want = Want::start;
  if (impl_->perf) {
    impl_->stop_requested = true;
    impl_->perf->Stop();
  }
  impl_->cv.notify_all();
}

void Engine::stop() {
  std::lock_guard lk(impl_->mu);
  if (impl_->want == Want::quit) return;
  impl_->want = Want::stop;
  if (impl_->perf) {
    impl_->stop_requested = true;
    impl_->perf->Stop();
  }
  impl_->cv.notify_all();
}

void Engine::shutdown() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->want = Want::quit;
    if (impl_->perf) {
      impl_->stop_requested = true;
      impl_->perf->Stop();
    }
    impl_->cv.notify_all();
  }
  if (impl_->control.joinable()) impl_->control.join();
}

void Engine::pause() {
  std::lock_guard lk(impl_->mu);
  if (!impl_->perf) return;
  impl_->perf->Pause();
  paused_ = true;
}

void Engine::resume() {
  std::lock_guard lk(impl_->mu);
  if (!impl_->perf) return;
  impl_->perf->Play();
  paused_ = false;
}

bool Engine::push_score(std::string_view event) {
  ScoreEvent ev;
  if (!running_ || paused_ || event.size() >= sizeof ev.text) {
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

void Engine::resend_feedback(FeedbackPort* port, FeedbackPort* to) {
  std::lock_guard lk(impl_->mu);
  for (auto& fb : impl_->feedback) {
    if (fb->binding.port != port) continue;
    double v = fb->last_sent.load(std::memory_order_relaxed);
    if (std::isnan(v)) continue;
    char buf[512];
    std::size_t len = fb->tpl.format(v, fb->binding.config.channel, buf, sizeof buf);
    bool ok = len > 0 && to->try_send(buf, len);
    (ok ? feedback_sent_ : feedback_failed_).fetch_add(1, std::memory_order_relaxed);
  }
}

std::int64_t Engine::kcycle_age_ns() const {
  if (!running_ || paused_) return -1;
  return now_ns() - last_kcycle_ns_.load(std::memory_order_relaxed);
}

namespace {
struct CompileLog {
  std::string errors, tail, line;
  int line_attr = 0;
  CsoundMessage::Level prev = CsoundMessage::Level::debug;
};
void collect_message(CSOUND* cs, int attr, const char* text) {
  auto* log = static_cast<CompileLog*>(csoundGetHostData(cs));
  for (const char* p = text; *p; ++p) {
    if (log->line.empty()) log->line_attr = attr;
    if (*p != '\n') {
      log->line += *p;
      continue;
    }
    log->prev = classify_message(log->line_attr, log->line, log->prev);
    if (log->prev == CsoundMessage::Level::error) log->errors += log->line + "\n";
    log->tail += log->line + "\n";
    log->line.clear();
  }
}
}  // namespace

std::string test_compile(const std::string& csd, const std::vector<std::string>& options) {
  static const int init = csoundInitialize(CSOUNDINIT_NO_SIGNAL_HANDLER | CSOUNDINIT_NO_ATEXIT);
  (void)init;
  CompileLog log;
  CSOUND* cs = csoundCreate(&log);
  if (!cs) return "cannot create a Csound instance";
  csoundSetMessageStringCallback(cs, collect_message);
  std::vector<std::string> args{"csbridge", csd};
  args.insert(args.end(), options.begin(), options.end());
  // Last, so they win: no audio device, no MIDI device, no waiting.
  for (const char* a : {"-n", "-+rtmidi=null", "-+rtaudio=null"}) args.emplace_back(a);
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  int r = csoundCompile(cs, static_cast<int>(argv.size()), argv.data());
  csoundStop(cs);
  csoundCleanup(cs);
  csoundDestroy(cs);
  if (r == 0) return {};
  std::string err = !log.errors.empty() ? log.errors : log.tail;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return err.empty() ? "Csound could not compile " + csd : err;
}

}  // namespace csb
