#include "runtime/writer.h"

#include <new>
#include <utility>

namespace kafka {

Writer& Writer::operator=(Writer&& o) noexcept {
    if (this != &o) {
        std::free(buf_);
        buf_ = std::exchange(o.buf_, nullptr);
        size_ = std::exchange(o.size_, 0);
        cap_ = std::exchange(o.cap_, 0);
        refs_ = std::move(o.refs_);
        ref_pos_ = std::move(o.ref_pos_);
        referenced_ = std::exchange(o.referenced_, 0);
    }
    return *this;
}

void Writer::reserve(size_t capacity) {
    if (capacity <= cap_) return;
    auto* p = static_cast<uint8_t*>(std::realloc(buf_, capacity));
    if (p == nullptr) throw std::bad_alloc();
    buf_ = p;
    cap_ = capacity;
}

void Writer::expand(size_t n) {
    size_t want = cap_ < 256 ? 256 : cap_ * 2;
    while (want - size_ < n) want *= 2;
    reserve(want);
}

void Writer::write_uvarint_slow(uint32_t v) {
    uint8_t* p = grow(uvarint_size(v));
    while (v >= 0x80) {
        *p++ = static_cast<uint8_t>(v | 0x80);
        v >>= 7;
    }
    *p = static_cast<uint8_t>(v);
}

void Writer::write_uvarlong(uint64_t v) {
    uint8_t* p = grow(uvarlong_size(v));
    while (v >= 0x80) {
        *p++ = static_cast<uint8_t>(v | 0x80);
        v >>= 7;
    }
    *p = static_cast<uint8_t>(v);
}

void Writer::write_string(std::string_view s) {
    if (s.size() > 0x7fff) throw EncodeError("string of " + std::to_string(s.size()) + " bytes is over 32767");
    write_int16(static_cast<int16_t>(s.size()));
    write_raw(s.data(), s.size());
}

void Writer::write_compact_string(std::string_view s) {
    if (s.size() > 0x7fff) throw EncodeError("string of " + std::to_string(s.size()) + " bytes is over 32767");
    write_uvarint(static_cast<uint32_t>(s.size() + 1));
    write_raw(s.data(), s.size());
}

void Writer::write_nullable_string(const std::optional<std::string>& s) {
    if (s) write_string(*s);
    else write_int16(-1);
}

void Writer::write_compact_nullable_string(const std::optional<std::string>& s) {
    if (s) write_compact_string(*s);
    else write_uvarint(0);
}

void Writer::write_payload(const Bytes& b) {
    if ((b.file_region() != nullptr && !b.empty()) || (b.size() >= zero_copy_threshold && b.owner())) {
        ref_pos_.push_back(size_);
        refs_.push_back(b);
        referenced_ += b.size();
        return;
    }
    write_raw(b.data(), b.size());
}

std::vector<Writer::Segment> Writer::segments() const {
    std::vector<Segment> out;
    out.reserve(refs_.size() * 2 + 1);
    size_t at = 0;
    for (size_t i = 0; i < refs_.size(); ++i) {
        if (ref_pos_[i] > at) out.push_back({buf_ + at, ref_pos_[i] - at});
        if (const FileRegion* file = refs_[i].file_region()) out.push_back({nullptr, refs_[i].size(), file});
        else if (!refs_[i].empty()) out.push_back({refs_[i].data(), refs_[i].size()});
        at = ref_pos_[i];
    }
    if (size_ > at) out.push_back({buf_ + at, size_ - at});
    return out;
}

uint8_t* Writer::Segment::copy_to(uint8_t* out) const {
    if (size == 0) return out;
    if (file != nullptr) file->read(out, 0, size);
    else std::memcpy(out, data, size);
    return out + size;
}

std::vector<uint8_t> Writer::flatten() const {
    std::vector<uint8_t> out(size());
    uint8_t* at = out.data();
    for (const Segment& s : segments()) at = s.copy_to(at);
    return out;
}

void Writer::patch_int32(size_t position, int32_t v) {
    if (position > size_ || size_ - position < 4) throw EncodeError("patch_int32 beyond the written bytes");
    uint32_t be = static_cast<uint32_t>(v);
    if constexpr (std::endian::native == std::endian::little) be = __builtin_bswap32(be);
    std::memcpy(buf_ + position, &be, 4);
}

int32_t Writer::checked_int32(size_t n) {
    if (n > 0x7fffffff) throw EncodeError("bytes value of " + std::to_string(n) + " bytes is too large");
    return static_cast<int32_t>(n);
}

uint32_t Writer::checked_uint32(size_t n) {
    if (n > 0x7fffffff) throw EncodeError("bytes value of " + std::to_string(n) + " bytes is too large");
    return static_cast<uint32_t>(n);
}

} // namespace kafka
