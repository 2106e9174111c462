#pragma once
// A spin lock for sections of a few hundred nanoseconds shared with a thread
// that must never sleep (Csound's performance and worker threads). Such a
// thread takes it with try_lock and skips the work when it is held; the
// other side may lock() and spin. Use it with std::lock_guard, or with
// std::unique_lock and std::try_to_lock.

#include <atomic>

namespace csb {

/// A Lockable (lock, try_lock, unlock) on one atomic_flag: acquire when
/// taken, release when given back. Never allocates, never sleeps, not
/// recursive. Any thread.
class SpinLock {
 public:
  SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  /// Spins until the lock is taken.
  void lock() noexcept {
    while (flag_.test_and_set(std::memory_order_acquire)) {
    }
  }
  /// Takes the lock if it is free; false, at once, when it is held.
  bool try_lock() noexcept { return !flag_.test_and_set(std::memory_order_acquire); }
  /// Gives the lock back; only its holder may.
  void unlock() noexcept { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

}  // namespace csb
