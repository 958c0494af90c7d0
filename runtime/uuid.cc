#include "runtime/uuid.h"

namespace kafka {

bool Uuid::is_zero() const {
    for (uint8_t b : bytes)
        if (b != 0) return false;
    return true;
}

std::string Uuid::to_string() const {
    // URL-safe base64 without padding, as Kafka's Uuid.toString().
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve(22);
    uint32_t acc = 0;
    int bits = 0;
    for (uint8_t b : bytes) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0) out += alphabet[(acc << (6 - bits)) & 0x3f];
    return out;
}

} // namespace kafka
