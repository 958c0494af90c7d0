// The start of every request frame: API key, version, correlation id and the rest of the request
// header, whose version the API table gives.  Used by the connection and by the fuzz target, so that
// both parse exactly alike.
#pragma once

#include "runtime/exchange.h"

#include <memory>
#include <stdexcept>
#include <string>

namespace kafka {

// A frame that cannot be a request (too short, unknown API key, bad header): the connection logs
// the reason and closes.
class ProtocolFault : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct RequestFrame {
    RequestHeaderInfo header;
    Bytes body;   // views the frame
};

// Parses the header of `frame` (the bytes after the 4-byte length).  Throws ProtocolFault.
RequestFrame parse_request_frame(const Bytes& frame);

} // namespace kafka
