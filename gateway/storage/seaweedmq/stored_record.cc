#include "gateway/storage/seaweedmq/stored_record.h"

#include "runtime/reader.h"
#include "runtime/writer.h"

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

StoredMessage RecordEncoder::encode(int64_t timestamp_ms, const std::optional<kafka::Bytes>& key,
                                    const std::optional<kafka::Bytes>& value,
                                    const std::vector<kafka::RecordHeader>& headers) {
    StoredMessage out;
    if (key) out.key.assign(view_of(*key));
    const bool fits = timestamp_ms > 0 && timestamp_ms <= std::numeric_limits<int64_t>::max() / ns_per_ms;
    out.ts_ns = fits ? timestamp_ms * ns_per_ms : 0;
    // What the broker will store as ts_ns (0 means "now", which we cannot predict).
    const int64_t stored_ts = out.ts_ns > broker_last_ts_ns_ ? out.ts_ns : broker_last_ts_ns_ + 1;
    const bool plain = fits && headers.empty() && (key ? key->size() > 0 : true) && value &&
                       !view_of(*value).starts_with(envelope_magic) && stored_ts / ns_per_ms == timestamp_ms;
    if (out.ts_ns != 0) broker_last_ts_ns_ = stored_ts;
    if (plain) {
        out.value.assign(view_of(*value));
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
    out.value.assign(reinterpret_cast<const char*>(flat.data()), flat.size());
    return out;
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
    kafka::RecordBatchBuilder builder(fields);
    size_t approx = kafka::RecordBatchHeader::size;
    for (const StoredView& m : messages) {
        const size_t record_size = m.key.size() + m.value.size() + 32;
        if (used > 0 && approx + record_size > max_bytes) break;
        const DecodedRecord r = decode_stored(m);
        builder.append(r.timestamp_ms, r.key, r.value, r.headers);
        approx += record_size;
        ++used;
    }
    return builder.build();
}

} // namespace gateway::seaweedmq
