// Idempotent producer rules: retries of the last five batches are duplicates, gaps are out of order,
// old epochs are fenced, a new epoch restarts at sequence 0.  Persistence across restarts:
// producer_recovery_test.cc.
#include "gateway/producer_state.h"

#include <gtest/gtest.h>

namespace gateway {
namespace {

const TopicPartition tp{"t", 0};

TEST(ProducerState, SequencesDuplicatesAndGaps) {
    ProducerStates s;
    EXPECT_EQ(s.check(tp, {7, 0, 0, 9}).error, ErrorCode::none);
    s.record(tp, {7, 0, 0, 9}, 100);
    EXPECT_EQ(s.check(tp, {7, 0, 10, 19}).error, ErrorCode::none);
    s.record(tp, {7, 0, 10, 19}, 110);
    auto dup = s.check(tp, {7, 0, 0, 9});
    EXPECT_TRUE(dup.duplicate);
    EXPECT_EQ(dup.duplicate_base_offset, 100);
    EXPECT_EQ(s.check(tp, {7, 0, 25, 30}).error, ErrorCode::out_of_order_sequence_number);
    EXPECT_EQ(s.check(tp, {7, -1, 20, 29}).error, ErrorCode::invalid_producer_epoch);
    EXPECT_EQ(s.check(tp, {7, 1, 5, 9}).error, ErrorCode::out_of_order_sequence_number);
    EXPECT_EQ(s.check(tp, {7, 1, 0, 4}).error, ErrorCode::none);
    // Another partition and another producer have their own sequences.
    EXPECT_EQ(s.check({"t", 1}, {7, 0, 0, 0}).error, ErrorCode::none);
    EXPECT_EQ(s.check(tp, {8, 0, 0, 0}).error, ErrorCode::none);
}

TEST(ProducerState, BatchesInFlightAreFollowedOnFromAndForgottenWhenTheyFail) {
    ProducerStates s;
    s.record(tp, {7, 0, 0, 9}, 100);
    // Three appends in flight: each next batch is checked against the reservation before it.
    s.reserve(tp, {7, 0, 10, 19});
    EXPECT_EQ(s.check(tp, {7, 0, 20, 29}).error, ErrorCode::none);
    s.reserve(tp, {7, 0, 20, 29});
    EXPECT_EQ(s.check(tp, {7, 0, 31, 39}).error, ErrorCode::out_of_order_sequence_number);
    s.reserve(tp, {7, 0, 30, 39});
    // A retry of a batch in flight is neither new nor a duplicate with an offset.
    auto retry = s.check(tp, {7, 0, 20, 29});
    EXPECT_TRUE(retry.in_flight);
    EXPECT_FALSE(retry.duplicate);
    EXPECT_TRUE(s.complete(tp, {7, 0, 10, 19}, 110));
    auto dup = s.check(tp, {7, 0, 10, 19});
    EXPECT_TRUE(dup.duplicate);
    EXPECT_EQ(dup.duplicate_base_offset, 110);
    // The second fails: it and the third are forgotten; the client resends from the second.
    s.abandon(tp, {7, 0, 20, 29});
    EXPECT_FALSE(s.complete(tp, {7, 0, 30, 39}, 130)) << "abandoned with the batch before it";
    EXPECT_EQ(s.check(tp, {7, 0, 30, 39}).error, ErrorCode::out_of_order_sequence_number);
    EXPECT_EQ(s.check(tp, {7, 0, 20, 29}).error, ErrorCode::none);
    EXPECT_FALSE(s.check(tp, {7, 0, 20, 29}).in_flight);
    // A new epoch drops what was in flight under the old one.
    s.reserve(tp, {7, 0, 20, 29});
    s.reserve(tp, {7, 1, 0, 4});
    EXPECT_FALSE(s.complete(tp, {7, 0, 20, 29}, 120));
    EXPECT_TRUE(s.complete(tp, {7, 1, 0, 4}, 140));
    EXPECT_TRUE(s.check(tp, {7, 1, 0, 4}).duplicate);
}

TEST(ProducerState, OnlyTheLastFiveBatchesAreRemembered) {
    ProducerStates s;
    for (int i = 0; i < 6; ++i) s.record(tp, {1, 0, i * 10, i * 10 + 9}, i * 10);
    EXPECT_FALSE(s.check(tp, {1, 0, 0, 9}).duplicate);
    EXPECT_TRUE(s.check(tp, {1, 0, 10, 19}).duplicate);
}

TEST(ProducerState, SequenceWrapsAtInt32Max) {
    ProducerStates s;
    s.record(tp, {1, 0, INT32_MAX - 9, INT32_MAX}, 0);
    EXPECT_EQ(s.check(tp, {1, 0, 0, 5}).error, ErrorCode::none);
}

TEST(ProducerState, WithoutAnEngineNothingIsPersisted) {
    ProducerStates s;
    s.record(tp, {1, 0, 0, 0}, 0);
    EXPECT_EQ(s.recover().partitions, 0);
    EXPECT_EQ(s.write_snapshots(ProducerStates::SnapshotScope::all_moved), 0u);
    s.shutdown();
    EXPECT_TRUE(s.check(tp, {1, 0, 0, 0}).duplicate);   // the state itself is kept
}

TEST(ProducerState, SnapshotKeysNameTopicAndPartition) {
    EXPECT_EQ(ProducerStates::snapshot_key({"orders.eu", 12}), "producers/orders.eu/12");
}

TEST(ProducerState, ProducerIdsAreUnique) {
    ProducerStates s;
    EXPECT_NE(s.allocate_producer_id(), s.allocate_producer_id());
}

} // namespace
} // namespace gateway
