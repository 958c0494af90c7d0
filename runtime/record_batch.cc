#include "runtime/record_batch.h"

#include "runtime/compression.h"
#include "runtime/crc32c.h"
#include "runtime/reader.h"
#include "runtime/writer.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <utility>

namespace kafka {
namespace {

// The smallest encoded record: length, attributes, timestamp delta, offset delta, key length, value
// length and header count, one byte each.
constexpr size_t min_record_size = 7;
// batch_length of a batch with no records.
constexpr int32_t min_batch_length = static_cast<int32_t>(RecordBatchHeader::size - batch_offset::partition_leader_epoch);

[[noreturn]] void fail(DecodeErrc code, const std::string& detail) {
    std::string message(to_string(code));
    message += ": ";
    message += detail;
    throw DecodeError(code, message);
}

// The same error with where it happened in front, for errors raised by code that knew less.
[[noreturn]] void rethrow_with_context(const DecodeError& e, const std::string& where) {
    throw DecodeError(e.code(), where + ": " + e.what());
}

std::string hex32(uint32_t v) {
    char buf[11];
    std::snprintf(buf, sizeof buf, "0x%08" PRIx32, v);
    return buf;
}

void check_magic(int8_t magic) {
    if (magic == 2) return;
    std::string detail = "magic " + std::to_string(magic) + " at byte 16: not a v2 record batch";
    if (magic == 0 || magic == 1) detail += " (a legacy message set)";
    fail(DecodeErrc::invalid_value, detail);
}

void check_size_matches(const RecordBatchHeader& h, size_t size) {
    if (size == h.total_size()) return;
    fail(size < h.total_size() ? DecodeErrc::truncated : DecodeErrc::invalid_value,
         "batch_length " + std::to_string(h.batch_length) + " means a batch of " + std::to_string(h.total_size()) +
             " bytes, have " + std::to_string(size));
}

std::optional<Bytes> read_varint_sized(Reader& r, const char* length_field) {
    int32_t n = r.at(length_field).read_varint();
    if (n == -1) return std::nullopt;
    if (n < -1) r.fail(DecodeErrc::negative_length, "length " + std::to_string(n));
    if (static_cast<size_t>(n) > r.remaining())
        r.fail(DecodeErrc::length_beyond_remaining,
               "length " + std::to_string(n) + ", " + std::to_string(r.remaining()) + " bytes left in the record");
    return r.read_raw(static_cast<size_t>(n));
}

Record read_record(Reader& payload) {
    int32_t length = payload.at("record length").read_varint();
    if (length < 0) payload.fail(DecodeErrc::negative_length, "record length " + std::to_string(length));
    if (static_cast<size_t>(length) > payload.remaining())
        payload.fail(DecodeErrc::length_beyond_remaining, "record length " + std::to_string(length) + ", " +
                                                              std::to_string(payload.remaining()) + " bytes left");
    Reader body = payload.sub_reader(static_cast<size_t>(length));

    Record rec;
    rec.attributes = body.at("record attributes").read_int8();
    rec.timestamp_delta = body.at("timestamp delta").read_varlong();
    rec.offset_delta = body.at("offset delta").read_varint();
    rec.key = read_varint_sized(body, "key length");
    rec.value = read_varint_sized(body, "value length");

    int32_t header_count = body.at("header count").read_varint();
    if (header_count < 0) body.fail(DecodeErrc::negative_length, "header count " + std::to_string(header_count));
    // A header is at least two one-byte lengths.
    if (static_cast<size_t>(header_count) > body.remaining() / 2)
        body.fail(DecodeErrc::length_beyond_remaining, std::to_string(header_count) + " headers in " +
                                                           std::to_string(body.remaining()) + " bytes");
    rec.headers.reserve(static_cast<size_t>(header_count));
    for (int32_t i = 0; i < header_count; ++i) {
        std::optional<Bytes> key = read_varint_sized(body, "header key length");
        if (!key) body.fail(DecodeErrc::null_not_allowed, "null header key");
        rec.headers.push_back({std::move(*key), read_varint_sized(body, "header value length")});
    }
    if (!body.at_end())
        body.at("record length").fail(DecodeErrc::invalid_value,
                                      "record length " + std::to_string(length) + " but its fields end after " +
                                          std::to_string(body.position()) + " bytes");
    return rec;
}

size_t varint_sized_size(const std::optional<Bytes>& b) {
    return b ? varint_size(static_cast<int32_t>(b->size())) + b->size() : varint_size(-1);
}

void write_varint_sized(Writer& w, const std::optional<Bytes>& b) {
    if (!b) {
        w.write_varint(-1);
        return;
    }
    w.write_varint(static_cast<int32_t>(b->size()));
    w.write_raw(b->data(), b->size());
}

void check_fits_varint(const std::optional<Bytes>& b, const char* what) {
    if (b && b->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        throw EncodeError(std::string(what) + " of " + std::to_string(b->size()) + " bytes is too large for a record");
}

void store_be(uint8_t* p, uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (width - 1 - i)));
}

void require_header(size_t size) {
    if (size < RecordBatchHeader::size)
        fail(DecodeErrc::truncated, "a record batch header needs " + std::to_string(RecordBatchHeader::size) +
                                        " bytes, have " + std::to_string(size));
}

} // namespace

std::string_view to_string(CompressionCodec c) {
    switch (c) {
    case CompressionCodec::none: return "none";
    case CompressionCodec::gzip: return "gzip";
    case CompressionCodec::snappy: return "snappy";
    case CompressionCodec::lz4: return "lz4";
    case CompressionCodec::zstd: return "zstd";
    }
    return "unknown codec";
}

RecordBatchHeader parse_record_batch_header(std::span<const uint8_t> bytes) {
    if (bytes.size() > batch_offset::magic) check_magic(static_cast<int8_t>(bytes[batch_offset::magic]));
    require_header(bytes.size());
    Reader r(bytes.data(), RecordBatchHeader::size);
    RecordBatchHeader h;
    h.base_offset = r.read_int64();
    h.batch_length = r.read_int32();
    h.partition_leader_epoch = r.read_int32();
    h.magic = r.read_int8();
    h.crc = r.read_uint32();
    h.attributes = r.read_int16();
    h.last_offset_delta = r.read_int32();
    h.base_timestamp = r.read_int64();
    h.max_timestamp = r.read_int64();
    h.producer_id = r.read_int64();
    h.producer_epoch = r.read_int16();
    h.base_sequence = r.read_int32();
    h.records_count = r.read_int32();
    if (h.batch_length < min_batch_length)
        fail(DecodeErrc::invalid_value, "batch_length " + std::to_string(h.batch_length) + " is below the " +
                                            std::to_string(min_batch_length) + " bytes of header it covers");
    return h;
}

RecordBatchHeader validate_record_batch(std::span<const uint8_t> batch) {
    RecordBatchHeader h = parse_record_batch_header(batch);
    check_size_matches(h, batch.size());

    uint32_t actual = crc32c(batch.data() + batch_offset::attributes, batch.size() - batch_offset::attributes);
    if (actual != h.crc)
        fail(DecodeErrc::invalid_value,
             "CRC mismatch: the header says " + hex32(h.crc) + ", the bytes give " + hex32(actual));

    if ((h.attributes & 7) > static_cast<int>(CompressionCodec::zstd))
        fail(DecodeErrc::invalid_value, "unknown compression codec " + std::to_string(h.attributes & 7));
    if (h.records_count < 0) fail(DecodeErrc::negative_length, "records_count " + std::to_string(h.records_count));
    if (h.last_offset_delta < 0)
        fail(DecodeErrc::invalid_value, "last_offset_delta " + std::to_string(h.last_offset_delta));
    // Compaction may leave fewer records than offsets, never more.
    if (static_cast<int64_t>(h.records_count) > static_cast<int64_t>(h.last_offset_delta) + 1)
        fail(DecodeErrc::invalid_value, "records_count " + std::to_string(h.records_count) + " exceeds the " +
                                            std::to_string(int64_t{h.last_offset_delta} + 1) +
                                            " offsets of last_offset_delta " + std::to_string(h.last_offset_delta));
    if (h.base_offset > std::numeric_limits<int64_t>::max() - h.last_offset_delta)
        fail(DecodeErrc::invalid_value, "base_offset " + std::to_string(h.base_offset) + " + last_offset_delta " +
                                            std::to_string(h.last_offset_delta) + " overflows");
    size_t payload = batch.size() - RecordBatchHeader::size;
    if (h.compression() == CompressionCodec::none && static_cast<size_t>(h.records_count) > payload / min_record_size)
        fail(DecodeErrc::length_beyond_remaining, "records_count " + std::to_string(h.records_count) +
                                                      " cannot fit in " + std::to_string(payload) + " bytes of records");
    return h;
}

std::optional<RecordBatch> RecordBatchReader::next() {
    if (position_ == records_.size()) return std::nullopt;
    const size_t left = records_.size() - position_;
    const uint8_t* p = records_.data() + position_;
    auto where = [&] { return "record batch at byte " + std::to_string(position_) + " of the records"; };

    size_t needed = batch_offset::magic + 1; // enough to know the length and the format
    if (left >= needed) {
        try {
            check_magic(static_cast<int8_t>(p[batch_offset::magic]));
            int32_t batch_length = Reader(p + batch_offset::batch_length, 4).read_int32();
            if (batch_length < min_batch_length)
                fail(DecodeErrc::invalid_value, "batch_length " + std::to_string(batch_length) + " is below the " +
                                                    std::to_string(min_batch_length) + " bytes of header it covers");
            needed = batch_offset::partition_leader_epoch + static_cast<size_t>(batch_length);
        } catch (const DecodeError& e) {
            rethrow_with_context(e, where());
        }
    }
    if (needed > left) {
        if (on_partial_ == PartialTail::reject)
            fail(DecodeErrc::truncated, "incomplete " + where() + ": needs " + std::to_string(needed) + " bytes, " +
                                            std::to_string(left) + " left");
        partial_tail_size_ = left;
        position_ = records_.size();
        return std::nullopt;
    }

    RecordBatch batch{parse_record_batch_header({p, needed}), records_.slice(position_, needed)};
    position_ += needed;
    return batch;
}

namespace {

// The records of a batch whose header is `h`, from its (uncompressed) payload.  `offset_in_batch`
// is where the payload starts in what the messages count bytes from (the batch, or 0 for the
// decompressed records).
std::vector<Record> decode_payload(const RecordBatchHeader& h, const Bytes& records_bytes, size_t offset_in_batch) {
    if (h.records_count < 0) fail(DecodeErrc::negative_length, "records_count " + std::to_string(h.records_count));
    Reader payload(records_bytes);
    std::vector<Record> records;
    records.reserve(std::min(static_cast<size_t>(h.records_count), payload.remaining() / min_record_size));
    for (int32_t i = 0; i < h.records_count; ++i) {
        if (payload.at_end())
            fail(DecodeErrc::truncated, "records_count is " + std::to_string(h.records_count) +
                                            " but the records end after " + std::to_string(i));
        const size_t start = offset_in_batch + payload.position();
        try {
            records.push_back(read_record(payload));
        } catch (const DecodeError& e) {
            rethrow_with_context(e, "record " + std::to_string(i) + " at byte " + std::to_string(start) + " of the " +
                                        (offset_in_batch == 0 ? "decompressed records" : "batch"));
        }
    }
    if (!payload.at_end())
        fail(DecodeErrc::invalid_value, std::to_string(payload.remaining()) + " bytes after the " +
                                            std::to_string(h.records_count) + " records the batch declares");
    return records;
}

} // namespace

std::vector<Record> decode_records(const Bytes& batch) {
    RecordBatchHeader h = parse_record_batch_header(batch.span());
    check_size_matches(h, batch.size());
    if (h.compression() != CompressionCodec::none)
        fail(DecodeErrc::invalid_value, "records of a " + std::string(to_string(h.compression())) +
                                            " batch: decode_records(batch, max_decompressed_size) decompresses");
    return decode_payload(h, batch.slice(RecordBatchHeader::size, batch.size() - RecordBatchHeader::size),
                          RecordBatchHeader::size);
}

std::vector<Record> decode_records(const Bytes& batch, size_t max_decompressed_size) {
    RecordBatchHeader h = parse_record_batch_header(batch.span());
    check_size_matches(h, batch.size());
    Bytes payload = batch.slice(RecordBatchHeader::size, batch.size() - RecordBatchHeader::size);
    if (h.compression() == CompressionCodec::none) return decode_payload(h, payload, RecordBatchHeader::size);
    if ((h.attributes & 7) > static_cast<int>(CompressionCodec::zstd))
        fail(DecodeErrc::invalid_value, "unknown compression codec " + std::to_string(h.attributes & 7));
    return decode_payload(h, decompress(h.compression(), payload.span(), max_decompressed_size), 0);
}

RecordBatchBuilder::RecordBatchBuilder(const RecordBatchFields& fields) : fields_(fields) {
    if ((fields.attributes & 7) > static_cast<int>(CompressionCodec::zstd))
        throw EncodeError("unknown compression codec " + std::to_string(fields.attributes & 7));
}

void RecordBatchBuilder::append(int64_t timestamp, const std::optional<Bytes>& key, const std::optional<Bytes>& value,
                                const std::vector<RecordHeader>& headers) {
    if (record_count_ == std::numeric_limits<int32_t>::max()) throw EncodeError("a record batch is full at 2^31-1 records");
    check_fits_varint(key, "key");
    check_fits_varint(value, "value");
    const int64_t base_timestamp = record_count_ == 0 ? timestamp : base_timestamp_;
    int64_t timestamp_delta;
    if (__builtin_sub_overflow(timestamp, base_timestamp, &timestamp_delta))
        throw EncodeError("timestamp " + std::to_string(timestamp) + " is too far from the batch's first, " +
                          std::to_string(base_timestamp));
    const int32_t offset_delta = record_count_;

    size_t body = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta) + varint_sized_size(key) +
                  varint_sized_size(value) + varint_size(static_cast<int32_t>(headers.size()));
    for (const RecordHeader& h : headers) {
        check_fits_varint(h.key, "header key");
        check_fits_varint(h.value, "header value");
        body += varint_sized_size(h.key) + varint_sized_size(h.value);
    }
    if (body > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        throw EncodeError("record of " + std::to_string(body) + " bytes is too large");

    Writer& w = records_;
    w.write_varint(static_cast<int32_t>(body));
    w.write_int8(0); // record attributes: none defined
    w.write_varlong(timestamp_delta);
    w.write_varint(offset_delta);
    write_varint_sized(w, key);
    write_varint_sized(w, value);
    w.write_varint(static_cast<int32_t>(headers.size()));
    for (const RecordHeader& h : headers) {
        write_varint_sized(w, h.key);
        write_varint_sized(w, h.value);
    }

    base_timestamp_ = base_timestamp;
    max_timestamp_ = record_count_ == 0 ? timestamp : std::max(max_timestamp_, timestamp);
    ++record_count_;
}

Bytes RecordBatchBuilder::build() const {
    const auto codec = static_cast<CompressionCodec>(fields_.attributes & 7);
    Bytes compressed;
    if (codec != CompressionCodec::none) {
        std::vector<uint8_t> plain(records_.size());
        uint8_t* at = plain.data();
        for (const Writer::Segment& segment : records_.segments()) at = segment.copy_to(at);
        compressed = compress(codec, plain);
    }
    const size_t payload_size = codec == CompressionCodec::none ? records_.size() : compressed.size();
    const size_t total = RecordBatchHeader::size + payload_size;
    if (total - batch_offset::partition_leader_epoch > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        throw EncodeError("record batch of " + std::to_string(total) + " bytes is too large");

    Writer header(RecordBatchHeader::size);
    header.write_int64(fields_.base_offset);
    header.write_int32(static_cast<int32_t>(total - batch_offset::partition_leader_epoch));
    header.write_int32(fields_.partition_leader_epoch);
    header.write_int8(2);
    header.write_uint32(0); // the CRC, stored below once the bytes it covers are in place
    header.write_int16(fields_.attributes);
    header.write_int32(record_count_ == 0 ? 0 : record_count_ - 1);
    header.write_int64(base_timestamp_);
    header.write_int64(max_timestamp_);
    header.write_int64(fields_.producer_id);
    header.write_int16(fields_.producer_epoch);
    header.write_int32(fields_.base_sequence);
    header.write_int32(record_count_);

    auto buffer = std::make_shared<std::vector<uint8_t>>(total);
    uint8_t* out = buffer->data();
    uint8_t* at = out;
    for (const Writer* part : {&std::as_const(header), &records_}) {
        if (part == &records_ && codec != CompressionCodec::none) {
            at = std::copy(compressed.data(), compressed.data() + compressed.size(), at);
            break;
        }
        for (const Writer::Segment& segment : part->segments()) at = segment.copy_to(at);
    }
    store_be(out + batch_offset::crc, crc32c(out + batch_offset::attributes, total - batch_offset::attributes), 4);
    return Bytes(buffer, out, total);
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
    require_header(batch.size());
    store_be(batch.data() + batch_offset::base_offset, static_cast<uint64_t>(base_offset), 8);
}

void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
    require_header(batch.size());
    store_be(batch.data() + batch_offset::partition_leader_epoch, static_cast<uint32_t>(epoch), 4);
}

} // namespace kafka
