#include "app/alsa_log.hpp"

#include <alsa/asoundlib.h>

#include <cstdarg>
#include <cstdio>

#include <spdlog/spdlog.h>

namespace csb {
namespace {

void log_alsa_error(const char* file, int line, const char* function, int err, const char* fmt,
                    ...) {
  if (!spdlog::should_log(spdlog::level::debug)) return;
  char text[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  if (err != 0)
    spdlog::debug("alsa-lib: {}:{}:({}) {}: {}", file, line, function, text, snd_strerror(err));
  else
    spdlog::debug("alsa-lib: {}:{}:({}) {}", file, line, function, text);
}

}  // namespace

void route_alsa_errors_to_log() {
  snd_lib_error_set_handler(log_alsa_error);
}

}  // namespace csb
