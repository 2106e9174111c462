// A Firmata board on a pty drives a real csbridge and a real Csound: a fake
// StandardFirmata 2.5 Uno (its answers made by the codec's board-side
// encoders) that answers the queries, keeps the modes and reporting it is
// told, reports its analog pins every sampling interval and its digital
// ports on change, and can restart, go quiet or send garbage. Values are
// read in the orchestra; feedback is read at the board's pins.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <mutex>
#include <thread>

#include "core/firmata.hpp"
#include "firmata_uno.hpp"
#include "harness.hpp"

using namespace csbt;
namespace fm = csb::firmata;

namespace {

class FakeUno {
 public:
  explicit FakeUno(std::string link)
      : pty_(std::move(link)), pins_(csb::test::standard_firmata_uno()) {
    levels_.fill(1);  // pulled up: a button not pressed
    thread_ = std::thread([this] { run(); });
  }
  ~FakeUno() {
    stop_ = true;
    thread_.join();
  }

  void set_analog(int channel, int value) { analog_[channel] = value; }
  void set_level(int pin, int level) {
    std::lock_guard lk(mu_);
    levels_[pin] = level;
    changed_ = true;
  }
  /// A reset: modes and reporting forgotten, outputs low, its start-up reports sent.
  void restart() {
    std::lock_guard lk(mu_);
    forget();
    send(boot());
  }
  void set_answering(bool on) { answering_ = on; }
  void send_garbage(const std::string& bytes) {
    std::lock_guard lk(mu_);
    send(bytes);
  }

  int mode(int pin) {
    std::lock_guard lk(mu_);
    return modes_[pin];
  }
  int output(int pin) {
    std::lock_guard lk(mu_);
    return outputs_[pin];
  }
  int analog_out(int pin) {
    std::lock_guard lk(mu_);
    return analog_out_[pin];
  }
  bool reporting_analog(int channel) {
    std::lock_guard lk(mu_);
    return (report_analog_ >> channel) & 1;
  }
  unsigned sampling() {
    std::lock_guard lk(mu_);
    return sampling_ms_;
  }
  int handshakes() const { return handshakes_; }

 private:
  void forget() {
    modes_.fill(-1);
    outputs_.fill(0);
    analog_out_.fill(-1);
    report_analog_ = 0;
    report_ports_ = 0;
    sampling_ms_ = 19;
  }
  std::string boot() {
    std::string out;
    std::uint8_t b[64];
    out.append(reinterpret_cast<char*>(b), fm::version_report(2, 5, b, sizeof b));
    out.append(reinterpret_cast<char*>(b),
               fm::firmware_report(2, 5, "StandardFirmata.ino", b, sizeof b));
    return out;
  }
  /// To the bridge; lost while it has the port closed (a pty then refuses writes).
  void send(const std::string& bytes) {
    if (bytes.empty()) return;
    try {
      pty_.write(bytes);
    } catch (const std::exception&) {
    }
  }
  std::string port_report(int port) {
    unsigned bits = 0;
    for (int k = 0; k < 8; ++k) {
      const int pin = port * 8 + k;
      if (modes_[pin] == 0 || modes_[pin] == 0x0B) bits |= levels_[pin] << k;
    }
    std::uint8_t b[fm::kMaxEncoded];
    return std::string(reinterpret_cast<char*>(b), fm::digital_port(port, bits, b));
  }

  void run() {
    forget();
    auto next_sample = Clock::now();
    while (!stop_) {
      std::string in;
      {
        std::lock_guard lk(mu_);
        in = pty_.read_bytes_for(std::chrono::milliseconds(2));
        if (answering_) handle(in);
        if (answering_ && Clock::now() >= next_sample) {
          next_sample = Clock::now() + std::chrono::milliseconds(sampling_ms_);
          std::string out;
          for (int c = 0; c < 6; ++c) {
            if (!((report_analog_ >> c) & 1)) continue;
            std::uint8_t b[fm::kMaxEncoded];
            out.append(reinterpret_cast<char*>(b), fm::analog_write(c, analog_[c], b));
          }
          send(out);
        }
        if (answering_ && changed_) {
          changed_ = false;
          std::string out;
          for (int port = 0; port < 3; ++port)
            if ((report_ports_ >> port) & 1) out += port_report(port);
          send(out);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  void handle(const std::string& in) {
    std::string out;
    decoder_.feed(
        reinterpret_cast<const std::uint8_t*>(in.data()), in.size(),
        [&](const fm::Message& m) {
          switch (m.command) {
            case fm::kVersion: {
              std::uint8_t b[8];
              out.append(reinterpret_cast<char*>(b), fm::version_report(2, 5, b, sizeof b));
              break;
            }
            case fm::kSetPinMode:
              if (m.data[0] < 20) modes_[m.data[0]] = m.data[1];
              break;
            case fm::kSetDigitalPin:
              if (m.data[0] < 20 && modes_[m.data[0]] == 1) outputs_[m.data[0]] = m.data[1];
              break;
            case fm::kReportAnalog:
              if (m.data[0])
                report_analog_ |= 1u << m.index;
              else
                report_analog_ &= ~(1u << m.index);
              break;
            case fm::kReportDigital:
              if (m.data[0]) {
                report_ports_ |= 1u << m.index;
                out += port_report(m.index);  // Firmata 2.4: reported when enabled
              }
              break;
            case fm::kAnalogMessage:
              analog_out_[m.index] = m.value();
              break;
            default:
              break;
          }
        },
        [&](std::uint8_t id, std::span<const std::uint8_t> payload) {
          std::uint8_t b[4096];
          if (id == fm::kReportFirmware) {
            out.append(reinterpret_cast<char*>(b),
                       fm::firmware_report(2, 5, "StandardFirmata.ino", b, sizeof b));
          } else if (id == fm::kCapabilityQuery) {
            out.append(reinterpret_cast<char*>(b), fm::capability_response(pins_, b, sizeof b));
          } else if (id == fm::kAnalogMappingQuery) {
            out.append(reinterpret_cast<char*>(b), fm::analog_mapping_response(pins_, b, sizeof b));
          } else if (id == fm::kSamplingInterval) {
            unsigned ms = 0;
            if (fm::parse_sampling_interval(payload, ms)) {
              sampling_ms_ = ms;
              ++handshakes_;  // the host's set-up ends with it
            }
          }
        });
    send(out);
  }

  PtyBoard pty_;
  fm::Board pins_;
  fm::Decoder decoder_{fm::End::kBoard};
  std::mutex mu_;
  std::array<int, 20> modes_{}, outputs_{}, analog_out_{}, levels_{};
  unsigned report_analog_ = 0, report_ports_ = 0, sampling_ms_ = 19;
  bool changed_ = false;
  std::array<std::atomic<int>, 6> analog_{};
  std::atomic<bool> answering_{true}, stop_{false};
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

const char* kOrchestra = R"(
chn_k "pot", 1
chn_k "pot_out", 2
chn_k "button", 1
chn_k "button_out", 2
chn_k "led_in", 1
chn_k "led", 2
chn_k "dim_in", 1
chn_k "dim", 2
instr 1
  chnset chnget:k("pot"), "pot_out"
  chnset chnget:k("button"), "button_out"
  chnset chnget:k("led_in"), "led"
  chnset chnget:k("dim_in"), "dim"
endin
alwayson 1
)";

struct FirmataFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<FakeUno> uno;
  std::unique_ptr<Bridge> bridge;

  void start() {
    dir.write("test.csd", make_csd(kOrchestra));
    const std::string cfg =
        dir.write("test.yaml",
                  "csound:\n  csd: test.csd\n"
                  "scan: 100ms\n"
                  "devices:\n  uno:\n    serial: " +
                      dir.file("uno") +
                      "\n    format: firmata\n    sampling: 10ms\n"
                      "map:\n"
                      "  - from: uno A0\n    to: pot\n"
                      "  - from: uno D2\n    to: button\n    mode: pullup\n"
                      "feedback:\n"
                      "  - from: led\n    to: uno D13\n    rate: 0\n"
                      "  - from: dim\n    to: uno PWM9\n    range: [0, 255]\n    rate: 0\n");
    uno = std::make_unique<FakeUno>(dir.file("uno"));
    bridge = std::make_unique<Bridge>(dir, cfg);
    ASSERT_TRUE(bridge->wait_state("running")) << bridge->log();
    ASSERT_TRUE(eventually([&] { return uno->handshakes() >= 1; })) << bridge->log();
  }

  nlohmann::json device() { return bridge->ctl("devices")["devices"][0]; }

  void TearDown() override {
    if (bridge) EXPECT_EQ(bridge->terminate(), 0) << bridge->log();
  }
};

TEST_F(FirmataFixture, TheBoardIsSetUpItsValuesPlayAndFeedbackReachesItsPins) {
  start();
  // Set up from its own replies: A0 is pin 14 on an Uno.
  EXPECT_EQ(uno->mode(14), 0x02);
  EXPECT_EQ(uno->mode(2), 0x0B);  // INPUT_PULLUP
  EXPECT_EQ(uno->mode(13), 0x01);
  EXPECT_EQ(uno->mode(9), 0x03);
  EXPECT_TRUE(uno->reporting_analog(0));
  EXPECT_FALSE(uno->reporting_analog(1));
  EXPECT_EQ(uno->sampling(), 10u);

  uno->set_analog(0, 1023);
  EXPECT_TRUE(bridge->wait_value("pot_out", 1.0)) << bridge->log();
  uno->set_analog(0, 0);
  EXPECT_TRUE(bridge->wait_value("pot_out", 0.0)) << bridge->log();
  // D2 is pulled up: high, its button not pressed, reads 0; pressed to ground, 1.
  EXPECT_TRUE(bridge->wait_value("button_out", 0.0)) << bridge->log();
  uno->set_level(2, 0);
  EXPECT_TRUE(bridge->wait_value("button_out", 1.0)) << bridge->log();
  uno->set_level(2, 1);
  EXPECT_TRUE(bridge->wait_value("button_out", 0.0)) << bridge->log();

  bridge->ctl("set led_in 1");
  bridge->ctl("set dim_in 128");
  EXPECT_TRUE(eventually([&] { return uno->output(13) == 1; })) << bridge->log();
  EXPECT_TRUE(eventually([&] { return uno->analog_out(9) == 128; })) << bridge->log();
  bridge->ctl("set led_in 0");
  EXPECT_TRUE(eventually([&] { return uno->output(13) == 0; })) << bridge->log();
  EXPECT_EQ(device()["state"], "connected");
}

TEST_F(FirmataFixture, ARestartedBoardIsSetUpAgainAndGetsItsFeedbackBack) {
  start();
  bridge->ctl("set led_in 1");
  bridge->ctl("set dim_in 200");
  ASSERT_TRUE(eventually([&] { return uno->output(13) == 1 && uno->analog_out(9) == 200; }));
  uno->restart();  // forgets its modes and outputs
  EXPECT_TRUE(eventually([&] { return uno->handshakes() >= 2; })) << bridge->log();
  EXPECT_TRUE(eventually([&] { return uno->output(13) == 1 && uno->analog_out(9) == 200; }))
      << bridge->log();
  uno->set_analog(0, 1023);
  EXPECT_TRUE(bridge->wait_value("pot_out", 1.0)) << bridge->log();
  EXPECT_NE(bridge->log().find("the board restarted"), std::string::npos) << bridge->log();
}

TEST_F(FirmataFixture, GarbageIsCountedAndABoardThatGoesQuietIsOpenedAgain) {
  start();
  uno->send_garbage(std::string("\xB0\x07\x7F\x01\x02\xF0\x79\x02", 8) + "hello\n" +
                    std::string("\xF0\x05\x01\xF7", 4));
  uno->set_analog(0, 1023);
  EXPECT_TRUE(bridge->wait_value("pot_out", 1.0)) << bridge->log();
  EXPECT_TRUE(eventually([&] { return device()["bad_input"].get<int>() >= 3; })) << device().dump();

  const int connects = device()["connects"].get<int>();
  uno->set_answering(false);  // hung: no reports, no answers
  // Quiet for 2 s, then three probes a second apart: given up, opened again.
  EXPECT_TRUE(eventually([&] { return device()["connects"].get<int>() > connects; }, 10s))
      << bridge->log();
  uno->set_answering(true);
  uno->set_analog(0, 0);
  EXPECT_TRUE(bridge->wait_value("pot_out", 0.0, 10s)) << bridge->log();
  EXPECT_NE(bridge->log().find("the board does not answer"), std::string::npos);
}

}  // namespace
