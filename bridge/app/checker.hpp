#pragma once
// Work done off the loop, one job at a time, in order: reading and checking
// a reloaded config, compiling a CSD to see whether it would play (reload,
// csound.watch). A job's work runs on the checker thread and returns what
// then runs on the loop. Loop thread, every method.

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace csb {

class Checker {
 public:
  using Work = std::function<std::function<void()>()>;

  explicit Checker(boost::asio::io_context& io) : io_(io) {}
  /// Waits for the job that runs, if any.
  ~Checker();

  /// Runs `work` on the checker thread after the jobs before it, then what it
  /// returns on the loop. `watch`: replaces any watch job still waiting.
  void run(Work work, bool watch = false);
  /// Compiles a CSD; `done` gets Csound's errors (empty: it compiles) on the loop.
  void check_csd(std::string csd, std::vector<std::string> options,
                 std::function<void(std::string)> done, bool watch = false);
  /// No job starts, and no result is delivered, from now on.
  void stop() { stopped_ = true; }

 private:
  void next();

  struct Job {
    Work work;
    bool watch = false;
  };
  boost::asio::io_context& io_;
  std::deque<Job> jobs_;
  bool running_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace csb
