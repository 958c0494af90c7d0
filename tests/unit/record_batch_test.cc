#include "runtime/record_batch.h"

#include "gateway/storage/record_timestamps.h"
#include "runtime/compression.h"
#include "runtime/crc32c.h"
#include "runtime/writer.h"

#include "tests/unit/test_bytes.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace kafka {
namespace {

using namespace kafka::test;

void put_be(ByteVector& v, size_t at, uint64_t value, size_t width) {
    for (size_t i = 0; i < width; ++i) v[at + i] = static_cast<uint8_t>(value >> (8 * (width - 1 - i)));
}

void recompute_crc(ByteVector& batch) { put_be(batch, 17, crc32c(batch.data() + 21, batch.size() - 21), 4); }

// Three batches as a Kafka 0.11 broker returned them in a Fetch response (captured in kafka-python's
// test suite, test/record/test_records.py): an independent check of the layout and the CRC.
//   [0] base offset 0, one record, value "123"
//   [1] base offset 1, two records with empty values, the second 168 ms after the first
//   [2] base offset 3, partition leader epoch 2, one record, value "123"
const ByteVector broker_batches[3] = {
    from_hex("00000000000000000000003b00000001020318a2700000000000000000015dff7b063c0000015dff7b063cffffffffffffffffff"
             "ffffffffff0000000112000000010631323300"),
    from_hex("0000000000000001000000400000000202c85cbd230000000000010000015dff7cdd6c0000015dff7cde14ffffffffffffffffff"
             "ffffffffff000000020c0000000100000e00d00202010000"),
    from_hex("00000000000000030000003b00000002022e0b85b70000000000000000015dff7ce79d0000015dff7ce79dffffffffffffffffff"
             "ffffffffff0000000112000000010631323300"),
};

ByteVector concatenated_broker_batches() {
    ByteVector all;
    for (const ByteVector& b : broker_batches) all.insert(all.end(), b.begin(), b.end());
    return all;
}

TEST(RecordBatchFromKafka, HeadersValidateAndDecode) {
    RecordBatchHeader h = validate_record_batch(broker_batches[0]);
    EXPECT_EQ(h.base_offset, 0);
    EXPECT_EQ(h.batch_length, 59);
    EXPECT_EQ(h.partition_leader_epoch, 1);
    EXPECT_EQ(h.magic, 2);
    EXPECT_EQ(h.crc, 0x0318a270u);
    EXPECT_EQ(h.compression(), CompressionCodec::none);
    EXPECT_EQ(h.timestamp_type(), TimestampType::create_time);
    EXPECT_EQ(h.last_offset_delta, 0);
    EXPECT_EQ(h.base_timestamp, 1503229838908);
    EXPECT_EQ(h.max_timestamp, 1503229838908);
    EXPECT_EQ(h.producer_id, -1);
    EXPECT_EQ(h.producer_epoch, -1);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.records_count, 1);

    std::vector<Record> records = decode_records(bytes_of(broker_batches[0]));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].key, std::nullopt);
    EXPECT_EQ(records[0].value, text("123"));
    EXPECT_TRUE(records[0].headers.empty());
    EXPECT_EQ(h.timestamp_of(records[0]), 1503229838908);
    EXPECT_EQ(h.offset_of(records[0]), 0);

    h = validate_record_batch(broker_batches[1]);
    records = decode_records(bytes_of(broker_batches[1]));
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].value, text(""));
    EXPECT_EQ(records[1].value, text(""));
    EXPECT_EQ(h.offset_of(records[0]), 1);
    EXPECT_EQ(h.offset_of(records[1]), 2);
    EXPECT_EQ(h.timestamp_of(records[1]) - h.timestamp_of(records[0]), 168);
    EXPECT_EQ(h.timestamp_of(records[1]), h.max_timestamp);

    h = validate_record_batch(broker_batches[2]);
    EXPECT_EQ(h.base_offset, 3);
    EXPECT_EQ(h.partition_leader_epoch, 2);
}

TEST(RecordBatchFromKafka, BuilderReproducesTheBrokersBytes) {
    {
        RecordBatchBuilder b({.base_offset = 0, .partition_leader_epoch = 1});
        b.append(1503229838908, std::nullopt, text("123"));
        EXPECT_EQ(vector_of(b.build()), broker_batches[0]);
    }
    {
        RecordBatchBuilder b({.base_offset = 1, .partition_leader_epoch = 2});
        b.append(0x15dff7cdd6c, std::nullopt, text(""));
        b.append(0x15dff7cdd6c + 168, std::nullopt, text(""));
        EXPECT_EQ(vector_of(b.build()), broker_batches[1]);
    }
}

TEST(RecordBatchReader, SplitsConcatenatedBatchesAsViews) {
    Bytes all = bytes_of(concatenated_broker_batches());
    RecordBatchReader reader(all, PartialTail::reject);
    std::vector<int64_t> base_offsets;
    size_t expected_start = 0;
    while (std::optional<RecordBatch> batch = reader.next()) {
        base_offsets.push_back(batch->header.base_offset);
        EXPECT_EQ(batch->bytes.data(), all.data() + expected_start); // a view, not a copy
        EXPECT_EQ(batch->bytes.owner(), all.owner());
        EXPECT_EQ(batch->bytes.size(), batch->header.total_size());
        EXPECT_EQ(batch->records_payload().size(), batch->bytes.size() - 61);
        validate_record_batch(batch->bytes.span());
        expected_start += batch->bytes.size();
    }
    EXPECT_EQ(base_offsets, (std::vector<int64_t>{0, 1, 3}));
    EXPECT_EQ(reader.partial_tail_size(), 0u);
    EXPECT_FALSE(reader.next()); // stays at the end
}

TEST(RecordBatchReader, EmptyBufferHasNoBatches) {
    RecordBatchReader reader(Bytes(), PartialTail::reject);
    EXPECT_FALSE(reader.next());
    EXPECT_EQ(reader.partial_tail_size(), 0u);
}

// A Fetch response cut at max_bytes ends inside a batch; kafka-python's test appends 4 zero bytes.
TEST(RecordBatchReader, PartialTailStopsOrThrowsAtEveryCut) {
    const ByteVector all = concatenated_broker_batches();
    const size_t two_batches = broker_batches[0].size() + broker_batches[1].size();
    for (size_t cut = two_batches + 1; cut < all.size(); ++cut) {
        Bytes truncated = bytes_of(ByteVector(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(cut)));

        RecordBatchReader stopping(truncated, PartialTail::stop);
        ASSERT_TRUE(stopping.next());
        ASSERT_TRUE(stopping.next());
        EXPECT_FALSE(stopping.next()) << "cut " << cut;
        EXPECT_EQ(stopping.partial_tail_size(), cut - two_batches);
        EXPECT_FALSE(stopping.next());

        RecordBatchReader rejecting(truncated, PartialTail::reject);
        rejecting.next();
        rejecting.next();
        DecodeError e = decode_error([&] { rejecting.next(); });
        EXPECT_EQ(e.code(), DecodeErrc::truncated) << e.what();
        EXPECT_TRUE(mentions(e, "incomplete record batch at byte " + std::to_string(two_batches))) << e.what();
    }

    ByteVector with_zeros = all;
    with_zeros.resize(all.size() + 4, 0);
    RecordBatchReader reader(bytes_of(with_zeros), PartialTail::stop);
    int count = 0;
    while (reader.next()) ++count;
    EXPECT_EQ(count, 3);
    EXPECT_EQ(reader.partial_tail_size(), 4u);
}

TEST(RecordBatchReader, CorruptFramingThrowsEvenWhenStoppingAtPartials) {
    ByteVector all = concatenated_broker_batches();
    const size_t second = broker_batches[0].size();

    ByteVector bad_magic = all;
    bad_magic[second + 16] = 1;
    DecodeError e = decode_error([&] {
        RecordBatchReader r(bytes_of(bad_magic), PartialTail::stop);
        while (r.next()) {}
    });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "at byte " + std::to_string(second))) << e.what();
    EXPECT_TRUE(mentions(e, "legacy message set")) << e.what();

    ByteVector short_length = all;
    put_be(short_length, second + 8, 48, 4);
    e = decode_error([&] {
        RecordBatchReader r(bytes_of(short_length), PartialTail::stop);
        while (r.next()) {}
    });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "batch_length 48")) << e.what();

    ByteVector negative_length = all;
    put_be(negative_length, second + 8, 0xffffffff, 4);
    EXPECT_EQ(decode_error([&] {
                  RecordBatchReader r(bytes_of(negative_length), PartialTail::stop);
                  while (r.next()) {}
              }).code(),
              DecodeErrc::invalid_value);
}

// One batch written byte by byte at the offsets of the protocol guide's layout, every field a
// distinct value, to pin the positions independently of the builder.
ByteVector hand_crafted_batch() {
    // One record: length 11 (zig-zag 0x16), attributes 0, timestamp delta 0, offset delta 0,
    // key "k", value "v", one header "h" with a null value.
    const ByteVector record = {0x16, 0x00, 0x00, 0x00, 0x02, 'k', 0x02, 'v', 0x02, 0x02, 'h', 0x01};
    ByteVector b(61 + record.size(), 0);
    put_be(b, 0, 0x0102030405060708, 8);    // base offset
    put_be(b, 8, b.size() - 12, 4);          // batch length
    put_be(b, 12, 0x0a0b0c0d, 4);            // partition leader epoch
    b[16] = 2;                               // magic
    put_be(b, 21, 0x0010, 2);                // attributes: transactional
    put_be(b, 23, 0, 4);                     // last offset delta
    put_be(b, 27, 0x0000011111111111, 8);    // base timestamp
    put_be(b, 35, 0x0000011111111111, 8);    // max timestamp
    put_be(b, 43, 0x2222222222222222, 8);    // producer id
    put_be(b, 51, 0x3333, 2);                // producer epoch
    put_be(b, 53, 0x44444444, 4);            // base sequence
    put_be(b, 57, 1, 4);                     // records count
    std::copy(record.begin(), record.end(), b.begin() + 61);
    recompute_crc(b);                        // crc at 17 over 21..end
    return b;
}

TEST(RecordBatchLayout, FieldOffsetsMatchTheProtocolGuide) {
    EXPECT_EQ(batch_offset::base_offset, 0u);
    EXPECT_EQ(batch_offset::batch_length, 8u);
    EXPECT_EQ(batch_offset::partition_leader_epoch, 12u);
    EXPECT_EQ(batch_offset::magic, 16u);
    EXPECT_EQ(batch_offset::crc, 17u);
    EXPECT_EQ(batch_offset::attributes, 21u);
    EXPECT_EQ(batch_offset::last_offset_delta, 23u);
    EXPECT_EQ(batch_offset::base_timestamp, 27u);
    EXPECT_EQ(batch_offset::max_timestamp, 35u);
    EXPECT_EQ(batch_offset::producer_id, 43u);
    EXPECT_EQ(batch_offset::producer_epoch, 51u);
    EXPECT_EQ(batch_offset::base_sequence, 53u);
    EXPECT_EQ(batch_offset::records_count, 57u);
    EXPECT_EQ(batch_offset::records, 61u);
    EXPECT_EQ(RecordBatchHeader::size, 61u);

    const ByteVector b = hand_crafted_batch();
    RecordBatchHeader h = validate_record_batch(b);
    EXPECT_EQ(h.base_offset, 0x0102030405060708);
    EXPECT_EQ(h.batch_length, static_cast<int32_t>(b.size() - 12));
    EXPECT_EQ(h.total_size(), b.size());
    EXPECT_EQ(h.partition_leader_epoch, 0x0a0b0c0d);
    EXPECT_EQ(h.magic, 2);
    EXPECT_EQ(h.crc, crc32c(b.data() + 21, b.size() - 21));
    EXPECT_EQ(h.attributes, 0x0010);
    EXPECT_TRUE(h.is_transactional());
    EXPECT_FALSE(h.is_control());
    EXPECT_EQ(h.last_offset_delta, 0);
    EXPECT_EQ(h.base_timestamp, 0x0000011111111111);
    EXPECT_EQ(h.max_timestamp, 0x0000011111111111);
    EXPECT_EQ(h.producer_id, 0x2222222222222222);
    EXPECT_EQ(h.producer_epoch, 0x3333);
    EXPECT_EQ(h.base_sequence, 0x44444444);
    EXPECT_EQ(h.records_count, 1);
    EXPECT_EQ(parse_record_batch_header(b), h);

    std::vector<Record> records = decode_records(bytes_of(b));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].key, text("k"));
    EXPECT_EQ(records[0].value, text("v"));
    ASSERT_EQ(records[0].headers.size(), 1u);
    EXPECT_EQ(records[0].headers[0].key.view(), "h");
    EXPECT_EQ(records[0].headers[0].value, std::nullopt);

    RecordBatchBuilder builder({.base_offset = 0x0102030405060708,
                                .partition_leader_epoch = 0x0a0b0c0d,
                                .attributes = 0x0010,
                                .producer_id = 0x2222222222222222,
                                .producer_epoch = 0x3333,
                                .base_sequence = 0x44444444});
    builder.append(0x0000011111111111, text("k"), text("v"), {{text("h"), std::nullopt}});
    EXPECT_EQ(vector_of(builder.build()), b);
}

TEST(RecordBatchLayout, AttributeBits) {
    RecordBatchHeader h;
    const std::pair<int16_t, CompressionCodec> codecs[] = {{0, CompressionCodec::none}, {1, CompressionCodec::gzip},
                                                           {2, CompressionCodec::snappy}, {3, CompressionCodec::lz4},
                                                           {4, CompressionCodec::zstd}};
    for (auto [bits, codec] : codecs) {
        h.attributes = static_cast<int16_t>(bits | 0x10);
        EXPECT_EQ(h.compression(), codec);
        EXPECT_TRUE(h.is_transactional());
    }
    h.attributes = 0x08;
    EXPECT_EQ(h.timestamp_type(), TimestampType::log_append_time);
    EXPECT_FALSE(h.is_transactional());
    h.attributes = 0x20;
    EXPECT_TRUE(h.is_control());
    EXPECT_EQ(h.timestamp_type(), TimestampType::create_time);
    h.attributes = 0x40;
    EXPECT_TRUE(h.has_delete_horizon());
    EXPECT_FALSE(h.is_control());
    EXPECT_EQ(to_string(CompressionCodec::zstd), "zstd");
}

TEST(RecordBatchLayout, HostileDeltasWrapInsteadOfOverflowing) {
    RecordBatchHeader h;
    h.base_offset = std::numeric_limits<int64_t>::max();
    h.base_timestamp = std::numeric_limits<int64_t>::min();
    Record r;
    r.offset_delta = 1;
    r.timestamp_delta = -1;
    EXPECT_EQ(h.offset_of(r), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(h.timestamp_of(r), std::numeric_limits<int64_t>::max());
}

// ---- builder round trip ----

struct Sample {
    int64_t timestamp;
    std::optional<Bytes> key;
    std::optional<Bytes> value;
    std::vector<RecordHeader> headers;
};

std::vector<Sample> samples() {
    return {
        {1700000000000, text("key-1"), text("value-1"), {}},
        {1700000000005, std::nullopt, text("no key"), {{text("trace"), text("abc")}, {text("empty"), text("")}}},
        {1699999999990, text("tombstone"), std::nullopt, {{text("null-valued"), std::nullopt}}},
        {1700000000100, text(""), text(""), {}},
        {1700000000050, text("big"), Bytes::copy_of(std::string(40000, 'x')), {}},
    };
}

Bytes build_samples(const RecordBatchFields& fields) {
    RecordBatchBuilder builder(fields);
    for (const Sample& s : samples()) builder.append(s.timestamp, s.key, s.value, s.headers);
    EXPECT_EQ(builder.record_count(), 5);
    return builder.build();
}

TEST(RecordBatchBuilder, RoundTripsRecords) {
    const RecordBatchFields fields{.base_offset = 500, .partition_leader_epoch = 7, .attributes = 0,
                                   .producer_id = 9001, .producer_epoch = 3, .base_sequence = 42};
    Bytes batch = build_samples(fields);

    RecordBatchHeader h = validate_record_batch(batch.span());
    EXPECT_EQ(h.base_offset, 500);
    EXPECT_EQ(h.partition_leader_epoch, 7);
    EXPECT_EQ(h.producer_id, 9001);
    EXPECT_EQ(h.producer_epoch, 3);
    EXPECT_EQ(h.base_sequence, 42);
    EXPECT_EQ(h.records_count, 5);
    EXPECT_EQ(h.last_offset_delta, 4);
    EXPECT_EQ(h.last_offset(), 504);
    EXPECT_EQ(h.base_timestamp, 1700000000000); // the first record's, not the smallest
    EXPECT_EQ(h.max_timestamp, 1700000000100);

    std::vector<Record> records = decode_records(batch);
    const std::vector<Sample> expected = samples();
    ASSERT_EQ(records.size(), expected.size());
    for (size_t i = 0; i < records.size(); ++i) {
        SCOPED_TRACE("record " + std::to_string(i));
        EXPECT_EQ(records[i].attributes, 0);
        EXPECT_EQ(records[i].offset_delta, static_cast<int32_t>(i));
        EXPECT_EQ(h.offset_of(records[i]), 500 + static_cast<int64_t>(i));
        EXPECT_EQ(h.timestamp_of(records[i]), expected[i].timestamp);
        EXPECT_EQ(records[i].key, expected[i].key);
        EXPECT_EQ(records[i].value, expected[i].value);
        EXPECT_EQ(records[i].headers, expected[i].headers);
    }
    EXPECT_LT(records[2].timestamp_delta, 0);

    // Keys and values view the batch's buffer.
    const uint8_t* begin = batch.data();
    const uint8_t* end = batch.data() + batch.size();
    EXPECT_TRUE(records[4].value->data() > begin && records[4].value->data() < end);
    EXPECT_EQ(records[4].value->owner(), batch.owner());
    EXPECT_TRUE(records[1].headers[0].value->data() > begin && records[1].headers[0].value->data() < end);
}

TEST(RecordBatchBuilder, EmptyBatch) {
    Bytes batch = RecordBatchBuilder({.base_offset = 10}).build();
    EXPECT_EQ(batch.size(), 61u);
    RecordBatchHeader h = validate_record_batch(batch.span());
    EXPECT_EQ(h.records_count, 0);
    EXPECT_EQ(h.last_offset_delta, 0);
    EXPECT_EQ(h.base_timestamp, -1);
    EXPECT_EQ(h.max_timestamp, -1);
    EXPECT_TRUE(decode_records(batch).empty());
}

TEST(RecordBatchBuilder, WritesCompressedBatches) {
    for (int16_t codec = 1; codec <= 4; ++codec) {
        RecordBatchBuilder builder({.base_offset = 7, .attributes = codec});
        for (int i = 0; i < 50; ++i) builder.append(1000 + i, text("key"), text("the same value, again and again"));
        Bytes batch = builder.build();
        RecordBatchHeader h = validate_record_batch(batch.span());
        EXPECT_EQ(static_cast<int16_t>(h.compression()), codec);
        EXPECT_EQ(h.records_count, 50);
        EXPECT_EQ(h.max_timestamp, 1049);
        EXPECT_LT(batch.size(), 50u * 30) << "compressed";
        std::vector<Record> records = decode_records(batch, 1 << 20);
        ASSERT_EQ(records.size(), 50u);
        EXPECT_EQ(h.offset_of(records[49]), 56);
        EXPECT_EQ(records[49].value, text("the same value, again and again"));
        // The one-argument form still refuses: it cannot allocate.
        EXPECT_THROW(decode_records(batch), DecodeError);
    }
    EXPECT_THROW({ RecordBatchBuilder bad({.attributes = 5}); }, EncodeError);
}

TEST(RecordBatchBuilder, LogAppendTimeRecordsTakeTheMaxTimestamp) {
    RecordBatchBuilder builder({.attributes = 0x08});
    builder.append(100, std::nullopt, text("a"));
    builder.append(300, std::nullopt, text("b"));
    Bytes batch = builder.build();
    RecordBatchHeader h = validate_record_batch(batch.span());
    EXPECT_EQ(h.timestamp_type(), TimestampType::log_append_time);
    for (const Record& r : decode_records(batch)) EXPECT_EQ(h.timestamp_of(r), 300);
}

// ---- corruption ----

TEST(RecordBatchValidation, EveryFlippedBitIsCaughtUnlessOutsideTheCrc) {
    const ByteVector good = vector_of(build_samples({}));
    for (size_t i = 0; i < good.size(); ++i) {
        ByteVector bad = good;
        bad[i] ^= 0x04;
        const bool uncovered = i < 8 || (i >= 12 && i < 16); // base offset, partition leader epoch
        if (uncovered) {
            EXPECT_NO_THROW(validate_record_batch(bad)) << "byte " << i;
        } else {
            EXPECT_THROW(validate_record_batch(bad), DecodeError) << "byte " << i;
        }
    }
    ByteVector bad = good;
    bad[100] ^= 1;
    DecodeError e = decode_error([&] { validate_record_batch(bad); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "CRC mismatch")) << e.what();
}

TEST(RecordBatchValidation, EveryTruncationFailsCleanly) {
    const ByteVector good = vector_of(build_samples({}));
    for (size_t cut = 0; cut < good.size(); cut += (cut < 200 ? 1 : 97)) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        const ByteVector part(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
        const Bytes bytes = bytes_of(part);
        EXPECT_THROW(validate_record_batch(part), DecodeError);
        EXPECT_THROW(decode_records(bytes), DecodeError);
        if (cut < 61) {
            DecodeError e = decode_error([&] { parse_record_batch_header(part); });
            EXPECT_EQ(e.code(), DecodeErrc::truncated);
        }
        RecordBatchReader stopping(bytes, PartialTail::stop);
        EXPECT_FALSE(stopping.next());
        EXPECT_EQ(stopping.partial_tail_size(), cut);
        RecordBatchReader rejecting(bytes, PartialTail::reject);
        if (cut == 0) {
            EXPECT_FALSE(rejecting.next());
        } else {
            EXPECT_EQ(decode_error([&] { rejecting.next(); }).code(), DecodeErrc::truncated);
        }
    }
}

TEST(RecordBatchValidation, ExtraBytesAfterTheBatch) {
    ByteVector b = vector_of(build_samples({}));
    b.push_back(0);
    DecodeError e = decode_error([&] { validate_record_batch(b); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "have " + std::to_string(b.size()))) << e.what();
}

TEST(RecordBatchValidation, HeaderFieldsMustBePossible) {
    const ByteVector good = hand_crafted_batch();
    auto failure = [&](size_t at, uint64_t value, size_t width) {
        ByteVector b = good;
        put_be(b, at, value, width);
        recompute_crc(b);
        return decode_error([&] { validate_record_batch(b); });
    };

    DecodeError e = failure(57, 0xffffffff, 4); // records count -1
    EXPECT_EQ(e.code(), DecodeErrc::negative_length);
    EXPECT_TRUE(mentions(e, "records_count -1")) << e.what();

    e = failure(57, 2, 4); // two records in the one offset of last_offset_delta 0
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "records_count 2 exceeds")) << e.what();

    e = failure(23, 0xffffffff, 4); // last offset delta -1
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "last_offset_delta -1")) << e.what();

    e = failure(21, 0x0005, 2); // codec 5
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "codec 5")) << e.what();

    // 1000 records cannot fit in 12 bytes (last_offset_delta raised so the count is otherwise fine).
    ByteVector b = good;
    put_be(b, 23, 999, 4);
    put_be(b, 57, 1000, 4);
    recompute_crc(b);
    e = decode_error([&] { validate_record_batch(b); });
    EXPECT_EQ(e.code(), DecodeErrc::length_beyond_remaining);

    b = good;
    put_be(b, 0, 0x7fffffffffffffff, 8); // base offset + last offset delta overflows
    put_be(b, 23, 5, 4);
    recompute_crc(b);
    EXPECT_TRUE(mentions(decode_error([&] { validate_record_batch(b); }), "overflows"));

    b = good;
    b[16] = 1;
    e = decode_error([&] { validate_record_batch(b); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "magic 1")) << e.what();
}

// Random damage (record bytes included, CRC repaired so decoding goes deep) only ever produces a
// DecodeError: no crash, no other exception, no sanitizer report.
TEST(RecordBatchValidation, RandomDamageOnlyEverThrowsDecodeError) {
    RecordBatchBuilder builder({});
    builder.append(1, text("key"), text("value"), {{text("h1"), text("v1")}, {text("h2"), std::nullopt}});
    builder.append(2, std::nullopt, text("second"));
    builder.append(3, text("k3"), std::nullopt, {{text("h3"), text("")}});
    const ByteVector good = vector_of(builder.build());

    std::mt19937 rng(2024);
    for (int round = 0; round < 5000; ++round) {
        ByteVector bad = good;
        const int damage = 1 + static_cast<int>(rng() % 4);
        for (int d = 0; d < damage; ++d) bad[21 + rng() % (bad.size() - 21)] = static_cast<uint8_t>(rng());
        if (round % 2 == 0) recompute_crc(bad);
        if (round % 7 == 0) bad.resize(rng() % bad.size());
        const Bytes bytes = bytes_of(bad);
        try {
            validate_record_batch(bad);
        } catch (const DecodeError&) {
        }
        try {
            decode_records(bytes);
        } catch (const DecodeError&) {
        }
        try {
            RecordBatchReader reader(bytes, PartialTail::stop);
            while (reader.next()) {}
        } catch (const DecodeError&) {
        }
    }
}

// ---- record decoding errors ----

// A batch around hand-written record bytes, with a correct CRC, so only decode_records objects.
Bytes batch_around(int32_t records_count, const ByteVector& records) {
    ByteVector b(61, 0);
    put_be(b, 8, 61 - 12 + records.size(), 4);
    b[16] = 2;
    put_be(b, 23, records_count > 0 ? static_cast<uint64_t>(records_count - 1) : 0, 4);
    put_be(b, 57, static_cast<uint32_t>(records_count), 4);
    b.insert(b.end(), records.begin(), records.end());
    recompute_crc(b);
    return bytes_of(b);
}

// Record with empty key and value and no headers: length 6, then 6 one-byte fields.
const ByteVector minimal_record = {0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

TEST(RecordDecoding, CountMismatchAndTrailingBytes) {
    ByteVector two = minimal_record;
    two.insert(two.end(), minimal_record.begin(), minimal_record.end());
    EXPECT_EQ(decode_records(batch_around(2, two)).size(), 2u);

    DecodeError e = decode_error([&] { decode_records(batch_around(3, two)); });
    EXPECT_EQ(e.code(), DecodeErrc::truncated);
    EXPECT_TRUE(mentions(e, "records_count is 3 but the records end after 2")) << e.what();

    e = decode_error([&] { decode_records(batch_around(1, two)); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "7 bytes after the 1 records")) << e.what();

    e = decode_error([&] { decode_records(batch_around(-1, two)); });
    EXPECT_EQ(e.code(), DecodeErrc::negative_length);
}

TEST(RecordDecoding, RecordLengthDisagreeingWithFields) {
    // Length 7 but the fields take 6: an overlong record.
    DecodeError e = decode_error([&] { decode_records(batch_around(1, {0x0e, 0, 0, 0, 0, 0, 0, 0})); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "record 0 at byte 61 of the batch")) << e.what();
    EXPECT_TRUE(mentions(e, "record length 7 but its fields end after 6 bytes")) << e.what();

    // Length 5 but the fields need 6: the header count is cut off.
    e = decode_error([&] { decode_records(batch_around(1, {0x0a, 0, 0, 0, 0, 0, 0})); });
    EXPECT_EQ(e.code(), DecodeErrc::truncated);
    EXPECT_TRUE(mentions(e, "header count")) << e.what();

    // Length beyond the batch.
    e = decode_error([&] { decode_records(batch_around(1, {0x20, 0, 0, 0, 0, 0, 0})); });
    EXPECT_EQ(e.code(), DecodeErrc::length_beyond_remaining);

    // Negative length.
    e = decode_error([&] { decode_records(batch_around(1, {0x03, 0, 0, 0, 0, 0, 0})); });
    EXPECT_EQ(e.code(), DecodeErrc::negative_length);

    // The second record is the bad one.
    ByteVector two = minimal_record;
    two.insert(two.end(), {0x0e, 0, 0, 0, 0, 0, 0, 0});
    e = decode_error([&] { decode_records(batch_around(2, two)); });
    EXPECT_TRUE(mentions(e, "record 1 at byte 68 of the batch")) << e.what();
}

TEST(RecordDecoding, BadKeyValueAndHeaderLengths) {
    // key length -2
    DecodeError e = decode_error([&] { decode_records(batch_around(1, {0x0c, 0, 0, 0, 0x03, 0, 0})); });
    EXPECT_EQ(e.code(), DecodeErrc::negative_length);
    EXPECT_TRUE(mentions(e, "key length")) << e.what();

    // value length 10 in a 6-byte record
    e = decode_error([&] { decode_records(batch_around(1, {0x0c, 0, 0, 0, 0x00, 0x14, 0})); });
    EXPECT_EQ(e.code(), DecodeErrc::length_beyond_remaining);
    EXPECT_TRUE(mentions(e, "value length")) << e.what();

    // header count -1
    e = decode_error([&] { decode_records(batch_around(1, {0x0c, 0, 0, 0, 0, 0, 0x01})); });
    EXPECT_EQ(e.code(), DecodeErrc::negative_length);
    EXPECT_TRUE(mentions(e, "header count -1")) << e.what();

    // 1000 headers in no bytes
    e = decode_error([&] { decode_records(batch_around(1, {0x0e, 0, 0, 0, 0, 0, 0xd0, 0x0f})); });
    EXPECT_EQ(e.code(), DecodeErrc::length_beyond_remaining);

    // one header with a null key
    e = decode_error([&] { decode_records(batch_around(1, {0x10, 0, 0, 0, 0, 0, 0x02, 0x01, 0x01})); });
    EXPECT_EQ(e.code(), DecodeErrc::null_not_allowed);
    EXPECT_TRUE(mentions(e, "null header key")) << e.what();

    // a timestamp delta varlong that never ends
    ByteVector endless = {0x1e, 0x00}; // length 15, attributes, then 14 bytes of 0xff
    endless.insert(endless.end(), 14, 0xff);
    e = decode_error([&] { decode_records(batch_around(1, endless)); });
    EXPECT_EQ(e.code(), DecodeErrc::varint_too_long);
}

TEST(RecordDecoding, CompressedBatchExposesCodecAndPayloadOnly) {
    const ByteVector payload = {0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad};
    ByteVector b = vector_of(batch_around(3, payload));
    put_be(b, 21, 1, 2); // gzip
    recompute_crc(b);

    RecordBatchHeader h = validate_record_batch(b);
    EXPECT_EQ(h.compression(), CompressionCodec::gzip);
    RecordBatchReader reader(bytes_of(b), PartialTail::reject);
    std::optional<RecordBatch> batch = reader.next();
    ASSERT_TRUE(batch);
    EXPECT_EQ(vector_of(batch->records_payload()), payload);

    DecodeError e = decode_error([&] { decode_records(batch->bytes); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "gzip")) << e.what();
    EXPECT_TRUE(mentions(e, "decode_records(batch, max_decompressed_size)")) << e.what();

    // With a limit it tries, and the cut gzip stream is an error of its own kind.
    try {
        decode_records(batch->bytes, 1 << 20);
        ADD_FAILURE() << "decoded a broken gzip payload";
    } catch (const CompressionError& e) {
        EXPECT_EQ(e.reason(), CompressionErrc::corrupt) << e.what();
    }
}

// A compressed batch whose decompressed records disagree with its header.
TEST(RecordDecoding, CompressedRecordsAreCheckedLikeUncompressedOnes) {
    RecordBatchBuilder plain({});
    plain.append(1, text("a"), text("b"));
    plain.append(2, text("c"), text("d"));
    const ByteVector uncompressed = vector_of(plain.build());
    const ByteVector records(uncompressed.begin() + 61, uncompressed.end());

    auto with_payload = [&](const ByteVector& payload, int32_t count) {
        ByteVector b(uncompressed.begin(), uncompressed.begin() + 61);
        b.insert(b.end(), payload.begin(), payload.end());
        put_be(b, 8, b.size() - 12, 4);
        put_be(b, 21, 3, 2);   // lz4
        put_be(b, 57, static_cast<uint32_t>(count), 4);
        recompute_crc(b);
        return bytes_of(b);
    };
    const ByteVector packed = vector_of(compress(CompressionCodec::lz4, records));
    EXPECT_EQ(decode_records(with_payload(packed, 2), 1000).size(), 2u);
    EXPECT_EQ(decode_error([&] { decode_records(with_payload(packed, 3), 1000); }).code(), DecodeErrc::truncated);
    EXPECT_EQ(decode_error([&] { decode_records(with_payload(packed, 1), 1000); }).code(), DecodeErrc::invalid_value);
    // The limit applies to the decompressed records.
    EXPECT_THROW(decode_records(with_payload(packed, 2), records.size() - 1), CompressionError);
}

// ---- ListOffsets by time inside compressed batches (gateway/storage/record_timestamps.h) ----

TEST(RecordTimestamps, CompressedBatchesAnswerWithTheExactRecord) {
    for (int16_t codec = 0; codec <= 4; ++codec) {
        SCOPED_TRACE("codec " + std::to_string(codec));
        RecordBatchBuilder builder({.base_offset = 200, .attributes = codec});
        const int64_t timestamps[] = {1000, 1010, 1005, 1030, 1020, 1030};
        for (int64_t ts : timestamps) builder.append(ts, std::nullopt, text("v"));
        RecordBatchReader reader(builder.build(), PartialTail::reject);
        RecordBatch batch = *reader.next();

        gateway::TimestampOffset found = gateway::first_record_at_or_after(batch, 1006, 0);
        EXPECT_EQ(found.offset, 201);
        EXPECT_EQ(found.timestamp, 1010);
        found = gateway::first_record_at_or_after(batch, 1011, 0);
        EXPECT_EQ(found.offset, 203);
        EXPECT_EQ(found.timestamp, 1030);
        found = gateway::first_record_at_or_after(batch, 1000, 202);   // log start inside the batch
        EXPECT_EQ(found.offset, 202);
        EXPECT_EQ(found.timestamp, 1005);
        EXPECT_EQ(gateway::first_record_at_or_after(batch, 1031, 0).offset, -1);

        found = gateway::record_with_max_timestamp(batch, 0);   // the first record with the largest
        EXPECT_EQ(found.offset, 203);
        EXPECT_EQ(found.timestamp, 1030);
        EXPECT_EQ(gateway::max_timestamp_from(batch, 204), 1030);
        EXPECT_EQ(gateway::record_with_max_timestamp(batch, 204).offset, 205);
    }
}

// ---- in-place rewrites ----

TEST(RecordBatchRewrite, SetBaseOffsetKeepsTheCrcValid) {
    ByteVector b = vector_of(build_samples({.base_offset = 0}));
    set_base_offset(b, 123456789012);
    RecordBatchHeader h = validate_record_batch(b);
    EXPECT_EQ(h.base_offset, 123456789012);
    std::vector<Record> records = decode_records(bytes_of(b));
    EXPECT_EQ(h.offset_of(records.back()), 123456789012 + 4);

    set_partition_leader_epoch(b, 77);
    EXPECT_EQ(validate_record_batch(b).partition_leader_epoch, 77);
    EXPECT_EQ(validate_record_batch(b).base_offset, 123456789012);

    ByteVector too_short(60);
    EXPECT_EQ(decode_error([&] { set_base_offset(too_short, 1); }).code(), DecodeErrc::truncated);
}

} // namespace
} // namespace kafka
