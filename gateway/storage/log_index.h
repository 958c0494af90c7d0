// A segment's sparse indexes, in Kafka's on-disk formats (big-endian fixed-size entries appended in
// order; offsets relative to the segment's base offset):
//
//   NNN.index      relative offset u32, position u32   where a batch starts, one entry per ~4 KiB of log
//   NNN.timeindex  timestamp i64, relative offset u32  the segment's largest timestamp so far and the
//                                                      first batch that reached it, at the same points
//
// (Kafka keys both by a batch's last offset; we key by the first, which points at the batch itself.)
// While a segment is active its entries are also kept in memory, so lookups need no mapping that
// would have to follow the file's growth; once sealed the file is mapped on the first lookup.
#pragma once

#include "gateway/storage/posix_file.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

namespace gateway {

// One index file: fixed-size entries, appended while active, read-only once sealed.
class IndexFile {
public:
    IndexFile(std::filesystem::path path, size_t entry_size) : path_(std::move(path)), entry_size_(entry_size) {}

    // Active: the file (re)started empty and kept open for appends.
    void start_empty();
    // Sealed: an existing file, checked only for being a whole number of entries; false when it is
    // not, or missing (the segment's indexes are then rebuilt).
    bool open_sealed();
    // Active again after a clean shutdown: the existing file's entries read back and appended to; false,
    // with nothing changed, when it is missing or not a whole number of entries.
    bool resume_active();

    void append(const uint8_t* entry);  // kept in memory until write_pending()
    void write_pending();               // active: writes the entries appended since the last call
    void seal(bool sync);               // active -> sealed: written out, closed
    void sync() const;
    void remove() const;                // unlinks the file

    size_t count() const { return count_; }
    const uint8_t* entry(size_t i) const;
    const std::filesystem::path& path() const { return path_; }

private:
    // The existing file, if it is there and holds a whole number of entries.
    std::optional<FileDescriptor> open_whole(int flags) const;

    std::filesystem::path path_;
    size_t entry_size_;
    size_t count_ = 0;
    FileDescriptor file_;                  // open while active
    std::vector<uint8_t> active_entries_;  // while active: every entry
    size_t written_count_ = 0;             // while active: entries in the file
    mutable std::shared_ptr<const FileMapping> sealed_mapping_;
};

struct OffsetIndexEntry {
    int64_t offset = 0;
    uint32_t position = 0;
};

class OffsetIndex {
public:
    static constexpr size_t entry_size = 8;
    OffsetIndex(std::filesystem::path path, int64_t base_offset)
      : file_(std::move(path), entry_size), base_offset_(base_offset) {}

    IndexFile& file() { return file_; }
    const IndexFile& file() const { return file_; }

    void append(OffsetIndexEntry e);
    // The last entry at or before `offset`: where a walk looking for it starts; the segment's start
    // when there is none.
    OffsetIndexEntry floor(int64_t offset) const;
    // The last entry whose batch starts at or before `position` in the log.
    std::optional<OffsetIndexEntry> last_at_or_before_position(uint64_t position) const;
    std::optional<OffsetIndexEntry> last() const;

private:
    OffsetIndexEntry decode(const uint8_t* p) const;
    IndexFile file_;
    int64_t base_offset_;
};

struct TimeIndexEntry {
    int64_t timestamp = -1;
    int64_t offset = 0;
};

class TimeIndex {
public:
    static constexpr size_t entry_size = 12;
    TimeIndex(std::filesystem::path path, int64_t base_offset)
      : file_(std::move(path), entry_size), base_offset_(base_offset) {}

    IndexFile& file() { return file_; }
    const IndexFile& file() const { return file_; }

    void append(TimeIndexEntry e);
    // The last entry whose timestamp is <= timestamp: every record before its batch has a smaller
    // timestamp, so a search for the first record at or after `timestamp` may start at that batch.
    std::optional<TimeIndexEntry> floor(int64_t timestamp) const;
    std::optional<TimeIndexEntry> last() const;

private:
    TimeIndexEntry decode(const uint8_t* p) const;
    IndexFile file_;
    int64_t base_offset_;
};

} // namespace gateway
