// Fuzz target: the MIDI 1.0 byte decoder (core/midi.hpp). The input's first
// byte chooses how the rest is cut into reads; the rest is the byte stream.
//
// Checked, as the header promises: every message is well formed (a status
// byte with the top bit set, data bytes < 0x80, the size midi_data_length
// says), never a sysex status; every sysex is F0 .. F7 with data bytes
// between and at most kMaxSysex bytes; messages() counts what was emitted;
// and the stream decodes the same whatever the split (compared with one
// whole read), realtime bytes included.

#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "fuzz_util.hpp"

#include "core/midi.hpp"

namespace {

/// What the decoder emitted, in order: a message, or a sysex as its bytes.
using Event = std::vector<std::uint8_t>;

void check_message(const csb::MidiMessage& m) {
  FUZZ_CHECK(m.size >= 1 && m.size <= 3);
  FUZZ_CHECK(m.status() & 0x80);
  FUZZ_CHECK(m.status() != csb::midi::kSysexStart && m.status() != csb::midi::kSysexEnd);
  FUZZ_CHECK(m.size == csb::midi_data_length(m.status()) + 1);
  for (int i = 1; i < m.size; ++i) FUZZ_CHECK(m.data[i] < 0x80);
  FUZZ_CHECK(m.well_formed());
}

void check_sysex(std::span<const std::uint8_t> s) {
  FUZZ_CHECK(s.size() >= 2 && s.size() <= csb::MidiDecoder::kMaxSysex);
  FUZZ_CHECK(s.front() == csb::midi::kSysexStart && s.back() == csb::midi::kSysexEnd);
  for (std::size_t i = 1; i + 1 < s.size(); ++i) FUZZ_CHECK(s[i] < 0x80);
}

/// Feeds the stream in the reads `next_read` gives; returns what came out.
template <class NextRead>
std::vector<Event> decode(const std::uint8_t* bytes, std::size_t n, NextRead&& next_read) {
  csb::MidiDecoder decoder;
  std::vector<Event> events;
  for (std::size_t p = 0; p < n;) {
    std::size_t len = std::min(next_read(), n - p);
    decoder.feed(
        bytes + p, len,
        [&](const csb::MidiMessage& m) {
          check_message(m);
          events.emplace_back(m.data, m.data + m.size);
        },
        [&](std::span<const std::uint8_t> s) {
          check_sysex(s);
          events.emplace_back(s.begin(), s.end());
        });
    p += len;
  }
  FUZZ_CHECK(decoder.messages() == events.size());
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  fuzz::Splits splits(data[0]);
  const std::uint8_t* bytes = data + 1;
  const std::size_t n = size - 1;
  auto whole = decode(bytes, n, [&] { return n; });
  auto split = decode(bytes, n, [&] { return splits.next(); });
  FUZZ_CHECK(whole == split);
  return 0;
}
