#include "gateway/error_codes.h"

namespace gateway {

ErrorCode to_error_code(StorageErrc e) {
    switch (e) {
    case StorageErrc::none: return ErrorCode::none;
    case StorageErrc::unknown_topic_or_partition: return ErrorCode::unknown_topic_or_partition;
    case StorageErrc::topic_already_exists: return ErrorCode::topic_already_exists;
    case StorageErrc::invalid_partitions: return ErrorCode::invalid_partitions;
    case StorageErrc::offset_out_of_range: return ErrorCode::offset_out_of_range;
    case StorageErrc::corrupt_message: return ErrorCode::corrupt_message;
    case StorageErrc::invalid_record: return ErrorCode::invalid_record;
    case StorageErrc::storage_error: return ErrorCode::kafka_storage_error;
    case StorageErrc::timed_out: return ErrorCode::request_timed_out;
    }
    return ErrorCode::unknown_server_error;
}

} // namespace gateway
