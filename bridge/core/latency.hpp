#pragma once
// A fixed-bucket latency histogram: one writer thread adds samples without
// locks or allocation, any thread reads percentiles.

#include <array>
#include <atomic>
#include <cstdint>

namespace csb {

class LatencyHistogram {
 public:
  static constexpr std::int64_t kBucketNs = 5'000;  // 5 µs resolution
  static constexpr std::size_t kBuckets = 4000;     // up to 20 ms; beyond goes to the last

  /// Writer thread only.
  void add(std::int64_t ns) noexcept {
    if (ns < 0) ns = 0;
    std::size_t b = static_cast<std::size_t>(ns / kBucketNs);
    if (b >= kBuckets) b = kBuckets - 1;
    buckets_[b].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    if (ns > max_.load(std::memory_order_relaxed)) max_.store(ns, std::memory_order_relaxed);
  }

  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  std::int64_t max_ns() const { return max_.load(std::memory_order_relaxed); }

  /// The value below which a fraction q (0..1) of the samples fall, in ns
  /// (upper edge of the bucket). 0 without samples.
  std::int64_t quantile_ns(double q) const {
    std::uint64_t total = 0;
    for (const auto& b : buckets_) total += b.load(std::memory_order_relaxed);
    if (total == 0) return 0;
    auto want = static_cast<std::uint64_t>(q * static_cast<double>(total));
    if (want == 0) want = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= want) return static_cast<std::int64_t>(i + 1) * kBucketNs;
    }
    return static_cast<std::int64_t>(kBuckets) * kBucketNs;
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::int64_t> max_{0};
};

}  // namespace csb
