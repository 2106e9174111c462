#pragma once
// Jobs run in order on a thread of their own, for the MIDI work that may
// wait on a server (closing ports, JACK's requests): the thread that posts
// never waits. The thread keeps the queue, so a job a stalled server never
// answers holds only the jobs behind it.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace csb {

class JobThread {
 public:
  JobThread() : q_(std::make_shared<Queue>()) {
    thread_ = std::thread([q = q_] { q->run(); });
  }
  /// The queued jobs still run, then the thread ends on its own.
  ~JobThread() {
    if (!thread_.joinable()) return;
    q_->finish(/*drop=*/false);
    thread_.detach();
  }
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  /// Any thread; never waits.
  void post(std::function<void()> job) { q_->post(std::move(job)); }

  /// At exit: the jobs not started are left undone (what they hold is left
  /// to the OS), the one running is waited for.
  void abandon() {
    q_->finish(/*drop=*/true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> jobs;
    bool done = false;

    void post(std::function<void()> job) {
      {
        std::lock_guard lk(mu);
        jobs.push_back(std::move(job));
      }
      cv.notify_one();
    }
    void finish(bool drop) {
      {
        std::lock_guard lk(mu);
        done = true;
        if (drop) (new std::deque<std::function<void()>>)->swap(jobs);  // leaked on purpose
      }
      cv.notify_one();
    }
    void run() {
      std::unique_lock lk(mu);
      for (;;) {
        cv.wait(lk, [&] { return done || !jobs.empty(); });
        if (jobs.empty()) return;
        auto job = std::move(jobs.front());
        jobs.pop_front();
        lk.unlock();
        job();
        job = nullptr;  // what it held goes on this thread, outside the lock
        lk.lock();
      }
    }
  };
  std::shared_ptr<Queue> q_;
  std::thread thread_;
};

}  // namespace csb
