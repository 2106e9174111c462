#include "app/csd_watch.hpp"

#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/log_lines.hpp"

namespace csb {

using namespace std::chrono_literals;

CsdWatch::CsdWatch(boost::asio::io_context& io, const Config& config, Checker& checker,
                   Performance& performance)
    : config_(config), checker_(checker), performance_(performance), timer_(io) {}

CsdWatch::FileSig CsdWatch::file_sig(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

void CsdWatch::start() {
  timer_.cancel();
  error_.clear();
  if (!config_.csound.watch) return;
  acted_on_ = last_ = file_sig(config_.csound.csd);
  schedule();
}

void CsdWatch::stop() {
  timer_.cancel();
}

void CsdWatch::schedule() {
  // Polled: a stat four times a second costs nothing, and sees an editor's
  // write in place, its rename over the file, and a directory replaced.
  timer_.expires_after(250ms);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    tick();
    schedule();
  });
}

void CsdWatch::tick() {
  FileSig now = file_sig(config_.csound.csd);
  bool settled = now == last_;  // unchanged since the last look: not mid-write
  last_ = now;
  if (!now.exists || now == acted_on_ || !settled) return;
  acted_on_ = now;
  changed();
}

void CsdWatch::changed() {
  const std::string& csd = config_.csound.csd;
  spdlog::info("csound.watch: {} changed on disk", csd);
  if (!performance_.good()) {
    // Nothing plays that a broken edit could silence: start it now.
    error_.clear();
    performance_.reset("the CSD changed on disk");
    return;
  }
  checker_.check_csd(
      csd, config_.csound.options,
      [this, sig = acted_on_](std::string errors) {
        if (!(sig == acted_on_)) return;  // changed again: that check decides
        if (errors.empty()) {
          error_.clear();
          performance_.reset("the CSD changed on disk");
          return;
        }
        error_ = errors;
        performance_.set_error(errors);
        log_lines(spdlog::level::err,
                  fmt::format("csound.watch: {} was changed and does not compile; still playing "
                              "the last version that did:",
                              config_.csound.csd),
                  errors);
      },
      /*watch=*/true);
}

}  // namespace csb
