#include "midi/midi_backend.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/text.hpp"

namespace csb {

namespace {

std::vector<const char*> apis_for(MidiApi wanted) {
  switch (wanted) {
    case MidiApi::alsa:
      return {"alsa"};
    case MidiApi::jack:
      return {"jack"};
    case MidiApi::automatic:
      break;
  }
  return {"alsa", "jack"};
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

bool own_midi_port(const std::string& name) {
  return glob_match_nocase(std::string(kMidiClientName) + "*", name);
}

namespace {

std::unique_ptr<MidiApiClient> open_client(const char* api, std::function<void()> on_change,
                                           bool active, std::string& why) {
  if (std::string(api) == "alsa") return open_alsa_api(why);
  return open_jack_api(std::move(on_change), active, why);
}

}  // namespace

std::vector<MidiPortName> list_all_midi_ports(std::vector<std::string>& problems) {
  std::vector<MidiPortName> out;
  for (const char* api : {"alsa", "jack"}) {
    std::string why;
    auto t = open_client(api, {}, /*active=*/false, why);
    if (!t) {
      problems.push_back(std::string(api) + ": " + why);
      continue;
    }
    std::vector<MidiPortName> found;
    bool ok = true;
    for (bool input : {true, false}) {
      std::vector<std::string> names;
      if (!t->list(input, names)) ok = false;
      for (auto& n : names) found.push_back({api, n, input});
    }
    if (!ok) {
      problems.push_back(std::string(api) + ": " + t->why());
      continue;
    }
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// --- MidiBackend ---------------------------------------------------------

MidiBackend::MidiBackend(MidiApi api, std::function<void()> on_change)
    : wanted_(api), on_change_(std::move(on_change)) {}
MidiBackend::~MidiBackend() = default;

const char* MidiBackend::api_name() const {
  return client_ ? client_->name() : "";
}

bool MidiBackend::open_api() {
  std::string why;
  for (const char* api : apis_for(wanted_)) {
    std::string reason;
    if (auto t = open_client(api, on_change_, /*active=*/true, reason)) {
      client_ = std::move(t);
      if (told_unavailable_)
        spdlog::info("midi: {} is available now", api);
      else
        spdlog::debug("midi: using {}", api);
      told_unavailable_ = false;
      return true;
    }
    why += (why.empty() ? "" : "; ") + std::string(api) + ": " + reason;
  }
  if (!told_unavailable_)
    spdlog::warn(
        "midi: no MIDI API can be opened ({}); MIDI devices stay absent, trying again every scan "
        "(every second at most)",
        why);
  told_unavailable_ = true;
  return false;
}

void MidiBackend::close_api() {
  client_.reset();
  inputs_.clear();
  outputs_.clear();
}

bool MidiBackend::refresh() {
  if (!available() && !open_api()) {
    inputs_.clear();
    outputs_.clear();
    return false;
  }
  if (!client_->list(true, inputs_) || !client_->list(false, outputs_)) {
    spdlog::warn("midi: {}; its ports are closed, looking for it again every scan", client_->why());
    close_api();
    told_unavailable_ = true;  // its return is said once, as "available now"
    return false;
  }
  return true;
}

}  // namespace csb
