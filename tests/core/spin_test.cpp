// SpinLock: a Lockable for the sections the performance thread shares, which
// it only ever try-locks.

#include "core/spin.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <type_traits>

namespace csb {
namespace {

TEST(SpinLock, TryLockFailsWhileHeldAndWorksOnceGivenBack) {
  SpinLock l;
  EXPECT_TRUE(l.try_lock());
  EXPECT_FALSE(l.try_lock());  // not recursive
  l.unlock();
  EXPECT_TRUE(l.try_lock());
  l.unlock();
}

TEST(SpinLock, WorksWithTheStandardGuards) {
  SpinLock l;
  {
    std::lock_guard guard(l);
    std::unique_lock other(l, std::try_to_lock);
    EXPECT_FALSE(other.owns_lock());  // a never-block path skips its work
  }
  std::unique_lock again(l, std::try_to_lock);
  EXPECT_TRUE(again.owns_lock());
}

TEST(SpinLock, TwoThreadsNeverInsideAtOnce) {
  SpinLock l;
  long counter = 0;  // plain: only the lock orders the two threads' writes
  int inside = 0;
  bool overlap = false;
  constexpr int kRounds = 200000;
  auto work = [&](bool trying) {
    for (int i = 0; i < kRounds;) {
      std::unique_lock guard(l, std::defer_lock);
      if (trying) {
        if (!guard.try_lock()) continue;
      } else {
        guard.lock();
      }
      if (++inside != 1) overlap = true;
      ++counter;
      --inside;
      ++i;
    }
  };
  std::thread a(work, false);
  std::thread b(work, true);
  a.join();
  b.join();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(counter, 2L * kRounds);
}

static_assert(!std::is_copy_constructible_v<SpinLock>);
static_assert(std::is_nothrow_invocable_v<decltype(&SpinLock::try_lock), SpinLock&>);

}  // namespace
}  // namespace csb
