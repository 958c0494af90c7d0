// Small helpers shared by the byte-level unit tests: hex fixtures, Bytes from vectors and text, and
// catching the DecodeError a call must throw.
#pragma once

#include "runtime/bytes.h"
#include "runtime/codec_error.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kafka::test {

using ByteVector = std::vector<uint8_t>;

inline ByteVector from_hex(std::string_view hex) {
    ByteVector out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

inline Bytes bytes_of(const ByteVector& v) { return Bytes::copy_of(std::span<const uint8_t>(v)); }
inline Bytes text(std::string_view s) { return Bytes::copy_of(s); }
inline ByteVector vector_of(const Bytes& b) { return ByteVector(b.data(), b.data() + b.size()); }

// The DecodeError f throws; a test failure (and an invalid_value placeholder) when it throws none.
inline DecodeError decode_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const DecodeError& e) {
        return e;
    }
    ADD_FAILURE() << "no DecodeError thrown";
    return DecodeError(DecodeErrc::invalid_value, "<none>");
}

inline bool mentions(const DecodeError& e, std::string_view s) {
    return std::string_view(e.what()).find(s) != std::string_view::npos;
}

} // namespace kafka::test
