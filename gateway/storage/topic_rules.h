// The topic rules both engines share: Kafka's name rule (1 to 249 of [a-zA-Z0-9._-], not "." or
// "..") — checked here too because the file engine makes directory names of topic names —, a ceiling
// on partitions per topic, and how a new topic gets its id.
#pragma once

#include "gateway/storage/storage_engine.h"
#include "runtime/uuid.h"

#include <cstdint>
#include <string_view>

namespace gateway {

inline constexpr size_t max_topic_name_length = 249;

// A guard against a request that would create millions of partitions (directories, for the file
// engine), far more than one gateway can serve.
inline constexpr int32_t max_partitions_per_topic = 100000;

bool is_legal_topic_name(std::string_view name);

// invalid_partitions unless 0 < partitions <= max_partitions_per_topic.
StorageErrc check_partition_count(int32_t partitions);

// A random (version 4) topic id, never zero and never printed with a leading '-', as Kafka's
// Uuid.randomUuid() (such ids would read as command-line options).
kafka::Uuid new_topic_id();

} // namespace gateway
