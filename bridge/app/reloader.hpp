#pragma once
// Reload (SPEC §4): reads and validates the config file off the loop, and
// while a good performance plays compiles its CSD first, so that a file
// with a problem, or a CSD that does not compile, leaves the running
// configuration as it is. The service applies what passes (`apply`), which
// ends in applied() or refuse(). A reload asked for while one runs reads the
// file once more after it. Loop thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "app/checker.hpp"
#include "app/health.hpp"
#include "app/performance.hpp"
#include "core/config.hpp"

namespace csb {

class Reloader {
 public:
  using Reply = std::function<void(std::string)>;

  Reloader(const Config& config, Checker& checker, Performance& performance, Health& health,
           std::function<void(Config)> apply);

  /// `reply` (control socket) gets the outcome line.
  void reload(const char* why, Reply reply = {});
  /// Keeps the running configuration; `errors` holds one entry a problem (a
  /// CSD that does not compile is one, its first line then Csound's lines).
  void refuse(std::vector<std::string> errors);
  /// The new configuration runs; `outcome` is the reply.
  void applied(const nlohmann::json& outcome);

  std::uint64_t reloads() const { return reloads_; }
  /// Of the last reload refused (at most kMaxReportedProblems and a line
  /// saying how many more); empty once one applied.
  const std::vector<std::string>& errors() const { return errors_; }
  std::size_t problems() const { return problems_; }

  static constexpr std::size_t kMaxReportedProblems = 100;

 private:
  void loaded(std::shared_ptr<Config> next);
  void finish(const nlohmann::json& outcome);

  const Config& config_;
  Checker& checker_;
  Performance& performance_;
  Health& health_;
  std::function<void(Config)> apply_;
  bool reloading_ = false;
  bool again_ = false;  ///< asked again while one was running
  std::vector<Reply> replies_, next_replies_;
  std::uint64_t reloads_ = 0;  ///< applied
  std::vector<std::string> errors_;
  std::size_t problems_ = 0;  ///< how many (errors_ holds the first ones)
};

}  // namespace csb
