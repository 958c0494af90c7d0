// The I/O threads Fetch reads on where reads may block: off the caller's thread, one blocked task
// holding up no other, everything queued run before the pool goes, a throwing task logged.
#include "gateway/io_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

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

} // namespace
} // namespace gateway
