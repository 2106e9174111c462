// ALSA sequencer announcements: the System client's Announce port (0:1)
// tells every client and port start and exit as it happens. A port that
// leaves and comes back under the same name and address between two scans
// has lost every subscription; only this tells it apart from one that
// stayed. Used with the ALSA MIDI API; without a sequencer it does nothing.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <string>
#include <vector>

namespace csb {

class AlsaAnnounce {
 public:
  /// Opens a client of its own subscribed to 0:1. `on_change` runs on the
  /// loop after any start or exit (a scan is then due).
  AlsaAnnounce(boost::asio::io_context& io, std::function<void()> on_change);
  ~AlsaAnnounce();
  AlsaAnnounce(const AlsaAnnounce&) = delete;
  AlsaAnnounce& operator=(const AlsaAnnounce&) = delete;

  /// False when there is no sequencer to listen to.
  bool listening() const { return seq_ != nullptr; }
  /// Whether the port named `name` (RtMidi's ALSA names end in
  /// " CLIENT:PORT") exited since the last forget_exits(): it must be
  /// closed even when a port of the same name is listed again.
  bool exited(const std::string& name) const;
  void forget_exits() { exited_.clear(); }

 private:
  void wait();
  void read_events();

  void* seq_ = nullptr;  // snd_seq_t, kept out of this header
  boost::asio::posix::stream_descriptor fd_;
  std::function<void()> on_change_;
  std::vector<std::string> exited_;  ///< "C:P" of ports, "C:" of clients
};

}  // namespace csb
