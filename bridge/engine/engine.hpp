#pragma once
// The Csound engine (SPEC §4): one Csound instance running a CSD in a
// CsoundPerformanceThread, started, reset and stopped by a control thread of
// its own so that the event loop never waits for a compile or a join.
//
// Threads:
// - loop thread: every public member function unless said otherwise;
// - control thread (private): compiles, starts and joins performances and
//   reports through the Listener;
// - performance thread (Csound's): at the start of every k-cycle applies the
//   channel values that changed, queued score events, and feedback.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/channels.hpp"
#include "core/config.hpp"
#include "core/feedback.hpp"
#include "core/latency.hpp"
#include "core/midi.hpp"
#include "core/spsc.hpp"

namespace csb {

/// A Csound message line, handed from Csound's threads to the loop.
struct CsoundMessage {
  enum class Level : std::uint8_t { debug, info, warning, error };
  Level level = Level::info;
  std::uint16_t len = 0;
  char text[246];
};

/// The log level of one Csound message line (attr: Csound's message attribute;
/// previous: the level of the line before, so an error's location lines go with it).
CsoundMessage::Level classify_message(int attr, std::string_view text,
                                      CsoundMessage::Level previous);

/// What the control thread reports. Called on the control thread: the
/// listener must hand it to its own loop and return at once.
struct EngineEvent {
  enum class Kind { started, start_failed, ended };
  Kind kind = Kind::started;
  /// The restart() this comes from: events of an older one are stale.
  std::uint64_t generation = 0;
  int status = 0;  ///< ended: CsoundPerformanceThread::Join() (1 stop, 2 score end, <0 error)
  bool requested = false;  ///< ended: because stop() or restart() asked for it
  std::string error;       ///< start_failed: Csound's own error lines
  /// started: no audio device opened (why in `error`), so the performance
  /// plays silently, paced by the clock as with --audio null.
  bool audio_fallback = false;
  /// started: no real-time audio device paces the performance (--audio
  /// null, -n, -+rtaudio=null, a file), so the bridge paces it.
  bool self_paced = false;
  double sr = 0, kr = 0;
  int ksmps = 0;
  /// started: channels the orchestra declares (name, true for string channels).
  std::vector<std::pair<std::string, bool>> channels;
};

class Engine {
 public:
  struct Settings {
    std::string csd;
    std::vector<std::string> options;  ///< applied after the CSD's <CsOptions>
    bool audio_null = false;           ///< adds -odac -+rtaudio=null after all others
    /// Some device passes its MIDI through: Csound's MIDI input is the
    /// host's (host-implemented MIDI I/O, `-M0`), fed by push_midi().
    bool host_midi = false;
    /// Pace k-cycles to the clock whenever no real-time audio device does
    /// (csound.pacing: auto); false for csound.pacing: none.
    bool pace = true;
  };
  using Listener = std::function<void(EngineEvent)>;

  /// Creates the Csound instance and the control thread. Throws on failure.
  Engine(ChannelTable& channels, Listener listener);
  /// Stops any performance and joins every thread.
  ~Engine();

  /// Sets what the next start (restart()) uses; a running performance keeps
  /// what it started with until then. The ports of the old bindings must
  /// live until the next started or start_failed event.
  void configure(Settings settings, std::vector<FeedbackBinding> feedback);

  /// Starts a performance, or restarts the running one (stop, join, reset,
  /// compile from disk, restore channel values, play). Asynchronous; returns
  /// the generation its events will carry.
  std::uint64_t restart();
  /// Stops and joins everything. Blocks at most about one k-cycle plus a
  /// running compile.
  void shutdown();
  void pause();
  void resume();
  bool running() const { return running_.load(); }
  /// True once the performance thread has actually stopped for a pause().
  bool paused() const { return paused_.load(); }
  /// The running performance is paced by the bridge, not by an audio device.
  bool self_paced() const { return self_paced_.load(); }

  /// Queues a score event (`i 1 0 1 ...`) for the next k-cycle. False, and
  /// counted, when no performance runs or the queue is full.
  bool push_score(std::string_view event);

  /// Queues one MIDI message for Csound's MIDI input (passthrough); the
  /// performance thread hands it over whole at the next k-cycle. Transient:
  /// dropped and counted while no performance runs, while paused, or when
  /// the queue is nearly full. Note-offs queue while paused too, into room
  /// kept for them; one that still finds no room ends its note later (no
  /// hanging notes).
  bool push_midi(const MidiMessage& m);

  /// Sends the last value of every feedback entry bound to `port` again, to
  /// `to` (the port that just (re)connected: `port` itself or one of its
  /// group). While a performance runs the performance thread does it, in
  /// order with its own sends. Loop thread.
  void resend_feedback(FeedbackPort* port, FeedbackPort* to);

  /// How many channel-table slots the performance thread has looked up in the
  /// running orchestra (a `get` of a new name waits for it). Any thread.
  std::uint32_t looked_up_slots() const { return looked_up_.load(std::memory_order_acquire); }

  /// How many times the performance thread has looked again for watched
  /// names the orchestra did not have (every 8 k-cycles). Any thread.
  std::uint64_t watch_sweeps() const { return watch_sweeps_.load(std::memory_order_acquire); }

  /// Takes the next Csound message line, if any. Loop thread.
  bool pop_message(CsoundMessage& out) { return messages_.pop(out); }

  // Counters, readable from any thread.
  std::uint64_t kcycles() const { return kcycles_.load(std::memory_order_relaxed); }
  std::uint64_t dropped_transient() const { return dropped_transient_.load(); }
  std::uint64_t dropped_messages() const { return dropped_messages_.load(); }
  std::uint64_t feedback_sent() const { return feedback_.sent.load(); }
  std::uint64_t feedback_failed() const { return feedback_.failed.load(); }
  std::uint64_t midi_passed() const { return midi_passed_.load(); }
  const LatencyHistogram& latency() const { return latency_; }

 private:
  void wake_paused();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  ChannelTable& channels_;

  std::atomic<bool> running_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> self_paced_{false};
  std::atomic<std::uint64_t> kcycles_{0};
  std::atomic<std::uint64_t> dropped_transient_{0};
  std::atomic<std::uint64_t> dropped_messages_{0};
  FeedbackCounters feedback_;
  std::atomic<std::uint64_t> midi_passed_{0};
  /// Note-offs push_midi() could not queue, by channel and note (bit n of
  /// [ch][n / 64]); the performance thread sends them for notes that sound.
  std::atomic<std::uint64_t> pending_off_[16][2] = {};
  std::atomic<bool> any_pending_off_{false};
  std::atomic<std::uint32_t> looked_up_{0};
  std::atomic<std::uint64_t> watch_sweeps_{0};
  LatencyHistogram latency_;

  struct ScoreEvent {
    std::uint16_t len = 0;
    char text[254];
  };
  struct Resend {
    FeedbackPort* port = nullptr;
    FeedbackPort* to = nullptr;
  };
  SpscRing<ScoreEvent, 256> scores_;                   // loop -> performance thread
  SpscRing<Resend, 64> resends_;                       // loop -> performance thread
  SpscRing<MidiMessage, 1024> midi_in_;                // loop -> performance thread
  static constexpr std::size_t kMidiOffReserve = 128;  // of midi_in_, for note-offs
  SpscRing<CsoundMessage, 512> messages_;              // Csound -> loop

  friend struct EngineCallbacks;
};

}  // namespace csb
