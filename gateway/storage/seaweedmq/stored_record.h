// How a Kafka record becomes a SeaweedMQ message and back, and how fetched messages become a v2 batch.
//
// A SeaweedMQ message has a key, a value and a timestamp in nanoseconds (ts_ns); the broker stores
// nothing else per message and gives it the partition's next offset, which is the record's Kafka
// offset.  The broker keeps ts_ns strictly increasing within a partition: a message whose ts_ns is not
// above the previous one is stored with previous + 1 ns.
//
// Plain form (the usual case): key = the Kafka key (a null key is stored empty), value = the Kafka
// value byte for byte, ts_ns = the Kafka timestamp in ms * 1,000,000.  A native SeaweedMQ subscriber
// reads exactly the bytes the producer sent.  Reading back, ts_ns / 1,000,000 (rounded down) is the
// timestamp: the broker's +1 ns bumps stay within the millisecond unless a million records share one.
//
// Envelope form, used only when the plain form would lose something: the record has headers, its key
// is empty but not null, its value is null (a tombstone), its timestamp is not after what the broker's
// clock for the partition will be (it would be bumped) or does not fit ts_ns, or its value happens to
// start with the envelope's magic.  The value is then
//
//     magic "\0KGW\1" | flags int8 (bit 0: key null, bit 1: value null) | timestamp int64 ms (big endian)
//     | value: uvarint length + 1 (0 = null), bytes | header count uvarint
//     | per header: key uvarint length + 1, bytes; value uvarint length + 1 (0 = null), bytes
//
// (Kafka's compact encodings), the key stays the Kafka key and ts_ns is the timestamp as far as it fits.
// A native subscriber sees the envelope for such records; the gateway reads every field back exactly.
#pragma once

#include "runtime/bytes.h"
#include "runtime/record_batch.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gateway::seaweedmq {

inline constexpr std::string_view envelope_magic{"\0KGW\1", 5};
inline constexpr int64_t ns_per_ms = 1000000;

// A message on its way to SeaweedMQ, owning its bytes.
struct StoredMessage {
    std::string key;
    std::string value;
    int64_t ts_ns = 0;
};

// A message read from SeaweedMQ (views of the response that holds it).
struct StoredView {
    std::string_view key;
    std::string_view value;
    int64_t ts_ns = 0;
};

// Encodes the records of one partition in order.  Remembers the broker's clock for the partition as
// far as our own messages set it, to know when the plain form would have its timestamp bumped.
class RecordEncoder {
public:
    explicit RecordEncoder(int64_t broker_last_ts_ns = 0) : broker_last_ts_ns_(broker_last_ts_ns) {}

    // The message for the next record: views of the record's key and value (the plain form), or of
    // `envelope`, which receives the envelope form's value when needed and must outlive the result.
    StoredView encode(int64_t timestamp_ms, const std::optional<kafka::Bytes>& key,
                      const std::optional<kafka::Bytes>& value, const std::vector<kafka::RecordHeader>& headers,
                      std::string& envelope);
    // The same, owning copies of the bytes.
    StoredMessage encode(int64_t timestamp_ms, const std::optional<kafka::Bytes>& key,
                         const std::optional<kafka::Bytes>& value, const std::vector<kafka::RecordHeader>& headers);

    int64_t broker_last_ts_ns() const { return broker_last_ts_ns_; }

private:
    int64_t broker_last_ts_ns_;
};

// A PublishMessageRequest carrying `m` as its DataMessage (mq_broker.proto: `data` = 2; key = 1, value = 2,
// ts_ns = 3), in protobuf's wire form, which is what the gateway sends on a publish stream: written
// straight from the record's bytes, without protobuf objects.  Fields at their proto3 default (empty,
// 0) are left out, as protobuf leaves them out.
size_t publish_request_size(const StoredView& m);
// Writes exactly publish_request_size(m) bytes at `out`.
void write_publish_request(const StoredView& m, uint8_t* out);

struct DecodedRecord {
    int64_t timestamp_ms = -1;
    std::optional<kafka::Bytes> key;
    std::optional<kafka::Bytes> value;
    std::vector<kafka::RecordHeader> headers;
};

// The Kafka record a stored message holds; views of `m` (which must outlive the result).  A value that
// starts with the magic but is not a sound envelope (a native publisher's) is read as plain.
DecodedRecord decode_stored(const StoredView& m);

// The Kafka timestamp a stored message carries (the envelope's, or ts_ns / 1e6).
int64_t stored_timestamp_ms(const StoredView& m);

// One uncompressed v2 batch holding messages[0..n) at offsets base_offset, base_offset + 1, ...; n is
// as many as fit in max_bytes, but at least one.  `used` receives n.  Empty input: empty result.
kafka::Bytes build_batch(int64_t base_offset, std::span<const StoredView> messages, size_t max_bytes, size_t& used);

} // namespace gateway::seaweedmq
