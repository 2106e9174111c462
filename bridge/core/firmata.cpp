#include "core/firmata.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/scaling.hpp"

namespace csb::firmata {

namespace {

std::uint8_t lsb(std::uint32_t v) {
  return static_cast<std::uint8_t>(v & 0x7F);
}
std::uint8_t msb(std::uint32_t v) {
  return static_cast<std::uint8_t>((v >> 7) & 0x7F);
}
std::uint8_t data_byte(int v) {
  return static_cast<std::uint8_t>(v & 0x7F);
}

char printable(unsigned c) {
  return c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?';
}

/// A value in 7-bit groups, LSB first; false for none or more than four.
bool read_groups(std::span<const std::uint8_t> groups, std::uint32_t& value) {
  if (groups.empty() || groups.size() > 4) return false;
  value = 0;
  for (std::size_t i = 0; i < groups.size(); ++i) value |= std::uint32_t{groups[i]} << (7 * i);
  return true;
}

std::size_t sysex_query(std::uint8_t id, std::uint8_t* out) {
  out[0] = kStartSysex;
  out[1] = id;
  out[2] = kEndSysex;
  return 3;
}

}  // namespace

int data_length(std::uint8_t status, End reading) {
  if (status < 0x80) return -1;
  if (status < 0xF0) {
    switch (status & 0xF0) {
      case kDigitalMessage:
      case kAnalogMessage:
        return 2;
      case kReportAnalog:
      case kReportDigital:
        return 1;
      default:
        return -1;
    }
  }
  switch (status) {
    case kSetPinMode:
    case kSetDigitalPin:
      return 2;
    case kVersion:
      return reading == End::kBoard ? 0 : 2;
    case kSystemReset:
      return 0;
    default:
      return -1;
  }
}

Decoder::Decoder(End reading) : end_(reading), sysex_(new std::uint8_t[kMaxSysex]) {}

void Decoder::reset() {
  sysex_len_ = 0;
  in_sysex_ = false;
  sysex_overflow_ = false;
  skipping_ = false;
  status_ = 0;
  need_ = 0;
  have_ = 0;
}

// ---- Replies ----

bool parse_firmware(std::span<const std::uint8_t> payload, Firmware& out) {
  if (payload.size() < 2 || payload.size() % 2 != 0) return false;
  out.major = payload[0];
  out.minor = payload[1];
  std::size_t n = 0;
  for (std::size_t i = 2; i + 1 < payload.size() && n < sizeof out.text - 1; i += 2)
    out.text[n++] = printable(payload[i] | (payload[i + 1] << 7));
  out.text[n] = '\0';
  out.length = static_cast<std::uint8_t>(n);
  return true;
}

int Board::analog_pin(int channel) const {
  if (channel < 0 || channel >= kNone) return -1;
  for (int p = 0; p < mapping_count; ++p)
    if (pins[p].analog == channel) return p;
  return -1;
}

bool parse_capability(std::span<const std::uint8_t> payload, Board& board) {
  // First only checked, so a malformed reply leaves the board as it was.
  int count = 0;
  bool ended = true;  // the last pin's list closed by its 7F (a resolution may be 7F too)
  for (std::size_t i = 0; i < payload.size();) {
    if (payload[i] == kNone) {
      if (++count > kMaxPins) return false;
      ended = true;
      ++i;
    } else if (i + 1 < payload.size()) {
      ended = false;
      i += 2;
    } else {
      return false;
    }
  }
  if (!ended) return false;
  for (Pin& p : board.pins) {
    p.modes = 0;
    std::fill(std::begin(p.resolution), std::end(p.resolution), std::uint8_t{0});
  }
  int pin = 0;
  for (std::size_t i = 0; i < payload.size();) {
    if (payload[i] == kNone) {
      ++pin;
      ++i;
      continue;
    }
    const std::uint8_t mode = payload[i], bits = payload[i + 1];
    if (mode < 32) board.pins[pin].modes |= 1u << mode;
    if (mode < 16) board.pins[pin].resolution[mode] = bits;
    i += 2;
  }
  board.pin_count = count;
  return true;
}

bool parse_analog_mapping(std::span<const std::uint8_t> payload, Board& board) {
  if (payload.size() > static_cast<std::size_t>(kMaxPins)) return false;
  for (int p = 0; p < kMaxPins; ++p)
    board.pins[p].analog = static_cast<std::size_t>(p) < payload.size() ? payload[p] : kNone;
  board.mapping_count = static_cast<int>(payload.size());
  return true;
}

bool parse_pin_state(std::span<const std::uint8_t> payload, PinState& out) {
  if (payload.size() < 3) return false;
  std::uint32_t state = 0;
  if (!read_groups(payload.subspan(2), state)) return false;
  out.pin = payload[0];
  out.mode = payload[1];
  out.state = state;
  return true;
}

bool parse_string(std::span<const std::uint8_t> payload, char* out, std::size_t cap,
                  std::size_t& length) {
  if (payload.size() % 2 != 0 || cap == 0) return false;
  std::size_t n = 0;
  for (std::size_t i = 0; i + 1 < payload.size() && n + 1 < cap; i += 2)
    out[n++] = printable(payload[i] | (payload[i + 1] << 7));
  out[n] = '\0';
  length = n;
  return true;
}

bool parse_extended_analog(std::span<const std::uint8_t> payload, std::uint8_t& pin,
                           std::uint32_t& value) {
  if (payload.size() < 2) return false;
  std::uint32_t v = 0;
  if (!read_groups(payload.subspan(1), v)) return false;
  pin = payload[0];
  value = v;
  return true;
}

bool parse_sampling_interval(std::span<const std::uint8_t> payload, unsigned& ms) {
  if (payload.size() != 2) return false;
  ms = payload[0] | (payload[1] << 7);
  return true;
}

// ---- What a host sends ----

std::size_t query_version(std::uint8_t* out) {
  out[0] = kVersion;
  return 1;
}
std::size_t query_firmware(std::uint8_t* out) {
  return sysex_query(kReportFirmware, out);
}
std::size_t query_capability(std::uint8_t* out) {
  return sysex_query(kCapabilityQuery, out);
}
std::size_t query_analog_mapping(std::uint8_t* out) {
  return sysex_query(kAnalogMappingQuery, out);
}

std::size_t query_pin_state(int pin, std::uint8_t* out) {
  out[0] = kStartSysex;
  out[1] = kPinStateQuery;
  out[2] = data_byte(pin);
  out[3] = kEndSysex;
  return 4;
}

std::size_t set_pin_mode(int pin, Mode mode, std::uint8_t* out) {
  out[0] = kSetPinMode;
  out[1] = data_byte(pin);
  out[2] = static_cast<std::uint8_t>(mode) & 0x7F;
  return 3;
}

std::size_t report_analog(int channel, bool on, std::uint8_t* out) {
  out[0] = static_cast<std::uint8_t>(kReportAnalog | (channel & 0x0F));
  out[1] = on ? 1 : 0;
  return 2;
}

std::size_t report_digital(int port, bool on, std::uint8_t* out) {
  out[0] = static_cast<std::uint8_t>(kReportDigital | (port & 0x0F));
  out[1] = on ? 1 : 0;
  return 2;
}

std::size_t digital_port(int port, unsigned pins, std::uint8_t* out) {
  out[0] = static_cast<std::uint8_t>(kDigitalMessage | (port & 0x0F));
  out[1] = lsb(pins & 0xFF);
  out[2] = msb(pins & 0xFF);
  return 3;
}

std::size_t set_digital_pin(int pin, bool high, std::uint8_t* out) {
  out[0] = kSetDigitalPin;
  out[1] = data_byte(pin);
  out[2] = high ? 1 : 0;
  return 3;
}

std::size_t analog_write(int pin, std::uint32_t value, std::uint8_t* out) {
  pin &= 0x7F;
  value = std::min<std::uint32_t>(value, (1u << 28) - 1);
  if (pin < kMaxChannels && value < (1u << 14)) {
    out[0] = static_cast<std::uint8_t>(kAnalogMessage | pin);
    out[1] = lsb(value);
    out[2] = msb(value);
    return 3;
  }
  std::size_t n = 0;
  out[n++] = kStartSysex;
  out[n++] = kExtendedAnalog;
  out[n++] = static_cast<std::uint8_t>(pin);
  do {  // at least the two groups of the analog message
    out[n++] = lsb(value);
    value >>= 7;
  } while (value != 0 || n < 5);
  out[n++] = kEndSysex;
  return n;
}

std::size_t sampling_interval(unsigned ms, std::uint8_t* out) {
  ms = std::clamp(ms, 1u, 16383u);
  out[0] = kStartSysex;
  out[1] = kSamplingInterval;
  out[2] = lsb(ms);
  out[3] = msb(ms);
  out[4] = kEndSysex;
  return 5;
}

std::size_t servo_config(int pin, unsigned min_us, unsigned max_us, std::uint8_t* out) {
  min_us = std::min(min_us, 16383u);
  max_us = std::min(max_us, 16383u);
  out[0] = kStartSysex;
  out[1] = kServoConfig;
  out[2] = data_byte(pin);
  out[3] = lsb(min_us);
  out[4] = msb(min_us);
  out[5] = lsb(max_us);
  out[6] = msb(max_us);
  out[7] = kEndSysex;
  return 8;
}

std::size_t system_reset(std::uint8_t* out) {
  out[0] = kSystemReset;
  return 1;
}

// ---- What a board sends ----

std::size_t version_report(int major, int minor, std::uint8_t* out, std::size_t cap) {
  if (cap < 3) return 0;
  out[0] = kVersion;
  out[1] = data_byte(major);
  out[2] = data_byte(minor);
  return 3;
}

std::size_t firmware_report(int major, int minor, std::string_view name, std::uint8_t* out,
                            std::size_t cap) {
  const std::size_t n = 5 + 2 * name.size();
  if (cap < n) return 0;
  std::size_t k = 0;
  out[k++] = kStartSysex;
  out[k++] = kReportFirmware;
  out[k++] = data_byte(major);
  out[k++] = data_byte(minor);
  for (unsigned char c : name) {
    out[k++] = lsb(c);
    out[k++] = msb(c);
  }
  out[k++] = kEndSysex;
  return k;
}

std::size_t capability_response(const Board& board, std::uint8_t* out, std::size_t cap) {
  const int pins = std::clamp(board.pin_count, 0, kMaxPins);
  std::size_t n = 3 + static_cast<std::size_t>(pins);
  for (int p = 0; p < pins; ++p)
    n += 2 * static_cast<std::size_t>(__builtin_popcount(board.pins[p].modes));
  if (cap < n) return 0;
  std::size_t k = 0;
  out[k++] = kStartSysex;
  out[k++] = kCapabilityResponse;
  for (int p = 0; p < pins; ++p) {
    for (unsigned m = 0; m < 32; ++m) {
      if (!((board.pins[p].modes >> m) & 1u)) continue;
      out[k++] = static_cast<std::uint8_t>(m);
      out[k++] = m < 16 ? data_byte(board.pins[p].resolution[m]) : 1;
    }
    out[k++] = kNone;
  }
  out[k++] = kEndSysex;
  return k;
}

std::size_t analog_mapping_response(const Board& board, std::uint8_t* out, std::size_t cap) {
  const int pins = std::clamp(board.mapping_count, 0, kMaxPins);
  if (cap < 3 + static_cast<std::size_t>(pins)) return 0;
  std::size_t k = 0;
  out[k++] = kStartSysex;
  out[k++] = kAnalogMappingResponse;
  for (int p = 0; p < pins; ++p) out[k++] = data_byte(board.pins[p].analog);
  out[k++] = kEndSysex;
  return k;
}

// ---- Feedback ----

std::size_t encode_feedback(const Feedback& f, double value, std::uint8_t out[6]) {
  if (std::isnan(value)) return 0;
  const double x = feedback_position(f, value);
  std::uint8_t buf[kMaxEncoded];
  std::size_t n = 0;
  switch (f.kind) {
    case FeedbackKind::firmata_digital:
      n = set_digital_pin(f.number, x >= 0.5, buf);
      break;
    case FeedbackKind::firmata_pwm:
      n = analog_write(f.number, static_cast<std::uint32_t>(std::lround(x * 255.0)), buf);
      break;
    case FeedbackKind::firmata_servo:
      n = analog_write(f.number, static_cast<std::uint32_t>(std::lround(x * 180.0)), buf);
      break;
    default:
      return 0;
  }
  std::memcpy(out, buf, n);  // at most 6: values of 14 bits or fewer
  return n;
}

}  // namespace csb::firmata
