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
// Advancing a CRC state over `len` zero bytes is linear in the state's 32 bits, so it is four byte-indexed
// tables: shift(s) = t[0][s & 0xff] ^ t[1][(s >> 8) & 0xff] ^ t[2][(s >> 16) & 0xff] ^ t[3][s >> 24].
using ShiftTables = std::array<std::array<uint32_t, 256>, 4>;

// The lane length of the three-lane loop below.  Each 3 * lane_bytes step ends in two shifts (eight lookups),
// so longer lanes cost less per byte; batches shorter than three lanes take the one-lane loop.
constexpr size_t lane_bytes = 1024;

uint32_t shift_by(const ShiftTables& t, uint32_t s) {
    return t[0][s & 0xff] ^ t[1][(s >> 8) & 0xff] ^ t[2][(s >> 16) & 0xff] ^ t[3][s >> 24];
}

__attribute__((target("sse4.2"))) ShiftTables make_shift_tables(size_t len) {
    std::array<uint32_t, 32> bit{};   // bit[i]: the state 1 << i advanced over len zero bytes
    for (size_t i = 0; i < 32; ++i) {
        uint64_t s = uint64_t{1} << i;
        for (size_t k = 0; k < len / 8; ++k) s = _mm_crc32_u64(s, 0);
        for (size_t k = 0; k < len % 8; ++k) s = _mm_crc32_u8(static_cast<uint32_t>(s), 0);
        bit[i] = static_cast<uint32_t>(s);
    }
    ShiftTables t{};
    for (size_t byte = 0; byte < 4; ++byte)
        for (uint32_t v = 0; v < 256; ++v)
            for (size_t b = 0; b < 8; ++b)
                if ((v >> b) & 1) t[byte][v] ^= bit[byte * 8 + b];
    return t;
}

// Compiled for SSE4.2 on its own so the rest of the program (and the build) needs no -msse4.2; only
// called after the CPU check below.  The crc32 instruction takes three cycles but starts one each cycle, so
// long inputs run as three independent lanes of lane_bytes (lanes 2 and 3 from state 0) joined by linearity:
// crc(A B C) = shift(crc(A), 2 * lane) ^ shift(crc(B), lane) ^ crc(C).
__attribute__((target("sse4.2"))) uint32_t update_sse42(const uint8_t* p, size_t n, uint32_t state) {
    uint64_t s = state;
    // Align so the 8-byte loads do not straddle cache lines.
    while (n != 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
        s = _mm_crc32_u8(static_cast<uint32_t>(s), *p++);
        --n;
    }
    if (n >= 3 * lane_bytes) {
        static const ShiftTables by_one_lane = make_shift_tables(lane_bytes);
        static const ShiftTables by_two_lanes = make_shift_tables(2 * lane_bytes);
        do {
            uint64_t s1 = 0, s2 = 0;
            const uint8_t* q1 = p + lane_bytes;
            const uint8_t* q2 = p + 2 * lane_bytes;
            for (size_t k = 0; k < lane_bytes; k += 8) {
                uint64_t w0, w1, w2;
                std::memcpy(&w0, p + k, 8);
                std::memcpy(&w1, q1 + k, 8);
                std::memcpy(&w2, q2 + k, 8);
                s = _mm_crc32_u64(s, w0);
                s1 = _mm_crc32_u64(s1, w1);
                s2 = _mm_crc32_u64(s2, w2);
            }
            s = shift_by(by_two_lanes, static_cast<uint32_t>(s)) ^ shift_by(by_one_lane, static_cast<uint32_t>(s1)) ^
                static_cast<uint32_t>(s2);
            p += 3 * lane_bytes;
            n -= 3 * lane_bytes;
        } while (n >= 3 * lane_bytes);
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
