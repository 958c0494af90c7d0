// Kafka's 128-bit UUID (topic ids, member ids in KIP-848), printed as Kafka prints it: URL-safe
// base64 without padding.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace kafka {

struct Uuid {
    std::array<uint8_t, 16> bytes{};

    bool is_zero() const;
    std::string to_string() const;
    friend bool operator==(const Uuid&, const Uuid&) = default;
};

} // namespace kafka
