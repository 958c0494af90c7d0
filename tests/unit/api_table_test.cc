// The generated API table and traits agree with the schemas and with Kafka's header rules.
#include "generated/api_table.h"
#include "generated/api_traits.h"
#include "generated/produce_request.h"
#include "generated/produce_response.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace kafka {
namespace {

TEST(ApiTable, FindsKnownKeysAndRejectsUnknown) {
    const ApiInfo* produce = find_api(0);
    ASSERT_NE(produce, nullptr);
    EXPECT_EQ(produce->name, "Produce");
    EXPECT_EQ(produce->min_version, 0);
    EXPECT_EQ(produce->max_version, 11);
    EXPECT_EQ(produce->first_flexible_version, 9);
    EXPECT_EQ(find_api(-1), nullptr);
    EXPECT_EQ(find_api(9999), nullptr);
    EXPECT_EQ(find_api(4), nullptr);   // LeaderAndIsr: broker-internal, not in our schemas
}

TEST(ApiTable, HeaderVersions) {
    const ApiInfo& produce = *find_api(0);
    EXPECT_EQ(request_header_version(produce, 8), 1);
    EXPECT_EQ(request_header_version(produce, 9), 2);
    EXPECT_EQ(response_header_version(produce, 8), 0);
    EXPECT_EQ(response_header_version(produce, 9), 1);
    const ApiInfo& api_versions = *find_api(18);
    EXPECT_EQ(request_header_version(api_versions, 3), 2);
    EXPECT_EQ(response_header_version(api_versions, 3), 0);   // always v0, see KIP-511
}

TEST(ApiTraits, PairRequestAndResponse) {
    static_assert(std::is_same_v<ProduceApi::request_type, ProduceRequest>);
    static_assert(std::is_same_v<ProduceApi::response_type, ProduceResponse>);
    static_assert(ProduceApi::key == ProduceRequest::api_key);
    static_assert(ProduceApi::max_version == ProduceResponse::max_version);
    EXPECT_EQ(FetchApi::name, "Fetch");
    EXPECT_EQ(api_table().size(), 48u);
}

} // namespace
} // namespace kafka
