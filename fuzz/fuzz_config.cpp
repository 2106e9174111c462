// Fuzz target: the YAML config loader (load_config_text). Any text must give
// a Config or a ConfigError; any other exception, a crash or a leak is a bug.
//
// Relative paths resolve against <tmp>/mappings, which holds synth.csd, and
// <tmp>/csd/demo.csd exists too: the shipped maps (csd: ../csd/demo.csd) and
// the unit tests' configs (csd: synth.csd) get past the CSD check.

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "config/loader.hpp"

namespace fs = std::filesystem;

namespace {

fs::path g_root;
std::string g_base_dir;

void remove_root() {
  std::error_code ec;
  fs::remove_all(g_root, ec);
}

void write_csd(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "<CsoundSynthesizer>\n<CsInstruments>\n</CsInstruments>\n"
                      "</CsoundSynthesizer>\n";
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string templ = (fs::temp_directory_path() / "csb-fuzz-config-XXXXXX").string();
  if (!mkdtemp(templ.data())) {
    std::perror("fuzz_config: mkdtemp");
    abort();
  }
  g_root = templ;
  write_csd(g_root / "csd" / "demo.csd");
  write_csd(g_root / "mappings" / "synth.csd");
  g_base_dir = (g_root / "mappings").string();
  atexit(remove_root);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  try {
    csb::Config cfg = csb::load_config_text(yaml, "fuzz.yaml", g_base_dir);
    (void)cfg;
  } catch (const csb::ConfigError& e) {
    if (e.diagnostics().empty()) {
      std::fprintf(stderr, "fuzz_config: ConfigError without diagnostics\n");
      abort();
    }
    for (const auto& d : e.diagnostics()) {
      if (d.message.empty()) {
        std::fprintf(stderr, "fuzz_config: diagnostic without a message\n");
        abort();
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_config: exception other than ConfigError: %s\n", e.what());
    abort();
  } catch (...) {
    std::fprintf(stderr, "fuzz_config: unknown exception\n");
    abort();
  }
  return 0;
}
