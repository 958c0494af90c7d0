#include "gateway/storage/topic_rules.h"

#include <random>

namespace gateway {

bool is_legal_topic_name(std::string_view name) {
    if (name.empty() || name.size() > max_topic_name_length || name == "." || name == "..") return false;
    for (char c : name) {
        bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                     c == '_' || c == '-';
        if (!legal) return false;
    }
    return true;
}

StorageErrc check_partition_count(int32_t partitions) {
    return partitions > 0 && partitions <= max_partitions_per_topic ? StorageErrc::none
                                                                    : StorageErrc::invalid_partitions;
}

kafka::Uuid new_topic_id() {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    while (true) {
        kafka::Uuid id;
        for (size_t i = 0; i < id.bytes.size(); i += 8) {
            uint64_t r = random();
            for (size_t j = 0; j < 8; ++j) id.bytes[i + j] = static_cast<uint8_t>(r >> (8 * j));
        }
        id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40); // version 4
        id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80); // IETF variant
        if (!id.is_zero() && id.to_string()[0] != '-') return id;
    }
}

} // namespace gateway
