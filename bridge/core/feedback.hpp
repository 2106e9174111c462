#pragma once
// Feedback (SPEC §3.4): what one `feedback:` entry sends to its device, and
// when. A FeedbackOutput turns the values the orchestra writes (numbers, or
// text for a string channel) into the bytes the device gets, sends only what
// changes the device's bytes, keeps to the entry's rate, retries a send that
// failed, and keeps the last bytes for a device that reconnects.
//
// It knows nothing of Csound: the engine reads the channel and hands the value
// over. Threads: every member on the performance thread, except resend(),
// which also runs on the loop thread (no performance runs, or its resend
// queue is full): it copies the last bytes under a spinlock of its own.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/channels.hpp"
#include "core/config.hpp"
#include "core/spin.hpp"
#include "core/text.hpp"

namespace csb {

/// What became of one feedback message.
enum class SendResult : std::uint8_t {
  sent,    ///< written whole
  absent,  ///< no port open: the device gets the last value when it connects
  failed,  ///< a port is open but the message did not go out (buffer full, busy): retry
};

/// A device output the performance thread writes feedback to. Implemented
/// by transports; try_send may be called from the performance thread and the
/// loop thread at once and must never block.
class FeedbackPort {
 public:
  virtual ~FeedbackPort() = default;
  /// Writes the bytes now, without blocking.
  virtual SendResult try_send(const char* data, std::size_t len) noexcept = 0;
};

/// One `feedback:` entry bound to its device port.
struct FeedbackBinding {
  Feedback config;
  FeedbackPort* port = nullptr;  ///< lives as long as the engine's configuration
  std::uint32_t slot = kNoSlot;  ///< channel-table slot of the channel (for `get`)
};

/// Feedback counters, shared by every entry of an engine.
struct FeedbackCounters {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> failed{0};
};

/// A `line:` template split once into pieces, formatted without allocating.
class LineTemplate {
 public:
  explicit LineTemplate(const std::string& tpl);
  /// Writes the line for a number, or for `text` when it is not null, into
  /// buf (cap bytes). Returns its length, 0 if it does not fit.
  std::size_t format(double v, const std::string_view* text, const std::string& name, char* buf,
                     std::size_t cap) const;

 private:
  enum class Piece : std::uint8_t { text, value, name };
  struct Part {
    Piece kind;
    std::string text;
    ValueFormat format;
  };
  void flush(std::string& text);
  std::vector<Part> pieces_;
};

class FeedbackOutput {
 public:
  static constexpr std::size_t kMaxBytes = 512;

  FeedbackOutput(FeedbackBinding binding, FeedbackCounters& counters);

  const FeedbackBinding& binding() const { return binding_; }
  /// Text can be sent: a `line:` entry. MIDI entries take numbers only.
  bool takes_text() const { return binding_.config.kind == FeedbackKind::line; }

  /// A new performance: the device keeps what it has, nothing waits.
  void restart();
  /// The orchestra's value changed (NaN and infinities are ignored).
  void observe(double v, std::int64_t now_ns);
  /// The orchestra's text changed (a string channel; line entries only).
  void observe_text(std::string_view text, std::int64_t now_ns);
  /// Sends what waits for the rate or for a retry, once they allow.
  void flush(std::int64_t now_ns);
  bool pending() const { return pending_; }

  /// Sends the last bytes again, to `to` (the device reconnected). False when
  /// there are none or the send did not go out.
  bool resend(FeedbackPort* to);

 private:
  void offer(std::size_t len, std::int64_t now_ns);
  void send(std::int64_t now_ns);

  FeedbackBinding binding_;
  FeedbackCounters& counters_;
  LineTemplate tpl_;
  std::int64_t interval_ns_ = 0;

  char want_[kMaxBytes];  // the bytes for the latest value
  std::size_t want_len_ = 0;
  char have_[kMaxBytes];  // what the device has (or gets when it connects)
  std::size_t have_len_ = 0;
  bool has_have_ = false;
  std::int64_t last_send_ns_ = std::numeric_limits<std::int64_t>::min() / 2;  // none yet
  bool pending_ = false;  // want_ waits for the rate, or for a retry
  bool failing_ = false;  // the last send failed (counted once)

  // The bytes of the last send, for resend() from either thread.
  SpinLock last_lock_;
  char last_[kMaxBytes];
  std::size_t last_len_ = 0;
};

}  // namespace csb
