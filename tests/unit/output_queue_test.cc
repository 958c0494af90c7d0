// OutputQueue (runtime/output_queue.h) over real sockets: copies, references and file ranges leave in
// order, byte for byte, through sendfile and through its pread+send fallback, across a full socket;
// a file cut under a range fails the send instead of sending less than was announced.
#include "runtime/output_queue.h"

#include "runtime/codec_error.h"
#include "tests/unit/loopback.h"
#include "tests/unit/temp_dir.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace kafka::net {
namespace {

using testing_support::TempDir;

// A descriptor closed when the last range that needs it goes.
struct OpenFile {
    int fd;
    explicit OpenFile(const std::string& path) : fd(::open(path.c_str(), O_RDWR)) {}
    ~OpenFile() { ::close(fd); }
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(i * 31 + seed + (i >> 11));
    return out;
}

// A connected TCP pair on loopback; the sender is non-blocking with a small send buffer.
struct TcpPair {
    int sender = -1, receiver = -1;
    TcpPair() {
        sockaddr_in a;
        const int listener = testing_support::bound_loopback_socket(a);
        sender = ::socket(AF_INET, SOCK_STREAM, 0);
        const int small = 16 * 1024;
        ::setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        EXPECT_EQ(::connect(sender, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        receiver = ::accept(listener, nullptr, nullptr);
        ::close(listener);
        ::fcntl(sender, F_SETFL, ::fcntl(sender, F_GETFL) | O_NONBLOCK);
        ::fcntl(receiver, F_SETFL, ::fcntl(receiver, F_GETFL) | O_NONBLOCK);
    }
    ~TcpPair() {
        ::close(sender);
        ::close(receiver);
    }
    // Whatever has arrived.
    void drain(std::vector<uint8_t>& into) const {
        uint8_t buf[64 * 1024];
        for (;;) {
            const ssize_t n = ::recv(receiver, buf, sizeof buf, 0);
            if (n <= 0) return;
            into.insert(into.end(), buf, buf + n);
        }
    }
};

// Sends everything, reading the other end whenever the socket is full; counts the blocked rounds.
std::vector<uint8_t> send_all(OutputQueue& q, const TcpPair& pair, int& blocked_rounds) {
    std::vector<uint8_t> got;
    blocked_rounds = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!q.empty() && std::chrono::steady_clock::now() < deadline) {
        const OutputQueue::SendResult r = q.send_to(pair.sender);
        EXPECT_NE(r.status, OutputQueue::SendResult::failed) << r.what << " errno " << r.error;
        if (r.status == OutputQueue::SendResult::failed) break;
        if (r.status == OutputQueue::SendResult::blocked) ++blocked_rounds;
        pair.drain(got);
    }
    for (int i = 0; i < 200; ++i) {   // the last bytes in flight
        pair.drain(got);
        ::usleep(1000);
    }
    return got;
}

class OutputQueueTest : public ::testing::TestWithParam<bool> {   // param: sendfile allowed
protected:
    TempDir dir;
    std::vector<uint8_t> file_bytes = pattern(3 << 20, 7);   // 3 MiB, far more than the socket holds
    std::shared_ptr<OpenFile> file;

    void SetUp() override {
        const std::string path = (dir.path() / "segment.log").string();
        const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, file_bytes.data(), file_bytes.size()), static_cast<ssize_t>(file_bytes.size()));
        ::close(fd);
        file = std::make_shared<OpenFile>(path);
        ASSERT_GE(file->fd, 0);
    }
    std::shared_ptr<FileRegion> region(uint64_t offset, size_t size) {
        return std::make_shared<FileRegion>(file, file->fd, offset, size);
    }
};

TEST_P(OutputQueueTest, EveryKindOfPieceLeavesInOrderAcrossAFullSocket) {
    TcpPair pair;
    OutputQueue q;
    if (!GetParam()) q.disable_sendfile();
    const std::vector<uint8_t> header = pattern(9, 1), middle = pattern(300 * 1024, 2), tail = pattern(5, 3);
    auto owner = std::make_shared<std::vector<uint8_t>>(middle);
    std::weak_ptr<std::vector<uint8_t>> owner_seen = owner;
    const auto big = region(1000, 2 << 20), small = region(17, 100);

    std::vector<uint8_t> want;
    auto expect = [&](const uint8_t* p, size_t n) { want.insert(want.end(), p, p + n); };
    q.append_copy(header.data(), header.size());
    expect(header.data(), header.size());
    q.append_file(*big, 0, big->size(), big);
    expect(file_bytes.data() + 1000, big->size());
    q.append_reference(owner->data(), owner->size(), owner);
    expect(middle.data(), middle.size());
    q.append_copy_of_file(*small, 10, 50);
    expect(file_bytes.data() + 27, 50);
    q.append_file(*big, 100, 4096, big);   // part of a region
    expect(file_bytes.data() + 1100, 4096);
    q.append_copy(tail.data(), tail.size());
    expect(tail.data(), tail.size());
    EXPECT_EQ(q.size(), want.size());
    owner.reset();
    EXPECT_FALSE(owner_seen.expired());   // the queue keeps the referenced bytes until sent

    int blocked = 0;
    const std::vector<uint8_t> got = send_all(q, pair, blocked);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.size(), 0u);
    EXPECT_GT(blocked, 0) << "the socket never filled: the test proves less than it says";
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "bytes differ";
    EXPECT_TRUE(owner_seen.expired());   // released once sent
}

TEST_P(OutputQueueTest, AFileCutUnderARangeFailsTheSend) {
    TcpPair pair;
    OutputQueue q;
    if (!GetParam()) q.disable_sendfile();
    const auto r = region(0, 2 << 20);
    q.append_file(*r, 0, r->size(), r);
    ASSERT_EQ(::ftruncate(file->fd, 512 << 10), 0);   // 512 KiB left of the 2 MiB the frame announced
    OutputQueue::SendResult last;
    std::vector<uint8_t> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        last = q.send_to(pair.sender);
        if (last.status == OutputQueue::SendResult::failed || last.status == OutputQueue::SendResult::done) break;
        pair.drain(got);
    }
    EXPECT_EQ(last.status, OutputQueue::SendResult::failed);
    EXPECT_NE(last.what.find("end early"), std::string::npos) << last.what;
}

TEST_P(OutputQueueTest, ClearReleasesWhatWasQueued) {
    OutputQueue q;
    auto owner = std::make_shared<int>(1);
    std::weak_ptr<int> seen = owner;
    const auto r = region(0, 100);
    std::weak_ptr<FileRegion> region_seen = r;
    static const uint8_t bytes[2048] = {};
    q.append_reference(bytes, sizeof bytes, std::move(owner));
    q.append_file(*r, 0, 100, r);
    EXPECT_EQ(q.size(), sizeof bytes + 100);
    q.clear();
    EXPECT_TRUE(q.empty());
    EXPECT_TRUE(seen.expired());
    EXPECT_FALSE(region_seen.expired());   // still ours here
}

INSTANTIATE_TEST_SUITE_P(SendfileAndFallback, OutputQueueTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Sendfile" : "PreadAndSend"; });

TEST(FileRegion, ReadsItsBytesAndRefusesBeyondItsEnd) {
    TempDir dir;
    const std::string path = (dir.path() / "f").string();
    const std::vector<uint8_t> bytes = pattern(1000, 9);
    const int wfd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_EQ(::write(wfd, bytes.data(), bytes.size()), 1000);
    ::close(wfd);
    auto file = std::make_shared<OpenFile>(path);
    FileRegion r(file, file->fd, 100, 200);
    uint8_t out[50];
    r.read(out, 10, 50);
    EXPECT_EQ(std::vector<uint8_t>(out, out + 50), std::vector<uint8_t>(bytes.begin() + 110, bytes.begin() + 160));
    EXPECT_EQ(std::vector<uint8_t>(r.contents(), r.contents() + 200),
              std::vector<uint8_t>(bytes.begin() + 100, bytes.begin() + 300));
    EXPECT_THROW(r.read(out, 190, 20), std::out_of_range);
    FileRegion past_end(file, file->fd, 900, 200);   // the file ends 100 bytes into it
    EXPECT_THROW(past_end.contents(), DecodeError);
}

} // namespace
} // namespace kafka::net
