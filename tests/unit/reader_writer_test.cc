// The codec primitives: every encoding checked against bytes written out by hand from the Kafka
// protocol guide, then read back; every Reader error kind provoked.
#include "runtime/reader.h"
#include "runtime/writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace kafka {
namespace {

using ByteVector = std::vector<uint8_t>;

ByteVector written(const std::function<void(Writer&)>& write) {
    Writer w;
    write(w);
    ByteVector out = w.flatten();
    EXPECT_EQ(out.size(), w.size());
    return out;
}

// The DecodeError `read` throws; a test failure if it throws none.
DecodeError decode_error(const ByteVector& bytes, const std::function<void(Reader&)>& read) {
    Reader r(bytes.data(), bytes.size());
    try {
        read(r);
    } catch (const DecodeError& e) {
        return e;
    }
    ADD_FAILURE() << "no DecodeError thrown";
    return DecodeError(DecodeErrc::invalid_value, "<none>");
}

bool mentions(const DecodeError& e, std::string_view text) {
    return std::string_view(e.what()).find(text) != std::string_view::npos;
}

// ---- fixed-width integers ----

TEST(ReaderWriter, BigEndianIntegersRoundTrip) {
    ByteVector bytes = written([](Writer& w) {
        w.write_int8(-2);
        w.write_bool(true);
        w.write_int16(0x0102);
        w.write_uint16(0xfffe);
        w.write_int32(0x01020304);
        w.write_uint32(0xdeadbeef);
        w.write_int64(0x0102030405060708);
        w.write_int64(std::numeric_limits<int64_t>::min());
        w.write_int32(-1);
    });
    EXPECT_EQ(bytes, (ByteVector{0xfe, 0x01, 0x01, 0x02, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0xde, 0xad, 0xbe, 0xef,
                                 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0,
                                 0xff, 0xff, 0xff, 0xff}));

    Reader r(bytes.data(), bytes.size());
    EXPECT_EQ(r.read_int8(), -2);
    EXPECT_TRUE(r.read_bool());
    EXPECT_EQ(r.read_int16(), 0x0102);
    EXPECT_EQ(r.read_uint16(), 0xfffe);
    EXPECT_EQ(r.read_int32(), 0x01020304);
    EXPECT_EQ(r.read_uint32(), 0xdeadbeefu);
    EXPECT_EQ(r.read_int64(), 0x0102030405060708);
    EXPECT_EQ(r.read_int64(), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(r.read_int32(), -1);
    EXPECT_TRUE(r.at_end());
}

TEST(ReaderWriter, Float64IsBigEndianIeee754) {
    ByteVector bytes = written([](Writer& w) {
        w.write_float64(1.5);
        w.write_float64(-0.0);
        w.write_float64(std::numeric_limits<double>::infinity());
        w.write_float64(std::nan(""));
    });
    ASSERT_EQ(bytes.size(), 32u);
    EXPECT_EQ(ByteVector(bytes.begin(), bytes.begin() + 8), (ByteVector{0x3f, 0xf8, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(ByteVector(bytes.begin() + 8, bytes.begin() + 16), (ByteVector{0x80, 0, 0, 0, 0, 0, 0, 0}));
    Reader r(bytes.data(), bytes.size());
    EXPECT_EQ(r.read_float64(), 1.5);
    double negative_zero = r.read_float64();
    EXPECT_EQ(negative_zero, 0.0);
    EXPECT_TRUE(std::signbit(negative_zero));
    EXPECT_EQ(r.read_float64(), std::numeric_limits<double>::infinity());
    EXPECT_TRUE(std::isnan(r.read_float64()));
}

TEST(ReaderWriter, UuidIsSixteenRawBytes) {
    Uuid u;
    for (size_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<uint8_t>(0xa0 + i);
    ByteVector bytes = written([&](Writer& w) { w.write_uuid(u); });
    EXPECT_EQ(bytes, ByteVector(u.bytes.begin(), u.bytes.end()));
    Reader r(bytes.data(), bytes.size());
    EXPECT_EQ(r.read_uuid(), u);
    EXPECT_TRUE(r.at_end());
}

// ---- varints ----

struct UnsignedCase {
    uint32_t value;
    ByteVector bytes;
};

TEST(ReaderWriter, UnsignedVarintBoundaries) {
    const std::vector<UnsignedCase> cases = {
        {0, {0x00}},
        {1, {0x01}},
        {127, {0x7f}},
        {128, {0x80, 0x01}},
        {300, {0xac, 0x02}},
        {16383, {0xff, 0x7f}},
        {16384, {0x80, 0x80, 0x01}},
        {2097151, {0xff, 0xff, 0x7f}},
        {2097152, {0x80, 0x80, 0x80, 0x01}},
        {268435455, {0xff, 0xff, 0xff, 0x7f}},
        {268435456, {0x80, 0x80, 0x80, 0x80, 0x01}},
        {std::numeric_limits<uint32_t>::max(), {0xff, 0xff, 0xff, 0xff, 0x0f}},
    };
    for (const UnsignedCase& c : cases) {
        ByteVector bytes = written([&](Writer& w) { w.write_uvarint(c.value); });
        EXPECT_EQ(bytes, c.bytes) << c.value;
        EXPECT_EQ(uvarint_size(c.value), c.bytes.size()) << c.value;
        Reader r(c.bytes.data(), c.bytes.size());
        EXPECT_EQ(r.read_uvarint(), c.value);
        EXPECT_TRUE(r.at_end());
    }
}

struct SignedCase {
    int64_t value;
    ByteVector bytes;
};

// Zig-zag: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ...
TEST(ReaderWriter, SignedVarintZigZag) {
    const std::vector<SignedCase> cases = {
        {0, {0x00}},
        {-1, {0x01}},
        {1, {0x02}},
        {63, {0x7e}},
        {-64, {0x7f}},
        {64, {0x80, 0x01}},
        {-65, {0x81, 0x01}},
        {8191, {0xfe, 0x7f}},
        {8192, {0x80, 0x80, 0x01}},
        {std::numeric_limits<int32_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0x0f}},
        {std::numeric_limits<int32_t>::min(), {0xff, 0xff, 0xff, 0xff, 0x0f}},
    };
    for (const SignedCase& c : cases) {
        const auto v = static_cast<int32_t>(c.value);
        ByteVector bytes = written([&](Writer& w) { w.write_varint(v); });
        EXPECT_EQ(bytes, c.bytes) << v;
        EXPECT_EQ(varint_size(v), c.bytes.size()) << v;
        Reader r(c.bytes.data(), c.bytes.size());
        EXPECT_EQ(r.read_varint(), v);
        EXPECT_TRUE(r.at_end());

        // A varlong of the same value is the same bytes.
        EXPECT_EQ(written([&](Writer& w) { w.write_varlong(c.value); }), c.bytes) << c.value;
    }
}

TEST(ReaderWriter, SignedVarlongBoundaries) {
    const std::vector<SignedCase> cases = {
        {0, {0x00}},
        {-1, {0x01}},
        {int64_t{1} << 31, {0x80, 0x80, 0x80, 0x80, 0x10}},
        {std::numeric_limits<int64_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
        {std::numeric_limits<int64_t>::min(), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    for (const SignedCase& c : cases) {
        ByteVector bytes = written([&](Writer& w) { w.write_varlong(c.value); });
        EXPECT_EQ(bytes, c.bytes) << c.value;
        EXPECT_EQ(varlong_size(c.value), c.bytes.size()) << c.value;
        Reader r(c.bytes.data(), c.bytes.size());
        EXPECT_EQ(r.read_varlong(), c.value);
        EXPECT_TRUE(r.at_end());
    }
    ByteVector max_unsigned = written([](Writer& w) { w.write_uvarlong(std::numeric_limits<uint64_t>::max()); });
    EXPECT_EQ(max_unsigned.size(), 10u);
    Reader r(max_unsigned.data(), max_unsigned.size());
    EXPECT_EQ(r.read_uvarlong(), std::numeric_limits<uint64_t>::max());
}

// ---- strings, bytes, arrays ----

TEST(ReaderWriter, ClassicStrings) {
    ByteVector bytes = written([](Writer& w) {
        w.write_string("abc");
        w.write_string("");
        w.write_nullable_string(std::nullopt);
        w.write_nullable_string(std::string("x"));
    });
    EXPECT_EQ(bytes, (ByteVector{0x00, 0x03, 'a', 'b', 'c', 0x00, 0x00, 0xff, 0xff, 0x00, 0x01, 'x'}));
    Reader r(bytes.data(), bytes.size());
    EXPECT_EQ(r.read_string(), "abc");
    EXPECT_EQ(r.read_string(), "");
    EXPECT_EQ(r.read_nullable_string(), std::nullopt);
    EXPECT_EQ(r.read_nullable_string(), std::optional<std::string>("x"));
    EXPECT_TRUE(r.at_end());
}

TEST(ReaderWriter, CompactStrings) {
    ByteVector bytes = written([](Writer& w) {
        w.write_compact_string("abc");
        w.write_compact_string("");
        w.write_compact_nullable_string(std::nullopt);
    });
    // Compact lengths are length + 1, so 0 is null and 1 is empty.
    EXPECT_EQ(bytes, (ByteVector{0x04, 'a', 'b', 'c', 0x01, 0x00}));
    EXPECT_EQ(compact_string_size("abc"), 4u);
    Reader r(bytes.data(), bytes.size());
    EXPECT_EQ(r.read_compact_string(), "abc");
    EXPECT_EQ(r.read_compact_nullable_string(), std::optional<std::string>(""));
    EXPECT_EQ(r.read_compact_nullable_string(), std::nullopt);
    EXPECT_TRUE(r.at_end());
}

TEST(ReaderWriter, LongCompactStringUsesTwoByteLength) {
    std::string s(200, 'z');
    ByteVector bytes = written([&](Writer& w) { w.write_compact_string(s); });
    ASSERT_EQ(bytes.size(), 202u);
    EXPECT_EQ(bytes[0], 0xc9); // 201 = 0b1_1001001
    EXPECT_EQ(bytes[1], 0x01);
    Reader r(bytes.data(), bytes.size());
    EXPECT_EQ(r.read_compact_string(), s);
}

TEST(ReaderWriter, ClassicAndCompactBytes) {
    Bytes payload = Bytes::copy_of(std::string_view("\x01\x02\x03", 3));
    ByteVector bytes = written([&](Writer& w) {
        w.write_bytes(payload);
        w.write_nullable_bytes(std::nullopt);
        w.write_compact_bytes(payload);
        w.write_compact_nullable_bytes(std::nullopt);
        w.write_compact_bytes(Bytes());
    });
    EXPECT_EQ(bytes, (ByteVector{0, 0, 0, 3, 1, 2, 3, 0xff, 0xff, 0xff, 0xff, 0x04, 1, 2, 3, 0x00, 0x01}));
    Reader r(bytes.data(), bytes.size());
    EXPECT_EQ(r.read_bytes(), payload);
    EXPECT_EQ(r.read_nullable_bytes(), std::nullopt);
    EXPECT_EQ(r.read_compact_bytes(), payload);
    EXPECT_EQ(r.read_compact_nullable_bytes(), std::nullopt);
    EXPECT_TRUE(r.read_compact_bytes().empty());
    EXPECT_TRUE(r.at_end());
}

TEST(ReaderWriter, ReadBytesViewsTheFrameAndSharesItsOwner) {
    auto frame = std::make_shared<ByteVector>(ByteVector{0, 0, 0, 2, 'h', 'i'});
    const long owners_before = frame.use_count();
    Reader r(frame->data(), frame->size(), frame);
    Bytes b = r.read_bytes();
    EXPECT_EQ(b.data(), frame->data() + 4); // a view, not a copy
    EXPECT_EQ(b.view(), "hi");
    EXPECT_EQ(frame.use_count(), owners_before + 2); // the reader and the view
}

TEST(ReaderWriter, ArrayLengths) {
    ByteVector bytes = written([](Writer& w) {
        w.write_array_length(3);
        w.write_array_length(-1);
        w.write_compact_array_length(3);
        w.write_compact_array_length(-1);
        w.write_int8(0);
        w.write_int8(0);
        w.write_int8(0);
    });
    EXPECT_EQ(bytes, (ByteVector{0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0x04, 0x00, 0, 0, 0}));
    Reader r(bytes.data(), bytes.size());
    EXPECT_EQ(r.read_array_length(1), 3);
    EXPECT_EQ(r.read_array_length(1), -1);
    EXPECT_EQ(r.read_compact_array_length(1), 3);
    EXPECT_EQ(r.read_compact_array_length(1), -1);
}

TEST(ReaderWriter, SubReaderAndSkipStayInBounds) {
    ByteVector bytes{1, 2, 3, 4, 5};
    Reader r(bytes.data(), bytes.size());
    r.skip(1);
    Reader sub = r.sub_reader(2);
    EXPECT_EQ(r.position(), 3u);
    EXPECT_EQ(sub.remaining(), 2u);
    EXPECT_EQ(sub.read_int16(), 0x0203);
    EXPECT_EQ(decode_error(bytes, [](Reader& rr) { rr.sub_reader(2).read_int32(); }).code(), DecodeErrc::truncated);
}

// ---- reader errors ----

TEST(ReaderErrors, Truncated) {
    DecodeError e = decode_error({0x00, 0x01}, [](Reader& r) { r.at("throttle_time_ms").read_int32(); });
    EXPECT_EQ(e.code(), DecodeErrc::truncated);
    EXPECT_TRUE(mentions(e, "needed 4 bytes, 2 left")) << e.what();
    EXPECT_TRUE(mentions(e, "throttle_time_ms")) << e.what();

    // A varint cut short is truncated, not too long.
    EXPECT_EQ(decode_error({0x80, 0x80}, [](Reader& r) { r.read_uvarint(); }).code(), DecodeErrc::truncated);
    EXPECT_EQ(decode_error({}, [](Reader& r) { r.read_int8(); }).code(), DecodeErrc::truncated);
    EXPECT_EQ(decode_error({1, 2, 3}, [](Reader& r) { r.read_uuid(); }).code(), DecodeErrc::truncated);
}

TEST(ReaderErrors, NegativeLength) {
    DecodeError e = decode_error({0xff, 0xfe}, [](Reader& r) { r.read_nullable_string(); });
    EXPECT_EQ(e.code(), DecodeErrc::negative_length);
    EXPECT_TRUE(mentions(e, "string length -2")) << e.what();

    e = decode_error({0xff, 0xff, 0xff, 0xfe}, [](Reader& r) { r.read_nullable_bytes(); });
    EXPECT_EQ(e.code(), DecodeErrc::negative_length);
    EXPECT_TRUE(mentions(e, "bytes length -2")) << e.what();

    e = decode_error({0xff, 0xff, 0xff, 0xfd}, [](Reader& r) { r.read_array_length(1); });
    EXPECT_EQ(e.code(), DecodeErrc::negative_length);
    EXPECT_TRUE(mentions(e, "array length -3")) << e.what();
}

TEST(ReaderErrors, LengthBeyondRemaining) {
    DecodeError e = decode_error({0x00, 0x0a, 'a', 'b', 'c'}, [](Reader& r) { r.read_string(); });
    EXPECT_EQ(e.code(), DecodeErrc::length_beyond_remaining);
    EXPECT_TRUE(mentions(e, "string length 10, 3 bytes left")) << e.what();

    e = decode_error({0x05, 'a'}, [](Reader& r) { r.read_compact_bytes(); });
    EXPECT_EQ(e.code(), DecodeErrc::length_beyond_remaining);
    EXPECT_TRUE(mentions(e, "bytes length 4, 1 bytes left")) << e.what();

    // 1000 elements of at least 4 bytes cannot fit in 8 bytes: rejected before any allocation.
    e = decode_error({0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0}, [](Reader& r) { r.read_array_length(4); });
    EXPECT_EQ(e.code(), DecodeErrc::length_beyond_remaining);
    EXPECT_TRUE(mentions(e, "array of 1000 elements")) << e.what();
}

TEST(ReaderErrors, VarintTooLong) {
    DecodeError e = decode_error({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, [](Reader& r) { r.read_uvarint(); });
    EXPECT_EQ(e.code(), DecodeErrc::varint_too_long);
    EXPECT_TRUE(mentions(e, "varint")) << e.what();

    // Five bytes, but the last carries bits beyond 32.
    e = decode_error({0xff, 0xff, 0xff, 0xff, 0x1f}, [](Reader& r) { r.read_varint(); });
    EXPECT_EQ(e.code(), DecodeErrc::varint_too_long);

    e = decode_error(ByteVector(11, 0xff), [](Reader& r) { r.read_varlong(); });
    EXPECT_EQ(e.code(), DecodeErrc::varint_too_long);
    EXPECT_TRUE(mentions(e, "varlong")) << e.what();
}

TEST(ReaderErrors, StringTooLong) {
    // Compact length 40001 means a 40000-byte string.
    ByteVector bytes = written([](Writer& w) { w.write_uvarint(40001); });
    bytes.resize(bytes.size() + 40000, 'a');
    DecodeError e = decode_error(bytes, [](Reader& r) { r.read_compact_string(); });
    EXPECT_EQ(e.code(), DecodeErrc::string_too_long);
    EXPECT_TRUE(mentions(e, "40000")) << e.what();

    Writer w;
    EXPECT_THROW(w.write_string(std::string(40000, 'a')), EncodeError);
}

TEST(ReaderErrors, NullNotAllowed) {
    DecodeError e = decode_error({0xff, 0xff}, [](Reader& r) { r.at("group_id").read_string(); });
    EXPECT_EQ(e.code(), DecodeErrc::null_not_allowed);
    EXPECT_TRUE(mentions(e, "null")) << e.what();
    EXPECT_TRUE(mentions(e, "group_id")) << e.what();

    EXPECT_EQ(decode_error({0x00}, [](Reader& r) { r.read_compact_string(); }).code(), DecodeErrc::null_not_allowed);
    EXPECT_EQ(decode_error({0x00}, [](Reader& r) { r.read_compact_bytes(); }).code(), DecodeErrc::null_not_allowed);
    EXPECT_EQ(decode_error({0xff, 0xff, 0xff, 0xff}, [](Reader& r) { r.read_bytes(); }).code(),
              DecodeErrc::null_not_allowed);
}

TEST(ReaderErrors, MessageNamesOffset) {
    DecodeError e = decode_error({0, 0, 0, 0, 0xff, 0xfe}, [](Reader& r) {
        r.read_int32();
        r.read_nullable_string();
    });
    EXPECT_TRUE(mentions(e, "at offset 6")) << e.what();
}

// ---- writer zero-copy ----

Bytes owned_bytes(size_t n, uint8_t fill) {
    auto buffer = std::make_shared<ByteVector>(n, fill);
    return Bytes(buffer, buffer->data(), n);
}

TEST(WriterZeroCopy, LargeOwnedBytesAreReferenced) {
    Bytes big = owned_bytes(Writer::zero_copy_threshold, 0x5a);
    Writer w;
    w.write_int16(7);
    w.write_bytes(big);
    w.write_int8(-1);

    ASSERT_EQ(w.references().size(), 1u);
    std::vector<Writer::Segment> segments = w.segments();
    ASSERT_EQ(segments.size(), 3u);
    EXPECT_EQ(segments[0].size, 2u + 4u); // int16 and the length prefix
    EXPECT_EQ(segments[1].data, big.data());
    EXPECT_EQ(segments[1].size, big.size());
    EXPECT_EQ(segments[2].size, 1u);
    EXPECT_EQ(w.size(), 2u + 4u + big.size() + 1u);

    // The same bytes without an owner are copied, and the output is identical.
    Writer copied;
    copied.write_int16(7);
    copied.write_bytes(Bytes(nullptr, big.data(), big.size()));
    copied.write_int8(-1);
    EXPECT_TRUE(copied.references().empty());
    EXPECT_EQ(copied.segments().size(), 1u);
    EXPECT_EQ(w.flatten(), copied.flatten());
}

TEST(WriterZeroCopy, SmallOwnedBytesAreCopied) {
    Bytes small = owned_bytes(Writer::zero_copy_threshold - 1, 0x11);
    Writer w;
    w.write_compact_bytes(small);
    EXPECT_TRUE(w.references().empty());
    EXPECT_EQ(w.segments().size(), 1u);
    EXPECT_EQ(w.size(), uvarint_size(static_cast<uint32_t>(small.size() + 1)) + small.size());
}

TEST(WriterZeroCopy, ReferenceKeepsOwnerAliveAndPatchWorksAroundIt) {
    Writer w;
    {
        Bytes big = owned_bytes(Writer::zero_copy_threshold * 2, 0x77);
        w.write_int32(0); // a length prefix patched later
        w.write_payload(big);
        w.write_payload(big);
    }
    w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
    ByteVector flat = w.flatten();
    ASSERT_EQ(flat.size(), 4 + 4 * Writer::zero_copy_threshold);
    Reader r(flat.data(), flat.size());
    const auto length = static_cast<size_t>(r.read_int32());
    EXPECT_EQ(length, r.remaining());
    EXPECT_EQ(flat.back(), 0x77);
    EXPECT_EQ(w.references().size(), 2u);
}

TEST(WriterZeroCopy, MovedWriterKeepsItsOutput) {
    Writer a;
    a.write_string("hello");
    a.write_payload(owned_bytes(Writer::zero_copy_threshold, 1));
    ByteVector expected = a.flatten();
    Writer b(std::move(a));
    EXPECT_EQ(b.flatten(), expected);
    Writer c;
    c = std::move(b);
    EXPECT_EQ(c.flatten(), expected);
}

} // namespace
} // namespace kafka
