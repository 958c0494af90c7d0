// Reader: a bounds-checked cursor over one frame.  It never reads past its end; every failure throws a
// DecodeError that says what was wrong, at which offset and in which field (the generated decoders
// name the field they are reading with at()).
#pragma once

#include "runtime/bytes.h"
#include "runtime/codec_error.h"
#include "runtime/uuid.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace kafka {

class Reader {
public:
    Reader(const uint8_t* data, size_t size, std::shared_ptr<const void> owner = nullptr)
      : begin_(data), pos_(data), end_(data + size), owner_(std::move(owner)) {}
    explicit Reader(const Bytes& b) : Reader(b.data(), b.size(), b.owner()) {}

    size_t remaining() const { return static_cast<size_t>(end_ - pos_); }
    size_t position() const { return static_cast<size_t>(pos_ - begin_); }
    bool at_end() const { return pos_ == end_; }

    // Names the field being read, for error messages.  Costs one store.
    Reader& at(const char* field) {
        field_ = field;
        return *this;
    }

    int8_t read_int8() { return static_cast<int8_t>(*take(1)); }
    bool read_bool() { return *take(1) != 0; }
    int16_t read_int16() { return static_cast<int16_t>(load_be<uint16_t>()); }
    uint16_t read_uint16() { return load_be<uint16_t>(); }
    int32_t read_int32() { return static_cast<int32_t>(load_be<uint32_t>()); }
    uint32_t read_uint32() { return load_be<uint32_t>(); }
    int64_t read_int64() { return static_cast<int64_t>(load_be<uint64_t>()); }
    double read_float64() { return std::bit_cast<double>(load_be<uint64_t>()); }
    Uuid read_uuid();

    uint32_t read_uvarint() {
        if (pos_ != end_ && *pos_ < 0x80) [[likely]]   // one byte: lengths, counts, tag sections
            return *pos_++;
        return read_uvarint_slow();
    }
    uint64_t read_uvarlong();
    int32_t read_varint() {
        uint32_t v = read_uvarint();
        return static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
    }
    int64_t read_varlong() {
        uint64_t v = read_uvarlong();
        return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
    }

    // Strings: classic = int16 length (-1 null), compact = uvarint length+1 (0 null).
    std::string read_string() { return must(read_nullable_string()); }
    std::string read_compact_string() { return must(read_compact_nullable_string()); }
    std::optional<std::string> read_nullable_string() { return string_of_length(read_int16()); }
    std::optional<std::string> read_compact_nullable_string() {
        return string_of_length(static_cast<int64_t>(read_uvarint()) - 1);
    }

    // Bytes: classic = int32 length (-1 null), compact = uvarint length+1.  Views, never copies.
    Bytes read_bytes() { return must(read_nullable_bytes()); }
    Bytes read_compact_bytes() { return must(read_compact_nullable_bytes()); }
    std::optional<Bytes> read_nullable_bytes() { return bytes_of_length(read_int32()); }
    std::optional<Bytes> read_compact_nullable_bytes() {
        return bytes_of_length(static_cast<int64_t>(read_uvarint()) - 1);
    }

    // Array counts; -1 means null.  Each element takes at least `min_element_size` bytes (the generator
    // computes the exact minimum; 0 counts as 1), so a count that cannot fit in what is left is
    // rejected before anything is allocated.
    int32_t read_array_length(size_t min_element_size) {
        return checked_count(read_int32(), min_element_size);
    }
    int32_t read_compact_array_length(size_t min_element_size) {
        return checked_count(static_cast<int64_t>(read_uvarint()) - 1, min_element_size);
    }

    // The next n bytes as a view sharing the frame's owner.
    Bytes read_raw(size_t n) {
        const uint8_t* p = take(n);
        return Bytes(owner_, p, n);
    }
    // A reader over the next n bytes (a tagged field's value); this reader moves past them.
    Reader sub_reader(size_t n) {
        const uint8_t* p = take(n);
        Reader r(p, n, owner_);
        r.field_ = field_;
        return r;
    }
    void skip(size_t n) { take(n); }

    [[noreturn]] void fail(DecodeErrc code, const std::string& detail) const;

    // A null decoded where the version does not allow one.
    [[noreturn]] void fail_null() const { fail(DecodeErrc::null_not_allowed, "null in a non-nullable field"); }

private:
    const uint8_t* take(size_t n) {
        if (n > remaining()) [[unlikely]]
            fail_truncated(n);
        const uint8_t* p = pos_;
        pos_ += n;
        return p;
    }
    template<typename T>
    T load_be() {
        T v;
        std::memcpy(&v, take(sizeof(T)), sizeof(T));
        if constexpr (std::endian::native == std::endian::little) v = byteswap(v);
        return v;
    }
    template<typename T>
    static T byteswap(T v) {
        if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(v));
        else if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(v));
        else return static_cast<T>(__builtin_bswap64(v));
    }
    template<typename T>
    T must(std::optional<T>&& v) const {
        if (!v) [[unlikely]]
            fail_null();
        return std::move(*v);
    }
    std::optional<std::string> string_of_length(int64_t n);
    std::optional<Bytes> bytes_of_length(int64_t n);
    int32_t checked_count(int64_t n, size_t min_element_size) {
        const size_t per = min_element_size == 0 ? 1 : min_element_size;
        if (n >= 0 && static_cast<uint64_t>(n) <= remaining() / per) [[likely]]
            return static_cast<int32_t>(n);
        return bad_count(n);
    }
    int32_t bad_count(int64_t n);
    uint32_t read_uvarint_slow();
    [[noreturn]] void fail_truncated(size_t wanted) const;

    const uint8_t* begin_;
    const uint8_t* pos_;
    const uint8_t* end_;
    std::shared_ptr<const void> owner_;
    const char* field_ = nullptr;
};

} // namespace kafka
