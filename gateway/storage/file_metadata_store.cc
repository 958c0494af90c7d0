#include "gateway/storage/file_metadata_store.h"

#include "gateway/storage/storage_log.h"
#include "runtime/crc32c.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>

namespace gateway {
namespace {

constexpr std::string_view magic = "KGWMETA1";
constexpr size_t record_header_bytes = 8;   // length, crc32c
constexpr uint8_t op_delete = 0;
constexpr uint8_t op_put = 1;
// Compaction writes the live set as records of about this size (each one is checked on its own).
constexpr size_t compacted_record_bytes = 1 << 20;

// What one live entry takes in a record.
uint64_t entry_bytes(std::string_view key, std::string_view value) { return 1 + 4 + key.size() + 4 + value.size(); }

void put_u32(std::string& out, uint32_t v) {
    const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
    out.append(b, 4);
}

uint32_t get_u32(const char* p) {
    const auto* u = reinterpret_cast<const uint8_t*>(p);
    return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

// Builds records: add() entries, then take() the framed record.
class RecordBuilder {
public:
    RecordBuilder() { clear(); }
    void add(std::string_view key, const std::optional<std::string>& value) {
        payload_.push_back(static_cast<char>(value ? op_put : op_delete));
        put_u32(payload_, static_cast<uint32_t>(key.size()));
        payload_.append(key);
        if (value) {
            put_u32(payload_, static_cast<uint32_t>(value->size()));
            payload_.append(*value);
        }
        ++count_;
    }
    size_t count() const { return count_; }
    size_t payload_bytes() const { return payload_.size(); }
    std::string take() {
        std::string count;
        put_u32(count, count_);
        payload_.replace(record_header_bytes, 4, count);
        const size_t length = payload_.size() - record_header_bytes;
        std::string header;
        put_u32(header, static_cast<uint32_t>(length));
        put_u32(header, kafka::crc32c(payload_.data() + record_header_bytes, length));
        payload_.replace(0, record_header_bytes, header);
        std::string out = std::move(payload_);
        clear();
        return out;
    }

private:
    void clear() {
        payload_.assign(record_header_bytes + 4, '\0');
        count_ = 0;
    }
    std::string payload_;   // header and count reserved at the front
    uint32_t count_ = 0;
};

// The writes of one record's payload; nothing when it does not parse exactly.
std::optional<std::vector<MetadataWrite>> decode_payload(std::string_view p) {
    if (p.size() < 4) return std::nullopt;
    const uint32_t count = get_u32(p.data());
    size_t pos = 4;
    std::vector<MetadataWrite> writes;
    auto take_string = [&](std::string& out) {
        if (p.size() - pos < 4) return false;
        const uint32_t n = get_u32(p.data() + pos);
        pos += 4;
        if (p.size() - pos < n) return false;
        out.assign(p.data() + pos, n);
        pos += n;
        return true;
    };
    for (uint32_t i = 0; i < count; ++i) {
        if (pos >= p.size()) return std::nullopt;
        const auto op = static_cast<uint8_t>(p[pos++]);
        if (op != op_put && op != op_delete) return std::nullopt;
        MetadataWrite w;
        if (!take_string(w.key)) return std::nullopt;
        if (op == op_put && !take_string(w.value.emplace())) return std::nullopt;
        writes.push_back(std::move(w));
    }
    if (pos != p.size()) return std::nullopt;
    return writes;
}

void write_string(const FileDescriptor& file, std::string_view bytes, uint64_t offset) {
    iovec part{const_cast<char*>(bytes.data()), bytes.size()};
    file.write_all({&part, 1}, offset);
}

} // namespace

FileMetadataStore::FileMetadataStore(const std::filesystem::path& dir, const Options& options)
  : path_(dir / file_name), compacting_path_(dir / compacting_file_name), options_(options) {
    try {
        recover();
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot open the metadata log " + path_.string() + ": " + e.what());
    }
    background_ = std::thread([this] { run_background(); });
}

FileMetadataStore::~FileMetadataStore() {
    {
        std::lock_guard lock(background_mutex_);
        stopping_ = true;
    }
    background_wake_.notify_all();
    background_.join();
    sync();
}

void FileMetadataStore::recover() {
    std::error_code ec;
    if (std::filesystem::remove(compacting_path_, ec))
        log_storage("removed " + compacting_path_.string() + ": a compaction interrupted by a crash");
    const bool existed = std::filesystem::exists(path_);
    file_ = FileDescriptor::open(path_, O_RDWR | O_CREAT);
    std::string contents(file_.size(), '\0');
    if (!contents.empty()) file_.read_exactly(reinterpret_cast<uint8_t*>(contents.data()), contents.size(), 0);

    if (contents.size() < magic.size() && magic.starts_with(contents)) {
        // New, or a crash before its header was written.
        file_.truncate(0);
        write_string(file_, magic, 0);
        file_.sync_data();
        if (!existed) sync_directory(path_.parent_path());
        end_ = magic.size();
        return;
    }
    if (!std::string_view(contents).starts_with(magic))
        throw std::runtime_error("not a metadata log (it does not start with " + std::string(magic) + ")");

    size_t pos = magic.size();
    std::string_view damage;
    while (pos < contents.size()) {
        if (contents.size() - pos < record_header_bytes) {
            damage = "a torn record header";
            break;
        }
        const uint32_t length = get_u32(contents.data() + pos);
        const uint32_t crc = get_u32(contents.data() + pos + 4);
        if (contents.size() - pos - record_header_bytes < length) {
            damage = "a torn record";
            break;
        }
        const std::string_view payload(contents.data() + pos + record_header_bytes, length);
        if (kafka::crc32c(payload.data(), payload.size()) != crc) {
            damage = "a record with a bad CRC";
            break;
        }
        std::optional<std::vector<MetadataWrite>> writes = decode_payload(payload);
        if (!writes) {
            damage = "a record that does not parse";
            break;
        }
        for (MetadataWrite& w : *writes) {
            if (w.value) entries_.insert_or_assign(std::move(w.key), std::move(*w.value));
            else entries_.erase(w.key);
        }
        pos += record_header_bytes + length;
    }
    if (pos < contents.size()) {
        log_storage("metadata log " + path_.string() + ": cutting " + std::to_string(contents.size() - pos) +
                    " bytes at offset " + std::to_string(pos) + " (" + std::string(damage) +
                    "; the writes before it are kept)");
        file_.truncate(pos);
        file_.sync_data();
    }
    end_ = pos;
    live_bytes_ = 0;
    for (const auto& [key, value] : entries_) live_bytes_ += entry_bytes(key, value);
}

StorageErrc FileMetadataStore::apply(std::span<const MetadataWrite> writes) {
    if (writes.empty()) return StorageErrc::none;
    RecordBuilder builder;
    for (const MetadataWrite& w : writes) builder.add(w.key, w.value);
    const std::string record = builder.take();

    bool wake_compactor = false;
    {
        std::lock_guard lock(mutex_);
        if (failed_) return StorageErrc::storage_error;
        bool written = false;
        try {
            write_string(file_, record, end_);
            written = true;
            if (options_.fsync == FsyncPolicy::every_batch) file_.sync_data();
        } catch (const std::exception& e) {
            // Take the record back off, so that later ones are not cut off with it by recovery.  After
            // a failed fdatasync nothing about the file is certain any more: no more writes.
            log_storage(std::string("metadata log write failed: ") + e.what());
            try {
                file_.truncate(end_);
                if (written) failed_ = true;
            } catch (const std::exception& e2) {
                log_storage(std::string("metadata log: cannot cut a failed write, refusing further writes: ") +
                            e2.what());
                failed_ = true;
            }
            return StorageErrc::storage_error;
        }
        end_ += record.size();
        dirty_ = options_.fsync != FsyncPolicy::every_batch;
        for (const MetadataWrite& w : writes) {
            auto it = entries_.find(w.key);
            if (it != entries_.end()) {
                live_bytes_ -= entry_bytes(it->first, it->second);
                if (!w.value) entries_.erase(it);
            }
            if (w.value) {
                entries_.insert_or_assign(w.key, *w.value);
                live_bytes_ += entry_bytes(w.key, *w.value);
            }
        }
        // Also while a compaction runs: the background thread looks again when it is done.
        wake_compactor = options_.background_compaction && compaction_due();
    }
    if (wake_compactor) {
        {
            std::lock_guard lock(background_mutex_);
            compaction_wanted_ = true;
        }
        background_wake_.notify_all();
    }
    return StorageErrc::none;
}

std::vector<std::pair<std::string, std::string>> FileMetadataStore::scan(std::string_view prefix) const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, std::string>> out;
    for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.starts_with(prefix); ++it)
        out.emplace_back(it->first, it->second);
    return out;
}

void FileMetadataStore::sync() {
    std::lock_guard lock(mutex_);
    if (!dirty_ || failed_) return;
    try {
        file_.sync_data();
        dirty_ = false;
    } catch (const std::exception& e) {
        log_storage(std::string("metadata log fdatasync failed, refusing further writes: ") + e.what());
        failed_ = true;
    }
}

bool FileMetadataStore::compaction_due() const {
    const uint64_t dead = end_ - magic.size() - std::min<uint64_t>(live_bytes_, end_ - magic.size());
    return dead > live_bytes_ && dead >= options_.compact_min_dead_bytes;
}

bool FileMetadataStore::compact() {
    std::unique_lock lock(mutex_);
    if (failed_ || compacting_) return false;
    compacting_ = true;
    const std::map<std::string, std::string, std::less<>> snapshot = entries_;
    const uint64_t snapshot_end = end_;
    uint64_t old_bytes = 0;
    lock.unlock();

    bool renamed = false;
    try {
        // The live set, without the lock: apply() goes on appending to the old file meanwhile.
        FileDescriptor out = FileDescriptor::open(compacting_path_, O_RDWR | O_CREAT | O_TRUNC);
        uint64_t out_end = 0;
        write_string(out, magic, out_end);
        out_end += magic.size();
        RecordBuilder builder;
        auto flush_record = [&] {
            if (builder.count() == 0) return;
            const std::string record = builder.take();
            write_string(out, record, out_end);
            out_end += record.size();
        };
        for (const auto& [key, value] : snapshot) {
            builder.add(key, value);
            if (builder.payload_bytes() >= compacted_record_bytes) flush_record();
        }
        flush_record();
        out.sync_data();

        // With the lock: the records appended since the snapshot, as they are, then the switch.
        lock.lock();
        if (end_ > snapshot_end) {
            std::string tail(end_ - snapshot_end, '\0');
            file_.read_exactly(reinterpret_cast<uint8_t*>(tail.data()), tail.size(), snapshot_end);
            write_string(out, tail, out_end);
            out_end += tail.size();
            out.sync_data();
        }
        old_bytes = end_;
        if (::rename(compacting_path_.c_str(), path_.c_str()) != 0)
            throw_file_error(errno, "cannot rename into place", path_);
        renamed = true;
        file_ = FileDescriptor(::dup(out.get()), path_);
        if (!file_) throw_file_error(errno, "cannot dup the descriptor of", path_);
        end_ = out_end;
        dirty_ = false;
        sync_directory(path_.parent_path());
    } catch (const std::exception& e) {
        if (!lock.owns_lock()) lock.lock();
        if (renamed) {
            // The new file is in place but perhaps not durably so: later writes could vanish in a crash.
            log_storage(std::string("metadata log compaction failed after the switch, refusing further writes: ") +
                        e.what());
            failed_ = true;
        } else {
            log_storage(std::string("metadata log compaction failed (the log is unchanged): ") + e.what());
            std::error_code ec;
            std::filesystem::remove(compacting_path_, ec);
        }
        compacting_ = false;
        return false;
    }
    compacting_ = false;
    log_storage("metadata log " + path_.string() + " compacted: " + std::to_string(old_bytes) + " -> " +
                std::to_string(end_) + " bytes, " + std::to_string(entries_.size()) + " keys");
    return true;
}

uint64_t FileMetadataStore::file_bytes() const {
    std::lock_guard lock(mutex_);
    return end_;
}

uint64_t FileMetadataStore::live_bytes() const {
    std::lock_guard lock(mutex_);
    return live_bytes_;
}

void FileMetadataStore::run_background() {
    using clock = std::chrono::steady_clock;
    const bool interval_sync = options_.fsync == FsyncPolicy::interval;
    const auto sync_every = std::chrono::milliseconds(std::max<int64_t>(options_.fsync_interval_ms, 1));
    auto next_sync = clock::now() + sync_every;
    std::unique_lock lock(background_mutex_);
    while (!stopping_) {
        auto woken = [&] { return stopping_ || compaction_wanted_; };
        if (interval_sync) background_wake_.wait_until(lock, next_sync, woken);
        else background_wake_.wait(lock, woken);
        if (stopping_) break;
        bool compact_now = compaction_wanted_;
        compaction_wanted_ = false;
        lock.unlock();
        if (interval_sync && clock::now() >= next_sync) {
            sync();
            next_sync = clock::now() + sync_every;
        }
        // Again while still due: records appended during a compaction are copied over as they are,
        // dead ones too, so a busy store may need another round.
        while (compact_now) {
            {
                std::lock_guard store_lock(mutex_);
                compact_now = !failed_ && compaction_due();
            }
            if (compact_now) compact_now = compact();
        }
        lock.lock();
    }
}

} // namespace gateway
