// csbridge command line (SPEC §2). Exit codes: 0 clean stop, 2 usage or
// configuration error, 1 fatal runtime error.

#include <glob.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/dup_filter_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/alsa_log.hpp"
#include "app/service.hpp"
#include "app/systemd.hpp"
#include "config/loader.hpp"
#include "core/command.hpp"
#include "engine/compile_check.hpp"
#include "midi/midi_backend.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

/// Where `run` without CONFIG finds mappings/default.yaml: installed beside
/// the binary, in the source tree of a build directory, or the source tree
/// the binary was built from.
std::string find_default_config() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    candidates.push_back(exe.parent_path() / "../share/csbridge/mappings/default.yaml");
    candidates.push_back(exe.parent_path() / "../mappings/default.yaml");
  }
  candidates.push_back(fs::path(CSBRIDGE_SOURCE_DIR) / "mappings/default.yaml");
  for (const auto& c : candidates)
    if (fs::exists(c, ec)) return fs::weakly_canonical(c, ec).string();
  return {};
}

/// Loads a config, printing every problem; nullopt on any.
std::optional<csb::Config> load_or_report(const std::string& path) {
  try {
    return csb::load_config_file(path);
  } catch (const csb::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << '\n';
    std::cerr << e.diagnostics().size() << " problem" << (e.diagnostics().size() == 1 ? "" : "s")
              << " in " << path << '\n';
    return std::nullopt;
  }
}

/// `<N>` syslog priorities, which the journal reads off the start of a line.
class JournalPriority : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    // trace, debug, info, warn, err, critical, off
    static constexpr std::string_view kPrefix[] = {"<7>", "<7>", "<6>", "<4>", "<3>", "<2>", "<6>"};
    auto p = kPrefix[static_cast<int>(msg.level)];
    dest.append(p.data(), p.data() + p.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalPriority>();
  }
};

void setup_logging(const std::string& level) {
  // The same line again and again (a port that cannot open, a board sending
  // garbage) is said once, then counted: "Skipped N duplicate messages".
  auto dedup = std::make_shared<spdlog::sinks::dup_filter_sink_mt>(std::chrono::seconds(30));
  bool journal = csb::systemd::stderr_is_journal();
  if (journal)
    dedup->add_sink(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  else
    dedup->add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>("csbridge", dedup);
  spdlog::set_default_logger(logger);
  if (journal) {
    // The journal stamps each line itself.
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JournalPriority>('*').set_pattern("%*%v");
    spdlog::set_formatter(std::move(f));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  spdlog::set_level(spdlog::level::from_str(level));
  csb::route_alsa_errors_to_log();
}

int cmd_run(const std::string& config_arg, const csb::RunOptions& options) {
  std::string path = config_arg;
  if (path.empty()) {
    path = find_default_config();
    if (path.empty()) {
      spdlog::error("no CONFIG given and no mappings/default.yaml found beside the binary");
      return kExitUsage;
    }
    spdlog::info("no CONFIG given: using the default {}", path);
  }
  auto config = load_or_report(path);
  if (!config) return kExitUsage;
  try {
    csb::Service app(std::move(*config), options);
    return app.run();
  } catch (const csb::ConfigError& e) {  // what the loader cannot know (the channel table)
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << '\n';
    return kExitUsage;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return kExitRuntime;
  }
}

int cmd_check(const std::string& path) {
  auto config = load_or_report(path);
  if (!config) return kExitUsage;
  std::string err = csb::test_compile(config->csound.csd, config->csound.options);
  if (!err.empty()) {
    if (auto bad = csb::options_problems(path, config->csound); !bad.empty()) {
      for (const auto& d : bad) std::cerr << d.to_string() << '\n';
      std::cerr << bad.size() << (bad.size() == 1 ? " problem in " : " problems in ") << path
                << '\n';
      return kExitUsage;
    }
    std::cerr << config->csound.csd << ": Csound cannot compile it:\n" << err << '\n';
    return kExitUsage;
  }
  auto count = [](std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::cout << path << ": OK (" << count(config->devices.size(), "device", "devices") << ", "
            << count(config->map.size(), "mapping", "mappings") << ", "
            << count(config->feedback.size(), "feedback entry", "feedback entries") << "; "
            << config->csound.csd << " compiles)\n";
  return kExitOk;
}

std::string ctl_socket_path(const std::string& given) {
  if (!given.empty()) return given;
  std::string def = csb::default_control_path();
  std::error_code ec;
  for (const std::string& p : {def, std::string("/run/csbridge/control.sock")})
    if (fs::exists(p, ec)) return p;
  return def;
}

int cmd_ctl(const std::string& socket_arg, const std::string& config_arg,
            const std::vector<std::string>& words) {
  std::string given = socket_arg;
  if (given.empty() && !config_arg.empty()) {
    // The socket that config's service listens on (SPEC §6).
    try {
      given = csb::load_config_file(config_arg).control.socket;
    } catch (const csb::ConfigError& e) {
      // A config saved with a mistake must not lock the user out of the
      // service still running the one before.
      std::cerr << "ctl: " << config_arg << " does not load (" << e.diagnostics().size()
                << (e.diagnostics().size() == 1 ? " problem" : " problems")
                << ", see csbridge check " << config_arg
                << "); looking for the socket without it\n";
    }
    // No socket in the config: looked for like without --config, so the
    // installed service's /run/csbridge/control.sock is found from any shell.
  }
  std::string path = ctl_socket_path(given);
  std::string line;
  for (const auto& w : words) {
    if (!line.empty()) line += ' ';
    // Words with spaces were quoted on the shell: keep them one word.
    line += csb::command_word(w);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    std::cerr << "control socket path too long: " << path << '\n';
    return kExitRuntime;
  }
  std::strcpy(addr.sun_path, path.c_str());
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::cerr << "cannot connect to " << path << ": " << std::strerror(errno)
              << " (is csbridge running? --control PATH names another socket)\n";
    return kExitRuntime;
  }
  line += '\n';
  // No reply within 10 s is an error, not a hang (monitor waits forever).
  bool monitor = !words.empty() && words[0] == "monitor";
  if (!monitor) {
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  // MSG_NOSIGNAL: a service that went away is an exit code, not SIGPIPE.
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    std::cerr << "cannot send to " << path << ": " << std::strerror(errno) << '\n';
    return kExitRuntime;
  }
  std::string buf;
  char chunk[4096];
  int code = kExitRuntime;
  bool first = true;
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string reply = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      std::cout << reply << std::endl;
      if (first) {
        auto j = nlohmann::json::parse(reply, nullptr, false);
        code = j.is_object() && j.value("ok", false) ? kExitOk : kExitRuntime;
        first = false;
        if (!monitor || code != kExitOk) {
          ::close(fd);
          return code;
        }
      }
    }
  }
  ::close(fd);
  if (first) {
    std::cerr << "no reply from " << path << '\n';
  } else if (monitor) {
    // The events stopped because the service went away, not because we left.
    std::cerr << "monitor: the service closed the connection (stopped or restarted)\n";
    code = kExitRuntime;
  }
  return code;
}

int cmd_ports() {
  std::vector<std::string> problems;
  auto midi = csb::list_all_midi_ports(problems);
  // Before the lists: an API that cannot be opened lists neither inputs nor outputs.
  for (const auto& p : problems) std::cout << "MIDI API not open: " << p << '\n';
  for (bool input : {true, false}) {
    std::cout << (input ? "MIDI inputs (a device's `midi:` glob matches these names):\n"
                        : "MIDI outputs (feedback goes to these):\n");
    int n = 0;
    for (const auto& p : midi)
      if (p.input == input) {
        std::cout << "  " << p.api << "  " << p.name << '\n';
        ++n;
      }
    if (!n) std::cout << "  (none)\n";
  }
  std::cout << "serial devices:\n";
  int found = 0;
  for (const char* pattern :
       {"/dev/ttyACM*", "/dev/ttyUSB*", "/dev/ttyAMA*", "/dev/ttyS*", "/dev/serial/by-id/*"}) {
    glob_t g{};
    if (::glob(pattern, 0, nullptr, &g) == 0)
      for (std::size_t i = 0; i < g.gl_pathc; ++i, ++found)
        std::cout << "  " << g.gl_pathv[i] << '\n';
    globfree(&g);
  }
  if (!found) std::cout << "  (none)\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // For `run`, signals wait, blocked, until the event loop handles them
  // (Service::run), so a stop asked for during start-up is still a clean stop;
  // threads created meanwhile (Csound's) inherit the mask and never take them.
  if (argc > 1 && std::string_view(argv[1]) == "run") {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&stop_signals, s);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  }

  CLI::App cli{"csbridge: MIDI and serial hardware bridge for Csound"};
  cli.set_version_flag("--version", std::string("csbridge ") + CSBRIDGE_VERSION);
  cli.require_subcommand(1);

  std::string config_path, control_path, audio, log_level = "info";
  auto* run = cli.add_subcommand(
      "run",
      "run the service (without CONFIG: mappings/default.yaml, installed or in the source tree)");
  run->add_option("CONFIG", config_path, "YAML mapping file");
  run->add_option("--audio", audio, "`null`: real-time pacing without a sound card")
      ->check(CLI::IsMember({"null"}));
  run->add_option("--control", control_path, "control socket path (overrides the config)");
  run->add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  std::string check_path;
  auto* check = cli.add_subcommand("check", "validate CONFIG and compile its CSD; exit 0 or 2");
  check->add_option("CONFIG", check_path, "YAML mapping file")->required();

  std::string ctl_socket, ctl_config;
  std::vector<std::string> ctl_words;
  auto* ctl = cli.add_subcommand("ctl", "send one command to a running service");
  auto* ctl_control = ctl->add_option("--control", ctl_socket, "control socket path");
  ctl->add_option("--config", ctl_config, "find the socket the way this config's service does")
      ->excludes(ctl_control);
  // Everything from COMMAND on is the command's, so `set x -5` is a value,
  // not an option.
  ctl->prefix_command();
  ctl->add_option("COMMAND", ctl_words,
                  "status | reset | reload | pause | resume | get NAME | set NAME VALUE | "
                  "devices | channels | monitor");

  auto* ports =
      cli.add_subcommand("ports", "list the MIDI ports (every API) and serial devices seen now");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = cli.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  setup_logging(log_level);
  if (*run) {
    csb::RunOptions options;
    options.audio_null = audio == "null";
    options.control_path = control_path;
    return cmd_run(config_path, options);
  }
  if (*check) return cmd_check(check_path);
  if (*ctl) {
    // prefix_command takes every word after the COMMAND as the command's
    // (`set x -5`), and an unknown option before it too: that is a mistake.
    int at = 1;
    while (at < argc && std::string_view(argv[at]) != "ctl") ++at;
    for (int i = at + 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a == "--control" || a == "--config") {
        ++i;
        continue;
      }
      if (a.rfind("--control=", 0) == 0 || a.rfind("--config=", 0) == 0) continue;
      if (a.size() > 1 && a[0] == '-') {
        std::cerr << "ctl: unknown option '" << a
                  << "' (--control PATH or --config FILE come before the COMMAND)\n";
        return kExitUsage;
      }
      break;
    }
    for (auto& w : ctl->remaining()) ctl_words.push_back(w);
    if (ctl_words.empty()) {
      std::cerr << "ctl: a COMMAND is required (status, reset, reload, pause, resume, get, set, "
                   "devices, channels, monitor)\n";
      return kExitUsage;
    }
    return cmd_ctl(ctl_socket, ctl_config, ctl_words);
  }
  if (*ports) return cmd_ports();
  return kExitUsage;
}
