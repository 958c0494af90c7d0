#include "gateway/storage/prepared_append.h"

#include "runtime/codec_error.h"
#include "runtime/crc32c.h"

#include <algorithm>
#include <cstring>

namespace gateway {
namespace {

void store_be(uint8_t* p, uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (width - 1 - i)));
}

PreparedAppend failure(StorageErrc error) {
    PreparedAppend p;
    p.error = error;
    return p;
}

// Kafka's DefaultRecordBatch.setMaxTimestamp: the attributes say LogAppendTime, max_timestamp is the
// append time, and the CRC (which covers both) is computed again.
void stamp_log_append_time(PreparedBatch& batch, int64_t now_ms) {
    namespace at = kafka::batch_offset;
    uint8_t* h = batch.header.data();
    uint16_t attributes = static_cast<uint16_t>((h[at::attributes] << 8) | h[at::attributes + 1]);
    attributes |= 0x08;
    store_be(h + at::attributes, attributes, 2);
    store_be(h + at::max_timestamp, static_cast<uint64_t>(now_ms), 8);
    uint32_t crc = kafka::crc32c(h + at::attributes, kafka::RecordBatchHeader::size - at::attributes);
    crc = kafka::crc32c(batch.records.data(), batch.records.size(), crc);
    store_be(h + at::crc, crc, 4);
    batch.max_timestamp = now_ms;
}

} // namespace

void PreparedAppend::assign_offsets(int64_t base_offset) {
    for (PreparedBatch& b : batches) {
        kafka::set_base_offset(b.header, base_offset);
        base_offset += b.offset_count;
    }
}

void PreparedAppend::copy_to(uint8_t* out) const {
    for (const PreparedBatch& b : batches) {
        out = std::copy(b.header.begin(), b.header.end(), out);
        if (!b.records.empty()) out = std::copy(b.records.begin(), b.records.end(), out);
    }
}

PreparedAppend prepare_append(std::span<const uint8_t> input, std::optional<int64_t> log_append_time) {
    PreparedAppend prepared;
    if (log_append_time) prepared.log_append_time = *log_append_time;
    // A view without an owner: the reader and the batches it yields live only during this call.
    kafka::RecordBatchReader reader(kafka::Bytes(nullptr, input.data(), input.size()), kafka::PartialTail::reject);
    size_t position = 0;
    try {
        while (true) {
            // Only v2 batches are stored (legacy message sets are converted, or refused, by the caller).
            const size_t magic_at = position + kafka::batch_offset::magic;
            if (magic_at < input.size() && input[magic_at] != 2)
                return failure(StorageErrc::invalid_record);
            std::optional<kafka::RecordBatch> batch = reader.next();
            if (!batch) break;
            const kafka::RecordBatchHeader& h = batch->header;
            // Offsets are given per record: a batch must have one record per offset it spans (Kafka's
            // LogValidator checks the same).
            if (h.records_count <= 0 || int64_t{h.records_count} != int64_t{h.last_offset_delta} + 1)
                return failure(StorageErrc::invalid_record);
            PreparedBatch p;
            std::memcpy(p.header.data(), batch->bytes.data(), p.header.size());
            p.records = input.subspan(position + p.header.size(), batch->bytes.size() - p.header.size());
            p.offset_count = int64_t{h.last_offset_delta} + 1;
            p.max_timestamp = h.max_timestamp;
            if (log_append_time) stamp_log_append_time(p, *log_append_time);
            prepared.offset_count += p.offset_count;
            prepared.size += p.size();
            position += p.size();
            prepared.batches.push_back(p);
        }
    } catch (const kafka::DecodeError&) {
        return failure(StorageErrc::corrupt_message);
    }
    return prepared;
}

} // namespace gateway
