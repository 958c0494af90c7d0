// Bytes: an immutable byte range that either owns its storage or views a shared buffer (a request
// frame, say) whose lifetime it extends.  Decoded `bytes` and `records` fields are views into the
// frame they came from, so a 1 MiB produce payload is never copied by the codec.
//
// Bytes may also stand for a range of a file (runtime/file_region.h: stored batches of the file
// engine).  The writer passes such bytes on as a file range, which the connection sends with
// sendfile(2); anything else that looks at them (data(), span(), slice(), a Reader) gets them read
// into memory once, on first use.
#pragma once

#include "runtime/file_region.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace kafka {

class Bytes {
public:
    Bytes() = default;

    // Shares `owner` and views [data, data + size) inside it.
    Bytes(std::shared_ptr<const void> owner, const uint8_t* data, size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}

    // The bytes of a file region, which these bytes keep (and so its descriptor open).
    explicit Bytes(std::shared_ptr<const FileRegion> region)
      : owner_(region), size_(region->size()), region_(region.get()) {}

    static Bytes copy_of(std::span<const uint8_t> src);
    static Bytes copy_of(std::string_view src) {
        return copy_of(std::span(reinterpret_cast<const uint8_t*>(src.data()), src.size()));
    }

    // For file bytes, the first call reads the region (and may throw as FileRegion::contents does).
    const uint8_t* data() const { return region_ == nullptr ? data_ : region_->contents(); }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::span<const uint8_t> span() const { return {data(), size_}; }
    std::string_view view() const { return {reinterpret_cast<const char*>(data()), size_}; }
    const std::shared_ptr<const void>& owner() const { return owner_; }
    // The file range these bytes are, or null for bytes in memory.
    const FileRegion* file_region() const { return region_; }

    // A view of part of this range sharing the same owner (of file bytes: of their contents in memory).
    Bytes slice(size_t offset, size_t length) const { return Bytes(owner_, data() + offset, length); }

    friend bool operator==(const Bytes& a, const Bytes& b) {
        return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data(), b.data(), a.size_) == 0);
    }

private:
    std::shared_ptr<const void> owner_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    const FileRegion* region_ = nullptr;   // owned through owner_
};

} // namespace kafka
