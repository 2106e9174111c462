#include "app/reloader.hpp"

#include <malloc.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "app/log_lines.hpp"
#include "config/loader.hpp"
#include "control/reply.hpp"
#include "engine/compile_check.hpp"

namespace csb {

using json = nlohmann::json;

Reloader::Reloader(const Config& config, Checker& checker, Performance& performance, Health& health,
                   std::function<void(Config)> apply)
    : config_(config),
      checker_(checker),
      performance_(performance),
      health_(health),
      apply_(std::move(apply)) {}

void Reloader::reload(const char* why, Reply reply) {
  if (reloading_) {
    // The file may have changed again since this one was read: read it once more after.
    again_ = true;
    if (reply) next_replies_.push_back(std::move(reply));
    return;
  }
  if (reply) replies_.push_back(std::move(reply));
  reloading_ = true;
  health_.reloading();
  spdlog::info("reload ({}): reading {}", why, config_.path);
  // Read and checked off the loop: a large file must not hold up devices,
  // the performance's feedback or the watchdog.
  checker_.run([this, path = config_.path]() -> std::function<void()> {
    // A large file's YAML tree leaves this thread's malloc arena holding
    // memory nobody uses any more: give it back once it is parsed.
    struct Trim {
      ~Trim() { ::malloc_trim(0); }
    } trim;
    try {
      auto next = std::make_shared<Config>(load_config_file(path));
      return [this, next] { loaded(next); };
    } catch (const ConfigError& e) {
      std::vector<std::string> errors;
      for (const auto& d : e.diagnostics()) errors.push_back(d.to_string());
      return [this, errors = std::move(errors)]() mutable { refuse(std::move(errors)); };
    } catch (const std::exception& e) {
      return [this, error = fmt::format("{}: {}", path, e.what())] { refuse({error}); };
    }
  });
}

void Reloader::loaded(std::shared_ptr<Config> next) {
  // A performance that plays is never stopped for a CSD that cannot replace
  // it: compile the new one first, off the loop.
  if (!performance_.good()) return apply_(std::move(*next));
  checker_.run([this, next]() -> std::function<void()> {
    std::string errors = test_compile(next->csound.csd, next->csound.options, /*run_header=*/false);
    // An options entry Csound refuses is that entry's problem, not the CSD's.
    std::vector<std::string> bad_options;
    if (!errors.empty())
      for (const auto& d : options_problems(next->path, next->csound))
        bad_options.push_back(d.to_string());
    return [this, next, errors = std::move(errors), bad_options = std::move(bad_options)] {
      if (!errors.empty() && performance_.good()) {
        if (!bad_options.empty()) return refuse(bad_options);
        // One problem, however many lines Csound wrote about it.
        std::string problem =
            fmt::format("{}: the CSD {} does not compile:", next->path, next->csound.csd);
        for_each_line(errors, [&](std::string_view line) { (problem += '\n') += line; });
        return refuse({std::move(problem)});
      }
      apply_(std::move(*next));
    };
  });
}

void Reloader::refuse(std::vector<std::string> errors) {
  const std::size_t problems = errors.size();
  // A file with an error in each of 4000 entries must not fill the log and
  // every status reply: the first ones say what is wrong, check says all.
  if (problems > kMaxReportedProblems) {
    errors.resize(kMaxReportedProblems);
    errors.push_back(fmt::format("... and {} more (csbridge check {} lists every one)",
                                 problems - kMaxReportedProblems, config_.path));
  }
  for (const auto& e : errors) {
    std::size_t nl = std::min(e.find('\n'), e.size());
    log_lines(spdlog::level::err, "reload: " + e.substr(0, nl), std::string_view(e).substr(nl));
  }
  std::string summary =
      fmt::format("{} problem{} in {}; still running the configuration loaded before", problems,
                  problems == 1 ? "" : "s", config_.path);
  spdlog::error("reload: {}", summary);
  problems_ = problems;
  errors_ = errors;
  finish(json{{"ok", false}, {"error", summary}, {"errors", errors}});
}

void Reloader::applied(const json& outcome) {
  ++reloads_;
  errors_.clear();
  finish(outcome);
}

void Reloader::finish(const json& outcome) {
  reloading_ = false;
  auto replies = std::move(replies_);
  replies_.clear();
  std::string line = reply_line(outcome);
  for (auto& r : replies) r(line);
  health_.reloaded();
  if (again_) {
    again_ = false;
    replies_ = std::move(next_replies_);
    next_replies_.clear();
    reload("asked again during a reload");
  }
}

}  // namespace csb
