// The file engine's metadata store (committed offsets, group metadata): one append-only log file,
//
//   DIR/@metadata.log      "KGWMETA1", then one record per apply():
//                          [u32 length][u32 crc32c of payload][payload]
//                          payload = [u32 count] count x ([u8 op][u32 key length][key] and, for a
//                          put, [u32 value length][value]); op 1 = put, 0 = delete; big-endian
//   DIR/@metadata.log.compacting   a compaction in progress (removed when found at open)
//
// '@' is not legal in a topic name, so no topic's files can collide with these, and the engine's topic
// loading only looks at "*.topic" files and directories.
//
// A batch is one record, so it is atomic: opening replays the records and cuts the file at the first
// torn or corrupt one (logged), so everything before it survives and nothing after it counts.  The
// whole live set is kept in memory (it is small: one entry per committed partition and group).
//
// Durability follows the engine's fsync policy: every_batch fdatasyncs before apply() returns (under
// the store's lock: applies are serialised, which suits a store written at commit rates), interval
// fdatasyncs from a background thread every fsync_interval_ms when something was written, never
// leaves it to the kernel (all three sync on close).
//
// Compaction: when the file holds more dead bytes (overwritten or deleted entries) than live ones and
// more than compact_min_dead_bytes, the background thread writes a snapshot of the live entries to the
// .compacting file without holding the lock, then, holding it, copies over the records appended in the
// meantime, fdatasyncs and renames the file over the log (then fsyncs the directory).  A crash at any
// step leaves either the old log or the complete new one.  apply() waits only for that last copy.
#pragma once

#include "gateway/storage/metadata_store.h"
#include "gateway/storage/posix_file.h"
#include "gateway/storage/storage_engine.h"

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace gateway {

class FileMetadataStore final : public MetadataStore {
public:
    struct Options {
        FsyncPolicy fsync = FsyncPolicy::interval;
        int64_t fsync_interval_ms = 1000;
        uint64_t compact_min_dead_bytes = 1 << 20;
        // Off in tests that call compact() themselves.
        bool background_compaction = true;
    };

    static constexpr std::string_view file_name = "@metadata.log";
    static constexpr std::string_view compacting_file_name = "@metadata.log.compacting";

    // Opens (or creates) the log in `dir`, which must exist, and replays it.  Throws
    // std::runtime_error naming the file when it cannot be read or written.
    FileMetadataStore(const std::filesystem::path& dir, const Options& options);
    // Stops the background thread and syncs.
    ~FileMetadataStore() override;
    FileMetadataStore(const FileMetadataStore&) = delete;
    FileMetadataStore& operator=(const FileMetadataStore&) = delete;

    // storage_error when the write or its fdatasync failed; after such a failure the store refuses
    // every later apply() too (the file's tail is in doubt) until it is reopened.
    StorageErrc apply(std::span<const MetadataWrite> writes) override;
    std::vector<std::pair<std::string, std::string>> scan(std::string_view prefix) const override;

    // fdatasync now if anything was written since the last one (the engine's flush()).
    void sync();
    // Rewrites the log with only the live entries, whatever the thresholds.  False when it could not
    // (logged) or a compaction is already running.
    bool compact();

    // For tests and logs: the log file's size and the bytes its live entries take in it.
    uint64_t file_bytes() const;
    uint64_t live_bytes() const;

private:
    void recover();
    bool compaction_due() const;   // mutex_ held
    void run_background();

    const std::filesystem::path path_;
    const std::filesystem::path compacting_path_;
    const Options options_;

    mutable std::mutex mutex_;
    FileDescriptor file_;
    uint64_t end_ = 0;          // the file's size: where the next record goes
    uint64_t live_bytes_ = 0;   // what entries_ would take in the file
    bool dirty_ = false;        // written since the last fdatasync
    bool failed_ = false;
    bool compacting_ = false;
    std::map<std::string, std::string, std::less<>> entries_;

    std::mutex background_mutex_;
    std::condition_variable background_wake_;
    bool stopping_ = false;
    bool compaction_wanted_ = false;
    std::thread background_;
};

} // namespace gateway
