// WriteOrder: writes reach the store in ticket order, whichever thread gets there first; a ticket
// dropped unused gives up its turn.
#include "gateway/coordinator/write_order.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace gateway {
namespace {

class RecordingStore final : public MetadataStore {
public:
    StorageErrc apply(std::span<const MetadataWrite> writes) override {
        std::lock_guard lock(mutex_);
        for (const MetadataWrite& w : writes) keys.push_back(w.key);
        return StorageErrc::none;
    }
    std::vector<std::pair<std::string, std::string>> scan(std::string_view) const override { return {}; }
    std::vector<std::string> keys;

private:
    std::mutex mutex_;
};

TEST(WriteOrder, WritesReachTheStoreInTicketOrderAndDroppedTicketsAreSkipped) {
    WriteOrder order;
    RecordingStore store;
    WriteOrder::Ticket first = order.take();
    auto dropped = std::make_unique<WriteOrder::Ticket>(order.take());
    WriteOrder::Ticket third = order.take();
    const std::vector<MetadataWrite> a{{"a", std::string("1")}}, c{{"c", std::string("3")}};
    // The third ticket's write waits for the first's, and for the dropped one's turn to pass.
    auto later = std::async(std::launch::async, [&] { return order.apply(third, store, c); });
    EXPECT_EQ(later.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
    EXPECT_EQ(order.apply(first, store, a), StorageErrc::none);
    EXPECT_EQ(later.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
    dropped.reset();
    EXPECT_EQ(later.get(), StorageErrc::none);
    EXPECT_EQ(store.keys, (std::vector<std::string>{"a", "c"}));
    order.wait_idle();   // nothing outstanding: returns at once
}

TEST(WriteOrder, ATicketDroppedBeforeItsTurnDoesNotHoldUpTheNext) {
    WriteOrder order;
    RecordingStore store;
    { WriteOrder::Ticket unused = order.take(); }
    WriteOrder::Ticket next = order.take();
    const std::vector<MetadataWrite> b{{"b", std::nullopt}};
    EXPECT_EQ(order.apply(next, store, b), StorageErrc::none);
    EXPECT_EQ(store.keys, std::vector<std::string>{"b"});
}

} // namespace
} // namespace gateway
