#include "engine/compile_check.hpp"

#include <csound.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/text.hpp"
#include "engine/message_lines.hpp"

namespace csb {

namespace {
struct CompileLog {
  MessageLines lines;
  std::string errors, tail;
};
void collect_message(CSOUND* cs, int attr, const char* text) {
  auto* log = static_cast<CompileLog*>(csoundGetHostData(cs));
  log->lines.feed(attr, text, [&](CsoundMessage::Level level, std::string_view line) {
    if (level == CsoundMessage::Level::error) (log->errors += line) += '\n';
    (log->tail += line) += '\n';
  });
}
}  // namespace

std::string test_compile(const std::string& csd, const std::vector<std::string>& options,
                         bool run_header) {
  static const int init = csoundInitialize(CSOUNDINIT_NO_SIGNAL_HANDLER | CSOUNDINIT_NO_ATEXIT);
  (void)init;
  CompileLog log;
  CSOUND* cs = csoundCreate(&log);
  if (!cs) return "cannot create a Csound instance";
  csoundSetMessageStringCallback(cs, collect_message);
  std::vector<std::string> args{"csbridge", csd};
  args.insert(args.end(), options.begin(), options.end());
  // Last, so they win: no audio device, no MIDI device, no waiting.
  for (const char* a : {"-n", "-+rtmidi=null", "-+rtaudio=null"}) args.emplace_back(a);
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  int r = 0;
  if (run_header) {
    r = csoundCompile(cs, static_cast<int>(argv.size()), argv.data());
    csoundStop(cs);
    csoundCleanup(cs);
  } else {
    // Reads the CSD and compiles the orchestra; csoundStart, which runs the
    // header, is never called.
    r = csoundCompileArgs(cs, static_cast<int>(argv.size()), argv.data());
  }
  csoundDestroy(cs);
  if (r == 0) return {};
  std::string err = !log.errors.empty() ? log.errors : log.tail;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return err.empty() ? "Csound could not compile " + csd : err;
}

namespace {
/// Csound's reason from what it wrote while refusing a flag: after "ERROR:"
/// ("Csound Command ERROR:    unknown flag -y"), or the "unknown long option"
/// line without the "end of score..." Csound glues onto it.
std::string flag_reason(const CompileLog& log) {
  std::string reason;
  // The last line may not be ended yet.
  for_each_line(log.tail + log.lines.line, [&](std::string_view line) {
    if (!reason.empty()) return;
    if (auto e = line.find("ERROR:"); e != std::string_view::npos) {
      line.remove_prefix(e + 6);
    } else if (line.find("unknown long option") == std::string_view::npos) {
      return;
    }
    if (auto glued = line.find("end of score"); glued != std::string_view::npos)
      line = line.substr(0, glued);
    auto b = line.find_first_not_of(' ');
    if (b != std::string_view::npos) reason = std::string(line.substr(b));
  });
  if (reason.empty()) reason = log.errors.substr(0, log.errors.find('\n'));
  return reason.empty() ? "Csound does not take it" : reason;
}

/// Each of `options` Csound refuses on its own: its index and Csound's reason.
std::vector<std::pair<std::size_t, std::string>> refused_options(
    const std::vector<std::string>& options) {
  static const int init = csoundInitialize(CSOUNDINIT_NO_SIGNAL_HANDLER | CSOUNDINIT_NO_ATEXIT);
  (void)init;
  std::vector<std::pair<std::size_t, std::string>> refused;
  const char* tmp = std::getenv("TMPDIR");
  std::string orc = std::string(tmp && *tmp ? tmp : "/tmp") + "/csbridge-flag-XXXXXX.orc";
  int fd = ::mkstemps(orc.data(), 4);
  if (fd < 0) return refused;
  constexpr std::string_view kOrc = "instr 1\nendin\n";
  bool written = ::write(fd, kOrc.data(), kOrc.size()) == static_cast<ssize_t>(kOrc.size());
  ::close(fd);
  for (std::size_t i = 0; written && i < options.size(); ++i) {
    CompileLog log;
    CSOUND* cs = csoundCreate(&log);
    if (!cs) break;
    csoundSetMessageStringCallback(cs, collect_message);
    std::vector<const char*> argv{"csbridge", "--orc",         orc.c_str(),     options[i].c_str(),
                                  "-n",       "-+rtmidi=null", "-+rtaudio=null"};
    if (csoundCompileArgs(cs, static_cast<int>(argv.size()), argv.data()) != 0)
      refused.emplace_back(i, flag_reason(log));
    csoundDestroy(cs);
  }
  ::unlink(orc.c_str());
  return refused;
}

}  // namespace

std::vector<Diagnostic> options_problems(const std::string& file, const CsoundConfig& cs) {
  std::vector<Diagnostic> problems;
  for (auto& [i, why] : refused_options(cs.options)) {
    // A short flag without its value: Csound's words ("no iobufsamps", "no
    // number of threads") do not say how to write it.
    const std::string& flag = cs.options[i];
    std::string hint = flag.size() == 2 && why.rfind("no ", 0) == 0
                           ? " (a flag's value goes in the same entry: -b128, -odac)"
                           : "";
    problems.push_back(
        {file, i < cs.option_marks.size() ? cs.option_marks[i] : Mark{},
         fmt::format("csound.options[{}]: Csound does not take '{}': {}{}", i, flag, why, hint)});
  }
  return problems;
}

}  // namespace csb
