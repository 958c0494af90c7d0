// An Exchange is one request in flight and the promise of its response.  The connection creates it
// for every frame; a handler answers it now or later, from any thread (a long-poll fetch answers on
// the thread whose append woke it).  Responses leave the connection in request order whatever order
// the handlers answer in.
#pragma once

#include "runtime/reader.h"
#include "runtime/writer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace kafka {

struct RequestHeaderInfo {
    int16_t api_key = 0;
    int16_t api_version = 0;
    int32_t correlation_id = 0;
    std::optional<std::string> client_id;
    int16_t response_header_version = 0;   // 0: correlation id; 1: plus an empty tagged section
};

class Exchange : public std::enable_shared_from_this<Exchange> {
public:
    virtual ~Exchange() = default;

    const RequestHeaderInfo& header() const { return header_; }
    int16_t version() const { return header_.api_version; }
    // A reader over the request body (after the header); views the frame, so Bytes fields decoded
    // from it keep the frame alive, not a copy of it.
    Reader body() const { return Reader(body_); }
    // host:port of the client, for logs.
    virtual const std::string& peer() const = 0;
    // Names the connection the request came on: the same for all of its requests while it is open (an
    // address that a later connection may reuse).  By default the exchange itself.
    virtual const void* connection_key() const { return this; }

    // Encodes `response` (header + body, at the request's version) and hands it to the connection.
    template<typename Response>
    void respond(const Response& response) { respond_at_version(response, header_.api_version); }
    // The same at another version: only for ApiVersions' UNSUPPORTED_VERSION reply, which Kafka
    // encodes in the v0 shape whatever version was asked for (the header stays the request's).
    template<typename Response>
    void respond_at_version(const Response& response, int16_t v) {
        Writer w(response.size(v) + 16);
        w.write_int32(0);   // frame length, patched below
        w.write_int32(header_.correlation_id);
        if (header_.response_header_version >= 1) w.write_uvarint(0);   // no tagged fields
        response.encode(w, v);
        w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
        complete(std::move(w));
    }
    // acks=0 produce: no response, but later responses may now leave.
    void respond_none() { complete(std::nullopt); }
    // A protocol fault: logs `reason` and closes the connection once earlier responses are out.
    virtual void close_connection(const std::string& reason) = 0;
    // False once the client is gone; a handler may skip work whose answer nobody will read.
    virtual bool connection_open() const = 0;

protected:
    Exchange(RequestHeaderInfo header, Bytes body) : header_(std::move(header)), body_(std::move(body)) {}
    // Thread-safe; exactly once per exchange.  nullopt: no response (acks=0).
    virtual void complete(std::optional<Writer> response) = 0;

private:
    RequestHeaderInfo header_;
    Bytes body_;
};

using ExchangePtr = std::shared_ptr<Exchange>;

} // namespace kafka
