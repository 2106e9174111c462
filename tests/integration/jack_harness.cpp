#include "jack_harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <utility>

#include <jack/jack.h>
#include <rtmidi/RtMidi.h>

namespace csbt {

namespace {
void quiet(const char*) {}
}  // namespace

JackServer::JackServer(bool start_now) {
  static std::atomic<int> n{0};
  name_ = "csbtest-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  ::setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
  jack_set_error_function(&quiet);
  jack_set_info_function(&quiet);
  if (start_now) start();
}

JackServer::~JackServer() {
  stop();
}

bool JackServer::start() {
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test program
    if (::getppid() != parent) ::_exit(127);
    int fd = ::open("/dev/null", O_WRONLY);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execlp("jackd", "jackd", "--no-realtime", "-n", name_.c_str(), "-d", "dummy", "-r", "48000",
             "-p", "256", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 100; ++i) {
    jack_status_t status{};
    if (jack_client_t* c = jack_client_open("csbtest-probe", JackNoStartServer, &status)) {
      jack_client_close(c);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void JackServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 40; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
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
  out_ = std::make_unique<RtMidiOut>(RtMidi::UNIX_JACK, client_);
  out_->openVirtualPort(port_);
  in_ = std::make_unique<RtMidiIn>(RtMidi::UNIX_JACK, client_);
  in_->ignoreTypes(false, false, false);
  in_->setCallback(&TestController::on_message, this);
  in_->openVirtualPort(port_ + " in");
}

void TestController::close() {
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
