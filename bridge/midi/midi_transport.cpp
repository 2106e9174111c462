#include "midi/midi_transport.hpp"

#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>

#include "midi/alsa_announce.hpp"
#include "midi/midi_device.hpp"

namespace csb {

namespace asio = boost::asio;

MidiTransport::MidiTransport(asio::io_context& io, MidiApi api, std::function<void()> scan_soon)
    : io_(io), api_(api), scan_soon_(std::move(scan_soon)), wake_(io) {}

MidiTransport::~MidiTransport() {
  announce_.reset();
  backend_.reset();
  wake_.release();  // the waker owns the eventfd
}

bool MidiTransport::handles(const DeviceConfig& d) const {
  return d.kind == DeviceKind::midi;
}

bool MidiTransport::follows_alsa() const {
  return api_ != MidiApi::jack;
}

std::unique_ptr<Device> MidiTransport::make(const Config& config, DeviceIndex index,
                                            DeviceSink& sink) {
  if (!waker_) {
    waker_ = std::make_shared<MidiWaker>();
    wake_.assign(waker_->fd());
    wait_wake();
  }
  // JACK tells port registrations on its own thread: a scan follows on the loop.
  if (!backend_)
    backend_ = std::make_unique<MidiBackend>(api_, [this] { asio::post(io_, scan_soon_); });
  if (!announce_ && follows_alsa()) announce_ = std::make_unique<AlsaAnnounce>(io_, scan_soon_);
  const DeviceConfig& d = config.devices[index];
  return std::make_unique<MidiDevice>(*this, d, index, config.feeds_back(d.name), waker_, sink);
}

void MidiTransport::reconfigure(const Config& next) {
  if (next.midi_api == api_) return;
  // No device of the old API was kept (MidiDevice::keeps): its next device opens the new one.
  backend_.reset();
  announce_.reset();
  api_ = next.midi_api;
}

void MidiTransport::begin_scan() {
  taken_in_.clear();
  taken_out_.clear();
  if (!backend_) return;
  backend_->refresh();
  // A sequencer loaded after the start (snd-seq comes with the first
  // controller on some boards): follow its announcements from now on.
  if (announce_ && !announce_->listening() && std::strcmp(backend_->api_name(), "alsa") == 0)
    announce_ = std::make_unique<AlsaAnnounce>(io_, scan_soon_);
}

bool MidiTransport::exited(const std::string& name) const {
  return announce_ && announce_->listening() && backend_ &&
         std::strcmp(backend_->api_name(), "alsa") == 0 && announce_->exited(name);
}

std::chrono::milliseconds MidiTransport::end_scan() {
  if (!backend_) return std::chrono::milliseconds(0);
  if (announce_) announce_->forget_exits();
  // An output opened now is said (and its feedback resent) at the next
  // scan, which a plug seen from an event must not leave to the period.
  if (std::any_of(devices_.begin(), devices_.end(), [](auto* d) { return d->announcing(); }))
    return std::chrono::milliseconds(20);
  // No MIDI API yet (a JACK server starting after the service, or one too
  // busy to take the client): asked again within a second, whatever the
  // scan period; its notices then find the ports.
  if (!backend_->available()) return std::chrono::milliseconds(1000);
  return std::chrono::milliseconds(0);
}

void MidiTransport::wait_wake() {
  if (!wake_.is_open()) return;
  wake_.async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec) return;
    waker_->rearm();
    for (MidiDevice* d : devices_) d->drain();
    wait_wake();
  });
}

void MidiTransport::stop() {
  boost::system::error_code ec;
  if (wake_.is_open()) wake_.cancel(ec);
}

const char* MidiTransport::api_name() const {
  return backend_ ? backend_->api_name() : "";
}

void MidiTransport::describe(nlohmann::json& status) const {
  status["midi"]["api"] = api_name();
  status["midi"]["available"] = backend_ && backend_->available();
}

void MidiTransport::attach(MidiDevice* d) {
  devices_.push_back(d);
}

void MidiTransport::detach(MidiDevice* d) {
  devices_.erase(std::remove(devices_.begin(), devices_.end(), d), devices_.end());
}

}  // namespace csb
