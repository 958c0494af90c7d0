// ListOffsets by time inside one stored batch, shared by both engines.  Batches are decoded record
// by record (compressed ones decompressed first), as Kafka answers; only a batch that cannot be
// decoded answers at batch granularity from its header.
#pragma once

#include "gateway/storage/storage_engine.h"
#include "runtime/record_batch.h"

#include <cstdint>

namespace gateway {

// The first record at or after min_offset (the log start) whose timestamp is >= timestamp; offset -1
// when the batch has none.  An undecodable batch whose max_timestamp qualifies answers with its
// first offset (at least min_offset) and its max_timestamp.
TimestampOffset first_record_at_or_after(const kafka::RecordBatch& batch, int64_t timestamp, int64_t min_offset);

// The first record at or after min_offset with the batch's largest timestamp among those records.
// An undecodable batch answers with its last offset and max_timestamp.
TimestampOffset record_with_max_timestamp(const kafka::RecordBatch& batch, int64_t min_offset);

// The largest timestamp of the batch's records at or after min_offset: the header's max_timestamp,
// unless the batch starts before min_offset (DeleteRecords cut into it): then its records say.
int64_t max_timestamp_from(const kafka::RecordBatch& batch, int64_t min_offset);

} // namespace gateway
