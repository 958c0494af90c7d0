// One partition of the file engine: a directory DIR/<topic>-<partition> of segments (segment.h) and a
// log-start-offset checkpoint, with the Kafka semantics of appends, reads, offset lookups, DeleteRecords
// and retention.  Thread-safe: one mutex per partition, held for each call (reads only walk headers
// and hand out views, so they hold it briefly; appends hold it through the write and, with
// fsync=every_batch, the fdatasync).
//
// Any I/O failure takes the partition offline until restart (appends answer storage_error), as Kafka
// takes a log directory offline: what is on disk is then unknown, and recovery at the next start
// finds out.
#pragma once

#include "gateway/storage/segment.h"
#include "gateway/storage/storage_engine.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace gateway {

class PartitionLog {
public:
    struct Settings {
        TopicConfig config;
        FsyncPolicy fsync = FsyncPolicy::interval;
    };

    // A new partition in an empty directory (one left over from a topic whose creation a crash
    // interrupted is wiped first).  Throws std::system_error.
    static std::shared_ptr<PartitionLog> create(std::filesystem::path dir, TopicPartition tp, const Settings& settings);
    // An existing partition, recovered (see Segment::recover and Segment::open_sealed); after a clean
    // shutdown its last segment is resumed instead (Segment::resume), and recovered only if that fails.
    // Throws std::system_error.
    static std::shared_ptr<PartitionLog> open(std::filesystem::path dir, TopicPartition tp, const Settings& settings,
                                              bool clean_shutdown = false);

    AppendResult append(std::span<const uint8_t> batches);
    ReadResult read(int64_t offset, size_t max_bytes) const;
    PartitionOffsets offsets() const;
    TimestampOffset offset_for_timestamp(int64_t timestamp) const;
    TimestampOffset max_timestamp() const;
    PartitionOffsets delete_records_before(int64_t offset);

    // fsync=interval: syncs the active segment if appends came since the last call.  The fdatasync
    // itself runs outside the lock.
    void sync_if_dirty();
    void sync();
    // For a clean shutdown: the active segment's log and indexes synced.  False when the partition is
    // offline or the sync fails (the next start must then recover it).
    bool sync_for_shutdown();
    // Deletes sealed segments that retention.ms or retention.bytes no longer keeps, or that lie
    // wholly below the log start offset, and moves the log start offset past them.
    void enforce_retention(int64_t now_ms);
    // delete_topic: closes the segments and removes the directory; later calls answer
    // unknown_topic_or_partition.
    void remove();

    const TopicPartition& topic_partition() const { return tp_; }

private:
    PartitionLog(std::filesystem::path dir, TopicPartition tp, const Settings& settings);

    Segment& active() const { return *segments_.back(); }
    using SegmentIterator = std::vector<std::unique_ptr<Segment>>::const_iterator;
    // The segment holding `offset` (in [log start, high watermark)).
    SegmentIterator segment_holding(int64_t offset) const;
    void roll_if_needed(uint64_t append_size, int64_t append_offsets, int64_t now_ms);
    void remove_oldest_segments(size_t count, const char* reason);
    void write_log_start_checkpoint() const;
    void go_offline(const std::string& what, const std::exception& e);
    uint64_t segment_bytes() const;
    bool sync_on_roll() const { return settings_.fsync != FsyncPolicy::never; }

    const std::filesystem::path dir_;
    const TopicPartition tp_;
    const Settings settings_;

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Segment>> segments_; // by base offset; the last is active
    // The sealed segment read last, whose read descriptor stays open until a read goes elsewhere
    // (consumers mostly read on in one segment).  Ranges handed out keep their own reference.
    mutable const Segment* last_read_ = nullptr;
    int64_t log_start_offset_ = 0;
    int64_t high_watermark_ = 0;
    bool dirty_ = false;   // appended since the last sync
    bool offline_ = false; // an I/O error happened
    bool removed_ = false;
};

} // namespace gateway
