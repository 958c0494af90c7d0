// libFuzzer target for record parsing: a `records` payload split into v2 batches (validated, records
// decoded, compressed ones decompressed, and converted down to legacy message sets as Fetch v0-3
// does) or read as a legacy message set (compressed wrappers opened).  Decompression is bounded by a
// small limit so that bombs end in CompressionError, not in memory exhaustion.
#include "runtime/compression.h"
#include "runtime/message_set.h"
#include "runtime/record_batch.h"

#include <cstdint>

namespace {

constexpr size_t max_decompressed = 1 << 20;

void read_message_set(const kafka::Bytes& records) {
    kafka::MessageSetReader reader(records, kafka::PartialTail::stop);
    while (auto m = reader.next()) {
        if (m->compression() == kafka::CompressionCodec::none) continue;
        try {
            for (const kafka::LegacyMessage& inner : kafka::inner_messages(*m, max_decompressed)) (void)inner;
        } catch (const kafka::DecodeError&) {
            // the next wrapper may still be fine
        }
    }
}

void read_batches(const kafka::Bytes& records) {
    kafka::RecordBatchReader reader(records, kafka::PartialTail::stop);
    while (auto b = reader.next()) {
        try {
            kafka::validate_record_batch(b->bytes.span());
        } catch (const kafka::DecodeError&) {
            // still decode the records: the decoder must be safe on its own
        }
        try {
            (void)kafka::decode_records(b->bytes, max_decompressed);
        } catch (const kafka::DecodeError&) {
        }
    }
    for (int8_t magic : {int8_t{0}, int8_t{1}}) {
        try {
            (void)kafka::down_convert(records, magic, 0, 64 << 10, max_decompressed);
        } catch (const kafka::DecodeError&) {
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    kafka::Bytes records = kafka::Bytes::copy_of(std::span(data, size));
    try {
        if (kafka::records_format(records.span()) == kafka::RecordsFormat::message_set) read_message_set(records);
        else read_batches(records);
    } catch (const kafka::DecodeError&) {
    }
    // The codecs alone, on the raw input.
    if (size > 0) {
        const auto codec = static_cast<kafka::CompressionCodec>(1 + data[0] % 4);
        try {
            (void)kafka::decompress(codec, std::span(data + 1, size - 1), max_decompressed,
                                    data[0] & 0x80 ? kafka::Lz4Framing::kafka_magic_v0 : kafka::Lz4Framing::standard);
        } catch (const kafka::DecodeError&) {
        }
    }
    return 0;
}
