#include "gateway/storage/partition_log.h"

#include "gateway/storage/posix_file.h"
#include "gateway/storage/prepared_append.h"
#include "gateway/storage/record_timestamps.h"
#include "gateway/storage/storage_log.h"
#include "runtime/codec_error.h"
#include "runtime/record_batch.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <system_error>

namespace gateway {
namespace {

constexpr const char* log_start_checkpoint_name = "log-start-offset";

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string name_of(const TopicPartition& tp) { return tp.topic + "-" + std::to_string(tp.partition); }

std::optional<int64_t> read_log_start_checkpoint(const std::filesystem::path& dir) {
    std::optional<std::string> text = read_small_file(dir / log_start_checkpoint_name);
    if (!text) return std::nullopt;
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || value < 0) {
        log_storage((dir / log_start_checkpoint_name).string() + ": unreadable, ignored");
        return std::nullopt;
    }
    return value;
}

} // namespace

PartitionLog::PartitionLog(std::filesystem::path dir, TopicPartition tp, const Settings& settings)
  : dir_(std::move(dir)), tp_(std::move(tp)), settings_(settings) {}

uint64_t PartitionLog::segment_bytes() const {
    // Kafka's segment.bytes is an int; positions in the offset index are u32.
    return static_cast<uint64_t>(
        std::clamp<int64_t>(settings_.config.segment_bytes, 1, std::numeric_limits<int32_t>::max()));
}

std::shared_ptr<PartitionLog> PartitionLog::create(std::filesystem::path dir, TopicPartition tp,
                                                   const Settings& settings) {
    if (std::filesystem::exists(dir)) {
        log_storage("removing " + dir.string() + ", left over from a topic that no longer exists");
        std::filesystem::remove_all(dir);
    }
    std::filesystem::create_directory(dir);
    std::shared_ptr<PartitionLog> log(new PartitionLog(std::move(dir), std::move(tp), settings));
    log->segments_.push_back(Segment::create(log->dir_, 0));
    if (log->sync_on_roll()) sync_directory(log->dir_);
    return log;
}

std::shared_ptr<PartitionLog> PartitionLog::open(std::filesystem::path dir, TopicPartition tp,
                                                 const Settings& settings, bool clean_shutdown) {
    std::shared_ptr<PartitionLog> log(new PartitionLog(std::move(dir), std::move(tp), settings));
    const std::filesystem::path& d = log->dir_;
    std::vector<int64_t> bases;
    for (const std::filesystem::directory_entry& e : std::filesystem::directory_iterator(d))
        if (e.path().extension() == ".log")
            if (std::optional<int64_t> base = Segment::base_offset_of(e.path())) bases.push_back(*base);
    std::sort(bases.begin(), bases.end());
    const std::optional<int64_t> checkpoint = read_log_start_checkpoint(d);

    if (bases.empty()) {
        log->segments_.push_back(Segment::create(d, checkpoint.value_or(0)));
    } else {
        for (size_t i = 0; i < bases.size(); ++i) {
            if (i + 1 == bases.size()) {
                std::unique_ptr<Segment> last = clean_shutdown ? Segment::resume(d, bases[i]) : nullptr;
                if (clean_shutdown && !last)
                    log_storage(d.string() + ": the last segment's indexes do not match its log after a clean "
                                "shutdown; recovering it");
                log->segments_.push_back(last ? std::move(last) : Segment::recover(d, bases[i]));
                break;
            }
            if (std::unique_ptr<Segment> sealed = Segment::open_sealed(d, bases[i], bases[i + 1])) {
                log->segments_.push_back(std::move(sealed));
                continue;
            }
            std::unique_ptr<Segment> recovered = Segment::recover(d, bases[i]);
            if (recovered->next_offset() == bases[i + 1]) {
                recovered->seal(log->sync_on_roll());
                log->segments_.push_back(std::move(recovered));
                continue;
            }
            // Data was lost inside an older segment, so the later ones no longer follow on: Kafka
            // truncates the log to the last sound batch in that case, and so do we.
            log_storage(d.string() + ": offsets end at " + std::to_string(recovered->next_offset()) + " in segment " +
                        std::to_string(bases[i]) + " but the next segment starts at " + std::to_string(bases[i + 1]) +
                        "; removing the " + std::to_string(bases.size() - i - 1) + " later segments");
            log->segments_.push_back(std::move(recovered));
            for (size_t j = i + 1; j < bases.size(); ++j) {
                for (const char* extension : {".log", ".index", ".timeindex"})
                    std::filesystem::remove(Segment::file_path(d, bases[j], extension));
            }
            break;
        }
    }
    log->high_watermark_ = log->active().next_offset();
    log->log_start_offset_ =
        std::min(std::max(checkpoint.value_or(0), log->segments_.front()->base_offset()), log->high_watermark_);
    return log;
}

PartitionLog::SegmentIterator PartitionLog::segment_holding(int64_t offset) const {
    auto after = std::upper_bound(segments_.begin(), segments_.end(), offset,
                                  [](int64_t o, const std::unique_ptr<Segment>& s) { return o < s->base_offset(); });
    return std::prev(after);
}

void PartitionLog::go_offline(const std::string& what, const std::exception& e) {
    offline_ = true;
    log_storage(name_of(tp_) + ": " + what + " failed: " + e.what() + "; the partition is offline until restart");
}

void PartitionLog::roll_if_needed(uint64_t append_size, int64_t append_offsets, int64_t now) {
    const Segment& current = active();
    if (current.empty()) return;
    const bool full = current.size() + append_size > segment_bytes();
    const int64_t segment_ms = settings_.config.segment_ms;
    const bool old = segment_ms >= 0 && now - current.roll_clock_start_ms() > segment_ms;
    // Offsets relative to the base are u32 in the indexes; Kafka rolls at Int.MaxValue.
    const bool offsets_exhausted =
        high_watermark_ + append_offsets - 1 - current.base_offset() > std::numeric_limits<int32_t>::max();
    if (!full && !old && !offsets_exhausted) return;
    std::unique_ptr<Segment> next = Segment::create(dir_, high_watermark_);
    active().seal(sync_on_roll());
    segments_.push_back(std::move(next));
    if (sync_on_roll()) sync_directory(dir_);
}

AppendResult PartitionLog::append(std::span<const uint8_t> batches) {
    const int64_t now = now_ms();
    PreparedAppend prepared =
        prepare_append(batches, settings_.config.log_append_time ? std::optional(now) : std::nullopt);
    if (prepared.error != StorageErrc::none) return {prepared.error};

    std::lock_guard lock(mutex_);
    if (removed_) return {StorageErrc::unknown_topic_or_partition};
    if (offline_) return {StorageErrc::storage_error};
    AppendResult result;
    result.log_start_offset = log_start_offset_;
    if (prepared.batches.empty()) return result; // nothing to append, as Kafka answers an empty produce
    prepared.assign_offsets(high_watermark_);
    try {
        roll_if_needed(prepared.size, prepared.offset_count, now);
        active().append(prepared);
        if (settings_.fsync == FsyncPolicy::every_batch)
            active().sync();
        else
            dirty_ = true;
    } catch (const std::system_error& e) {
        go_offline("append", e);
        return {StorageErrc::storage_error};
    }
    result.base_offset = high_watermark_;
    high_watermark_ += prepared.offset_count;
    result.last_offset = high_watermark_ - 1;
    result.log_append_time = prepared.log_append_time;
    return result;
}

ReadResult PartitionLog::read(int64_t offset, size_t max_bytes) const {
    std::lock_guard lock(mutex_);
    if (removed_) return {StorageErrc::unknown_topic_or_partition};
    ReadResult result;
    result.high_watermark = high_watermark_;
    result.log_start_offset = log_start_offset_;
    if (offset < log_start_offset_ || offset > high_watermark_) {
        result.error = StorageErrc::offset_out_of_range;
        return result;
    }
    if (offset == high_watermark_) return result;
    try {
        const Segment& segment = **segment_holding(offset);
        if (last_read_ != nullptr && last_read_ != &segment) last_read_->close_reader();
        last_read_ = &segment;
        std::optional<BatchLocation> batch = segment.find_batch(offset);
        if (!batch)
            throw kafka::DecodeError(kafka::DecodeErrc::truncated, "no batch holds offset " + std::to_string(offset));
        result.records = segment.read_batches(batch->position, max_bytes);
    } catch (const kafka::DecodeError& e) {
        log_storage(name_of(tp_) + ": read at offset " + std::to_string(offset) + " found a corrupt log: " + e.what());
        result.error = StorageErrc::corrupt_message;
    } catch (const std::system_error& e) {
        log_storage(name_of(tp_) + ": read at offset " + std::to_string(offset) + " failed: " + e.what());
        result.error = StorageErrc::storage_error;
    }
    return result;
}

PartitionOffsets PartitionLog::offsets() const {
    std::lock_guard lock(mutex_);
    if (removed_) return {StorageErrc::unknown_topic_or_partition};
    return {StorageErrc::none, log_start_offset_, high_watermark_};
}

TimestampOffset PartitionLog::offset_for_timestamp(int64_t timestamp) const {
    std::lock_guard lock(mutex_);
    if (removed_) return {StorageErrc::unknown_topic_or_partition};
    if (log_start_offset_ == high_watermark_) return {};
    try {
        for (auto it = segment_holding(log_start_offset_); it != segments_.end(); ++it) {
            const Segment& segment = **it;
            if (segment.max_timestamp() < timestamp) continue;
            uint64_t position = segment.timestamp_search_start(timestamp);
            if (segment.base_offset() <= log_start_offset_)
                if (std::optional<BatchLocation> first = segment.find_batch(log_start_offset_))
                    position = std::max(position, first->position);
            kafka::RecordBatchReader batches(segment.view_from(position), kafka::PartialTail::reject);
            while (std::optional<kafka::RecordBatch> b = batches.next()) {
                TimestampOffset found = first_record_at_or_after(*b, timestamp, log_start_offset_);
                if (found.offset >= 0) return found;
            }
        }
    } catch (const kafka::DecodeError& e) {
        log_storage(name_of(tp_) + ": lookup by timestamp found a corrupt log: " + e.what());
        return {StorageErrc::corrupt_message};
    } catch (const std::system_error& e) {
        log_storage(name_of(tp_) + ": lookup by timestamp failed: " + e.what());
        return {StorageErrc::storage_error};
    }
    return {};
}

TimestampOffset PartitionLog::max_timestamp() const {
    std::lock_guard lock(mutex_);
    if (removed_) return {StorageErrc::unknown_topic_or_partition};
    if (log_start_offset_ == high_watermark_) return {};
    try {
        // The first segment with the largest timestamp knows the first batch that reached it.
        const Segment* best = nullptr;
        for (auto it = segment_holding(log_start_offset_); it != segments_.end(); ++it)
            if (!best || (*it)->max_timestamp() > best->max_timestamp()) best = it->get();
        if (best->max_timestamp() >= 0 && best->offset_of_max_timestamp() >= log_start_offset_) {
            std::optional<BatchLocation> at = best->find_batch(best->offset_of_max_timestamp());
            kafka::RecordBatchReader batches(at ? best->view_from(at->position) : kafka::Bytes(),
                                             kafka::PartialTail::reject);
            if (std::optional<kafka::RecordBatch> b = batches.next())
                return record_with_max_timestamp(*b, log_start_offset_);
        }
        // The largest timestamp lies below the log start (DeleteRecords cut into its segment), or no
        // batch has one: look at every batch still in the log.
        std::optional<kafka::RecordBatch> best_batch;
        int64_t best_timestamp = -1;
        for (auto it = segment_holding(log_start_offset_); it != segments_.end(); ++it) {
            kafka::RecordBatchReader batches((*it)->view_from(0), kafka::PartialTail::reject);
            while (std::optional<kafka::RecordBatch> b = batches.next()) {
                if (b->header.last_offset() < log_start_offset_) continue;
                const int64_t ts = max_timestamp_from(*b, log_start_offset_);
                if (!best_batch || ts > best_timestamp) {
                    best_batch = std::move(b);
                    best_timestamp = ts;
                }
            }
        }
        return best_batch ? record_with_max_timestamp(*best_batch, log_start_offset_) : TimestampOffset{};
    } catch (const kafka::DecodeError& e) {
        log_storage(name_of(tp_) + ": max timestamp lookup found a corrupt log: " + e.what());
        return {StorageErrc::corrupt_message};
    } catch (const std::system_error& e) {
        log_storage(name_of(tp_) + ": max timestamp lookup failed: " + e.what());
        return {StorageErrc::storage_error};
    }
}

void PartitionLog::write_log_start_checkpoint() const {
    replace_file(dir_ / log_start_checkpoint_name, std::to_string(log_start_offset_) + "\n", sync_on_roll());
}

PartitionOffsets PartitionLog::delete_records_before(int64_t offset) {
    std::lock_guard lock(mutex_);
    if (removed_) return {StorageErrc::unknown_topic_or_partition};
    if (offline_) return {StorageErrc::storage_error, log_start_offset_, high_watermark_};
    if (offset == -1) offset = high_watermark_; // DeleteRecords: -1 means the high watermark
    if (offset < 0 || offset > high_watermark_)
        return {StorageErrc::offset_out_of_range, log_start_offset_, high_watermark_};
    if (offset > log_start_offset_) {
        log_start_offset_ = offset;
        try {
            write_log_start_checkpoint();
        } catch (const std::system_error& e) {
            go_offline("writing the log start offset", e);
            return {StorageErrc::storage_error, log_start_offset_, high_watermark_};
        }
        size_t below = 0;
        while (below + 1 < segments_.size() && segments_[below]->next_offset() <= log_start_offset_) ++below;
        remove_oldest_segments(below, "below the log start offset");
    }
    return {StorageErrc::none, log_start_offset_, high_watermark_};
}

void PartitionLog::remove_oldest_segments(size_t count, const char* reason) {
    if (count == 0) return;
    uint64_t bytes = 0;
    const int64_t first = segments_.front()->base_offset();
    const int64_t end = segments_[count - 1]->next_offset();
    for (size_t i = 0; i < count; ++i) {
        bytes += segments_[i]->size();
        if (last_read_ == segments_[i].get()) last_read_ = nullptr;
        try {
            segments_[i]->remove();
        } catch (const std::system_error& e) {
            // The files stay behind; the log start offset still moves, and the next start sees them
            // below it and removes them again.
            log_storage(name_of(tp_) + ": " + e.what());
        }
    }
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(count));
    log_storage(name_of(tp_) + ": removed " + std::to_string(count) + " segment(s), offsets " + std::to_string(first) +
                " to " + std::to_string(end - 1) + ", " + std::to_string(bytes) + " bytes: " + reason);
}

void PartitionLog::enforce_retention(int64_t now) {
    std::lock_guard lock(mutex_);
    if (removed_ || offline_) return;
    // Only sealed segments go, oldest first, each rule deleting while it holds (as Kafka).
    const size_t sealed = segments_.size() - 1;
    size_t below_start = 0;
    while (below_start < sealed && segments_[below_start]->next_offset() <= log_start_offset_) ++below_start;
    size_t expired = below_start;
    if (settings_.config.retention_ms >= 0)
        while (expired < sealed && now - segments_[expired]->retention_timestamp() > settings_.config.retention_ms)
            ++expired;
    size_t oversize = expired;
    if (settings_.config.retention_bytes >= 0) {
        uint64_t total = 0;
        for (size_t i = oversize; i < segments_.size(); ++i) total += segments_[i]->size();
        int64_t excess = static_cast<int64_t>(total) - settings_.config.retention_bytes;
        while (oversize < sealed && excess >= static_cast<int64_t>(segments_[oversize]->size()))
            excess -= static_cast<int64_t>(segments_[oversize++]->size());
    }
    remove_oldest_segments(below_start, "below the log start offset");
    remove_oldest_segments(expired - below_start, "older than retention.ms");
    remove_oldest_segments(oversize - expired, "beyond retention.bytes");
    if (segments_.front()->base_offset() > log_start_offset_) {
        log_start_offset_ = segments_.front()->base_offset();
        try {
            write_log_start_checkpoint();
        } catch (const std::system_error& e) {
            // Not needed for correctness: at startup the log start is at least the first segment's base.
            log_storage(name_of(tp_) + ": " + e.what());
        }
    }
}

void PartitionLog::sync_if_dirty() {
    std::shared_ptr<const FileDescriptor> file;
    {
        std::lock_guard lock(mutex_);
        if (removed_ || offline_ || !dirty_) return;
        dirty_ = false;
        file = active().log_file();
    }
    try {
        file->sync_data();
    } catch (const std::system_error& e) {
        std::lock_guard lock(mutex_);
        go_offline("fdatasync", e);
    }
}

void PartitionLog::sync() {
    std::lock_guard lock(mutex_);
    if (removed_ || offline_) return;
    try {
        active().sync();
        dirty_ = false;
    } catch (const std::system_error& e) {
        go_offline("fdatasync", e);
    }
}

bool PartitionLog::sync_for_shutdown() {
    std::lock_guard lock(mutex_);
    if (removed_) return true;
    if (offline_) return false;
    try {
        active().sync_all();
        dirty_ = false;
        return true;
    } catch (const std::system_error& e) {
        go_offline("fdatasync", e);
        return false;
    }
}

void PartitionLog::remove() {
    std::lock_guard lock(mutex_);
    removed_ = true;
    last_read_ = nullptr;
    segments_.clear(); // closes the files; ranges handed out keep them open
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec) log_storage("cannot remove " + dir_.string() + ": " + ec.message());
}

} // namespace gateway
