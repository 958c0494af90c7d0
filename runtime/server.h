// The libevent server: listeners and connections on one event loop per thread (SO_REUSEPORT
// listeners, so the kernel spreads connections over the loops).
//
// A connection reads 4-byte length-prefixed frames (negative or over max_request_size: logged and
// closed), parses the request header (v0/v1/v2, picked from the API table's flexible versions),
// makes an Exchange and hands it to the Dispatcher.  Responses leave in request order: each exchange
// has a sequence number and early answers are parked until their turn.  Backpressure: while a
// connection's unsent output or unanswered requests pile up past the limits it is not read.
#pragma once

#include "runtime/dispatcher.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace kafka {

struct ServerOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 9092;              // 0: any free port (see Server::port())
    int threads = 0;                   // event loops; 0: one per core
    size_t max_request_size = 100u << 20;
    size_t max_pending_output = 64u << 20;     // stop reading a connection above this
    size_t max_in_flight_requests = 1000;      // ... or with this many unanswered requests
    size_t max_in_flight_bytes = 64u << 20;    // ... or with this many bytes of unanswered requests
};

class Server {
public:
    Server(ServerOptions options, const Dispatcher& dispatcher);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds the listeners (throws std::runtime_error when it cannot) and starts the loops' threads.
    void start();
    // The bound port (useful with port 0).
    uint16_t port() const;
    // Stops accepting, lets in-flight requests finish and their responses leave (up to `grace_ms`),
    // then closes every connection and joins the loops.  Callable from a signal-watching thread.
    void stop(int grace_ms = 10000);
    // Blocks until stop() has finished.
    void wait();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace kafka
