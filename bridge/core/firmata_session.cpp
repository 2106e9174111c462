#include "core/firmata_session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace csb::firmata {

namespace {

/// A problem's text, formatted without allocating.
struct Text {
  char buf[160];
  std::size_t n = 0;
  template <class... Args>
  Text(fmt::format_string<Args...> f, Args&&... args) {
    n = fmt::format_to_n(buf, sizeof buf, f, std::forward<Args>(args)...).size;
    n = std::min(n, sizeof buf);
  }
  std::string_view view() const { return {buf, n}; }
};

}  // namespace

PinPlan plan_for(const Config& config, std::uint32_t device) {
  PinPlan plan;
  if (device >= config.devices.size()) return plan;
  const DeviceConfig& dev = config.devices[device];
  plan.sampling_ms = dev.sampling_ms;
  for (const Mapping& m : config.map) {
    if (m.from.device != dev.name) continue;
    for (int pin = std::max(m.from.lo, 0); pin <= m.from.hi && pin < kMaxPins; ++pin) {
      if (m.from.kind == SourceKind::analog && pin < kMaxChannels)
        plan.analog |= static_cast<std::uint16_t>(1u << pin);
      else if (m.from.kind == SourceKind::digital)
        (m.pullup ? plan.pullup : plan.input)[pin] = true;
    }
  }
  plan.input &= ~plan.pullup;
  for (const Feedback& f : config.feedback) {
    if (f.device != dev.name || f.number < 0 || f.number >= kMaxPins) continue;
    if (f.kind == FeedbackKind::firmata_digital) plan.output[f.number] = true;
    if (f.kind == FeedbackKind::firmata_pwm) plan.pwm[f.number] = true;
    if (f.kind == FeedbackKind::firmata_servo) plan.servo[f.number] = true;
  }
  return plan;
}

void Session::open(std::int64_t now) {
  board_ = Board{};
  firmware_ = Firmware{};
  protocol_ = 0;
  probing_ = false;
  heard_at_ = now;
  std::fill(std::begin(port_out_), std::end(port_out_), std::uint8_t{0});
  state_ = State::kAsking;
  tries_ = 0;
  versions_owed_ = firmwares_owed_ = 0;
  ask(now);
}

void Session::ask(std::int64_t now) {
  std::uint8_t out[kMaxEncoded];
  send(out, query_version(out));
  send(out, query_firmware(out));
  ++versions_owed_;
  ++firmwares_owed_;
  asked_at_ = now;
}

void Session::query(State next, std::int64_t now) {
  state_ = next;
  std::uint8_t out[kMaxEncoded];
  send(out, next == State::kCapabilities ? query_capability(out) : query_analog_mapping(out));
  asked_at_ = now;
}

void Session::go_silent() {
  state_ = State::kSilent;
  probing_ = false;
  ++stats_.silences;
  host_.silent();
}

void Session::tick(std::int64_t now) {
  if (state_ == State::kClosed || state_ == State::kSilent) return;
  if (state_ == State::kReady && !probing_) {
    if (now - heard_at_ < kIdleNs) return;
    probing_ = true;  // quiet for long: is it still there?
    tries_ = 0;
    std::uint8_t out[kMaxEncoded];
    send(out, query_version(out));
    ++versions_owed_;
    asked_at_ = now;
    return;
  }
  if (now - asked_at_ < kReplyNs) return;
  const int limit = state_ == State::kAsking ? kAskTries : kQueryTries;
  if (++tries_ >= limit) {
    go_silent();
    return;
  }
  ++stats_.retries;
  std::uint8_t out[kMaxEncoded];
  switch (state_) {
    case State::kAsking:
      ask(now);
      break;
    case State::kCapabilities:
    case State::kMapping:
      query(state_, now);
      break;
    default:  // ready, probing
      send(out, query_version(out));
      ++versions_owed_;
      asked_at_ = now;
      break;
  }
}

std::int64_t Session::next_tick() const {
  switch (state_) {
    case State::kClosed:
    case State::kSilent:
      return std::numeric_limits<std::int64_t>::max();
    case State::kReady:
      if (!probing_) return heard_at_ + kIdleNs;
      [[fallthrough]];
    default:
      return asked_at_ + kReplyNs;
  }
}

void Session::heard(std::int64_t now) {
  heard_at_ = now;
  if (probing_) {  // anything at all answers a probe
    probing_ = false;
    tries_ = 0;
  }
}

void Session::on_report(bool firmware, std::int64_t now) {
  int& owed = firmware ? firmwares_owed_ : versions_owed_;
  const bool asked = owed > 0;
  if (asked) --owed;
  switch (state_) {
    case State::kAsking:
      tries_ = 0;
      query(State::kCapabilities, now);
      return;
    case State::kReady:
      // Ours are answered (a probe asks the version only); anything else is
      // what a board sends at its start. While the handshake runs, a restart
      // only delays an answer: it is asked again.
      if (asked) return;
      ++stats_.restarts;
      host_.problem("the board restarted: setting it up again");
      tries_ = 0;
      query(State::kCapabilities, now);
      return;
    default:
      return;
  }
}

void Session::on_message(const Message& m, std::int64_t now) {
  if (state_ == State::kClosed) return;
  heard(now);
  switch (m.command) {
    case kVersion:
      protocol_ = m.data[0] * 100 + m.data[1];
      on_report(/*firmware=*/false, now);
      return;
    case kAnalogMessage:
      if (state_ == State::kReady && ((plan_.analog >> m.index) & 1u))
        host_.analog(m.index, m.value());
      return;
    case kDigitalMessage: {
      if (state_ != State::kReady) return;
      const int port = m.index;
      const unsigned levels = static_cast<unsigned>(m.value()) & 0xFFu;
      for (int k = 0; k < 8; ++k) {
        const int pin = port * 8 + k;
        if (!usable_in_[pin]) continue;
        const unsigned level = (levels >> k) & 1u;
        const unsigned before = (port_in_[port] >> k) & 1u;
        if (in_known_[pin] && level == before) continue;
        in_known_[pin] = true;
        port_in_[port] = static_cast<std::uint8_t>((port_in_[port] & ~(1u << k)) | (level << k));
        // A pulled-up pin reads low while its button to ground is pressed: pressed is 1.
        host_.digital(pin, static_cast<int>(plan_.pullup[pin] ? level ^ 1u : level));
      }
      return;
    }
    default:  // a host's command: not what a board sends
      ++stats_.unknown;
      return;
  }
}

void Session::on_sysex(std::uint8_t id, std::span<const std::uint8_t> payload, std::int64_t now) {
  if (state_ == State::kClosed) return;
  heard(now);
  switch (id) {
    case kReportFirmware: {
      Firmware f;
      if (!parse_firmware(payload, f)) {
        ++stats_.malformed;
        return;
      }
      firmware_ = f;
      on_report(/*firmware=*/true, now);
      return;
    }
    case kCapabilityResponse:
      if (state_ != State::kCapabilities) return;  // an answer to a query sent again
      if (!parse_capability(payload, board_)) {
        ++stats_.malformed;  // asked again at the next tick
        return;
      }
      tries_ = 0;
      query(State::kMapping, now);
      return;
    case kAnalogMappingResponse:
      if (state_ != State::kMapping) return;
      if (!parse_analog_mapping(payload, board_)) {
        ++stats_.malformed;
        return;
      }
      configure();
      return;
    case kStringData: {
      char text[64];
      std::size_t n = 0;
      if (parse_string(payload, text, sizeof text, n))
        host_.text({text, n});
      else
        ++stats_.malformed;
      return;
    }
    default:
      ++stats_.unknown;
      return;
  }
}

void Session::configure() {
  std::uint8_t out[kMaxEncoded];
  usable_in_.reset();
  in_known_.reset();
  std::fill(std::begin(port_out_), std::end(port_out_), std::uint8_t{0});

  for (int c = 0; c < kMaxChannels; ++c) {
    if (!((plan_.analog >> c) & 1u)) continue;
    const int pin = board_.analog_pin(c);
    if (pin < 0 || !board_.pins[pin].supports(Mode::kAnalog)) {
      host_.problem(Text("A{}: the board has no analog input A{}", c, c).view());
      continue;
    }
    send(out, set_pin_mode(pin, Mode::kAnalog, out));
    send(out, report_analog(c, true, out));
  }

  // A pin that is an analog input the plan reads is that, not a D pin: any
  // other mode set on it turns its analog reporting off.
  auto analog_read = [&](int pin) {
    const int c = board_.pins[pin].analog;
    if (c == kNone || c >= kMaxChannels || !((plan_.analog >> c) & 1u)) return false;
    host_.problem(
        Text("D{}: it is A{} on this board, which a mapping reads; D{} is left out", pin, c, pin)
            .view());
    return true;
  };

  std::uint16_t report_ports = 0, pullup_ports = 0;
  for (int pin = 0; pin < kMaxPins; ++pin) {
    if (!plan_.input[pin] && !plan_.pullup[pin]) continue;
    if (analog_read(pin)) continue;
    const Pin& p = board_.pins[pin];
    Mode mode = plan_.pullup[pin] ? Mode::kPullup : Mode::kInput;
    if (!p.supports(mode) && mode == Mode::kPullup && p.supports(Mode::kInput)) {
      // Firmata before 2.5 has no INPUT_PULLUP: its pull-up is a 1 written
      // to an input pin, as Arduino's digitalWrite does.
      mode = Mode::kInput;
      port_out_[pin / 8] |= static_cast<std::uint8_t>(1u << (pin % 8));
      pullup_ports |= static_cast<std::uint16_t>(1u << (pin / 8));
    }
    if (!p.supports(mode)) {
      host_.problem(Text("D{}: the board cannot read pin {}", pin, pin).view());
      continue;
    }
    send(out, set_pin_mode(pin, mode, out));
    usable_in_[pin] = true;
    report_ports |= static_cast<std::uint16_t>(1u << (pin / 8));
  }

  struct Use {
    const std::bitset<kMaxPins>& pins;
    Mode mode;
    const char* word;
  };
  const Use writes[] = {{plan_.output, Mode::kOutput, "D"},
                        {plan_.pwm, Mode::kPwm, "PWM"},
                        {plan_.servo, Mode::kServo, "SERVO"}};
  if (plan_.output.any() && protocol_ < 205)
    host_.problem(Text("the board speaks Firmata {}.{}: D outputs need 2.5 or later (update its "
                       "StandardFirmata), so their feedback is ignored",
                       protocol_ / 100, protocol_ % 100)
                      .view());
  for (const Use& w : writes) {
    for (int pin = 0; pin < kMaxPins; ++pin) {
      if (!w.pins[pin] || analog_read(pin)) continue;
      if (!board_.pins[pin].supports(w.mode)) {
        host_.problem(
            Text("{}{}: pin {} cannot be driven that way on this board", w.word, pin, pin).view());
        continue;
      }
      send(out, set_pin_mode(pin, w.mode, out));
    }
  }

  for (int port = 0; port < kMaxChannels; ++port) {
    if ((pullup_ports >> port) & 1u) send(out, digital_port(port, port_out_[port], out));
    if ((report_ports >> port) & 1u) send(out, report_digital(port, true, out));
  }
  send(out, sampling_interval(plan_.sampling_ms, out));

  state_ = State::kReady;
  probing_ = false;
  tries_ = 0;
  // Every query before the mapping query was answered before its reply:
  // what is owed now was lost (sent while the board was in its bootloader).
  versions_owed_ = firmwares_owed_ = 0;
  ++stats_.handshakes;
  host_.configured();
}

}  // namespace csb::firmata
