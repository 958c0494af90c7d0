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

    // How many appends to `partitions` were notified so far: taken before a read, and given to wait(),
    // so that an append notified between the read and the wait is not missed (appends may be notified
    // from any thread: a SeaweedMQ acknowledgement arrives on its stream's thread).
    uint64_t appends_to(const std::vector<TopicPartition>& partitions) const;
    // Runs `wake` once: after an append to any of `partitions`, or at `deadline`; at once when appends
    // were notified since appends_to() gave `seen`.
    void wait(const std::vector<TopicPartition>& partitions, uint64_t seen, Clock::time_point deadline, Wake wake);
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

    uint64_t appends_to_locked(const std::vector<TopicPartition>& partitions) const;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::map<TopicPartition, uint64_t> appends_;   // notified appends per partition
    std::multimap<TopicPartition, std::weak_ptr<Waiter>> by_partition_;
    std::multimap<Clock::time_point, std::shared_ptr<Waiter>> by_deadline_;
    bool stopping_ = false;
    std::thread timer_;
};

} // namespace gateway
