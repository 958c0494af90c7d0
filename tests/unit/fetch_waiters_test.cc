// Long-poll wake-ups: by an append to a watched partition, or by the deadline; exactly once.
#include "gateway/fetch_waiters.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace gateway {
namespace {

using namespace std::chrono_literals;

bool eventually(const std::atomic<int>& v, int want) {
    for (int i = 0; i < 500 && v.load() != want; ++i) std::this_thread::sleep_for(10ms);
    return v.load() == want;
}

TEST(FetchWaiters, AppendWakesOnceBeforeDeadline) {
    FetchWaiters w;
    std::atomic<int> woken{0};
    w.wait({{"a", 0}, {"b", 1}}, 0, FetchWaiters::Clock::now() + 60s, [&] { ++woken; });
    w.notify({"c", 0}, 1);
    EXPECT_EQ(woken.load(), 0);
    w.notify({"b", 1}, 5);
    EXPECT_EQ(woken.load(), 1);   // on the notifying thread
    w.notify({"a", 0}, 5);
    EXPECT_EQ(woken.load(), 1);
}

TEST(FetchWaiters, DeadlineWakes) {
    FetchWaiters w;
    std::atomic<int> woken{0};
    const auto start = FetchWaiters::Clock::now();
    w.wait({{"a", 0}}, 0, start + 50ms, [&] { ++woken; });
    ASSERT_TRUE(eventually(woken, 1));
    EXPECT_GE(FetchWaiters::Clock::now() - start, 50ms);
    w.notify({"a", 0}, 1);
    EXPECT_EQ(woken.load(), 1);
}

// An append notified between a fetch's read and its wait (from another thread, as SeaweedMQ
// acknowledgements are) wakes it at once instead of leaving it to its deadline.
TEST(FetchWaiters, AnAppendBetweenReadAndWaitIsNotMissed) {
    FetchWaiters w;
    std::atomic<int> woken{0};
    const std::vector<TopicPartition> partitions{{"a", 0}, {"b", 0}};
    const uint64_t seen = w.appends_to(partitions);   // before the read
    w.notify({"c", 0}, 1);                              // another partition: no matter
    EXPECT_EQ(w.appends_to(partitions), seen);
    w.notify({"b", 0}, 7);                              // lands after the read, before the wait
    EXPECT_EQ(w.appends_to(partitions), seen + 1);
    w.wait(partitions, seen, FetchWaiters::Clock::now() + 3600s, [&] { ++woken; });
    EXPECT_EQ(woken.load(), 1);   // at once, on this thread
    // With nothing new since, it waits.
    const uint64_t now_seen = w.appends_to(partitions);
    w.wait(partitions, now_seen, FetchWaiters::Clock::now() + 3600s, [&] { ++woken; });
    EXPECT_EQ(woken.load(), 1);
    w.notify({"a", 0}, 8);
    EXPECT_EQ(woken.load(), 2);
}

TEST(FetchWaiters, ShutdownWakesEveryone) {
    std::atomic<int> woken{0};
    {
        FetchWaiters w;
        w.wait({{"a", 0}}, 0, FetchWaiters::Clock::now() + 3600s, [&] { ++woken; });
        w.wait({{"b", 0}}, 0, FetchWaiters::Clock::now() + 3600s, [&] { ++woken; });
    }
    EXPECT_EQ(woken.load(), 2);
}

} // namespace
} // namespace gateway
