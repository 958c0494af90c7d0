// The I/O threads Fetch reads on where reads may block: off the caller's thread, one blocked task
// holding up no other, everything queued run before the pool goes, a throwing task logged.
#include "gateway/io_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
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

// n tasks that each wait (up to 10 s) until all n are running: true for each that saw all n.
class Meeting {
public:
    explicit Meeting(size_t n) : n_(n) {}
    bool arrive() {
        std::unique_lock lock(m_);
        ++arrived_;
        all_.notify_all();
        return all_.wait_for(lock, 10s, [&] { return arrived_ == n_; });
    }

private:
    std::mutex m_;
    std::condition_variable all_;
    size_t n_;
    size_t arrived_ = 0;
};

TEST(IoPoolRunAll, RunsEachIndexOnceOnTheCallerAndThePoolTogether) {
    IoPool pool(2);
    Meeting meeting(3);   // the caller and both threads
    std::vector<int> runs(3, 0);
    std::vector<bool> met(3, false);
    pool.run_all(3, [&](size_t i) {
        ++runs[i];
        met[i] = meeting.arrive();
    });
    EXPECT_EQ(runs, (std::vector<int>{1, 1, 1}));
    EXPECT_EQ(met, (std::vector<bool>{true, true, true}));
    pool.run_all(0, [](size_t) { FAIL() << "nothing to run"; });
}

TEST(IoPoolRunAll, ABusyPoolLeavesEverythingToTheCaller) {
    IoPool pool(1);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    pool.post([released] { released.wait(); });
    std::vector<std::thread::id> ran_on(5);
    pool.run_all(5, [&](size_t i) { ran_on[i] = std::this_thread::get_id(); });
    for (const std::thread::id& id : ran_on) EXPECT_EQ(id, std::this_thread::get_id());
    release.set_value();
}

TEST(IoPoolRunAll, EveryPoolThreadCallingItStillFinishes) {
    // Each thread's helpers queue behind the other thread's task; each caller does its own work.
    IoPool pool(2);
    Meeting both_calling(2);
    std::atomic<int> ran{0};
    std::promise<void> first_done, second_done;
    for (std::promise<void>* done : {&first_done, &second_done})
        pool.post([&, done] {
            both_calling.arrive();
            pool.run_all(4, [&](size_t) {
                std::this_thread::sleep_for(1ms);
                ++ran;
            });
            done->set_value();
        });
    EXPECT_EQ(first_done.get_future().wait_for(10s), std::future_status::ready);
    EXPECT_EQ(second_done.get_future().wait_for(10s), std::future_status::ready);
    EXPECT_EQ(ran.load(), 8);
}

TEST(IoPoolRunAll, RethrowsTheFailureAfterTheOthersEnded) {
    IoPool pool(2);
    std::atomic<int> finished{0};
    try {
        pool.run_all(4, [&](size_t i) {
            if (i == 1) throw std::runtime_error("read failure for the test");
            std::this_thread::sleep_for(20ms);
            ++finished;
        });
        ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "read failure for the test");
        EXPECT_EQ(finished.load(), 3);
    }
}

} // namespace
} // namespace gateway
