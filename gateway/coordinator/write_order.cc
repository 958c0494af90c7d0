#include "gateway/coordinator/write_order.h"

namespace gateway {

WriteOrder::Ticket WriteOrder::take() {
    std::lock_guard lock(mutex_);
    return Ticket(this, issued_++);
}

StorageErrc WriteOrder::apply(Ticket& ticket, MetadataStore& store, std::span<const MetadataWrite> writes) {
    {
        std::unique_lock lock(mutex_);
        turn_.wait(lock, [&] { return serving_ == ticket.number(); });
    }
    ticket.order_ = nullptr;
    struct PassOn {
        WriteOrder& order;
        uint64_t number;
        ~PassOn() { order.finish(number); }   // also when the store throws
    } pass_on{*this, ticket.number()};
    return store.apply(writes);
}

void WriteOrder::finish(uint64_t number) {
    std::lock_guard lock(mutex_);
    if (number != serving_) {
        finished_early_.insert(number);
        return;
    }
    ++serving_;
    while (finished_early_.erase(serving_)) ++serving_;
    turn_.notify_all();
}

void WriteOrder::wait_idle() {
    std::unique_lock lock(mutex_);
    const uint64_t last = issued_;
    turn_.wait(lock, [&] { return serving_ >= last; });
}

} // namespace gateway
