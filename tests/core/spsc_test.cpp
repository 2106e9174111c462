// The single-producer single-consumer ring that carries data from RtMidi's
// and the performance thread's callbacks to the loop.

#include "core/spsc.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

namespace csb {
namespace {

TEST(SpscRing, Fifo_Order) {
  SpscRing<int, 8> r;
  EXPECT_TRUE(r.empty());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(r.push(i));
  EXPECT_FALSE(r.empty());
  int v = 0;
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(r.pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(r.pop(v));
  EXPECT_TRUE(r.empty());
}

TEST(SpscRing, Full_RefusesPush) {
  // A full ring drops the new item (the caller counts it); the queued ones
  // are untouched.
  SpscRing<int, 4> r;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(r.push(i));
  EXPECT_FALSE(r.push(99));
  int v = -1;
  ASSERT_TRUE(r.pop(v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(r.push(4));  // one slot free again
  EXPECT_FALSE(r.push(5));
  for (int want = 1; want <= 4; ++want) {
    ASSERT_TRUE(r.pop(v));
    EXPECT_EQ(v, want);
  }
  EXPECT_FALSE(r.pop(v));
}

TEST(SpscRing, Wraparound_KeepsOrder) {
  // Many times round a small ring: index masking must stay correct.
  SpscRing<int, 4> r;
  int next_in = 0, next_out = 0, v = 0;
  for (int round = 0; round < 1000; ++round) {
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(r.push(next_in++));
    for (int k = 0; k < 3; ++k) {
      ASSERT_TRUE(r.pop(v));
      ASSERT_EQ(v, next_out++);
    }
  }
  EXPECT_TRUE(r.empty());
}

TEST(SpscRing, Clear_DropsEverything) {
  SpscRing<int, 8> r;
  for (int i = 0; i < 6; ++i) r.push(i);
  r.clear();
  EXPECT_TRUE(r.empty());
  int v = 0;
  EXPECT_FALSE(r.pop(v));
  ASSERT_TRUE(r.push(42));
  ASSERT_TRUE(r.pop(v));
  EXPECT_EQ(v, 42);
}

TEST(SpscRing, TwoThreads_MillionItemsInOrder) {
  // The producer is never blocked by the consumer beyond a full ring; every
  // item arrives once, in order.
  constexpr std::uint64_t kCount = 1'000'000;
  auto ring = std::make_unique<SpscRing<std::uint64_t, 1024>>();
  auto start = std::chrono::steady_clock::now();

  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kCount; ++i)
      while (!ring->push(i)) std::this_thread::yield();
  });

  // Counting pops (not trusting the values) and a deadline keep the loop
  // finite even if items were duplicated or lost.
  std::uint64_t received = 0, out_of_order = 0, last = 0;
  std::uint64_t v = 0;
  while (received < kCount) {
    if (ring->pop(v)) {
      if (v != received) ++out_of_order;
      last = v;
      ++received;
    } else if (std::chrono::steady_clock::now() - start > std::chrono::seconds(20)) {
      break;  // items lost: fail below instead of hanging
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
  ASSERT_EQ(received, kCount);

  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(last, kCount - 1);
  EXPECT_TRUE(ring->empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace csb
