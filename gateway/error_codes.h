// Kafka protocol error codes the gateway returns (org.apache.kafka.common.protocol.Errors), and the
// one mapping from storage outcomes to them.
#pragma once

#include "gateway/storage/storage_engine.h"

#include <cstdint>

namespace gateway {

enum class ErrorCode : int16_t {
    unknown_server_error = -1,
    none = 0,
    offset_out_of_range = 1,
    corrupt_message = 2,
    unknown_topic_or_partition = 3,
    invalid_fetch_size = 4,
    leader_not_available = 5,
    not_leader_or_follower = 6,
    request_timed_out = 7,
    message_too_large = 10,
    offset_metadata_too_large = 12,
    coordinator_load_in_progress = 14,
    coordinator_not_available = 15,
    not_coordinator = 16,
    invalid_topic_exception = 17,
    record_list_too_large = 18,
    not_enough_replicas = 19,
    invalid_required_acks = 21,
    illegal_generation = 22,
    inconsistent_group_protocol = 23,
    invalid_group_id = 24,
    unknown_member_id = 25,
    invalid_session_timeout = 26,
    rebalance_in_progress = 27,
    invalid_commit_offset_size = 28,
    topic_authorization_failed = 29,
    cluster_authorization_failed = 31,
    invalid_timestamp = 32,
    unsupported_sasl_mechanism = 33,
    unsupported_version = 35,
    topic_already_exists = 36,
    invalid_partitions = 37,
    invalid_replication_factor = 38,
    invalid_replica_assignment = 39,
    invalid_config = 40,
    invalid_request = 42,
    policy_violation = 44,
    out_of_order_sequence_number = 45,
    duplicate_sequence_number = 46,
    invalid_producer_epoch = 47,
    invalid_producer_id_mapping = 49,
    unsupported_for_message_format = 43,
    kafka_storage_error = 56,
    log_dir_not_found = 57,
    sasl_authentication_failed = 58,
    unknown_producer_id = 59,
    feature_disabled = 62,
    non_empty_group = 68,
    group_id_not_found = 69,
    fetch_session_id_not_found = 70,
    invalid_fetch_session_epoch = 71,
    member_id_required = 79,
    group_max_size_reached = 81,
    fenced_instance_id = 82,
    group_subscribed_to_topic = 86,
    invalid_record = 87,
    unstable_offset_commit = 88,
    unknown_topic_id = 100,
    inconsistent_topic_id = 103,
    transactional_id_not_found = 105,
    fetch_session_topic_id_error = 106,
};

constexpr int16_t code(ErrorCode e) { return static_cast<int16_t>(e); }

// The Kafka error a storage outcome means to a client.
ErrorCode to_error_code(StorageErrc e);

} // namespace gateway
