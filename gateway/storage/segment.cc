#include "gateway/storage/segment.h"

#include "gateway/storage/storage_log.h"
#include "runtime/codec_error.h"
#include "runtime/record_batch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <vector>

namespace gateway {
namespace {

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Walks the batch headers of a log from a position, reading a few KiB at a time rather than one
// header per read (batches are often small, and index entries ~4 KiB apart).
class HeaderWalk {
public:
    HeaderWalk(const FileDescriptor& log, uint64_t position, uint64_t end) : log_(log), position_(position), end_(end) {}

    // The header of the batch at position(), or nothing at the end.  Throws DecodeError when the log
    // is not whole batches up to the end, std::system_error when it cannot be read.
    std::optional<kafka::RecordBatchHeader> header() {
        if (position_ >= end_) return std::nullopt;
        const uint64_t left = end_ - position_;
        if (left < kafka::RecordBatchHeader::size)
            throw kafka::DecodeError(kafka::DecodeErrc::truncated, "incomplete batch header (" + std::to_string(left) +
                                                                       " bytes) at position " + std::to_string(position_));
        if (position_ < buffer_at_ || position_ + kafka::RecordBatchHeader::size > buffer_at_ + buffer_size_) {
            buffer_size_ = static_cast<size_t>(std::min<uint64_t>(sizeof buffer_, left));
            log_.read_exactly(buffer_, buffer_size_, position_);
            buffer_at_ = position_;
        }
        kafka::RecordBatchHeader h =
            kafka::parse_record_batch_header({buffer_ + (position_ - buffer_at_), kafka::RecordBatchHeader::size});
        if (h.total_size() > left)
            throw kafka::DecodeError(kafka::DecodeErrc::truncated,
                                     "incomplete batch at position " + std::to_string(position_) + ": needs " +
                                         std::to_string(h.total_size()) + " bytes, " + std::to_string(left) + " left");
        return h;
    }
    void skip(const kafka::RecordBatchHeader& h) { position_ += h.total_size(); }
    uint64_t position() const { return position_; }

private:
    const FileDescriptor& log_;
    uint64_t position_;
    uint64_t end_;
    uint8_t buffer_[4096];
    uint64_t buffer_at_ = 0;
    size_t buffer_size_ = 0;
};

// Where a check of stored batches ended: `end` is the position after the last sound batch, and
// `problem` says why the walk stopped before the end of the log (empty when it did not).
struct ScanResult {
    uint64_t end = 0;
    int64_t next_offset = 0;
    std::string problem;
};

// Checks every batch of data[position, size) as recovery must: whole, a sound v2 batch whose CRC
// matches, its base offset the one expected next.  Calls on_batch(position, header) for each.
template <class OnBatch>
ScanResult check_batches(const uint8_t* data, uint64_t size, uint64_t position, int64_t expected_offset,
                         OnBatch on_batch) {
    ScanResult r{position, expected_offset, {}};
    while (r.end < size) {
        const uint64_t left = size - r.end;
        const uint8_t* p = data + r.end;
        if (left < kafka::RecordBatchHeader::size) {
            r.problem = "incomplete batch header (" + std::to_string(left) + " bytes)";
            return r;
        }
        kafka::RecordBatchHeader h;
        try {
            h = kafka::parse_record_batch_header({p, left});
            if (h.total_size() > left) {
                r.problem = "incomplete batch (needs " + std::to_string(h.total_size()) + " bytes, " +
                            std::to_string(left) + " left)";
                return r;
            }
            kafka::validate_record_batch({p, h.total_size()});
        } catch (const kafka::DecodeError& e) {
            r.problem = std::string("corrupt batch: ") + e.what();
            return r;
        }
        if (h.base_offset != r.next_offset) {
            r.problem = "batch at offset " + std::to_string(h.base_offset) + " where " + std::to_string(r.next_offset) +
                        " was expected";
            return r;
        }
        on_batch(r.end, h);
        r.end += h.total_size();
        r.next_offset = h.last_offset() + 1;
    }
    return r;
}

} // namespace

std::filesystem::path Segment::file_path(const std::filesystem::path& dir, int64_t base_offset, const char* extension) {
    char name[32];
    std::snprintf(name, sizeof name, "%020" PRId64 "%s", base_offset, extension);
    return dir / name;
}

std::optional<int64_t> Segment::base_offset_of(const std::filesystem::path& file) {
    const std::string stem = file.stem().string();
    if (stem.size() != 20) return std::nullopt;
    int64_t base = 0;
    auto [end, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), base);
    if (ec != std::errc() || end != stem.data() + stem.size() || base < 0) return std::nullopt;
    return base;
}

Segment::Segment(const std::filesystem::path& dir, int64_t base_offset)
  : dir_(dir),
    base_offset_(base_offset),
    next_offset_(base_offset),
    offset_index_(file_path(dir, base_offset, ".index"), base_offset),
    time_index_(file_path(dir, base_offset, ".timeindex"), base_offset),
    offset_of_max_timestamp_(base_offset) {}

std::unique_ptr<Segment> Segment::create(const std::filesystem::path& dir, int64_t base_offset) {
    std::unique_ptr<Segment> s(new Segment(dir, base_offset));
    s->log_ = std::make_shared<FileDescriptor>(
        FileDescriptor::open(file_path(dir, base_offset, ".log"), O_RDWR | O_CREAT | O_TRUNC));
    s->offset_index_.file().start_empty();
    s->time_index_.file().start_empty();
    s->roll_clock_start_ms_ = now_ms();
    return s;
}

std::unique_ptr<Segment> Segment::recover(const std::filesystem::path& dir, int64_t base_offset) {
    std::unique_ptr<Segment> s(new Segment(dir, base_offset));
    s->log_ = std::make_shared<FileDescriptor>(
        FileDescriptor::open(file_path(dir, base_offset, ".log"), O_RDWR | O_CREAT));
    s->offset_index_.file().start_empty();
    s->time_index_.file().start_empty();
    s->roll_clock_start_ms_ = now_ms();

    const uint64_t file_size = s->log_->size();
    ScanResult scan{0, base_offset, {}};
    if (file_size > 0) {
        std::shared_ptr<const FileMapping> whole = FileMapping::map(*s->log_, file_size);
        auto on_batch = [&](uint64_t position, const kafka::RecordBatchHeader& h) {
            if (position == 0 && h.max_timestamp >= 0)
                s->roll_clock_start_ms_ = std::min(h.max_timestamp, s->roll_clock_start_ms_);
            s->index_batch(position, h.base_offset, int64_t{h.last_offset_delta} + 1, h.max_timestamp, h.total_size());
        };
        scan = check_batches(whole->data(), file_size, 0, base_offset, on_batch);
    }
    if (scan.end < file_size) {
        log_storage(s->log_->path().string() + ": cut " + std::to_string(file_size - scan.end) +
                    " bytes at position " + std::to_string(scan.end) + " (offset " + std::to_string(scan.next_offset) +
                    "): " + scan.problem);
        s->log_->truncate(scan.end);
    }
    s->size_ = scan.end;
    s->offset_index_.file().write_pending();
    s->time_index_.file().write_pending();
    return s;
}

std::unique_ptr<Segment> Segment::resume(const std::filesystem::path& dir, int64_t base_offset) {
    std::unique_ptr<Segment> s(new Segment(dir, base_offset));
    s->log_ = std::make_shared<FileDescriptor>(FileDescriptor::open(file_path(dir, base_offset, ".log"), O_RDWR));
    if (!s->offset_index_.file().resume_active() || !s->time_index_.file().resume_active()) return nullptr;
    s->size_ = s->log_->size();
    s->roll_clock_start_ms_ = now_ms();
    const std::optional<OffsetIndexEntry> last_indexed = s->offset_index_.last();
    const std::optional<TimeIndexEntry> last_time = s->time_index_.last();
    if (last_indexed && (last_indexed->position >= s->size_ || last_indexed->offset < base_offset)) return nullptr;
    // Time entries are written with offset entries, for the batches up to the offset entry's.
    if (last_time && (!last_indexed || last_time->offset < base_offset || last_time->offset > last_indexed->offset))
        return nullptr;
    if (s->size_ == 0) return last_indexed || last_time ? nullptr : std::move(s);

    // What the appends after the last index entry left: index_batch() from that entry on does what the
    // appends did, so the indexes go on exactly as if the gateway had never stopped.
    if (last_time) {
        s->max_timestamp_ = last_time->timestamp;
        s->offset_of_max_timestamp_ = last_time->offset;
    }
    std::shared_ptr<const FileMapping> whole = FileMapping::map(*s->log_, s->size_);
    kafka::RecordBatchHeader first;
    try {
        first = kafka::parse_record_batch_header({whole->data(), s->size_});
    } catch (const kafka::DecodeError&) {
        return nullptr;
    }
    if (first.max_timestamp >= 0) s->roll_clock_start_ms_ = std::min(first.max_timestamp, s->roll_clock_start_ms_);
    const uint64_t from = last_indexed ? last_indexed->position : 0;
    const int64_t from_offset = last_indexed ? last_indexed->offset : base_offset;
    ScanResult tail = check_batches(whole->data(), s->size_, from, from_offset,
                                    [&](uint64_t position, const kafka::RecordBatchHeader& h) {
                                        s->index_batch(position, h.base_offset, int64_t{h.last_offset_delta} + 1,
                                                       h.max_timestamp, h.total_size());
                                    });
    if (tail.end != s->size_) return nullptr;
    s->offset_index_.file().write_pending();
    s->time_index_.file().write_pending();
    return s;
}

std::unique_ptr<Segment> Segment::open_sealed(const std::filesystem::path& dir, int64_t base_offset,
                                              int64_t next_segment_base) {
    std::unique_ptr<Segment> s(new Segment(dir, base_offset));
    FileDescriptor log = FileDescriptor::open(file_path(dir, base_offset, ".log"), O_RDONLY);
    s->size_ = log.size();
    if (!s->offset_index_.file().open_sealed() || !s->time_index_.file().open_sealed()) return nullptr;

    auto in_segment = [&](int64_t offset) { return offset >= base_offset && offset < next_segment_base; };
    std::optional<OffsetIndexEntry> last_indexed = s->offset_index_.last();
    if (last_indexed && (last_indexed->position >= s->size_ || !in_segment(last_indexed->offset))) return nullptr;
    std::optional<TimeIndexEntry> last_time = s->time_index_.last();
    if (last_time && !in_segment(last_time->offset)) return nullptr;
    // A sealed segment's time index ends with its largest timestamp; none at all means it was lost
    // (or no batch had a timestamp: rare, and a rebuild then costs one scan).
    if (!last_time && s->size_ > 0) return nullptr;

    if (s->size_ > 0) {
        std::shared_ptr<const FileMapping> whole = FileMapping::map(log, s->size_);
        ScanResult tail = check_batches(whole->data(), s->size_, last_indexed ? last_indexed->position : 0,
                                        last_indexed ? last_indexed->offset : base_offset,
                                        [](uint64_t, const kafka::RecordBatchHeader&) {});
        if (tail.end != s->size_ || tail.next_offset != next_segment_base) return nullptr;
    } else if (next_segment_base != base_offset) {
        return nullptr;
    }
    s->next_offset_ = next_segment_base;
    if (last_time) {
        s->max_timestamp_ = last_time->timestamp;
        s->offset_of_max_timestamp_ = last_time->offset;
    }
    return s;
}

int64_t Segment::retention_timestamp() const {
    if (max_timestamp_ >= 0) return max_timestamp_;
    struct stat st {};
    if (::stat(file_path(dir_, base_offset_, ".log").c_str(), &st) != 0) return now_ms();
    return int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
}

void Segment::index_batch(uint64_t position, int64_t base_offset, int64_t offset_count, int64_t max_timestamp,
                          uint64_t size) {
    if (max_timestamp > max_timestamp_) {
        max_timestamp_ = max_timestamp;
        offset_of_max_timestamp_ = base_offset;
    }
    // Positions are u32 on disk; the partition rolls segments long before, but an index entry is only
    // an optimisation, so one that cannot be written is skipped rather than wrapped.
    if (bytes_since_index_entry_ >= index_interval_bytes && position <= std::numeric_limits<uint32_t>::max()) {
        offset_index_.append({base_offset, static_cast<uint32_t>(position)});
        append_time_entry_if_newer();
        bytes_since_index_entry_ = 0;
    }
    bytes_since_index_entry_ += size;
    next_offset_ = base_offset + offset_count;
}

void Segment::append_time_entry_if_newer() {
    std::optional<TimeIndexEntry> last = time_index_.last();
    if (max_timestamp_ >= 0 && (!last || max_timestamp_ > last->timestamp))
        time_index_.append({max_timestamp_, offset_of_max_timestamp_});
}

void Segment::append(const PreparedAppend& batches) {
    std::vector<iovec> parts;
    parts.reserve(batches.batches.size() * 2);
    for (const PreparedBatch& b : batches.batches) {
        parts.push_back({const_cast<uint8_t*>(b.header.data()), b.header.size()});
        parts.push_back({const_cast<uint8_t*>(b.records.data()), b.records.size()});
    }
    try {
        log_->write_all(parts, size_);
    } catch (...) {
        try {
            log_->truncate(size_);
        } catch (const std::system_error&) {
            // The partition goes offline anyway; recovery cuts the partial batch at the next start.
        }
        throw;
    }
    uint64_t position = size_;
    int64_t offset = next_offset_;
    for (const PreparedBatch& b : batches.batches) {
        index_batch(position, offset, b.offset_count, b.max_timestamp, b.size());
        position += b.size();
        offset += b.offset_count;
    }
    size_ = position;
    offset_index_.file().write_pending();
    time_index_.file().write_pending();
}

void Segment::sync() const {
    if (log_) log_->sync_data();
}

void Segment::sync_all() {
    if (!log_) return;
    offset_index_.file().write_pending();
    time_index_.file().write_pending();
    offset_index_.file().sync();
    time_index_.file().sync();
    log_->sync_data();
}

void Segment::seal(bool sync) {
    if (!log_) return;
    append_time_entry_if_newer();
    offset_index_.file().seal(sync);
    time_index_.file().seal(sync);
    if (sync) log_->sync_data();
    log_.reset(); // ranges handed out keep it open; the next read opens the file read-only
}

void Segment::remove() {
    log_.reset();
    reader_.reset();
    for (const std::filesystem::path& p : {file_path(dir_, base_offset_, ".log"), offset_index_.file().path(),
                                           time_index_.file().path()})
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_file_error(errno, "cannot remove", p);
}

std::shared_ptr<const FileDescriptor> Segment::reader() const {
    if (log_) return log_;
    if (!reader_)
        reader_ = std::make_shared<const FileDescriptor>(
            FileDescriptor::open(file_path(dir_, base_offset_, ".log"), O_RDONLY));
    return reader_;
}

kafka::Bytes Segment::view_from(uint64_t position) const {
    if (position >= size_) return {};
    std::shared_ptr<const FileMapping> m = FileMapping::map(*reader(), size_);
    const uint8_t* data = m->data() + position;
    return kafka::Bytes(std::move(m), data, size_ - position);
}

std::optional<BatchLocation> Segment::find_batch(int64_t offset) const {
    const std::shared_ptr<const FileDescriptor> log = reader();
    HeaderWalk walk(*log, offset_index_.floor(offset).position, size_);
    while (std::optional<kafka::RecordBatchHeader> h = walk.header()) {
        if (h->last_offset() >= offset) return BatchLocation{walk.position(), h->total_size(), h->base_offset, h->last_offset()};
        walk.skip(*h);
    }
    return std::nullopt;
}

kafka::Bytes Segment::read_batches(uint64_t position, size_t max_bytes) const {
    if (position >= size_) return {};
    std::shared_ptr<const FileDescriptor> log = reader();
    const uint64_t limit = max_bytes >= size_ - position ? size_ : position + max_bytes;
    // Index entries are batch starts: the whole batches up to the last one at or before the limit
    // need no walk.  The entry is trusted only if the batch there has the offset it says.
    std::optional<HeaderWalk> walk;
    if (std::optional<OffsetIndexEntry> e = offset_index_.last_at_or_before_position(limit); e && e->position > position) {
        walk.emplace(*log, e->position, size_);
        std::optional<kafka::RecordBatchHeader> h = walk->header();
        if (!h || h->base_offset != e->offset) walk.reset();
    }
    if (!walk) walk.emplace(*log, position, size_);
    while (std::optional<kafka::RecordBatchHeader> h = walk->header()) {
        if (walk->position() > position && walk->position() + h->total_size() > limit) break;
        walk->skip(*h);
    }
    const uint64_t end = walk->position();
    const int fd = log->get();
    return kafka::Bytes(std::make_shared<const kafka::FileRegion>(std::move(log), fd, position, end - position));
}

uint64_t Segment::timestamp_search_start(int64_t timestamp) const {
    std::optional<TimeIndexEntry> e = time_index_.floor(timestamp);
    return e ? offset_index_.floor(e->offset).position : 0;
}

} // namespace gateway
