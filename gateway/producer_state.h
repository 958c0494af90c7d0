// Idempotent producers (KIP-98): per producer id and partition, the epoch and the last five batches'
// sequence ranges.  A batch that repeats one of them is a retry: acknowledged with its original
// offset and not appended again.  A gap in the sequence is OUT_OF_ORDER_SEQUENCE_NUMBER; an old epoch
// is INVALID_PRODUCER_EPOCH.
//
// The check, the append and the record must happen as one step per partition: callers hold the
// partition's lock (lock()) around all three.
//
// Surviving restarts, as Kafka's producer-state snapshots do.  Bound to a storage engine, each
// partition's state is kept in the engine's MetadataStore under "producers/<topic>/<partition>" with
// the high watermark it covers (the snapshot offset).  recover(), before serving, loads every
// snapshot and replays the batches stored after it, reading batch headers only.  Without a usable
// snapshot (first start, a snapshot newer than a log that lost its unsynced tail, another topic of
// the same name) the last replay_window_offsets offsets are replayed instead: a retry is of one of a
// producer's last five batches, sent within delivery.timeout.ms (2 minutes by default), so only the
// tail of the log matters, and the window bounds the work of a start to a million batch headers per
// partition at most (producers seen only before it start afresh, as they did without persistence).
// Snapshots are written by a background thread every interval (partitions that changed, or whose log
// moved more than the window past their snapshot so that replay stays bounded), after recovery, and
// at shutdown (every partition whose log moved), each round in one atomic MetadataStore::apply().  A
// round expires producers idle for longer than Kafka's producer.id.expiration.ms default (1 day).
#pragma once

#include "gateway/error_codes.h"
#include "gateway/storage/storage_engine.h"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace gateway {

struct ProducerBatch {
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t first_sequence = -1;
    int32_t last_sequence = -1;
};

class ProducerStates {
public:
    static constexpr int64_t producer_expiration_ms = 24LL * 3600 * 1000;   // producer.id.expiration.ms
    static constexpr int64_t replay_window_offsets = 1'000'000;
    static constexpr std::string_view key_prefix = "producers/";

    // State in memory only: nothing survives the process.
    ProducerStates();
    // State persisted in storage.metadata(); call recover() before serving.  `storage` outlives this.
    explicit ProducerStates(StorageEngine& storage);
    // Stops the snapshot thread without a last snapshot (shutdown() writes it).
    ~ProducerStates();
    ProducerStates(const ProducerStates&) = delete;
    ProducerStates& operator=(const ProducerStates&) = delete;

    std::unique_lock<std::mutex> lock(const TopicPartition& tp);

    struct Verdict {
        ErrorCode error = ErrorCode::none;
        bool duplicate = false;
        int64_t duplicate_base_offset = -1;
        bool in_flight = false;   // a retry of a batch reserved and not yet stored or failed
    };
    Verdict check(const TopicPartition& tp, const ProducerBatch& batch) const;

    // Appends that answer later (StorageEngine::append_batches_async).  Under the partition's lock, after
    // check(): reserve() takes the batch's sequences, so the next batch's check() follows on from it
    // while the append is in flight.  When it ends: complete() records its offset (false: the batch was
    // abandoned or its epoch replaced meanwhile), or abandon() forgets it and every later batch of its
    // producer here, so the client's retries, which start from the failed batch, are accepted.
    void reserve(const TopicPartition& tp, const ProducerBatch& batch);
    bool complete(const TopicPartition& tp, const ProducerBatch& batch, int64_t base_offset);
    void abandon(const TopicPartition& tp, const ProducerBatch& batch);
    // `append_time_ms` (for expiry): -1 is now.
    void record(const TopicPartition& tp, const ProducerBatch& batch, int64_t base_offset, int64_t append_time_ms = -1);
    // Forgets a deleted topic's partitions, and their snapshots.
    void forget_topic(const std::string& topic);
    // Forgets the state of the partitions `which` names, keeping their snapshots: another gateway
    // leads them now (gateway/cluster/gateway_registry.h), and whatever this one knew about them is
    // stale if it leads them again.  Producers then start afresh here, as Kafka accepts a producer
    // it has no state for.
    void forget_partitions_if(const std::function<bool(const TopicPartition&)>& which);

    // A fresh producer id for InitProducerId: unique across restarts (seeded from the clock, up to
    // 1024 ids a millisecond) and across gateways sharing a storage (the low 10 bits are the node id).
    int64_t allocate_producer_id() { return next_id_.fetch_add(id_stride) + node_bits_; }
    // This gateway's node id, for allocate_producer_id().
    void set_node_id(int32_t node_id) { node_bits_ = node_id & (id_stride - 1); }
    static constexpr int64_t id_stride = 1024;

    struct RecoveryStats {
        int64_t partitions = 0;         // partitions looked at
        int64_t snapshots = 0;          // snapshots loaded
        int64_t producers = 0;          // producers known afterwards
        int64_t batches_replayed = 0;   // idempotent batches recorded from the log
        int64_t ms = 0;
    };
    // Rebuilds the state of every partition of the engine (see above), logs what it did and marks the
    // partitions whose state came from the log for the next snapshot.  `now_ms` -1 is now.
    RecoveryStats recover(int64_t now_ms = -1);

    // changed: partitions whose state changed since their snapshot, or whose log moved past it by
    // more than the replay window.  all_moved: also every partition whose log moved at all (shutdown,
    // so that the next start replays nothing).
    enum class SnapshotScope { changed, all_moved };
    // Expires idle producers, then writes the partitions the scope names in one apply().  Returns how
    // many snapshots were written.  Never holds a partition lock while writing.
    size_t write_snapshots(SnapshotScope scope, int64_t now_ms = -1);

    // A background thread calling write_snapshots(changed) every `interval`.
    void start_snapshots(std::chrono::milliseconds interval);
    // Stops that thread and writes the last snapshots (all_moved).  Later calls do nothing.
    void shutdown();

    static std::string snapshot_key(const TopicPartition& tp);

private:
    struct Entry {
        int16_t epoch = -1;
        int64_t last_append_ms = 0;
        struct Range {
            int32_t first, last;
            int64_t base_offset;     // -1 while in flight
            bool in_flight = false;  // reserved, not stored yet
        };
        std::deque<Range> recent;   // at most 5, oldest first
    };
    struct Partition {
        std::map<int64_t, Entry> producers;
        bool changed = false;           // since the last snapshot written
        int64_t snapshot_offset = -1;   // the high watermark the stored snapshot covers; -1: none
    };

    explicit ProducerStates(StorageEngine* storage);
    static void add_batch(Entry& e, const ProducerBatch& b, int64_t base_offset, int64_t append_time_ms,
                          bool in_flight = false);
    // A batch's in-flight range among its producer's; recent null when there is none (abandoned, or
    // the producer or its epoch gone).  Under map_mutex_.
    struct InFlight {
        std::deque<Entry::Range>* recent = nullptr;
        std::deque<Entry::Range>::iterator at;
    };
    InFlight find_in_flight(const TopicPartition& tp, const ProducerBatch& b);
    // Records the idempotent batches stored in [from, high_watermark); returns how many.
    int64_t replay(const TopicPartition& tp, Partition& p, int64_t from, int64_t high_watermark, int64_t now_ms);
    void stop_thread();

    StorageEngine* const storage_ = nullptr;
    std::array<std::mutex, 64> stripes_;
    mutable std::mutex map_mutex_;
    std::map<TopicPartition, Partition> partitions_;
    std::atomic<int64_t> next_id_;
    int64_t node_bits_ = 0;

    // Serialises snapshot rounds, recovery and the removal of a deleted topic's snapshots, so that a
    // round cannot write a snapshot back after forget_topic removed it.  Taken before any stripe.
    std::mutex snapshot_mutex_;
    bool shut_down_ = false;   // snapshot_mutex_

    std::mutex thread_mutex_;
    std::condition_variable thread_wake_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace gateway
