// The two ways a codec call fails.  DecodeError: the bytes are not a valid message (the connection
// that sent them is closed with a log line).  EncodeError: the message cannot be written at the
// requested version (a programming error in a handler, never the peer's fault).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kafka {

enum class DecodeErrc : uint8_t {
    truncated,               // fewer bytes than the value needs
    negative_length,         // a length below -1, or -1 where null is impossible
    length_beyond_remaining, // a length or count larger than what is left of the frame
    varint_too_long,         // a varint with more than 5 (or 10) bytes
    string_too_long,         // a string over 32767 bytes
    null_not_allowed,        // null where the version makes the field non-nullable
    invalid_value,           // anything else: bad tagged field size, bad magic, ...
};

std::string_view to_string(DecodeErrc);

class DecodeError : public std::runtime_error {
public:
    DecodeError(DecodeErrc code, const std::string& what) : std::runtime_error(what), code_(code) {}
    DecodeErrc code() const { return code_; }

private:
    DecodeErrc code_;
};

class EncodeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown by generated encoders; out of line to keep the encoders small.
[[noreturn]] void throw_unsupported_field(const char* field, int16_t version);
[[noreturn]] void throw_null_field(const char* field, int16_t version);
[[noreturn]] void throw_tags_at_non_flexible_version(int16_t version);

} // namespace kafka
