#include "gateway/fetch_waiters.h"

namespace gateway {

FetchWaiters::FetchWaiters() : timer_([this] { timer_loop(); }) {}

FetchWaiters::~FetchWaiters() { shutdown(); }

uint64_t FetchWaiters::appends_to_locked(const std::vector<TopicPartition>& partitions) const {
    uint64_t n = 0;
    for (const auto& tp : partitions)
        if (auto it = appends_.find(tp); it != appends_.end()) n += it->second;
    return n;
}

uint64_t FetchWaiters::appends_to(const std::vector<TopicPartition>& partitions) const {
    std::lock_guard lock(mutex_);
    return appends_to_locked(partitions);
}

void FetchWaiters::wait(const std::vector<TopicPartition>& partitions, uint64_t seen, Clock::time_point deadline,
                        Wake wake) {
    auto w = std::make_shared<Waiter>();
    w->wake = std::move(wake);
    {
        std::lock_guard lock(mutex_);
        if (!stopping_ && appends_to_locked(partitions) == seen) {
            for (const auto& tp : partitions) by_partition_.emplace(tp, w);
            by_deadline_.emplace(deadline, w);
            changed_.notify_one();
            return;
        }
    }
    fire(w);
}

void FetchWaiters::fire(const std::shared_ptr<Waiter>& w) {
    {
        std::lock_guard lock(mutex_);
        if (w->done) return;
        w->done = true;
    }
    w->wake();
}

void FetchWaiters::notify(const TopicPartition& tp, int64_t) {
    std::vector<std::shared_ptr<Waiter>> ready;
    {
        std::lock_guard lock(mutex_);
        ++appends_[tp];
        auto [b, e] = by_partition_.equal_range(tp);
        for (auto it = b; it != e; ++it)
            if (auto w = it->second.lock()) ready.push_back(std::move(w));
        by_partition_.erase(b, e);
    }
    for (const auto& w : ready) fire(w);
}

void FetchWaiters::timer_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (by_deadline_.empty()) {
            changed_.wait(lock);
            continue;
        }
        auto first = by_deadline_.begin();
        if (first->second->done) {   // woken by an append already
            by_deadline_.erase(first);
            continue;
        }
        // A copy: shutdown() may free the node while wait_until has the mutex released.
        if (const auto until = first->first; Clock::now() < until) {
            changed_.wait_until(lock, until);
            continue;
        }
        auto w = first->second;
        by_deadline_.erase(first);
        lock.unlock();
        fire(w);
        lock.lock();
        // Drop partition entries of waiters that are gone.
        std::erase_if(by_partition_, [](const auto& kv) { return kv.second.expired(); });
    }
}

void FetchWaiters::shutdown() {
    std::vector<std::shared_ptr<Waiter>> all;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !timer_.joinable()) return;
        stopping_ = true;
        for (auto& [_, w] : by_deadline_) all.push_back(w);
        by_deadline_.clear();
        by_partition_.clear();
        changed_.notify_all();
    }
    if (timer_.joinable()) timer_.join();
    for (const auto& w : all) fire(w);
}

} // namespace gateway
