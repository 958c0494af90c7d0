// Legacy message sets (magic 0 and 1), the `records` format before Kafka 0.11, still sent by old
// clients (Produce v0-2) and read by them (Fetch v0-3): reading (with the inner messages of
// compressed wrappers), writing, and conversion of stored v2 batches down for old consumers.
//
// A message set is entries back to back:
//
//   offset int64 | message_size int32 | crc uint32 | magic int8 | attributes int8
//   | timestamp int64 (magic 1 only) | key int32 length + bytes | value int32 length + bytes
//
// message_size counts from crc to the end, so an entry is 12 + message_size bytes, and the magic sits
// at byte 16 as in a v2 batch.  The crc is CRC-32 (IEEE, zlib's crc32) of magic..end.  A message
// with a codec is a wrapper: its value holds a compressed inner message set, which MessageSetReader
// exposes as is and inner_messages() opens.  Offsets of inner messages: absolute in magic 0;
// relative (0, 1, ...) in magic 1, where the wrapper carries the absolute offset of the last one.
#pragma once

#include "runtime/bytes.h"
#include "runtime/record_batch.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace kafka {

struct LegacyMessage {
    int64_t offset = 0;
    int8_t magic = 0;
    int8_t attributes = 0;
    int64_t timestamp = -1; // magic 1 only; -1 (Kafka's "no timestamp") in magic 0
    std::optional<Bytes> key;
    std::optional<Bytes> value; // for a wrapper, the compressed inner message set
    Bytes bytes;                // the whole entry, from its offset field on

    CompressionCodec compression() const { return static_cast<CompressionCodec>(attributes & 7); }
    // Magic 0 has no timestamps; Kafka reports them as create time.
    TimestampType timestamp_type() const {
        return magic >= 1 && (attributes & 0x08) != 0 ? TimestampType::log_append_time : TimestampType::create_time;
    }
};

// Iterates the messages of a message set without copying; each message's CRC is checked as it is
// read (unlike RecordBatchReader, which leaves that to validate_record_batch: a legacy message has to
// be parsed whole to be of any use, and it is small).
class MessageSetReader {
public:
    MessageSetReader(Bytes message_set, PartialTail on_partial) : set_(std::move(message_set)), on_partial_(on_partial) {}

    // The next message, or nothing at the end or (with PartialTail::stop) at an incomplete last
    // entry.  Throws DecodeError for a bad entry, and for an incomplete one with PartialTail::reject.
    std::optional<LegacyMessage> next();

    // Bytes of the incomplete entry next() stopped at; 0 when the set ended cleanly.
    size_t partial_tail_size() const { return partial_tail_size_; }

private:
    Bytes set_;
    PartialTail on_partial_;
    size_t position_ = 0;
    size_t partial_tail_size_ = 0;
};

// The messages inside a compressed wrapper, with absolute offsets (magic 1: the wrapper's offset
// minus the last inner offset, plus each inner offset, as Kafka computes them) and, when the wrapper
// says log_append_time, the wrapper's timestamp.  The value is decompressed into at most
// max_decompressed_size bytes.  Throws DecodeError (CompressionError for the codec's complaints)
// for a bad inner set and for an inner message that is itself compressed (Kafka forbids nesting).
std::vector<LegacyMessage> inner_messages(const LegacyMessage& wrapper, size_t max_decompressed_size);

// Writes a legacy message set of one magic (0 or 1).  Keys and values are kept as views until build.
class MessageSetBuilder {
public:
    explicit MessageSetBuilder(int8_t magic);

    // `attributes` only for the timestamp type bit (0x08, magic 1); the codec bits are build's.
    void append(int64_t offset, int64_t timestamp, const std::optional<Bytes>& key, const std::optional<Bytes>& value,
                int8_t attributes = 0);
    bool empty() const { return messages_.empty(); }
    size_t count() const { return messages_.size(); }
    // Bytes build() would write.
    size_t size() const { return size_; }

    // The messages one after another, uncompressed.
    Bytes build() const;
    // The messages compressed into one wrapper message, as old producers send them: the wrapper's
    // offset is the last message's, and in magic 1 the inner offsets become relative (0, 1, ...) and
    // the wrapper's timestamp is the largest inner one.  Magic 0 lz4 gets Kafka's old, broken
    // header checksum, as 0.8-0.10 clients wrote it.
    Bytes build_compressed(CompressionCodec codec) const;

private:
    struct Message {
        int64_t offset;
        int64_t timestamp;
        int8_t attributes;
        std::optional<Bytes> key;
        std::optional<Bytes> value;
    };
    int8_t magic_;
    std::vector<Message> messages_;
    size_t size_ = 0;
};

// Stored v2 batches (a storage read, starting with the batch that holds fetch_offset) as a legacy
// message set of `magic` for Fetch v0-3, as Kafka down-converts for old consumers: one uncompressed
// message per record at or after fetch_offset, with its absolute offset, key and value (and its
// timestamp in magic 1; batches with log_append_time mark their messages so).  Compressed batches
// are decompressed (at most max_decompressed_size per batch) and their records sent uncompressed:
// re-compressing would cost CPU for consumers that are rare, and old clients could not read zstd
// nor, before 0.10, lz4 with a correct header checksum.  Headers are dropped (the formats have none)
// and control batches skipped.  Stops before a message that would take the set past max_bytes, but
// always includes the first message, however large, so the consumer makes progress.  An incomplete
// batch at the end of `batches` is ignored.
struct DownConverted {
    Bytes messages;
    int64_t next_offset = -1;   // after the last message written; -1 when none was
};
DownConverted down_convert(const Bytes& batches, int8_t magic, int64_t fetch_offset, size_t max_bytes,
                           size_t max_decompressed_size);

enum class RecordsFormat : uint8_t {
    undetermined,   // 16 bytes or fewer: empty, or a partial entry with no magic to go by
    message_set,    // magic 0 or 1
    record_batches, // magic 2
};

// The format of a `records` payload, from the magic byte (byte 16) of its first entry.  Throws
// DecodeError(invalid_value) for any other magic.
RecordsFormat records_format(std::span<const uint8_t> records);

} // namespace kafka
