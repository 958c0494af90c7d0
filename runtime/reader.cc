#include "runtime/reader.h"

#include <string>

namespace kafka {

std::string_view to_string(DecodeErrc c) {
    switch (c) {
    case DecodeErrc::truncated: return "truncated";
    case DecodeErrc::negative_length: return "negative length";
    case DecodeErrc::length_beyond_remaining: return "length beyond the remaining bytes";
    case DecodeErrc::varint_too_long: return "varint too long";
    case DecodeErrc::string_too_long: return "string over 32767 bytes";
    case DecodeErrc::null_not_allowed: return "null not allowed";
    case DecodeErrc::invalid_value: return "invalid value";
    }
    return "unknown";
}

void Reader::fail(DecodeErrc code, const std::string& detail) const {
    std::string msg(to_string(code));
    msg += ": ";
    msg += detail;
    msg += " at offset " + std::to_string(position());
    if (field_ != nullptr) {
        msg += " (field ";
        msg += field_;
        msg += ")";
    }
    throw DecodeError(code, msg);
}

void Reader::fail_truncated(size_t wanted) const {
    fail(DecodeErrc::truncated,
         "needed " + std::to_string(wanted) + " bytes, " + std::to_string(remaining()) + " left");
}

Uuid Reader::read_uuid() {
    Uuid u;
    std::memcpy(u.bytes.data(), take(16), 16);
    return u;
}

uint32_t Reader::read_uvarint_slow() {
    uint32_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        uint8_t b = *take(1);
        if (shift == 28 && (b & 0xf0) != 0) fail(DecodeErrc::varint_too_long, "varint exceeds 32 bits");
        v |= static_cast<uint32_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) return v;
    }
    fail(DecodeErrc::varint_too_long, "varint longer than 5 bytes");
}

uint64_t Reader::read_uvarlong() {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b = *take(1);
        if (shift == 63 && (b & 0xfe) != 0) fail(DecodeErrc::varint_too_long, "varlong exceeds 64 bits");
        v |= static_cast<uint64_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) return v;
    }
    fail(DecodeErrc::varint_too_long, "varlong longer than 10 bytes");
}

std::optional<std::string> Reader::string_of_length(int64_t n) {
    if (n == -1) return std::nullopt;
    if (n < -1) fail(DecodeErrc::negative_length, "string length " + std::to_string(n));
    if (n > 0x7fff) fail(DecodeErrc::string_too_long, "string length " + std::to_string(n));
    if (static_cast<uint64_t>(n) > remaining())
        fail(DecodeErrc::length_beyond_remaining,
             "string length " + std::to_string(n) + ", " + std::to_string(remaining()) + " bytes left");
    const uint8_t* p = take(static_cast<size_t>(n));
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

std::optional<Bytes> Reader::bytes_of_length(int64_t n) {
    if (n == -1) return std::nullopt;
    if (n < -1) fail(DecodeErrc::negative_length, "bytes length " + std::to_string(n));
    if (static_cast<uint64_t>(n) > remaining())
        fail(DecodeErrc::length_beyond_remaining,
             "bytes length " + std::to_string(n) + ", " + std::to_string(remaining()) + " bytes left");
    return read_raw(static_cast<size_t>(n));
}

int32_t Reader::bad_count(int64_t n) {
    if (n == -1) return -1;
    if (n < -1) fail(DecodeErrc::negative_length, "array length " + std::to_string(n));
    fail(DecodeErrc::length_beyond_remaining,
         "array of " + std::to_string(n) + " elements, " + std::to_string(remaining()) + " bytes left");
}

} // namespace kafka
