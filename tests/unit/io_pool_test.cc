// The I/O threads Fetch reads on where reads may block: off the caller's thread, one blocked task
// holding up no other, everything queued run before the pool goes, a throwing task logged.
#include "gateway/io_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gateway {
namespace {

using namespace std::chrono_literals;

TEST(IoPool, RunsTasksOffTheCallersThread) {
    IoPool pool(2);
    std::promise<std::thread::id> ran_on;
    pool.post([&] { ran_on.set_value(std::this_thread::get_id()); });
    auto f = ran_on.get_future();
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    EXPECT_NE(f.get(), std::this_thread::get_id());
}

TEST(IoPool, ABlockedTaskHoldsUpNoOther) {
    IoPool pool(2);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::promise<void> second_ran;
    pool.post([released] { released.wait(); });
    pool.post([&] { second_ran.set_value(); });
    EXPECT_EQ(second_ran.get_future().wait_for(10s), std::future_status::ready);
    release.set_value();
}

TEST(IoPool, RunsWhatIsQueuedBeforeItGoes) {
    std::atomic<int> done{0};
    {
        IoPool pool(2);
        for (int i = 0; i < 200; ++i)
            pool.post([&] {
                std::this_thread::sleep_for(100us);
                ++done;
            });
    }
    EXPECT_EQ(done.load(), 200);
}

TEST(IoPool, AThrowingTaskDoesNotStopThePool) {
    IoPool pool(1);
    pool.post([] { throw std::runtime_error("task failure for the test"); });
    std::promise<void> after;
    pool.post([&] { after.set_value(); });
    EXPECT_EQ(after.get_future().wait_for(10s), std::future_status::ready);
}

TEST(IoPool, TasksOfOneKeyRunInOrderOneAtATimeWhileOtherKeysGoOn) {
    IoPool pool(4);
    int a_key, b_key;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::mutex m;
    std::vector<int> order;
    auto record = [&](int i) {
        std::lock_guard lock(m);
        order.push_back(i);
    };
    pool.post_in_order(&a_key, [&, released] {
        released.wait();
        record(1);
    });
    std::promise<void> last_ran;
    pool.post_in_order(&a_key, [&] { record(2); });
    pool.post_in_order(&a_key, [&] {
        record(3);
        last_ran.set_value();
    });
    std::promise<void> other_ran;
    pool.post_in_order(&b_key, [&] { other_ran.set_value(); });
    // Another key is not held up by the first key's blocked task; the first key's later tasks are.
    EXPECT_EQ(other_ran.get_future().wait_for(10s), std::future_status::ready);
    {
        std::lock_guard lock(m);
        EXPECT_TRUE(order.empty());
    }
    release.set_value();
    ASSERT_EQ(last_ran.get_future().wait_for(10s), std::future_status::ready);
    std::lock_guard lock(m);
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(IoPool, KeyedTasksQueuedBeforeItGoesAllRun) {
    std::atomic<int> done{0};
    int key;
    {
        IoPool pool(2);
        for (int i = 0; i < 100; ++i) pool.post_in_order(&key, [&] { ++done; });
    }
    EXPECT_EQ(done.load(), 100);
}

} // namespace
} // namespace gateway
