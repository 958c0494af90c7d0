// The storage engine interface: topics, partitions, appends of record batches and reads of them.
// Engines are chosen by URL (storage_engine.cc): file://DIR (embedded durable log, the default),
// memory:// (tests), seaweedmq://MASTER (SeaweedMQ).  Every method is thread-safe: the event loops of
// all connections call in concurrently.
#pragma once

#include "gateway/storage/metadata_store.h"
#include "gateway/storage/storage_errc.h"
#include "runtime/bytes.h"
#include "runtime/uuid.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <vector>

namespace gateway {

struct TopicPartition {
    std::string topic;
    int32_t partition = 0;
    friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
    friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// Kafka-named topic settings; what an engine does not understand it keeps in `other` so that
// DescribeConfigs can return it.
struct TopicConfig {
    int64_t retention_ms = 7LL * 24 * 3600 * 1000;   // retention.ms; -1: forever
    int64_t retention_bytes = -1;                     // retention.bytes, per partition; -1: no limit
    int64_t segment_bytes = 1LL << 30;                // segment.bytes
    int64_t segment_ms = 7LL * 24 * 3600 * 1000;      // segment.ms
    bool log_append_time = false;                     // message.timestamp.type=LogAppendTime
    std::string cleanup_policy = "delete";            // cleanup.policy (compaction is not offered)
    int32_t max_message_bytes = 1048588;              // max.message.bytes
    std::map<std::string, std::string> other;
};

struct TopicInfo {
    std::string name;
    kafka::Uuid id;
    int32_t partitions = 0;
    TopicConfig config;
};

struct AppendResult {
    StorageErrc error = StorageErrc::none;
    int64_t base_offset = -1;          // offset given to the first record appended
    int64_t last_offset = -1;          // offset of the last record appended
    int64_t log_append_time = -1;      // -1 unless the topic uses LogAppendTime
    int64_t log_start_offset = 0;
};

struct ReadResult {
    StorageErrc error = StorageErrc::none;
    // Whole v2 batches starting with the one that holds `offset`, as stored (byte for byte as the
    // producer sent them but for the base offset); at most about max_bytes unless the first batch is
    // larger (Kafka returns at least one batch so consumers make progress).  A view (memory or mmap),
    // never a per-record copy.
    kafka::Bytes records;
    int64_t high_watermark = 0;        // next offset to be written
    int64_t log_start_offset = 0;
};

struct PartitionOffsets {
    StorageErrc error = StorageErrc::none;
    int64_t log_start_offset = 0;
    int64_t high_watermark = 0;
};

// An offset looked up by time (ListOffsets): the first offset whose record timestamp is >= the
// time asked for, with that timestamp; offset -1 when there is none.
struct TimestampOffset {
    StorageErrc error = StorageErrc::none;
    int64_t offset = -1;
    int64_t timestamp = -1;
};

// When appends become durable.  acks=-1 is answered once an append is as durable as this says.
enum class FsyncPolicy : uint8_t { never, every_batch, interval };

// What an append is answered after: acks=1 → `accepted`, the storage holds the records (SeaweedMQ: in
// the broker's memory, lost should the broker stop before it flushes); acks=-1 → `durable`, the records
// survive a restart of the storage's servers (SeaweedMQ: flushed to the filer).  file:// and memory://
// answer both alike, after the fsync policy.
enum class AppendWait : uint8_t { accepted, durable };

struct StorageOptions {
    FsyncPolicy fsync = FsyncPolicy::interval;
    int64_t fsync_interval_ms = 1000;
    int64_t retention_check_interval_ms = 300000;   // log.retention.check.interval.ms
    TopicConfig default_topic_config;
};

class StorageEngine {
public:
    virtual ~StorageEngine() = default;

    // Opens the engine a URL names: file://DIR, memory://.  Throws std::runtime_error with a message
    // for the operator (unknown scheme, directory not writable, ...).
    static std::unique_ptr<StorageEngine> open(const std::string& url, const StorageOptions& options);

    virtual StorageErrc create_topic(const std::string& name, int32_t partitions, const TopicConfig& config) = 0;
    virtual StorageErrc delete_topic(const std::string& name) = 0;
    // Grows a topic to `total` partitions.
    virtual StorageErrc create_partitions(const std::string& name, int32_t total) = 0;
    virtual std::vector<TopicInfo> list_topics() const = 0;
    virtual std::optional<TopicInfo> describe_topic(const std::string& name) const = 0;

    // Appends one or more validated v2 record batches, concatenated as the producer sent them.
    // Offsets are assigned by rewriting each batch's base offset (outside the CRC); nothing else of
    // the batch changes, except max_timestamp when the topic uses LogAppendTime.  Returns once the
    // data is as durable as the fsync policy says.
    virtual AppendResult append_batches(const TopicPartition& tp, std::span<const uint8_t> batches) = 0;
    // The same, answered through `done`, perhaps later and from another thread.  `batches` is only read
    // before this returns, and appends to one partition keep the order of these calls.  Engines whose
    // appends wait for a remote acknowledgement (seaweedmq://) return once the records are on their way,
    // so that the next produce request need not wait for the previous one's acknowledgement; the
    // default appends at once.  `wait` says what `done` waits for (AppendWait).
    using AppendDone = std::function<void(const AppendResult&)>;
    virtual void append_batches_async(const TopicPartition& tp, std::span<const uint8_t> batches, AppendWait wait,
                                      AppendDone done) {
        (void)wait;   // appends here are as durable as the fsync policy makes them either way
        done(append_batches(tp, batches));
    }

    virtual ReadResult read(const TopicPartition& tp, int64_t offset, size_t max_bytes) const = 0;
    virtual PartitionOffsets offsets(const TopicPartition& tp) const = 0;
    virtual TimestampOffset offset_for_timestamp(const TopicPartition& tp, int64_t timestamp) const = 0;
    // The offset and timestamp of the record with the largest timestamp (ListOffsets -3, KIP-734).
    virtual TimestampOffset max_timestamp(const TopicPartition& tp) const = 0;
    // DeleteRecords: moves the log start offset forward.
    virtual PartitionOffsets delete_records_before(const TopicPartition& tp, int64_t offset) = 0;

    // Called after every successful append, on the appending thread, for long-poll fetches.
    using AppendListener = std::function<void(const TopicPartition& tp, int64_t high_watermark)>;
    virtual void set_append_listener(AppendListener listener) = 0;

    // True when read() returns the batches as appended, producer id and sequences included, so the
    // idempotent-producer state can be rebuilt from them after a restart.  Engines that rebuild
    // batches from stored records (SeaweedMQ) answer false and rely on the state's snapshots only.
    virtual bool keeps_producer_batches() const { return true; }

    // True when other gateways may open the same storage at the same time (SeaweedMQ): they then
    // find each other through a registry in metadata() and share partition leadership and group
    // coordination (gateway/cluster/gateway_registry.h).  A file:// directory belongs to one gateway.
    virtual bool shared() const { return false; }

    // True when read() may wait on another process (SeaweedMQ: a broker, the filer): Fetch then reads on
    // the broker's I/O threads (gateway/io_pool.h), not on an event loop.
    virtual bool reads_may_block() const { return false; }

    // The engine's durable key/value records (committed offsets, group metadata).
    virtual MetadataStore& metadata() = 0;

    // Writes everything out (shutdown).
    virtual void flush() = 0;
};

} // namespace gateway
