#pragma once
// A MIDI device (SPEC §3, §5), made by MidiTransport (midi_transport.hpp)
// on the MIDI API MidiBackend opened (midi_backend.hpp): one configured
// `midi:` device, every input port whose name its glob matches
// (case-insensitive, up to kMaxPorts), and the output ports too when it has
// feedback. Ports are matched by name on every scan, never by number; a port
// that leaves the list is closed and looked for again.
//
// Threads: the input callback runs on RtMidi's thread of the port (ALSA) or
// in JACK's process thread. It decodes the bytes, stamps them with the
// steady clock in ns, pushes whole messages onto the port's bounded SPSC ring
// and wakes the loop through one eventfd (one write per burst). Feedback
// goes out on a writer thread of each device that has output ports:
// try_send (any thread, the performance thread's included) only queues the
// bytes; the writer tries a message a port refuses (its queue full) again,
// 1 ms apart. Everything else runs on the loop thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/feedback.hpp"
#include "core/midi.hpp"
#include "core/router.hpp"
#include "device/device.hpp"
#include "midi/midi_api.hpp"
#include "midi/midi_backend.hpp"

namespace csb {

/// Counters of one input port, written by its MIDI thread.
struct MidiInCounters {
  std::atomic<std::uint64_t> messages{0};       ///< whole messages queued for the loop
  std::atomic<std::uint64_t> overflow{0};       ///< messages the full ring refused
  std::atomic<std::uint64_t> sysex{0};          ///< sysex messages seen (not routed)
  std::atomic<std::uint64_t> decode_errors{0};  ///< bytes or messages the decoder dropped
};

class MidiTransport;

class MidiDevice : public Device {
 public:
  static constexpr std::size_t kMaxPorts = Router::kMaxMidiPorts;

  /// Made by `transport` (midi_transport.hpp), which it scans with.
  MidiDevice(MidiTransport& transport, const DeviceConfig& config, DeviceIndex index,
             bool wants_output, std::shared_ptr<MidiWaker> waker, DeviceSink& sink);
  ~MidiDevice() override;

  const DeviceConfig& config() const override { return config_; }
  DeviceIndex index() const override { return index_; }
  void set_index(DeviceIndex index) override { index_ = index; }
  const char* kind_name() const override { return "midi"; }
  /// The same settings and API, and outputs wanted as before.
  bool keeps(const Config& next, DeviceIndex index) const override;

  void claim_open() override;
  /// Closes ports gone from the transport's lists, that exited (ALSA's
  /// announcements), or whose link the API dropped (MidiInput::alive), and
  /// opens new matching ones no device holds.
  void scan() override;
  /// Hands every queued message to the sink.
  void drain();
  void close_all(const std::string& why) override;
  bool connected() const override;
  DeviceStats stats() const override;

  /// Queues the bytes for every open output port (sent by the writer thread,
  /// in order); absent when none is open, failed when the queue is full.
  /// Any thread; never blocks.
  SendResult try_send(const char* data, std::size_t len) noexcept override;

  /// An output opened that the next scan will say (on_output_ready) and resend to.
  bool announcing() const;
  /// Names of the open input and output ports.
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  std::uint64_t messages_in() const;
  std::uint64_t overflow() const;
  std::uint64_t sysex() const;
  std::uint64_t decode_errors() const;
  std::uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  std::uint64_t send_failures() const { return send_failures_.load(std::memory_order_relaxed); }

 private:
  struct InPort;
  struct OutPort;
  struct Writer;
  /// The writer thread: sends what try_send queued to every open port.
  void write_loop();
  /// Writer thread: closes the port the loop closed while this thread sent.
  void hand_over_if_held(OutPort& o);
  void open_input(std::size_t slot, MidiApiClient& api, const std::string& name);
  void open_output(std::size_t slot, MidiApiClient& api, const std::string& name);
  /// One counter of the closed ports and the open ones.
  std::uint64_t summed(std::atomic<std::uint64_t> MidiInCounters::*field) const;
  /// Takes the port out of try_send's reach and closes it off the loop.
  void close_output(OutPort& o);

  MidiTransport& transport_;
  DeviceConfig config_;
  DeviceIndex index_;
  bool wants_output_;
  std::shared_ptr<MidiWaker> waker_;
  DeviceSink& sink_;
  std::unique_ptr<InPort> in_[kMaxPorts];
  // Made once and never replaced: try_send walks them from any thread, each
  // guarded by its own lock around the MidiOutput it may hold.
  std::unique_ptr<OutPort> out_[kMaxPorts];
  std::atomic<int> outputs_open_{0};
  std::unique_ptr<Writer> writer_;  // with wants_output_ only
  InputCounters counters_;
  MidiInCounters closed_;  // counts of ports since closed
  std::uint64_t connects_ = 0;
  std::string last_error_;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> send_failures_{0};
};

}  // namespace csb
