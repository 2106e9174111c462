#pragma once
// Values that outlive restarts (SPEC §4): every channel a device, a `*`
// mapping or `set` wrote is handed to the state file's writer thread at most
// once a second when any arrived since, and written once more at the stop;
// the start sets them into the channel table before the first compile.
// Loop thread.

#include <cstdint>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/state_store.hpp"
#include "core/channels.hpp"

namespace csb {

class KeptValues {
 public:
  KeptValues(boost::asio::io_context& io, ChannelTable& channels);

  /// Sets the saved values into the table.
  void restore();
  /// Saves every second from now on.
  void start();
  /// Cancels the saves and writes the values now, waiting for the disk.
  void stop();
  /// The state file's path ("" when none can be kept).
  const std::string& path() const { return store_.path(); }

 private:
  void schedule();
  /// On the writer thread; `at_stop`: now, waiting for the disk.
  void save(bool at_stop = false);

  ChannelTable& channels_;
  boost::asio::steady_timer timer_;
  StateStore store_;
  /// Kept values of names the channel table cannot take now (another type,
  /// no room), written back with the others.
  StateStore::Values kept_ = StateStore::Values::object();
  std::int64_t saved_arrival_ = 0;  ///< newest value arrival written
  std::string error_;
};

}  // namespace csb
