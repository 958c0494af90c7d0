// The one central dispatcher.  Handlers declare their API key and version range once, here; the
// same declaration drives the dispatch checks and the ApiVersions reply (never a schema's whole
// range just because the codec can parse it).
//
// Unknown API key: the connection is closed with a log line (a protocol fault).  A version outside
// the declared range: ApiVersions is answered in the v0 shape with UNSUPPORTED_VERSION and the
// supported ranges (so the client can pick one); any other API closes the connection with a log line,
// as Kafka does.
#pragma once

#include "runtime/exchange.h"

#include <functional>
#include <vector>

namespace kafka {

class Dispatcher {
public:
    using Handle = std::function<void(const ExchangePtr&)>;

    struct Registration {
        int16_t key;
        int16_t min_version;
        int16_t max_version;
        Handle handle;
    };

    // Registers a handler for one API; a second registration of a key is a programming error.
    void add(int16_t key, int16_t min_version, int16_t max_version, Handle handle);
    // Replaces a registered handler by wrapper(handler), e.g. one that runs it on other threads (with
    // run_handler there).
    void wrap(int16_t key, const std::function<Handle(Handle)>& wrapper);

    // Runs the handler for the exchange, or does what the comment above says.  Exceptions a handler
    // throws while decoding (DecodeError) close the connection with a log line.
    void dispatch(const ExchangePtr& exchange) const;

    // Declared ranges in key order, for ApiVersions.
    std::vector<Registration> registrations() const;
    const Registration* find(int16_t key) const;

    // Runs a handler as dispatch() does: a request that cannot be decoded, or a handler that fails,
    // closes the connection with a log line.
    static void run_handler(const Handle& handle, const ExchangePtr& exchange);

private:
    std::vector<Registration> by_key_;   // indexed by key; handle empty when not registered
};

} // namespace kafka
