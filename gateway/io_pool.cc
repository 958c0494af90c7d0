#include "gateway/io_pool.h"

#include "runtime/log.h"

#include <algorithm>
#include <exception>
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
