// Fuzz target: the Firmata framer and reply parsers (core/firmata.hpp). The
// input's first byte chooses the reading end (its top bit) and how the rest
// is cut into reads; the rest is the byte stream.
//
// Checked, as the header promises: every message has a command Firmata has,
// the data length data_length() gives at that end and data bytes < 0x80;
// every sysex payload is data bytes, within kMaxSysex; messages() counts
// what was emitted; the stream frames the same whatever the split. Every
// sysex is also handed to each parser; a capability or mapping reply that
// parses is written again by the board's encoder and must parse to the
// same pins, and a firmware report likewise to the same version and name.
// At the host end the stream also drives a Session (core/firmata_session.hpp)
// whose plan uses every kind of pin, with the clock moving 300 ms a read:
// what it sends must frame at the board's end without an error, and what it
// hands its host must be a pin or channel the plan reads.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "fuzz_util.hpp"

#include "core/firmata.hpp"
#include "core/firmata_session.hpp"

namespace {

namespace fm = csb::firmata;

using Event = std::vector<std::uint8_t>;

void check_message(const fm::Message& m, fm::End end) {
  const std::uint8_t status = m.command < 0xF0 ? m.command | m.index : m.command;
  FUZZ_CHECK(m.command & 0x80);
  FUZZ_CHECK(m.command >= 0xF0 || (m.command & 0x0F) == 0);
  FUZZ_CHECK(m.index < 16 && (m.command < 0xF0 || m.index == 0));
  FUZZ_CHECK(fm::data_length(status, end) == m.size);
  for (int i = 0; i < m.size; ++i) FUZZ_CHECK(m.data[i] < 0x80);
}

bool same_pins(const fm::Board& a, const fm::Board& b) {
  if (a.pin_count != b.pin_count || a.mapping_count != b.mapping_count) return false;
  for (int p = 0; p < fm::kMaxPins; ++p) {
    if (a.pins[p].modes != b.pins[p].modes || a.pins[p].analog != b.pins[p].analog) return false;
    if (std::memcmp(a.pins[p].resolution, b.pins[p].resolution, sizeof a.pins[p].resolution))
      return false;
  }
  return true;
}

/// The board's encoder writes `board` again; the host's parsers read it back.
void check_round_trip(const fm::Board& board) {
  static std::uint8_t out[8192];
  fm::Board again = board;
  std::size_t n = fm::capability_response(board, out, sizeof out);
  FUZZ_CHECK(n >= 3 && out[0] == fm::kStartSysex && out[n - 1] == fm::kEndSysex);
  FUZZ_CHECK(fm::parse_capability(std::span<const std::uint8_t>(out + 2, n - 3), again));
  n = fm::analog_mapping_response(board, out, sizeof out);
  FUZZ_CHECK(n >= 3);
  FUZZ_CHECK(fm::parse_analog_mapping(std::span<const std::uint8_t>(out + 2, n - 3), again));
  FUZZ_CHECK(same_pins(board, again));
}

void check_sysex(std::uint8_t id, std::span<const std::uint8_t> payload) {
  FUZZ_CHECK(id < 0x80);
  FUZZ_CHECK(payload.size() + 1 <= fm::Decoder::kMaxSysex);
  for (std::uint8_t b : payload) FUZZ_CHECK(b < 0x80);

  static fm::Board board;  // 2.7 KB: kept off the stack, parsed into again and again
  if (fm::parse_capability(payload, board)) {
    FUZZ_CHECK(board.pin_count >= 0 && board.pin_count <= fm::kMaxPins);
    check_round_trip(board);
  }
  if (fm::parse_analog_mapping(payload, board)) {
    FUZZ_CHECK(board.mapping_count == static_cast<int>(payload.size()));
    check_round_trip(board);
  }
  fm::Firmware f;
  if (fm::parse_firmware(payload, f)) {
    FUZZ_CHECK(f.length < sizeof f.text && f.text[f.length] == '\0');
    for (char c : f.name()) FUZZ_CHECK(c >= 0x20 && c < 0x7F);
    std::uint8_t out[fm::Decoder::kMaxSysex + 8];
    const std::size_t n = fm::firmware_report(f.major, f.minor, f.name(), out, sizeof out);
    FUZZ_CHECK(n > 0);
    fm::Firmware again;
    FUZZ_CHECK(fm::parse_firmware(std::span<const std::uint8_t>(out + 2, n - 3), again));
    FUZZ_CHECK(again.major == f.major && again.minor == f.minor && again.name() == f.name());
  }
  char text[32];
  std::size_t len = 0;
  if (fm::parse_string(payload, text, sizeof text, len)) FUZZ_CHECK(len < sizeof text);
  fm::PinState state;
  if (fm::parse_pin_state(payload, state)) FUZZ_CHECK(state.state < (1u << 28));
  std::uint8_t pin = 0;
  std::uint32_t value = 0;
  if (fm::parse_extended_analog(payload, pin, value)) {
    FUZZ_CHECK(value < (1u << 28));
    std::uint8_t out[fm::kMaxEncoded];
    FUZZ_CHECK(fm::analog_write(pin, value, out) <= fm::kMaxEncoded);
  }
  unsigned ms = 0;
  if (fm::parse_sampling_interval(payload, ms)) FUZZ_CHECK(ms < 16384);
}

/// Checks what a session does with the stream.
struct CheckingHost : fm::Session::Host {
  const fm::PinPlan& plan;
  fm::Decoder board{fm::End::kBoard};
  explicit CheckingHost(const fm::PinPlan& p) : plan(p) {}

  void send(const std::uint8_t* bytes, std::size_t n) override {
    FUZZ_CHECK(n > 0 && n <= fm::Decoder::kMaxSysex);
    board.feed(
        bytes, n, [](const fm::Message&) {}, [](std::uint8_t, std::span<const std::uint8_t>) {});
    FUZZ_CHECK(board.errors() == 0 && board.sysex_dropped() == 0);
  }
  void analog(int channel, int value) override {
    FUZZ_CHECK(channel >= 0 && channel < 16 && ((plan.analog >> channel) & 1u));
    FUZZ_CHECK(value >= 0 && value < (1 << 14));
  }
  void digital(int pin, int value) override {
    FUZZ_CHECK(pin >= 0 && pin < fm::kMaxPins && (plan.input[pin] || plan.pullup[pin]));
    FUZZ_CHECK(value == 0 || value == 1);
  }
  void configured() override {}
  void problem(std::string_view text) override { FUZZ_CHECK(!text.empty()); }
  void text(std::string_view) override {}
  void silent() override {}
};

fm::PinPlan every_kind_of_pin() {
  fm::PinPlan p;
  p.analog = 0xFFFF;
  for (int pin = 0; pin < fm::kMaxPins; ++pin) {
    switch (pin % 5) {
      case 0:
        p.input[pin] = true;
        break;
      case 1:
        p.pullup[pin] = true;
        break;
      case 2:
        p.output[pin] = true;
        break;
      case 3:
        p.pwm[pin] = true;
        break;
      default:
        p.servo[pin] = true;
        break;
    }
  }
  return p;
}

template <class NextRead>
std::vector<Event> decode(fm::End end, const std::uint8_t* bytes, std::size_t n,
                          NextRead&& next_read) {
  fm::Decoder decoder(end);
  std::vector<Event> events;
  static const fm::PinPlan plan = every_kind_of_pin();
  CheckingHost host(plan);
  fm::Session session(plan, host);
  std::int64_t now = 0;
  session.open(now);
  for (std::size_t p = 0; p < n;) {
    std::size_t len = std::min(next_read(), n - p);
    decoder.feed(
        bytes + p, len,
        [&](const fm::Message& m) {
          check_message(m, end);
          events.push_back({m.command, m.index, m.size, m.data[0], m.data[1]});
          if (end == fm::End::kHost) session.on_message(m, now);
        },
        [&](std::uint8_t id, std::span<const std::uint8_t> payload) {
          check_sysex(id, payload);
          Event e{0xF0, id};
          e.insert(e.end(), payload.begin(), payload.end());
          events.push_back(std::move(e));
          if (end == fm::End::kHost) session.on_sysex(id, payload, now);
        });
    p += len;
    now += 300'000'000;
    session.tick(now);
    FUZZ_CHECK(session.next_tick() > now);
  }
  FUZZ_CHECK(decoder.messages() == events.size());
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const fm::End end = (data[0] & 0x80) ? fm::End::kBoard : fm::End::kHost;
  fuzz::Splits splits(data[0]);
  const std::uint8_t* bytes = data + 1;
  const std::size_t n = size - 1;
  auto whole = decode(end, bytes, n, [&] { return n; });
  auto split = decode(end, bytes, n, [&] { return splits.next(); });
  FUZZ_CHECK(whole == split);
  return 0;
}
