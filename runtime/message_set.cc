#include "runtime/message_set.h"

#include "runtime/reader.h"

#include <zlib.h>

#include <string>

namespace kafka {
namespace {

constexpr size_t message_size_offset = 8;
constexpr size_t magic_offset = 16;
constexpr size_t bytes_before_crc = 12; // offset and message_size; message_size counts the rest
// crc, magic, attributes, [timestamp], key length, value length.
constexpr int32_t min_message_size_v0 = 4 + 1 + 1 + 4 + 4;
constexpr int32_t min_message_size_v1 = min_message_size_v0 + 8;

[[noreturn]] void fail(DecodeErrc code, const std::string& detail) {
    std::string message(to_string(code));
    message += ": ";
    message += detail;
    throw DecodeError(code, message);
}

uint32_t crc32_ieee(const uint8_t* p, size_t n) { return static_cast<uint32_t>(crc32_z(0, p, n)); }

// Reads one whole entry; `entry` is exactly 12 + message_size bytes.
LegacyMessage parse_message(const Bytes& entry) {
    Reader r(entry);
    LegacyMessage m;
    m.bytes = entry;
    m.offset = r.at("offset").read_int64();
    int32_t message_size = r.at("message_size").read_int32();
    uint32_t stored_crc = r.at("crc").read_uint32();
    uint32_t actual_crc = crc32_ieee(entry.data() + magic_offset, entry.size() - magic_offset);
    if (stored_crc != actual_crc)
        fail(DecodeErrc::invalid_value, "CRC mismatch: the message says " + std::to_string(stored_crc) +
                                            ", the bytes give " + std::to_string(actual_crc));
    m.magic = r.at("magic").read_int8();
    m.attributes = r.at("attributes").read_int8();
    if (m.magic == 1) m.timestamp = r.at("timestamp").read_int64();
    m.key = r.at("key").read_nullable_bytes();
    m.value = r.at("value").read_nullable_bytes();
    if (!r.at_end())
        fail(DecodeErrc::invalid_value, "message_size " + std::to_string(message_size) + " but the fields end after " +
                                            std::to_string(r.position() - bytes_before_crc) + " bytes");
    // zstd came with magic 2; a legacy message cannot carry it.
    if (m.compression() > CompressionCodec::lz4)
        fail(DecodeErrc::invalid_value, "compression codec " + std::to_string(m.attributes & 7) + " in a magic " +
                                            std::to_string(m.magic) + " message");
    return m;
}

} // namespace

std::optional<LegacyMessage> MessageSetReader::next() {
    if (position_ == set_.size()) return std::nullopt;
    const size_t left = set_.size() - position_;
    const uint8_t* p = set_.data() + position_;
    auto where = [&] { return "message at byte " + std::to_string(position_) + " of the message set"; };

    size_t needed = magic_offset + 1; // enough to know the length and the magic
    if (left >= needed) {
        auto magic = static_cast<int8_t>(p[magic_offset]);
        if (magic != 0 && magic != 1)
            fail(DecodeErrc::invalid_value, where() + ": magic " + std::to_string(magic) +
                                                (magic == 2 ? ", a v2 record batch" : "") + " in a legacy message set");
        int32_t message_size = Reader(p + message_size_offset, 4).read_int32();
        int32_t min_size = magic == 0 ? min_message_size_v0 : min_message_size_v1;
        if (message_size < min_size)
            fail(DecodeErrc::invalid_value, where() + ": message_size " + std::to_string(message_size) +
                                                " is below the " + std::to_string(min_size) + " bytes of a magic " +
                                                std::to_string(magic) + " message");
        needed = bytes_before_crc + static_cast<size_t>(message_size);
    }
    if (needed > left) {
        if (on_partial_ == PartialTail::reject)
            fail(DecodeErrc::truncated, "incomplete " + where() + ": needs " + std::to_string(needed) + " bytes, " +
                                            std::to_string(left) + " left");
        partial_tail_size_ = left;
        position_ = set_.size();
        return std::nullopt;
    }

    try {
        LegacyMessage m = parse_message(set_.slice(position_, needed));
        position_ += needed;
        return m;
    } catch (const DecodeError& e) {
        throw DecodeError(e.code(), where() + ": " + e.what());
    }
}

RecordsFormat records_format(std::span<const uint8_t> records) {
    if (records.size() <= magic_offset) return RecordsFormat::undetermined;
    auto magic = static_cast<int8_t>(records[magic_offset]);
    switch (magic) {
    case 0:
    case 1: return RecordsFormat::message_set;
    case 2: return RecordsFormat::record_batches;
    }
    fail(DecodeErrc::invalid_value, "magic " + std::to_string(magic) +
                                        " at byte 16 of the records: neither a message set (0, 1) nor a record batch (2)");
}

} // namespace kafka
