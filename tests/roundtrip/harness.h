// The round-trip check every generated message goes through (Kafka's MessageTest, done for every
// message x version): fill every field present at the version with pseudo-random values, unknown
// tagged fields included where the version is flexible; then
//   size(version) == bytes encode() wrote == bytes decode() read,
//   decoded == original, re-encoding the decoded message gives the same bytes,
//   and the encoding cut short at every byte offset fails to decode with a DecodeError.
#pragma once

#include "generated/testing/registry.h"
#include "runtime/reader.h"
#include "runtime/writer.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace kafka::testing {

// splitmix64: small, fast and the same everywhere, so a seed replays a failure.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}

    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    bool one_in(uint32_t n) { return next() % n == 0; }
    size_t count() { return static_cast<size_t>(next() % 4); }

    bool boolean() { return (next() & 1) != 0; }
    int8_t int8() { return static_cast<int8_t>(next()); }
    int16_t int16() { return static_cast<int16_t>(next()); }
    uint16_t uint16() { return static_cast<uint16_t>(next()); }
    int32_t int32() { return static_cast<int32_t>(next()); }
    uint32_t uint32() { return static_cast<uint32_t>(next()); }
    int64_t int64() { return static_cast<int64_t>(next()); }
    double float64() { return static_cast<double>(static_cast<int64_t>(next() >> 11)) / 1024.0; }
    Uuid uuid() {
        Uuid u;
        for (auto& b : u.bytes) b = static_cast<uint8_t>(next());
        return u;
    }
    std::string string() {
        std::string s(next() % 12, ' ');
        for (char& c : s) c = static_cast<char>('a' + next() % 26);
        return s;
    }
    Bytes bytes() {
        std::vector<uint8_t> b(next() % 24);
        for (auto& x : b) x = static_cast<uint8_t>(next());
        return Bytes::copy_of(b);
    }
    // Adds 0-2 unknown tagged fields whose tags the struct does not know, in tag order.
    void unknown_tagged_fields(TaggedFields& out, std::initializer_list<int> known) {
        out.clear();
        size_t n = next() % 3;
        uint32_t tag = static_cast<uint32_t>(next() % 4);
        for (size_t i = 0; i < n; ++i, tag += 1 + static_cast<uint32_t>(next() % 3)) {
            while (std::find(known.begin(), known.end(), static_cast<int>(tag)) != known.end()) ++tag;
            out.push_back({tag, bytes()});
        }
    }

private:
    uint64_t state_;
};

template<typename T>
std::string describe(const T& m) {
    std::ostringstream os;
    os << m;
    return os.str();
}

template<typename T>
std::vector<uint8_t> random_encoding(int16_t version, uint64_t seed) {
    T m;
    Rng rng(seed);
    fill(m, version, rng);
    Writer w;
    m.encode(w, version);
    return w.flatten();
}

template<typename T>
std::string check_round_trip(int16_t version, uint64_t seed, size_t& bytes_out) {
    T original;
    Rng rng(seed);
    fill(original, version, rng);
    const size_t expected = original.size(version);
    Writer w;
    original.encode(w, version);
    const std::vector<uint8_t> bytes = w.flatten();
    bytes_out = bytes.size();
    if (bytes.size() != expected)
        return "size() is " + std::to_string(expected) + " but encode wrote " + std::to_string(bytes.size());

    auto frame = std::make_shared<std::vector<uint8_t>>(bytes);
    Reader r(frame->data(), frame->size(), frame);
    T decoded;
    decoded.decode(r, version);
    if (!r.at_end()) return "decode left " + std::to_string(r.remaining()) + " bytes unread";
    if (!(decoded == original))
        return "decoded message differs:\n  wrote " + describe(original) + "\n  read  " + describe(decoded);
    Writer again;
    decoded.encode(again, version);
    if (again.flatten() != bytes) return "re-encoding the decoded message gave different bytes";

    for (size_t cut = 0; cut < bytes.size(); ++cut) {
        Reader truncated(bytes.data(), cut);
        T t;
        try {
            t.decode(truncated, version);
        } catch (const DecodeError&) {
            continue;
        }
        return "decoding the first " + std::to_string(cut) + " of " + std::to_string(bytes.size()) +
               " bytes did not fail";
    }
    return "";
}

} // namespace kafka::testing
