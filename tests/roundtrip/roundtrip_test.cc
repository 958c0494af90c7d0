// Round trip of every message of schemas/ at every valid version, request and response headers
// included, several seeds each: one test per message.  The fillers and the case list are generated
// (generated/testing/).  A failure prints the seed that replays it.
#include "generated/testing/registry.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace kafka::testing {
namespace {

constexpr uint64_t seeds_per_version = 8;

uint64_t seed_of(std::string_view name, int16_t version, uint64_t i) {
    uint64_t h = 1469598103934665603ULL;   // FNV-1a of the name, so each message gets its own values
    for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
    return h ^ (static_cast<uint64_t>(version) << 32) ^ i;
}

class RoundTrip : public ::testing::TestWithParam<const MessageCase*> {};

TEST_P(RoundTrip, EveryVersion) {
    const MessageCase& c = *GetParam();
    size_t bytes_total = 0;
    for (int16_t v = c.min_version; v <= c.max_version; ++v) {
        for (uint64_t i = 0; i < seeds_per_version; ++i) {
            const uint64_t seed = seed_of(c.name, v, i);
            size_t bytes = 0;
            std::string failure;
            try {
                failure = c.check(v, seed, bytes);
            } catch (const std::exception& e) {
                failure = std::string("exception: ") + e.what();
            }
            bytes_total += bytes;
            EXPECT_EQ(failure, "") << c.name << " v" << v << " seed " << seed;
        }
    }
    std::printf("%.*s: versions %d-%d, %zu runs, %zu bytes\n", static_cast<int>(c.name.size()), c.name.data(),
                c.min_version, c.max_version, (c.max_version - c.min_version + 1) * seeds_per_version, bytes_total);
}

std::string case_name(const ::testing::TestParamInfo<const MessageCase*>& info) {
    return std::string(info.param->name);
}

INSTANTIATE_TEST_SUITE_P(Messages, RoundTrip, ::testing::ValuesIn(all_message_cases().begin(), all_message_cases().end()),
                         case_name);

TEST(RoundTripCoverage, CountsMessageVersionPairs) {
    size_t messages = 0, pairs = 0;
    for (const MessageCase* c : all_message_cases()) {
        ++messages;
        pairs += static_cast<size_t>(c->max_version - c->min_version + 1);
    }
    std::printf("round trips cover %zu messages, %zu message x version pairs, %zu runs\n", messages, pairs,
                pairs * seeds_per_version);
    EXPECT_EQ(messages, 100u);   // 48 APIs x request/response, 2 headers, 2 consumer protocol messages
}

} // namespace
} // namespace kafka::testing
