// JACK MIDI on libjack: one client ("csbridge") for every port of every
// device. Its process callback walks a fixed table of port slots: an input
// slot hands each event (a whole message, sysex included) to its device's
// callback; an output slot writes what the device's writer thread queued on
// a bounded ring, so a send never waits for the server. Port registrations
// are passed on as they happen.
//
// Threads: every request to the server once the client is open (register,
// connect, disconnect, unregister, deactivate, close) runs on one request
// thread of the client, in order: libjack's request channel of a client is
// one socket, which two threads writing at once garble. The loop opens the
// client (as it opens ALSA's) and waits for a port's open at most
// kOpenLimit (a stalled server answers nothing). A port closing leaves the
// process callback's reach on the closer thread, waiting for the cycle in
// flight, and is unregistered later on the request thread; an output stays
// muted (its buffer cleared every cycle) until it is disconnected, so its
// last messages are not delivered again. The process callback never waits
// and never allocates. JACK's notification thread runs the registration
// callback, which posts a scan.

#include <jack/jack.h>
#include <jack/midiport.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>

#include "core/spsc.hpp"
#include "midi/job_thread.hpp"
#include "midi/midi_api.hpp"

namespace csb {

namespace {

using namespace std::chrono_literals;

/// How long the loop waits for the server to register and connect a port.
constexpr auto kOpenLimit = 250ms;

using OutRing = SpscRing<MidiPacket, 256>;

/// What the process callback reads: owned jointly by the client and the
/// job that closes it, so it outlives every cycle.
struct Graph {
  /// Every device's ports together (devices × 8 inputs and 8 outputs).
  static constexpr int kSlots = 256;
  /// kMuted: an output closing, its buffer still cleared every cycle.
  enum Use : int { kFree, kBusy, kReading, kWriting, kMuted };

  struct Slot {
    std::atomic<int> use{kFree};
    // Written while kBusy by the thread that took the slot; read by the
    // process callback while kReading or kWriting.
    jack_port_t* port = nullptr;
    MidiBytesFn fn = nullptr;
    void* user = nullptr;
    OutRing* ring = nullptr;
  };

  jack_client_t* client = nullptr;
  Slot slots[kSlots];
  std::atomic<int> high{0};             // slots[0..high) have been used
  std::atomic<std::uint64_t> epoch{0};  // odd while a process cycle runs
  std::atomic<bool> gone{false};
  std::atomic<bool> stopped{false};  // deactivated: no cycle runs, or ever ends
  std::mutex notify_mu;
  std::function<void()> on_change;

  static int process(jack_nframes_t frames, void* self) noexcept {
    auto* g = static_cast<Graph*>(self);
    g->epoch.fetch_add(1, std::memory_order_seq_cst);  // odd: in a cycle
    const int n = g->high.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i) {
      Slot& s = g->slots[i];
      const int use = s.use.load(std::memory_order_seq_cst);
      if (use == kReading) {
        void* buf = jack_port_get_buffer(s.port, frames);
        const jack_nframes_t events = buf ? jack_midi_get_event_count(buf) : 0;
        for (jack_nframes_t k = 0; k < events; ++k) {
          jack_midi_event_t ev;
          if (jack_midi_event_get(&ev, buf, k) == 0 && ev.size > 0)
            s.fn(s.user, ev.buffer, ev.size);
        }
      } else if (use == kMuted) {
        if (void* buf = jack_port_get_buffer(s.port, frames)) jack_midi_clear_buffer(buf);
      } else if (use == kWriting) {
        void* buf = jack_port_get_buffer(s.port, frames);
        if (!buf) continue;
        jack_midi_clear_buffer(buf);
        // What does not fit this cycle's buffer goes in the next one.
        while (const MidiPacket* m = s.ring->front()) {
          if (jack_midi_event_write(buf, 0, m->bytes, m->len) != 0) break;
          s.ring->drop_front();
        }
      }
    }
    g->epoch.fetch_add(1, std::memory_order_release);
    return 0;
  }

  static void on_registration(jack_port_id_t id, int, void* self) {
    auto* g = static_cast<Graph*>(self);
    // Our own ports come and go with the devices: not news.
    if (jack_port_t* p = jack_port_by_id(g->client, id); p && jack_port_is_mine(g->client, p))
      return;
    std::lock_guard lk(g->notify_mu);
    if (g->on_change) g->on_change();
  }

  // Written as a signal handler (JACK's rule): only the flag, which the
  // next scan reads.
  static void on_shutdown(void* self) {
    static_cast<Graph*>(self)->gone.store(true, std::memory_order_release);
  }

  /// A free slot, now kBusy; nullptr when all are taken.
  Slot* take() {
    for (int i = 0; i < kSlots; ++i) {
      int expected = kFree;
      if (slots[i].use.compare_exchange_strong(expected, kBusy)) {
        for (int h = high.load(); h < i + 1 && !high.compare_exchange_weak(h, i + 1);) {
        }
        return &slots[i];
      }
    }
    return nullptr;
  }

  /// Sets the slot to `use` (kBusy or kMuted), then waits for the cycle in
  /// flight (if any) to end: after it, the callback no longer touches the
  /// slot's device or ring. The cycle runs our code only, which never
  /// waits; a client deactivated mid-cycle (its thread cancelled) ends the
  /// wait too.
  void quiesce(Slot& s, int use) {
    s.use.store(use, std::memory_order_seq_cst);
    const std::uint64_t e = epoch.load(std::memory_order_seq_cst);
    if ((e & 1) == 0) return;
    while (epoch.load(std::memory_order_seq_cst) == e && !stopped.load(std::memory_order_acquire))
      std::this_thread::sleep_for(100us);
  }

  /// Request thread: our port gone from the server, the slot free again.
  void release(Slot& s) {
    if (s.port) {
      jack_port_disconnect(client, s.port);
      // Muted until now: no one reads it any more, and no cycle will.
      quiesce(s, kBusy);
      jack_port_unregister(client, s.port);
    }
    s.port = nullptr;
    s.fn = nullptr;
    s.user = nullptr;
    s.ring = nullptr;
    s.use.store(kFree, std::memory_order_release);
  }

  /// Request thread: registers our port `label` (" 2", " 3"... added when
  /// the name is taken) and connects it to `other`.
  jack_port_t* link(const std::string& label, const std::string& other, bool input,
                    std::string& error) {
    const unsigned long flags = input ? JackPortIsInput : JackPortIsOutput;
    const int room =
        jack_port_name_size() - static_cast<int>(std::strlen(jack_get_client_name(client))) - 2;
    const std::string base = label.substr(0, static_cast<std::size_t>(std::max(8, room - 4)));
    jack_port_t* port = nullptr;
    for (int n = 1; n <= 64 && !port; ++n) {
      std::string name = n == 1 ? base : base + " " + std::to_string(n);
      port = jack_port_register(client, name.c_str(), JACK_DEFAULT_MIDI_TYPE, flags, 0);
      std::string full = std::string(jack_get_client_name(client)) + ":" + name;
      if (!port && !jack_port_by_name(client, full.c_str())) break;  // refused for another reason
    }
    if (!port) {
      error = "cannot register a JACK port '" + label + "'";
      return nullptr;
    }
    const char* ours = jack_port_name(port);
    const int r = input ? jack_connect(client, other.c_str(), ours)
                        : jack_connect(client, ours, other.c_str());
    if (r != 0 && r != EEXIST) {
      error = "JACK refused the connection to '" + other + "'";
      jack_port_unregister(client, port);
      return nullptr;
    }
    return port;
  }
};

class JackClient {
 public:
  JackClient() : g_(std::make_shared<Graph>()) {}
  // Closed on the request thread, after every request before it; one that
  // was only listing has none, and is closed here.
  ~JackClient() {
    if (!g_->client) return;
    if (!active_ && !ever_active_) {
      jack_client_close(g_->client);
      return;
    }
    requests_.post([g = g_] { jack_client_close(g->client); });
  }
  JackClient(const JackClient&) = delete;
  JackClient& operator=(const JackClient&) = delete;

  bool open(std::function<void()> on_change, bool active, std::string& why) {
    g_->on_change = std::move(on_change);
    jack_status_t status{};
    g_->client = jack_client_open(kMidiClientName, JackNoStartServer, &status);
    if (!g_->client) {
      why = (status & JackServerFailed) ? "no JACK server running"
                                        : "the JACK server refused a client";
      if (const char* name = std::getenv("JACK_DEFAULT_SERVER"); name && *name)
        why += std::string(" (server name '") + name + "')";
      return false;
    }
    jack_on_shutdown(g_->client, &Graph::on_shutdown, g_.get());
    if (!active) return true;
    if (jack_set_process_callback(g_->client, &Graph::process, g_.get()) != 0 ||
        jack_set_port_registration_callback(g_->client, &Graph::on_registration, g_.get()) != 0 ||
        jack_activate(g_->client) != 0) {
      why = "cannot activate a JACK client";
      return false;
    }
    active_ = ever_active_ = true;
    return true;
  }

  jack_client_t* get() const { return g_->client; }
  bool active() const { return active_; }
  bool gone() const { return g_->gone.load(std::memory_order_acquire); }

  void stop_notices() {
    std::lock_guard lk(g_->notify_mu);
    g_->on_change = nullptr;
  }

  /// Leaves the graph, waiting at most `limit` for a server that may have
  /// stalled. A client that dies in the graph holds a server in sync mode
  /// for ten times its timeout.
  void deactivate(std::chrono::milliseconds limit) {
    if (!active_ || gone()) return;
    active_ = false;
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> f = done->get_future();
    requests_.post([g = g_, done] {
      jack_deactivate(g->client);
      g->stopped.store(true, std::memory_order_release);
      done->set_value();
    });
    if (f.wait_for(limit) != std::future_status::ready)
      spdlog::warn("midi: the JACK server did not answer within {} ms; leaving its graph anyway",
                   limit.count());
  }

  /// Loop thread: a slot with our port `label` registered and connected to
  /// `other`, still kBusy (the caller makes it live); nullptr with `error`.
  Graph::Slot* open_port(const std::string& label, const std::string& other, bool input,
                         std::string& error) {
    if (!active_) {
      error = "the JACK client is for listing only";
      return nullptr;
    }
    if (stalled_->load()) {  // one open is still waiting: no other waits behind it
      error = "the JACK server has not answered an earlier request yet";
      return nullptr;
    }
    Graph::Slot* slot = g_->take();
    if (!slot) {
      error = "every JACK port slot is in use";
      return nullptr;
    }
    struct Result {
      std::mutex mu;
      std::condition_variable cv;
      bool done = false, abandoned = false;
      jack_port_t* port = nullptr;
      std::string error;
    };
    auto r = std::make_shared<Result>();
    requests_.post([g = g_, r, slot, label, other, input, stalled = stalled_] {
      std::string error;
      jack_port_t* port = g->link(label, other, input, error);
      std::lock_guard lk(r->mu);
      if (r->abandoned) {  // the loop stopped waiting: undone here
        slot->port = port;
        g->release(*slot);
        stalled->store(false);
        return;
      }
      r->port = port;
      r->error = std::move(error);
      r->done = true;
      r->cv.notify_one();
    });
    std::unique_lock lk(r->mu);
    if (!r->cv.wait_for(lk, kOpenLimit, [&] { return r->done; })) {
      r->abandoned = true;
      stalled_->store(true);
      error = "the JACK server did not answer within " + std::to_string(kOpenLimit.count()) + " ms";
      return nullptr;
    }
    if (!r->port) {
      error = r->error;
      lk.unlock();
      slot->use.store(Graph::kFree, std::memory_order_release);
      return nullptr;
    }
    slot->port = r->port;
    return slot;
  }

  /// Closer thread: out of the process callback's reach now (an output
  /// muted); disconnected and unregistered on the request thread.
  void close_port(Graph::Slot& slot, bool output) {
    g_->quiesce(slot, output ? Graph::kMuted : Graph::kBusy);
    requests_.post([g = g_, s = &slot] { g->release(*s); });
  }

  bool connected_to(const Graph::Slot& slot, const std::string& other) const {
    return !gone() && jack_port_connected_to(slot.port, other.c_str()) != 0;
  }

 private:
  std::shared_ptr<Graph> g_;
  JobThread requests_;
  bool active_ = false, ever_active_ = false;
  std::shared_ptr<std::atomic<bool>> stalled_ = std::make_shared<std::atomic<bool>>(false);
};

/// A port of ours and the port it is linked to; the base of input and output.
class JackPort {
 public:
  JackPort(std::shared_ptr<JackClient> client, Graph::Slot* slot, std::string other, bool output)
      : client_(std::move(client)), slot_(slot), other_(std::move(other)), output_(output) {}

 protected:
  ~JackPort() { unlink(); }
  /// Out of the process callback's reach; called by the derived class's
  /// destructor, before its members go.
  void unlink() {
    if (slot_) client_->close_port(*std::exchange(slot_, nullptr), output_);
  }
  /// A connection shows in the graph from the server's next cycle on: until
  /// it has shown once, its absence means nothing yet.
  bool linked() const {
    if (!slot_ || client_->gone()) return false;
    if (client_->connected_to(*slot_, other_)) {
      seen_.store(true, std::memory_order_relaxed);
      return true;
    }
    return !seen_.load(std::memory_order_relaxed);
  }

  std::shared_ptr<JackClient> client_;  // outlives every port of it
  Graph::Slot* slot_;
  std::string other_;
  bool output_;
  mutable std::atomic<bool> seen_{false};
};

class JackInput final : public MidiInput, JackPort {
 public:
  JackInput(std::shared_ptr<JackClient> c, Graph::Slot* slot, std::string other, MidiBytesFn fn,
            void* user)
      : JackPort(std::move(c), slot, std::move(other), /*output=*/false) {
    slot_->fn = fn;
    slot_->user = user;
    slot_->use.store(Graph::kReading, std::memory_order_seq_cst);
  }
  ~JackInput() override { unlink(); }
  bool alive() const override { return linked(); }
};

class JackOutput final : public MidiOutput, JackPort {
 public:
  JackOutput(std::shared_ptr<JackClient> c, Graph::Slot* slot, std::string other)
      : JackPort(std::move(c), slot, std::move(other), /*output=*/true) {
    slot_->ring = &ring_;
    slot_->use.store(Graph::kWriting, std::memory_order_seq_cst);
  }
  ~JackOutput() override { unlink(); }  // before ring_ goes
  // The writer thread is the ring's one producer; the process callback its consumer.
  bool send(const std::uint8_t* data, std::size_t len) noexcept override {
    MidiPacket m;
    if (len == 0 || len > sizeof m.bytes) return false;
    m.len = static_cast<std::uint8_t>(len);
    std::memcpy(m.bytes, data, len);
    return ring_.push(m);
  }
  bool alive() const override { return linked(); }

 private:
  OutRing ring_;
};

class JackTransport final : public MidiApiClient {
 public:
  explicit JackTransport(std::shared_ptr<JackClient> c) : client_(std::move(c)) {}
  // Ports still closing keep the client; its notices and its process cycle
  // stop here.
  ~JackTransport() override {
    client_->stop_notices();
    client_->deactivate(500ms);
  }

  const char* name() const override { return "jack"; }
  std::string why() const override { return "the JACK server stopped"; }

  bool list(bool input, std::vector<std::string>& names) override {
    names.clear();
    if (client_->gone()) return false;
    // Sources are JACK output ports, destinations JACK input ports.
    const char** ports = jack_get_ports(client_->get(), nullptr, JACK_DEFAULT_MIDI_TYPE,
                                        input ? JackPortIsOutput : JackPortIsInput);
    for (const char** p = ports; p && *p; ++p)
      if (!own_midi_port(*p)) names.emplace_back(*p);
    if (ports) jack_free(ports);
    return !client_->gone();
  }

  std::unique_ptr<MidiInput> open_input(const std::string& name, const std::string& label,
                                        MidiBytesFn on_bytes, void* user,
                                        std::string& error) override {
    Graph::Slot* slot = client_->open_port(label, name, /*input=*/true, error);
    if (!slot) return nullptr;
    return std::make_unique<JackInput>(client_, slot, name, on_bytes, user);
  }
  std::unique_ptr<MidiOutput> open_output(const std::string& name, const std::string& label,
                                          std::string& error) override {
    Graph::Slot* slot = client_->open_port(label, name, /*input=*/false, error);
    if (!slot) return nullptr;
    return std::make_unique<JackOutput>(client_, slot, name);
  }

 private:
  std::shared_ptr<JackClient> client_;
};

void jack_to_debug(const char* text) {
  spdlog::debug("jack: {}", text);
}

}  // namespace

std::unique_ptr<MidiApiClient> open_jack_api(std::function<void()> on_change, bool active,
                                             std::string& why) {
  // libjack prints to stderr on every failed attempt; the service tells
  // once, in its own log.
  static const bool quiet = [] {
    jack_set_error_function(&jack_to_debug);
    jack_set_info_function(&jack_to_debug);
    return true;
  }();
  (void)quiet;
  auto client = std::make_shared<JackClient>();
  if (!client->open(std::move(on_change), active, why)) return nullptr;
  return std::make_unique<JackTransport>(std::move(client));
}

}  // namespace csb
