// Reading a SeaweedMQ broker's flushed log files: the file format (bytes a real weed 4.48 broker wrote),
// SeaweedFS's directory names, and the small HTTP GET that fetches a file from the filer.
#include "gateway/storage/seaweedmq/flushed_log.h"

#include "tests/unit/loopback.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace gateway::seaweedmq {
namespace {

// The first two entries of a log file flushed by weed 4.48 after a broker restart: keys b0, b1, values
// "b-value-0", "b-value-1", offsets 100 and 101.
const std::string real_file(
    "\x00\x00\x00\x26\x08\xc0\xb6\xe4\xa1\xff\x95\xfa\xf6\x18\x10\xdb\xea\xc7\xc2\xff\xff\xff\xff\xff\x01\x1a\x09"
    "b-value-0\x22\x02"
    "b0\x28\x64"
    "\x00\x00\x00\x26\x08\xc1\xb6\xe4\xa1\xff\x95\xfa\xf6\x18\x10\xd5\xe8\xea\xed\xfe\xff\xff\xff\xff\x01\x1a\x09"
    "b-value-1\x22\x02"
    "b1\x28\x65",
    84);

TEST(SeaweedMqFlushedLog, ParsesWhatTheBrokerWrote) {
    std::vector<FlushedMessage> got;
    std::string error;
    ASSERT_TRUE(parse_log_file(real_file, got, error)) << error;
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].offset, 100);
    EXPECT_EQ(got[0].key, "b0");
    EXPECT_EQ(got[0].value, "b-value-0");
    EXPECT_EQ(got[0].ts_ns, 1796347668805000000);
    EXPECT_EQ(got[1].offset, 101);
    EXPECT_EQ(got[1].key, "b1");
    EXPECT_EQ(got[1].value, "b-value-1");
    EXPECT_EQ(got[1].ts_ns, 1796347668805000001);
}

TEST(SeaweedMqFlushedLog, OffsetZeroIsLeftOutOfTheEntry) {
    // proto3 writes no offset field for 0: ts_ns 1, data "v", key "k".
    const std::string entry("\x08\x01\x1a\x01v\x22\x01k", 8);
    std::vector<FlushedMessage> got;
    std::string error;
    ASSERT_TRUE(parse_log_file(std::string("\x00\x00\x00\x08", 4) + entry, got, error)) << error;
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].offset, 0);
    EXPECT_EQ(got[0].key, "k");
    EXPECT_EQ(got[0].value, "v");
}

TEST(SeaweedMqFlushedLog, DamagedFilesAreErrorsNeverACrash) {
    std::vector<FlushedMessage> got;
    std::string error;
    EXPECT_TRUE(parse_log_file("", got, error));
    EXPECT_TRUE(got.empty());
    for (size_t cut = 1; cut < real_file.size(); ++cut) {
        if (cut == 42) continue;   // exactly one whole entry
        got.clear();
        error.clear();
        EXPECT_FALSE(parse_log_file(std::string_view(real_file).substr(0, cut), got, error)) << "cut at " << cut;
        EXPECT_FALSE(error.empty());
    }
    std::string huge = real_file;
    huge[0] = '\x7f';   // an entry far longer than the file
    EXPECT_FALSE(parse_log_file(huge, got, error));
    std::string garbage = real_file;
    garbage[4] = '\xff';   // not a protobuf field
    garbage[5] = '\xff';
    EXPECT_FALSE(parse_log_file(garbage, got, error));
}

TEST(SeaweedMqFlushedLog, EntriesOneAtATimeStopWhereTheDataEnds) {
    // What a ranged read sees: a chunk that ends inside an entry, or inside its length.
    FlushedMessage m;
    std::string error;
    for (size_t cut = 0; cut <= real_file.size(); ++cut) {
        const std::string_view chunk = std::string_view(real_file).substr(0, cut);
        size_t at = 0;
        std::vector<int64_t> offsets;
        LogEntryStep step;
        while ((step = next_log_entry(chunk, at, m, error)) == LogEntryStep::entry) offsets.push_back(m.offset);
        EXPECT_EQ(step, LogEntryStep::need_more) << "cut at " << cut;
        const size_t whole = cut / 42;   // entries are 42 bytes
        EXPECT_EQ(offsets.size(), whole) << "cut at " << cut;
        EXPECT_EQ(at, whole * 42) << "the position stays at the first entry not whole";
    }
    std::string garbage = real_file;
    garbage[4] = '\xff';
    garbage[5] = '\xff';
    size_t at = 0;
    EXPECT_EQ(next_log_entry(garbage, at, m, error), LogEntryStep::error);
    std::string oversize = real_file;
    oversize[0] = '\x7f';   // 2 GB: no SeaweedMQ message is that large, so not worth waiting for
    at = 0;
    EXPECT_EQ(next_log_entry(oversize, at, m, error), LogEntryStep::error);
}

TEST(SeaweedMqFlushedLog, DirectoryNamesAreSeaweedFs) {
    EXPECT_EQ(version_dir_name(1796347639123456789), "v2026-12-04-01-27-19");
    EXPECT_EQ(range_dir_name(0, 2520), "0000-2520");
    EXPECT_EQ(range_dir_name(630, 1260), "0630-1260");
}

// A one-shot HTTP server on a loopback port: reads a request, answers `response`, closes.
class OneShotServer {
public:
    explicit OneShotServer(std::string response) {
        sockaddr_in a;
        fd_ = testing_support::bound_loopback_socket(a);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this, response = std::move(response)] {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            char buf[4096];
            std::string got;
            while (got.find("\r\n\r\n") == std::string::npos) {
                const ssize_t n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                got.append(buf, static_cast<size_t>(n));
            }
            request_ = got;
            if (response != "silence") (void)!::send(c, response.data(), response.size(), MSG_NOSIGNAL);
            else std::this_thread::sleep_for(std::chrono::milliseconds(500));
            ::close(c);
        });
    }
    ~OneShotServer() {
        join();
        ::close(fd_);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    const std::string& request() const { return request_; }
    void join() {
        if (thread_.joinable()) thread_.join();
    }

private:
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::string request_;
};

TEST(SeaweedMqFlushedLog, HttpGetReturnsTheBodyOf200Or206) {
    std::string body, error;
    {
        OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 84\r\n\r\n" + real_file);
        ASSERT_TRUE(http_get(server.address(), "/topics/kafka/t/v1/0000-2520/f", std::chrono::seconds(5), body, error))
            << error;
        EXPECT_EQ(body, real_file);
        server.join();
        EXPECT_EQ(server.request().rfind("GET /topics/kafka/t/v1/0000-2520/f HTTP/1.0\r\n", 0), 0u) << server.request();
    }
    {
        OneShotServer server("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        EXPECT_FALSE(http_get(server.address(), "/missing", std::chrono::seconds(5), body, error));
        EXPECT_NE(error.find("404"), std::string::npos) << error;
    }
    {
        OneShotServer server("garbage");
        EXPECT_FALSE(http_get(server.address(), "/x", std::chrono::seconds(5), body, error));
    }
    {
        OneShotServer server("silence");   // answers nothing: the deadline ends the wait
        const auto start = std::chrono::steady_clock::now();
        EXPECT_FALSE(http_get(server.address(), "/x", std::chrono::milliseconds(200), body, error));
        EXPECT_NE(error.find("timed out"), std::string::npos) << error;
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    }
    // A range: asked for in the request, its 206 body returned; a server that ignores Range and sends
    // the whole file (200) has its body cut to the range.
    {
        OneShotServer server("HTTP/1.1 206 Partial Content\r\nContent-Length: 42\r\n\r\n" + real_file.substr(42));
        ASSERT_TRUE(http_get(server.address(), "/f", std::chrono::seconds(5), body, error, {42, 42})) << error;
        EXPECT_EQ(body, real_file.substr(42));
        server.join();
        EXPECT_NE(server.request().find("\r\nRange: bytes=42-83\r\n"), std::string::npos) << server.request();
    }
    {
        OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 84\r\n\r\n" + real_file);
        ASSERT_TRUE(http_get(server.address(), "/f", std::chrono::seconds(5), body, error, {40, 10})) << error;
        EXPECT_EQ(body, real_file.substr(40, 10));
    }
    {
        OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 84\r\n\r\n" + real_file);
        ASSERT_TRUE(http_get(server.address(), "/f", std::chrono::seconds(5), body, error, {100, 10})) << error;
        EXPECT_EQ(body, "");
    }
    {
        OneShotServer server("HTTP/1.1 206 Partial Content\r\n\r\n");
        EXPECT_FALSE(http_get(server.address(), "/f", std::chrono::seconds(5), body, error))
            << "206 answers only a ranged request";
    }
    // A body larger than one receive step arrives whole.
    {
        std::string big(300 * 1024, 'x');
        for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
        OneShotServer server("HTTP/1.1 206 Partial Content\r\n\r\n" + big);
        ASSERT_TRUE(http_get(server.address(), "/f", std::chrono::seconds(5), body, error, {0, big.size()})) << error;
        EXPECT_EQ(body, big);
    }
    // Nobody listening: refused at once.
    sockaddr_in a;
    ::close(testing_support::bound_loopback_socket(a, false));
    EXPECT_FALSE(http_get("127.0.0.1:" + std::to_string(ntohs(a.sin_port)), "/", std::chrono::seconds(5), body, error));
    EXPECT_NE(error.find("connect"), std::string::npos) << error;
}

} // namespace
} // namespace gateway::seaweedmq
