#include "runtime/message_set.h"

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

} // namespace
} // namespace kafka
