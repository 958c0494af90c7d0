// Idempotent producers (KIP-98): per producer id and partition, the epoch and the last five batches'
// sequence ranges.  A batch that repeats one of them is a retry: acknowledged with its original
// offset and not appended again.  A gap in the sequence is OUT_OF_ORDER_SEQUENCE_NUMBER; an old epoch
// is INVALID_PRODUCER_EPOCH.
//
// The check, the append and the record must happen as one step per partition: callers hold the
// partition's lock (lock()) around all three.  State lives in memory: after a restart a producer's
// first batch is accepted whatever its sequence and the checks resume from there.
#pragma once

#include "gateway/error_codes.h"
#include "gateway/storage/storage_engine.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>

namespace gateway {

struct ProducerBatch {
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t first_sequence = -1;
    int32_t last_sequence = -1;
};

class ProducerStates {
public:
    ProducerStates();

    std::unique_lock<std::mutex> lock(const TopicPartition& tp);

    struct Verdict {
        ErrorCode error = ErrorCode::none;
        bool duplicate = false;
        int64_t duplicate_base_offset = -1;
    };
    Verdict check(const TopicPartition& tp, const ProducerBatch& batch) const;
    void record(const TopicPartition& tp, const ProducerBatch& batch, int64_t base_offset);
    // Forgets a deleted topic's partitions.
    void forget_topic(const std::string& topic);

    // A fresh producer id for InitProducerId (unique across restarts: seeded from the clock).
    int64_t allocate_producer_id() { return next_id_.fetch_add(1); }

private:
    struct Entry {
        int16_t epoch = -1;
        struct Range {
            int32_t first, last;
            int64_t base_offset;
        };
        std::deque<Range> recent;   // at most 5, oldest first
    };
    std::array<std::mutex, 64> stripes_;
    mutable std::mutex map_mutex_;
    std::map<std::pair<TopicPartition, int64_t>, Entry> entries_;
    std::atomic<int64_t> next_id_;
};

} // namespace gateway
