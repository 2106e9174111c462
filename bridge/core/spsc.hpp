#pragma once
// A bounded single-producer single-consumer ring: the one lock-free path by
// which threads hand data to each other. push() only from the producer
// thread, pop() only from the consumer thread. Never allocates after
// construction; a full ring refuses the push (the caller counts the drop).

#include <array>
#include <atomic>
#include <cstddef>
#include <optional>

namespace csb {

template <class T, std::size_t N>
class SpscRing {
  static_assert((N & (N - 1)) == 0, "capacity must be a power of two");

 public:
  /// Producer thread. False when full.
  bool push(const T& v) noexcept {
    std::size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) == N) return false;
    slots_[head & (N - 1)] = v;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  /// Consumer thread. False when empty.
  bool pop(T& out) noexcept {
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return false;
    out = slots_[tail & (N - 1)];
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  /// Producer thread: how many pushes would succeed now (at least).
  std::size_t free_slots() const noexcept {
    return N - (head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_acquire));
  }

  /// Consumer thread: the oldest element, left in place; nullptr when empty.
  const T* front() const noexcept {
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return nullptr;
    return &slots_[tail & (N - 1)];
  }
  /// Consumer thread: removes the element front() returned.
  void drop_front() noexcept {
    tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  /// Consumer thread: drops everything queued.
  void clear() noexcept {
    tail_.store(head_.load(std::memory_order_acquire), std::memory_order_release);
  }

  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  std::array<T, N> slots_{};
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

}  // namespace csb
