#include "runtime/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <random>
#include <string_view>
#include <vector>

namespace kafka {
namespace {

uint32_t crc_of(std::string_view s) { return crc32c(s.data(), s.size()); }

// Check values from RFC 3720 (iSCSI) appendix B.4 and the usual "123456789" check string.
TEST(Crc32c, KnownVectors) {
    std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xff), ascending(32), descending(32);
    std::iota(ascending.begin(), ascending.end(), uint8_t{0});
    for (size_t i = 0; i < 32; ++i) descending[i] = static_cast<uint8_t>(31 - i);

    for (auto* fn : {&crc32c, &crc32c_portable}) {
        EXPECT_EQ(fn("123456789", 9, 0), 0xE3069283u);
        EXPECT_EQ(fn("", 0, 0), 0u);
        EXPECT_EQ(fn(zeros.data(), 32, 0), 0x8A9136AAu);
        EXPECT_EQ(fn(ones.data(), 32, 0), 0x62A8AB43u);
        EXPECT_EQ(fn(ascending.data(), 32, 0), 0x46DD794Eu);
        EXPECT_EQ(fn(descending.data(), 32, 0), 0x113FDB5Cu);
    }
}

TEST(Crc32c, ChainingEqualsOnePass) {
    std::string_view text = "The quick brown fox jumps over the lazy dog, and then some more text to pass 64 bytes.";
    const uint32_t whole = crc_of(text);
    for (size_t cut = 0; cut <= text.size(); ++cut) {
        uint32_t first = crc_of(text.substr(0, cut));
        EXPECT_EQ(crc32c(text.data() + cut, text.size() - cut, first), whole) << "cut at " << cut;
        EXPECT_EQ(crc32c_portable(text.data() + cut, text.size() - cut, crc32c_portable(text.data(), cut)), whole);
    }
}

TEST(Crc32c, EmptyInputKeepsTheRunningValue) {
    const uint32_t running = crc_of("abc");
    EXPECT_EQ(crc32c("", 0, running), running);
    EXPECT_EQ(crc32c_portable("", 0, running), running);
}

// Compares the dispatching crc32c() (the SSE4.2 path on most x86 machines) with the table path on
// random data of every length up to 300 and at every alignment up to 16, plus a few large sizes.
TEST(Crc32c, DispatchedMatchesPortableOnRandomData) {
    RecordProperty("hardware", crc32c_uses_hardware() ? "sse4.2" : "none");
    std::mt19937 rng(12345);
    std::vector<uint8_t> data(70000 + 16);
    for (uint8_t& b : data) b = static_cast<uint8_t>(rng());

    for (size_t align = 0; align < 16; ++align) {
        for (size_t n = 0; n <= 300; ++n) {
            const uint8_t* p = data.data() + align;
            uint32_t seed = static_cast<uint32_t>(rng());
            ASSERT_EQ(crc32c(p, n), crc32c_portable(p, n)) << "align " << align << " length " << n;
            ASSERT_EQ(crc32c(p, n, seed), crc32c_portable(p, n, seed)) << "align " << align << " length " << n;
        }
    }
    for (size_t n : {1024u, 4095u, 4096u, 65535u, 65536u, 70000u}) {
        for (size_t align : {0u, 1u, 3u, 7u}) {
            const uint8_t* p = data.data() + align;
            EXPECT_EQ(crc32c(p, n), crc32c_portable(p, n)) << "align " << align << " length " << n;
        }
    }
}

// Long inputs take a multi-lane loop whose lanes are joined at every step: every length from 2 KiB to 13 KiB
// (one to several steps of it, and every remainder after them) at two alignments, with a seed.
TEST(Crc32c, DispatchedMatchesPortableAcrossLaneBoundaries) {
    std::mt19937 rng(777);
    std::vector<uint8_t> data(13 * 1024 + 8);
    for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
    for (size_t align : {0u, 5u}) {
        for (size_t n = 2 * 1024; n + align <= data.size(); ++n) {
            const uint8_t* p = data.data() + align;
            const uint32_t seed = static_cast<uint32_t>(rng());
            ASSERT_EQ(crc32c(p, n, seed), crc32c_portable(p, n, seed)) << "align " << align << " length " << n;
        }
    }
}

} // namespace
} // namespace kafka
