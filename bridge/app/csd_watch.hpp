#pragma once
// csound.watch (SPEC §4): the CSD file looked at four times a second; an
// edit that held still for one look resets the performance, once it
// compiles while a good performance plays. An edit that does not compile
// leaves the last version that did playing, and says why. Loop thread.

#include <cstdint>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/checker.hpp"
#include "app/performance.hpp"
#include "core/config.hpp"

namespace csb {

class CsdWatch {
 public:
  CsdWatch(boost::asio::io_context& io, const Config& config, Checker& checker,
           Performance& performance);

  /// Follows the configuration's CSD when csound.watch is on (again after a reload).
  void start();
  void stop();
  /// Csound's errors for the edited CSD that does not compile; empty when none.
  const std::string& error() const { return error_; }

 private:
  struct FileSig {
    bool exists = false;
    std::uint64_t ino = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileSig&) const = default;
  };
  static FileSig file_sig(const std::string& path);
  void schedule();
  void tick();
  void changed();

  const Config& config_;
  Checker& checker_;
  Performance& performance_;
  boost::asio::steady_timer timer_;
  FileSig acted_on_;  ///< the version last acted on
  FileSig last_;      ///< as seen at the last look: a change must hold still for one
  std::string error_;
};

}  // namespace csb
