#pragma once
// What the fuzz targets share: a check that aborts (so libFuzzer keeps the
// input) and read sizes drawn from a seed byte, so bytes arrive in any split.

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>

#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                      \
    }                                                                               \
  } while (0)

namespace fuzz {

/// Read sizes from one seed byte: the low 3 bits pick the largest read
/// (1 byte up to 256), a small generator seeded by the byte varies each read.
class Splits {
 public:
  explicit Splits(std::uint8_t seed) : state_(seed * 2654435761u + 1) {
    static constexpr std::size_t kMax[] = {1, 2, 3, 5, 8, 16, 64, 256};
    max_ = kMax[seed & 7];
  }
  std::size_t next() {
    state_ = state_ * 1103515245u + 12345u;
    return 1 + (state_ >> 16) % max_;
  }

 private:
  std::uint32_t state_;
  std::size_t max_;
};

}  // namespace fuzz
