// Tests of the YAML configuration loader (SPEC §3): what a valid file becomes,
// and where each kind of mistake is reported.

#include "config/loader.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace csb {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

/// A fresh directory with a dummy CSD, removed after the test.
class ConfigDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "csb-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    write_file(dir_ / "synth.csd", "<CsoundSynthesizer></CsoundSynthesizer>\n");
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Prefix that makes a file valid: a csound section pointing at the dummy CSD.
  static constexpr const char* head = "csound:\n  csd: synth.csd\n";

  Config load(const std::string& yaml) { return load_config_text(yaml, "t.yaml", dir_.string()); }

  /// The diagnostics of an invalid file; fails the test if it loads.
  std::vector<Diagnostic> errors(const std::string& yaml) {
    try {
      load(yaml);
    } catch (const ConfigError& e) {
      return e.diagnostics();
    }
    ADD_FAILURE() << "expected a ConfigError for:\n" << yaml;
    return {};
  }

  /// Checks the file has exactly one problem, at LINE:COL, whose message holds `fragment`.
  void expect_one_error(const std::string& yaml, int line, int col, const std::string& fragment) {
    auto diags = errors(yaml);
    ASSERT_EQ(diags.size(), 1u) << dump(diags);
    EXPECT_EQ(diags[0].file, "t.yaml");
    EXPECT_EQ(diags[0].mark.line, line) << diags[0].to_string();
    EXPECT_EQ(diags[0].mark.col, col) << diags[0].to_string();
    EXPECT_NE(diags[0].message.find(fragment), std::string::npos)
        << "'" << fragment << "' not in: " << diags[0].message;
  }

  static std::string dump(const std::vector<Diagnostic>& diags) {
    std::string out;
    for (const auto& d : diags) out += d.to_string() + "\n";
    return out;
  }

  /// The one mapping of a file made of `head`, `devices` and one map entry.
  Mapping one_mapping(const std::string& devices, const std::string& entry) {
    Config c = load(std::string(head) + "devices:\n" + devices + "map:\n" + entry);
    EXPECT_EQ(c.map.size(), 1u);
    return c.map.empty() ? Mapping{} : c.map[0];
  }

  fs::path dir_;
};

const char* knobs = "  knobs:\n    midi: \"nano*\"\n";
const char* board = "  board:\n    serial: /dev/ttyACM*\n";
const char* uno = "  uno:\n    serial: /dev/ttyUSB*\n    format: firmata\n";

// The example of SPEC §3, as printed there.
const char* spec_example = R"(csound:
  csd: ../csd/synth.csd          # required
  options: [-odac, -b128, -B512] # Csound flags, applied after the CSD's <CsOptions>
  on_exit: restart               # when the performance ends by itself: restart | stop | exit
  restart_delay: 500ms           # first back-off after a failed start; doubles up to 30s
  watch: false                   # restart when the CSD file changes on disk

control:
  socket: /run/csbridge/control.sock   # default: $RUNTIME_DIRECTORY/control.sock,
                                       # else $XDG_RUNTIME_DIR/csbridge.sock, else /tmp/csbridge-$UID.sock
  mode: "0660"

scan: 1s                         # how often absent devices (MIDI and serial) are looked for

midi:
  api: auto                      # auto | alsa | jack  (auto: ALSA, then JACK)

devices:
  knobs:
    midi: "nanoKONTROL2*"        # glob on the RtMidi port name, case-insensitive
    passthrough: true            # also feed its raw MIDI to Csound's MIDI input
  board:
    serial: "/dev/serial/by-id/usb-Arduino*"   # glob on the device path
    baud: 115200                 # any rate termios2 accepts, 31250 included
    format: lines                # lines | midi | firmata
    columns: [light, dist]       # names for bare positional values (format lines)
    max_line: 256                # bytes; longer lines are dropped and counted

map:
  - from: knobs cc 0..7          # DEVICE SOURCE [ch CHANNELS]
    to: "fader{i}"
  - from: knobs cc 16 ch 1
    to: cutoff
    range: [100, 8000]
    curve: exp
  - from: knobs note 36..51
    to: "pad{i}"
    value: velocity              # velocity | gate | toggle
  - from: knobs cc 45
    do: reset                    # reset | reload | pause | resume | toggle_pause
  - from: knobs note 60
    score: 'i "kick" 0 0.5 {value}'
  - from: board light
    to: brightness
    in: [0, 1023]
  - from: board tag
    to: rfid
    type: string

feedback:
  - from: level                  # a channel the orchestra writes (chnset)
    to: knobs cc 20
    range: [0, 1]
    rate: 30                     # at most this many sends a second; only on change
  - from: led
    to: board
    line: "led={value}"
)";

TEST_F(ConfigDir, LoadConfigFile_SpecExampleBecomesTheExpectedStructs) {
  write_file(dir_ / "csd" / "synth.csd", "<CsoundSynthesizer></CsoundSynthesizer>\n");
  write_file(dir_ / "conf" / "bridge.yaml", spec_example);
  Config c = load_config_file((dir_ / "conf" / "bridge.yaml").string());

  EXPECT_EQ(c.base_dir, (dir_ / "conf").string());
  EXPECT_EQ(c.csound.csd, (dir_ / "csd" / "synth.csd").string());
  EXPECT_EQ(c.csound.options, (std::vector<std::string>{"-odac", "-b128", "-B512"}));
  EXPECT_EQ(c.csound.on_exit, OnExit::restart);
  EXPECT_EQ(c.csound.restart_delay, milliseconds(500));
  EXPECT_FALSE(c.csound.watch);
  EXPECT_EQ(c.control.socket, "/run/csbridge/control.sock");
  EXPECT_EQ(c.control.mode, 0660u);
  EXPECT_EQ(c.scan, seconds(1));
  EXPECT_EQ(c.midi_api, MidiApi::automatic);

  ASSERT_EQ(c.devices.size(), 2u);
  const DeviceConfig* k = c.find_device("knobs");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->kind, DeviceKind::midi);
  EXPECT_EQ(k->glob, "nanoKONTROL2*");
  EXPECT_TRUE(k->passthrough);
  EXPECT_TRUE(k->speaks_midi());
  EXPECT_EQ(k->mark.line, 19);
  EXPECT_EQ(k->mark.col, 3);
  const DeviceConfig* b = c.find_device("board");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->kind, DeviceKind::serial);
  EXPECT_EQ(b->glob, "/dev/serial/by-id/usb-Arduino*");
  EXPECT_EQ(b->baud, 115200u);
  EXPECT_EQ(b->format, SerialFormat::lines);
  EXPECT_EQ(b->columns, (std::vector<std::string>{"light", "dist"}));
  EXPECT_EQ(b->max_line, 256u);
  EXPECT_EQ(b->flow, Flow::none);
  EXPECT_TRUE(b->dtr);

  ASSERT_EQ(c.map.size(), 7u);
  const Mapping& faders = c.map[0];
  EXPECT_EQ(faders.from.device, "knobs");
  EXPECT_EQ(faders.from.kind, SourceKind::cc);
  EXPECT_TRUE(faders.from.has_number);
  EXPECT_EQ(faders.from.lo, 0);
  EXPECT_EQ(faders.from.hi, 7);
  EXPECT_EQ(faders.from.midi_channel_lo, 0);  // any channel
  EXPECT_EQ(faders.from.midi_channel_hi, 15);
  EXPECT_EQ(faders.to, "fader{i}");
  EXPECT_EQ(faders.mark.line, 30);
  EXPECT_EQ(faders.mark.col, 5);

  const Mapping& cutoff = c.map[1];
  EXPECT_EQ(cutoff.from.lo, 16);
  EXPECT_EQ(cutoff.from.midi_channel_lo, 0);  // ch 1
  EXPECT_EQ(cutoff.from.midi_channel_hi, 0);
  EXPECT_EQ(cutoff.range, (std::pair{100.0, 8000.0}));
  EXPECT_EQ(cutoff.curve, Curve::exp);

  const Mapping& pads = c.map[2];
  EXPECT_EQ(pads.from.kind, SourceKind::note);
  EXPECT_EQ(pads.from.lo, 36);
  EXPECT_EQ(pads.from.hi, 51);
  EXPECT_EQ(pads.value, ValueMode::velocity);

  EXPECT_EQ(c.map[3].action, Action::reset);
  EXPECT_TRUE(c.map[3].to.empty());
  EXPECT_EQ(c.map[4].score, "i \"kick\" 0 0.5 {value}");
  EXPECT_EQ(c.map[4].from.lo, 60);

  const Mapping& light = c.map[5];
  EXPECT_EQ(light.from.kind, SourceKind::named);
  EXPECT_EQ(light.from.name, "light");
  EXPECT_EQ(light.in, (std::pair{0.0, 1023.0}));
  EXPECT_TRUE(c.map[6].is_string);
  EXPECT_EQ(c.map[6].from.name, "tag");

  ASSERT_EQ(c.feedback.size(), 2u);
  const Feedback& level = c.feedback[0];
  EXPECT_EQ(level.channel, "level");
  EXPECT_EQ(level.device, "knobs");
  EXPECT_EQ(level.kind, FeedbackKind::midi_cc);
  EXPECT_EQ(level.number, 20);
  EXPECT_EQ(level.midi_channel, 0);  // ch 1, the default
  EXPECT_EQ(level.range, (std::pair{0.0, 1.0}));
  EXPECT_EQ(level.rate, 30.0);
  EXPECT_EQ(level.mark.line, 51);
  const Feedback& led = c.feedback[1];
  EXPECT_EQ(led.kind, FeedbackKind::line);
  EXPECT_EQ(led.device, "board");
  EXPECT_EQ(led.line, "led={value}");
  EXPECT_EQ(led.rate, 50.0);
}

TEST_F(ConfigDir, LoadConfigText_MinimalFileTakesEveryDefault) {
  Config c = load(head);
  EXPECT_EQ(c.csound.csd, (dir_ / "synth.csd").string());
  EXPECT_TRUE(c.csound.options.empty());
  EXPECT_EQ(c.csound.on_exit, OnExit::restart);
  EXPECT_EQ(c.csound.restart_delay, milliseconds(500));
  EXPECT_FALSE(c.csound.watch);
  EXPECT_EQ(c.control.socket, "");
  EXPECT_EQ(c.control.mode, 0660u);
  EXPECT_EQ(c.scan, seconds(1));
  EXPECT_EQ(c.midi_api, MidiApi::automatic);
  EXPECT_TRUE(c.devices.empty());
  EXPECT_TRUE(c.map.empty());
  EXPECT_TRUE(c.feedback.empty());
}

TEST_F(ConfigDir, LoadConfigText_PathsResolveAgainstBaseDir) {
  write_file(dir_ / "sub" / "x.csd", "<CsoundSynthesizer></CsoundSynthesizer>\n");
  Config c = load(
      "csound:\n  csd: ./sub/../sub/x.csd\ncontrol:\n  socket: run/ctl.sock\n"
      "devices:\n  b:\n    serial: ttys/fake*\n  abs:\n    serial: /dev/ttyS*\n");
  EXPECT_EQ(c.csound.csd, (dir_ / "sub" / "x.csd").string());
  EXPECT_EQ(c.control.socket, (dir_ / "run" / "ctl.sock").string());
  EXPECT_EQ(c.devices[0].glob, (dir_ / "ttys" / "fake*").string());
  EXPECT_EQ(c.devices[1].glob, "/dev/ttyS*");
}

TEST_F(ConfigDir, LoadConfigText_DurationsAndModes) {
  Config c =
      load(std::string(head) + "  restart_delay: 500us\nscan: 1.5s\ncontrol:\n  mode: 0600\n");
  EXPECT_EQ(c.csound.restart_delay, std::chrono::microseconds(500));
  EXPECT_EQ(c.scan, milliseconds(1500));
  EXPECT_EQ(c.control.mode, 0600u);
  EXPECT_EQ(load(std::string(head) + "control:\n  mode: \"0666\"\nscan: 20ms\n").control.mode,
            0666u);
}

TEST_F(ConfigDir, LoadConfigText_DeviceDefaultsAndSerialOptions) {
  Config c = load(std::string(head) +
                  "devices:\n  b:\n    serial: /dev/ttyACM*\n"
                  "  din:\n    serial: /dev/ttyAMA0\n    format: midi\n    baud: 31250\n"
                  "    passthrough: true\n    flow: rtscts\n    dtr: false\n");
  const DeviceConfig& b = c.devices[0];
  EXPECT_EQ(b.format, SerialFormat::lines);
  EXPECT_EQ(b.baud, 115200u);
  EXPECT_EQ(b.max_line, 256u);
  EXPECT_FALSE(b.passthrough);
  EXPECT_TRUE(b.dtr);
  const DeviceConfig& din = c.devices[1];
  EXPECT_EQ(din.format, SerialFormat::midi);
  EXPECT_TRUE(din.speaks_midi());
  EXPECT_EQ(din.baud, 31250u);
  EXPECT_TRUE(din.passthrough);
  EXPECT_EQ(din.flow, Flow::rtscts);
  EXPECT_FALSE(din.dtr);
}

TEST_F(ConfigDir, Source_EveryMidiKind) {
  struct Case {
    const char* from;
    SourceKind kind;
    int lo, hi;
    bool has_number;
  };
  const Case cases[] = {
      {"cc 7", SourceKind::cc, 7, 7, true},
      {"cc14 31", SourceKind::cc14, 31, 31, true},
      {"nrpn 16383", SourceKind::nrpn, 16383, 16383, true},
      {"rpn 0..2", SourceKind::rpn, 0, 2, true},
      {"note 0..127", SourceKind::note, 0, 127, true},
      {"polytouch 60", SourceKind::polytouch, 60, 60, true},
      {"aftertouch", SourceKind::aftertouch, 0, 0, false},
      {"program", SourceKind::program, 0, 0, false},
      {"bend", SourceKind::bend, 0, 0, false},
      {"clock", SourceKind::clock, 0, 0, false},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.from);
    bool range = k.hi > k.lo;
    Mapping m = one_mapping(knobs, std::string("  - from: knobs ") + k.from +
                                       "\n    to: " + (range ? "\"x{n}\"" : "x") + "\n");
    EXPECT_EQ(m.from.kind, k.kind);
    EXPECT_EQ(m.from.lo, k.lo);
    EXPECT_EQ(m.from.hi, k.hi);
    EXPECT_EQ(m.from.has_number, k.has_number);
    EXPECT_EQ(m.from.midi_channel_lo, 0);
    EXPECT_EQ(m.from.midi_channel_hi, 15);
  }
}

TEST_F(ConfigDir, Source_MidiChannelsWrittenOneBasedAreHeldZeroBased) {
  Mapping one = one_mapping(knobs, "  - from: knobs note 60 ch 16\n    to: a\n");
  EXPECT_EQ(one.from.midi_channel_lo, 15);
  EXPECT_EQ(one.from.midi_channel_hi, 15);
  Mapping span = one_mapping(knobs, "  - from: knobs bend ch 1..4\n    to: \"bend{ch}\"\n");
  EXPECT_EQ(span.from.midi_channel_lo, 0);
  EXPECT_EQ(span.from.midi_channel_hi, 3);
}

TEST_F(ConfigDir, Source_SerialMidiDeviceTakesMidiSources) {
  Mapping m = one_mapping("  din:\n    serial: /dev/ttyAMA0\n    format: midi\n",
                          "  - from: din cc 1 ch 2\n    to: a\n");
  EXPECT_EQ(m.from.kind, SourceKind::cc);
  EXPECT_EQ(m.from.midi_channel_lo, 1);  // ch 2
}

TEST_F(ConfigDir, Source_LinesKinds) {
  Mapping named = one_mapping(board, "  - from: board light\n    to: brightness\n");
  EXPECT_EQ(named.from.kind, SourceKind::named);
  EXPECT_EQ(named.from.name, "light");
  EXPECT_FALSE(named.from.has_number);
  EXPECT_FALSE(named.in.has_value());  // lines values pass unchanged without `in`

  Mapping pos = one_mapping(board, "  - from: board 2..5\n    to: \"p{i}\"\n");
  EXPECT_EQ(pos.from.kind, SourceKind::positional);
  EXPECT_EQ(pos.from.lo, 2);
  EXPECT_EQ(pos.from.hi, 5);

  Mapping one = one_mapping(board, "  - from: board 0\n    to: first\n");
  EXPECT_EQ(one.from.kind, SourceKind::positional);
  EXPECT_EQ(one.from.lo, 0);

  Mapping any = one_mapping(board, "  - from: board *\n");
  EXPECT_EQ(any.from.kind, SourceKind::wildcard);
  EXPECT_EQ(any.to, "{name}");

  Mapping prefixed = one_mapping(board, "  - from: board *\n    to: \"s.{name}\"\n");
  EXPECT_EQ(prefixed.to, "s.{name}");

  Mapping text = one_mapping(board, "  - from: board tag\n    to: rfid\n    type: string\n");
  EXPECT_TRUE(text.is_string);
}

TEST_F(ConfigDir, Source_FirmataPins) {
  Mapping a = one_mapping(uno, "  - from: uno A0..A5\n    to: \"pot{n}\"\n");
  EXPECT_EQ(a.from.kind, SourceKind::analog);
  EXPECT_EQ(a.from.lo, 0);
  EXPECT_EQ(a.from.hi, 5);
  Mapping a15 = one_mapping(uno, "  - from: uno A15\n    to: last\n");
  EXPECT_EQ(a15.from.lo, 15);
  Mapping d = one_mapping(uno, "  - from: uno D53\n    do: pause\n");
  EXPECT_EQ(d.from.kind, SourceKind::digital);
  EXPECT_EQ(d.from.lo, 53);
  EXPECT_EQ(d.action, Action::pause);
}

TEST_F(ConfigDir, Mapping_DefaultsAndOptions) {
  Mapping plain = one_mapping(knobs, "  - from: knobs cc 1\n    to: a\n");
  EXPECT_FALSE(plain.in.has_value());
  EXPECT_EQ(plain.range, (std::pair{0.0, 1.0}));
  EXPECT_FALSE(plain.range_raw);
  EXPECT_EQ(plain.curve, Curve::lin);
  EXPECT_FALSE(plain.invert);
  EXPECT_EQ(plain.value, ValueMode::velocity);
  EXPECT_EQ(plain.action, Action::none);

  Mapping bend = one_mapping(knobs, "  - from: knobs bend\n    to: b\n");
  EXPECT_EQ(bend.range, (std::pair{-1.0, 1.0}));
  Mapping bend_set = one_mapping(knobs, "  - from: knobs bend\n    to: b\n    range: [-2, 2]\n");
  EXPECT_EQ(bend_set.range, (std::pair{-2.0, 2.0}));

  Mapping power = one_mapping(knobs, "  - from: knobs cc 1\n    to: a\n    curve: 2.5\n");
  EXPECT_EQ(power.curve, Curve::power);
  EXPECT_EQ(power.power, 2.5);

  Mapping raw = one_mapping(knobs, "  - from: knobs cc 1\n    to: a\n    range: raw\n");
  EXPECT_TRUE(raw.range_raw);

  Mapping full = one_mapping(knobs,
                             "  - from: knobs note 1\n    to: a\n    in: [10, 100]\n"
                             "    range: [1, 1e3]\n    curve: log\n    invert: true\n"
                             "    value: toggle\n");
  EXPECT_EQ(full.in, (std::pair{10.0, 100.0}));
  EXPECT_EQ(full.range, (std::pair{1.0, 1000.0}));
  EXPECT_EQ(full.curve, Curve::log);
  EXPECT_TRUE(full.invert);
  EXPECT_EQ(full.value, ValueMode::toggle);

  EXPECT_EQ(one_mapping(knobs, "  - from: knobs cc 64\n    to: s\n    value: toggle\n").value,
            ValueMode::toggle);
  EXPECT_EQ(one_mapping(knobs, "  - from: knobs note 1\n    to: g\n    value: gate\n").value,
            ValueMode::gate);
}

TEST_F(ConfigDir, Mapping_ActionsAndScore) {
  const std::pair<const char*, Action> actions[] = {{"reset", Action::reset},
                                                    {"reload", Action::reload},
                                                    {"pause", Action::pause},
                                                    {"resume", Action::resume},
                                                    {"toggle_pause", Action::toggle_pause}};
  for (const auto& [word, action] : actions)
    EXPECT_EQ(
        one_mapping(knobs, std::string("  - from: knobs program\n    do: ") + word + "\n").action,
        action);
  Mapping s = one_mapping(
      knobs, "  - from: knobs note 36..38 ch 10\n    score: \"i 1 0 1 {n} {i} {ch} {value}\"\n");
  EXPECT_EQ(s.score, "i 1 0 1 {n} {i} {ch} {value}");
  EXPECT_TRUE(s.to.empty());
}

TEST_F(ConfigDir, Feedback_EveryTargetKind) {
  Config c = load(std::string(head) + "devices:\n" + knobs + board + uno +
                  "feedback:\n"
                  "  - from: a\n    to: knobs cc 7 ch 3\n    range: [0, 10]\n    rate: 0\n"
                  "  - from: b\n    to: knobs cc14 31\n"
                  "  - from: c.d-e_f\n    to: knobs note 60\n"
                  "  - from: d\n    to: board\n    line: \"{name}={value}\"\n"
                  "  - from: e\n    to: uno D13\n"
                  "  - from: f\n    to: uno PWM9\n");
  ASSERT_EQ(c.feedback.size(), 6u);
  EXPECT_EQ(c.feedback[0].kind, FeedbackKind::midi_cc);
  EXPECT_EQ(c.feedback[0].number, 7);
  EXPECT_EQ(c.feedback[0].midi_channel, 2);  // ch 3
  EXPECT_EQ(c.feedback[0].range, (std::pair{0.0, 10.0}));
  EXPECT_EQ(c.feedback[0].rate, 0.0);
  EXPECT_EQ(c.feedback[1].kind, FeedbackKind::midi_cc14);
  EXPECT_EQ(c.feedback[1].number, 31);
  EXPECT_EQ(c.feedback[2].kind, FeedbackKind::midi_note);
  EXPECT_EQ(c.feedback[2].channel, "c.d-e_f");
  EXPECT_EQ(c.feedback[3].kind, FeedbackKind::line);
  EXPECT_EQ(c.feedback[3].line, "{name}={value}");
  EXPECT_EQ(c.feedback[4].kind, FeedbackKind::firmata_digital);
  EXPECT_EQ(c.feedback[4].number, 13);
  EXPECT_EQ(c.feedback[5].kind, FeedbackKind::firmata_pwm);
  EXPECT_EQ(c.feedback[5].number, 9);
}

TEST_F(ConfigDir, Firmata_BaudSamplingPullUpAndServo) {
  Config c = load(std::string(head) + "devices:\n" + uno +
                  "  mega:\n    serial: /dev/ttyACM*\n    format: firmata\n    baud: 115200\n"
                  "    sampling: 0.1s\n"
                  "map:\n"
                  "  - from: uno D2..D4\n    to: \"button{n}\"\n    mode: pullup\n"
                  "  - from: uno D5\n    do: reset\n    mode: pullup\n"
                  "  - from: uno A0\n    to: pot\n"
                  "feedback:\n"
                  "  - from: arm\n    to: uno SERVO10\n    range: [0, 180]\n");
  ASSERT_EQ(c.devices.size(), 2u);
  EXPECT_EQ(c.devices[0].baud, 57600u);  // StandardFirmata's rate
  EXPECT_EQ(c.devices[0].sampling_ms, 19u);
  EXPECT_EQ(c.devices[1].baud, 115200u);
  EXPECT_EQ(c.devices[1].sampling_ms, 100u);
  ASSERT_EQ(c.map.size(), 3u);
  EXPECT_TRUE(c.map[0].pullup);
  EXPECT_TRUE(c.map[1].pullup);
  EXPECT_FALSE(c.map[2].pullup);
  ASSERT_EQ(c.feedback.size(), 1u);
  EXPECT_EQ(c.feedback[0].kind, FeedbackKind::firmata_servo);
  EXPECT_EQ(c.feedback[0].number, 10);
}

TEST_F(ConfigDir, Firmata_ErrorsAtTheirPlace) {
  const std::string devices = std::string(head) + "devices:\n" + uno + board;
  expect_one_error(devices + "    sampling: 20ms\n", 9, 5,
                   "devices.board.sampling: only for serial devices with format: firmata");
  expect_one_error(std::string(head) + "devices:\n" + uno + "    sampling: 0.2ms\n", 7, 15,
                   "must be 1ms..16383ms (what Firmata carries), got '0.2ms'");
  expect_one_error(std::string(head) + "devices:\n" + uno + "    sampling: 20s\n", 7, 15,
                   "must be 1ms..16383ms");
  expect_one_error(std::string(head) + "devices:\n" + uno + "    sampling: 20\n", 7, 15,
                   "a duration needs a unit");
  const std::string map = devices + "map:\n  - from: ";
  expect_one_error(map + "uno A0\n    to: x\n    mode: pullup\n", 12, 11,
                   "map[0].mode: pullup is only for firmata digital pins (D0..D53), not for analog "
                   "pin sources");
  expect_one_error(map + "board light\n    to: x\n    mode: pullup\n", 12, 11,
                   "not for named value sources");
  expect_one_error(map + "uno D2\n    to: x\n    mode: pulldown\n", 12, 11,
                   "expected one of pullup, got 'pulldown'");
  expect_one_error(map + "uno D2..D9\n    to: \"d{n}\"\nfeedback:\n  - from: x\n    to: uno PWM9\n",
                   13, 5,
                   "feedback[0].to: pin 9 of 'uno' is read by the mapping at line 10: a firmata "
                   "pin is an input or an output, not both");
  expect_one_error(
      devices + "feedback:\n  - from: x\n    to: uno D9\n  - from: y\n    to: uno PWM9\n", 12, 5,
      "feedback[1].to: pin 9 of 'uno' is written another way by the feedback entry "
      "at line 10: a pin has one mode (D, PWM or SERVO)");
  expect_one_error(devices + "feedback:\n  - from: x\n    to: uno SERVO54\n", 11, 9,
                   "expected 'DEVICE D0'..'D53', 'DEVICE PWM0'..'PWM53' or 'DEVICE "
                   "SERVO0'..'SERVO53', got 'uno SERVO54'");
}

// ---- errors, each at its exact position ------------------------------------

TEST_F(ConfigDir, Errors_UnknownKeyPointsAtTheKey) {
  expect_one_error(std::string(head) + "devices:\n" + knobs +
                       "map:\n  - from: knobs cc 1\n    to: a\n    colour: red\n",
                   9, 5,
                   "unknown key 'colour' in map entry (expected one of: from, to, do, score, in, "
                   "range, curve, invert, value, type, mode)");
  expect_one_error(std::string(head) + "  csd_path: x\n", 3, 3, "unknown key 'csd_path' in csound");
  // A near miss of a key the entry lacks is named.
  expect_one_error(std::string(head) + "devices:\n" + knobs +
                       "map:\n  - from: knobs cc 1\n    to: a\n    rnage: [0, 1]\n",
                   9, 5, "unknown key 'rnage' in map entry: did you mean 'range'?");
  // Not when the entry has that key already: then the list says what fits.
  expect_one_error(std::string(head) + "devices:\n" + knobs +
                       "map:\n  - from: knobs cc 1\n    to: a\n    too: b\n",
                   9, 5, "unknown key 'too' in map entry (expected one of:");
}

TEST_F(ConfigDir, Errors_AMisspelledRequiredKeyIsOneMessageAtTheTypo) {
  // Before, each gave "unknown key" and "missing required key" for one slip.
  const std::string devs = std::string("devices:\n") + knobs + board;
  expect_one_error("csond:\n  csd: synth.csd\n", 1, 1,
                   "unknown key 'csond' at top level: did you mean 'csound'?");
  expect_one_error("csound:\n  cds: synth.csd\n", 2, 3,
                   "unknown key 'cds' in csound section: did you mean 'csd'?");
  expect_one_error(std::string(head) + "devices:\n  b:\n    seral: /dev/x\n" +
                       "map:\n  - from: b x\n    to: a\n",
                   5, 5, "unknown key 'seral' in device 'b': did you mean 'serial'?");
  expect_one_error(std::string(head) + "devices:\n  b:\n    mid: x\n", 5, 5,
                   "unknown key 'mid' in device 'b': did you mean 'midi'?");
  expect_one_error(std::string(head) + devs + "map:\n  - form: knobs cc 1\n    to: a\n", 9, 5,
                   "unknown key 'form' in map entry: did you mean 'from'?");
  expect_one_error(std::string(head) + devs + "map:\n  - from: knobs cc 1\n    tp: a\n", 10, 5,
                   "unknown key 'tp' in map entry: did you mean 'to'?");
  expect_one_error(std::string(head) + devs + "feedback:\n  - from: x\n    too: knobs cc 1\n", 10,
                   5, "unknown key 'too' in feedback entry: did you mean 'to'?");
  expect_one_error(std::string(head) + devs + "feedback:\n  - frm: x\n    to: knobs cc 1\n", 9, 5,
                   "unknown key 'frm' in feedback entry: did you mean 'from'?");
  expect_one_error(
      std::string(head) + devs + "feedback:\n  - from: x\n    to: board\n    lien: \"x={value}\"\n",
      11, 5, "unknown key 'lien' in feedback entry: did you mean 'line'?");
  // Case slips too.
  expect_one_error(std::string(head) + devs + "map:\n  - From: knobs cc 1\n    to: a\n", 9, 5,
                   "did you mean 'from'?");
}

TEST_F(ConfigDir, Errors_AMisspelledValueOrDeviceIsOneMessage) {
  const std::string devs = std::string("devices:\n") + knobs + board;
  const std::string pre = std::string(head) + devs + "map:\n";
  expect_one_error(pre + "  - from: knobs cc 1\n    to: a\n    curve: lni\n", 11, 12,
                   "map[0].curve: expected lin | exp | log");
  expect_one_error(pre + "  - from: board tag\n    to: a\n    type: strng\n", 11, 11,
                   "map[0].type: the only type is 'string', got 'strng'");
  expect_one_error(
      pre + "  - from: knbos cc 1..3\n    to: \"a{i}\"\n    range: [1, 10]\n" + "    curve: exp\n",
      9, 11, "map[0].from: unknown device 'knbos'");
  expect_one_error(pre + "  - from: knobs c 7\n    to: a\n    value: toggle\n", 9, 11,
                   "expected one of cc, cc14");
  expect_one_error(std::string(head) + devs + "feedback:\n  - from: x\n    to: knbos cc 1\n" +
                       "    range: [0, 1]\n",
                   10, 9, "feedback[0].to: unknown device 'knbos'");
  expect_one_error(std::string(head) + "devices:\n  b:\n    serial: /dev/x\n    format: lnes\n" +
                       "    columns: [a]\nmap:\n  - from: b a\n    to: a\n",
                   6, 13, "devices.b.format: expected one of lines | midi | firmata, got 'lnes'");
}

TEST_F(ConfigDir, Errors_BadValuePointsAtTheValue) {
  expect_one_error(std::string(head) + "devices:\n" + knobs +
                       "map:\n  - from: knobs cc 1\n    to: a\n    range: [0, x]\n",
                   9, 16, "map[0].range: expected a list of two numbers [lo, hi], got 'x'");
  expect_one_error(std::string(head) + "devices:\n" + knobs +
                       "map:\n  - from: knobs cc 1\n    to: a\n  - from: knobs cc 2\n"
                       "    to: b\n  - from: knobs cc 3\n    to: c\n    range: 5\n",
                   13, 12, "map[2].range: expected a list of two numbers [lo, hi]");
}

TEST_F(ConfigDir, Errors_WrongTypesNeverDefault) {
  expect_one_error(std::string(head) + "  watch: 1\n", 3, 10,
                   "csound.watch: expected true or false");
  expect_one_error(std::string(head) + "devices:\n  b:\n    serial: /dev/x\n    baud: fast\n", 6,
                   11, "devices.b.baud: expected a whole number");
  expect_one_error(std::string(head) + "devices:\n  b:\n    serial: /dev/x\n    baud: 9600.5\n", 6,
                   11, "expected a whole number");
  expect_one_error(std::string(head) + "feedback: level\n", 3, 11,
                   "feedback: expected a list of feedback entries");
  expect_one_error(std::string(head) + "  options: [-d, [x]]\n", 3, 17,
                   "csound.options[1]: expected a string, got a list");
}

TEST_F(ConfigDir, Errors_EmptyValueIsReportedAtItsKey) {
  // yaml-cpp puts an empty value at the next token; the key is where the user looks.
  expect_one_error("csound:\n  csd:\n  watch: true\n", 2, 3,
                   "csound.csd: expected a string, got nothing");
}

TEST_F(ConfigDir, Errors_DurationNeedsAUnitAndMustBePositive) {
  expect_one_error(std::string(head) + "scan: 5\n", 3, 7, "a duration needs a unit");
  expect_one_error(std::string(head) + "scan: 0ms\n", 3, 7, "must be longer than 0");
  expect_one_error(std::string(head) + "scan: -1s\n", 3, 7, "expected a duration");
}

TEST_F(ConfigDir, Errors_ExpCurveNeedsPositiveBounds) {
  expect_one_error(
      std::string(head) + "devices:\n" + knobs +
          "map:\n  - from: knobs cc 1\n    to: a\n    range: [-1, 1]\n    curve: exp\n",
      10, 12, "exp needs lo·(hi/lo)^x with both range bounds > 0");
  expect_one_error(std::string(head) + "devices:\n" + knobs +
                       "map:\n  - from: knobs cc 1\n    to: a\n    curve: -2\n",
                   9, 12, "a power curve needs a number > 0");
}

TEST_F(ConfigDir, Errors_NumberRangeNeedsIndexPlaceholder) {
  expect_one_error(
      std::string(head) + "devices:\n" + knobs + "map:\n  - from: knobs cc 0..7\n    to: x\n", 8, 9,
      "range cc 0..7 would write every number into one channel 'x'; use {i} or {n}");
  // A one-number "range" needs nothing.
  EXPECT_NO_THROW(load(std::string(head) + "devices:\n" + knobs +
                       "map:\n  - from: knobs cc 3..3\n    to: x\n"));
}

TEST_F(ConfigDir, Errors_UnknownDevicePointsAtFromValue) {
  expect_one_error(
      std::string(head) + "devices:\n" + knobs + "map:\n  - from: pads note 1\n    to: x\n", 7, 11,
      "map[0].from: unknown device 'pads' (devices: knobs)");
}

TEST_F(ConfigDir, Errors_MissingCsd) {
  expect_one_error("csound:\n  csd: nowhere/x.csd\n", 2, 8,
                   "csound.csd: CSD not found: " + (dir_ / "nowhere" / "x.csd").string());
}

TEST_F(ConfigDir, Errors_ChannelsAndNumbersOutOfBounds) {
  const std::string pre = std::string(head) + "devices:\n" + knobs + board + "map:\n  - from: ";
  expect_one_error(pre + "knobs cc 1 ch 0\n    to: x\n", 9, 11,
                   "MIDI channel 0 is out of range 1..16");
  expect_one_error(pre + "knobs note 128\n    to: x\n", 9, 11,
                   "note number 128 is out of range 0..127");
  expect_one_error(pre + "knobs nrpn 16384\n    to: x\n", 9, 11, "out of range 0..16383");
  expect_one_error(pre + "knobs cc\n    to: x\n", 9, 11, "cc needs a number");
  expect_one_error(pre + "knobs cc 1 chan 2\n    to: x\n", 9, 11, "unexpected 'chan'");
  expect_one_error(pre + "board light ch 1\n    to: x\n", 9, 11, "unexpected 'ch' after 'light'");
  expect_one_error(pre + "knobs clock ch 1\n    to: x\n", 9, 11, "clock has no MIDI channel");
}

TEST_F(ConfigDir, Errors_SourceMustFitTheDevice) {
  const std::string pre =
      std::string(head) + "devices:\n" + knobs + board + uno + "map:\n  - from: ";
  expect_one_error(pre + "board note 60\n    to: x\n", 12, 11, "is a serial 'lines' device");
  expect_one_error(pre + "knobs A0\n    to: x\n", 12, 11, "device 'knobs' speaks MIDI");
  expect_one_error(pre + "uno light\n    to: x\n", 12, 11, "device 'uno' speaks firmata");
  expect_one_error(pre + "uno A16\n    to: x\n", 12, 11, "pin A16 is out of range A0..A15");
}

TEST_F(ConfigDir, Errors_OneTargetOnly) {
  expect_one_error(std::string(head) + "devices:\n" + knobs +
                       "map:\n  - from: knobs cc 1\n    score: 'i 1 0 1'\n    to: a\n",
                   9, 5, "map[0].to: use only one of to, do, score (already has 'score')");
}

TEST_F(ConfigDir, Errors_ValueModesPerSource) {
  const std::string pre = std::string(head) + "devices:\n" + knobs + "map:\n  - from: knobs ";
  expect_one_error(pre + "cc 1\n    to: a\n    value: velocity\n", 9, 12,
                   "value: velocity does not work on a cc source");
  expect_one_error(pre + "cc 1\n    to: a\n    value: gate\n", 9, 12, "value: gate does not work");
  expect_one_error(pre + "bend\n    to: a\n    value: toggle\n", 9, 12,
                   "value: toggle does not work");
}

TEST_F(ConfigDir, Errors_TemplatesAndTypes) {
  const std::string pre = std::string(head) + "devices:\n" + knobs + board + "map:\n  - from: ";
  expect_one_error(pre + "knobs cc 1\n    to: \"a{oops}\"\n", 10, 9,
                   "unknown placeholder '{oops}'");
  expect_one_error(pre + "knobs cc 1\n    to: \"a{i\"\n", 10, 9, "unclosed '{'");
  expect_one_error(pre + "knobs cc 1\n    to: \"a b\"\n", 10, 9, "bad channel name 'a b'");
  expect_one_error(pre + "knobs cc 1\n    to: \"\"\n", 10, 9, "channel name is empty");
  expect_one_error(pre + "board *\n    to: x\n", 10, 9, "a '*' source needs '{name}'");
  expect_one_error(pre + "knobs note 1\n    score: \"i 1 0 1 {name}\"\n", 10, 12,
                   "unknown placeholder '{name}'");
  expect_one_error(pre + "knobs cc 1\n    to: a\n    type: string\n", 11, 5,
                   "type: string only works on serial lines sources");
  expect_one_error(pre + "board t\n    to: a\n    type: string\n    curve: exp\n", 12, 5,
                   "map[0].curve: not allowed with type: string");
  expect_one_error(pre + "board t\n    score: \"i 1 0 1\"\n    type: string\n", 11, 5,
                   "type: string needs 'to:'");
}

TEST_F(ConfigDir, Errors_DeviceDefinitions) {
  expect_one_error(std::string(head) + "devices:\n  b:\n    serial: /dev/x\n    format: csv\n", 6,
                   13, "devices.b.format: expected one of lines | midi | firmata, got 'csv'");
  expect_one_error(std::string(head) + "devices:\n  b:\n    serial: /dev/x\n    max_line: 70000\n",
                   6, 15, "70000 is out of range 16..65536");
  expect_one_error(std::string(head) + "devices:\n  b:\n    serial: /dev/x\n    baud: 4000001\n", 6,
                   11, "out of range 1..4000000");
  expect_one_error(std::string(head) + "devices:\n  b:\n    midi: x\n    flow: rtscts\n", 6, 5,
                   "devices.b.flow: only for serial devices");
  expect_one_error(std::string(head) + "devices:\n  my board:\n    midi: x\n", 4, 3,
                   "bad device name 'my board'");
  // A device that failed is not reported again as unknown by the mappings using it.
  expect_one_error(std::string(head) + "devices:\n  b:\n    passthrough: true\n" +
                       "map:\n  - from: b cc 1\n    to: x\n",
                   4, 3, "devices.b: needs either 'midi:'");
}

TEST_F(ConfigDir, Errors_InvalidGlobsAreRefusedWhereTheyAre) {
  // glob(3) takes these without an error and the device is never found.
  expect_one_error(std::string(head) + "devices:\n  b:\n    serial: \"/dev/ttyACM[\"\n", 5, 13,
                   "devices.b.serial: invalid glob '/dev/ttyACM[': the '[' at character 12 is "
                   "never closed");
  expect_one_error(std::string(head) + "devices:\n  k:\n    midi: \"nano[[:digits:]]*\"\n", 5, 11,
                   "devices.k.midi: invalid glob 'nano[[:digits:]]*': '[:digits:]' is not a");
  // The device is broken, so the mappings on it are not reported again.
  expect_one_error(std::string(head) + "devices:\n  b:\n    serial: /dev/ttyUSB[9-0]\n" +
                       "map:\n  - from: b x\n    to: a\n",
                   5, 13, "the range '9-0' is backwards");
}

TEST_F(ConfigDir, Errors_FeedbackTargets) {
  const std::string pre =
      std::string(head) + "devices:\n" + knobs + board + "feedback:\n  - from: x\n";
  expect_one_error(pre + "    to: knobs\n", 10, 9, "device 'knobs' speaks MIDI");
  expect_one_error(pre + "    to: board led\n", 10, 9, "is a serial 'lines' device");
  expect_one_error(pre + "    to: knobs cc14 32\n", 10, 9, "cc14 number must be 0..31");
  expect_one_error(pre + "    to: knobs cc 1\n    range: [1, 1]\n", 11, 12,
                   "the two bounds must differ");
  expect_one_error(pre + "    to: board\n    line: \"{value\"\n", 11, 11, "unclosed '{'");
  expect_one_error(pre + "    to: board\n", 9, 5,
                   "feedback[0]: a lines device needs a 'line:' template");
}

TEST_F(ConfigDir, Errors_TopLevelShape) {
  expect_one_error("", 1, 1, "the file is empty");
  expect_one_error("# nothing\n", 1, 1, "the file is empty");
  expect_one_error("just text\n", 1, 1, "expected a map with at least 'csound:'");
  expect_one_error("devices: {}\n", 1, 1, "missing required section 'csound:'");
  expect_one_error(std::string(head) + "---\ncsound: {}\n", 4, 1, "only one YAML document");
}

TEST_F(ConfigDir, Errors_YamlSyntaxErrorAtParserMark) {
  // An unclosed flow list: yaml-cpp notices at the next key, and says so there.
  auto diags = errors("csound:\n  csd: synth.csd\n  options: [-d\nscan: 1s\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].to_string(), "t.yaml:4:5: YAML syntax error: end of sequence flow not found");
}

TEST_F(ConfigDir, Errors_AllReportedAtOnceInFileOrder) {
  auto diags = errors(
      "scan: 1\n"             // 1: no unit
      "csound:\n"             // 2
      "  csd: missing.csd\n"  // 3: not found
      "  on_exit: never\n"    // 4: bad choice
      "devices:\n"            // 5
      "  k:\n"                // 6
      "    midi: x\n"         // 7
      "    baud: 9600\n"      // 8: serial only
      "map:\n"                // 9
      "  - from: k cc 200\n"  // 10: out of range
      "    to: a\n"           // 11
      "  - from: k cc 1\n"    // 12
      "    to: b\n"           // 13
      "    color: red\n"      // 14: unknown key
      "feedback:\n"           // 15
      "  - from: c\n"         // 16
      "    to: k cc 1\n"      // 17
      "    rate: fast\n");    // 18: not a number
  ASSERT_EQ(diags.size(), 7u) << dump(diags);
  const std::pair<int, int> where[] = {{1, 7},   {3, 8},  {4, 12}, {8, 5},
                                       {10, 11}, {14, 5}, {18, 11}};
  for (std::size_t i = 0; i < diags.size(); ++i) {
    EXPECT_EQ(diags[i].mark.line, where[i].first) << diags[i].to_string();
    EXPECT_EQ(diags[i].mark.col, where[i].second) << diags[i].to_string();
  }
}

TEST_F(ConfigDir, Errors_OptionsTakeOneCsoundFlagAnEntry) {
  // As one entry, "-odac -b128" made Csound write audio to a file named "dac -b128".
  expect_one_error(
      std::string(head) + "  options: [-odac -b128]\n", 3, 13,
      "'-odac -b128' is 2 flags in one entry; write one flag an entry: [-odac, -b128]");
  expect_one_error(std::string(head) + "  options: [-odac, b128]\n", 3, 20,
                   "expected a Csound flag starting with '-'");
  EXPECT_EQ(load(std::string(head) + "  options: [-odac, -b128, -+rtaudio=alsa]\n").csound.options,
            (std::vector<std::string>{"-odac", "-b128", "-+rtaudio=alsa"}));
}

TEST_F(ConfigDir, Errors_ControlModeTakesPermissionBitsOnly) {
  expect_one_error(std::string(head) + "control:\n  mode: \"4660\"\n", 4, 9,
                   "sets setuid, setgid or sticky bits");
  EXPECT_EQ(load(std::string(head) + "control:\n  mode: \"0640\"\n").control.mode, 0640u);
  EXPECT_EQ(load(std::string(head) + "control:\n  mode: \"660\"\n").control.mode, 0660u);
}

TEST_F(ConfigDir, Errors_ADurationWithoutAUnitSuggestsMillisecondsToo) {
  expect_one_error(std::string(head) + "  restart_delay: 500\n", 3, 18, "'500ms' or '500s'?");
}

TEST_F(ConfigDir, Errors_AnUnknownCurveOffersTheNumberForm) {
  expect_one_error(std::string(head) + "devices:\n" + knobs +
                       "map:\n  - from: knobs cc 1\n    to: a\n    curve: expo\n",
                   9, 12, "expected lin | exp | log, or a number p > 0 for x^p");
}

TEST_F(ConfigDir, Errors_ANulByteIsReportedWhereItIs) {
  std::string yaml = std::string(head) + "scan: 1s\n";
  yaml += std::string("# \0 binary\n", 11);
  expect_one_error(yaml, 4, 3, "NUL byte");
}

TEST_F(ConfigDir, Errors_AFileOverOneMebibyteIsRefusedUnparsed) {
  std::string yaml = std::string(head) + "# " + std::string(kMaxConfigBytes, 'x') + "\n";
  expect_one_error(yaml, 1, 1, "a config may be at most 1048576 (1 MiB)");
}

TEST_F(ConfigDir, Errors_MoreThan4096MappingsAreRefused) {
  std::string yaml = std::string(head) + "devices:\n" + knobs + "map:\n";
  for (std::size_t i = 0; i <= kMaxConfigEntries; ++i) yaml += "  - {from: knobs cc 1, to: a}\n";
  expect_one_error(yaml, 7, 3, "4097 mappings; a config may have at most 4096");
}

TEST_F(ConfigDir, Errors_DeepNestingIsAnErrorNotACrash) {
  for (std::size_t depth : {1000u, 100000u}) {
    std::string yaml =
        std::string(head) + "map: " + std::string(depth, '[') + std::string(depth, ']') + "\n";
    auto diags = errors(yaml);
    ASSERT_EQ(diags.size(), 1u) << dump(diags);
    EXPECT_EQ(diags[0].mark.line, 3) << diags[0].to_string();
    EXPECT_NE(diags[0].message.find("YAML nested too deeply here"), std::string::npos)
        << diags[0].to_string();
    EXPECT_NE(diags[0].message.find("a '[' or '{' repeated or never closed"), std::string::npos)
        << diags[0].to_string();
  }
}

TEST_F(ConfigDir, Errors_ACommaAtTheTopIsASyntaxErrorNotAHang) {
  // Found by fuzz/fuzz_config: yaml-cpp 0.7's LoadAll loops, allocating until
  // memory runs out, on a token nothing consumes (yaml-cpp#1040).
  expect_one_error(",", 1, 1, "YAML syntax error: unexpected ','");
  expect_one_error(", 1]-pm 4:a\n: 1missing.[0, 1]-pm 4:a\n\n", 1, 1,
                   "YAML syntax error: unexpected ','");
  expect_one_error("---\n,\n", 2, 1, "YAML syntax error: unexpected ','");
  expect_one_error(std::string(head) + "---\n,\n", 4, 1, "YAML syntax error: unexpected ','");
}

TEST_F(ConfigDir, Errors_AFileThatIsNotACsdSaysSo) {
  write_file(dir_ / "notes.txt", "just some text\n");
  expect_one_error("csound:\n  csd: notes.txt\n", 2, 8,
                   "is not a CSD: it has no <CsoundSynthesizer>");
}

TEST_F(ConfigDir, Errors_ChannelNamesFollowOneRule) {
  expect_one_error(
      std::string(head) + "devices:\n" + knobs + "map:\n  - from: knobs cc 1\n    to: 8ball\n", 8,
      9, "bad channel name '8ball': a letter or _ first");
}

TEST(LoadConfigFile, MissingFileSaysCannotRead) {
  try {
    load_config_file("/nonexistent/csbridge.yaml");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].mark.line, 0);
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/csbridge.yaml: cannot read /nonexistent/csbridge.yaml: No such file or "
              "directory");
  }
}

// ---- fixtures --------------------------------------------------------------

std::vector<fs::path> yaml_files(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ConfigFixtures, GoodFilesLoad) {
  auto files = yaml_files(fs::path(CSB_TEST_DATA) / "config" / "good");
  ASSERT_GE(files.size(), 3u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    try {
      Config c = load_config_file(f.string());
      EXPECT_EQ(c.csound.csd, (fs::path(CSB_TEST_DATA) / "config" / "ok.csd").string());
    } catch (const ConfigError& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

// Each bad fixture starts with `# expect: LINE:COL: fragment` lines: one per problem
// the loader must report, at that exact place. Nothing else may be reported, so the
// fixtures and the code cannot drift apart.
TEST(ConfigFixtures, BadFilesReportExactlyTheExpectedProblems) {
  auto files = yaml_files(fs::path(CSB_TEST_DATA) / "config" / "bad");
  ASSERT_GE(files.size(), 15u);
  const std::regex expect_re(R"(^# expect: (\d+):(\d+): (.+)$)");
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    struct Expect {
      int line, col;
      std::string fragment;
    };
    std::vector<Expect> expects;
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_match(line, m, expect_re)) break;
      expects.push_back({std::stoi(m[1]), std::stoi(m[2]), m[3]});
    }
    ASSERT_FALSE(expects.empty()) << "no '# expect:' lines at the top";

    std::vector<Diagnostic> diags;
    try {
      load_config_file(f.string());
    } catch (const ConfigError& e) {
      diags = e.diagnostics();
    }
    std::string all;
    for (const auto& d : diags) all += d.to_string() + "\n";
    EXPECT_EQ(diags.size(), expects.size()) << all;
    for (const auto& x : expects) {
      bool found = std::any_of(diags.begin(), diags.end(), [&](const Diagnostic& d) {
        return d.file == f.string() && d.mark.line == x.line && d.mark.col == x.col &&
               d.message.find(x.fragment) != std::string::npos;
      });
      EXPECT_TRUE(found) << "no diagnostic at " << x.line << ":" << x.col << " with '" << x.fragment
                         << "'; got:\n"
                         << all;
    }
  }
}

// Every shipped mapping file: see maps_test.cpp, one test a file.

TEST_F(ConfigDir, Channels_OneChannelWrittenAsControlAndAsStringIsRefusedAtTheSecond) {
  expect_one_error(std::string(head) + "devices:\n" + board +
                       "map:\n  - from: board a\n    to: x\n"
                       "  - from: board b\n    to: x\n    type: string\n",
                   9, 5, "channel 'x' is written as a string channel here and as a control");
}

TEST_F(ConfigDir, Channels_MoreThanTheTableHoldsIsRefusedAtTheMapping) {
  // Each mapping makes 2048 channels: cc 0..127 on every channel, by {ch}.
  std::string yaml = std::string(head) + "devices:\n" + knobs + "map:\n";
  for (int k = 0; k < 3; ++k)
    yaml += "  - from: knobs cc 0..127\n    to: \"m" + std::to_string(k) + "_{ch}_{n}\"\n";
  auto diags = errors(yaml);
  ASSERT_EQ(diags.size(), 1u) << dump(diags);
  EXPECT_EQ(diags[0].mark.line, 11) << dump(diags);  // the third: 2 x 2048 fill the table
  EXPECT_NE(diags[0].message.find("more channels than the channel table holds (4096)"),
            std::string::npos)
      << dump(diags);
}

TEST_F(ConfigDir, Channels_ASocketPathTooLongForAUnixSocketIsRefused) {
  std::string path = "/run/" + std::string(103, 's');  // 108 bytes
  expect_one_error(std::string(head) + "control:\n  socket: " + path + "\n", 4, 11,
                   "is 108 bytes, and a Unix socket's path may be at most 107");
  EXPECT_NO_THROW(load(std::string(head) + "control:\n  socket: /run/" + std::string(102, 's')));
}

TEST_F(ConfigDir, Channels_ATypeClashWithTheOrchestraIsRefusedWithBothPlaces) {
  write_file(dir_ / "synth.csd",
             "<CsoundSynthesizer>\n<CsInstruments>\n"
             "chn_S \"title\", 1\n"
             "instr 1\n"
             "  Sname chnget \"name\"  ; a string read\n"
             "  kx chnget \"x\"\n"
             "  chnset Sname, \"shown\"\n"
             "endin\n</CsInstruments>\n</CsoundSynthesizer>\n");
  const std::string pre = std::string(head) + "devices:\n" + board + knobs + "map:\n";
  expect_one_error(pre + "  - from: board t\n    to: title\n", 9, 5,
                   "channel 'title' is a string channel in the orchestra (" +
                       (dir_ / "synth.csd").string() +
                       ":3: chn_S) but this mapping writes numbers");
  expect_one_error(pre + "  - from: board x\n    to: x\n    type: string\n", 9, 5,
                   "channel 'x' is a control channel in the orchestra");
  expect_one_error(pre + "feedback:\n  - from: shown\n    to: knobs cc 1\n", 10, 5,
                   "feedback from 'shown': it is a string channel in the orchestra");
  // What agrees with the orchestra loads: a string read, a string feedback line.
  EXPECT_NO_THROW(load(pre + "  - from: board n\n    to: name\n    type: string\n"
                             "feedback:\n  - from: shown\n    to: board\n    line: \"{value}\"\n"));
}

TEST_F(ConfigDir, Devices_EverySettingDecidesWhetherAReloadKeepsTheDevice) {
  // A reload keeps a device open only when its settings compare equal.
  auto settings = [&](const std::string& keys) {
    return load(std::string(head) + "devices:\n  board:\n    serial: /dev/ttyACM0\n" + keys)
        .devices.at(0)
        .settings();
  };
  auto port = [&](const std::string& keys) {  // a MIDI port of the same name and glob
    return load(std::string(head) + "devices:\n  board:\n    midi: /dev/ttyACM0\n" + keys)
        .devices.at(0)
        .settings();
  };
  const DeviceSettings base = settings("");
  // Where the key stands in the file is not part of the device.
  EXPECT_EQ(load(std::string(head) + "\n\ndevices:\n\n  board:\n      serial: /dev/ttyACM0\n")
                .devices.at(0)
                .settings(),
            base);
  // One structured binding names every setting: a setting added to
  // DeviceSettings stops this from compiling until a case below tries it.
  const auto& [name, kind, glob, passthrough, baud, format, columns, max_line, flow, dtr,
               sampling_ms] = base;
  (void)name, (void)kind, (void)glob, (void)passthrough, (void)baud, (void)format, (void)columns,
      (void)max_line, (void)flow, (void)dtr, (void)sampling_ms;
  EXPECT_NE(load(std::string(head) + "devices:\n  other:\n    serial: /dev/ttyACM0\n")
                .devices.at(0)
                .settings(),
            base);            // name
  EXPECT_NE(port(""), base);  // kind
  EXPECT_NE(load(std::string(head) + "devices:\n  board:\n    serial: /dev/ttyUSB0\n")
                .devices.at(0)
                .settings(),
            base);                                                 // glob
  EXPECT_NE(port("    passthrough: true\n"), port(""));            // passthrough
  EXPECT_NE(settings("    baud: 31250\n"), base);                  // baud
  EXPECT_NE(settings("    format: midi\n"), base);                 // format
  EXPECT_NE(settings("    columns: [light]\n"), base);             // columns
  EXPECT_NE(settings("    max_line: 1024\n"), base);               // max_line
  EXPECT_NE(settings("    flow: rtscts\n"), base);                 // flow
  EXPECT_NE(settings("    dtr: false\n"), base);                   // dtr
  EXPECT_EQ(settings("    baud: 115200\n    dtr: true\n"), base);  // the defaults, written out
  const DeviceSettings firmata = settings("    format: firmata\n");
  EXPECT_NE(settings("    format: firmata\n    sampling: 50ms\n"), firmata);  // sampling
  EXPECT_EQ(settings("    format: firmata\n    sampling: 19ms\n    baud: 57600\n"), firmata);
}

}  // namespace
}  // namespace csb
