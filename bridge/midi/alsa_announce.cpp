#include "midi/alsa_announce.hpp"

#include <alsa/asoundlib.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

namespace csb {

namespace {
snd_seq_t* seq_of(void* p) {
  return static_cast<snd_seq_t*>(p);
}
}  // namespace

AlsaAnnounce::AlsaAnnounce(boost::asio::io_context& io, std::function<void()> on_change)
    : fd_(io), on_change_(std::move(on_change)) {
  snd_seq_t* seq = nullptr;
  if (snd_seq_open(&seq, "default", SND_SEQ_OPEN_INPUT, SND_SEQ_NONBLOCK) < 0) {
    spdlog::debug("midi: no ALSA sequencer to follow; MIDI ports are found by scanning only");
    return;
  }
  snd_seq_set_client_name(seq, "csbridge announce");
  int port = snd_seq_create_simple_port(seq, "announce", SND_SEQ_PORT_CAP_WRITE,
                                        SND_SEQ_PORT_TYPE_APPLICATION);
  pollfd pfd{};
  if (port < 0 ||
      snd_seq_connect_from(seq, port, SND_SEQ_CLIENT_SYSTEM, SND_SEQ_PORT_SYSTEM_ANNOUNCE) < 0 ||
      snd_seq_poll_descriptors(seq, &pfd, 1, POLLIN) != 1) {
    spdlog::warn("midi: cannot follow the ALSA sequencer's announcements; scanning only");
    snd_seq_close(seq);
    return;
  }
  seq_ = seq;
  boost::system::error_code ec;
  fd_.assign(::dup(pfd.fd), ec);
  spdlog::debug("midi: following the ALSA sequencer's announcements");
  wait();
}

AlsaAnnounce::~AlsaAnnounce() {
  boost::system::error_code ec;
  fd_.close(ec);
  if (seq_) snd_seq_close(seq_of(seq_));
}

void AlsaAnnounce::wait() {
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                 [this](boost::system::error_code ec) {
                   if (ec) return;
                   read_events();
                   wait();
                 });
}

void AlsaAnnounce::read_events() {
  bool changed = false;
  for (;;) {
    snd_seq_event_t* ev = nullptr;
    int r = snd_seq_event_input(seq_of(seq_), &ev);
    if (r == -EAGAIN || r == -EINTR) break;
    if (r == -ENOSPC) {  // overrun: something changed, the scan finds out what
      changed = true;
      continue;
    }
    if (r < 0 || !ev) break;
    switch (ev->type) {
      case SND_SEQ_EVENT_CLIENT_EXIT:
        exited_.push_back(std::to_string(ev->data.addr.client) + ":");
        changed = true;
        break;
      case SND_SEQ_EVENT_PORT_EXIT:
        exited_.push_back(std::to_string(ev->data.addr.client) + ":" +
                          std::to_string(ev->data.addr.port));
        changed = true;
        break;
      case SND_SEQ_EVENT_CLIENT_START:
      case SND_SEQ_EVENT_PORT_START:
        changed = true;
        break;
      default:
        break;
    }
    if (snd_seq_event_input_pending(seq_of(seq_), 0) == 0) break;
  }
  // Bounded: a storm of exits between two scans keeps at most this many.
  if (exited_.size() > 1024) exited_.erase(exited_.begin(), exited_.end() - 1024);
  if (changed && on_change_) on_change_();
}

bool AlsaAnnounce::exited(const std::string& name) const {
  auto sp = name.rfind(' ');
  if (sp == std::string::npos) return false;
  std::string addr = name.substr(sp + 1);
  auto colon = addr.find(':');
  if (colon == std::string::npos) return false;
  std::string client = addr.substr(0, colon + 1);
  return std::any_of(exited_.begin(), exited_.end(),
                     [&](const std::string& e) { return e == addr || e == client; });
}

}  // namespace csb
