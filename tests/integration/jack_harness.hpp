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

/// `jackd --no-realtime -n csbtest-<k> -d dummy`, stopped by its pid.
///
/// JACK keeps a registry of at most 8 server names per machine, and an entry
/// is freed only when its server exits cleanly or a server of the same name
/// starts again. Names unique to each test would fill it with every jackd
/// that had to be killed, until no server could start. So names come from a
/// small pool; a lock file held for the object's life reserves one.
class JackServer {
 public:
  /// Reserves a name and sets JACK_DEFAULT_SERVER to it; starts the server
  /// now when `start` (else start() later). Throws, with jackd's own words,
  /// when the server cannot start.
  explicit JackServer(bool start = true);
  ~JackServer();
  JackServer(const JackServer&) = delete;
  JackServer& operator=(const JackServer&) = delete;
  /// Starts jackd and waits until a client can connect; false if it cannot
  /// (error() says why).
  bool start();
  void stop();
  /// Stops jackd (SIGSTOP) or lets it go on (SIGCONT): a server that stalls,
  /// so no client's process cycle runs.
  void freeze(bool frozen);
  const std::string& name() const { return name_; }
  const std::string& error() const { return error_; }
  /// What jackd printed so far (for a failure's message).
  std::string log() const;

 private:
  bool start_once();

  std::string name_;
  std::string log_;    // jackd's output
  std::string error_;  // why the last start() failed
  int lock_fd_ = -1;
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
  /// Opens jackd refused and open() tried again (each may have been seen
  /// as a plug).
  int retries() const { return retries_; }

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
  int retries_ = 0;
  std::unique_ptr<RtMidiOut> out_;
  std::unique_ptr<RtMidiIn> in_;
  std::mutex mu_;
  std::vector<std::vector<std::uint8_t>> received_;
};

}  // namespace csbt
