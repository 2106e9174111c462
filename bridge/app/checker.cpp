#include "app/checker.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "engine/compile_check.hpp"

namespace csb {

Checker::~Checker() {
  if (thread_.joinable()) thread_.join();
}

void Checker::check_csd(std::string csd, std::vector<std::string> options,
                        std::function<void(std::string)> done, bool watch) {
  run(
      [csd = std::move(csd), options = std::move(options),
       done = std::move(done)]() mutable -> std::function<void()> {
        std::string errors = test_compile(csd, options, /*run_header=*/false);
        return [done = std::move(done), errors = std::move(errors)] { done(errors); };
      },
      watch);
}

void Checker::run(Work work, bool watch) {
  // An edit made while a check runs supersedes the edits still waiting:
  // only the newest version of the file is worth compiling.
  if (watch)
    jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(), [](auto& j) { return j.watch; }),
                jobs_.end());
  jobs_.push_back({std::move(work), watch});
  if (!running_) next();
}

void Checker::next() {
  if (running_ || jobs_.empty() || stopped_) return;
  running_ = true;
  if (thread_.joinable()) thread_.join();  // it has posted its result: done
  Job job = std::move(jobs_.front());
  jobs_.pop_front();
  thread_ = std::thread([this, work = std::move(job.work)] {
    std::function<void()> then = work();
    boost::asio::post(io_, [this, then = std::move(then)] {
      running_ = false;
      if (!stopped_) then();
      next();
    });
  });
}

}  // namespace csb
