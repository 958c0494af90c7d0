#include "runtime/compression.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <vector>

namespace kafka {
namespace {

[[noreturn]] void fail(CompressionErrc reason, CompressionCodec codec, const std::string& detail) {
    throw CompressionError(reason, std::string(to_string(codec)) + ": " + detail);
}

// The decompressor's output: grows by doubling, never beyond max_size + 1 bytes, so reaching that
// last byte proves the data is too large without ever holding more.
class Output {
public:
    Output(CompressionCodec codec, size_t max_size, size_t input_size)
      : codec_(codec), max_size_(max_size), buffer_(std::make_shared<std::vector<uint8_t>>()) {
        buffer_->resize(std::min(capacity_limit(), std::max<size_t>(4096, input_size * 4)));
    }

    // Free space for the decoder to write into (at least one byte).
    std::span<uint8_t> room() {
        if (used_ == buffer_->size()) {
            const size_t grown = std::min(capacity_limit(), std::max<size_t>(4096, buffer_->size() * 2));
            if (grown <= used_) too_large();
            buffer_->resize(grown);
        }
        return {buffer_->data() + used_, buffer_->size() - used_};
    }

    // Exactly n bytes more (for codecs that know a block's size before decoding it).
    uint8_t* take(size_t n) {
        if (n > max_size_ - std::min(max_size_, used_) || used_ > max_size_) too_large();
        if (buffer_->size() < used_ + n) buffer_->resize(std::max(used_ + n, std::min(capacity_limit(), buffer_->size() * 2)));
        uint8_t* at = buffer_->data() + used_;
        used_ += n;
        return at;
    }

    void produced(size_t n) {
        used_ += n;
        if (used_ > max_size_) too_large();
    }

    Bytes finish() {
        buffer_->resize(used_);
        buffer_->shrink_to_fit();
        const uint8_t* data = buffer_->data();
        return Bytes(std::move(buffer_), data, used_);
    }

private:
    size_t capacity_limit() const { return max_size_ == SIZE_MAX ? SIZE_MAX : max_size_ + 1; }
    [[noreturn]] void too_large() const {
        fail(CompressionErrc::too_large, codec_,
             "decompressed data exceeds the limit of " + std::to_string(max_size_) + " bytes");
    }

    CompressionCodec codec_;
    size_t max_size_;
    std::shared_ptr<std::vector<uint8_t>> buffer_;
    size_t used_ = 0;
};

Bytes owned(std::vector<uint8_t> v) {
    auto buffer = std::make_shared<std::vector<uint8_t>>(std::move(v));
    const uint8_t* data = buffer->data();
    const size_t size = buffer->size();
    return Bytes(std::move(buffer), data, size);
}

// ---------------------------------------------------------------- gzip

Bytes gzip_compress(std::span<const uint8_t> in) {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::bad_alloc();
    std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&z, &deflateEnd);
    std::vector<uint8_t> out(deflateBound(&z, static_cast<uLong>(in.size())) + 32);
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw EncodeError("gzip: deflate did not finish");
    out.resize(z.total_out);
    return owned(std::move(out));
}

Bytes gzip_decompress(std::span<const uint8_t> in, size_t max_size) {
    constexpr auto codec = CompressionCodec::gzip;
    if (in.size() > UINT32_MAX) fail(CompressionErrc::too_large, codec, "input over 4 GiB");
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::bad_alloc();
    std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&z, &inflateEnd);
    Output out(codec, max_size, in.size());
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    for (;;) {
        std::span<uint8_t> room = out.room();
        const size_t offered = std::min<size_t>(room.size(), UINT32_MAX);
        z.next_out = room.data();
        z.avail_out = static_cast<uInt>(offered);
        const int ret = inflate(&z, Z_NO_FLUSH);
        out.produced(offered - z.avail_out);
        if (ret == Z_STREAM_END) {
            // Another member follows (Java's GZIPInputStream reads them as one stream); anything else
            // after a member is ignored, as it does.
            if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
                inflateReset(&z);
                continue;
            }
            break;
        }
        if (ret == Z_OK) continue;
        if (ret == Z_BUF_ERROR && z.avail_out == 0) continue;   // needs more room
        if (ret == Z_BUF_ERROR) fail(CompressionErrc::corrupt, codec, "truncated data");   // and no more input
        fail(CompressionErrc::corrupt, codec, z.msg ? z.msg : "inflate error " + std::to_string(ret));
    }
    return out.finish();
}

// ---------------------------------------------------------------- snappy

constexpr uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t xerial_header_size = 16; // magic, int32 version, int32 compatible version
constexpr size_t xerial_block_size = 32 * 1024; // snappy-java's default, what Kafka's Java client writes

bool starts_with_xerial_magic(std::span<const uint8_t> in) {
    return in.size() >= sizeof xerial_magic && std::memcmp(in.data(), xerial_magic, sizeof xerial_magic) == 0;
}

void store_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

uint32_t load_be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

Bytes snappy_compress_xerial(std::span<const uint8_t> in) {
    const size_t blocks = (in.size() + xerial_block_size - 1) / xerial_block_size;
    std::vector<uint8_t> out(xerial_header_size + blocks * (4 + snappy_max_compressed_length(xerial_block_size)));
    std::memcpy(out.data(), xerial_magic, sizeof xerial_magic);
    store_be32(out.data() + 8, 1);  // version
    store_be32(out.data() + 12, 1); // compatible version
    size_t at = xerial_header_size;
    for (size_t pos = 0; pos < in.size(); pos += xerial_block_size) {
        const size_t n = std::min(xerial_block_size, in.size() - pos);
        size_t written = out.size() - at - 4;
        if (snappy_compress(reinterpret_cast<const char*>(in.data() + pos), n, reinterpret_cast<char*>(out.data() + at + 4),
                            &written) != SNAPPY_OK)
            throw EncodeError("snappy: compression failed");
        store_be32(out.data() + at, static_cast<uint32_t>(written));
        at += 4 + written;
    }
    out.resize(at);
    return owned(std::move(out));
}

void snappy_block(std::span<const uint8_t> block, Output& out) {
    constexpr auto codec = CompressionCodec::snappy;
    const char* src = reinterpret_cast<const char*>(block.data());
    size_t n = 0;
    if (snappy_uncompressed_length(src, block.size(), &n) != SNAPPY_OK)
        fail(CompressionErrc::corrupt, codec, "bad block header");
    uint8_t* dst = out.take(n);
    size_t written = n;
    if (snappy_uncompress(src, block.size(), reinterpret_cast<char*>(dst), &written) != SNAPPY_OK || written != n)
        fail(CompressionErrc::corrupt, codec, "corrupt block");
}

Bytes snappy_decompress(std::span<const uint8_t> in, size_t max_size) {
    constexpr auto codec = CompressionCodec::snappy;
    Output out(codec, max_size, in.size());
    if (!starts_with_xerial_magic(in)) {   // one raw snappy block (librdkafka accepts this too)
        snappy_block(in, out);
        return out.finish();
    }
    size_t pos = 0;
    while (pos < in.size()) {
        std::span<const uint8_t> rest = in.subspan(pos);
        if (starts_with_xerial_magic(rest)) {   // a (possibly concatenated) stream header
            if (rest.size() < xerial_header_size) fail(CompressionErrc::corrupt, codec, "truncated xerial header");
            pos += xerial_header_size;
            continue;
        }
        if (rest.size() < 4) fail(CompressionErrc::corrupt, codec, "truncated block length");
        const uint32_t length = load_be32(rest.data());
        if (length > rest.size() - 4)
            fail(CompressionErrc::corrupt, codec, "block of " + std::to_string(length) + " bytes, " +
                                                      std::to_string(rest.size() - 4) + " left");
        snappy_block(rest.subspan(4, length), out);
        pos += 4 + length;
    }
    return out.finish();
}

// ---------------------------------------------------------------- lz4

constexpr uint8_t lz4_frame_magic[4] = {0x04, 0x22, 0x4d, 0x18};

// Where a frame's header checksum (HC) byte is; 0 when `frame` is too short to say.
size_t lz4_hc_position(std::span<const uint8_t> frame) {
    if (frame.size() < 7 || std::memcmp(frame.data(), lz4_frame_magic, 4) != 0) return 0;
    const uint8_t flg = frame[4];
    const size_t hc = 6 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
    return hc < frame.size() ? hc : 0;
}

uint8_t lz4_header_checksum(std::span<const uint8_t> frame, size_t hc, Lz4Framing framing) {
    // Right: over the descriptor (FLG up to HC).  Kafka before KAFKA-3160: from the magic on.
    const size_t from = framing == Lz4Framing::kafka_magic_v0 ? 0 : 4;
    return static_cast<uint8_t>(xxh32(frame.subspan(from, hc - from), 0) >> 8);
}

Bytes lz4_compress(std::span<const uint8_t> in, Lz4Framing framing) {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    std::vector<uint8_t> out(LZ4F_compressFrameBound(in.size(), &prefs));
    const size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
    if (LZ4F_isError(n)) throw EncodeError(std::string("lz4: ") + LZ4F_getErrorName(n));
    out.resize(n);
    if (framing == Lz4Framing::kafka_magic_v0)
        if (size_t hc = lz4_hc_position(out)) out[hc] = lz4_header_checksum(out, hc, framing);
    return owned(std::move(out));
}

Bytes lz4_decompress(std::span<const uint8_t> in, size_t max_size, Lz4Framing framing) {
    constexpr auto codec = CompressionCodec::lz4;
    std::vector<uint8_t> fixed;
    if (framing == Lz4Framing::kafka_magic_v0) {
        // Kafka ignores HC in magic 0 messages (old writers got it wrong); liblz4 checks it, so put
        // the right one in.
        if (size_t hc = lz4_hc_position(in)) {
            fixed.assign(in.begin(), in.end());
            fixed[hc] = lz4_header_checksum(fixed, hc, Lz4Framing::standard);
            in = fixed;
        }
    }
    if (in.empty()) fail(CompressionErrc::corrupt, codec, "no data");
    LZ4F_dctx* raw = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) throw std::bad_alloc();
    std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(raw, &LZ4F_freeDecompressionContext);
    Output out(codec, max_size, in.size());
    size_t pos = 0;
    while (pos < in.size()) {   // frames, back to back
        for (;;) {
            std::span<uint8_t> room = out.room();
            size_t dst = room.size();
            size_t src = in.size() - pos;
            const size_t hint = LZ4F_decompress(ctx.get(), room.data(), &dst, in.data() + pos, &src, nullptr);
            if (LZ4F_isError(hint)) fail(CompressionErrc::corrupt, codec, LZ4F_getErrorName(hint));
            pos += src;
            out.produced(dst);
            if (hint == 0) break;   // end of the frame
            if (src == 0 && dst == 0) fail(CompressionErrc::corrupt, codec, "no progress");
            if (pos == in.size() && dst < room.size()) fail(CompressionErrc::corrupt, codec, "truncated frame");
        }
    }
    return out.finish();
}

// ---------------------------------------------------------------- zstd

Bytes zstd_compress(std::span<const uint8_t> in) {
    std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
    const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);   // Kafka's default level
    if (ZSTD_isError(n)) throw EncodeError(std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return owned(std::move(out));
}

Bytes zstd_decompress(std::span<const uint8_t> in, size_t max_size) {
    constexpr auto codec = CompressionCodec::zstd;
    if (in.empty()) fail(CompressionErrc::corrupt, codec, "no data");
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    if (!ctx) throw std::bad_alloc();
    // The window is memory the decoder allocates up front; a frame may claim one far larger than its
    // content.  Allow what the output limit could need, at least 8 MiB (level 19 streams use that
    // much), at most 2^27, zstd's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, not public).
    const int window_log = std::clamp(static_cast<int>(std::bit_width(max_size)), 23, 27);
    ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, window_log);
    Output out(codec, max_size, in.size());
    ZSTD_inBuffer src{in.data(), in.size(), 0};
    for (;;) {
        std::span<uint8_t> room = out.room();
        ZSTD_outBuffer dst{room.data(), room.size(), 0};
        const size_t ret = ZSTD_decompressStream(ctx.get(), &dst, &src);
        if (ZSTD_isError(ret)) fail(CompressionErrc::corrupt, codec, ZSTD_getErrorName(ret));
        out.produced(dst.pos);
        if (ret == 0 && src.pos == src.size) break;   // the last frame is complete
        if (src.pos == src.size && dst.pos < dst.size) fail(CompressionErrc::corrupt, codec, "truncated frame");
    }
    return out.finish();
}

uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
uint32_t load_le32(const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

} // namespace

uint32_t xxh32(std::span<const uint8_t> data, uint32_t seed) {
    constexpr uint32_t p1 = 2654435761U, p2 = 2246822519U, p3 = 3266489917U, p4 = 668265263U, p5 = 374761393U;
    const uint8_t* p = data.data();
    const uint8_t* const end = p + data.size();
    uint32_t h;
    if (data.size() >= 16) {
        uint32_t v1 = seed + p1 + p2, v2 = seed + p2, v3 = seed, v4 = seed - p1;
        auto round = [](uint32_t acc, uint32_t lane) { return rotl32(acc + lane * p2, 13) * p1; };
        for (; end - p >= 16; p += 16) {
            v1 = round(v1, load_le32(p));
            v2 = round(v2, load_le32(p + 4));
            v3 = round(v3, load_le32(p + 8));
            v4 = round(v4, load_le32(p + 12));
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = seed + p5;
    }
    h += static_cast<uint32_t>(data.size());
    for (; end - p >= 4; p += 4) h = rotl32(h + load_le32(p) * p3, 17) * p4;
    for (; p < end; ++p) h = rotl32(h + *p * p5, 11) * p1;
    h ^= h >> 15;
    h *= p2;
    h ^= h >> 13;
    h *= p3;
    h ^= h >> 16;
    return h;
}

Bytes compress(CompressionCodec codec, std::span<const uint8_t> data, Lz4Framing lz4) {
    switch (codec) {
    case CompressionCodec::gzip: return gzip_compress(data);
    case CompressionCodec::snappy: return snappy_compress_xerial(data);
    case CompressionCodec::lz4: return lz4_compress(data, lz4);
    case CompressionCodec::zstd: return zstd_compress(data);
    case CompressionCodec::none: break;
    }
    fail(CompressionErrc::unsupported, codec, "cannot compress with codec " + std::to_string(static_cast<int>(codec)));
}

Bytes decompress(CompressionCodec codec, std::span<const uint8_t> data, size_t max_size, Lz4Framing lz4) {
    switch (codec) {
    case CompressionCodec::gzip: return gzip_decompress(data, max_size);
    case CompressionCodec::snappy: return snappy_decompress(data, max_size);
    case CompressionCodec::lz4: return lz4_decompress(data, max_size, lz4);
    case CompressionCodec::zstd: return zstd_decompress(data, max_size);
    case CompressionCodec::none: break;
    }
    fail(CompressionErrc::unsupported, codec, "cannot decompress codec " + std::to_string(static_cast<int>(codec)));
}

} // namespace kafka
