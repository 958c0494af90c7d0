// Long-poll fetches: a Fetch that found less than min_bytes waits until an append to one of its
// partitions (woken by the storage engine's append listener, not by polling) or its max_wait_ms
// deadline, whichever comes first; then its callback runs once, on the appending thread or on this
// class's timer thread.
#pragma once

#include "gateway/storage/storage_engine.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace gateway {

class FetchWaiters {
public:
    using Clock = std::chrono::steady_clock;
    using Wake = std::function<void()>;

    FetchWaiters();
    ~FetchWaiters();

    // Runs `wake` once: after an append to any of `partitions`, or at `deadline`.
    void wait(const std::vector<TopicPartition>& partitions, Clock::time_point deadline, Wake wake);
    // The storage engine appended to tp.
    void notify(const TopicPartition& tp, int64_t high_watermark);
    // Wakes everybody (shutdown) and stops the timer thread.
    void shutdown();

private:
    struct Waiter {
        Wake wake;
        bool done = false;
    };
    void timer_loop();
    void fire(const std::shared_ptr<Waiter>& w);

    std::mutex mutex_;
    std::condition_variable changed_;
    std::multimap<TopicPartition, std::weak_ptr<Waiter>> by_partition_;
    std::multimap<Clock::time_point, std::shared_ptr<Waiter>> by_deadline_;
    bool stopping_ = false;
    std::thread timer_;
};

} // namespace gateway
