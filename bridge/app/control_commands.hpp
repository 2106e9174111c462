#pragma once
// The control socket's commands (SPEC §6), each answered from the service's
// parts: status, devices, channels, get and set of channels, and the
// actions (reset, pause, resume, reload, monitor). The words of a command
// line are parsed by core/command.hpp, the reply lines made by
// control/reply.hpp. Loop thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json_fwd.hpp>

#include "core/channels.hpp"
#include "core/command.hpp"
#include "core/config.hpp"
#include "core/router.hpp"
#include "engine/engine.hpp"

namespace csb {

class ControlSession;
class CsdWatch;
class DeviceSet;
class KeptValues;
class Performance;
class Reloader;

class ControlCommands {
 public:
  using Reply = std::function<void(std::string)>;

  /// What the commands read and act on; every part outlives this.
  struct Parts {
    boost::asio::io_context& io;
    const Config& config;
    ChannelTable& channels;
    Engine& engine;
    Performance& performance;
    Reloader& reloader;
    CsdWatch& watch;
    DeviceSet& devices;
    KeptValues& values;
    /// The router of the configuration now (a reload replaces it).
    std::function<const Router&()> router;
  };

  explicit ControlCommands(Parts parts);

  /// Answers one command line through `reply` (at once, or later for get and reload).
  void handle(ControlSession& session, const std::string& line, Reply reply);
  nlohmann::json status_json() const;
  /// What `monitor` clients get of one routed value (SPEC §6).
  std::string monitor_line(const std::string& device, std::string_view source, std::uint32_t slot,
                           double value) const;

  /// Most channels `get` adds because a client asked for a name nothing
  /// else names, and most `set` makes.
  static constexpr std::size_t kMaxWatched = 256;
  static constexpr std::size_t kMaxSetChannels = 256;

 private:
  void get(const std::string& name, Reply reply);
  void set(const Command& c, Reply reply);
  /// Answers `get` of a watched slot once the performance thread has looked
  /// for it, and has looked again for watched names `after_sweep` times.
  void answer_get(const std::string& name, std::uint32_t slot, Reply reply,
                  std::uint64_t after_sweep, int tries);
  /// The slot `set` writes, made if need be; kNoSlot after replying an error.
  std::uint32_t set_slot(const std::string& name, ChannelType type, const Reply& reply);
  /// How much of each channel budget is used (SPEC §6 status).
  nlohmann::json limits_json() const;
  nlohmann::json channels_json() const;
  nlohmann::json channel_value(std::uint32_t slot) const;

  Parts p_;
  std::chrono::steady_clock::time_point started_at_;
  std::size_t watched_ = 0;
  std::uint64_t watch_refused_ = 0;
  std::size_t set_created_ = 0;
  std::uint64_t set_refused_ = 0;
};

}  // namespace csb
