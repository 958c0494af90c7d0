#include "runtime/message_set.h"

#include "runtime/compression.h"
#include "runtime/reader.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

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

size_t nullable_size(const std::optional<Bytes>& b) { return 4 + (b ? b->size() : 0); }

// The bytes of one entry with this key and value, offset and message_size included.
size_t entry_size(int8_t magic, const std::optional<Bytes>& key, const std::optional<Bytes>& value) {
    return bytes_before_crc + static_cast<size_t>(magic == 0 ? min_message_size_v0 : min_message_size_v1) - 8 +
           nullable_size(key) + nullable_size(value);
}

void put_be(std::vector<uint8_t>& out, uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * (width - 1 - i))));
}

void put_nullable(std::vector<uint8_t>& out, const std::optional<Bytes>& b) {
    if (!b) {
        put_be(out, static_cast<uint32_t>(-1), 4);
        return;
    }
    if (b->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        throw EncodeError("a key or value of " + std::to_string(b->size()) + " bytes is too large for a message");
    put_be(out, b->size(), 4);
    out.insert(out.end(), b->data(), b->data() + b->size());
}

void write_message(std::vector<uint8_t>& out, int8_t magic, int64_t offset, int8_t attributes, int64_t timestamp,
                   const std::optional<Bytes>& key, const std::optional<Bytes>& value) {
    const size_t start = out.size();
    const size_t size = entry_size(magic, key, value);
    if (size - bytes_before_crc > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        throw EncodeError("message of " + std::to_string(size) + " bytes is too large");
    put_be(out, static_cast<uint64_t>(offset), 8);
    put_be(out, size - bytes_before_crc, 4);
    put_be(out, 0, 4); // the CRC, below
    out.push_back(static_cast<uint8_t>(magic));
    out.push_back(static_cast<uint8_t>(attributes));
    if (magic >= 1) put_be(out, static_cast<uint64_t>(timestamp), 8);
    put_nullable(out, key);
    put_nullable(out, value);
    const uint32_t crc = crc32_ieee(out.data() + start + magic_offset, size - magic_offset);
    for (size_t i = 0; i < 4; ++i) out[start + 12 + i] = static_cast<uint8_t>(crc >> (8 * (3 - i)));
}

Bytes owned(std::vector<uint8_t> v) {
    auto buffer = std::make_shared<std::vector<uint8_t>>(std::move(v));
    const uint8_t* data = buffer->data();
    const size_t size = buffer->size();
    return Bytes(std::move(buffer), data, size);
}

} // namespace

std::vector<LegacyMessage> inner_messages(const LegacyMessage& wrapper, size_t max_decompressed_size) {
    if (wrapper.compression() == CompressionCodec::none) fail(DecodeErrc::invalid_value, "not a compressed wrapper message");
    if (!wrapper.value) fail(DecodeErrc::null_not_allowed, "compressed wrapper message without a value");
    Bytes inner = decompress(wrapper.compression(), wrapper.value->span(), max_decompressed_size,
                             wrapper.magic == 0 ? Lz4Framing::kafka_magic_v0 : Lz4Framing::standard);
    std::vector<LegacyMessage> messages;
    MessageSetReader reader(inner, PartialTail::reject);
    try {
        while (std::optional<LegacyMessage> m = reader.next()) {
            if (m->compression() != CompressionCodec::none)
                fail(DecodeErrc::invalid_value, "a compressed message inside a compressed message");
            messages.push_back(std::move(*m));
        }
    } catch (const CompressionError&) {
        throw;
    } catch (const DecodeError& e) {
        throw DecodeError(e.code(), std::string("inside the ") + std::string(to_string(wrapper.compression())) +
                                        " wrapper: " + e.what());
    }
    if (wrapper.magic >= 1 && !messages.empty()) {
        // Wrapping like Java's longs on hostile offsets.
        const uint64_t base = static_cast<uint64_t>(wrapper.offset) - static_cast<uint64_t>(messages.back().offset);
        for (LegacyMessage& m : messages) m.offset = static_cast<int64_t>(base + static_cast<uint64_t>(m.offset));
        if (wrapper.timestamp_type() == TimestampType::log_append_time)
            for (LegacyMessage& m : messages) {
                m.timestamp = wrapper.timestamp;
                m.attributes |= 0x08;
            }
    }
    return messages;
}

MessageSetBuilder::MessageSetBuilder(int8_t magic) : magic_(magic) {
    if (magic != 0 && magic != 1) throw EncodeError("a message set has magic 0 or 1, not " + std::to_string(magic));
}

void MessageSetBuilder::append(int64_t offset, int64_t timestamp, const std::optional<Bytes>& key,
                               const std::optional<Bytes>& value, int8_t attributes) {
    messages_.push_back({offset, magic_ == 0 ? -1 : timestamp, static_cast<int8_t>(magic_ == 0 ? 0 : attributes & 0x08),
                         key, value});
    size_ += entry_size(magic_, key, value);
}

Bytes MessageSetBuilder::build() const {
    std::vector<uint8_t> out;
    out.reserve(size_);
    for (const Message& m : messages_) write_message(out, magic_, m.offset, m.attributes, m.timestamp, m.key, m.value);
    return owned(std::move(out));
}

Bytes MessageSetBuilder::build_compressed(CompressionCodec codec) const {
    if (messages_.empty()) throw EncodeError("a compressed wrapper needs at least one message");
    if (codec == CompressionCodec::none || codec == CompressionCodec::zstd)
        throw EncodeError("a legacy wrapper message cannot use " + std::string(to_string(codec)));
    std::vector<uint8_t> inner;
    inner.reserve(size_);
    int64_t max_timestamp = -1;
    for (const Message& m : messages_) {
        const int64_t offset = magic_ == 0 ? m.offset : m.offset - messages_.front().offset;
        write_message(inner, magic_, offset, 0, m.timestamp, m.key, m.value);
        max_timestamp = std::max(max_timestamp, m.timestamp);
    }
    Bytes value = compress(codec, inner, magic_ == 0 ? Lz4Framing::kafka_magic_v0 : Lz4Framing::standard);
    std::vector<uint8_t> out;
    write_message(out, magic_, messages_.back().offset, static_cast<int8_t>(codec), max_timestamp, std::nullopt, value);
    return owned(std::move(out));
}

DownConverted down_convert(const Bytes& batches, int8_t magic, int64_t fetch_offset, size_t max_bytes,
                           size_t max_decompressed_size) {
    MessageSetBuilder out(magic);
    DownConverted result;
    RecordBatchReader reader(batches, PartialTail::stop);
    bool full = false;
    while (!full) {
        std::optional<RecordBatch> batch = reader.next();
        if (!batch) break;
        const RecordBatchHeader& h = batch->header;
        if (h.is_control() || h.last_offset() < fetch_offset) continue;
        const int8_t attributes = magic >= 1 && h.timestamp_type() == TimestampType::log_append_time ? 0x08 : 0;
        for (const Record& r : decode_records(batch->bytes, max_decompressed_size)) {
            const int64_t offset = h.offset_of(r);
            if (offset < fetch_offset) continue;
            if (!out.empty() && out.size() + entry_size(magic, r.key, r.value) > max_bytes) {
                full = true;
                break;
            }
            out.append(offset, h.timestamp_of(r), r.key, r.value, attributes);
            result.next_offset = offset + 1;
        }
    }
    result.messages = out.build();
    return result;
}

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
