// OutputQueue: the bytes a connection has yet to send, in order.  Small pieces are copied into blocks
// of its own, large ones referenced (their owner kept alive until sent), and file ranges
// (runtime/file_region.h) are sent with sendfile(2), from the page cache straight to the socket.
//
// Memory pieces leave with sendmsg(MSG_NOSIGNAL), up to 64 at a time; those just before a file range
// carry MSG_MORE, so that with TCP_NODELAY a response's header does not leave in a packet of its own.
// Where the kernel refuses sendfile for a descriptor (EINVAL, ENOSYS, EOPNOTSUPP) the queue falls back
// to pread into a buffer and send, for that piece and every later one.  A file that ends inside its
// range fails the send: the caller closes the connection, since the frame's length is already out.
#pragma once

#include "runtime/file_region.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace kafka::net {

class OutputQueue {
public:
    // Copies [data, data + size).
    void append_copy(const uint8_t* data, size_t size);
    // Copies `size` bytes of `region` from `from` (a pread): small file ranges, which cost a syscall
    // either way and go out with their neighbours in one packet.  Throws as FileRegion::read.
    void append_copy_of_file(const FileRegion& region, size_t from, size_t size);
    // [data, data + size) by reference; `owner` keeps it valid until sent or cleared.
    void append_reference(const uint8_t* data, size_t size, std::shared_ptr<const void> owner);
    // The region's bytes [from, from + size), sent with sendfile(2); `owner` keeps `region` alive.
    void append_file(const FileRegion& region, size_t from, size_t size, std::shared_ptr<const void> owner);

    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    void clear();

    struct SendResult {
        enum Status : uint8_t { done, blocked, failed } status = done;   // blocked: the socket is full
        int error = 0;        // failed: errno of the call that failed (0: a file ended early)
        std::string what;     // failed: what failed, for the log
    };
    // Writes to `socket` until the queue is empty, the socket would block, or a write fails.
    SendResult send_to(int socket);

    // For tests: force the pread+send path, as when the kernel refuses sendfile.
    void disable_sendfile() { sendfile_ok_ = false; }

private:
    struct Piece {
        const uint8_t* data = nullptr;    // memory: the next byte to send
        size_t size = 0;                  // bytes left to send
        const FileRegion* file = nullptr; // file: `data` is null and `file_offset` the next byte to send
        uint64_t file_offset = 0;
        std::shared_ptr<const void> owner;
        std::unique_ptr<uint8_t[]> block; // a block of copies: `data` points into it
        size_t block_used = 0;            // bytes filled in `block`
        size_t block_capacity = 0;
    };

    // Room for `size` more copied bytes at the end of the queue; commit_copy(size) once they are there.
    uint8_t* copy_room(size_t size);
    void commit_copy(size_t size);
    void consume(size_t sent);
    SendResult send_file(int socket, Piece& piece);
    SendResult send_file_by_copy(int socket, Piece& piece);

    std::deque<Piece> pieces_;
    size_t size_ = 0;
    bool sendfile_ok_ = true;
    std::unique_ptr<uint8_t[]> bounce_;   // the pread+send fallback's buffer
};

} // namespace kafka::net
