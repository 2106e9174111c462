#include "midi/midi_device.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <semaphore>
#include <stdexcept>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/spin.hpp"
#include "core/spsc.hpp"
#include "core/text.hpp"
#include "midi/job_thread.hpp"
#include "midi/midi_transport.hpp"

namespace csb {

namespace {

/// The MIDI messages in `data` one by one (a port takes one message per
/// send; cc14 feedback is two). Calls f(ptr, len) for each.
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

/// Closes ports off the loop: a JACK port leaves the process cycle there
/// (waiting for the cycle in flight), and RtMidi's ALSA close is a request.
/// At exit the ports still queued are left to the OS: a stalled server
/// would hold each past the 2 s stop limit.
JobThread& closer() {
  static struct Holder {
    JobThread jobs;
    ~Holder() { jobs.abandon(); }
  } h;
  return h.jobs;
}

template <class T>
void close_later(std::unique_ptr<T> p) {
  if constexpr (requires { p->closing; })
    if (p) p->closing.store(true, std::memory_order_release);
  if (p) closer().post([q = std::shared_ptr<T>(std::move(p))]() mutable { q.reset(); });
}

}  // namespace

// --- MidiDevice ----------------------------------------------------------

struct MidiInEvent {
  std::int64_t t_ns = 0;
  MidiMessage m;
};

struct MidiDevice::InPort {
  std::string name;
  std::unique_ptr<MidiInput> in;
  std::shared_ptr<MidiWaker> waker;  // outlives the device if a callback is late
  MidiDecoder decoder;               // MIDI thread only
  SpscRing<MidiInEvent, 1024> ring;
  MidiInCounters counters;
  std::atomic<bool> closing{false};  // set before closing: the loop no longer listens

  // The port closes (its callbacks end) before the ring it writes goes.
  ~InPort() { in.reset(); }

  // The MIDI thread (JACK's process thread included): decode, stamp, queue, wake.
  static void callback(void* user, const std::uint8_t* bytes, std::size_t len) noexcept {
    auto* p = static_cast<InPort*>(user);
    if (p->closing.load(std::memory_order_acquire)) return;
    const std::int64_t t = steady_ns();
    bool queued = false;
    p->decoder.feed(
        bytes, len,
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
  std::uint64_t errors() const { return in ? in->errors() : 0; }
};

struct MidiDevice::OutPort {
  // Taken by the loop (open, close) and the writer thread (send) only.
  SpinLock lock;
  MidiOutput* out = nullptr;  // under lock
  std::atomic<bool> open{false};
  /// Closed by the loop while the writer held the lock: whoever holds it
  /// next hands `out` to the closer.
  std::atomic<bool> held{false};
  std::string name;       // loop thread
  bool announce = false;  // loop thread: opened, on_state not called yet
};

/// What try_send queued, for the writer thread.
/// How often the writer tries a message a port refuses, 1 ms apart.
constexpr int kSendAttempts = 20;

struct MidiDevice::Writer {
  using Item = MidiPacket;  // a feedback message: cc14 is the longest, 6 bytes
  SpinLock push_lock;       // producers: the engine's threads, the loop; only ever tried
  SpscRing<Item, 512> queue;
  std::counting_semaphore<> items{0};
  std::atomic<bool> quit{false};
  std::thread thread;
};

MidiDevice::MidiDevice(MidiTransport& transport, const DeviceConfig& config, DeviceIndex index,
                       bool wants_output, std::shared_ptr<MidiWaker> waker, DeviceSink& sink)
    : transport_(transport),
      config_(config),
      index_(index),
      wants_output_(wants_output),
      waker_(std::move(waker)),
      sink_(sink) {
  transport_.attach(this);
  for (auto& o : out_) o = std::make_unique<OutPort>();
  if (wants_output_) {
    writer_ = std::make_unique<Writer>();
    writer_->thread = std::thread([this] { write_loop(); });
  }
}

MidiDevice::~MidiDevice() {
  transport_.detach(this);
  close_all("device gone");
  if (writer_) {
    // What is queued still goes out (to no port now), then the thread ends.
    writer_->quit = true;
    writer_->items.release();
    writer_->thread.join();
    // A port closed just as the writer let go of it is handed over here.
    for (auto& o : out_)
      if (o->held.exchange(false))
        close_later(std::unique_ptr<MidiOutput>(std::exchange(o->out, nullptr)));
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
      o.lock.lock();  // the loop only holds it to swap the port in or out
      // A message the port refuses (its queue full) is sent again a little
      // later: this thread may wait, the performance never does.
      // A cc14 whose first message went is continued from its second.
      bool refused = true;
      std::size_t done = 0;
      for (int attempt = 0; attempt < kSendAttempts && o.out && o.open.load(); ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        refused = false;
        each_message(item.bytes + done, item.len - done, [&](const std::uint8_t* m, std::size_t n) {
          if (refused) return;
          if (o.out->send(m, n))
            done += n;
          else
            refused = true;
        });
        if (!refused) break;
      }
      if (o.out && o.open.load()) (refused ? send_failures_ : sent_).fetch_add(1);
      o.lock.unlock();
      hand_over_if_held(o);
    }
  }
}

void MidiDevice::hand_over_if_held(OutPort& o) {
  // `held` is raised before the loop's try_lock fails, so it is seen here,
  // after this thread let go of the lock.
  if (!o.held.load()) return;
  o.lock.lock();
  if (o.held.exchange(false))
    close_later(std::unique_ptr<MidiOutput>(std::exchange(o.out, nullptr)));
  o.lock.unlock();
}

void MidiDevice::close_output(OutPort& o) {
  if (o.open.exchange(false)) outputs_open_.fetch_sub(1);
  o.announce = false;
  // The writer may be inside a send that waits on the device: never wait
  // for it here; it hands the port over itself when done (hand_over_if_held).
  o.held = true;
  if (!o.lock.try_lock()) return;
  o.held = false;
  std::unique_ptr<MidiOutput> out(std::exchange(o.out, nullptr));
  o.lock.unlock();
  close_later(std::move(out));
}

void MidiDevice::open_input(std::size_t slot, MidiApiClient& api, const std::string& name) {
  auto p = std::make_unique<InPort>();
  p->waker = waker_;
  std::string error;
  p->in = api.open_input(name, "in " + config_.name, &InPort::callback, p.get(), error);
  if (!p->in) {
    last_error_ = "cannot open MIDI input '" + name + "': " + error;
    spdlog::warn("device {}: {}", config_.name, last_error_);
    return;
  }
  p->name = name;
  in_[slot] = std::move(p);
  ++connects_;
  last_error_.clear();
  spdlog::info("device {}: MIDI input '{}' connected", config_.name, name);
}

void MidiDevice::open_output(std::size_t slot, MidiApiClient& api, const std::string& name) {
  OutPort& o = *out_[slot];
  std::string error;
  std::unique_ptr<MidiOutput> out = api.open_output(name, "feedback " + config_.name, error);
  if (!out) {
    last_error_ = "cannot open MIDI output '" + name + "': " + error;
    spdlog::warn("device {}: {}", config_.name, last_error_);
    return;
  }
  o.name = name;
  o.lock.lock();
  o.out = out.release();
  o.open.store(true, std::memory_order_release);
  o.lock.unlock();
  outputs_open_.fetch_add(1);
  spdlog::info("device {}: MIDI output '{}' connected", config_.name, name);
  // Said at the next scan: a JACK connection made now may only carry data a
  // cycle or two later, and what the state change sends must not be lost.
  o.announce = true;
}

void MidiDevice::claim_open() {
  for (auto& p : in_)
    if (p) transport_.taken_inputs().push_back(p->name);
  for (auto& o : out_)
    if (o->open.load()) transport_.taken_outputs().push_back(o->name);
}

bool MidiDevice::keeps(const Config& next, DeviceIndex index) const {
  const DeviceConfig& d = next.devices[index];
  return d.kind == DeviceKind::midi && next.midi_api == transport_.api() &&
         config_.settings() == d.settings() && next.feeds_back(d.name) == wants_output_;
}

DeviceStats MidiDevice::stats() const {
  DeviceStats s;
  s.connected = connected();
  s.ports = input_names();
  auto outputs = output_names();
  s.port = !s.ports.empty() ? s.ports[0] : !outputs.empty() ? outputs[0] : "";
  s.input = counters_;
  s.decode_errors = decode_errors();
  s.queue_overflow = overflow();
  s.connects = connects_;
  s.last_error = last_error_;
  s.details = {{"outputs", outputs},
               {"api", transport_.api_name()},
               {"passthrough", config_.passthrough},
               {"messages_in", messages_in()},
               {"sent", sent()},
               {"send_failures", send_failures()},
               {"decoder_errors", s.decode_errors},
               {"sysex", sysex()},
               {"queue_overflow", s.queue_overflow}};
  return s;
}

void MidiDevice::scan() {
  if (!transport_.backend()) return;
  const MidiBackend& backend = *transport_.backend();
  std::vector<std::string>& taken_in = transport_.taken_inputs();
  std::vector<std::string>& taken_out = transport_.taken_outputs();
  auto exited = [this](const std::string& n) { return transport_.exited(n); };
  auto listed = [](const std::vector<std::string>& names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  // A port that exited is gone even when one of the same name is listed
  // again: its subscriptions went with it. Closed here and, its name free
  // again, opened anew below.
  auto gone = [&](const std::vector<std::string>& names, const std::string& n, bool alive) {
    return !alive || !listed(names, n) || exited(n);
  };
  auto release = [](std::vector<std::string>& taken, const std::string& n) {
    auto it = std::find(taken.begin(), taken.end(), n);
    if (it != taken.end()) taken.erase(it);
  };
  for (std::size_t s = 0; s < kMaxPorts; ++s) {
    OutPort& o = *out_[s];
    if (o.announce && o.open.load()) {
      o.announce = false;
      sink_.on_output_ready(*this, *this);  // all its outputs get the last values
    }
  }
  // Gone from the list (or the API went away): closed, looked for again.
  for (std::size_t s = 0; s < kMaxPorts; ++s) {
    if (in_[s] && gone(backend.inputs(), in_[s]->name, in_[s]->in->alive())) {
      drain();
      std::string name = in_[s]->name;
      release(taken_in, name);
      closed_.messages += in_[s]->counters.messages.load();
      closed_.overflow += in_[s]->counters.overflow.load();
      closed_.sysex += in_[s]->counters.sysex.load();
      closed_.decode_errors += in_[s]->counters.decode_errors.load() + in_[s]->errors();
      close_later(std::move(in_[s]));
      spdlog::warn("device {}: MIDI input '{}' went away; looking for it every scan", config_.name,
                   name);
      sink_.on_midi_port_closed(index_, static_cast<std::uint32_t>(s));
    }
    OutPort& o = *out_[s];
    if (o.open.load() && gone(backend.outputs(), o.name, o.out->alive())) {
      release(taken_out, o.name);
      close_output(o);
      spdlog::warn("device {}: MIDI output '{}' went away", config_.name, o.name);
    }
  }
  if (!backend.available()) return;
  for (const std::string& name : backend.inputs()) {
    if (!glob_match_nocase(config_.glob, name) || listed(taken_in, name)) continue;
    auto free = std::find_if(std::begin(in_), std::end(in_), [](auto& p) { return !p; });
    if (free == std::end(in_)) break;
    open_input(static_cast<std::size_t>(free - std::begin(in_)), *backend.client(), name);
    if (*free) taken_in.push_back(name);
  }
  if (!wants_output_) return;
  for (const std::string& name : backend.outputs()) {
    if (!glob_match_nocase(config_.glob, name) || listed(taken_out, name)) continue;
    // A slot whose last port the writer still hands over is not free yet.
    auto free = std::find_if(std::begin(out_), std::end(out_),
                             [](auto& o) { return !o->open && !o->held; });
    if (free == std::end(out_)) break;
    open_output(static_cast<std::size_t>(free - std::begin(out_)), *backend.client(), name);
    if ((*free)->open) taken_out.push_back(name);
  }
}

void MidiDevice::drain() {
  for (std::size_t s = 0; s < kMaxPorts; ++s) {
    if (!in_[s]) continue;
    MidiInEvent ev;
    // At most a ring's worth at a time: a flood cannot hold the loop.
    for (int n = 0; n < 1024 && in_[s]->ring.pop(ev); ++n)
      sink_.on_midi(index_, static_cast<std::uint32_t>(s), ev.m, ev.t_ns, counters_);
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
  if (!writer_->push_lock.try_lock()) return SendResult::failed;
  bool queued = writer_->queue.push(item);
  writer_->push_lock.unlock();
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

bool MidiDevice::announcing() const {
  return std::any_of(std::begin(out_), std::end(out_),
                     [](auto& o) { return o->announce && o->open.load(); });
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

std::uint64_t MidiDevice::summed(std::atomic<std::uint64_t> MidiInCounters::*field) const {
  std::uint64_t n = (closed_.*field).load();
  for (auto& p : in_)
    if (p) n += (p->counters.*field).load();
  return n;
}

std::uint64_t MidiDevice::messages_in() const {
  return summed(&MidiInCounters::messages);
}

std::uint64_t MidiDevice::overflow() const {
  return summed(&MidiInCounters::overflow);
}

std::uint64_t MidiDevice::sysex() const {
  return summed(&MidiInCounters::sysex);
}

std::uint64_t MidiDevice::decode_errors() const {
  std::uint64_t n = summed(&MidiInCounters::decode_errors);
  for (auto& p : in_)
    if (p) n += p->errors();  // the API's own, since the port opened
  return n;
}

}  // namespace csb
