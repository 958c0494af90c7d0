// Bytes: an immutable byte range that either owns its storage or views a shared buffer (a request
// frame, say) whose lifetime it extends.  Decoded `bytes` and `records` fields are views into the
// frame they came from, so a 1 MiB produce payload is never copied by the codec.
#pragma once

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

    static Bytes copy_of(std::span<const uint8_t> src);
    static Bytes copy_of(std::string_view src) {
        return copy_of(std::span(reinterpret_cast<const uint8_t*>(src.data()), src.size()));
    }

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::span<const uint8_t> span() const { return {data_, size_}; }
    std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
    const std::shared_ptr<const void>& owner() const { return owner_; }

    // A view of part of this range sharing the same owner.
    Bytes slice(size_t offset, size_t length) const { return Bytes(owner_, data_ + offset, length); }

    friend bool operator==(const Bytes& a, const Bytes& b) {
        return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
    }

private:
    std::shared_ptr<const void> owner_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

} // namespace kafka
