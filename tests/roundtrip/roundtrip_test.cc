// Round trip of every message of schemas/ at every valid version, request and response headers
// included, several seeds each.  The fillers and the case list are generated (generated/testing/).
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

TEST(RoundTrip, EveryMessageEveryVersion) {
    size_t pairs = 0, runs = 0, bytes_total = 0;
    for (const MessageCase* c : all_message_cases()) {
        for (int16_t v = c->min_version; v <= c->max_version; ++v) {
            ++pairs;
            for (uint64_t i = 0; i < seeds_per_version; ++i) {
                const uint64_t seed = seed_of(c->name, v, i);
                size_t bytes = 0;
                std::string failure;
                try {
                    failure = c->check(v, seed, bytes);
                } catch (const std::exception& e) {
                    failure = std::string("exception: ") + e.what();
                }
                ++runs;
                bytes_total += bytes;
                EXPECT_EQ(failure, "") << c->name << " v" << v << " seed " << seed;
            }
        }
    }
    std::printf("round trips: %zu message x version pairs, %zu runs, %zu bytes encoded\n", pairs, runs,
                bytes_total);
    EXPECT_GT(pairs, 0u);
}

} // namespace
} // namespace kafka::testing
