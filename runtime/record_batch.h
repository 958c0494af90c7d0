// Kafka record batches (magic 2, the `records` format since Kafka 0.11).
//
// A `records` field holds batches back to back.  Each batch is a 61-byte header followed by its
// records, compressed as a whole when the attributes name a codec:
//
//   offset  field                   covered by the CRC
//        0  base_offset int64        no (the broker assigns it on append)
//        8  batch_length int32       no (bytes after this field: total size = 12 + batch_length)
//       12  partition_leader_epoch   no (the broker stamps it on append)
//       16  magic int8               no
//       17  crc uint32               -- CRC-32C of everything from offset 21 to the end
//       21  attributes int16         yes, and all that follows
//       23  last_offset_delta int32
//       27  base_timestamp int64
//       35  max_timestamp int64
//       43  producer_id int64
//       51  producer_epoch int16
//       53  base_sequence int32
//       57  records_count int32
//       61  records
//
// Compressed batches: decode_records(batch, max_decompressed_size) decompresses the payload
// (runtime/compression.h) and RecordBatchBuilder compresses when its attributes name a codec.
#pragma once

#include "runtime/bytes.h"
#include "runtime/codec_error.h"
#include "runtime/writer.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace kafka {

// attributes & 7, in v2 batches and legacy messages alike (zstd only in v2).
enum class CompressionCodec : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
std::string_view to_string(CompressionCodec);

// attributes bit 3.  With log_append_time every record's timestamp is the batch's max_timestamp.
enum class TimestampType : uint8_t { create_time = 0, log_append_time = 1 };

// What a reader of concatenated batches (or legacy messages) does with an incomplete one at the end
// of the buffer.  A Fetch response may end with one, cut by the broker at max_bytes, and consumers
// drop it; a Produce request never legitimately does.
enum class PartialTail : uint8_t { stop, reject };

namespace batch_offset {
inline constexpr size_t base_offset = 0;
inline constexpr size_t batch_length = 8;
inline constexpr size_t partition_leader_epoch = 12;
inline constexpr size_t magic = 16;
inline constexpr size_t crc = 17;
inline constexpr size_t attributes = 21;
inline constexpr size_t last_offset_delta = 23;
inline constexpr size_t base_timestamp = 27;
inline constexpr size_t max_timestamp = 35;
inline constexpr size_t producer_id = 43;
inline constexpr size_t producer_epoch = 51;
inline constexpr size_t base_sequence = 53;
inline constexpr size_t records_count = 57;
inline constexpr size_t records = 61;
} // namespace batch_offset

struct Record;

struct RecordBatchHeader {
    // Bytes before the first record; also the smallest possible batch.
    static constexpr size_t size = batch_offset::records;
    // batch_length counts from partition_leader_epoch on.
    static constexpr size_t bytes_before_partition_leader_epoch = batch_offset::partition_leader_epoch;

    int64_t base_offset = 0;
    int32_t batch_length = 0;
    int32_t partition_leader_epoch = -1;
    int8_t magic = 2;
    uint32_t crc = 0;
    int16_t attributes = 0;
    int32_t last_offset_delta = 0;
    int64_t base_timestamp = -1; // with has_delete_horizon(), the delete horizon instead
    int64_t max_timestamp = -1;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    int32_t records_count = 0;

    CompressionCodec compression() const { return static_cast<CompressionCodec>(attributes & 7); }
    TimestampType timestamp_type() const { return static_cast<TimestampType>((attributes >> 3) & 1); }
    bool is_transactional() const { return (attributes & 0x10) != 0; }
    bool is_control() const { return (attributes & 0x20) != 0; }
    bool has_delete_horizon() const { return (attributes & 0x40) != 0; }

    // The whole batch in bytes, header included.
    size_t total_size() const { return bytes_before_partition_leader_epoch + static_cast<size_t>(batch_length); }
    int64_t last_offset() const { return wrapping_add(base_offset, last_offset_delta); }

    // A record's absolute offset and timestamp, as Kafka computes them (wrapping like Java's longs
    // on hostile values rather than overflowing).
    int64_t offset_of(const Record& r) const;
    int64_t timestamp_of(const Record& r) const;

    friend bool operator==(const RecordBatchHeader&, const RecordBatchHeader&) = default;

private:
    static int64_t wrapping_add(int64_t a, int64_t b) {
        return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
    }
};

struct RecordHeader {
    Bytes key; // a UTF-8 string on the wire, never null
    std::optional<Bytes> value;

    friend bool operator==(const RecordHeader&, const RecordHeader&) = default;
};

// One record of a batch, as on the wire: offset and timestamp are deltas from the batch header's.
// Keys and values are views into the batch's buffer.
struct Record {
    int8_t attributes = 0; // unused by Kafka so far; kept so records re-encode unchanged
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    std::optional<Bytes> key;
    std::optional<Bytes> value;
    std::vector<RecordHeader> headers;

    friend bool operator==(const Record&, const Record&) = default;
};

inline int64_t RecordBatchHeader::offset_of(const Record& r) const { return wrapping_add(base_offset, r.offset_delta); }
inline int64_t RecordBatchHeader::timestamp_of(const Record& r) const {
    return timestamp_type() == TimestampType::log_append_time ? max_timestamp
                                                              : wrapping_add(base_timestamp, r.timestamp_delta);
}

// Reads the 61-byte header at the front of `bytes` (more may follow).  Checks only what the header
// alone can show: enough bytes, magic 2, a batch_length no smaller than the header.
RecordBatchHeader parse_record_batch_header(std::span<const uint8_t> bytes);

// Checks that `batch` is exactly one sound batch and returns its header: the size agrees with
// batch_length, the CRC matches, the codec is known, records_count and last_offset_delta are
// possible.  Throws DecodeError otherwise.  Records themselves are not looked at (they may be
// compressed); decode_records() checks their framing.
RecordBatchHeader validate_record_batch(std::span<const uint8_t> batch);

// A batch found in a `records` buffer: its header and its bytes (header included), a view sharing
// the buffer's owner.  Not yet validated.
struct RecordBatch {
    RecordBatchHeader header;
    Bytes bytes;

    // The bytes after the header: the records, or their compressed form when
    // header.compression() != none.
    Bytes records_payload() const { return bytes.slice(RecordBatchHeader::size, bytes.size() - RecordBatchHeader::size); }
};

// Splits a `records` buffer into its batches without copying.
//
//     RecordBatchReader batches(records, PartialTail::stop);
//     while (std::optional<RecordBatch> b = batches.next()) ...
//
// Each batch's header is parsed (so a bad magic or a batch_length below the header size throws) but
// its CRC is not checked: call validate_record_batch() where that matters (Produce).
class RecordBatchReader {
public:
    RecordBatchReader(Bytes records, PartialTail on_partial) : records_(std::move(records)), on_partial_(on_partial) {}

    // The next whole batch, or nothing at the end of the buffer or (with PartialTail::stop) at an
    // incomplete last batch.  With PartialTail::reject an incomplete batch throws DecodeError(truncated).
    std::optional<RecordBatch> next();

    // Bytes of the incomplete batch next() stopped at; 0 when the buffer ended cleanly.
    size_t partial_tail_size() const { return partial_tail_size_; }

private:
    Bytes records_;
    PartialTail on_partial_;
    size_t position_ = 0;
    size_t partial_tail_size_ = 0;
};

// The records of one uncompressed batch (`batch` holds exactly that batch, as RecordBatch::bytes
// does).  Throws DecodeError for a compressed batch, a record that overruns or underruns its length,
// a records_count that disagrees with the records present, or bytes after the last record.  The CRC
// is not checked here.
std::vector<Record> decode_records(const Bytes& batch);

// The same for any batch, compressed or not: a compressed payload is decompressed first (at most
// max_decompressed_size bytes, CompressionError otherwise) and the records view that new buffer.
std::vector<Record> decode_records(const Bytes& batch, size_t max_decompressed_size);

// Batch-level fields for RecordBatchBuilder; lengths, deltas, timestamps, count and CRC are computed.
struct RecordBatchFields {
    int64_t base_offset = 0;
    int32_t partition_leader_epoch = -1;
    int16_t attributes = 0; // the codec bits (attributes & 7) compress the records with that codec
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
};

// Writes one v2 batch, compressed when fields.attributes name a codec.  Records get consecutive offset deltas 0, 1, 2, ...; the first
// record's timestamp becomes base_timestamp and the largest one max_timestamp (both -1 when empty).
// Records are encoded as they are appended; keys and values are copied, so their buffers may go.
class RecordBatchBuilder {
public:
    explicit RecordBatchBuilder(const RecordBatchFields& fields);

    void append(int64_t timestamp, const std::optional<Bytes>& key, const std::optional<Bytes>& value,
                const std::vector<RecordHeader>& headers = {});
    int32_t record_count() const { return record_count_; }
    // Room for about this many bytes of encoded records, taken at once (a hint).
    void reserve(size_t record_bytes) { records_.reserve(record_bytes); }

    // The finished batch in a buffer of its own.  The builder can be appended to and built again.
    Bytes build() const;

private:
    RecordBatchFields fields_;
    Writer records_; // encoded records so far
    int32_t record_count_ = 0;
    int64_t base_timestamp_ = -1;
    int64_t max_timestamp_ = -1;
};

// Rewrite fields the CRC does not cover, in place, as a broker does on append.  `batch` must hold at
// least a whole header (DecodeError otherwise).
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch);

} // namespace kafka
