// libFuzzer target over the whole request path: frame header parsing, dispatch, request decoding,
// the handler's work on a memory:// engine and the response encoding.  A protocol fault or a
// DecodeError is the expected outcome for most inputs; a crash, a sanitizer report or an uncaught
// exception of any other kind is a bug.
#include "gateway/broker.h"
#include "runtime/log.h"
#include "runtime/request_frame.h"

#include <cstdint>
#include <cstring>
#include <memory>

namespace {

class FuzzExchange : public kafka::Exchange {
public:
    FuzzExchange(kafka::RequestHeaderInfo header, kafka::Bytes body) : Exchange(std::move(header), std::move(body)) {}
    const std::string& peer() const override { return peer_; }
    void close_connection(const std::string&) override {}
    bool connection_open() const override { return true; }

protected:
    void complete(std::optional<kafka::Writer>) override {}

private:
    std::string peer_ = "fuzzer";
};

struct World {
    gateway::Broker broker;
    kafka::Dispatcher dispatcher;
    World() : broker(config(), gateway::StorageEngine::open("memory://", {})) { broker.register_handlers(dispatcher); }
    static gateway::Config config() {
        gateway::Config c;
        c.default_partitions = 2;
        return c;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static World* world = new World();   // one broker for the whole run, as a server has
    kafka::set_log_level(kafka::LogLevel::error);
    kafka::Bytes frame = kafka::Bytes::copy_of(std::span(data, size));
    try {
        kafka::RequestFrame request = kafka::parse_request_frame(frame);
        auto exchange = std::make_shared<FuzzExchange>(std::move(request.header), std::move(request.body));
        world->dispatcher.dispatch(exchange);
    } catch (const kafka::ProtocolFault&) {
    }
    return 0;
}
