// The dispatcher's checks (with a fake exchange) and the libevent server end to end over loopback:
// framing faults close the connection, responses leave in request order whatever order handlers
// answer in, backpressure pauses reading without deadlocking, stop() lets in-flight answers out.
#include "runtime/dispatcher.h"
#include "runtime/server.h"

#include "generated/api_table.h"
#include "generated/api_versions_request.h"
#include "generated/api_versions_response.h"
#include "generated/request_header.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kafka {
namespace {

using namespace std::chrono_literals;
using ByteVector = std::vector<uint8_t>;

constexpr int16_t api_versions_key = 18;
constexpr int16_t test_key = 12;   // Heartbeat's key and header rules, with a test body (v0-3: classic headers)

// The test API's body: mode, tag, then mode-specific bytes.
enum Mode : int32_t {
    answer_now = 0,
    park = 1,         // held until the test releases it, from the test's thread
    answer_none = 2,  // acks=0
    blob = 3,         // answered with a payload of `size` bytes (an int32 after the tag)
    fail = 4,         // the handler throws
    echo = 5,         // answered with the rest of the body, which the response references
};

// tag + bytes; large payloads with an owner are referenced by the Writer, not copied.
struct TagResponse {
    int32_t tag = 0;
    Bytes payload;
    size_t size(int16_t) const { return 8 + payload.size(); }
    void encode(Writer& w, int16_t) const {
        w.write_int32(tag);
        w.write_bytes(payload);
    }
};

ApiVersionsResponse versions_of(const Dispatcher& dispatcher) {
    ApiVersionsResponse response;
    for (const auto& r : dispatcher.registrations()) response.api_keys.push_back({r.key, r.min_version, r.max_version, {}});
    return response;
}

// --- Dispatcher ----------------------------------------------------------------------------------

class FakeExchange : public Exchange {
public:
    FakeExchange(int16_t key, int16_t version, Bytes body = {})
      : Exchange(RequestHeaderInfo{key, version, 7, "client", 0}, std::move(body)) {}
    const std::string& peer() const override { return peer_; }
    void close_connection(const std::string& reason) override { closed = reason; }
    bool connection_open() const override { return true; }

    std::optional<ByteVector> response;
    bool answered_none = false;
    std::optional<std::string> closed;

protected:
    void complete(std::optional<Writer> w) override {
        if (w) response = w->flatten();
        else answered_none = true;
    }

private:
    std::string peer_ = "fake:1";
};

Dispatcher::Handle noop() {
    return [](const ExchangePtr& e) { e->respond_none(); };
}

TEST(Dispatcher, RegistrationsInKeyOrder) {
    Dispatcher d;
    d.add(18, 0, 3, noop());
    d.add(3, 1, 12, noop());
    d.add(0, 3, 9, noop());
    const auto regs = d.registrations();
    ASSERT_EQ(regs.size(), 3u);
    EXPECT_EQ(regs[0].key, 0);
    EXPECT_EQ(regs[1].key, 3);
    EXPECT_EQ(regs[1].min_version, 1);
    EXPECT_EQ(regs[1].max_version, 12);
    EXPECT_EQ(regs[2].key, 18);
    EXPECT_NE(d.find(3), nullptr);
    EXPECT_EQ(d.find(1), nullptr);
    EXPECT_EQ(d.find(-1), nullptr);
    EXPECT_EQ(d.find(1000), nullptr);
}

TEST(Dispatcher, RejectsDuplicatesAndBadRanges) {
    Dispatcher d;
    d.add(3, 0, 12, noop());
    EXPECT_THROW(d.add(3, 0, 12, noop()), std::logic_error);
    EXPECT_THROW(d.add(5, 3, 2, noop()), std::logic_error);
    EXPECT_THROW(d.add(-1, 0, 1, noop()), std::logic_error);
    EXPECT_THROW(d.add(6, 0, 1, nullptr), std::logic_error);
}

TEST(Dispatcher, RunsTheHandlerInRange) {
    Dispatcher d;
    int calls = 0;
    d.add(12, 0, 3, [&](const ExchangePtr& e) {
        ++calls;
        e->respond_none();
    });
    auto e = std::make_shared<FakeExchange>(12, 3);
    d.dispatch(e);
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(e->answered_none);
    EXPECT_FALSE(e->closed);
}

TEST(Dispatcher, UnknownKeyClosesTheConnection) {
    Dispatcher d;
    d.add(12, 0, 3, noop());
    auto e = std::make_shared<FakeExchange>(1, 4);
    d.dispatch(e);
    EXPECT_EQ(e->closed, "unknown API key 1");
    EXPECT_FALSE(e->response);
}

TEST(Dispatcher, UnsupportedVersionClosesTheConnection) {
    Dispatcher d;
    d.add(12, 1, 3, noop());
    for (int16_t v : {0, 4}) {
        auto e = std::make_shared<FakeExchange>(12, v);
        d.dispatch(e);
        EXPECT_EQ(e->closed, "unsupported version " + std::to_string(v) + " of API Heartbeat (supported 1-3)");
    }
}

TEST(Dispatcher, TooNewApiVersionsIsAnsweredInTheV0Shape) {
    Dispatcher d;
    d.add(18, 0, 3, noop());
    d.add(0, 3, 9, noop());
    auto e = std::make_shared<FakeExchange>(18, 99);
    d.dispatch(e);
    ASSERT_FALSE(e->closed);
    ASSERT_TRUE(e->response);
    Reader r(e->response->data(), e->response->size());
    EXPECT_EQ(r.read_int32(), static_cast<int32_t>(e->response->size() - 4));
    EXPECT_EQ(r.read_int32(), 7);   // correlation id; header v0
    ApiVersionsResponse response;
    response.decode(r, 0);
    EXPECT_TRUE(r.at_end());
    EXPECT_EQ(response.error_code, 35);
    ASSERT_EQ(response.api_keys.size(), 2u);
    EXPECT_EQ(response.api_keys[0].api_key_, 0);
    EXPECT_EQ(response.api_keys[0].min_version, 3);
    EXPECT_EQ(response.api_keys[0].max_version, 9);
    EXPECT_EQ(response.api_keys[1].api_key_, 18);
    EXPECT_EQ(response.api_keys[1].max_version, 3);
}

TEST(Dispatcher, DecodeErrorClosesTheConnection) {
    Dispatcher d;
    d.add(12, 0, 3, [](const ExchangePtr& e) {
        Reader r = e->body();
        r.at("Test.Field").read_int32();
    });
    auto e = std::make_shared<FakeExchange>(12, 1, Bytes::copy_of(std::string_view("\x01\x02", 2)));
    d.dispatch(e);
    ASSERT_TRUE(e->closed);
    EXPECT_NE(e->closed->find("cannot decode Heartbeat v1 request: truncated"), std::string::npos) << *e->closed;
    EXPECT_NE(e->closed->find("Test.Field"), std::string::npos) << *e->closed;
}

TEST(Dispatcher, OtherExceptionsCloseTheConnection) {
    Dispatcher d;
    d.add(12, 0, 3, [](const ExchangePtr&) { throw std::runtime_error("boom"); });
    auto e = std::make_shared<FakeExchange>(12, 1);
    d.dispatch(e);
    EXPECT_EQ(e->closed, "handler failed");
}

// --- Server: a blocking test client ---------------------------------------------------------------

ByteVector request_frame(int16_t key, int16_t version, int32_t correlation_id, const ByteVector& body) {
    const ApiInfo* api = find_api(key);
    RequestHeader header;
    header.request_api_key = key;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = "server-test";
    Writer w;
    w.write_int32(0);
    header.encode(w, api != nullptr ? request_header_version(*api, version) : 1);
    w.write_raw(body.data(), body.size());
    w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
    return w.flatten();
}

ByteVector test_body(Mode mode, int32_t tag, int32_t extra = 0, const ByteVector& rest = {}) {
    Writer w;
    w.write_int32(mode);
    w.write_int32(tag);
    if (mode == blob) w.write_int32(extra);
    w.write_raw(rest.data(), rest.size());
    return w.flatten();
}

ByteVector encode_api_versions_request(int16_t version) {
    ApiVersionsRequest request;
    request.client_software_name = "server-test";
    request.client_software_version = "1.0";
    Writer w;
    request.encode(w, version);
    return w.flatten();
}

class Client {
public:
    explicit Client(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        timeval timeout{10, 0};   // a broken server fails the test instead of hanging it
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        const int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~Client() { close(); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool connected() const { return connected_; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    bool send(const ByteVector& bytes) {
        size_t at = 0;
        while (at < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
            if (n <= 0) return false;
            at += static_cast<size_t>(n);
        }
        return true;
    }
    bool send_request(int16_t key, int16_t version, int32_t correlation_id, const ByteVector& body) {
        return send(request_frame(key, version, correlation_id, body));
    }

    // One response frame without its length; nullopt when the connection ended (or timed out).
    std::optional<ByteVector> read_frame() {
        uint8_t prefix[4];
        if (!read_exactly(prefix, 4)) return std::nullopt;
        const uint32_t length = static_cast<uint32_t>(prefix[0]) << 24 | prefix[1] << 16 | prefix[2] << 8 | prefix[3];
        ByteVector frame(length);
        if (!read_exactly(frame.data(), length)) return std::nullopt;
        return frame;
    }

    // True when the server closed the connection (EOF or reset) with no further bytes.
    bool sees_close() {
        uint8_t byte;
        const ssize_t n = ::recv(fd_, &byte, 1, 0);
        return n == 0 || (n < 0 && errno == ECONNRESET);
    }

    // True when nothing arrives for `wait`.
    bool quiet_for(std::chrono::milliseconds wait) {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(wait.count())) == 0;
    }

private:
    bool read_exactly(uint8_t* into, size_t n) {
        size_t at = 0;
        while (at < n) {
            const ssize_t got = ::recv(fd_, into + at, n - at, 0);
            if (got <= 0) return false;
            at += static_cast<size_t>(got);
        }
        return true;
    }

    int fd_ = -1;
    bool connected_ = false;
};

// A test-API response: correlation id (header v0), tag, payload.
struct TagReply {
    int32_t correlation_id;
    int32_t tag;
    Bytes payload;
};

TagReply parse_tag_reply(const ByteVector& frame) {
    Reader r(frame.data(), frame.size());
    TagReply reply;
    reply.correlation_id = r.read_int32();
    reply.tag = r.read_int32();
    reply.payload = Bytes::copy_of(r.read_bytes().span());
    EXPECT_TRUE(r.at_end());
    return reply;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

// --- Server fixture ----------------------------------------------------------------------------------

class ServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        dispatcher_.add(api_versions_key, 0, 3, [this](const ExchangePtr& e) {
            {
                std::lock_guard lock(mutex_);
                handler_threads_.insert(std::this_thread::get_id());
            }
            ApiVersionsRequest request;
            Reader r = e->body();
            request.decode(r, e->version());
            e->respond(versions_of(dispatcher_));
        });
        dispatcher_.add(test_key, 0, 3, [this](const ExchangePtr& e) { handle_test(e); });
    }

    void TearDown() override {
        if (server_) server_->stop(1000);
        release_all();   // after the server: answering a closed connection does nothing
        server_.reset();
    }

    void start(ServerOptions options = {}) {
        options.host = "127.0.0.1";
        options.port = 0;
        if (options.threads == 0) options.threads = 1;
        server_ = std::make_unique<Server>(options, dispatcher_);
        server_->start();
        ASSERT_NE(server_->port(), 0);
    }

    void handle_test(const ExchangePtr& e) {
        Reader r = e->body();
        const int32_t mode = r.read_int32();
        const int32_t tag = r.read_int32();
        switch (mode) {
        case answer_now: e->respond(TagResponse{tag, {}}); break;
        case park: {
            std::lock_guard lock(mutex_);
            parked_.push_back(e);
            ++parked_ever_;
            break;
        }
        case answer_none: e->respond_none(); break;
        case blob: {
            const int32_t size = r.read_int32();
            ++blobs_;
            e->respond(TagResponse{tag, Bytes(blob_, blob_.get(), static_cast<size_t>(size))});
            break;
        }
        case fail: throw std::runtime_error("test handler failure");
        case echo: e->respond(TagResponse{tag, r.read_raw(r.remaining())}); break;
        default: e->close_connection("bad test mode");
        }
    }

    size_t parked_count() {
        std::lock_guard lock(mutex_);
        return parked_.size();
    }
    size_t parked_ever() {
        std::lock_guard lock(mutex_);
        return parked_ever_;
    }
    // Answers the parked exchange with `tag` (from this, the test's, thread).
    void release(int32_t tag) {
        ExchangePtr e;
        {
            std::lock_guard lock(mutex_);
            for (auto it = parked_.begin(); it != parked_.end(); ++it) {
                Reader r = (*it)->body();
                r.read_int32();
                if (r.read_int32() == tag) {
                    e = *it;
                    parked_.erase(it);
                    break;
                }
            }
        }
        ASSERT_TRUE(e) << "tag " << tag << " is not parked";
        e->respond(TagResponse{tag, {}});
    }
    void release_all() {
        std::vector<ExchangePtr> all;
        {
            std::lock_guard lock(mutex_);
            all.swap(parked_);
        }
        for (auto& e : all) {
            Reader r = e->body();
            r.read_int32();
            e->respond(TagResponse{r.read_int32(), {}});
        }
    }

    std::unique_ptr<Client> connect() { return std::make_unique<Client>(server_->port()); }

    // Ten parked requests, each padded with `padding`, against limits that let four in: reading stops after
    // the fourth until they are answered, then the other six come, and every answer goes out in order.
    void expect_reading_pauses_after_four(const ServerOptions& options, const ByteVector& padding) {
        start(options);
        auto c = connect();
        for (int32_t i = 1; i <= 10; ++i) ASSERT_TRUE(c->send_request(test_key, 1, i, test_body(park, i, 0, padding)));
        ASSERT_TRUE(eventually([&] { return parked_count() == 4; }));
        EXPECT_TRUE(c->quiet_for(100ms));
        EXPECT_EQ(parked_ever(), 4u);
        ASSERT_TRUE(eventually([&] {
            release_all();
            return parked_ever() == 10 && parked_count() == 0;
        }));
        for (int32_t i = 1; i <= 10; ++i) {
            auto frame = c->read_frame();
            ASSERT_TRUE(frame);
            EXPECT_EQ(parse_tag_reply(*frame).correlation_id, i);
        }
    }

    void expect_api_versions_works() {
        auto c = connect();
        ASSERT_TRUE(c->connected());
        ASSERT_TRUE(c->send_request(api_versions_key, 3, 42, encode_api_versions_request(3)));
        auto frame = c->read_frame();
        ASSERT_TRUE(frame);
        Reader r(frame->data(), frame->size());
        EXPECT_EQ(r.read_int32(), 42);
        ApiVersionsResponse response;
        response.decode(r, 3);
        EXPECT_EQ(response.error_code, 0);
    }

    Dispatcher dispatcher_;
    std::unique_ptr<Server> server_;
    std::mutex mutex_;
    std::vector<ExchangePtr> parked_;
    size_t parked_ever_ = 0;
    std::set<std::thread::id> handler_threads_;
    std::atomic<size_t> blobs_{0};
    std::shared_ptr<uint8_t[]> blob_ = [] {
        auto b = std::make_shared<uint8_t[]>(1 << 20);
        for (size_t i = 0; i < (1u << 20); ++i) b[i] = static_cast<uint8_t>(i * 7 + 1);
        return b;
    }();
};

TEST_F(ServerTest, ApiVersionsRoundTrip) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send_request(api_versions_key, 3, 1234, encode_api_versions_request(3)));
    auto frame = c->read_frame();
    ASSERT_TRUE(frame);
    Reader r(frame->data(), frame->size());
    EXPECT_EQ(r.read_int32(), 1234);   // response header v0 even though v3 is flexible
    ApiVersionsResponse response;
    response.decode(r, 3);
    EXPECT_TRUE(r.at_end());
    EXPECT_EQ(response, versions_of(dispatcher_));
    ASSERT_EQ(response.api_keys.size(), 2u);
    EXPECT_EQ(response.api_keys[0].api_key_, test_key);
    EXPECT_EQ(response.api_keys[1].api_key_, api_versions_key);
    EXPECT_EQ(response.api_keys[1].max_version, 3);

    // v0 on the same connection: classic header and body.
    ASSERT_TRUE(c->send_request(api_versions_key, 0, 1235, {}));
    frame = c->read_frame();
    ASSERT_TRUE(frame);
    Reader r0(frame->data(), frame->size());
    EXPECT_EQ(r0.read_int32(), 1235);
    response.decode(r0, 0);
    EXPECT_TRUE(r0.at_end());
    EXPECT_EQ(response.api_keys.size(), 2u);
}

TEST_F(ServerTest, TooNewApiVersionsGetsV0ShapedUnsupportedVersion) {
    start();
    auto c = connect();
    // A future client: header v2 (flexible) and a body we cannot know.
    ASSERT_TRUE(c->send_request(api_versions_key, 99, 77, {0x00, 0x01, 0x02}));
    auto frame = c->read_frame();
    ASSERT_TRUE(frame);
    Reader r(frame->data(), frame->size());
    EXPECT_EQ(r.read_int32(), 77);
    ApiVersionsResponse response;
    response.decode(r, 0);
    EXPECT_TRUE(r.at_end());
    EXPECT_EQ(response.error_code, 35);
    ASSERT_EQ(response.api_keys.size(), 2u);
    EXPECT_EQ(response.api_keys[0].api_key_, test_key);
    EXPECT_EQ(response.api_keys[1].api_key_, api_versions_key);
    // The client retries with a version we have.
    ASSERT_TRUE(c->send_request(api_versions_key, 3, 78, encode_api_versions_request(3)));
    frame = c->read_frame();
    ASSERT_TRUE(frame);
}

TEST_F(ServerTest, ResponsesLeaveInRequestOrder) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send_request(test_key, 1, 1, test_body(park, 1)));
    ASSERT_TRUE(c->send_request(test_key, 1, 2, test_body(park, 2)));
    ASSERT_TRUE(c->send_request(test_key, 1, 3, test_body(answer_now, 3)));
    ASSERT_TRUE(eventually([&] { return parked_count() == 2; }));
    EXPECT_TRUE(c->quiet_for(50ms));   // 3 is answered but waits for 1 and 2
    release(2);
    EXPECT_TRUE(c->quiet_for(50ms));
    release(1);
    for (int32_t expected : {1, 2, 3}) {
        auto frame = c->read_frame();
        ASSERT_TRUE(frame);
        const TagReply reply = parse_tag_reply(*frame);
        EXPECT_EQ(reply.correlation_id, expected);
        EXPECT_EQ(reply.tag, expected);
    }
}

TEST_F(ServerTest, RespondNoneSkipsOutputButKeepsOrder) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send_request(test_key, 1, 1, test_body(park, 1)));
    ASSERT_TRUE(c->send_request(test_key, 1, 2, test_body(answer_none, 2)));
    ASSERT_TRUE(c->send_request(test_key, 1, 3, test_body(answer_now, 3)));
    ASSERT_TRUE(eventually([&] { return parked_count() == 1; }));
    EXPECT_TRUE(c->quiet_for(50ms));
    release(1);
    for (int32_t expected : {1, 3}) {
        auto frame = c->read_frame();
        ASSERT_TRUE(frame);
        EXPECT_EQ(parse_tag_reply(*frame).correlation_id, expected);
    }
    ASSERT_TRUE(c->send_request(test_key, 1, 4, test_body(answer_none, 4)));
    ASSERT_TRUE(c->send_request(test_key, 1, 5, test_body(answer_now, 5)));
    auto frame = c->read_frame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(parse_tag_reply(*frame).correlation_id, 5);
}

TEST_F(ServerTest, NegativeFrameLengthCloses) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send({0xff, 0xff, 0xff, 0xff}));
    EXPECT_TRUE(c->sees_close());
    expect_api_versions_works();
}

TEST_F(ServerTest, OversizeFrameCloses) {
    ServerOptions options;
    options.max_request_size = 1024;
    start(options);
    {
        auto c = connect();   // just fits
        ASSERT_TRUE(c->send_request(test_key, 1, 1, test_body(echo, 1, 0, ByteVector(900, 0xab))));
        auto frame = c->read_frame();
        ASSERT_TRUE(frame);
        EXPECT_EQ(parse_tag_reply(*frame).payload.size(), 900u);
    }
    auto c = connect();
    ASSERT_TRUE(c->send({0x00, 0x00, 0x08, 0x00}));   // 2048
    EXPECT_TRUE(c->sees_close());
}

TEST_F(ServerTest, TooShortFrameCloses) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send({0x00, 0x00, 0x00, 0x02, 0x00, 0x12}));
    EXPECT_TRUE(c->sees_close());
}

TEST_F(ServerTest, UnknownApiKeyCloses) {
    start();
    {
        auto c = connect();   // not in the API table at all: the header cannot even be parsed
        ASSERT_TRUE(c->send_request(9999, 0, 1, {}));
        EXPECT_TRUE(c->sees_close());
    }
    {
        auto c = connect();   // a known API nobody registered
        ASSERT_TRUE(c->send_request(1, 4, 1, {}));
        EXPECT_TRUE(c->sees_close());
    }
    {
        auto c = connect();   // a registered API at a version outside its declared range
        ASSERT_TRUE(c->send_request(test_key, 4, 1, test_body(answer_now, 1)));
        EXPECT_TRUE(c->sees_close());
    }
    expect_api_versions_works();
}

TEST_F(ServerTest, TruncatedBodyClosesAfterEarlierResponses) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send_request(test_key, 1, 1, test_body(park, 1)));
    ASSERT_TRUE(c->send_request(api_versions_key, 3, 2, {0x05, 'a'}));   // a 4-byte name with 1 byte
    ASSERT_TRUE(eventually([&] { return parked_count() == 1; }));
    release(1);
    auto frame = c->read_frame();   // the earlier response still leaves
    ASSERT_TRUE(frame);
    EXPECT_EQ(parse_tag_reply(*frame).correlation_id, 1);
    EXPECT_TRUE(c->sees_close());
}

TEST_F(ServerTest, HandlerExceptionClosesAndServerGoesOn) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send_request(test_key, 1, 1, test_body(fail, 1)));
    EXPECT_TRUE(c->sees_close());
    expect_api_versions_works();
}

TEST_F(ServerTest, ClientLeavingWithRequestInFlight) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send_request(test_key, 1, 1, test_body(park, 1)));
    ASSERT_TRUE(eventually([&] { return parked_count() == 1; }));
    ExchangePtr held;
    {
        std::lock_guard lock(mutex_);
        held = parked_.front();
    }
    EXPECT_TRUE(held->connection_open());
    c->close();
    EXPECT_TRUE(eventually([&] { return !held->connection_open(); }));
    release(1);   // nobody to answer: a no-op
    held.reset();
    expect_api_versions_works();
}

TEST_F(ServerTest, LargeRequestAndZeroCopyResponse) {
    start();
    auto c = connect();
    ByteVector payload(300 * 1024);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 13 + 5);
    ASSERT_TRUE(c->send_request(test_key, 1, 9, test_body(echo, 9, 0, payload)));   // read straight into its frame
    ASSERT_TRUE(c->send_request(test_key, 1, 10, test_body(blob, 10, 200 * 1024)));
    auto frame = c->read_frame();
    ASSERT_TRUE(frame);
    TagReply reply = parse_tag_reply(*frame);
    EXPECT_EQ(reply.correlation_id, 9);
    EXPECT_TRUE(reply.payload == Bytes::copy_of(std::span<const uint8_t>(payload)));
    frame = c->read_frame();
    ASSERT_TRUE(frame);
    reply = parse_tag_reply(*frame);
    EXPECT_EQ(reply.correlation_id, 10);
    EXPECT_TRUE(reply.payload == Bytes(blob_, blob_.get(), 200 * 1024));
}

TEST_F(ServerTest, OutputBackpressureDoesNotDeadlock) {
    ServerOptions options;
    options.max_pending_output = 64 * 1024;
    start(options);
    auto c = connect();
    constexpr int count = 400;
    constexpr int32_t size = 64 * 1024;   // 25 MiB of responses: far more than the socket buffers hold
    std::atomic<bool> sent_all{false};
    std::thread sender([&] {
        bool ok = true;
        for (int i = 0; i < count && ok; ++i) ok = c->send_request(test_key, 1, i, test_body(blob, i, size));
        sent_all = ok;
    });
    // Nobody reads: the server must stop reading once its output piles up.
    ASSERT_TRUE(eventually([&] { return blobs_.load() > 0; }));
    size_t before;
    do {
        before = blobs_.load();
        std::this_thread::sleep_for(100ms);
    } while (blobs_.load() != before);
    EXPECT_LT(blobs_.load(), static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        auto frame = c->read_frame();
        ASSERT_TRUE(frame) << "response " << i;
        const TagReply reply = parse_tag_reply(*frame);
        ASSERT_EQ(reply.correlation_id, i);
        ASSERT_EQ(reply.payload.size(), static_cast<size_t>(size));
    }
    sender.join();
    EXPECT_TRUE(sent_all);
    EXPECT_EQ(blobs_.load(), static_cast<size_t>(count));
}

TEST_F(ServerTest, InFlightLimitPausesReading) {
    ServerOptions options;
    options.max_in_flight_requests = 4;
    expect_reading_pauses_after_four(options, {});
}

TEST_F(ServerTest, InFlightBytesLimitPausesReading) {
    ServerOptions options;
    options.max_in_flight_bytes = 100 * 1024;
    expect_reading_pauses_after_four(options, ByteVector(30 * 1024, 7));   // four of these reach the limit
}

TEST_F(ServerTest, OneRequestOverTheInFlightBytesLimitIsServed) {
    ServerOptions options;
    options.max_in_flight_bytes = 1024;
    start(options);
    auto c = connect();
    const ByteVector payload(200 * 1024, 3);
    ASSERT_TRUE(c->send_request(test_key, 1, 1, test_body(echo, 1, 0, payload)));
    ASSERT_TRUE(c->send_request(test_key, 1, 2, test_body(echo, 2, 0, payload)));
    for (int32_t i = 1; i <= 2; ++i) {
        auto frame = c->read_frame();
        ASSERT_TRUE(frame);
        const TagReply reply = parse_tag_reply(*frame);
        EXPECT_EQ(reply.correlation_id, i);
        EXPECT_EQ(reply.payload.size(), payload.size());
    }
}

TEST_F(ServerTest, StopLetsInFlightResponsesOut) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send_request(test_key, 1, 1, test_body(park, 1)));
    ASSERT_TRUE(eventually([&] { return parked_count() == 1; }));
    std::atomic<bool> stopped{false};
    std::thread stopper([&] {
        server_->stop(10000);
        stopped = true;
    });
    // Once the listener is gone, stop() is waiting for our answer.
    ASSERT_TRUE(eventually([&] { return !Client(server_->port()).connected(); }));
    EXPECT_TRUE(c->quiet_for(50ms));
    EXPECT_FALSE(stopped);
    release(1);
    auto frame = c->read_frame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(parse_tag_reply(*frame).correlation_id, 1);
    EXPECT_TRUE(c->sees_close());
    stopper.join();
    EXPECT_TRUE(stopped);
    server_->wait();   // returns at once
}

TEST_F(ServerTest, StopGivesUpAfterTheGracePeriod) {
    start();
    auto c = connect();
    ASSERT_TRUE(c->send_request(test_key, 1, 1, test_body(park, 1)));
    ASSERT_TRUE(eventually([&] { return parked_count() == 1; }));
    std::thread waiter([&] { server_->wait(); });
    const auto began = std::chrono::steady_clock::now();
    server_->stop(200);
    const auto took = std::chrono::steady_clock::now() - began;
    EXPECT_GE(took, 150ms);
    EXPECT_LT(took, 5s);
    waiter.join();
    EXPECT_TRUE(c->sees_close());
    release(1);   // after the loops are gone: still harmless
}

TEST_F(ServerTest, TwoThreadsServeConcurrentClients) {
    ServerOptions options;
    options.threads = 2;
    start(options);
    constexpr int clients = 16;
    constexpr int rounds = 20;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t) {
        threads.emplace_back([&, t] {
            Client c(server_->port());
            for (int i = 0; i < rounds; ++i) {
                const int32_t id = t * 1000 + i;
                if (!c.send_request(api_versions_key, 3, id, encode_api_versions_request(3))) return;
                auto frame = c.read_frame();
                if (!frame) return;
                Reader r(frame->data(), frame->size());
                if (r.read_int32() != id) return;
                ++ok;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), clients * rounds);
    std::lock_guard lock(mutex_);
    EXPECT_EQ(handler_threads_.size(), 2u);   // SO_REUSEPORT spread 16 connections over both loops
}

TEST_F(ServerTest, StopBeforeStartAndTwice) {
    Server idle(ServerOptions{}, dispatcher_);
    idle.stop();
    idle.wait();
    start();
    server_->stop(100);
    server_->stop(100);
    server_->wait();
}

} // namespace
} // namespace kafka
