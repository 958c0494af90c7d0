// A producer's batches made ready for a log, shared by both engines: split at batch boundaries and
// checked, each 61-byte header copied so that the log can stamp offsets (and LogAppendTime) into the
// copy while the records stay where the caller has them.  The file engine then writes header and
// records with one gather write; the memory engine copies both into its buffer.
#pragma once

#include "gateway/storage/storage_engine.h"
#include "runtime/record_batch.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gateway {

struct PreparedBatch {
    // The header as it will be stored: base offset assigned, and with LogAppendTime the timestamp
    // type bit, max_timestamp and CRC rewritten.
    std::array<uint8_t, kafka::RecordBatchHeader::size> header{};
    std::span<const uint8_t> records;   // the bytes after the header, in the caller's buffer
    int64_t offset_count = 0;           // last_offset_delta + 1
    int64_t max_timestamp = -1;

    size_t size() const { return header.size() + records.size(); }
};

struct PreparedAppend {
    StorageErrc error = StorageErrc::none;
    std::vector<PreparedBatch> batches;
    int64_t offset_count = 0;           // offsets the batches take, together
    size_t size = 0;                    // bytes, together
    int64_t log_append_time = -1;       // the time stamped in, or -1

    // Gives the batches consecutive offsets from base_offset.
    void assign_offsets(int64_t base_offset);
    // Writes the batches, as stamped, to out[0, size).
    void copy_to(uint8_t* out) const;
};

// Splits `batches` (v2 batches back to back, validated by the caller).  invalid_record for a batch
// that is not v2 or whose records_count is not last_offset_delta + 1 (offsets must match records);
// corrupt_message for bad framing.  With log_append_time (ms since the epoch) each batch gets
// timestamp type LogAppendTime with that max_timestamp, as Kafka does, and so a new CRC.
PreparedAppend prepare_append(std::span<const uint8_t> batches, std::optional<int64_t> log_append_time);

} // namespace gateway
