// Kafka records <-> SeaweedMQ messages (stored_record.h), fetched messages -> v2 batches, and the filer
// metadata store's names and batch entries (metadata_entries.h).
#include "gateway/storage/seaweedmq/metadata_entries.h"
#include "gateway/storage/seaweedmq/stored_record.h"
#include "runtime/record_batch.h"
#include "test_bytes.h"

#include <gtest/gtest.h>

#ifdef KGW_HAVE_SEAWEEDMQ_PROTO
#include "mq_broker.pb.h"
#endif

using namespace gateway::seaweedmq;
using kafka::Bytes;
using kafka::RecordHeader;
using kafka::test::text;

namespace {

StoredView view(const StoredMessage& m, int64_t stored_ts_ns) { return {m.key, m.value, stored_ts_ns}; }

std::string str(const std::optional<Bytes>& b) { return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size()) : "<null>"; }

constexpr int64_t t0 = 1700000000000;   // ms

} // namespace

TEST(StoredRecord, PlainRecordKeepsKeyAndValueBytesAndTimestampInTsNs) {
    RecordEncoder enc;
    StoredMessage m = enc.encode(t0, text("k"), text("value bytes"), {});
    EXPECT_EQ(m.key, "k");
    EXPECT_EQ(m.value, "value bytes");   // what a native subscriber reads
    EXPECT_EQ(m.ts_ns, t0 * ns_per_ms);
    DecodedRecord d = decode_stored(view(m, m.ts_ns + 3));   // the broker's +1 ns bumps stay within the ms
    EXPECT_EQ(d.timestamp_ms, t0);
    EXPECT_EQ(str(d.key), "k");
    EXPECT_EQ(str(d.value), "value bytes");
    EXPECT_TRUE(d.headers.empty());
}

TEST(StoredRecord, NullKeyIsStoredEmptyAndReadBackNull) {
    RecordEncoder enc;
    StoredMessage m = enc.encode(t0, std::nullopt, text("v"), {});
    EXPECT_EQ(m.key, "");
    EXPECT_EQ(m.value, "v");
    EXPECT_FALSE(decode_stored(view(m, m.ts_ns)).key);
}

TEST(StoredRecord, EnvelopeKeepsHeadersNullsAndEmptyKeysExactly) {
    RecordEncoder enc;
    const std::vector<RecordHeader> headers{{text("a"), text("1")}, {text("b"), std::nullopt}, {text("a"), text("")}};
    StoredMessage m = enc.encode(t0, text(""), std::nullopt, headers);
    EXPECT_TRUE(std::string_view(m.value).starts_with(envelope_magic));
    EXPECT_EQ(m.key, "");
    DecodedRecord d = decode_stored(view(m, m.ts_ns));
    ASSERT_TRUE(d.key);
    EXPECT_EQ(d.key->size(), 0u);
    EXPECT_FALSE(d.value);
    ASSERT_EQ(d.headers.size(), 3u);
    EXPECT_EQ(d.headers, headers);
    EXPECT_EQ(d.timestamp_ms, t0);
}

TEST(StoredRecord, TimestampsTheBrokerWouldBumpGoInTheEnvelope) {
    RecordEncoder enc;
    StoredMessage first = enc.encode(t0, text("k"), text("1"), {});
    StoredMessage same_ms = enc.encode(t0, text("k"), text("2"), {});   // bumped by 1 ns: still t0
    StoredMessage older = enc.encode(t0 - 5000, text("k"), text("3"), {});
    StoredMessage negative = enc.encode(-1, text("k"), text("4"), {});
    EXPECT_EQ(first.value, "1");
    EXPECT_EQ(same_ms.value, "2");
    EXPECT_TRUE(std::string_view(older.value).starts_with(envelope_magic));
    EXPECT_TRUE(std::string_view(negative.value).starts_with(envelope_magic));
    EXPECT_EQ(negative.ts_ns, 0);   // the broker stamps it
    // As the broker stores them: strictly increasing ts_ns.
    EXPECT_EQ(decode_stored(view(older, t0 * ns_per_ms + 2)).timestamp_ms, t0 - 5000);
    EXPECT_EQ(decode_stored(view(negative, t0 * ns_per_ms + 3)).timestamp_ms, -1);
    EXPECT_EQ(stored_timestamp_ms(view(older, t0 * ns_per_ms + 2)), t0 - 5000);
}

TEST(StoredRecord, AValueThatLooksLikeAnEnvelopeIsWrapped) {
    RecordEncoder enc;
    const std::string tricky = std::string(envelope_magic) + "not really";
    StoredMessage m = enc.encode(t0, text("k"), Bytes::copy_of(tricky), {});
    EXPECT_NE(m.value, tricky);
    EXPECT_EQ(str(decode_stored(view(m, m.ts_ns)).value), tricky);
    // A native publisher's value that merely starts with the magic reads as plain.
    StoredMessage native{"k", tricky, t0 * ns_per_ms};
    EXPECT_EQ(str(decode_stored(view(native, native.ts_ns)).value), tricky);
}

TEST(StoredRecord, BuildBatchMakesAValidV2BatchAtTheRequestedOffset) {
    RecordEncoder enc;
    std::vector<StoredMessage> stored;
    stored.push_back(enc.encode(t0, text("k0"), text("v0"), {}));
    stored.push_back(enc.encode(t0 + 1, std::nullopt, text("v1"), {{text("h"), text("x")}}));
    stored.push_back(enc.encode(t0 - 10, text("k2"), std::nullopt, {}));
    std::vector<StoredView> views;
    for (size_t i = 0; i < stored.size(); ++i) views.push_back(view(stored[i], stored[i].ts_ns ? stored[i].ts_ns : t0 * ns_per_ms + 10));
    size_t used = 0;
    Bytes batch = build_batch(42, views, 1 << 20, used);
    EXPECT_EQ(used, 3u);
    kafka::RecordBatchHeader h = kafka::validate_record_batch(batch.span());   // CRC-32C, framing
    EXPECT_EQ(h.base_offset, 42);
    EXPECT_EQ(h.records_count, 3);
    EXPECT_EQ(h.last_offset(), 44);
    std::vector<kafka::Record> records = kafka::decode_records(batch);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(str(records[0].key), "k0");
    EXPECT_FALSE(records[1].key);
    ASSERT_EQ(records[1].headers.size(), 1u);
    EXPECT_FALSE(records[2].value);
    EXPECT_EQ(h.timestamp_of(records[2]), t0 - 10);
    EXPECT_EQ(h.max_timestamp, t0 + 1);
}

TEST(StoredRecord, BuildBatchStopsAtMaxBytesButReturnsAtLeastOne) {
    std::vector<StoredMessage> stored(5, StoredMessage{"k", std::string(1000, 'x'), t0 * ns_per_ms});
    std::vector<StoredView> views;
    for (const auto& m : stored) views.push_back(view(m, m.ts_ns));
    size_t used = 0;
    build_batch(0, views, 2500, used);
    EXPECT_EQ(used, 2u);
    build_batch(0, views, 10, used);
    EXPECT_EQ(used, 1u);
    EXPECT_EQ(build_batch(0, {}, 10, used).size(), 0u);
}

TEST(StoredRecord, TheEnvelopeViewLivesInTheCallersBuffer) {
    RecordEncoder enc;
    const std::optional<Bytes> key = text("k"), value = text("v");   // the views point into these
    std::string envelope;
    const StoredView plain = enc.encode(t0, key, value, {}, envelope);
    EXPECT_TRUE(envelope.empty());   // nothing copied for the plain form
    EXPECT_EQ(plain.value.data(), reinterpret_cast<const char*>(value->data()));
    EXPECT_EQ(plain.key, "k");
    const StoredView wrapped = enc.encode(t0 + 1, key, value, {{text("h"), text("x")}}, envelope);
    EXPECT_EQ(wrapped.value.data(), envelope.data());
    EXPECT_EQ(str(decode_stored(wrapped).headers.at(0).value), "x");
}

namespace {

std::string publish_bytes(const StoredView& m) {
    std::string out(publish_request_size(m), '\xee');
    write_publish_request(m, reinterpret_cast<uint8_t*>(out.data()));
    return out;
}

// Fields at their defaults (empty key or value, ts_ns 0), negative ts_ns (ten-byte varint), lengths
// whose varints take one, two and three bytes.
std::vector<StoredMessage> publish_cases() {
    return {{"k", "value", t0 * ns_per_ms},
            {"", "value", t0 * ns_per_ms},
            {"k", "", t0 * ns_per_ms},
            {"k", "v", 0},
            {"", "", 0},
            {"k", "v", -5},
            {std::string(127, 'a'), std::string(128, 'b'), 1},
            {"k", std::string(1024, 'c'), INT64_MAX},
            {std::string(300, '\0'), std::string(20000, '\xff'), t0 * ns_per_ms + 7}};
}

} // namespace

TEST(PublishWire, TheRequestFramesTheDataMessageFieldByField) {
    // Hand-checked bytes: data (2) { key (1) "k", value (2) "vw", ts_ns (3) 300 }.
    const std::string expected("\x12\x0a\x0a\x01k\x12\x02vw\x18\xac\x02", 12);
    EXPECT_EQ(publish_bytes({"k", "vw", 300}), expected);
    EXPECT_EQ(publish_bytes({"", "", 0}), std::string("\x12\x00", 2));   // the oneof is set even when empty
}

#ifdef KGW_HAVE_SEAWEEDMQ_PROTO
TEST(PublishWire, BytesAreProtobufsOwnSerialization) {
    for (const StoredMessage& c : publish_cases()) {
        const StoredView m{c.key, c.value, c.ts_ns};
        messaging_pb::PublishMessageRequest req;
        req.mutable_data()->set_key(c.key);
        req.mutable_data()->set_value(c.value);
        req.mutable_data()->set_ts_ns(c.ts_ns);
        const std::string ours = publish_bytes(m);
        EXPECT_EQ(ours, req.SerializeAsString()) << "key " << c.key.size() << " value " << c.value.size() << " ts " << c.ts_ns;
        messaging_pb::PublishMessageRequest back;
        ASSERT_TRUE(back.ParseFromString(ours));
        ASSERT_TRUE(back.has_data());
        EXPECT_EQ(back.data().key(), c.key);
        EXPECT_EQ(back.data().value(), c.value);
        EXPECT_EQ(back.data().ts_ns(), c.ts_ns);
    }
}
#else
TEST(PublishWire, BytesAreProtobufsOwnSerialization) {
    GTEST_SKIP() << "built without gRPC/protobuf: no generated mq_broker.pb.h to compare with";
}
#endif

TEST(FilerMetadataEntries, KeysBecomeNamesThatKeepPrefixesAndComeBack) {
    const std::string key = std::string("offset/group 1/topic.a/0/\x01\xff%", 28);
    const std::string name = encode_key_as_name(key);
    EXPECT_EQ(name.find('/'), std::string::npos);
    EXPECT_EQ(decode_name_as_key(name), key);
    EXPECT_TRUE(name.starts_with(encode_key_as_name("offset/group 1/")));
    EXPECT_EQ(encode_key_as_name("group/abc-1.x_y"), "group%2Fabc-1.x_y");
}

TEST(FilerMetadataEntries, BatchesRoundTripAndBadBytesAreRefused) {
    std::vector<gateway::MetadataWrite> writes{{"a", std::string("1")}, {"b", std::nullopt}, {"c", std::string("")}};
    const std::string entry = encode_batch(writes);
    std::optional<std::vector<gateway::MetadataWrite>> back = decode_batch(entry);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->size(), 3u);
    EXPECT_EQ((*back)[0].key, "a");
    EXPECT_EQ((*back)[0].value, std::optional<std::string>("1"));
    EXPECT_FALSE((*back)[1].value);
    EXPECT_EQ((*back)[2].value, std::optional<std::string>(""));
    EXPECT_FALSE(decode_batch(entry.substr(0, entry.size() - 1)));
    EXPECT_FALSE(decode_batch(entry + "x"));
}
