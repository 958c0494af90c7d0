// The request header as the connection and the fuzzer parse it.
#include "runtime/request_frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace kafka {
namespace {

Bytes frame(std::vector<uint8_t> bytes) { return Bytes::copy_of(std::span<const uint8_t>(bytes)); }

TEST(RequestFrame, ParsesClassicAndFlexibleHeaders) {
    // Metadata v1 (header v1): key 3, version 1, correlation 9, client id "ab", then a body byte.
    RequestFrame v1 = parse_request_frame(frame({0, 3, 0, 1, 0, 0, 0, 9, 0, 2, 'a', 'b', 0x77}));
    EXPECT_EQ(v1.header.api_key, 3);
    EXPECT_EQ(v1.header.correlation_id, 9);
    EXPECT_EQ(v1.header.client_id, "ab");
    EXPECT_EQ(v1.header.response_header_version, 0);
    ASSERT_EQ(v1.body.size(), 1u);
    EXPECT_EQ(v1.body.data()[0], 0x77);
    // Metadata v9 (header v2): the client id stays a classic string, then a tagged-field section.
    RequestFrame v9 = parse_request_frame(frame({0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0x00, 0x55}));
    EXPECT_FALSE(v9.header.client_id.has_value());
    EXPECT_EQ(v9.header.response_header_version, 1);
    ASSERT_EQ(v9.body.size(), 1u);
    // ApiVersions answers with header v0 even when flexible.
    EXPECT_EQ(parse_request_frame(frame({0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0x00})).header.response_header_version, 0);
}

TEST(RequestFrame, FaultsAreProtocolFaults) {
    EXPECT_THROW(parse_request_frame(frame({0, 3, 0})), ProtocolFault);                          // too short
    EXPECT_THROW(parse_request_frame(frame({0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0, 0})), ProtocolFault);  // key 999
    EXPECT_THROW(parse_request_frame(frame({0, 3, 0, 1, 0, 0, 0, 9, 0, 5, 'a'})), ProtocolFault);   // short client id
    try {
        parse_request_frame(frame({0x03, 0xe7, 0, 0, 0, 0, 0, 1}));
    } catch (const ProtocolFault& e) {
        EXPECT_NE(std::string(e.what()).find("unknown API key 999"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace kafka
