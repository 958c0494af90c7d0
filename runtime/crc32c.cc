#include "runtime/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace kafka {
namespace {

constexpr uint32_t castagnoli_reflected = 0x82F63B78;

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the CRC of byte b followed by k zero
// bytes, which lets the loop below fold 8 input bytes with 8 independent lookups.
using SlicingTables = std::array<std::array<uint32_t, 256>, 8>;

constexpr SlicingTables make_slicing_tables() {
    SlicingTables t{};
    for (uint32_t b = 0; b < 256; ++b) {
        uint32_t crc = b;
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (castagnoli_reflected & (0u - (crc & 1)));
        t[0][b] = crc;
    }
    for (size_t k = 1; k < 8; ++k)
        for (size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    return t;
}

constexpr SlicingTables slicing_tables = make_slicing_tables();

// Assembled byte by byte so the table path is also right on a big-endian machine; compilers turn
// this into one load on little-endian ones.
inline uint32_t load_le32(const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// `state` is the inverted CRC, as the algorithm carries it.
uint32_t update_portable(const uint8_t* p, size_t n, uint32_t state) {
    const auto& t = slicing_tables;
    while (n >= 8) {
        uint32_t lo = load_le32(p) ^ state;
        uint32_t hi = load_le32(p + 4);
        state = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
                t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- != 0) state = (state >> 8) ^ t[0][(state ^ *p++) & 0xff];
    return state;
}

#if defined(__x86_64__)
// Compiled for SSE4.2 on its own so the rest of the program (and the build) needs no -msse4.2; only
// called after the CPU check below.
__attribute__((target("sse4.2"))) uint32_t update_sse42(const uint8_t* p, size_t n, uint32_t state) {
    uint64_t s = state;
    // Align so the 8-byte loads do not straddle cache lines.
    while (n != 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
        s = _mm_crc32_u8(static_cast<uint32_t>(s), *p++);
        --n;
    }
    while (n >= 8) {
        uint64_t word;
        std::memcpy(&word, p, 8);
        s = _mm_crc32_u64(s, word);
        p += 8;
        n -= 8;
    }
    while (n-- != 0) s = _mm_crc32_u8(static_cast<uint32_t>(s), *p++);
    return static_cast<uint32_t>(s);
}

bool cpu_has_sse42() { return __builtin_cpu_supports("sse4.2"); }
#else
uint32_t update_sse42(const uint8_t* p, size_t n, uint32_t state) { return update_portable(p, n, state); }
bool cpu_has_sse42() { return false; }
#endif

using UpdateFn = uint32_t (*)(const uint8_t*, size_t, uint32_t);

UpdateFn best_update() {
    static const UpdateFn chosen = cpu_has_sse42() ? update_sse42 : update_portable;
    return chosen;
}

} // namespace

uint32_t crc32c(const void* data, size_t n, uint32_t crc) {
    return ~best_update()(static_cast<const uint8_t*>(data), n, ~crc);
}

uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc) {
    return ~update_portable(static_cast<const uint8_t*>(data), n, ~crc);
}

bool crc32c_uses_hardware() { return best_update() != update_portable; }

} // namespace kafka
