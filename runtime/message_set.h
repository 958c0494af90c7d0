// Legacy message sets (magic 0 and 1), the `records` format before Kafka 0.11, still sent by old
// clients (Produce v0-2) and read by them (Fetch v0-3).  Reading only.
//
// A message set is entries back to back:
//
//   offset int64 | message_size int32 | crc uint32 | magic int8 | attributes int8
//   | timestamp int64 (magic 1 only) | key int32 length + bytes | value int32 length + bytes
//
// message_size counts from crc to the end, so an entry is 12 + message_size bytes, and the magic sits
// at byte 16 as in a v2 batch.  The crc is CRC-32 (IEEE, zlib's crc32) of magic..end.  A message
// with a codec is a wrapper: its value holds a compressed inner message set, exposed here as is.
#pragma once

#include "runtime/bytes.h"
#include "runtime/record_batch.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

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

enum class RecordsFormat : uint8_t {
    undetermined,   // 16 bytes or fewer: empty, or a partial entry with no magic to go by
    message_set,    // magic 0 or 1
    record_batches, // magic 2
};

// The format of a `records` payload, from the magic byte (byte 16) of its first entry.  Throws
// DecodeError(invalid_value) for any other magic.
RecordsFormat records_format(std::span<const uint8_t> records);

} // namespace kafka
