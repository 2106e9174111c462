#pragma once
// Real MIDI for integration tests: a private JACK server with the dummy
// backend, and a test controller with virtual JACK MIDI ports named like a
// real one. JACK_DEFAULT_SERVER is set in this process, so the bridges the
// test starts use the same server.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

class RtMidiIn;
class RtMidiOut;

namespace csbt {

/// `jackd --no-realtime -n <unique> -d dummy`, stopped by its pid.
class JackServer {
 public:
  /// Sets JACK_DEFAULT_SERVER to a name unique to this process; starts the
  /// server now when `start` (else start() later).
  explicit JackServer(bool start = true);
  ~JackServer();
  /// Starts jackd and waits until a client can connect; false if it cannot.
  bool start();
  void stop();
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  pid_t pid_ = -1;
};

/// A MIDI controller as the bridge sees one: an output port ("<client>:<port>")
/// the bridge reads, and an input port ("<client>-01:<port> in" or similar)
/// the bridge writes feedback to.
class TestController {
 public:
  explicit TestController(std::string client = "nanoKONTROL2",
                          std::string port = "nanoKONTROL2 MIDI 1");
  ~TestController();
  /// Opens both ports (plugging the controller in).
  void open();
  /// Closes both ports (unplugging it).
  void close();
  bool is_open() const { return out_ != nullptr; }

  void send(const std::vector<std::uint8_t>& bytes);
  void cc(int ch, int n, int v) {
    send({static_cast<std::uint8_t>(0xB0 | (ch - 1)), static_cast<std::uint8_t>(n),
          static_cast<std::uint8_t>(v)});
  }
  /// Every message received so far (and clears the list).
  std::vector<std::vector<std::uint8_t>> take();
  /// Waits until a message equal to `bytes` arrives (consuming messages up to it).
  bool wait_for(const std::vector<std::uint8_t>& bytes,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

 private:
  static void on_message(double, std::vector<unsigned char>* m, void* self);
  std::string client_, port_;
  std::unique_ptr<RtMidiOut> out_;
  std::unique_ptr<RtMidiIn> in_;
  std::mutex mu_;
  std::vector<std::vector<std::uint8_t>> received_;
};

}  // namespace csbt
