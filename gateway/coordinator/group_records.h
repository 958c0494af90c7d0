// What the coordinator keeps in the MetadataStore, and its encoding.
//
// Keys:
//   "offset/<group>/<topic>/<partition>"   one committed offset (topic names have no '/', so the key
//                                          is split from the right; group ids may contain '/')
//   "group/<group>"                        a group's metadata, written when a generation becomes
//                                          Stable and when the group becomes Empty; deleted when it
//                                          becomes Dead (no members, no offsets)
//
// Values are big-endian binary, led by a version byte (0 today; a reader refuses other versions):
//   offset v0: int64 offset, int32 leader_epoch, int64 commit_timestamp_ms, int64 expire_timestamp_ms
//              (-1: none; set by OffsetCommit v2-4 retention_time_ms), bytes metadata
//   group v0:  nullable-string protocol_type, int32 generation, nullable-string protocol_name,
//              nullable-string leader, int64 state_timestamp_ms (when the group entered its state),
//              int32 member count, then per member: string member_id, nullable-string
//              group_instance_id, string client_id, string client_host, int32 session_timeout_ms,
//              int32 rebalance_timeout_ms, int32 protocol count, (string name, bytes metadata)...,
//              bytes assignment
// Strings are int16 length + UTF-8 (-1: null), bytes are int32 length + bytes.
#pragma once

#include "gateway/storage/storage_engine.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gateway {

struct StoredOffset {
    int64_t offset = -1;
    int32_t leader_epoch = -1;
    std::string metadata;
    int64_t commit_timestamp_ms = 0;
    int64_t expire_timestamp_ms = -1;
    friend bool operator==(const StoredOffset&, const StoredOffset&) = default;
};

struct StoredMember {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::vector<std::pair<std::string, std::string>> protocols;   // name, metadata
    std::string assignment;
    friend bool operator==(const StoredMember&, const StoredMember&) = default;
};

struct StoredGroup {
    std::optional<std::string> protocol_type;
    int32_t generation = 0;
    std::optional<std::string> protocol_name;
    std::optional<std::string> leader;
    int64_t state_timestamp_ms = 0;
    std::vector<StoredMember> members;
    friend bool operator==(const StoredGroup&, const StoredGroup&) = default;
};

inline constexpr std::string_view offset_key_prefix = "offset/";
inline constexpr std::string_view group_key_prefix = "group/";

std::string offset_key(std::string_view group, const TopicPartition& tp);
// Splits an offset key; false when it is not one.
bool parse_offset_key(std::string_view key, std::string& group, TopicPartition& tp);
std::string group_key(std::string_view group);

std::string encode_offset(const StoredOffset& o);
std::optional<StoredOffset> decode_offset(std::string_view value);   // nullopt: not a v0 record
std::string encode_group(const StoredGroup& g);
std::optional<StoredGroup> decode_group(std::string_view value);

} // namespace gateway
