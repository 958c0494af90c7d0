// The file that makes a topic exist in a file:// directory, DIR/<topic>.topic: its id, partition
// count and configuration as `key=value` lines.  Written atomically (a temporary file renamed over
// it) and last when a topic is created, removed first when it is deleted, so that a crash never
// leaves a topic half there: partition directories no metadata names are leftovers.
//
//   # kafka-gateway topic
//   id=8f1c0c6e6b7d4b1e9a3e0a5b2c4d6e8f      (hex; Kafka prints it as base64)
//   partitions=3
//   retention.ms=604800000
//   ...                                       (every TopicConfig field, by its Kafka name)
//   config.compression.type=producer          (TopicConfig::other, percent-encoded)
#pragma once

#include "gateway/storage/storage_engine.h"

#include <string>
#include <string_view>

namespace gateway {

std::string encode_topic_metadata(const TopicInfo& topic);

// Throws std::runtime_error naming the line that is wrong.
TopicInfo decode_topic_metadata(std::string_view text, const std::string& name);

} // namespace gateway
