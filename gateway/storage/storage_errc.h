// What storage operations report; handlers map it to Kafka error codes in one place (error_codes.cc).
#pragma once

#include <cstdint>

namespace gateway {

enum class StorageErrc : uint8_t {
    none,
    unknown_topic_or_partition,
    topic_already_exists,
    invalid_partitions,        // a partition count that is not positive, or fewer than today
    offset_out_of_range,
    corrupt_message,           // a batch failed validation (bad CRC, bad framing)
    invalid_record,            // e.g. a non-v2 batch given to append_batches
    storage_error,             // I/O failure: KAFKA_STORAGE_ERROR
    timed_out,                 // not durable in time (acks=-1): REQUEST_TIMED_OUT
};

} // namespace gateway
