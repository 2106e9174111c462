#pragma once
// What MIDI devices share (SPEC §3, §5): the MIDI API and its port lists
// (MidiBackend), ALSA's announcements of ports that start and exit, the
// eventfd the input threads wake the loop with, and the port names the
// devices hold, so a port goes to the first device whose glob matches it.
// It makes the MidiDevice of a `midi:` entry. Loop thread.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "device/device.hpp"

namespace csb {

class AlsaAnnounce;
class MidiBackend;
class MidiDevice;
class MidiWaker;

class MidiTransport : public Transport {
 public:
  /// `scan_soon` runs on the loop when the API announces a port.
  MidiTransport(boost::asio::io_context& io, MidiApi api, std::function<void()> scan_soon);
  ~MidiTransport() override;

  bool handles(const DeviceConfig& d) const override;
  std::unique_ptr<Device> make(const Config& config, DeviceIndex index, DeviceSink& sink) override;
  /// Another `midi.api`: the API is closed, and opened anew at the next scan.
  void reconfigure(const Config& next) override;
  void begin_scan() override;
  std::chrono::milliseconds end_scan() override;
  void stop() override;
  /// status.midi: the API open and whether one is.
  void describe(nlohmann::json& status) const override;

  MidiApi api() const { return api_; }
  /// The open API's lists; nullptr before the first MIDI device.
  const MidiBackend* backend() const { return backend_.get(); }
  /// "alsa", "jack", or "" when none is open.
  const char* api_name() const;
  /// Whether the port `name` exited since the last scan (ALSA's announcements).
  bool exited(const std::string& name) const;
  /// The port names the devices hold open.
  std::vector<std::string>& taken_inputs() { return taken_in_; }
  std::vector<std::string>& taken_outputs() { return taken_out_; }

  /// A device made here is drained when its inputs wake the loop.
  void attach(MidiDevice* d);
  void detach(MidiDevice* d);

 private:
  void wait_wake();
  /// ALSA's announcements are followed when ALSA is (or may become) the API.
  bool follows_alsa() const;

  boost::asio::io_context& io_;
  MidiApi api_;
  std::function<void()> scan_soon_;
  std::shared_ptr<MidiWaker> waker_;
  std::unique_ptr<MidiBackend> backend_;
  std::unique_ptr<AlsaAnnounce> announce_;  ///< port starts and exits, when the API is ALSA
  boost::asio::posix::stream_descriptor wake_;
  std::vector<MidiDevice*> devices_;
  std::vector<std::string> taken_in_, taken_out_;
};

}  // namespace csb
