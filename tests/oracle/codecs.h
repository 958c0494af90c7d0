// Our codec for every API, reached by API key at run time, for the oracle and capture tests: decode
// bytes at a version, re-encode them, compare two encodings field by field, and name the field that
// holds a given byte offset.  Plain functions over byte spans, so the tests need no templates.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kafka::oracle {

struct Decoded {
    std::string error;                // the DecodeError (or EncodeError) text; empty when all went well
    size_t consumed = 0;              // bytes decode() read
    size_t size = 0;                  // size(version) of the decoded message
    std::vector<uint8_t> reencoded;   // encode(version) of the decoded message
    std::string printed;              // the decoded message, printed
    std::string records_error;        // records fields that are not sound v2 batches (Produce, Fetch)
};

struct MessageCodec {
    // Decodes `bytes` at `version` and re-encodes what it read.
    Decoded (*decode_and_reencode)(std::span<const uint8_t> bytes, int16_t version);
    // Decodes both encodings and compares the messages (operator==).  "" when equal; otherwise the
    // first differing field (a path such as ProduceRequest.topic_data[0].partition_data[1].records)
    // with both values as printed, or a decode error.
    std::string (*compare)(std::span<const uint8_t> ours, std::span<const uint8_t> theirs, int16_t version);
    // The field whose bytes include `offset` (decoding stops there and says where), or "".
    std::string (*field_at)(std::span<const uint8_t> bytes, int16_t version, size_t offset);
};

struct ApiCodec {
    int16_t key;
    std::string_view name;
    int16_t min_version;
    int16_t max_version;
    MessageCodec request;
    MessageCodec response;
};

// Every API of generated/api_traits.h.
std::span<const ApiCodec> api_codecs();
const ApiCodec* find_api_codec(int16_t key);

// The path of the field printed at `position` of a printer output (see runtime/printer.h).
std::string field_path_at(std::string_view printed, size_t position);

// Offset of the first byte where a and b differ (the shorter size when one is a prefix of the other).
size_t first_difference(std::span<const uint8_t> a, std::span<const uint8_t> b);

} // namespace kafka::oracle
