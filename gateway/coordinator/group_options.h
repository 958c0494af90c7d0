// Settings of the group coordinator, under Kafka's property names (gateway/config.cc parses them).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gateway {

struct GroupOptions {
    int64_t initial_rebalance_delay_ms = 3000;           // group.initial.rebalance.delay.ms
    int32_t min_session_timeout_ms = 6000;               // group.min.session.timeout.ms
    int32_t max_session_timeout_ms = 1800000;            // group.max.session.timeout.ms
    int32_t max_size = INT32_MAX;                        // group.max.size
    int64_t offsets_retention_ms = 10080LL * 60000;      // offsets.retention.minutes
    int64_t offsets_retention_check_interval_ms = 600000;   // offsets.retention.check.interval.ms
    size_t offset_metadata_max_bytes = 4096;             // offset.metadata.max.bytes
    int64_t new_member_join_timeout_ms = 300000;         // Kafka's fixed NewMemberJoinTimeoutMs
};

} // namespace gateway
