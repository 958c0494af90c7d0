// Store writes that no request thread waits for: OffsetCommit's, and the group records a rebalance stores
// (the leader's SyncGroup, a group left empty).
//
// A commit is decided under the coordinator's mutex, which also takes its WriteOrder ticket and queues the
// write here, so the queue is in ticket order.  A thread of this writer's own applies the queued writes one
// after the other; a second thread runs each write's completion (which takes the coordinator's mutex to
// change memory, then answers the client).  So:
//   - a stalled store (a SeaweedFS filer that stopped answering) holds up the queued commits only, not the
//     threads that serve requests: heartbeats, joins, fetches and produce go on however many commits wait;
//   - the writer thread never waits on the coordinator's mutex, so a write the coordinator makes in line
//     while holding that mutex (WriteOrder::apply) always sees the writes queued before it done.
#pragma once

#include "gateway/coordinator/write_order.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace gateway {

class StoreWriter {
public:
    using Done = std::function<void(StorageErrc)>;

    StoreWriter(WriteOrder& order, MetadataStore& store);
    // Fails what is still queued, waits for the write in progress and for every completion.
    ~StoreWriter();
    StoreWriter(const StoreWriter&) = delete;
    StoreWriter& operator=(const StoreWriter&) = delete;

    // Queues `writes` in `ticket`'s place; call in ticket order (under the lock that took the ticket).
    // `done` gets the store's answer on the completion thread, never on the caller's.
    void submit(WriteOrder::Ticket ticket, std::vector<MetadataWrite> writes, Done done);
    // From now on queued writes are not made: their tickets are dropped and `done` gets storage_error
    // (the coordinator is shutting down; the client retries elsewhere).  The write in progress finishes.
    void stop();
    // Returns once every write submitted so far, and any its completion submitted in turn, is made and
    // completed.  Must not be called holding a lock a completion takes (the coordinator's mutex).
    void wait_idle();

    // Writes queued while a write failed are failed too, without being tried: behind a store that timed out
    // each would wait out its own timeout, and so would a write the coordinator makes in line, holding its
    // mutex, behind them all.  Their clients get a retriable error and retry; a write queued after the
    // failure is tried again.

private:
    struct Job {
        Job(uint64_t n, WriteOrder::Ticket t, std::vector<MetadataWrite> w, Done d)
          : number(n), ticket(std::move(t)), writes(std::move(w)), done(std::move(d)) {}
        uint64_t number;   // in submit order
        WriteOrder::Ticket ticket;
        std::vector<MetadataWrite> writes;
        Done done;
        StorageErrc result = StorageErrc::storage_error;
    };

    void write_loop();
    void complete_loop();

    WriteOrder& order_;
    MetadataStore& store_;
    std::mutex mutex_;   // everything below
    std::condition_variable changed_;
    std::deque<std::unique_ptr<Job>> to_write_;
    std::deque<std::unique_ptr<Job>> to_complete_;
    bool stopped_ = false;   // stop(): queued writes are failed, not made
    uint64_t submitted_ = 0;
    uint64_t completed_ = 0;     // jobs whose `done` has returned
    uint64_t failed_below_ = 0;   // jobs numbered below this were queued while a write failed
    bool ending_ = false;    // the destructor: both threads finish their queues and end
    bool writer_ended_ = false;
    std::thread writer_;
    std::thread completer_;
};

} // namespace gateway
