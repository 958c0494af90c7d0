// Store writes in a fixed order without a lock held across them.
//
// The group coordinator decides under its mutex what to write; with a slow store (the SeaweedFS filer on
// seaweedmq://) holding that mutex across the write would hold up every group's requests, heartbeats
// included.  A ticket taken under the mutex fixes the write's place in line; the write itself may then
// run after the mutex is released, and still reaches the store after every write whose ticket came
// before and before every write whose ticket came after.  So the store sees writes in the order the
// coordinator decided them, which is the order its memory changed in.
//
// Waiting for a turn while holding the coordinator's mutex is allowed: a ticket holder writing outside
// the mutex does not take it until it has passed its turn on.
#pragma once

#include "gateway/storage/metadata_store.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <span>

namespace gateway {

class WriteOrder {
public:
    // A place in line; move-only.  Dropped without apply(), its turn is skipped.
    class Ticket {
    public:
        Ticket(Ticket&& other) noexcept : order_(other.order_), number_(other.number_) { other.order_ = nullptr; }
        Ticket& operator=(Ticket&&) = delete;
        ~Ticket() {
            if (order_) order_->finish(number_);
        }
        uint64_t number() const { return number_; }

    private:
        friend class WriteOrder;
        Ticket(WriteOrder* order, uint64_t number) : order_(order), number_(number) {}
        WriteOrder* order_;   // null once used
        uint64_t number_;
    };

    Ticket take();
    // Waits for the ticket's turn, applies `writes` to `store`, passes the turn on.
    StorageErrc apply(Ticket& ticket, MetadataStore& store, std::span<const MetadataWrite> writes);
    // Waits until every ticket taken so far has had its turn.
    void wait_idle();

private:
    void finish(uint64_t number);

    std::mutex mutex_;
    std::condition_variable turn_;
    uint64_t issued_ = 0;
    uint64_t serving_ = 0;
    std::set<uint64_t> finished_early_;   // dropped tickets whose turn has not come yet
};

} // namespace gateway
