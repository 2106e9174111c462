// ALSA's sequencer through RtMidi: listing with two unopened sequencer
// clients, one RtMidiIn or RtMidiOut (a client of its own) per open port.
// The only code that includes RtMidi.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>

#include <alsa/asoundlib.h>
#include <rtmidi/RtMidi.h>

#include "midi/midi_api.hpp"

namespace csb {

namespace {

/// Errors RtMidi reports on the thread that opens or lists.
struct Errors {
  bool any = false;
  std::string text;
  static void callback(RtMidiError::Type, const std::string& text, void* user) {
    auto* e = static_cast<Errors*>(user);
    e->any = true;
    if (e->text.empty()) e->text = text;
  }
  void clear() {
    any = false;
    text.clear();
  }
};

void quiet_alsa(const char*, int, const char*, int, const char*, ...) {}

/// The index of the port called `name` in `m`'s list now, or -1.
int find_port(RtMidi& m, const std::string& name) {
  unsigned n = m.getPortCount();
  for (unsigned i = 0; i < n; ++i)
    if (m.getPortName(i) == name) return static_cast<int>(i);
  return -1;
}

/// One RtMidiIn or RtMidiOut (a sequencer client of its own) opened on the
/// port `name`; the errors RtMidi reports while opening fail the open, the
/// ones after it are counted.
template <class R>
class AlsaPort {
 public:
  bool open(const std::string& name, const std::string& label, std::string& error,
            const std::function<void(R&)>& before_open = {}) {
    try {
      port_ = std::make_unique<R>(RtMidi::LINUX_ALSA, kMidiClientName);
      port_->setErrorCallback(&AlsaPort::on_error, this);
      int i = find_port(*port_, name);
      if (i < 0) throw RtMidiError("the port went away while opening it");
      if (before_open) before_open(*port_);
      port_->openPort(static_cast<unsigned>(i), label);
      if (open_errors_.any || !port_->isPortOpen())
        throw RtMidiError(open_errors_.any ? open_errors_.text : "not opened");
    } catch (const RtMidiError& e) {
      error = e.getMessage();
      return false;
    }
    opened_.store(true, std::memory_order_release);
    return true;
  }

 protected:
  // Errors once the port runs may come from RtMidi's own thread.
  static void on_error(RtMidiError::Type type, const std::string& text, void* self) {
    auto* p = static_cast<AlsaPort*>(self);
    if (!p->opened_.load(std::memory_order_acquire)) {
      if (std::this_thread::get_id() == p->opener_) Errors::callback(type, text, &p->open_errors_);
      return;
    }
    p->errors_.fetch_add(1, std::memory_order_relaxed);
  }

  std::unique_ptr<R> port_;
  std::atomic<std::uint64_t> errors_{0};

 private:
  Errors open_errors_;  // the opening thread only
  std::thread::id opener_ = std::this_thread::get_id();
  std::atomic<bool> opened_{false};
};

class AlsaInput final : public MidiInput, public AlsaPort<RtMidiIn> {
 public:
  AlsaInput(MidiBytesFn fn, void* user) : fn_(fn), user_(user) {}
  ~AlsaInput() override { port_.reset(); }  // RtMidi's thread stops here

  bool open(const std::string& name, const std::string& label, std::string& error) {
    return AlsaPort::open(name, label, error, [this](RtMidiIn& in) {
      in.ignoreTypes(/*sysex=*/false, /*time=*/false, /*sense=*/true);
      in.setCallback(&AlsaInput::on_message, this);
    });
  }
  std::uint64_t errors() const override { return errors_.load(std::memory_order_relaxed); }

 private:
  static void on_message(double, std::vector<unsigned char>* bytes, void* self) {
    auto* p = static_cast<AlsaInput*>(self);
    if (bytes && !bytes->empty()) p->fn_(p->user_, bytes->data(), bytes->size());
  }
  MidiBytesFn fn_;
  void* user_;
};

class AlsaOutput final : public MidiOutput, public AlsaPort<RtMidiOut> {
 public:
  // Every sequencer client is non-blocking: a full queue is an error (which
  // RtMidi reports through on_error, on this thread), not a wait.
  bool send(const std::uint8_t* data, std::size_t len) noexcept override {
    const std::uint64_t before = errors_.load(std::memory_order_relaxed);
    try {
      port_->sendMessage(data, len);
    } catch (...) {
      return false;
    }
    return errors_.load(std::memory_order_relaxed) == before;
  }
};

class AlsaTransport final : public MidiApiClient {
 public:
  AlsaTransport() {
    in_ = std::make_unique<RtMidiIn>(RtMidi::LINUX_ALSA, kMidiClientName);
    in_->setErrorCallback(&Errors::callback, &errors_);
    out_ = std::make_unique<RtMidiOut>(RtMidi::LINUX_ALSA, kMidiClientName);
    out_->setErrorCallback(&Errors::callback, &errors_);
  }
  const char* name() const override { return "alsa"; }
  std::string why() const override {
    return errors_.text.empty() ? "listing failed" : errors_.text;
  }

  bool list(bool input, std::vector<std::string>& names) override {
    names.clear();
    errors_.clear();
    RtMidi& m = input ? static_cast<RtMidi&>(*in_) : static_cast<RtMidi&>(*out_);
    unsigned n = m.getPortCount();
    for (unsigned i = 0; i < n; ++i) {
      std::string name = m.getPortName(i);
      if (!name.empty() && !own_midi_port(name)) names.push_back(std::move(name));
    }
    return !errors_.any;
  }

  std::unique_ptr<MidiInput> open_input(const std::string& name, const std::string& label,
                                        MidiBytesFn on_bytes, void* user,
                                        std::string& error) override {
    auto in = std::make_unique<AlsaInput>(on_bytes, user);
    if (!in->open(name, label, error)) return nullptr;
    return in;
  }
  std::unique_ptr<MidiOutput> open_output(const std::string& name, const std::string& label,
                                          std::string& error) override {
    auto out = std::make_unique<AlsaOutput>();
    if (!out->open(name, label, error)) return nullptr;
    return out;
  }

 private:
  Errors errors_;
  std::unique_ptr<RtMidiIn> in_;
  std::unique_ptr<RtMidiOut> out_;
};

}  // namespace

bool alsa_reachable(std::string& why) {
  // alsa-lib prints to stderr on every failed attempt; the service tells
  // once, in its own log.
  static const bool quiet = [] {
    snd_lib_error_set_handler(&quiet_alsa);
    return true;
  }();
  (void)quiet;
  if (::access("/dev/snd/seq", R_OK | W_OK) == 0) return true;
  why = std::string("no ALSA sequencer (/dev/snd/seq: ") + std::strerror(errno) + ")";
  return false;
}

std::unique_ptr<MidiApiClient> open_alsa_api(std::string& why) {
  // Asked first without RtMidi, which prints its complaint before an error
  // callback can be set.
  if (!alsa_reachable(why)) return nullptr;
  std::vector<RtMidi::Api> apis;
  RtMidi::getCompiledApi(apis);
  if (std::find(apis.begin(), apis.end(), RtMidi::LINUX_ALSA) == apis.end()) {
    why = "not built into this RtMidi";
    return nullptr;
  }
  try {
    return std::make_unique<AlsaTransport>();
  } catch (const RtMidiError& e) {
    why = e.getMessage();
  }
  return nullptr;
}

}  // namespace csb
