// Writer: appends big-endian integers, varints and Kafka strings/bytes to a growable buffer.
//
// Large `bytes`/`records` values that have an owner are not copied: the writer records a reference
// and the output becomes a list of segments (our buffer, their bytes, our buffer, ...) that the
// network layer can send with scatter/gather.  Values that are file ranges (Bytes::file_region(),
// stored batches of the file engine) are referenced whatever their size and never read here: their
// segments name the range, which the connection sends with sendfile(2).  flatten() makes one
// contiguous copy for tests and small messages.
#pragma once

#include "runtime/bytes.h"
#include "runtime/codec_error.h"
#include "runtime/tagged_fields.h"
#include "runtime/uuid.h"

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kafka {

class Writer {
public:
    // Values at least this large are referenced instead of copied when they have an owner.
    static constexpr size_t zero_copy_threshold = 16 * 1024;

    Writer() = default;
    explicit Writer(size_t capacity) { reserve(capacity); }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    Writer(Writer&& o) noexcept { *this = std::move(o); }
    Writer& operator=(Writer&& o) noexcept;
    ~Writer() { std::free(buf_); }

    void reserve(size_t capacity);

    void write_int8(int8_t v) { *grow(1) = static_cast<uint8_t>(v); }
    void write_bool(bool v) { *grow(1) = v ? 1 : 0; }
    void write_int16(int16_t v) { store_be(static_cast<uint16_t>(v)); }
    void write_uint16(uint16_t v) { store_be(v); }
    void write_int32(int32_t v) { store_be(static_cast<uint32_t>(v)); }
    void write_uint32(uint32_t v) { store_be(v); }
    void write_int64(int64_t v) { store_be(static_cast<uint64_t>(v)); }
    void write_float64(double v) { store_be(std::bit_cast<uint64_t>(v)); }
    void write_uuid(const Uuid& u) { std::memcpy(grow(16), u.bytes.data(), 16); }

    void write_uvarint(uint32_t v) {
        if (v < 0x80) [[likely]] {   // one byte: lengths, counts, tag sections
            *grow(1) = static_cast<uint8_t>(v);
            return;
        }
        write_uvarint_slow(v);
    }
    void write_uvarlong(uint64_t v);
    void write_varint(int32_t v) { write_uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31)); }
    void write_varlong(int64_t v) { write_uvarlong((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }

    void write_string(std::string_view s);
    void write_compact_string(std::string_view s);
    void write_nullable_string(const std::optional<std::string>& s);
    void write_compact_nullable_string(const std::optional<std::string>& s);

    void write_bytes(const Bytes& b) { write_int32(checked_int32(b.size())); write_payload(b); }
    void write_compact_bytes(const Bytes& b) { write_uvarint(checked_uint32(b.size() + 1)); write_payload(b); }
    void write_nullable_bytes(const std::optional<Bytes>& b) { b ? write_bytes(*b) : write_int32(-1); }
    void write_compact_nullable_bytes(const std::optional<Bytes>& b) { b ? write_compact_bytes(*b) : write_uvarint(0); }

    void write_array_length(int32_t n) { write_int32(n); }           // -1 for null
    void write_compact_array_length(int32_t n) { write_uvarint(static_cast<uint32_t>(n) + 1); }

    void write_raw(const void* p, size_t n) {
        if (n != 0) std::memcpy(grow(n), p, n);
    }
    // Appends b, by reference when it is large and owned or a file range, by copy otherwise.
    void write_payload(const Bytes& b);

    // Bytes written so far, referenced segments included.
    size_t size() const { return size_ + referenced_; }

    struct Segment {
        const uint8_t* data;               // null for a file range
        size_t size;
        const FileRegion* file = nullptr;  // the file range this segment is, if it is one
        // Copies the segment's bytes to `out` (reading a file range); returns the end of the copy.
        uint8_t* copy_to(uint8_t* out) const;
    };
    // The output in order; valid until the writer is changed.  References keep their owners alive
    // for as long as the writer lives (see references()).
    std::vector<Segment> segments() const;
    const std::vector<Bytes>& references() const { return refs_; }
    std::vector<uint8_t> flatten() const;

    // Overwrites 4 bytes already written (a length prefix) at a position of the own buffer.
    void patch_int32(size_t position, int32_t v);
    size_t buffer_position() const { return size_; }

private:
    uint8_t* grow(size_t n) {
        if (cap_ - size_ < n) [[unlikely]]
            expand(n);
        uint8_t* p = buf_ + size_;
        size_ += n;
        return p;
    }
    void expand(size_t n);
    void write_uvarint_slow(uint32_t v);
    template<typename T>
    void store_be(T v) {
        if constexpr (std::endian::native == std::endian::little) {
            if constexpr (sizeof(T) == 2) v = static_cast<T>(__builtin_bswap16(v));
            else if constexpr (sizeof(T) == 4) v = static_cast<T>(__builtin_bswap32(v));
            else v = static_cast<T>(__builtin_bswap64(v));
        }
        std::memcpy(grow(sizeof(T)), &v, sizeof(T));
    }
    static int32_t checked_int32(size_t n);
    static uint32_t checked_uint32(size_t n);

    uint8_t* buf_ = nullptr;
    size_t size_ = 0;
    size_t cap_ = 0;
    // refs_[i] goes after ref_pos_[i] bytes of our own buffer.
    std::vector<Bytes> refs_;
    std::vector<size_t> ref_pos_;
    size_t referenced_ = 0;
};

inline void write_tagged_fields(Writer& w, const TaggedFields& fields) {
    if (fields.empty()) w.write_uvarint(0);
    else write_tagged_fields_slow(w, fields);
}

// An array's element count as written on the wire.
inline int32_t checked_count(size_t n) {
    if (n > 0x7fffffff) throw EncodeError("array of " + std::to_string(n) + " elements is too large");
    return static_cast<int32_t>(n);
}

// Encoded sizes, for the generated size() functions.
inline size_t uvarint_size(uint32_t v) { return v < (1u << 7) ? 1 : v < (1u << 14) ? 2 : v < (1u << 21) ? 3 : v < (1u << 28) ? 4 : 5; }
inline size_t uvarlong_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}
inline size_t varint_size(int32_t v) { return uvarint_size((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31)); }
inline size_t varlong_size(int64_t v) { return uvarlong_size((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
inline size_t string_size(std::string_view s) { return 2 + s.size(); }
inline size_t compact_string_size(std::string_view s) { return uvarint_size(static_cast<uint32_t>(s.size() + 1)) + s.size(); }
inline size_t nullable_string_size(const std::optional<std::string>& s) { return s ? string_size(*s) : 2; }
inline size_t compact_nullable_string_size(const std::optional<std::string>& s) { return s ? compact_string_size(*s) : 1; }
inline size_t bytes_size(const Bytes& b) { return 4 + b.size(); }
inline size_t compact_bytes_size(const Bytes& b) { return uvarint_size(static_cast<uint32_t>(b.size() + 1)) + b.size(); }
inline size_t nullable_bytes_size(const std::optional<Bytes>& b) { return b ? bytes_size(*b) : 4; }
inline size_t compact_nullable_bytes_size(const std::optional<Bytes>& b) { return b ? compact_bytes_size(*b) : 1; }
inline size_t compact_array_length_size(int32_t n) { return uvarint_size(static_cast<uint32_t>(n) + 1); }

} // namespace kafka
