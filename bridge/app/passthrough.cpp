#include "app/passthrough.hpp"

#include <spdlog/spdlog.h>

#include "core/router.hpp"

namespace csb {

std::size_t Passthrough::slot(std::uint32_t device, std::uint32_t port) {
  return std::size_t{device} * Router::kMaxMidiPorts + port % Router::kMaxMidiPorts;
}

void Passthrough::reset(std::size_t devices) {
  held_.assign(devices * Router::kMaxMidiPorts, NoteSet{});
}

void Passthrough::pass(std::uint32_t device, std::uint32_t port, const MidiMessage& m) {
  if (std::size_t i = slot(device, port); i < held_.size()) held_[i].feed(m);
  to_csound_(m);
}

void Passthrough::release(std::uint32_t device, std::uint32_t port, const std::string& name) {
  std::size_t i = slot(device, port);
  if (i >= held_.size() || held_[i].empty()) return;
  NoteSet& held = held_[i];
  held.for_each_release([&](const MidiMessage& m) { to_csound_(m); });
  spdlog::info("device {}: {} held note(s) ended as its port went away", name, held.note_count());
  held.clear();
}

}  // namespace csb
