#pragma once
// The one clock for event timestamps: steady (CLOCK_MONOTONIC on Linux), in
// integer nanoseconds, comparable across threads. A vDSO read, no system call.

#include <chrono>
#include <cstdint>

namespace csb {

inline std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace csb
