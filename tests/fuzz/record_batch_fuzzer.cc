// libFuzzer target for record parsing: a `records` payload split into v2 batches (validated, records
// decoded when uncompressed) or read as a legacy message set.
#include "runtime/message_set.h"
#include "runtime/record_batch.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    kafka::Bytes records = kafka::Bytes::copy_of(std::span(data, size));
    try {
        if (kafka::records_format(records.span()) == kafka::RecordsFormat::message_set) {
            kafka::MessageSetReader reader(records, kafka::PartialTail::stop);
            while (auto m = reader.next()) (void)m;
            return 0;
        }
        kafka::RecordBatchReader reader(records, kafka::PartialTail::stop);
        while (auto b = reader.next()) {
            try {
                kafka::validate_record_batch(b->bytes.span());
            } catch (const kafka::DecodeError&) {
                continue;   // still try to decode the records: the decoder must be safe on its own
            }
            if (b->header.compression() == kafka::CompressionCodec::none) (void)kafka::decode_records(b->bytes);
        }
    } catch (const kafka::DecodeError&) {
    }
    return 0;
}
