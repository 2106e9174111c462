// The csbridge command line (SPEC §2, §6): exit codes, `check` on every
// fixture and every shipped file, and `ctl` against a running service. Runs
// the real binary; Csound runs paced by -+rtaudio=null.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace fs = std::filesystem;
using namespace csbt;

namespace {

/// Every file in `dir` whose name ends with `ext`, sorted.
std::vector<fs::path> files_in(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ext) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

/// One `# expect: LINE:COL: fragment` line at the top of a bad fixture.
struct Expectation {
  std::string position;  // "LINE:COL"
  std::string fragment;
};

/// The expectations at the top of `file`, up to its first other line.
std::vector<Expectation> read_expectations(const fs::path& file) {
  static const std::regex expect_line(R"(^# expect: (\d+:\d+): (.*)$)");
  std::vector<Expectation> out;
  std::ifstream in(file);
  std::string line;
  std::smatch m;
  while (std::getline(in, line) && std::regex_match(line, m, expect_line))
    out.push_back({m[1].str(), m[2].str()});
  return out;
}

/// True when one line of `output` starts with `prefix` and holds `fragment`:
/// position and message must belong to the same reported problem.
bool has_problem(const std::string& output, const std::string& prefix,
                 const std::string& fragment) {
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0 && line.find(fragment, prefix.size()) != std::string::npos)
      return true;
  return false;
}

/// The first line of `output` parsed as JSON (discarded when it is not).
nlohmann::json first_json_line(const std::string& output) {
  return nlohmann::json::parse(output.substr(0, output.find('\n')), nullptr, false);
}

std::string config_for(const std::string& csd) {
  return "csound:\n  csd: \"" + csd + "\"\n";
}

const fs::path kData = CSB_TEST_DATA;
const fs::path kSource = CSB_SOURCE_DIR;

}  // namespace

// --- check -------------------------------------------------------------------

TEST(CliCheck, BadFixtures_ReportEveryExpectedProblemWithPosition) {
  auto fixtures = files_in(kData / "config/bad", ".yaml");
  ASSERT_FALSE(fixtures.empty());
  for (const auto& fixture : fixtures) {
    SCOPED_TRACE(fixture.string());
    auto expectations = read_expectations(fixture);
    // A fixture without expectations would pass whatever the CLI prints.
    ASSERT_FALSE(expectations.empty()) << "no '# expect: LINE:COL: fragment' line at its top";
    auto r = run_csbridge({"check", fixture.string()}, 20s);
    EXPECT_EQ(r.code, 2) << r.output;
    for (const auto& e : expectations)
      EXPECT_TRUE(has_problem(r.output, fixture.string() + ":" + e.position + ":", e.fragment))
          << "expected " << e.position << ": " << e.fragment << "\nin:\n"
          << r.output;
  }
}

TEST(CliCheck, SeveralErrors_AllReportedInOneRun) {
  auto fixture = kData / "config/bad/several_errors.yaml";
  auto r = run_csbridge({"check", fixture.string()}, 20s);
  EXPECT_EQ(r.code, 2);
  std::size_t reported = 0;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(fixture.string() + ":", 0) == 0) ++reported;
  EXPECT_EQ(reported, read_expectations(fixture).size()) << r.output;
}

TEST(CliCheck, GoodFixtures_PassAndCompile) {
  auto fixtures = files_in(kData / "config/good", ".yaml");
  ASSERT_FALSE(fixtures.empty());
  for (const auto& fixture : fixtures) {
    SCOPED_TRACE(fixture.string());
    auto r = run_csbridge({"check", fixture.string()}, 30s);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("OK"), std::string::npos) << r.output;
  }
}

TEST(CliCheck, ShippedMappings_PassAndCompile) {
  auto mappings = files_in(kSource / "mappings", ".yaml");
  ASSERT_NE(std::find(mappings.begin(), mappings.end(), kSource / "mappings/default.yaml"),
            mappings.end())
      << "the embedded default (SPEC §9) is missing";
  for (const auto& file : mappings) {
    SCOPED_TRACE(file.string());
    auto r = run_csbridge({"check", file.string()}, 30s);
    EXPECT_EQ(r.code, 0) << r.output;
  }
}

TEST(CliCheck, ShippedCsds_Compile) {
  auto csds = files_in(kSource / "csd", ".csd");
  ASSERT_FALSE(csds.empty());
  TempDir dir;
  for (const auto& csd : csds) {
    SCOPED_TRACE(csd.string());
    auto config = dir.write(csd.stem().string() + ".yaml", config_for(csd.string()));
    auto r = run_csbridge({"check", config}, 30s);
    EXPECT_EQ(r.code, 0) << r.output;
  }
}

TEST(CliCheck, CsdSyntaxError_PrintsCsoundErrorWithLine) {
  TempDir dir;
  auto csd_text = make_csd("instr 1\n  kx chnget \"x\"\n  ky = kx +* 2\nendin\n");
  auto csd = dir.write("broken.csd", csd_text);
  auto config = dir.write("broken.yaml", config_for(csd));
  // The line Csound should name: the one with the stray operator, 1-based.
  auto upto = csd_text.substr(0, csd_text.find("+*"));
  auto line = 1 + std::count(upto.begin(), upto.end(), '\n');

  auto r = run_csbridge({"check", config}, 30s);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find(csd), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("line " + std::to_string(line)), std::string::npos)
      << "Csound's message names the line; the user needs it\n"
      << r.output;
}

TEST(CliCheck, AnOptionsEntryCsoundRefusesIsThatEntrysProblem) {
  // Not "the CSD does not compile": the entry, where it is, and Csound's reason.
  TempDir dir;
  auto csd = dir.write("ok.csd", make_csd("instr 1\nendin\n"));
  for (auto [flag, why] :
       {std::pair{"-y", "unknown flag -y"},
        {"--no-such-option", "unknown long option: '--no-such-option'"},
        {"-b", "no iobufsamps (a flag's value goes in the same entry: -b128, -odac)"}}) {
    SCOPED_TRACE(flag);
    auto config = dir.write("opt.yaml", config_for(csd) + "  options: [-d, " + flag + "]\n");
    auto r = run_csbridge({"check", config}, 30s);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find(config + ":3:17: csound.options[1]: Csound does not take '" + flag +
                            "': " + why + "\n"),
              std::string::npos)
        << r.output;
    EXPECT_EQ(r.output.find("does not compile"), std::string::npos) << r.output;
  }
  // Every entry Csound refuses, each at its place.
  {
    auto config = dir.write("opt.yaml", config_for(csd) + "  options: [-y, -d, -j]\n");
    auto r = run_csbridge({"check", config}, 30s);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find(config + ":3:13: csound.options[0]"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(config + ":3:21: csound.options[2]: Csound does not take '-j'"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("2 problems in " + config), std::string::npos) << r.output;
  }
  // Every entry Csound takes: the CSD is checked as before.
  auto config = dir.write("opt.yaml", config_for(csd) + "  options: [-d, -b128, -+rtaudio=null]\n");
  auto r = run_csbridge({"check", config}, 30s);
  EXPECT_EQ(r.code, 0) << r.output;
}

TEST(CliCheck, MissingFile_ExitsTwoAndNamesIt) {
  TempDir dir;
  auto path = dir.file("not-there.yaml");
  auto r = run_csbridge({"check", path}, 10s);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find(path + ": cannot read"), std::string::npos) << r.output;
}

// --- run and usage -----------------------------------------------------------

TEST(CliRun, BadConfig_ExitsTwoWithFileLineCol) {
  TempDir dir;
  dir.write("ok.csd", make_csd("instr 1\nendin\n"));
  auto config = dir.write("bad.yaml", "csound:\n  csd: ok.csd\nscan: 1\nmidis: {}\n");
  auto r = run_csbridge(
      {"run", config, "--audio", "null", "--control", dir.file("ctl.sock"), "--log-level", "warn"},
      10s);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has_problem(r.output, config + ":3:7:", "needs a unit")) << r.output;
  EXPECT_TRUE(has_problem(r.output, config + ":4:1:", "unknown key 'midis'")) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("ctl.sock"))) << "nothing may start on a bad config";
}

TEST(CliUsage, Version_PrintsNameAndVersion) {
  auto r = run_csbridge({"--version"}, 10s);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(^csbridge \d+\.\d+)"))) << r.output;
}

TEST(CliUsage, Ports_ListsTheSerialDevicesOfEveryKindThatExist) {
  // The on-board UARTs too: /dev/ttyS* (a PC's, a board's 8250) and
  // /dev/ttyAMA* (a Raspberry Pi's PL011).
  std::vector<std::string> present;
  for (const char* dir_glob : {"ttyS", "ttyAMA", "ttyACM", "ttyUSB"})
    for (const auto& e : fs::directory_iterator("/dev"))
      if (e.path().filename().string().rfind(dir_glob, 0) == 0) present.push_back(e.path());
  if (present.empty()) GTEST_SKIP() << "no serial device under /dev here";
  auto r = run_csbridge({"ports"}, 10s);
  EXPECT_EQ(r.code, 0) << r.output;
  ASSERT_NE(r.output.find("serial devices:\n"), std::string::npos) << r.output;
  // An API that cannot be opened is said before the lists, not under one.
  auto not_open = r.output.rfind("MIDI API not open: ");
  if (not_open != std::string::npos) {
    EXPECT_LT(not_open, r.output.find("MIDI inputs")) << r.output;
  }
  for (const auto& p : present) EXPECT_NE(r.output.find("  " + p + "\n"), std::string::npos) << p;
}

TEST(CliUsage, NoSubcommand_ExitsTwo) {
  auto r = run_csbridge({}, 10s);
  EXPECT_EQ(r.code, 2) << r.output;
}

TEST(CliUsage, UnknownOptionOrSubcommand_ExitsTwo) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--no-such-option"},
                                        {"run", "--no-such-option"},
                                        {"ctl", "--no-such-option", "status"},
                                        {"check"},
                                        {"frobnicate"}}) {
    SCOPED_TRACE(args[0] + (args.size() > 1 ? " " + args[1] : ""));
    auto r = run_csbridge(args, 10s);
    EXPECT_EQ(r.code, 2) << r.output;
  }
}

// --- ctl ---------------------------------------------------------------------

TEST(CliCtl, MissingSocket_ExitsOneWithClearMessage) {
  TempDir dir;
  auto socket = dir.file("nobody.sock");
  auto r = run_csbridge({"ctl", "--control", socket, "status"}, 10s);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot connect to " + socket), std::string::npos) << r.output;
}

namespace {

/// A raw client of the control socket, to send what `csbridge ctl` never would.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  /// Sends all of `bytes`; false when the peer is gone.
  bool send(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  /// The next reply line, or nullopt on timeout or close.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto nl = pending_.find('\n');
      if (nl != std::string::npos) {
        auto line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        return line;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  /// True when the server closes the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (fill(deadline)) {
    }
    return eof_;
  }

 private:
  /// Reads what is there; false on timeout, close or error.
  bool fill(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      // A close with our unread bytes in its buffer arrives as a reset.
      eof_ = n == 0 || errno == ECONNRESET;
      return false;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string pending_;
};

/// A running bridge on a tiny orchestra, for `ctl`.
class CliCtlBridge : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("copy.csd",
               make_csd("instr 1\n  kx chnget \"x\"\n  chnset kx, \"y\"\nendin\nalwayson 1\n"));
    auto config = dir_.write("bridge.yaml", "csound:\n  csd: copy.csd\nmap: []\n");
    bridge_.emplace(dir_, config);
    ASSERT_TRUE(bridge_->wait_state("running")) << bridge_->log();
  }

  RunResult ctl(const std::vector<std::string>& words) const {
    std::vector<std::string> args{"ctl", "--control", bridge_->socket()};
    args.insert(args.end(), words.begin(), words.end());
    return run_csbridge(args, 10s);
  }

  TempDir dir_;
  std::optional<Bridge> bridge_;
};

}  // namespace

TEST_F(CliCtlBridge, Status_PrintsOkJsonAndExitsZero) {
  auto r = ctl({"status"});
  EXPECT_EQ(r.code, 0) << r.output;
  auto j = first_json_line(r.output);
  ASSERT_TRUE(j.is_object()) << r.output;
  EXPECT_EQ(j.value("ok", false), true) << r.output;
  EXPECT_EQ(j["csound"]["state"], "running") << r.output;
}

TEST_F(CliCtlBridge, SetThenGet_RoundTripsThroughTheOrchestra) {
  EXPECT_EQ(ctl({"set", "x", "0.25"}).code, 0);
  // The orchestra copies x to y: the value went through a k-cycle.
  EXPECT_TRUE(bridge_->wait_value("y", 0.25)) << bridge_->log();
  auto r = ctl({"get", "y"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(first_json_line(r.output)["value"], 0.25) << r.output;
}

TEST_F(CliCtlBridge, UnknownCommand_ExitsOneWithOkFalse) {
  auto r = ctl({"frobnicate"});
  EXPECT_EQ(r.code, 1) << r.output;
  auto j = first_json_line(r.output);
  ASSERT_TRUE(j.is_object()) << r.output;
  EXPECT_EQ(j.value("ok", true), false) << r.output;
  EXPECT_TRUE(j["error"].is_string()) << r.output;
}

TEST_F(CliCtlBridge, ErrorReply_KeepsTheConnection) {
  RawClient client(bridge_->socket());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("frobnicate\n"));
  auto bad = client.read_line();
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->find("\"ok\":false"), std::string::npos) << *bad;
  ASSERT_TRUE(client.send("status\n"));
  auto good = client.read_line();
  ASSERT_TRUE(good);
  EXPECT_NE(good->find("\"ok\":true"), std::string::npos) << *good;
}

TEST_F(CliCtlBridge, LineOf4096Bytes_IsStillAnswered) {
  RawClient client(bridge_->socket());
  ASSERT_TRUE(client.connected());
  // 4096 bytes before the newline: the longest line SPEC §6 allows.
  std::string line = "get " + std::string(4092, 'x');
  ASSERT_EQ(line.size(), 4096u);
  ASSERT_TRUE(client.send(line + "\n"));
  auto reply = client.read_line();
  ASSERT_TRUE(reply) << "no reply to a 4096-byte line\n" << bridge_->log();
  EXPECT_TRUE(nlohmann::json::parse(*reply, nullptr, false).is_object()) << reply->substr(0, 200);
  ASSERT_TRUE(client.send("status\n"));
  auto status = client.read_line();
  ASSERT_TRUE(status) << "the connection must stay open";
  EXPECT_NE(status->find("\"ok\":true"), std::string::npos) << status->substr(0, 200);
}

TEST_F(CliCtlBridge, LineOver4096Bytes_ClosesOnlyThatConnection) {
  RawClient idle(bridge_->socket());
  ASSERT_TRUE(idle.connected());
  RawClient flooder(bridge_->socket());
  ASSERT_TRUE(flooder.connected());

  flooder.send("status " + std::string(5000, 'x') + "\n");
  EXPECT_TRUE(flooder.closed_within(3s)) << "a line over 4096 bytes must close the connection";

  // A client connected before, and a new one, are both still answered.
  ASSERT_TRUE(idle.send("status\n"));
  auto reply = idle.read_line();
  ASSERT_TRUE(reply) << bridge_->log();
  EXPECT_NE(reply->find("\"ok\":true"), std::string::npos) << *reply;
  auto r = ctl({"status"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(bridge_->alive());
}

TEST_F(CliCtlBridge, LineOver4096Bytes_GetsAnErrorReplyBeforeTheClose) {
  RawClient client(bridge_->socket());
  ASSERT_TRUE(client.connected());
  client.send("status " + std::string(5000, 'x') + "\n");
  auto reply = client.read_line(3s);
  ASSERT_TRUE(reply) << bridge_->log();
  auto j = nlohmann::json::parse(*reply, nullptr, false);
  EXPECT_EQ(j["ok"], false) << *reply;
  EXPECT_NE(j["error"].get<std::string>().find("at most 4096 bytes"), std::string::npos) << *reply;
  EXPECT_TRUE(client.closed_within(3s));
}

TEST_F(CliCtlBridge, ThirtyTwoIdleConnections_StillLetCtlIn) {
  // Clients that connect and never send used to take every session for good.
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<RawClient>(bridge_->socket()));
    ASSERT_TRUE(idle.back()->connected());
  }
  for (int round = 0; round < 3; ++round) {
    auto r = ctl({"status"});
    EXPECT_EQ(r.code, 0) << r.output << bridge_->log();
  }
  // The one idle the longest made room, and was told why.
  auto line = idle.front()->read_line(3s);
  ASSERT_TRUE(line) << bridge_->log();
  EXPECT_NE(line->find("making room"), std::string::npos) << *line;
  EXPECT_TRUE(idle.front()->closed_within(3s));
}

TEST_F(CliCtlBridge, SetTakesNegativeNumbersAndRefusesBadNamesAndNonFiniteValues) {
  auto r = ctl({"set", "x", "-5"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(bridge_->wait_value("y", -5)) << bridge_->log();
  r = ctl({"set", "x", "-inf"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("not a finite number"), std::string::npos) << r.output;
  r = ctl({"set", "8ball", "1"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("bad channel name"), std::string::npos) << r.output;
}

TEST_F(CliCtlBridge, SetOfAStringTakesItQuotedForTheServiceOrForTheShell) {
  // `ctl set tag "two words"` and `ctl set tag '"two words"'` as the shell hands them over.
  for (const std::string arg : {"two words", "\"two words\"", "\"one\""}) {
    SCOPED_TRACE(arg);
    auto r = ctl({"set", "tag", arg});
    EXPECT_EQ(r.code, 0) << r.output;
    std::string want = arg == "\"one\"" ? "one" : "two words";
    EXPECT_EQ(first_json_line(r.output)["value"], want) << r.output;
  }
}

TEST_F(CliCtlBridge, ConfigOption_FindsTheSocketThatConfigNames) {
  // A config naming the running service's socket: ctl finds it from the file.
  auto other = dir_.write(
      "other.yaml", "csound:\n  csd: copy.csd\ncontrol:\n  socket: " + bridge_->socket() + "\n");
  auto r = run_csbridge({"ctl", "--config", other, "status"}, 10s);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\"ok\":true"), std::string::npos) << r.output;
}

TEST_F(CliCtlBridge, ConfigOption_WithAConfigThatDoesNotLoadStillFindsTheService) {
  // A config saved with a mistake, while the service runs the one before (a
  // systemd service: its socket is $RUNTIME_DIRECTORY/control.sock).
  auto runtime = dir_.file("run");
  std::filesystem::create_directory(runtime);
  std::filesystem::create_symlink(bridge_->socket(), runtime + "/control.sock");
  auto bad = dir_.write("bad.yaml", "csound:\n  csd: nowhere.csd\n");
  ::setenv("RUNTIME_DIRECTORY", runtime.c_str(), 1);
  auto r = run_csbridge({"ctl", "--config", bad, "status"}, 10s);
  ::unsetenv("RUNTIME_DIRECTORY");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\"ok\":true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bad.yaml does not load (1 problem, see csbridge check"),
            std::string::npos)
      << r.output;
}

TEST_F(CliCtlBridge, Monitor_ExitsOneWhenTheServiceStops) {
  // Silence because the service went away is not a clean end of the events.
  auto monitor = std::async(std::launch::async, [&] { return ctl({"monitor"}); });
  ASSERT_TRUE(eventually([&] { return bridge_->ctl("status")["ok"] == true; }));
  std::this_thread::sleep_for(300ms);  // the monitor session is open
  EXPECT_EQ(bridge_->terminate(), 0) << bridge_->log();
  ASSERT_EQ(monitor.wait_for(10s), std::future_status::ready);
  auto r = monitor.get();
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("the service closed the connection"), std::string::npos) << r.output;
}

TEST_F(CliCtlBridge, ChannelBudgetsAreSeparateShownInStatusAndSaidOnce) {
  RawClient client(bridge_->socket());
  ASSERT_TRUE(client.connected());
  // 257 names nobody has, asked for with get, then 257 new names set.
  std::string gets, sets;
  for (int k = 0; k <= 256; ++k) {
    gets += "get nosuch" + std::to_string(k) + "\n";
    sets += "set made" + std::to_string(k) + " 1\n";
  }
  ASSERT_TRUE(client.send(gets));
  int refused_gets = 0;
  for (int k = 0; k <= 256; ++k) {
    auto line = client.read_line();
    ASSERT_TRUE(line) << k;
    refused_gets += line->find("names asked for already") != std::string::npos;
  }
  EXPECT_EQ(refused_gets, 1);
  ASSERT_TRUE(client.send(sets));
  int refused_sets = 0;
  for (int k = 0; k <= 256; ++k) {
    auto line = client.read_line();
    ASSERT_TRUE(line) << k;
    refused_sets += line->find("made by set already") != std::string::npos;
  }
  // The failed get look-ups used none of set's budget.
  EXPECT_EQ(refused_sets, 1);
  auto limits = bridge_->ctl("status")["limits"];
  EXPECT_EQ(limits["watched"]["used"], 256) << limits.dump();
  EXPECT_EQ(limits["watched"]["refused"], 1) << limits.dump();
  EXPECT_EQ(limits["set"]["used"], 256) << limits.dump();
  EXPECT_EQ(limits["set"]["max"], 256) << limits.dump();
  EXPECT_EQ(limits["wildcard"]["max_per_mapping"], 256) << limits.dump();
  EXPECT_EQ(limits["channels"]["max"], 9216) << limits.dump();
  // Said once each, however often it happens.
  ASSERT_TRUE(client.send("get nosuch999\nset made999 1\n"));
  ASSERT_TRUE(client.read_line());
  ASSERT_TRUE(client.read_line());
  std::string log = bridge_->log();
  EXPECT_EQ(count_of(log, "status: limits.watched"), 1u) << log;
  EXPECT_EQ(count_of(log, "status: limits.set"), 1u) << log;
}
