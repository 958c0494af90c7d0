#include "gateway/storage/log_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace gateway {
namespace {

uint64_t load_be(const uint8_t* p, size_t width) {
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | p[i];
    return v;
}

void store_be(uint8_t* p, uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (width - 1 - i)));
}

// The number of leading entries for which `before` holds (it must hold for a prefix only).
template <class Predicate>
size_t partition_point(const IndexFile& file, Predicate before) {
    size_t low = 0, high = file.count();
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (before(file.entry(mid)))
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

} // namespace

void IndexFile::start_empty() {
    file_ = FileDescriptor::open(path_, O_RDWR | O_CREAT | O_TRUNC);
    sealed_mapping_.reset();
    active_entries_.clear();
    count_ = 0;
    written_count_ = 0;
}

std::optional<FileDescriptor> IndexFile::open_whole(int flags) const {
    int fd = ::open(path_.c_str(), flags | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return std::nullopt;
    if (fd < 0) throw_file_error(errno, "cannot open", path_);
    FileDescriptor f(fd, path_);
    if (f.size() % entry_size_ != 0) return std::nullopt;
    return f;
}

bool IndexFile::open_sealed() {
    std::optional<FileDescriptor> f = open_whole(O_RDONLY);
    if (!f) return false;
    count_ = f->size() / entry_size_;
    return true;
}

bool IndexFile::resume_active() {
    std::optional<FileDescriptor> f = open_whole(O_RDWR);
    if (!f) return false;
    const uint64_t size = f->size();
    std::vector<uint8_t> entries(size);
    f->read_exactly(entries.data(), entries.size(), 0);
    file_ = std::move(*f);
    sealed_mapping_.reset();
    active_entries_ = std::move(entries);
    count_ = written_count_ = size / entry_size_;
    return true;
}

void IndexFile::append(const uint8_t* entry) {
    active_entries_.insert(active_entries_.end(), entry, entry + entry_size_);
    ++count_;
}

void IndexFile::write_pending() {
    if (written_count_ == count_) return;
    iovec part{active_entries_.data() + written_count_ * entry_size_, (count_ - written_count_) * entry_size_};
    file_.write_all({&part, 1}, written_count_ * entry_size_);
    written_count_ = count_;
}

void IndexFile::seal(bool sync) {
    write_pending();
    if (sync) file_.sync_data();
    file_.close();
    active_entries_ = {};
    written_count_ = 0;
}

void IndexFile::sync() const {
    if (file_) file_.sync_data();
}

void IndexFile::remove() const {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) throw_file_error(errno, "cannot remove", path_);
}

const uint8_t* IndexFile::entry(size_t i) const {
    if (file_) return active_entries_.data() + i * entry_size_;
    if (!sealed_mapping_)
        sealed_mapping_ = FileMapping::map(FileDescriptor::open(path_, O_RDONLY), count_ * entry_size_);
    return sealed_mapping_->data() + i * entry_size_;
}

OffsetIndexEntry OffsetIndex::decode(const uint8_t* p) const {
    return {base_offset_ + static_cast<int64_t>(load_be(p, 4)), static_cast<uint32_t>(load_be(p + 4, 4))};
}

void OffsetIndex::append(OffsetIndexEntry e) {
    uint8_t bytes[entry_size];
    store_be(bytes, static_cast<uint64_t>(e.offset - base_offset_), 4);
    store_be(bytes + 4, e.position, 4);
    file_.append(bytes);
}

OffsetIndexEntry OffsetIndex::floor(int64_t offset) const {
    size_t n = partition_point(file_, [&](const uint8_t* p) { return decode(p).offset <= offset; });
    return n == 0 ? OffsetIndexEntry{base_offset_, 0} : decode(file_.entry(n - 1));
}

std::optional<OffsetIndexEntry> OffsetIndex::last_at_or_before_position(uint64_t position) const {
    size_t n = partition_point(file_, [&](const uint8_t* p) { return decode(p).position <= position; });
    if (n == 0) return std::nullopt;
    return decode(file_.entry(n - 1));
}

std::optional<OffsetIndexEntry> OffsetIndex::last() const {
    if (file_.count() == 0) return std::nullopt;
    return decode(file_.entry(file_.count() - 1));
}

TimeIndexEntry TimeIndex::decode(const uint8_t* p) const {
    return {static_cast<int64_t>(load_be(p, 8)), base_offset_ + static_cast<int64_t>(load_be(p + 8, 4))};
}

void TimeIndex::append(TimeIndexEntry e) {
    uint8_t bytes[entry_size];
    store_be(bytes, static_cast<uint64_t>(e.timestamp), 8);
    store_be(bytes + 8, static_cast<uint64_t>(e.offset - base_offset_), 4);
    file_.append(bytes);
}

std::optional<TimeIndexEntry> TimeIndex::floor(int64_t timestamp) const {
    size_t n = partition_point(file_, [&](const uint8_t* p) { return decode(p).timestamp <= timestamp; });
    if (n == 0) return std::nullopt;
    return decode(file_.entry(n - 1));
}

std::optional<TimeIndexEntry> TimeIndex::last() const {
    if (file_.count() == 0) return std::nullopt;
    return decode(file_.entry(file_.count() - 1));
}

} // namespace gateway
