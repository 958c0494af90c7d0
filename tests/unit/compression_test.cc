// Kafka's codecs (runtime/compression.h): round trips, bytes made by Kafka's own Java classes
// (kafka-clients 3.9 MemoryRecords, captured once with a small program), the xerial and raw snappy
// forms, the old LZ4 header checksum of magic 0, garbage and truncation, and the decompression limit.
#include "runtime/compression.h"

#include "runtime/message_set.h"
#include "runtime/record_batch.h"

#include "tests/unit/test_bytes.h"

#include <gtest/gtest.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace kafka {
namespace {

using namespace kafka::test;

constexpr CompressionCodec all_codecs[] = {CompressionCodec::gzip, CompressionCodec::snappy, CompressionCodec::lz4,
                                           CompressionCodec::zstd};

// Bytes made by kafka-clients 3.9 (MemoryRecords.withRecords): three records at base offset 100,
// (ts 1700000000000, "k0", "value zero value zero value zero", header h=x), (+5, null key,
// "value one", no headers), (+2, "k2", null value, header n=null); the legacy sets carry the same
// keys, values and (magic 1) timestamps at offsets 0-2, without headers.
// v2 gzip
constexpr std::string_view java_v2_gzip =
    "000000000000006400000077ffffffff02790d18370001000000020000018bcfe568000000018bcfe56805ffffffffffffff"
    "ffffffffffffff000000031f8b08000000000000ff8b60606060c93670284bcc294d55a84a2dca57c0ca6462ca60aa9063e0"
    "6262148208e6e7a5328831b0b0b0641b313231e5310200ef8dc7dd49000000";

// v2 snappy
constexpr std::string_view java_v2_snappy =
    "00000000000000640000007cffffffff02e086325f0002000000020000018bcfe568000000018bcfe56805ffffffffffffff"
    "ffffffffffffff0000000382534e4150505900000000010000000100000037494858000000046b304076616c7565207a6572"
    "6f20520b002802026802781e000a02011209203c6f6e650016000404046b320102026e01";

// v2 lz4
constexpr std::string_view java_v2_lz4 =
    "000000000000006400000078ffffffff02875ef6bb0003000000020000018bcfe568000000018bcfe56805ffffffffffffff"
    "ffffffffffffff0000000304224d1860408238000000ff0458000000046b304076616c7565207a65726f200b0002b2020268"
    "02781e000a0201122000f0016f6e650016000404046b320102026e0100000000";

// v2 zstd
constexpr std::string_view java_v2_zstd =
    "000000000000006400000075ffffffff0231630eaa0004000000020000018bcfe568000000018bcfe56805ffffffffffffff"
    "ffffffffffffff0000000328b52ffd0058c40100e40258000000046b304076616c7565207a65726f2002026802781e000a02"
    "01126f6e650016000404046b320102026e010200430dbebf1206010000";

// m0 gzip
constexpr std::string_view java_m0_gzip =
    "0000000000000002000000630596e9910001ffffffff000000551f8b08000000000000ff63608003835b4dd911601653b601"
    "9054284bcc294d55a84a2dcac7ce84ea630462f137075de63130fc0702208f13a2263f2f15aa84098805ba951fdf821a6f04"
    "5208004c4bb5937b000000";

// m0 snappy
constexpr std::string_view java_m0_snappy =
    "00000000000000020000007ba89075740002ffffffff0000006d82534e41505059000000000100000001000000597b000019"
    "011030da826b58050f40026b300000002076616c7565207a65726f560b0000000901480100000017ecc1449e0000ffffffff"
    "00000009093a086f6e650922540002000000108b23e3da0000000000026b32ffffffff";

// m0 lz4
constexpr std::string_view java_m0_lz4 =
    "0000000000000002000000779f14dd6e0003ffffffff0000006904224d1860401a5a000000160001005130da826b580f00ff"
    "02026b300000002076616c7565207a65726f0b0003012c00f20600000100000017ecc1449e0000ffffffff000000093a0030"
    "6f6e652000c200000002000000108b23e3da0e00606b32ffffffff00000000";

// m1 gzip
constexpr std::string_view java_m1_gzip =
    "000000000000000200000076c000981701010000018bcfe56805ffffffff000000601f8b08000000000000ff636080030b97"
    "45ba6b18810cc6eef34f3340224cd9064052a12c31a73455a12ab5281f3b13aa1fa455beb4d436046e06eb7f20007238216a"
    "f3f352a14a998058e26b2ba3125c2913d83a23900600f0cbffd693000000";

// m1 snappy
constexpr std::string_view java_m1_snappy =
    "0000000000000002000000910f0de5bc01020000018bcfe56805ffffffff0000007b82534e41505059000000000100000001"
    "00000067930100001901343844a22dac01000000018bcfe568011840026b300000002076616c7565207a65726f560b000000"
    "0901013b101f75753d54010905442005ffffffff000000090942086f6e65092a24000200000018f5850122152b2802000000"
    "026b32ffffffff";

// m1 lz4
constexpr std::string_view java_m1_lz4 =
    "00000000000000020000008de2a1e0c301030000018bcfe56805ffffffff0000007704224d186040826800000016000100e0"
    "3844a22dac01000000018bcfe5681800ff02026b300000002076616c7565207a65726f0b0003002b00003700850000001f75"
    "753d5444009205ffffffff000000094200316f6e652900b500000200000018f58501222b00b002000000026b32ffffffff00"
    "000000";

// Bytes made by librdkafka 2.0.2 (confluent-kafka): the same three records as v2 batches, taken from
// the gateway's log (base offset 0, partition leader epoch stamped 0, both outside the CRC) - its
// snappy is one raw block, not xerial-framed; and the same keys and values as magic 0 message sets
// it sent with broker.version.fallback=0.9.0 (Produce v1, captured by a fake broker; it may send the
// first message alone), whose lz4 frame has the old header checksum.
constexpr std::string_view librdkafka_v2_gzip =
    "0000000000000000000000770000000002b20ec7b00001000000020000018bcfe568000000018bcfe56805ffffffffffffff"
    "ffffffffffffff000000031f8b08000000000000038b60606060c93670284bcc294d55a84a2dca57c0ca6462ca60aa9063e0"
    "6262148208e6e7a5328831b0b0b0641b313231e5310200ef8dc7dd49000000";

constexpr std::string_view librdkafka_v2_snappy =
    "0000000000000000000000680000000002964bcc480002000000020000018bcfe568000000018bcfe56805ffffffffffffff"
    "ffffffffffffff00000003494858000000046b304076616c7565207a65726f20520b002802026802781e000a02011209203c"
    "6f6e650016000404046b320102026e01";

constexpr std::string_view librdkafka_v2_lz4 =
    "0000000000000000000000780000000002875ef6bb0003000000020000018bcfe568000000018bcfe56805ffffffffffffff"
    "ffffffffffffff0000000304224d1860408238000000ff0458000000046b304076616c7565207a65726f200b0002b2020268"
    "02781e000a0201122000f0016f6e650016000404046b320102026e0100000000";

constexpr std::string_view librdkafka_v2_zstd =
    "0000000000000000000000720000000002e7dc66970004000000020000018bcfe568000000018bcfe56805ffffffffffffff"
    "ffffffffffffff0000000328b52ffd0058c50100e40258000000046b304076616c7565207a65726f2002026802781e000a02"
    "01126f6e650016000404046b320102026e010200430dbebf1206";

constexpr std::string_view librdkafka_m0_gzip =
    "000000000000000000000063622beef30001ffffffff000000551f8b080000000000000363608003835b4dd911601653b601"
    "9054284bcc294d55a84a2dcac7ce84ea630462f137075de63130fc0702208f13a2263f2f15aa84098805ba951fdf821a6f04"
    "5208004c4bb5937b000000";

constexpr std::string_view librdkafka_m0_snappy =
    "000000000000000000000066e32e759b0002ffffffff000000587b000019011030da826b58050f40026b300000002076616c"
    "7565207a65726f560b00052c5000000100000017ecc1449e0000ffffffff00000009093a086f6e650d235002000000108b23"
    "e3da0000000000026b32ffffffff";

constexpr std::string_view librdkafka_m0_lz4 =
    "0000000000000000000000444e0519c80003ffffffff0000003604224d1860401a27000000160001005130da826b580f00fd"
    "02026b300000002076616c7565207a65726f0b0050207a65726f00000000";

ByteVector sample(size_t size, unsigned seed) {
    std::mt19937 rng(seed);
    ByteVector out(size);
    // Half text-like runs (compressible), half noise.
    for (size_t i = 0; i < size; ++i) out[i] = (i / 64) % 2 ? static_cast<uint8_t>(rng()) : static_cast<uint8_t>('a' + i % 7);
    return out;
}

CompressionError compression_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const CompressionError& e) {
        return e;
    }
    ADD_FAILURE() << "no CompressionError thrown";
    return CompressionError(CompressionErrc::corrupt, "<none>");
}

TEST(Compression, RoundTripsEveryCodecAtManySizes) {
    for (CompressionCodec codec : all_codecs)
        for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{65536}, size_t{65537}, size_t{300000}}) {
            const ByteVector data = sample(size, static_cast<unsigned>(size));
            Bytes packed = compress(codec, data);
            Bytes back = decompress(codec, packed.span(), size);
            EXPECT_EQ(vector_of(back), data) << to_string(codec) << " " << size;
        }
}

TEST(Compression, NoneAndUnknownCodecsAreUnsupported) {
    const ByteVector data = {1, 2, 3};
    EXPECT_EQ(compression_error([&] { compress(CompressionCodec::none, data); }).reason(), CompressionErrc::unsupported);
    EXPECT_EQ(compression_error([&] { decompress(static_cast<CompressionCodec>(5), data, 100); }).reason(),
              CompressionErrc::unsupported);
}

TEST(Compression, XxHash32KnownValues) {
    EXPECT_EQ(xxh32({}, 0), 0x02CC5D05u);
    EXPECT_EQ(xxh32(text("abc").span(), 0), 0x32D153FFu);
    EXPECT_EQ(xxh32(text("Nobody inspects the spammish repetition").span(), 0), 0xE2293B2Fu);
}

// ---- snappy ----

TEST(Snappy, CompressWritesTheXerialFramingJavaWrites) {
    const ByteVector data = sample(100000, 7);
    ByteVector packed = vector_of(compress(CompressionCodec::snappy, data));
    ASSERT_GE(packed.size(), 16u);
    EXPECT_EQ(ByteVector(packed.begin(), packed.begin() + 16),
              from_hex("82534e415050590000000001" "00000001"));
    // 32 KiB blocks, each [int32 length][raw snappy]; the first inflates to 32768 bytes.
    const uint32_t first = uint32_t{packed[16]} << 24 | uint32_t{packed[17]} << 16 | uint32_t{packed[18]} << 8 | packed[19];
    size_t n = 0;
    ASSERT_EQ(snappy_uncompressed_length(reinterpret_cast<const char*>(packed.data() + 20), first, &n), SNAPPY_OK);
    EXPECT_EQ(n, 32768u);
}

TEST(Snappy, DecompressAcceptsOneRawBlockAsLibrdkafkaSends) {
    const ByteVector data = sample(5000, 3);
    ByteVector raw(snappy_max_compressed_length(data.size()));
    size_t n = raw.size();
    ASSERT_EQ(snappy_compress(reinterpret_cast<const char*>(data.data()), data.size(), reinterpret_cast<char*>(raw.data()), &n),
              SNAPPY_OK);
    raw.resize(n);
    EXPECT_EQ(vector_of(decompress(CompressionCodec::snappy, raw, 5000)), data);
}

TEST(Snappy, ConcatenatedXerialStreamsReadAsOne) {
    const ByteVector a = sample(1000, 1), b = sample(2000, 2);
    ByteVector both = vector_of(compress(CompressionCodec::snappy, a));
    ByteVector second = vector_of(compress(CompressionCodec::snappy, b));
    both.insert(both.end(), second.begin(), second.end());
    ByteVector expected = a;
    expected.insert(expected.end(), b.begin(), b.end());
    EXPECT_EQ(vector_of(decompress(CompressionCodec::snappy, both, 3000)), expected);
}

TEST(Snappy, BlockLengthBeyondTheDataIsCorrupt) {
    ByteVector packed = vector_of(compress(CompressionCodec::snappy, sample(100, 1)));
    packed[16] = 0x7f;
    EXPECT_EQ(compression_error([&] { decompress(CompressionCodec::snappy, packed, 1000); }).reason(),
              CompressionErrc::corrupt);
}

// ---- gzip ----

TEST(Gzip, ConcatenatedMembersReadAsOneStreamAsJavaDoes) {
    const ByteVector a = sample(1000, 1), b = sample(2000, 2);
    ByteVector both = vector_of(compress(CompressionCodec::gzip, a));
    ByteVector second = vector_of(compress(CompressionCodec::gzip, b));
    both.insert(both.end(), second.begin(), second.end());
    ByteVector expected = a;
    expected.insert(expected.end(), b.begin(), b.end());
    EXPECT_EQ(vector_of(decompress(CompressionCodec::gzip, both, 3000)), expected);
}

TEST(Gzip, WritesAGzipHeader) {
    ByteVector packed = vector_of(compress(CompressionCodec::gzip, sample(10, 1)));
    ASSERT_GE(packed.size(), 3u);
    EXPECT_EQ(packed[0], 0x1f);
    EXPECT_EQ(packed[1], 0x8b);
    EXPECT_EQ(packed[2], 0x08);
}

// ---- lz4 ----

// The HC byte of a frame without content size or dictionary: byte 6.
TEST(Lz4, FramesAreWhatKafkaReadersAccept) {
    ByteVector packed = vector_of(compress(CompressionCodec::lz4, sample(200000, 5)));
    ASSERT_GE(packed.size(), 7u);
    EXPECT_EQ(ByteVector(packed.begin(), packed.begin() + 4), from_hex("04224d18"));
    EXPECT_EQ(packed[4] & 0x20, 0x20) << "independent blocks";
    EXPECT_EQ(packed[4] & 0x1c, 0x00) << "no block checksum, content size or content checksum";
    EXPECT_EQ(packed[5], 0x40) << "64 KiB blocks";
    EXPECT_EQ(packed[6], static_cast<uint8_t>(xxh32(std::span(packed).subspan(4, 2), 0) >> 8));
}

TEST(Lz4, MagicV0FramesCarryKafkasOldHeaderChecksum) {
    const ByteVector data = sample(1000, 9);
    ByteVector broken = vector_of(compress(CompressionCodec::lz4, data, Lz4Framing::kafka_magic_v0));
    EXPECT_EQ(broken[6], static_cast<uint8_t>(xxh32(std::span(broken).subspan(0, 6), 0) >> 8));
    ASSERT_NE(broken[6], static_cast<uint8_t>(xxh32(std::span(broken).subspan(4, 2), 0) >> 8));
    // Read as magic 0: the checksum is ignored, as Kafka does; read as magic 1+: it is checked.
    EXPECT_EQ(vector_of(decompress(CompressionCodec::lz4, broken, 1000, Lz4Framing::kafka_magic_v0)), data);
    EXPECT_EQ(compression_error([&] { decompress(CompressionCodec::lz4, broken, 1000); }).reason(), CompressionErrc::corrupt);
    // A right checksum in a magic 0 message (newer writers) is fine too.
    ByteVector right = vector_of(compress(CompressionCodec::lz4, data));
    EXPECT_EQ(vector_of(decompress(CompressionCodec::lz4, right, 1000, Lz4Framing::kafka_magic_v0)), data);
}

// ---- zstd ----

TEST(Zstd, StreamedFramesWithoutContentSizeDecode) {
    const ByteVector data = sample(300000, 11);
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ByteVector out(ZSTD_compressBound(data.size()) + 64);
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    while (in.pos < in.size) ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_continue)));
    size_t left;
    do left = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
    while (left != 0 && !ZSTD_isError(left));
    ZSTD_freeCCtx(cctx);
    out.resize(o.pos);
    ASSERT_EQ(ZSTD_getFrameContentSize(out.data(), out.size()), ZSTD_CONTENTSIZE_UNKNOWN);
    EXPECT_EQ(vector_of(decompress(CompressionCodec::zstd, out, data.size())), data);
}

// ---- garbage, truncation, limits ----

TEST(Compression, GarbageIsAnErrorNeverACrash) {
    std::mt19937 rng(42);
    for (CompressionCodec codec : all_codecs)
        for (int round = 0; round < 300; ++round) {
            ByteVector junk(rng() % 200);
            for (uint8_t& b : junk) b = static_cast<uint8_t>(rng());
            try {
                Bytes out = decompress(codec, junk, 1 << 20);
                EXPECT_LE(out.size(), size_t{1} << 20);
            } catch (const CompressionError&) {
            }
        }
}

TEST(Compression, EveryTruncationIsAnError) {
    for (CompressionCodec codec : all_codecs) {
        const ByteVector data = sample(3000, 4);
        const ByteVector packed = vector_of(compress(codec, data));
        for (size_t cut = 0; cut < packed.size(); ++cut) {
            if (codec == CompressionCodec::snappy && cut == 16) continue;   // the xerial header alone: empty data
            const ByteVector part(packed.begin(), packed.begin() + cut);
            try {
                Bytes out = decompress(codec, part, 10000);
                ADD_FAILURE() << to_string(codec) << " accepted a cut at " << cut << " of " << packed.size()
                              << " giving " << out.size() << " bytes";
            } catch (const CompressionError& e) {
                // A snappy stream cut inside its xerial magic reads as a raw block of some huge length.
                if (codec != CompressionCodec::snappy || cut >= 8) {
                    EXPECT_EQ(e.reason(), CompressionErrc::corrupt) << to_string(codec) << " cut " << cut << ": " << e.what();
                }
            }
        }
    }
}

TEST(Compression, FlippedBitsAreErrorsOrOtherBytesNeverACrash) {
    for (CompressionCodec codec : all_codecs) {
        const ByteVector packed = vector_of(compress(codec, sample(2000, 8)));
        for (size_t i = 0; i < packed.size() * 8; i += 3) {
            ByteVector damaged = packed;
            damaged[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
            try {
                EXPECT_LE(decompress(codec, damaged, 4000).size(), 4000u);
            } catch (const CompressionError&) {
            }
        }
    }
}

TEST(Compression, ABombStopsAtTheLimit) {
    const ByteVector zeros(8 << 20, 0);   // 8 MiB of zeros: a few KiB compressed
    for (CompressionCodec codec : all_codecs) {
        const Bytes packed = compress(codec, zeros);
        ASSERT_LT(packed.size(), size_t{1} << 20) << to_string(codec);
        CompressionError e = compression_error([&] { decompress(codec, packed.span(), 1 << 20); });
        EXPECT_EQ(e.reason(), CompressionErrc::too_large) << to_string(codec);
        EXPECT_TRUE(mentions(e, "limit of 1048576 bytes")) << e.what();
        EXPECT_EQ(decompress(codec, packed.span(), zeros.size()).size(), zeros.size()) << to_string(codec);
        EXPECT_EQ(compression_error([&] { decompress(codec, packed.span(), zeros.size() - 1); }).reason(),
                  CompressionErrc::too_large)
            << to_string(codec);
    }
}

TEST(Compression, SnappyBlockClaimingHugeLengthIsRefusedBeforeAllocating) {
    // A raw snappy block whose varint length says 2^32-1 bytes.
    const ByteVector claim = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    EXPECT_EQ(compression_error([&] { decompress(CompressionCodec::snappy, claim, 1 << 20); }).reason(),
              CompressionErrc::too_large);
}

TEST(Compression, ZstdWindowBeyondTheLimitIsRefused) {
    // A frame header declaring a 2 GiB window (Window_Descriptor 0xf8: exponent 31), no content size.
    const ByteVector frame = from_hex("28b52ffd00f8" "010000");
    EXPECT_THROW(decompress(CompressionCodec::zstd, frame, 1 << 20), CompressionError);
}

// ---- Kafka's own bytes ----

void expect_the_three_java_records(const Bytes& batch, int64_t base_offset = 100) {
    RecordBatchHeader h = validate_record_batch(batch.span());
    EXPECT_EQ(h.base_offset, base_offset);
    std::vector<Record> records = decode_records(batch, 1 << 20);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(h.offset_of(records[0]), base_offset);
    EXPECT_EQ(h.offset_of(records[2]), base_offset + 2);
    EXPECT_EQ(h.timestamp_of(records[0]), 1700000000000);
    EXPECT_EQ(h.timestamp_of(records[1]), 1700000000005);
    EXPECT_EQ(h.timestamp_of(records[2]), 1700000000002);
    EXPECT_EQ(records[0].key, text("k0"));
    EXPECT_EQ(records[0].value, text("value zero value zero value zero"));
    ASSERT_EQ(records[0].headers.size(), 1u);
    EXPECT_EQ(records[0].headers[0].key, text("h"));
    EXPECT_EQ(records[0].headers[0].value, text("x"));
    EXPECT_FALSE(records[1].key);
    EXPECT_EQ(records[1].value, text("value one"));
    EXPECT_TRUE(records[1].headers.empty());
    EXPECT_EQ(records[2].key, text("k2"));
    EXPECT_FALSE(records[2].value);
    ASSERT_EQ(records[2].headers.size(), 1u);
    EXPECT_FALSE(records[2].headers[0].value);
}

TEST(CompressionFromKafka, JavaV2BatchesOfEveryCodecDecode) {
    const std::pair<CompressionCodec, std::string_view> batches[] = {{CompressionCodec::gzip, java_v2_gzip},
                                                                     {CompressionCodec::snappy, java_v2_snappy},
                                                                     {CompressionCodec::lz4, java_v2_lz4},
                                                                     {CompressionCodec::zstd, java_v2_zstd}};
    for (const auto& [codec, hex] : batches) {
        SCOPED_TRACE(std::string(to_string(codec)));
        Bytes batch = bytes_of(from_hex(hex));
        EXPECT_EQ(parse_record_batch_header(batch.span()).compression(), codec);
        expect_the_three_java_records(batch);
    }
}

TEST(CompressionFromLibrdkafka, V2BatchesOfEveryCodecDecode) {
    const std::pair<CompressionCodec, std::string_view> batches[] = {{CompressionCodec::gzip, librdkafka_v2_gzip},
                                                                     {CompressionCodec::snappy, librdkafka_v2_snappy},
                                                                     {CompressionCodec::lz4, librdkafka_v2_lz4},
                                                                     {CompressionCodec::zstd, librdkafka_v2_zstd}};
    for (const auto& [codec, hex] : batches) {
        SCOPED_TRACE(std::string(to_string(codec)));
        Bytes batch = bytes_of(from_hex(hex));
        EXPECT_EQ(parse_record_batch_header(batch.span()).compression(), codec);
        expect_the_three_java_records(batch, 0);
    }
    // librdkafka's snappy is a raw block: no xerial magic.
    const ByteVector snappy = from_hex(librdkafka_v2_snappy);
    EXPECT_NE(snappy[61], 0x82);
}

TEST(CompressionFromLibrdkafka, MagicZeroWrappersOpen) {
    const std::pair<CompressionCodec, std::string_view> sets[] = {{CompressionCodec::gzip, librdkafka_m0_gzip},
                                                                  {CompressionCodec::snappy, librdkafka_m0_snappy},
                                                                  {CompressionCodec::lz4, librdkafka_m0_lz4}};
    const std::pair<std::optional<Bytes>, std::optional<Bytes>> expected[] = {
        {text("k0"), text("value zero value zero value zero")}, {std::nullopt, text("value one")}, {text("k2"), std::nullopt}};
    for (const auto& [codec, hex] : sets) {
        SCOPED_TRACE(std::string(to_string(codec)));
        MessageSetReader reader(bytes_of(from_hex(hex)), PartialTail::reject);
        std::optional<LegacyMessage> wrapper = reader.next();
        ASSERT_TRUE(wrapper);
        EXPECT_EQ(wrapper->magic, 0);
        EXPECT_EQ(wrapper->compression(), codec);
        std::vector<LegacyMessage> inner = inner_messages(*wrapper, 1 << 20);
        ASSERT_GE(inner.size(), 1u);
        ASSERT_LE(inner.size(), 3u);
        for (size_t i = 0; i < inner.size(); ++i) {
            EXPECT_EQ(inner[i].key, expected[i].first);
            EXPECT_EQ(inner[i].value, expected[i].second);
            EXPECT_EQ(inner[i].timestamp, -1);
        }
    }
    // The lz4 frame's header checksum is the old, broken one, so only magic 0 reading accepts it.
    ByteVector lz4 = from_hex(librdkafka_m0_lz4);
    const size_t frame = 8 + 4 + 4 + 1 + 1 + 4 + 4;
    EXPECT_EQ(lz4[frame + 6], static_cast<uint8_t>(xxh32(std::span(lz4).subspan(frame, 6), 0) >> 8));
}

TEST(CompressionFromKafka, OurCompressedBatchesDecodeLikeJavas) {
    // The same records through our builder, every codec, read back the same way.
    for (CompressionCodec codec : all_codecs) {
        SCOPED_TRACE(std::string(to_string(codec)));
        RecordBatchBuilder builder({.base_offset = 100, .attributes = static_cast<int16_t>(codec)});
        builder.append(1700000000000, text("k0"), text("value zero value zero value zero"), {{text("h"), text("x")}});
        builder.append(1700000000005, std::nullopt, text("value one"));
        builder.append(1700000000002, text("k2"), std::nullopt, {{text("n"), std::nullopt}});
        Bytes batch = builder.build();
        EXPECT_EQ(parse_record_batch_header(batch.span()).compression(), codec);
        expect_the_three_java_records(batch);
    }
}

TEST(CompressionFromKafka, JavaLegacyWrappersOfEveryCodecOpen) {
    const std::tuple<int8_t, CompressionCodec, std::string_view> sets[] = {
        {0, CompressionCodec::gzip, java_m0_gzip}, {0, CompressionCodec::snappy, java_m0_snappy},
        {0, CompressionCodec::lz4, java_m0_lz4},   {1, CompressionCodec::gzip, java_m1_gzip},
        {1, CompressionCodec::snappy, java_m1_snappy}, {1, CompressionCodec::lz4, java_m1_lz4}};
    for (const auto& [magic, codec, hex] : sets) {
        SCOPED_TRACE("magic " + std::to_string(magic) + " " + std::string(to_string(codec)));
        MessageSetReader reader(bytes_of(from_hex(hex)), PartialTail::reject);
        std::optional<LegacyMessage> wrapper = reader.next();
        ASSERT_TRUE(wrapper);
        EXPECT_FALSE(reader.next());
        EXPECT_EQ(wrapper->magic, magic);
        EXPECT_EQ(wrapper->compression(), codec);
        EXPECT_EQ(wrapper->offset, 2);
        std::vector<LegacyMessage> inner = inner_messages(*wrapper, 1 << 20);
        ASSERT_EQ(inner.size(), 3u);
        for (int i = 0; i < 3; ++i) EXPECT_EQ(inner[static_cast<size_t>(i)].offset, i);
        EXPECT_EQ(inner[0].key, text("k0"));
        EXPECT_EQ(inner[0].value, text("value zero value zero value zero"));
        EXPECT_FALSE(inner[1].key);
        EXPECT_EQ(inner[1].value, text("value one"));
        EXPECT_EQ(inner[2].key, text("k2"));
        EXPECT_FALSE(inner[2].value);
        EXPECT_EQ(inner[1].timestamp, magic == 0 ? -1 : 1700000000005);
    }
}

TEST(CompressionFromKafka, JavaMagicV0Lz4HasTheOldChecksumAndOursMatches) {
    ByteVector set = from_hex(java_m0_lz4);
    // The wrapper's value starts after offset, size, crc, magic, attributes, key (-1) and value length.
    const size_t frame = 8 + 4 + 4 + 1 + 1 + 4 + 4;
    ASSERT_EQ(ByteVector(set.begin() + frame, set.begin() + frame + 4), from_hex("04224d18"));
    EXPECT_EQ(set[frame + 6], static_cast<uint8_t>(xxh32(std::span(set).subspan(frame, 6), 0) >> 8));
    // Our magic 0 wrapper of the same messages carries the same header.
    MessageSetBuilder ours(0);
    ours.append(0, -1, text("k0"), text("value zero value zero value zero"));
    ours.append(1, -1, std::nullopt, text("value one"));
    ours.append(2, -1, text("k2"), std::nullopt);
    ByteVector built = vector_of(ours.build_compressed(CompressionCodec::lz4));
    EXPECT_EQ(ByteVector(built.begin() + frame, built.begin() + frame + 7), ByteVector(set.begin() + frame, set.begin() + frame + 7));
}

} // namespace
} // namespace kafka
