#include "gateway/storage/seaweedmq/stored_record.h"

#include "runtime/reader.h"
#include "runtime/writer.h"

#include <cstring>
#include <limits>

namespace gateway::seaweedmq {
namespace {

std::string_view view_of(const kafka::Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

kafka::Bytes bytes_of(std::string_view s) {
    return kafka::Bytes(nullptr, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

constexpr int8_t flag_key_null = 1;
constexpr int8_t flag_value_null = 2;

std::optional<DecodedRecord> decode_envelope(const StoredView& m) {
    try {
        kafka::Reader r(reinterpret_cast<const uint8_t*>(m.value.data()) + envelope_magic.size(),
                        m.value.size() - envelope_magic.size());
        DecodedRecord out;
        const int8_t flags = r.read_int8();
        out.timestamp_ms = r.read_int64();
        if (!(flags & flag_key_null)) out.key = bytes_of(m.key);
        out.value = r.read_compact_nullable_bytes();
        if (flags & flag_value_null) out.value.reset();
        const uint32_t count = r.read_uvarint();
        if (count > r.remaining()) return std::nullopt;
        out.headers.reserve(count);
        for (uint32_t i = 0; i < count; ++i) {
            kafka::RecordHeader h;
            h.key = r.read_compact_bytes();
            h.value = r.read_compact_nullable_bytes();
            out.headers.push_back(std::move(h));
        }
        if (!r.at_end()) return std::nullopt;
        return out;
    } catch (const kafka::DecodeError&) {
        return std::nullopt;
    }
}

} // namespace

StoredView RecordEncoder::encode(int64_t timestamp_ms, const std::optional<kafka::Bytes>& key,
                                 const std::optional<kafka::Bytes>& value,
                                 const std::vector<kafka::RecordHeader>& headers, std::string& envelope) {
    StoredView out;
    if (key) out.key = view_of(*key);
    const bool fits = timestamp_ms > 0 && timestamp_ms <= std::numeric_limits<int64_t>::max() / ns_per_ms;
    out.ts_ns = fits ? timestamp_ms * ns_per_ms : 0;
    // What the broker will store as ts_ns (0 means "now", which we cannot predict).
    const int64_t stored_ts = out.ts_ns > broker_last_ts_ns_ ? out.ts_ns : broker_last_ts_ns_ + 1;
    const bool plain = fits && headers.empty() && (key ? key->size() > 0 : true) && value &&
                       !view_of(*value).starts_with(envelope_magic) && stored_ts / ns_per_ms == timestamp_ms;
    if (out.ts_ns != 0) broker_last_ts_ns_ = stored_ts;
    if (plain) {
        out.value = view_of(*value);
        return out;
    }
    kafka::Writer w(envelope_magic.size() + 16 + (value ? value->size() : 0));
    w.write_raw(envelope_magic.data(), envelope_magic.size());
    w.write_int8(static_cast<int8_t>((key ? 0 : flag_key_null) | (value ? 0 : flag_value_null)));
    w.write_int64(timestamp_ms);
    w.write_compact_nullable_bytes(value);
    w.write_uvarint(static_cast<uint32_t>(headers.size()));
    for (const kafka::RecordHeader& h : headers) {
        w.write_compact_bytes(h.key);
        w.write_compact_nullable_bytes(h.value);
    }
    const std::vector<uint8_t> flat = w.flatten();
    envelope.assign(reinterpret_cast<const char*>(flat.data()), flat.size());
    out.value = envelope;
    return out;
}

StoredMessage RecordEncoder::encode(int64_t timestamp_ms, const std::optional<kafka::Bytes>& key,
                                    const std::optional<kafka::Bytes>& value,
                                    const std::vector<kafka::RecordHeader>& headers) {
    std::string envelope;
    const StoredView m = encode(timestamp_ms, key, value, headers, envelope);
    return {std::string(m.key), std::string(m.value), m.ts_ns};
}

namespace {

// Protobuf's wire form: varints, and tags of (field number << 3) | wire type.
constexpr uint8_t tag_length_delimited(int field) { return static_cast<uint8_t>(field << 3 | 2); }
constexpr uint8_t tag_varint(int field) { return static_cast<uint8_t>(field << 3 | 0); }
constexpr int publish_data_field = 2;   // PublishMessageRequest.data
constexpr int data_key_field = 1, data_value_field = 2, data_ts_ns_field = 3;

size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

uint8_t* write_varint(uint8_t* out, uint64_t v) {
    while (v >= 0x80) {
        *out++ = static_cast<uint8_t>(v | 0x80);
        v >>= 7;
    }
    *out++ = static_cast<uint8_t>(v);
    return out;
}

size_t bytes_field_size(std::string_view b) { return b.empty() ? 0 : 1 + varint_size(b.size()) + b.size(); }

uint8_t* write_bytes_field(uint8_t* out, int field, std::string_view b) {
    if (b.empty()) return out;
    *out++ = tag_length_delimited(field);
    out = write_varint(out, b.size());
    std::memcpy(out, b.data(), b.size());
    return out + b.size();
}

// int64 is a varint of its two's complement (10 bytes when negative).
size_t data_message_size(const StoredView& m) {
    return bytes_field_size(m.key) + bytes_field_size(m.value) +
           (m.ts_ns == 0 ? 0 : 1 + varint_size(static_cast<uint64_t>(m.ts_ns)));
}

} // namespace

size_t publish_request_size(const StoredView& m) {
    const size_t data = data_message_size(m);
    return 1 + varint_size(data) + data;
}

void write_publish_request(const StoredView& m, uint8_t* out) {
    *out++ = tag_length_delimited(publish_data_field);
    out = write_varint(out, data_message_size(m));
    out = write_bytes_field(out, data_key_field, m.key);
    out = write_bytes_field(out, data_value_field, m.value);
    if (m.ts_ns != 0) {
        *out++ = tag_varint(data_ts_ns_field);
        write_varint(out, static_cast<uint64_t>(m.ts_ns));
    }
}

DecodedRecord decode_stored(const StoredView& m) {
    if (m.value.starts_with(envelope_magic))
        if (std::optional<DecodedRecord> e = decode_envelope(m)) return std::move(*e);
    DecodedRecord out;
    out.timestamp_ms = m.ts_ns / ns_per_ms;
    if (!m.key.empty()) out.key = bytes_of(m.key);
    out.value = bytes_of(m.value);
    return out;
}

int64_t stored_timestamp_ms(const StoredView& m) {
    if (m.value.starts_with(envelope_magic) && m.value.size() >= envelope_magic.size() + 9)
        if (std::optional<DecodedRecord> e = decode_envelope(m)) return e->timestamp_ms;
    return m.ts_ns / ns_per_ms;
}

kafka::Bytes build_batch(int64_t base_offset, std::span<const StoredView> messages, size_t max_bytes, size_t& used) {
    used = 0;
    if (messages.empty()) return {};
    kafka::RecordBatchFields fields;
    fields.base_offset = base_offset;
    // Which messages go in (at least one), and about the bytes of their records, reserved at once so that a
    // fetch's megabytes are not copied again each time the buffer doubles.
    size_t approx = kafka::RecordBatchHeader::size;
    for (const StoredView& m : messages) {
        const size_t record_size = m.key.size() + m.value.size() + 32;
        if (used > 0 && approx + record_size > max_bytes) break;
        approx += record_size;
        ++used;
    }
    kafka::RecordBatchBuilder builder(fields);
    builder.reserve(approx);
    for (const StoredView& m : messages.first(used)) {
        const DecodedRecord r = decode_stored(m);
        builder.append(r.timestamp_ms, r.key, r.value, r.headers);
    }
    return builder.build();
}

} // namespace gateway::seaweedmq
