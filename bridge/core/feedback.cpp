#include "core/feedback.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "core/firmata.hpp"
#include "core/midi.hpp"
#include "core/placeholder.hpp"

namespace csb {

LineTemplate::LineTemplate(const std::string& tpl) {
  std::string text;
  auto known = [](std::string_view inside) {
    return inside == "name" || parse_value_placeholder(inside).has_value();
  };
  for_each_template_piece(tpl, known, [&](const TemplatePiece& p) {
    if (p.kind == TemplatePiece::Kind::text) {
      text += p.text;
      return;
    }
    flush(text);
    if (p.text == "name")
      pieces_.push_back({Piece::name, "", {}});
    else
      pieces_.push_back({Piece::value, "", *parse_value_placeholder(p.text)});
  });
  text += '\n';
  flush(text);
}

void LineTemplate::flush(std::string& text) {
  if (!text.empty()) pieces_.push_back({Piece::text, std::move(text), {}});
  text.clear();
}

std::size_t LineTemplate::format(double v, const std::string_view* text, const std::string& name,
                                 char* buf, std::size_t cap) const {
  std::size_t len = 0;
  for (const auto& [kind, piece, value_format] : pieces_) {
    char num[48];
    const char* src = piece.data();
    std::size_t n = piece.size();
    if (kind == Piece::value && text) {
      src = text->data();  // a string channel's text, whatever the format asks
      n = text->size();
    } else if (kind == Piece::value) {
      n = format_value(v, value_format, num);
      src = num;
    } else if (kind == Piece::name) {
      src = name.data();
      n = name.size();
    }
    if (len + n > cap) return 0;
    std::memcpy(buf + len, src, n);
    // A text's line breaks would make several lines of one: spaces instead.
    if (kind == Piece::value && text)
      std::replace_if(
          buf + len, buf + len + n, [](char c) { return c == '\n' || c == '\r'; }, ' ');
    len += n;
  }
  return len;
}

FeedbackOutput::FeedbackOutput(FeedbackBinding binding, FeedbackCounters& counters)
    : binding_(std::move(binding)),
      counters_(counters),
      tpl_(binding_.config.line),
      // At most one an hour: a tiny rate must not overflow the interval.
      interval_ns_(binding_.config.rate > 0
                       ? static_cast<std::int64_t>(std::min(1e9 / binding_.config.rate, 3600e9))
                       : 0) {}

void FeedbackOutput::restart() {
  want_len_ = 0;
  pending_ = false;
  failing_ = false;
}

void FeedbackOutput::observe(double v, std::int64_t now_ns) {
  if (!std::isfinite(v)) return;  // nothing a device could show
  std::size_t len;
  auto* bytes = reinterpret_cast<std::uint8_t*>(want_);
  switch (binding_.config.kind) {
    case FeedbackKind::line:
      len = tpl_.format(v, nullptr, binding_.config.channel, want_, sizeof want_);
      break;
    case FeedbackKind::firmata_digital:
    case FeedbackKind::firmata_pwm:
    case FeedbackKind::firmata_servo:
      len = firmata::encode_feedback(binding_.config, v, bytes);
      break;
    default:
      len = encode_feedback(binding_.config, v, bytes);
      break;
  }
  offer(len, now_ns);
}

void FeedbackOutput::observe_text(std::string_view text, std::int64_t now_ns) {
  if (!takes_text()) return;
  offer(tpl_.format(0, &text, binding_.config.channel, want_, sizeof want_), now_ns);
}

void FeedbackOutput::offer(std::size_t len, std::int64_t now_ns) {
  if (len == 0) {
    // Too long for one message: counted, never sent cut short.
    counters_.failed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  want_len_ = len;
  // The same bytes as the device has (a ramp over 0..1 makes 128 cc values,
  // not 750 a second; `{value:d}` one line per integer): nothing to send.
  if (has_have_ && have_len_ == len && std::memcmp(have_, want_, len) == 0) {
    pending_ = false;
    return;
  }
  if (interval_ns_ > 0 && now_ns - last_send_ns_ < interval_ns_) {
    pending_ = true;  // sent when the rate allows, at a later k-cycle
    return;
  }
  send(now_ns);
}

void FeedbackOutput::flush(std::int64_t now_ns) {
  if (pending_ && now_ns - last_send_ns_ >= interval_ns_) send(now_ns);
}

void FeedbackOutput::send(std::int64_t now_ns) {
  SendResult r = binding_.port ? binding_.port->try_send(want_, want_len_) : SendResult::failed;
  {
    std::lock_guard guard(last_lock_);
    std::memcpy(last_, want_, want_len_);
    last_len_ = want_len_;
  }
  last_send_ns_ = now_ns;
  switch (r) {
    case SendResult::sent:
    case SendResult::absent:  // the device gets it when it connects
      if (r == SendResult::sent) counters_.sent.fetch_add(1, std::memory_order_relaxed);
      std::memcpy(have_, want_, want_len_);
      have_len_ = want_len_;
      has_have_ = true;
      pending_ = failing_ = false;
      break;
    case SendResult::failed:
      if (!failing_) counters_.failed.fetch_add(1, std::memory_order_relaxed);
      failing_ = true;
      pending_ = true;  // again at the next k-cycle the rate allows
      break;
  }
}

bool FeedbackOutput::resend(FeedbackPort* to) {
  char buf[kMaxBytes];
  std::size_t len;
  {
    std::lock_guard guard(last_lock_);
    len = last_len_;
    std::memcpy(buf, last_, len);
  }
  if (len == 0) return false;
  bool ok = to->try_send(buf, len) == SendResult::sent;
  (ok ? counters_.sent : counters_.failed).fetch_add(1, std::memory_order_relaxed);
  return ok;
}

}  // namespace csb
