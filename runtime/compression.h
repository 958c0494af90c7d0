// Kafka's four compression codecs over the system libraries, as the clients write them:
//
//   gzip    zlib's gzip wrapper (RFC 1952); concatenated members are read as one stream, as Java's
//           GZIPInputStream does.
//   snappy  the Java clients' xerial-snappy framing: "\x82SNAPPY\0", int32 version, int32 compatible
//           version, then [int32 length][raw snappy block]...  librdkafka writes the same framing
//           but also reads (and older versions wrote) one raw snappy block, so decompress accepts
//           both; compress writes the xerial framing.
//   lz4     the LZ4 frame format.  Magic 0 messages carry the header checksum (HC) Kafka computed
//           wrongly before KAFKA-3160: over the 4-byte frame magic as well as the descriptor.  With
//           Lz4Framing::kafka_magic_v0 compress writes that broken checksum (what 0.8-0.9 readers
//           check) and decompress ignores the checksum (what Kafka's Lz4BlockInputStream does for
//           magic 0).  Compressed frames use 64 KiB independent blocks without checksums besides
//           HC, as Kafka's Lz4BlockOutputStream does, which every Kafka reader accepts.
//   zstd    streaming decompression, so frames without a content size are fine; window sizes up
//           to 2^27 (zstd's default limit), fewer when the output limit is smaller.
//
// Decompression is bounded: it stops with CompressionError(too_large) as soon as the output would
// pass `max_size`, having allocated at most about that much.  Garbage input gives
// CompressionError(corrupt), never a crash.  CompressionError is a DecodeError, so code that already
// turns bad records into CORRUPT_MESSAGE handles it.
#pragma once

#include "runtime/bytes.h"
#include "runtime/codec_error.h"
#include "runtime/record_batch.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace kafka {

enum class CompressionErrc : uint8_t {
    corrupt,     // not valid data for the codec, or truncated
    too_large,   // the output would exceed the caller's limit (a decompression bomb, or just too big)
    unsupported, // a codec number Kafka does not define, or none
};

class CompressionError : public DecodeError {
public:
    CompressionError(CompressionErrc reason, const std::string& what)
      : DecodeError(DecodeErrc::invalid_value, what), reason_(reason) {}
    CompressionErrc reason() const { return reason_; }

private:
    CompressionErrc reason_;
};

enum class Lz4Framing : uint8_t { standard, kafka_magic_v0 };

// The limit used where no better one is known (the storage engines' lookups inside stored batches):
// Kafka's default socket.request.max.bytes, the most a producer can have sent in one request.
inline constexpr size_t default_max_decompressed_size = size_t{100} << 20;

// `data` compressed with `codec` (not none).  Throws CompressionError(unsupported) for none or an
// unknown codec.
Bytes compress(CompressionCodec codec, std::span<const uint8_t> data, Lz4Framing lz4 = Lz4Framing::standard);

// The decompressed form of `data`, at most `max_size` bytes.  Throws CompressionError.
Bytes decompress(CompressionCodec codec, std::span<const uint8_t> data, size_t max_size,
                 Lz4Framing lz4 = Lz4Framing::standard);

// XXH32 (xxHash, 32-bit), which the LZ4 frame format uses for its checksums.  Exposed for tests.
uint32_t xxh32(std::span<const uint8_t> data, uint32_t seed);

} // namespace kafka
