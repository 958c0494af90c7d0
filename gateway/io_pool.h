// Threads for handler work that may block: a seaweedmq:// read waits on a broker or on the filer (a
// ranged GET takes milliseconds, a dead filer its whole timeout).  Run on an event loop, such a read
// would hold up every other connection of the loop; run from a long-poll wake-up, it would hold up the
// thread that woke it (a SeaweedMQ acknowledgement's gRPC thread, or the fetch waiters' one timer
// thread, which serves every waiting fetch).  Kafka's request handler threads (num.io.threads) do the
// same job.  Engines whose reads do not block (file://, memory://) get no pool: their reads run inline.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace gateway {

class IoPool {
public:
    explicit IoPool(int threads);
    // Runs what is queued, then joins the threads.
    ~IoPool();
    IoPool(const IoPool&) = delete;
    IoPool& operator=(const IoPool&) = delete;

    // Any thread: runs `task` on one of the pool's threads (inline once the pool is stopping).  A task
    // that throws is logged; it must answer its own exchange.
    void post(std::function<void()> task);
    // The same, but tasks posted with the same `key` run one after the other, in the order posted (as
    // Kafka handles one connection's requests in order); tasks of other keys run alongside.
    void post_in_order(const void* key, std::function<void()> task);
    // Runs each(0) .. each(n - 1) and returns when all have: on the calling thread and on whichever of
    // the pool's threads are free meanwhile (a pool thread may call it: the caller takes whatever no
    // thread took, so a busy pool only makes it serial).  An exception of `each` is rethrown here, the
    // first one, after all have ended.
    void run_all(size_t n, const std::function<void(size_t)>& each);

private:
    void run();
    void run_next_of(const void* key);

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> tasks_;
    std::map<const void*, std::deque<std::function<void()>>> in_order_;   // front: running or queued to run
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

} // namespace gateway
