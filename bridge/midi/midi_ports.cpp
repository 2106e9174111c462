#include "midi/midi_ports.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <thread>
#include <utility>

#include <alsa/asoundlib.h>
#include <jack/jack.h>
#include <rtmidi/RtMidi.h>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/spsc.hpp"
#include "core/text.hpp"

namespace csb {

namespace {

constexpr const char* kClientName = "csbridge";

/// Our own ports (and another csbridge's) are never a device's: a `*` glob
/// would otherwise read back its own feedback.
bool own_port(const std::string& name) {
  return glob_match_nocase("csbridge*", name);
}

/// Errors RtMidi reports on the loop thread (scanners, opening ports).
struct LoopErrors {
  bool any = false;
  std::string text;
  static void callback(RtMidiError::Type type, const std::string& text, void* user) {
    auto* e = static_cast<LoopErrors*>(user);
    e->any = true;
    if (e->text.empty()) e->text = text;
  }
  void clear() {
    any = false;
    text.clear();
  }
};

// ALSA's and JACK's libraries print to stderr on every failed attempt; the
// service tells once, in its own log.
void quiet_alsa(const char*, int, const char*, int, const char*, ...) {}
void jack_to_debug(const char* text) {
  spdlog::debug("jack: {}", text);
}

void quiet_libraries() {
  static const bool done = [] {
    snd_lib_error_set_handler(&quiet_alsa);
    jack_set_error_function(&jack_to_debug);
    jack_set_info_function(&jack_to_debug);
    return true;
  }();
  (void)done;
}

/// Whether the API can be opened now, asked without RtMidi (which prints
/// its complaint before an error callback can be set); why not in `why`.
bool api_reachable(RtMidi::Api api, std::string& why) {
  quiet_libraries();
  if (api == RtMidi::LINUX_ALSA) {
    if (::access("/dev/snd/seq", R_OK | W_OK) == 0) return true;
    why = std::string("no ALSA sequencer (/dev/snd/seq: ") + std::strerror(errno) + ")";
    return false;
  }
  jack_status_t status{};
  jack_client_t* c = jack_client_open("csbridge-probe", JackNoStartServer, &status);
  if (c) {
    jack_client_close(c);
    return true;
  }
  why = "no JACK server running";
  if (const char* name = std::getenv("JACK_DEFAULT_SERVER"); name && *name)
    why += std::string(" (server name '") + name + "')";
  return false;
}

std::vector<RtMidi::Api> apis_for(MidiApi wanted) {
  switch (wanted) {
    case MidiApi::alsa:
      return {RtMidi::LINUX_ALSA};
    case MidiApi::jack:
      return {RtMidi::UNIX_JACK};
    case MidiApi::automatic:
      break;
  }
  return {RtMidi::LINUX_ALSA, RtMidi::UNIX_JACK};
}

bool compiled(RtMidi::Api api) {
  std::vector<RtMidi::Api> apis;
  RtMidi::getCompiledApi(apis);
  return std::find(apis.begin(), apis.end(), api) != apis.end();
}

/// The index of the port called `name` in `m`'s list now, or -1.
int find_port(RtMidi& m, const std::string& name) {
  unsigned n = m.getPortCount();
  for (unsigned i = 0; i < n; ++i)
    if (m.getPortName(i) == name) return static_cast<int>(i);
  return -1;
}

/// The MIDI messages in `data` one by one (RtMidi sends one message per
/// call; cc14 feedback is two). Calls f(ptr, len) for each.
template <class F>
void each_message(const std::uint8_t* data, std::size_t len, F&& f) {
  std::size_t i = 0;
  while (i < len) {
    int n = midi_data_length(data[i]);
    std::size_t size = n < 0 ? len - i : 1 + static_cast<std::size_t>(n);
    if (i + size > len) size = len - i;
    f(data + i, size);
    i += size;
  }
}

/// Closes RtMidi ports off the loop: closing a JACK output waits for the
/// server's next cycle, up to a second when the server died.
class Closer {
 public:
  Closer() : thread_([this] { run(); }) {}
  // At exit the ports still queued are left to the OS: closing each JACK
  // output of a dead server would take a second, past the 2 s stop limit.
  ~Closer() {
    {
      std::lock_guard lk(mu_);
      quit_ = true;
      new std::deque<std::function<void()>>(std::move(jobs_));  // leaked on purpose
    }
    cv_.notify_one();
    thread_.join();
  }
  void add(std::function<void()> job) {
    {
      std::lock_guard lk(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return quit_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lk.unlock();
      job();
      lk.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool quit_ = false;
  std::thread thread_;
};

Closer& closer() {
  static Closer c;
  return c;
}

/// Longer than a JACK cycle in the periods a board uses (2048 frames at
/// 44.1 kHz is 46 ms).
constexpr auto kJackCycleGrace = std::chrono::milliseconds(100);

/// RtMidi 5.0's JACK output frees its ring buffer before it closes its
/// client, so a process cycle that passed its "port open?" check just before
/// the close reads freed memory. Closing the port first and letting any
/// cycle in flight end before the delete avoids that.
void destroy(std::shared_ptr<RtMidiOut>& out) {
  if (out && out->getCurrentApi() == RtMidi::UNIX_JACK && out->isPortOpen()) {
    out->closePort();
    std::this_thread::sleep_for(kJackCycleGrace);
  }
  out.reset();
}
template <class T>
void destroy(std::shared_ptr<T>& p) {
  p.reset();
}

template <class T>
void close_later(std::unique_ptr<T> p) {
  if constexpr (requires { p->closing; })
    if (p) p->closing.store(true, std::memory_order_release);
  if (p) closer().add([q = std::shared_ptr<T>(std::move(p))]() mutable { destroy(q); });
}

}  // namespace

// --- MidiWaker -----------------------------------------------------------

MidiWaker::MidiWaker() {
  fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

MidiWaker::~MidiWaker() {
  if (fd_ >= 0) ::close(fd_);
}

void MidiWaker::wake() noexcept {
  if (pending_.exchange(true, std::memory_order_acq_rel)) return;
  std::uint64_t one = 1;
  ssize_t r = ::write(fd_, &one, sizeof one);
  (void)r;  // EAGAIN: the counter is full, so the loop is woken already
}

void MidiWaker::rearm() noexcept {
  std::uint64_t v;
  ssize_t r = ::read(fd_, &v, sizeof v);
  (void)r;
  // A read-modify-write, so it orders with the waker's exchange: a push the
  // drain that follows misses has a wake of its own.
  pending_.exchange(false, std::memory_order_acq_rel);
}

// --- listing -------------------------------------------------------------

/// Lists the port names of one API. ALSA through RtMidi (two unopened
/// sequencer clients); JACK through a JACK client of its own that is never
/// activated, so listing costs no process thread and no wake-ups, and a
/// server that stops is noticed (jack_on_shutdown).
struct MidiBackend::Scanner {
  RtMidi::Api api;
  LoopErrors errors;
  std::unique_ptr<RtMidiIn> alsa_in;
  std::unique_ptr<RtMidiOut> alsa_out;
  jack_client_t* jack = nullptr;
  std::atomic<bool> jack_gone{false};

  /// Throws RtMidiError when the API cannot be opened.
  explicit Scanner(RtMidi::Api a) : api(a) {
    if (api == RtMidi::UNIX_JACK) {
      jack_status_t status{};
      jack = jack_client_open("csbridge-scan", JackNoStartServer, &status);
      if (!jack) throw RtMidiError("cannot connect to the JACK server");
      jack_on_shutdown(jack, &Scanner::on_jack_shutdown, this);
      return;
    }
    alsa_in = std::make_unique<RtMidiIn>(api, kClientName);
    alsa_in->setErrorCallback(&LoopErrors::callback, &errors);
    alsa_out = std::make_unique<RtMidiOut>(api, kClientName);
    alsa_out->setErrorCallback(&LoopErrors::callback, &errors);
  }
  ~Scanner() {
    // After a shutdown the client is only memory; closing it is still right.
    if (jack) jack_client_close(jack);
  }
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  static void on_jack_shutdown(void* self) {
    static_cast<Scanner*>(self)->jack_gone.store(true, std::memory_order_release);
  }

  /// The names of the ports we can read (input) or write (!input), ours
  /// excluded; false when listing failed or the server went away.
  bool list(bool input, std::vector<std::string>& names) {
    names.clear();
    if (jack) {
      if (jack_gone.load(std::memory_order_acquire)) return false;
      // Sources are JACK output ports, destinations JACK input ports.
      const char** ports = jack_get_ports(jack, nullptr, JACK_DEFAULT_MIDI_TYPE,
                                          input ? JackPortIsOutput : JackPortIsInput);
      for (const char** p = ports; p && *p; ++p)
        if (!own_port(*p)) names.emplace_back(*p);
      if (ports) jack_free(ports);
      return !jack_gone.load(std::memory_order_acquire);
    }
    errors.clear();
    RtMidi& m = input ? static_cast<RtMidi&>(*alsa_in) : static_cast<RtMidi&>(*alsa_out);
    unsigned n = m.getPortCount();
    for (unsigned i = 0; i < n; ++i) {
      std::string name = m.getPortName(i);
      if (!name.empty() && !own_port(name)) names.push_back(std::move(name));
    }
    return !errors.any;
  }
};

std::vector<MidiPortName> list_all_midi_ports(std::vector<std::string>& problems) {
  std::vector<MidiPortName> out;
  for (RtMidi::Api api : {RtMidi::LINUX_ALSA, RtMidi::UNIX_JACK}) {
    const std::string api_name = RtMidi::getApiName(api);
    if (!compiled(api)) {
      problems.push_back(api_name + ": not built into this RtMidi");
      continue;
    }
    if (std::string why; !api_reachable(api, why)) {
      problems.push_back(api_name + ": " + why);
      continue;
    }
    try {
      MidiBackend::Scanner s(api);
      for (bool input : {true, false}) {
        std::vector<std::string> names;
        if (!s.list(input, names))
          throw RtMidiError(s.errors.text.empty() ? "listing failed" : s.errors.text);
        for (auto& n : names) out.push_back({api_name, n, input});
      }
    } catch (const RtMidiError& e) {
      problems.push_back(api_name + ": " + e.getMessage());
    }
  }
  return out;
}

// --- MidiBackend ---------------------------------------------------------

MidiBackend::MidiBackend(MidiApi api) : wanted_(api) {}
MidiBackend::~MidiBackend() = default;

const char* MidiBackend::api_name() const {
  if (!available()) return "";
  return api_ == RtMidi::LINUX_ALSA ? "alsa" : "jack";
}

bool MidiBackend::open_api() {
  std::string why;
  for (RtMidi::Api api : apis_for(wanted_)) {
    const std::string name = RtMidi::getApiName(api);
    if (!compiled(api)) {
      why += (why.empty() ? "" : "; ") + name + ": not built into RtMidi";
      continue;
    }
    if (std::string reason; !api_reachable(api, reason)) {
      why += (why.empty() ? "" : "; ") + name + ": " + reason;
      continue;
    }
    try {
      scanner_ = std::make_unique<Scanner>(api);
      api_ = api;
      ok_ = true;
      if (told_unavailable_)
        spdlog::info("midi: {} is available now", name);
      else
        spdlog::debug("midi: using {}", name);
      told_unavailable_ = false;
      return true;
    } catch (const RtMidiError& e) {
      why += (why.empty() ? "" : "; ") + name + ": " + e.getMessage();
    }
  }
  if (!told_unavailable_)
    spdlog::warn(
        "midi: no MIDI API can be opened ({}); MIDI devices stay absent, trying again every scan",
        why);
  told_unavailable_ = true;
  return false;
}

void MidiBackend::close_api() {
  scanner_.reset();
  ok_ = false;
  inputs_.clear();
  outputs_.clear();
}

bool MidiBackend::refresh() {
  if (!available() && !open_api()) {
    inputs_.clear();
    outputs_.clear();
    return false;
  }
  if (!scanner_->list(true, inputs_) || !scanner_->list(false, outputs_)) {
    if (scanner_->jack_gone.load())
      spdlog::warn(
          "midi: the JACK server stopped; its ports are closed, looking for it every scan");
    else
      spdlog::warn("midi: listing ports failed ({}); opening the API again", scanner_->errors.text);
    close_api();
    told_unavailable_ = true;  // its return is said once, as "available now"
    return false;
  }
  return true;
}

// --- MidiDevice ----------------------------------------------------------

struct MidiInEvent {
  std::int64_t t_ns = 0;
  MidiMessage m;
};

struct MidiDevice::InPort {
  std::string name;
  std::unique_ptr<RtMidiIn> in;
  std::shared_ptr<MidiWaker> waker;  // outlives the device if a callback is late
  MidiDecoder decoder;               // MIDI thread only
  SpscRing<MidiInEvent, 1024> ring;
  MidiInCounters counters;
  LoopErrors open_errors;  // written only on the opening thread
  std::thread::id opener = std::this_thread::get_id();
  std::atomic<bool> opened{false};
  std::atomic<std::uint64_t> rtmidi_errors{0};
  std::atomic<bool> closing{false};  // set before closing: the loop no longer listens

  // The port closes (its thread stops) before the ring it writes goes.
  ~InPort() { in.reset(); }

  // The MIDI thread: decode, stamp, queue, wake.
  static void callback(double, std::vector<unsigned char>* bytes, void* user) {
    auto* p = static_cast<InPort*>(user);
    if (!bytes || bytes->empty() || p->closing.load(std::memory_order_acquire)) return;
    const std::int64_t t = steady_ns();
    bool queued = false;
    p->decoder.feed(
        bytes->data(), bytes->size(),
        [&](const MidiMessage& m) {
          if (p->ring.push({t, m})) {
            queued = true;
            p->counters.messages.fetch_add(1, std::memory_order_relaxed);
          } else {
            p->counters.overflow.fetch_add(1, std::memory_order_relaxed);
          }
        },
        [&](std::span<const std::uint8_t>) {
          p->counters.sysex.fetch_add(1, std::memory_order_relaxed);
        });
    // One packet is one message: what it left unfinished is not continued by the next.
    p->decoder.reset();
    p->counters.decode_errors.store(p->decoder.errors() + p->decoder.sysex_dropped(),
                                    std::memory_order_relaxed);
    if (queued) p->waker->wake();
  }

  // Errors RtMidi reports once the port runs may come from its own thread.
  static void error(RtMidiError::Type type, const std::string& text, void* user) {
    auto* p = static_cast<InPort*>(user);
    if (!p->opened.load(std::memory_order_acquire) && std::this_thread::get_id() == p->opener) {
      LoopErrors::callback(type, text, &p->open_errors);
      return;
    }
    p->rtmidi_errors.fetch_add(1, std::memory_order_relaxed);
  }
};

struct MidiDevice::OutPort {
  // Taken by the loop (open, close) and the writer thread (send) only.
  std::atomic_flag lock = ATOMIC_FLAG_INIT;
  RtMidiOut* out = nullptr;  // under lock
  std::atomic<bool> open{false};
  /// Closed by the loop while the writer held the lock: whoever holds it
  /// next hands `out` to the closer.
  std::atomic<bool> held{false};
  bool refused = false;    // under lock: RtMidi reported an error during a send
  std::string name;        // loop thread
  bool announce = false;   // loop thread: opened, on_state not called yet
  LoopErrors open_errors;  // written only on the opening thread
  std::thread::id opener = std::this_thread::get_id();

  static void error(RtMidiError::Type type, const std::string& text, void* user) {
    auto* p = static_cast<OutPort*>(user);
    if (!p->open.load(std::memory_order_acquire)) {
      if (std::this_thread::get_id() != p->opener) return;
      LoopErrors::callback(type, text, &p->open_errors);
      return;
    }
    p->refused = true;  // called inside sendMessage, under lock
  }

  void lock_wait() {
    while (lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  bool try_lock() { return !lock.test_and_set(std::memory_order_acquire); }
  void unlock() { lock.clear(std::memory_order_release); }
};

/// What try_send queued, for the writer thread.
/// How often the writer tries a message RtMidi refuses, 1 ms apart.
constexpr int kSendAttempts = 20;

struct MidiDevice::Writer {
  struct Item {
    std::uint8_t len = 0;
    std::uint8_t bytes[15];  // a feedback message: cc14 is the longest, 6 bytes
  };
  std::atomic_flag push_lock = ATOMIC_FLAG_INIT;  // producers: the engine's threads, the loop
  SpscRing<Item, 512> queue;
  std::counting_semaphore<> items{0};
  std::atomic<bool> quit{false};
  std::thread thread;
};

MidiDevice::MidiDevice(const DeviceConfig& config, std::uint32_t index, bool wants_output,
                       std::shared_ptr<MidiWaker> waker, OnMessage on_message, OnState on_state)
    : config_(config),
      index_(index),
      wants_output_(wants_output),
      waker_(std::move(waker)),
      on_message_(std::move(on_message)),
      on_state_(std::move(on_state)) {
  for (auto& o : out_) o = std::make_unique<OutPort>();
  if (wants_output_) {
    writer_ = std::make_unique<Writer>();
    writer_->thread = std::thread([this] { write_loop(); });
  }
}

MidiDevice::~MidiDevice() {
  close_all("device gone");
  if (writer_) {
    // What is queued still goes out (to no port now), then the thread ends.
    writer_->quit = true;
    writer_->items.release();
    writer_->thread.join();
    // A port closed just as the writer let go of it is handed over here.
    for (auto& o : out_)
      if (o->held.exchange(false))
        close_later(std::unique_ptr<RtMidiOut>(std::exchange(o->out, nullptr)));
  }
}

void MidiDevice::write_loop() {
  Writer& w = *writer_;
  Writer::Item item;
  for (;;) {
    w.items.acquire();
    if (!w.queue.pop(item)) {
      if (w.quit) return;
      continue;
    }
    for (auto& op : out_) {
      OutPort& o = *op;
      if (!o.open.load(std::memory_order_acquire) && !o.held.load()) continue;
      o.lock_wait();  // the loop only holds it to swap the port in or out
      // A message RtMidi refuses (JACK's ring full) is sent again a little
      // later: this thread may wait, the performance never does.
      for (int attempt = 0; attempt < kSendAttempts && o.out && o.open.load(); ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        o.refused = false;
        try {
          each_message(item.bytes, item.len,
                       [&](const std::uint8_t* m, std::size_t n) { o.out->sendMessage(m, n); });
        } catch (...) {
          o.refused = true;
        }
        if (!o.refused) break;
      }
      if (o.out && o.open.load()) (o.refused ? send_failures_ : sent_).fetch_add(1);
      o.unlock();
      hand_over_if_held(o);
    }
  }
}

void MidiDevice::hand_over_if_held(OutPort& o) {
  // `held` is raised before the loop's try_lock fails, so it is seen here,
  // after this thread let go of the lock.
  if (!o.held.load()) return;
  o.lock_wait();
  if (o.held.exchange(false))
    close_later(std::unique_ptr<RtMidiOut>(std::exchange(o.out, nullptr)));
  o.unlock();
}

void MidiDevice::close_output(OutPort& o) {
  if (o.open.exchange(false)) outputs_open_.fetch_sub(1);
  o.announce = false;
  // The writer may be inside a send that waits on the device: never wait
  // for it here; it hands the port over itself when done (hand_over_if_held).
  o.held = true;
  if (!o.try_lock()) return;
  o.held = false;
  std::unique_ptr<RtMidiOut> out(std::exchange(o.out, nullptr));
  o.unlock();
  close_later(std::move(out));
}

void MidiDevice::open_input(std::size_t slot, const MidiBackend& backend, const std::string& name) {
  auto p = std::make_unique<InPort>();
  p->waker = waker_;
  try {
    p->in = std::make_unique<RtMidiIn>(static_cast<RtMidi::Api>(backend.rtmidi_api()), kClientName);
    p->in->setErrorCallback(&InPort::error, p.get());
    int i = find_port(*p->in, name);
    if (i < 0) throw RtMidiError("the port went away while opening it");
    p->in->ignoreTypes(/*sysex=*/false, /*time=*/false, /*sense=*/true);
    p->in->setCallback(&InPort::callback, p.get());
    p->in->openPort(static_cast<unsigned>(i), "in " + config_.name);
    if (p->open_errors.any || !p->in->isPortOpen())
      throw RtMidiError(p->open_errors.any ? p->open_errors.text : "not opened");
  } catch (const RtMidiError& e) {
    last_error_ = "cannot open MIDI input '" + name + "': " + e.getMessage();
    spdlog::warn("device {}: {}", config_.name, last_error_);
    close_later(std::move(p));
    return;
  }
  p->name = name;
  p->opened = true;
  in_[slot] = std::move(p);
  ++connects_;
  last_error_.clear();
  spdlog::info("device {}: MIDI input '{}' connected", config_.name, name);
  if (on_state_) on_state_(*this, static_cast<std::uint32_t>(slot), false, true);
}

void MidiDevice::open_output(std::size_t slot, const MidiBackend& backend,
                             const std::string& name) {
  OutPort& o = *out_[slot];
  o.open_errors.clear();
  std::unique_ptr<RtMidiOut> out;
  try {
    out = std::make_unique<RtMidiOut>(static_cast<RtMidi::Api>(backend.rtmidi_api()), kClientName);
    out->setErrorCallback(&OutPort::error, &o);
    int i = find_port(*out, name);
    if (i < 0) throw RtMidiError("the port went away while opening it");
    out->openPort(static_cast<unsigned>(i), "feedback " + config_.name);
    if (o.open_errors.any || !out->isPortOpen())
      throw RtMidiError(o.open_errors.any ? o.open_errors.text : "not opened");
  } catch (const RtMidiError& e) {
    last_error_ = "cannot open MIDI output '" + name + "': " + e.getMessage();
    spdlog::warn("device {}: {}", config_.name, last_error_);
    close_later(std::move(out));
    return;
  }
  o.name = name;
  o.lock_wait();
  o.out = out.release();
  o.refused = false;
  o.open.store(true, std::memory_order_release);
  o.unlock();
  outputs_open_.fetch_add(1);
  spdlog::info("device {}: MIDI output '{}' connected", config_.name, name);
  // Said at the next scan: a JACK connection made now may only carry data a
  // cycle or two later, and what the state change sends must not be lost.
  o.announce = true;
}

void MidiDevice::scan(const MidiBackend& backend, std::vector<std::string>& taken_in,
                      std::vector<std::string>& taken_out, const Exited& exited) {
  auto listed = [](const std::vector<std::string>& names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  // A port that exited is gone even when one of the same name is listed
  // again: its subscriptions went with it. Closed here and, its name free
  // again, opened anew below.
  auto gone = [&](const std::vector<std::string>& names, const std::string& n) {
    return !listed(names, n) || (exited && exited(n));
  };
  auto release = [](std::vector<std::string>& taken, const std::string& n) {
    auto it = std::find(taken.begin(), taken.end(), n);
    if (it != taken.end()) taken.erase(it);
  };
  for (std::size_t s = 0; s < kMaxPorts; ++s) {
    OutPort& o = *out_[s];
    if (o.announce && o.open.load()) {
      o.announce = false;
      if (on_state_) on_state_(*this, static_cast<std::uint32_t>(s), true, true);
    }
  }
  // Gone from the list (or the API went away): closed, looked for again.
  for (std::size_t s = 0; s < kMaxPorts; ++s) {
    if (in_[s] && gone(backend.inputs(), in_[s]->name)) {
      drain();
      std::string name = in_[s]->name;
      release(taken_in, name);
      closed_.messages += in_[s]->counters.messages.load();
      closed_.overflow += in_[s]->counters.overflow.load();
      closed_.sysex += in_[s]->counters.sysex.load();
      closed_.decode_errors += in_[s]->counters.decode_errors.load() + in_[s]->rtmidi_errors.load();
      close_later(std::move(in_[s]));
      spdlog::warn("device {}: MIDI input '{}' went away; looking for it every scan", config_.name,
                   name);
      if (on_state_) on_state_(*this, static_cast<std::uint32_t>(s), false, false);
    }
    OutPort& o = *out_[s];
    if (o.open.load() && gone(backend.outputs(), o.name)) {
      release(taken_out, o.name);
      close_output(o);
      spdlog::warn("device {}: MIDI output '{}' went away", config_.name, o.name);
      if (on_state_) on_state_(*this, static_cast<std::uint32_t>(s), true, false);
    }
  }
  if (!backend.available()) return;
  for (const std::string& name : backend.inputs()) {
    if (!glob_match_nocase(config_.glob, name) || listed(taken_in, name)) continue;
    auto free = std::find_if(std::begin(in_), std::end(in_), [](auto& p) { return !p; });
    if (free == std::end(in_)) break;
    open_input(static_cast<std::size_t>(free - std::begin(in_)), backend, name);
    if (*free) taken_in.push_back(name);
  }
  if (!wants_output_) return;
  for (const std::string& name : backend.outputs()) {
    if (!glob_match_nocase(config_.glob, name) || listed(taken_out, name)) continue;
    // A slot whose last port the writer still hands over is not free yet.
    auto free = std::find_if(std::begin(out_), std::end(out_),
                             [](auto& o) { return !o->open && !o->held; });
    if (free == std::end(out_)) break;
    open_output(static_cast<std::size_t>(free - std::begin(out_)), backend, name);
    if ((*free)->open) taken_out.push_back(name);
  }
}

void MidiDevice::drain() {
  for (std::size_t s = 0; s < kMaxPorts; ++s) {
    if (!in_[s]) continue;
    MidiInEvent ev;
    // At most a ring's worth at a time: a flood cannot hold the loop.
    for (int n = 0; n < 1024 && in_[s]->ring.pop(ev); ++n)
      on_message_(*this, static_cast<std::uint32_t>(s), ev.m, ev.t_ns);
    if (!in_[s]->ring.empty()) waker_->wake();
  }
}

void MidiDevice::close_all(const std::string& why) {
  for (auto& p : in_) close_later(std::move(p));
  for (auto& o : out_) close_output(*o);
  spdlog::debug("device {}: MIDI ports closed ({})", config_.name, why);
}

SendResult MidiDevice::try_send(const char* data, std::size_t len) noexcept {
  if (!writer_ || outputs_open_.load(std::memory_order_acquire) == 0) return SendResult::absent;
  Writer::Item item;
  if (len > sizeof item.bytes) return SendResult::failed;
  item.len = static_cast<std::uint8_t>(len);
  std::memcpy(item.bytes, data, len);
  // Only tried: the loop pushes too (resends), and the performance thread,
  // at realtime priority, must never wait for it. Busy or full is a failed
  // send, which the feedback retries at the next k-cycle.
  if (writer_->push_lock.test_and_set(std::memory_order_acquire)) return SendResult::failed;
  bool queued = writer_->queue.push(item);
  writer_->push_lock.clear(std::memory_order_release);
  if (!queued) {
    send_failures_.fetch_add(1, std::memory_order_relaxed);
    return SendResult::failed;  // the device is that far behind: the retry sends the latest
  }
  writer_->items.release();
  return SendResult::sent;
}

bool MidiDevice::connected() const {
  for (auto& p : in_)
    if (p) return true;
  for (auto& o : out_)
    if (o->open.load()) return true;
  return false;
}

std::vector<std::string> MidiDevice::input_names() const {
  std::vector<std::string> v;
  for (auto& p : in_)
    if (p) v.push_back(p->name);
  return v;
}

std::vector<std::string> MidiDevice::output_names() const {
  std::vector<std::string> v;
  for (auto& o : out_)
    if (o->open.load()) v.push_back(o->name);
  return v;
}

std::uint64_t MidiDevice::messages_in() const {
  std::uint64_t n = closed_.messages.load();
  for (auto& p : in_)
    if (p) n += p->counters.messages.load();
  return n;
}

std::uint64_t MidiDevice::overflow() const {
  std::uint64_t n = closed_.overflow.load();
  for (auto& p : in_)
    if (p) n += p->counters.overflow.load();
  return n;
}

std::uint64_t MidiDevice::sysex() const {
  std::uint64_t n = closed_.sysex.load();
  for (auto& p : in_)
    if (p) n += p->counters.sysex.load();
  return n;
}

std::uint64_t MidiDevice::decode_errors() const {
  std::uint64_t n = closed_.decode_errors.load();
  for (auto& p : in_)
    if (p) n += p->counters.decode_errors.load() + p->rtmidi_errors.load();
  return n;
}

}  // namespace csb
