#include "gateway/io_pool.h"

#include "runtime/log.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <string>

namespace gateway {
namespace {

void run_logged(const std::function<void()>& task) {
    try {
        task();
    } catch (const std::exception& e) {
        kafka::log_error("io", std::string("a task failed: ") + e.what());
    }
}

} // namespace

IoPool::IoPool(int threads) {
    threads_.reserve(static_cast<size_t>(std::max(threads, 1)));
    for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { run(); });
}

IoPool::~IoPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
}

void IoPool::post(std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            tasks_.push_back(std::move(task));
            wake_.notify_one();
            return;
        }
    }
    run_logged(task);
}

void IoPool::post_in_order(const void* key, std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            auto [it, first] = in_order_.try_emplace(key);
            it->second.push_back(std::move(task));
            if (first) {   // else it runs after those before it
                tasks_.push_back([this, key] { run_next_of(key); });
                wake_.notify_one();
            }
            return;
        }
    }
    run_logged(task);
}

void IoPool::run_all(size_t n, const std::function<void(size_t)>& each) {
    // Helpers posted to the pool and the caller take indexes from `next`; a helper that starts after
    // every index was taken returns without touching `each`, which lives on the caller's stack.
    struct Shared {
        std::mutex mutex;
        std::condition_variable all_done;
        size_t next = 0;
        size_t done = 0;
        std::exception_ptr error;
    };
    if (n == 0) return;
    auto shared = std::make_shared<Shared>();
    auto work = [shared, n, f = &each] {
        for (;;) {
            size_t i;
            {
                std::lock_guard lock(shared->mutex);
                if (shared->next == n) return;
                i = shared->next++;
            }
            std::exception_ptr error;
            try {
                (*f)(i);
            } catch (...) {
                error = std::current_exception();
            }
            std::lock_guard lock(shared->mutex);
            if (error && !shared->error) shared->error = error;
            if (++shared->done == n) shared->all_done.notify_all();
        }
    };
    for (size_t helpers = 1; helpers < std::min(n, threads_.size() + 1); ++helpers) post(work);
    work();
    std::unique_lock lock(shared->mutex);
    shared->all_done.wait(lock, [&] { return shared->done == n; });
    if (shared->error) std::rethrow_exception(shared->error);
}

// Runs the key's oldest task, then queues the next one (behind other keys' tasks: one busy connection
// does not hold a thread to itself).
void IoPool::run_next_of(const void* key) {
    std::function<void()> task;
    {
        std::lock_guard lock(mutex_);
        task = std::move(in_order_.at(key).front());
    }
    run_logged(task);
    std::lock_guard lock(mutex_);
    auto it = in_order_.find(key);
    it->second.pop_front();
    if (it->second.empty()) {
        in_order_.erase(it);
        return;
    }
    tasks_.push_back([this, key] { run_next_of(key); });   // also when stopping: the threads drain tasks_
    wake_.notify_one();
}

void IoPool::run() {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
            if (tasks_.empty()) return;   // stopping, and nothing left
            task = std::move(tasks_.front());
            tasks_.pop_front();
        }
        run_logged(task);
    }
}

} // namespace gateway
