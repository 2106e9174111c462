#include "jack_harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <utility>

#include <jack/jack.h>
#include <rtmidi/RtMidi.h>

namespace csbt {

namespace {
void quiet(const char*) {}
}  // namespace

namespace {
constexpr int kPool = 8;

std::string read_log(const std::string& path) {
  std::string text;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  // Without the lines jackd prints on every exit.
  std::string out, line;
  for (std::size_t i = 0; i < text.size(); i = text.find('\n', i) + 1) {
    line = text.substr(i, text.find('\n', i) - i);
    if (line.find("message buffer overruns") == std::string::npos) out += line + "\n";
    if (text.find('\n', i) == std::string::npos) break;
  }
  return out;
}
}  // namespace

JackServer::JackServer(bool start_now) {
  auto dir = std::filesystem::temp_directory_path();
  for (int k = 0; k < kPool && lock_fd_ < 0; ++k) {
    auto stem = "csbtest-jack-" + std::to_string(::getuid()) + "-" + std::to_string(k);
    int fd = ::open((dir / (stem + ".lock")).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      continue;
    }
    lock_fd_ = fd;
    name_ = "csbtest-" + std::to_string(k);
    log_ = dir / (stem + ".log");
  }
  if (lock_fd_ < 0) throw std::runtime_error("all JACK test server names are in use");
  ::setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
  jack_set_error_function(&quiet);
  jack_set_info_function(&quiet);
  if (start_now && !start()) {
    ::close(lock_fd_);  // the destructor does not run
    throw std::runtime_error(error_);
  }
}

JackServer::~JackServer() {
  stop();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

bool JackServer::start() {
  // A server of this name that a test before stopped may still be going
  // away ("server already active"): tried again for a while.
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (start_once()) return true;
    if (error_.find("already active") == std::string::npos) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

bool JackServer::start_once() {
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test program
    if (::getppid() != parent) ::_exit(127);
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    // Sync mode: the server waits for every client each cycle, up to the
    // timeout. In its default mode a client that misses a cycle (a busy
    // test machine, a client slowed by TSan) loses that cycle's MIDI, and
    // jackd logs "client = ... was not finished" and "Process error". A
    // client that leaves mid-cycle holds a sync server ten timeouts, so the
    // timeout is short but for clients slowed by TSan (CSB_JACK_SYNC, set
    // by tools/sanitize thread).
    const char* slow = std::getenv("CSB_JACK_SYNC");
    const char* timeout = slow && *slow ? "2000" : "200";
    ::execlp("jackd", "jackd", "--no-realtime", "--sync", "-t", timeout, "-n", name_.c_str(), "-d",
             "dummy", "-r", "48000", "-p", "256", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // it gave up
      pid_ = -1;
      break;
    }
    jack_status_t st{};
    if (jack_client_t* c = jack_client_open("csbtest-probe", JackNoStartServer, &st)) {
      jack_client_close(c);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop();
  error_ = "jackd -n " + name_ + " did not start; it said:\n" + read_log(log_);
  if (error_.find("Too many servers") != std::string::npos)
    error_ +=
        "JACK's registry of servers is full of servers that were killed; with no JACK server "
        "running, removing /dev/shm/jack-shm-registry empties it.\n";
  return false;
}

std::string JackServer::log() const {
  return read_log(log_);
}

void JackServer::freeze(bool frozen) {
  if (pid_ > 0) ::kill(pid_, frozen ? SIGSTOP : SIGCONT);
}

void JackServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);  // a frozen server cannot act on SIGTERM
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 40; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Its registry entry stays behind; the next server of this name frees it.
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

TestController::TestController(std::string client, std::string port)
    : client_(std::move(client)), port_(std::move(port)) {}

TestController::~TestController() {
  close();
}

void TestController::open() {
  // On a busy machine jackd sometimes refuses a new client ("NotifyAddClient
  // new_client fails", "Cannot create new client"): a controller plugged in
  // is tried again, as a person would plug it in again.
  for (int attempt = 1;; ++attempt) {
    try {
      out_ = std::make_unique<RtMidiOut>(RtMidi::UNIX_JACK, client_);
      out_->openVirtualPort(port_);
      in_ = std::make_unique<RtMidiIn>(RtMidi::UNIX_JACK, client_);
      in_->ignoreTypes(false, false, false);
      in_->setCallback(&TestController::on_message, this);
      in_->openVirtualPort(port_ + " in");
      return;
    } catch (const RtMidiError&) {
      close();
      ++retries_;
      if (attempt == 5) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void TestController::close() {
  // RtMidi 5.0's JACK output frees its ring buffer before closing its client:
  // close the port first and let a cycle in flight end (the period is 5 ms;
  // a busy machine may hold the process thread for tens of ms).
  if (out_) {
    out_->closePort();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  out_.reset();
  in_.reset();
}

void TestController::send(const std::vector<std::uint8_t>& bytes) {
  if (out_) out_->sendMessage(&bytes);
}

void TestController::on_message(double, std::vector<unsigned char>* m, void* self) {
  auto* c = static_cast<TestController*>(self);
  std::lock_guard lk(c->mu_);
  c->received_.emplace_back(m->begin(), m->end());
}

std::vector<std::vector<std::uint8_t>> TestController::take() {
  std::lock_guard lk(mu_);
  return std::exchange(received_, {});
}

bool TestController::wait_for(const std::vector<std::uint8_t>& bytes,
                              std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard lk(mu_);
      for (std::size_t i = 0; i < received_.size(); ++i)
        if (received_[i] == bytes) {
          received_.erase(received_.begin(), received_.begin() + static_cast<long>(i) + 1);
          return true;
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace csbt
