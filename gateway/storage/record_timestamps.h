// ListOffsets by time inside one stored batch, shared by both engines.  Uncompressed batches are
// decoded record by record, as Kafka answers; compressed ones (the gateway has no codecs) answer at
// batch granularity from the header.
#pragma once

#include "gateway/storage/storage_engine.h"
#include "runtime/record_batch.h"

#include <cstdint>

namespace gateway {

// The first record at or after min_offset (the log start) whose timestamp is >= timestamp; offset -1
// when the batch has none.  A compressed batch whose max_timestamp qualifies answers with its first
// offset (at least min_offset) and its max_timestamp.
TimestampOffset first_record_at_or_after(const kafka::RecordBatch& batch, int64_t timestamp, int64_t min_offset);

// The first record at or after min_offset with the batch's largest timestamp among those records.
// A compressed batch answers with its last offset and max_timestamp, as Kafka did before KIP-734's
// fix (it could not see inside either).
TimestampOffset record_with_max_timestamp(const kafka::RecordBatch& batch, int64_t min_offset);

// The largest timestamp of the batch's records at or after min_offset: the header's max_timestamp,
// unless the batch starts before min_offset (DeleteRecords cut into it) and is uncompressed.
int64_t max_timestamp_from(const kafka::RecordBatch& batch, int64_t min_offset);

} // namespace gateway
