#include "runtime/message_set.h"

#include "runtime/compression.h"
#include "runtime/writer.h"

#include "tests/unit/test_bytes.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace kafka {
namespace {

using namespace kafka::test;

std::vector<LegacyMessage> read_all(const ByteVector& set, PartialTail on_partial = PartialTail::reject) {
    MessageSetReader reader(bytes_of(set), on_partial);
    std::vector<LegacyMessage> out;
    while (std::optional<LegacyMessage> m = reader.next()) out.push_back(*m);
    return out;
}

void put_be32(ByteVector& v, size_t at, uint32_t value) {
    for (size_t i = 0; i < 4; ++i) v[at + i] = static_cast<uint8_t>(value >> (24 - 8 * i));
}

void recompute_crc(ByteVector& entry) {
    put_be32(entry, 12, static_cast<uint32_t>(crc32(0, entry.data() + 16, static_cast<uInt>(entry.size() - 16))));
}

// One message set entry written field by field, its CRC computed with zlib.
ByteVector legacy_message(int64_t offset, int8_t magic, int8_t attributes, int64_t timestamp,
                          const std::optional<Bytes>& key, const std::optional<Bytes>& value) {
    Writer w;
    w.write_int64(offset);
    w.write_int32(0); // message_size, patched below
    w.write_uint32(0); // crc, patched below
    w.write_int8(magic);
    w.write_int8(attributes);
    if (magic == 1) w.write_int64(timestamp);
    w.write_nullable_bytes(key);
    w.write_nullable_bytes(value);
    ByteVector entry = w.flatten();
    put_be32(entry, 8, static_cast<uint32_t>(entry.size() - 12));
    recompute_crc(entry);
    return entry;
}

ByteVector concat(const std::vector<ByteVector>& parts) {
    ByteVector out;
    for (const ByteVector& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Messages as Kafka brokers returned them (captured in kafka-python's test suite,
// test/record/test_records.py): magic 1 from a 0.11 broker, magic 0 from a 0.10 one.  Values
// "123", "", "", "123" at offsets 0-3.
const ByteVector broker_v1 = from_hex(
    "000000000000000000000019478628c201000000015e1867abaeffffffff00000003313233"
    "000000000000000100000016ef98c92001000000015e1867afc0ffffffff00000000"
    "0000000000000002000000165faffb5e01000000015e1867b072ffffffff00000000"
    "000000000000000300000019a812572001000000015e1867b803ffffffff00000003313233");
const ByteVector broker_v0 = from_hex(
    "000000000000000000000011feb01dbf0000ffffffff00000003313233"
    "00000000000000010000000e795748e00000ffffffff00000000"
    "00000000000000020000000e795748e00000ffffffff00000000"
    "000000000000000300000011feb01dbf0000ffffffff00000003313233");

TEST(MessageSetFromKafka, MagicOne) {
    std::vector<LegacyMessage> messages = read_all(broker_v1);
    ASSERT_EQ(messages.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(messages[i].offset, static_cast<int64_t>(i));
        EXPECT_EQ(messages[i].magic, 1);
        EXPECT_EQ(messages[i].key, std::nullopt);
        EXPECT_EQ(messages[i].compression(), CompressionCodec::none);
        EXPECT_EQ(messages[i].timestamp_type(), TimestampType::create_time);
    }
    EXPECT_EQ(messages[0].timestamp, 1503648000942);
    EXPECT_EQ(messages[0].value, text("123"));
    EXPECT_EQ(messages[1].value, text(""));
    EXPECT_EQ(messages[3].value, text("123"));
    EXPECT_EQ(messages[0].bytes.size(), 37u);
}

TEST(MessageSetFromKafka, MagicZero) {
    std::vector<LegacyMessage> messages = read_all(broker_v0);
    ASSERT_EQ(messages.size(), 4u);
    EXPECT_EQ(messages[0].magic, 0);
    EXPECT_EQ(messages[0].timestamp, -1);
    EXPECT_EQ(messages[0].value, text("123"));
    EXPECT_EQ(messages[2].offset, 2);
    EXPECT_EQ(messages[2].value, text(""));
}

TEST(MessageSet, HandBuiltMessagesOfBothMagics) {
    const ByteVector set = concat({
        legacy_message(10, 0, 0, -1, text("k0"), text("v0")),
        legacy_message(11, 1, 0, 1600000000000, std::nullopt, text("v1")),
        legacy_message(12, 1, 0x08, 1600000000001, text("k2"), std::nullopt),
    });
    EXPECT_EQ(records_format(set), RecordsFormat::message_set);

    std::vector<LegacyMessage> m = read_all(set);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].offset, 10);
    EXPECT_EQ(m[0].magic, 0);
    EXPECT_EQ(m[0].timestamp, -1);
    EXPECT_EQ(m[0].key, text("k0"));
    EXPECT_EQ(m[0].value, text("v0"));
    EXPECT_EQ(m[0].timestamp_type(), TimestampType::create_time);

    EXPECT_EQ(m[1].magic, 1);
    EXPECT_EQ(m[1].timestamp, 1600000000000);
    EXPECT_EQ(m[1].key, std::nullopt);
    EXPECT_EQ(m[1].value, text("v1"));

    EXPECT_EQ(m[2].timestamp_type(), TimestampType::log_append_time);
    EXPECT_EQ(m[2].value, std::nullopt);

    // The whole entry: 12 bytes of offset and size, 22 of fixed fields, the value.
    EXPECT_EQ(m[1].bytes.size(), 12u + 22u + 2u);
}

TEST(MessageSet, MagicZeroIgnoresTheTimestampTypeBit) {
    std::vector<LegacyMessage> m = read_all(legacy_message(0, 0, 0x08, -1, std::nullopt, text("x")));
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].timestamp_type(), TimestampType::create_time);
}

TEST(MessageSet, WrapperMessageExposesTheCompressedInnerSet) {
    const ByteVector inner = {0x1f, 0x8b, 0x08, 0x00, 1, 2, 3}; // looks like gzip; not decompressed here
    std::vector<LegacyMessage> m = read_all(legacy_message(5, 1, 0x01, 1, std::nullopt, bytes_of(inner)));
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].compression(), CompressionCodec::gzip);
    EXPECT_EQ(m[0].value, bytes_of(inner));

    m = read_all(legacy_message(5, 0, 0x02, -1, std::nullopt, bytes_of(inner)));
    EXPECT_EQ(m[0].compression(), CompressionCodec::snappy);
}

TEST(MessageSet, BadCrcIsRejected) {
    ByteVector set = concat({legacy_message(0, 1, 0, 1, text("k"), text("v")),
                             legacy_message(1, 1, 0, 1, text("k"), text("v"))});
    set.back() ^= 0x01; // the second message's value
    MessageSetReader reader(bytes_of(set), PartialTail::stop);
    ASSERT_TRUE(reader.next());
    DecodeError e = decode_error([&] { reader.next(); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "CRC mismatch")) << e.what();
    EXPECT_TRUE(mentions(e, "message at byte 36")) << e.what();

    ByteVector broker = broker_v0;
    broker[12] ^= 0x80; // the stored CRC itself
    EXPECT_TRUE(mentions(decode_error([&] { read_all(broker); }), "CRC mismatch"));
}

TEST(MessageSet, PartialTrailingEntryAtEveryCut) {
    const ByteVector first = legacy_message(0, 1, 0, 1, text("key"), text("value"));
    const ByteVector set = concat({first, legacy_message(1, 0, 0, -1, text("key"), text("value"))});
    for (size_t cut = first.size() + 1; cut < set.size(); ++cut) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        const ByteVector part(set.begin(), set.begin() + static_cast<std::ptrdiff_t>(cut));

        MessageSetReader stopping(bytes_of(part), PartialTail::stop);
        ASSERT_TRUE(stopping.next());
        EXPECT_FALSE(stopping.next());
        EXPECT_EQ(stopping.partial_tail_size(), cut - first.size());

        MessageSetReader rejecting(bytes_of(part), PartialTail::reject);
        ASSERT_TRUE(rejecting.next());
        DecodeError e = decode_error([&] { rejecting.next(); });
        EXPECT_EQ(e.code(), DecodeErrc::truncated);
        EXPECT_TRUE(mentions(e, "incomplete message at byte " + std::to_string(first.size()))) << e.what();
    }
    for (size_t cut = 0; cut < first.size(); ++cut) {
        MessageSetReader stopping(bytes_of(ByteVector(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(cut))),
                                  PartialTail::stop);
        EXPECT_FALSE(stopping.next());
        EXPECT_EQ(stopping.partial_tail_size(), cut);
    }
}

TEST(MessageSet, MalformedEntries) {
    // message_size below the minimum for magic 1 (22)
    ByteVector small = legacy_message(0, 1, 0, 1, std::nullopt, std::nullopt);
    put_be32(small, 8, 21);
    DecodeError e = decode_error([&] { read_all(small, PartialTail::stop); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "message_size 21")) << e.what();

    // message_size one more than the fields: a stray byte inside the entry
    ByteVector stray = legacy_message(0, 0, 0, -1, text("k"), text("v"));
    stray.push_back(0);
    put_be32(stray, 8, static_cast<uint32_t>(stray.size() - 12));
    recompute_crc(stray);
    e = decode_error([&] { read_all(stray); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "fields end after")) << e.what();

    // a key length pointing past the entry
    ByteVector long_key = legacy_message(0, 0, 0, -1, text("k"), text("v"));
    put_be32(long_key, 18, 100);
    recompute_crc(long_key);
    e = decode_error([&] { read_all(long_key); });
    EXPECT_EQ(e.code(), DecodeErrc::length_beyond_remaining);
    EXPECT_TRUE(mentions(e, "key")) << e.what();

    // zstd needs magic 2
    e = decode_error([&] { read_all(legacy_message(0, 1, 0x04, 1, std::nullopt, text("z"))); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "codec 4")) << e.what();

    // a v2 batch where a legacy message was expected
    ByteVector v2 = legacy_message(0, 1, 0, 1, std::nullopt, text("0123456789012345678901234567890123456789"));
    v2[16] = 2;
    e = decode_error([&] { read_all(v2, PartialTail::stop); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "v2 record batch")) << e.what();
}

TEST(MessageSet, RandomDamageOnlyEverThrowsDecodeError) {
    const ByteVector good = concat({legacy_message(0, 0, 0, -1, text("k0"), text("v0")),
                                    legacy_message(1, 1, 0, 7, std::nullopt, text("value one"))});
    std::mt19937 rng(7);
    for (int round = 0; round < 5000; ++round) {
        ByteVector bad = good;
        bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
        if (round % 2 == 0) bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
        if (round % 5 == 0) bad.resize(rng() % bad.size());
        try {
            read_all(bad, round % 3 == 0 ? PartialTail::reject : PartialTail::stop);
        } catch (const DecodeError&) {
        }
    }
}

TEST(RecordsFormat, TellsByTheMagicByte) {
    EXPECT_EQ(records_format(broker_v0), RecordsFormat::message_set);
    EXPECT_EQ(records_format(broker_v1), RecordsFormat::message_set);
    ByteVector v2(61, 0);
    v2[16] = 2;
    EXPECT_EQ(records_format(v2), RecordsFormat::record_batches);
    EXPECT_EQ(records_format({}), RecordsFormat::undetermined);
    EXPECT_EQ(records_format(ByteVector(16, 0)), RecordsFormat::undetermined);
    ByteVector odd(17, 0);
    odd[16] = 3;
    DecodeError e = decode_error([&] { records_format(odd); });
    EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    EXPECT_TRUE(mentions(e, "magic 3")) << e.what();
}

// ---- compressed wrappers ----

// "<prefix><n>" (spelled out: GCC 12 at -O3 warns falsely about `"k" + std::to_string(n)`).
Bytes numbered(std::string_view prefix, int n) {
    std::string s(prefix);
    s += std::to_string(n);
    return text(s);
}

// A wrapper around `inner` (a message set) compressed with `codec`, written field by field.
ByteVector wrapper_of(int64_t offset, int8_t magic, CompressionCodec codec, int64_t timestamp, const ByteVector& inner,
                      int8_t extra_attributes = 0) {
    Bytes packed = compress(codec, inner, magic == 0 ? Lz4Framing::kafka_magic_v0 : Lz4Framing::standard);
    return legacy_message(offset, magic, static_cast<int8_t>(static_cast<int8_t>(codec) | extra_attributes), timestamp,
                          std::nullopt, packed);
}

TEST(MessageSetWrapper, MagicOneInnerOffsetsAreRelativeToTheWrappersLast) {
    const ByteVector inner = concat({legacy_message(0, 1, 0, 100, text("a"), text("1")),
                                     legacy_message(1, 1, 0, 105, std::nullopt, text("2")),
                                     legacy_message(2, 1, 0, 103, text("c"), std::nullopt)});
    for (CompressionCodec codec : {CompressionCodec::gzip, CompressionCodec::snappy, CompressionCodec::lz4}) {
        SCOPED_TRACE(std::string(to_string(codec)));
        std::vector<LegacyMessage> wrappers = read_all(wrapper_of(41, 1, codec, 105, inner));
        ASSERT_EQ(wrappers.size(), 1u);
        std::vector<LegacyMessage> messages = inner_messages(wrappers[0], 1 << 20);
        ASSERT_EQ(messages.size(), 3u);
        EXPECT_EQ(messages[0].offset, 39);
        EXPECT_EQ(messages[2].offset, 41);
        EXPECT_EQ(messages[1].timestamp, 105);
        EXPECT_EQ(messages[0].key, text("a"));
        EXPECT_FALSE(messages[1].key);
        EXPECT_FALSE(messages[2].value);
        EXPECT_EQ(messages[1].timestamp_type(), TimestampType::create_time);
    }
}

TEST(MessageSetWrapper, MagicZeroInnerOffsetsAreAbsolute) {
    const ByteVector inner = concat({legacy_message(5, 0, 0, -1, text("a"), text("1")),
                                     legacy_message(6, 0, 0, -1, text("b"), text("2"))});
    std::vector<LegacyMessage> messages = inner_messages(read_all(wrapper_of(6, 0, CompressionCodec::lz4, -1, inner))[0], 1000);
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0].offset, 5);
    EXPECT_EQ(messages[1].offset, 6);
    EXPECT_EQ(messages[1].timestamp, -1);
}

TEST(MessageSetWrapper, LogAppendTimeWrapperStampsItsMessages) {
    const ByteVector inner = concat({legacy_message(0, 1, 0, 100, text("a"), text("1")),
                                     legacy_message(1, 1, 0, 105, text("b"), text("2"))});
    auto wrapper = read_all(wrapper_of(1, 1, CompressionCodec::gzip, 999, inner, 0x08))[0];
    for (const LegacyMessage& m : inner_messages(wrapper, 1000)) {
        EXPECT_EQ(m.timestamp, 999);
        EXPECT_EQ(m.timestamp_type(), TimestampType::log_append_time);
    }
}

TEST(MessageSetWrapper, BadInsidesAreErrors) {
    const ByteVector plain = legacy_message(0, 1, 0, 1, text("a"), text("1"));
    // Not a wrapper.
    EXPECT_THROW(inner_messages(read_all(plain)[0], 1000), DecodeError);
    // Nested compression.
    const ByteVector nested = wrapper_of(0, 1, CompressionCodec::gzip, 1, wrapper_of(0, 1, CompressionCodec::gzip, 1, plain));
    DecodeError e = decode_error([&] { inner_messages(read_all(nested)[0], 1000); });
    EXPECT_TRUE(mentions(e, "inside a compressed message")) << e.what();
    // Garbage instead of gzip.
    const ByteVector junk = legacy_message(0, 1, 1, 1, std::nullopt, text("definitely not gzip"));
    EXPECT_THROW(inner_messages(read_all(junk)[0], 1000), CompressionError);
    // A damaged inner message (its CRC).
    ByteVector damaged = plain;
    damaged.back() ^= 1;
    EXPECT_THROW(inner_messages(read_all(wrapper_of(0, 1, CompressionCodec::snappy, 1, damaged))[0], 1000), DecodeError);
    // A bomb: inner messages far larger than the limit.
    const ByteVector big = legacy_message(0, 1, 0, 1, std::nullopt, bytes_of(ByteVector(1 << 20, 'x')));
    try {
        inner_messages(read_all(wrapper_of(0, 1, CompressionCodec::gzip, 1, big))[0], 64 << 10);
        ADD_FAILURE() << "no limit";
    } catch (const CompressionError& ce) {
        EXPECT_EQ(ce.reason(), CompressionErrc::too_large);
    }
}

// ---- writing ----

TEST(MessageSetBuilder, WritesWhatTheReaderReads) {
    for (int8_t magic : {int8_t{0}, int8_t{1}}) {
        MessageSetBuilder b(magic);
        b.append(10, 500, text("k"), text("v"));
        b.append(11, 501, std::nullopt, std::nullopt, 0x08);
        Bytes set = b.build();
        EXPECT_EQ(set.size(), b.size());
        std::vector<LegacyMessage> messages = read_all(vector_of(set));
        ASSERT_EQ(messages.size(), 2u);
        EXPECT_EQ(messages[0].offset, 10);
        EXPECT_EQ(messages[1].offset, 11);
        EXPECT_EQ(messages[0].key, text("k"));
        EXPECT_FALSE(messages[1].value);
        EXPECT_EQ(messages[0].timestamp, magic == 0 ? -1 : 500);
        EXPECT_EQ(messages[1].timestamp_type(), magic == 0 ? TimestampType::create_time : TimestampType::log_append_time);
        // Byte for byte what the field-by-field writer makes.
        EXPECT_EQ(vector_of(set), concat({legacy_message(10, magic, 0, 500, text("k"), text("v")),
                                          legacy_message(11, magic, magic ? 0x08 : 0, 501, std::nullopt, std::nullopt)}));
    }
}

TEST(MessageSetBuilder, CompressedWrappersRoundTrip) {
    for (int8_t magic : {int8_t{0}, int8_t{1}})
        for (CompressionCodec codec : {CompressionCodec::gzip, CompressionCodec::snappy, CompressionCodec::lz4}) {
            SCOPED_TRACE(std::string(numbered("magic ", magic).view()) + " " + std::string(to_string(codec)));
            MessageSetBuilder b(magic);
            for (int i = 0; i < 20; ++i) b.append(100 + i, 1000 + (i * 7) % 13, numbered("key", i), text("value"));
            std::vector<LegacyMessage> wrappers = read_all(vector_of(b.build_compressed(codec)));
            ASSERT_EQ(wrappers.size(), 1u);
            EXPECT_EQ(wrappers[0].offset, 119);
            EXPECT_EQ(wrappers[0].compression(), codec);
            if (magic == 1) {
                EXPECT_EQ(wrappers[0].timestamp, 1012);
            }
            std::vector<LegacyMessage> messages = inner_messages(wrappers[0], 1 << 20);
            ASSERT_EQ(messages.size(), 20u);
            for (int i = 0; i < 20; ++i) {
                EXPECT_EQ(messages[static_cast<size_t>(i)].offset, 100 + i);
                EXPECT_EQ(messages[static_cast<size_t>(i)].key, numbered("key", i));
                EXPECT_EQ(messages[static_cast<size_t>(i)].timestamp, magic == 0 ? -1 : 1000 + (i * 7) % 13);
            }
        }
    EXPECT_THROW(MessageSetBuilder(2), EncodeError);
    EXPECT_THROW(MessageSetBuilder(1).build_compressed(CompressionCodec::gzip), EncodeError);
}

// ---- down-conversion for Fetch v0-3 ----


Bytes v2_batch(int64_t base_offset, int16_t attributes, int first, int count, int64_t first_timestamp = 1000) {
    RecordBatchBuilder b({.base_offset = base_offset, .attributes = attributes});
    for (int i = first; i < first + count; ++i)
        b.append(first_timestamp + i, numbered("k", i), numbered("value ", i),
                 {{text("h"), text("dropped")}});
    return b.build();
}

Bytes joined(const std::vector<Bytes>& parts) {
    ByteVector all;
    for (const Bytes& p : parts) all.insert(all.end(), p.data(), p.data() + p.size());
    return bytes_of(all);
}

TEST(DownConvert, EveryRecordBecomesAMessageWithItsAbsoluteOffset) {
    // Offsets 0-2 uncompressed, a control batch at 3, 4-8 zstd, 9-11 log_append_time gzip.
    Bytes control = v2_batch(3, 0x20, 100, 1);
    Bytes stored = joined({v2_batch(0, 0, 0, 3), control, v2_batch(4, 4, 3, 5), v2_batch(9, 0x08 | 1, 8, 3)});
    for (int8_t magic : {int8_t{0}, int8_t{1}}) {
        SCOPED_TRACE(std::string(numbered("magic ", magic).view()));
        DownConverted out = down_convert(stored, magic, 1, 1 << 20, 1 << 20);
        std::vector<LegacyMessage> messages = read_all(vector_of(out.messages));
        ASSERT_EQ(messages.size(), 10u);   // offsets 1-2 and 4-11: before the fetch offset and control skipped
        EXPECT_EQ(out.next_offset, 12);
        for (size_t i = 0; i < messages.size(); ++i) {
            const LegacyMessage& m = messages[i];
            const int n = static_cast<int>(i) + 1;   // record number: k<n>
            EXPECT_EQ(m.offset, i < 2 ? n : n + 1);
            EXPECT_EQ(m.magic, magic);
            EXPECT_EQ(m.compression(), CompressionCodec::none);
            EXPECT_EQ(m.key, numbered("k", n));
            EXPECT_EQ(m.value, numbered("value ", n));
            if (magic == 0) {
                EXPECT_EQ(m.timestamp, -1);
            } else if (m.offset >= 9) {   // log append time: the batch's max timestamp, marked so
                EXPECT_EQ(m.timestamp, 1010);
                EXPECT_EQ(m.timestamp_type(), TimestampType::log_append_time);
            } else {
                EXPECT_EQ(m.timestamp, 1000 + n);
                EXPECT_EQ(m.timestamp_type(), TimestampType::create_time);
            }
        }
    }
}

TEST(DownConvert, StopsAtMaxBytesButAlwaysSendsOneWholeMessage) {
    Bytes stored = joined({v2_batch(0, 2, 0, 10)});
    const size_t one = read_all(vector_of(down_convert(stored, 1, 0, 1, 1 << 20).messages)).at(0).bytes.size();
    DownConverted first = down_convert(stored, 1, 0, 1, 1 << 20);
    EXPECT_EQ(read_all(vector_of(first.messages)).size(), 1u);
    EXPECT_EQ(first.next_offset, 1);
    DownConverted three = down_convert(stored, 1, 0, one * 3 + one / 2, 1 << 20);
    EXPECT_EQ(read_all(vector_of(three.messages)).size(), 3u);
    EXPECT_LE(three.messages.size(), one * 3 + one / 2);
    // From the middle of the batch.
    DownConverted rest = down_convert(stored, 1, 8, 1 << 20, 1 << 20);
    std::vector<LegacyMessage> messages = read_all(vector_of(rest.messages));
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0].offset, 8);
}

TEST(DownConvert, IncompleteTailIsIgnoredAndCorruptBatchesThrow) {
    Bytes whole = v2_batch(0, 0, 0, 2);
    ByteVector cut = vector_of(joined({whole, v2_batch(2, 3, 2, 2)}));
    cut.resize(cut.size() - 5);
    EXPECT_EQ(read_all(vector_of(down_convert(bytes_of(cut), 0, 0, 1 << 20, 1 << 20).messages)).size(), 2u);
    // A zstd batch whose payload is not zstd.
    ByteVector bad = vector_of(v2_batch(0, 4, 0, 2));
    bad[70] ^= 0xff;
    EXPECT_THROW(down_convert(bytes_of(bad), 1, 0, 1 << 20, 1 << 20), DecodeError);
}

} // namespace
} // namespace kafka
