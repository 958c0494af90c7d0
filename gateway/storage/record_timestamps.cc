#include "gateway/storage/record_timestamps.h"

#include "runtime/codec_error.h"
#include "runtime/compression.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace gateway {
namespace {

// The records of a batch, decompressed when it is compressed (only this batch: callers ask for the
// one batch the answer is in); nothing for one that cannot be decoded (defensively: Produce checked
// it), whose callers then answer from the header.
std::optional<std::vector<kafka::Record>> records_of(const kafka::RecordBatch& batch) {
    try {
        return kafka::decode_records(batch.bytes, kafka::default_max_decompressed_size);
    } catch (const kafka::DecodeError&) {
        return std::nullopt;
    }
}

} // namespace

TimestampOffset first_record_at_or_after(const kafka::RecordBatch& batch, int64_t timestamp, int64_t min_offset) {
    const kafka::RecordBatchHeader& h = batch.header;
    if (h.max_timestamp < timestamp || h.last_offset() < min_offset) return {};
    std::optional<std::vector<kafka::Record>> records = records_of(batch);
    if (!records) return {StorageErrc::none, std::max(h.base_offset, min_offset), h.max_timestamp};
    for (const kafka::Record& r : *records) {
        const int64_t offset = h.offset_of(r);
        const int64_t ts = h.timestamp_of(r);
        if (offset >= min_offset && ts >= timestamp) return {StorageErrc::none, offset, ts};
    }
    return {};
}

TimestampOffset record_with_max_timestamp(const kafka::RecordBatch& batch, int64_t min_offset) {
    const kafka::RecordBatchHeader& h = batch.header;
    if (h.last_offset() < min_offset) return {};
    std::optional<std::vector<kafka::Record>> records = records_of(batch);
    if (!records) return {StorageErrc::none, h.last_offset(), h.max_timestamp};
    TimestampOffset best;
    for (const kafka::Record& r : *records) {
        const int64_t offset = h.offset_of(r);
        const int64_t ts = h.timestamp_of(r);
        if (offset >= min_offset && (best.offset < 0 || ts > best.timestamp)) best = {StorageErrc::none, offset, ts};
    }
    return best;
}

int64_t max_timestamp_from(const kafka::RecordBatch& batch, int64_t min_offset) {
    if (batch.header.base_offset >= min_offset) return batch.header.max_timestamp;
    return record_with_max_timestamp(batch, min_offset).timestamp;
}

} // namespace gateway
