// What the generated codecs promise beyond round trips: version rules on encode, null rules on both
// sides, unknown tagged fields kept in tag order, zero-copy payloads, readable errors and printing.
#include "generated/join_group_request.h"
#include "generated/metadata_request.h"
#include "generated/produce_request.h"
#include "generated/produce_response.h"
#include "generated/sasl_authenticate_request.h"
#include "runtime/reader.h"
#include "runtime/writer.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <vector>

namespace kafka {
namespace {

template<typename T>
std::vector<uint8_t> encode(const T& m, int16_t version) {
    Writer w;
    m.encode(w, version);
    return w.flatten();
}

template<typename T>
T decode(const std::vector<uint8_t>& bytes, int16_t version) {
    auto frame = std::make_shared<std::vector<uint8_t>>(bytes);
    Reader r(frame->data(), frame->size(), frame);
    T m;
    m.decode(r, version);
    EXPECT_TRUE(r.at_end());
    return m;
}

TEST(CodecSemantics, NonDefaultFieldAtVersionWithoutItIsAnError) {
    ProduceRequest req;
    req.transactional_id = "txn-1";   // TransactionalId exists from v3 and is not ignorable
    EXPECT_THROW(encode(req, 2), EncodeError);
    EXPECT_NO_THROW(encode(req, 3));
    req.transactional_id.reset();     // the default (null) is fine at v2
    EXPECT_NO_THROW(encode(req, 2));
}

TEST(CodecSemantics, IgnorableFieldIsDroppedAtVersionWithoutIt) {
    JoinGroupRequest req;
    req.group_id = "g";
    req.reason = "rebalance for a test";   // Reason: v8+, ignorable
    const auto bytes = encode(req, 7);
    EXPECT_EQ(decode<JoinGroupRequest>(bytes, 7).reason, std::nullopt);
    EXPECT_EQ(decode<JoinGroupRequest>(encode(req, 8), 8).reason, "rebalance for a test");
}

TEST(CodecSemantics, NullInNonNullableVersionIsAnErrorBothWays) {
    MetadataRequest req;
    req.topics.reset();   // Topics is nullable from v1 (null = all topics)
    EXPECT_THROW(encode(req, 0), EncodeError);
    const auto v1 = encode(req, 1);
    EXPECT_FALSE(decode<MetadataRequest>(v1, 1).topics.has_value());
    // The same bytes (an array length of -1) are invalid at v0.
    std::vector<uint8_t> v0 = {0xff, 0xff, 0xff, 0xff};
    try {
        decode<MetadataRequest>(v0, 0);
        FAIL() << "null topics decoded at v0";
    } catch (const DecodeError& e) {
        EXPECT_EQ(e.code(), DecodeErrc::null_not_allowed);
        EXPECT_NE(std::string(e.what()).find("MetadataRequest.Topics"), std::string::npos) << e.what();
    }
}

TEST(CodecSemantics, UnknownTaggedFieldsRefusedAtNonFlexibleVersion) {
    ProduceRequest req;
    req.unknown_tagged_fields.push_back({7, Bytes::copy_of(std::string_view("x"))});
    EXPECT_THROW(encode(req, 8), EncodeError);
    EXPECT_NO_THROW(encode(req, 9));
}

TEST(CodecSemantics, UnknownTaggedFieldsKeptAndWrittenInTagOrderAroundKnownOnes) {
    ProduceResponse resp;
    auto& endpoint = resp.node_endpoints.emplace_back();   // known tag 0 at v10+
    endpoint.node_id = 1;
    endpoint.host = "h";
    endpoint.port = 9092;
    resp.unknown_tagged_fields = {{1, Bytes::copy_of(std::string_view("a"))},
                                  {5, Bytes::copy_of(std::string_view("bc"))}};
    const auto bytes = encode(resp, 10);
    const auto back = decode<ProduceResponse>(bytes, 10);
    EXPECT_EQ(back, resp);
    EXPECT_EQ(encode(back, 10), bytes);

    // The section is the last thing written: count 3, then tags 0, 1, 5 in that order.
    Reader r(bytes.data(), bytes.size());
    ProduceResponse prefix = resp;
    prefix.node_endpoints.clear();
    prefix.unknown_tagged_fields.clear();
    const size_t untagged = prefix.size(10) - 1;   // everything but the empty section's count byte
    r.skip(untagged);
    EXPECT_EQ(r.read_uvarint(), 3u);
    std::vector<uint32_t> tags;
    while (!r.at_end()) {
        tags.push_back(r.read_uvarint());
        r.skip(r.read_uvarint());
    }
    EXPECT_EQ(tags, (std::vector<uint32_t>{0, 1, 5}));
}

TEST(CodecSemantics, UnknownTaggedFieldsReadOutOfOrderAreSorted) {
    // A flexible ProduceRequest v9 with no topics and tags 5 then 1.
    std::vector<uint8_t> bytes = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,   // txn id null, acks 1, timeout 0, 0 topics
                                  0x02, 0x05, 0x01, 0xaa, 0x01, 0x01, 0xbb};
    const auto req = decode<ProduceRequest>(bytes, 9);
    ASSERT_EQ(req.unknown_tagged_fields.size(), 2u);
    EXPECT_EQ(req.unknown_tagged_fields[0].tag, 1u);
    EXPECT_EQ(req.unknown_tagged_fields[1].tag, 5u);
}

TEST(CodecSemantics, KnownTaggedFieldWithExtraBytesIsInvalid) {
    ProduceResponse resp;
    resp.node_endpoints.push_back({});
    auto bytes = encode(resp, 10);
    // Lengthen tag 0's declared size by one and append a byte: the value no longer fills it exactly.
    ProduceResponse bare;
    const size_t at = bare.size(10) - 1 + 1 + 1;   // count byte, tag byte, then the length byte
    bytes[at] += 1;
    bytes.push_back(0);
    try {
        decode<ProduceResponse>(bytes, 10);
        FAIL() << "decoded a tagged field with trailing bytes";
    } catch (const DecodeError& e) {
        EXPECT_EQ(e.code(), DecodeErrc::invalid_value);
    }
}

TEST(CodecSemantics, RecordsViewTheFrameWithoutCopying) {
    ProduceRequest req;
    req.acks = 1;
    auto& partition = req.topic_data.emplace_back().partition_data.emplace_back();
    std::vector<uint8_t> payload(100000, 0x5a);
    partition.records = Bytes::copy_of(payload);
    Writer w;
    req.encode(w, 9);
    EXPECT_GT(w.segments().size(), 1u) << "a large owned payload is referenced, not copied";
    auto frame = std::make_shared<std::vector<uint8_t>>(w.flatten());
    Reader r(frame->data(), frame->size(), frame);
    ProduceRequest back;
    back.decode(r, 9);
    const Bytes& records = *back.topic_data[0].partition_data[0].records;
    EXPECT_GE(records.data(), frame->data());
    EXPECT_LE(records.data() + records.size(), frame->data() + frame->size());
    EXPECT_EQ(records.owner().get(), static_cast<const void*>(frame.get()));
    EXPECT_EQ(records, partition.records);
}

TEST(CodecSemantics, TruncatedMessageErrorNamesTheField) {
    ProduceRequest req;
    req.topic_data.emplace_back().name = "orders";
    auto bytes = encode(req, 3);
    bytes.resize(bytes.size() - 3);
    try {
        decode<ProduceRequest>(bytes, 3);
        FAIL() << "decoded a truncated request";
    } catch (const DecodeError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("ProduceRequest.TopicData"), std::string::npos) << what;
        EXPECT_NE(what.find("offset"), std::string::npos) << what;
    }
}

TEST(CodecSemantics, SensitiveFieldsPrintAsStars) {
    SaslAuthenticateRequest req;
    req.auth_bytes = Bytes::copy_of(std::string_view("\0user\0hunter2", 13));
    std::ostringstream os;
    os << req;
    EXPECT_EQ(os.str(), "SaslAuthenticateRequest{auth_bytes=****}");
}

TEST(CodecSemantics, PrinterShowsFieldsAndNulls) {
    MetadataRequest req;
    req.topics.reset();
    std::ostringstream os;
    os << req;
    EXPECT_EQ(os.str().rfind("MetadataRequest{topics=null, allow_auto_topic_creation=true", 0), 0u) << os.str();
}

} // namespace
} // namespace kafka
