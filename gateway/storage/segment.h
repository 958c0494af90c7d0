// One segment of a partition's log, named by its base offset in 20 digits as Kafka names them:
//
//   00000000000000000000.log        the batches back to back, as stored
//   00000000000000000000.index      sparse offset index   } see log_index.h
//   00000000000000000000.timeindex  sparse time index     }
//
// The last segment of a partition is active (appended to, its log file open); the others are sealed
// and hold no descriptor until read, when one is opened for reading (reader(); the partition closes it
// again once it reads elsewhere).  Reads return ranges of the log file (kafka::FileRegion) that hold a
// shared reference to the descriptor: a connection sends them with sendfile(2), and they stay valid
// after the segment is sealed or removed, since an unlinked file lives on while a descriptor is open.
// Bytes once appended are never changed, so a range handed out always reads what it was.  Reads find
// batches by walking their headers with small preads from the nearest index entry; nothing of the log
// stays mapped (scans by timestamp map it for the length of the scan only).
//
// Not thread-safe: the partition's lock covers every call.
#pragma once

#include "gateway/storage/log_index.h"
#include "gateway/storage/posix_file.h"
#include "gateway/storage/prepared_append.h"
#include "runtime/bytes.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace gateway {

struct BatchLocation {
    uint64_t position = 0;
    uint64_t size = 0;
    int64_t base_offset = 0;
    int64_t last_offset = 0;
};

class Segment {
public:
    static constexpr uint64_t index_interval_bytes = 4096; // Kafka's index.interval.bytes

    // DIR/<20-digit base offset><extension>.
    static std::filesystem::path file_path(const std::filesystem::path& dir, int64_t base_offset,
                                           const char* extension);
    // The base offset a segment file's name says, if it is named like one.
    static std::optional<int64_t> base_offset_of(const std::filesystem::path& file);

    // A new, empty, active segment.
    static std::unique_ptr<Segment> create(const std::filesystem::path& dir, int64_t base_offset);
    // The last segment at startup: every batch is checked (framing, CRC, offsets following on), the
    // log is cut after the last sound one, the indexes are rebuilt, and the segment is active.
    static std::unique_ptr<Segment> recover(const std::filesystem::path& dir, int64_t base_offset);
    // The last segment at startup after a clean shutdown (FileEngine's marker): its indexes are read back
    // rather than rebuilt, and only the batches after the last index entry are checked, as open_sealed()
    // checks, so a restart reads a few KiB of a large active segment rather than all of it.  Nothing
    // when a check fails (the caller then recovers it).
    static std::unique_ptr<Segment> resume(const std::filesystem::path& dir, int64_t base_offset);
    // An older segment at startup, checked cheaply: index files whole and pointing inside the log, the
    // batches after the last index entry sound up to the end of the file, and ending just before
    // next_segment_base.  Nothing when a check fails (the caller then recovers it).
    static std::unique_ptr<Segment> open_sealed(const std::filesystem::path& dir, int64_t base_offset,
                                                int64_t next_segment_base);

    int64_t base_offset() const { return base_offset_; }
    int64_t next_offset() const { return next_offset_; }
    uint64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    bool active() const { return log_ != nullptr; }
    int64_t max_timestamp() const { return max_timestamp_; } // -1 when no batch had a timestamp
    int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
    // What time retention judges the segment by: its largest timestamp, or (as Kafka) the log file's
    // modification time when no batch had one.
    int64_t retention_timestamp() const;
    // segment.ms counts from here: when the segment was made, or for one found at startup the first
    // batch's max_timestamp (Kafka's rule; not later than the restart, so that clocks in the future
    // cannot hold a segment open, and a segment of old timestamps rolls once, at its first append).
    int64_t roll_clock_start_ms() const { return roll_clock_start_ms_; }
    // The active log's descriptor, shared so that a background fdatasync can outlive a roll.
    std::shared_ptr<const FileDescriptor> log_file() const { return log_; }

    // Active only.  Throws std::system_error; the log is then cut back to where it was if possible.
    void append(const PreparedAppend& batches);
    void sync() const;
    // Active: the log and both indexes written out and synced, for a clean shutdown.
    void sync_all();
    // Active -> sealed: the time index gets its final entry (the segment's largest timestamp), files
    // are written out (and synced when asked) and closed.
    void seal(bool sync);
    // Unlinks the files.  Ranges and views of the log handed out stay valid: they keep it open.
    void remove();

    // The log's descriptor for reading: the active segment's own, or for a sealed segment one opened
    // on first use and kept until close_reader().
    std::shared_ptr<const FileDescriptor> reader() const;
    // A sealed segment's read descriptor is closed (ranges handed out keep their own reference).
    void close_reader() const { reader_.reset(); }

    // The batch holding `offset`, which must be in [base_offset, next_offset).  Throws DecodeError if
    // the log is not what was written, std::system_error if it cannot be read.
    std::optional<BatchLocation> find_batch(int64_t offset) const;
    // Whole batches from `position` (where a batch starts): as many as fit in max_bytes, but at least
    // one; a range of the log file (Bytes::file_region()).
    kafka::Bytes read_batches(uint64_t position, size_t max_bytes) const;
    // The log from `position` to its end, mapped for a scan: the mapping goes with the last view of it.
    kafka::Bytes view_from(uint64_t position) const;
    // Where to start scanning for the first record whose timestamp is >= timestamp.
    uint64_t timestamp_search_start(int64_t timestamp) const;

private:
    Segment(const std::filesystem::path& dir, int64_t base_offset);

    // Index bookkeeping for a batch stored at `position`; the same for appends and rebuilds, so that a
    // rebuilt index equals the one written live.
    void index_batch(uint64_t position, int64_t base_offset, int64_t offset_count, int64_t max_timestamp,
                     uint64_t size);
    void append_time_entry_if_newer();

    std::filesystem::path dir_;
    int64_t base_offset_;
    std::shared_ptr<const FileDescriptor> log_; // while active
    uint64_t size_ = 0;
    int64_t next_offset_;
    OffsetIndex offset_index_;
    TimeIndex time_index_;
    int64_t max_timestamp_ = -1;
    int64_t offset_of_max_timestamp_;
    uint64_t bytes_since_index_entry_ = 0;
    int64_t roll_clock_start_ms_ = 0;
    mutable std::shared_ptr<const FileDescriptor> reader_; // sealed, while read
};

} // namespace gateway
