#pragma once
// Validated configuration: plain structs, produced by config/loader.hpp from
// a YAML file. Nothing here parses or does I/O. Every value is already checked;
// code that consumes a Config never needs to validate it again.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/source_kind.hpp"

namespace csb {

/// A 1-based position in the configuration file (0 = unknown).
struct Mark {
  int line = 0;
  int col = 0;
};

enum class OnExit { restart, stop, exit };

struct CsoundConfig {
  std::string csd;                   ///< absolute path (resolved against the YAML's directory)
  std::vector<std::string> options;  ///< flags applied after the CSD's <CsOptions>
  std::vector<Mark> option_marks;    ///< where each of `options` stands in the file
  OnExit on_exit = OnExit::restart;
  std::chrono::nanoseconds restart_delay = std::chrono::milliseconds(500);
  bool watch = false;
  /// csound.pacing: auto (true) paces the performance to the clock when no
  /// audio device does; none (false) lets it run as fast as it can (offline).
  bool pace = true;
};

struct ControlConfig {
  std::string socket;  ///< empty: the default path (see SPEC §3)
  unsigned mode = 0660;
};

enum class MidiApi { automatic, alsa, jack };
enum class DeviceKind { midi, serial };
enum class SerialFormat { lines, midi, firmata };
enum class Flow { none, rtscts };

/// What a device is: two with equal settings are the same device (a reload
/// keeps it open). Compared by a defaulted ==, so a setting added here is
/// compared too.
struct DeviceSettings {
  std::string name;  ///< the key under `devices:`
  DeviceKind kind = DeviceKind::serial;
  std::string glob;  ///< `midi:` port-name glob or `serial:` path glob (absolute for serial)
  bool passthrough = false;  ///< MIDI kinds only
  unsigned baud = 115200;
  SerialFormat format = SerialFormat::lines;
  std::vector<std::string> columns;  ///< names for positional values (lines)
  std::size_t max_line = 256;        ///< bytes (lines)
  Flow flow = Flow::none;
  bool dtr = true;
  unsigned sampling_ms = 19;  ///< firmata: how often the board reports its analog pins

  bool operator==(const DeviceSettings&) const = default;

  /// True for MIDI ports and for serial ports speaking `format: midi`.
  bool speaks_midi() const { return kind == DeviceKind::midi || format == SerialFormat::midi; }
};

struct DeviceConfig : DeviceSettings {
  Mark mark;  ///< where it stands in the file: not part of what the device is

  const DeviceSettings& settings() const { return *this; }
};

/// `from: DEVICE SOURCE [ch N | ch N..M]`.
struct Source {
  std::string device;
  SourceKind kind = SourceKind::cc;
  int lo = 0, hi = 0;  ///< number or inclusive range (cc number, note, index, pin)
  bool has_number = false;
  std::string name;  ///< for `named`
  /// MIDI channels, 0-based: `ch 1..16` in the file less one, converted
  /// here once (messages and `{ch}` say them 1-based again). Every channel,
  /// 0..15, when `ch` is not written.
  int midi_channel_lo = 0, midi_channel_hi = 15;
};

enum class Curve { lin, exp, log, power };
enum class ValueMode { velocity, gate, toggle };
enum class Action { none, reset, reload, pause, resume, toggle_pause };

struct Mapping {
  Source from;
  // Exactly one of: to (channel), action (do:), score (score:).
  std::string to;  ///< channel-name template: {i} {n} {ch} {name}
  Action action = Action::none;
  std::string score;  ///< score-event template: {value} {n} {i} {ch}

  std::optional<std::pair<double, double>> in;  ///< raw input range; nullopt = source default
  std::pair<double, double> range{0.0, 1.0};    ///< output range (bend default: -1, 1)
  bool range_raw = false;                       ///< `range: raw`
  Curve curve = Curve::lin;
  double power = 1.0;  ///< exponent for Curve::power
  bool invert = false;
  ValueMode value = ValueMode::velocity;
  bool is_string = false;  ///< `type: string`
  bool pullup = false;     ///< `mode: pullup`: a firmata digital pin read with its pull-up on
  Mark mark;
};

enum class FeedbackKind {
  midi_cc,
  midi_cc14,
  midi_note,
  line,
  firmata_digital,
  firmata_pwm,
  firmata_servo
};

/// `feedback:` entry: a Csound output channel sent back to a device.
struct Feedback {
  std::string channel;  ///< `from:` channel the orchestra writes
  std::string device;   ///< device name from `to:`
  FeedbackKind kind = FeedbackKind::line;
  int number = 0;        ///< cc / note / pin number
  int midi_channel = 0;  ///< MIDI channel, 0-based: `ch 1..16` in the file less one
  std::string line;      ///< `line:` template for lines devices ({value} {name})
  std::pair<double, double> range{0.0, 1.0};  ///< channel range mapped onto the raw MIDI range
  double rate = 50.0;                         ///< max sends per second; 0 = every change
  Mark mark;
};

struct Config {
  std::string path;      ///< the YAML file ("<embedded>" for the built-in default)
  std::string base_dir;  ///< its directory; relative paths resolve against it
  CsoundConfig csound;
  ControlConfig control;
  std::chrono::nanoseconds scan = std::chrono::seconds(1);
  MidiApi midi_api = MidiApi::automatic;
  std::vector<DeviceConfig> devices;
  std::vector<Mapping> map;
  std::vector<Feedback> feedback;

  const DeviceConfig* find_device(const std::string& name) const {
    for (const auto& d : devices)
      if (d.name == name) return &d;
    return nullptr;
  }
  /// Whether a `feedback:` entry sends to the device named `name`.
  bool feeds_back(const std::string& name) const {
    for (const auto& f : feedback)
      if (f.device == name) return true;
    return false;
  }
};

/// One problem found in a configuration file.
struct Diagnostic {
  std::string file;
  Mark mark;
  std::string message;
  /// "FILE:LINE:COL: message" (or "FILE: message" without a position).
  std::string to_string() const;
};

/// Thrown by the loader with every problem it found, not only the first.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diags);
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }

 private:
  std::vector<Diagnostic> diags_;
};

}  // namespace csb
