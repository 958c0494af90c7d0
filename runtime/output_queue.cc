#include "runtime/output_queue.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kafka::net {
namespace {

constexpr size_t block_size = 16 * 1024;        // copied pieces are gathered in blocks of this size
constexpr int max_iovecs = 64;
constexpr size_t max_sendfile = size_t{1} << 30;
constexpr size_t bounce_size = 64 * 1024;       // the pread+send fallback moves this much at a time

bool sendfile_refused(int error) { return error == EINVAL || error == ENOSYS || error == EOPNOTSUPP; }

} // namespace

uint8_t* OutputQueue::copy_room(size_t size) {
    if (pieces_.empty() || !pieces_.back().block || pieces_.back().block_capacity - pieces_.back().block_used < size) {
        Piece& p = pieces_.emplace_back();
        p.block_capacity = std::max(size, block_size);
        p.block = std::make_unique_for_overwrite<uint8_t[]>(p.block_capacity);
        p.data = p.block.get();
    }
    Piece& p = pieces_.back();
    return p.block.get() + p.block_used;
}

void OutputQueue::commit_copy(size_t size) {
    Piece& p = pieces_.back();
    p.block_used += size;
    p.size += size;
    size_ += size;
}

void OutputQueue::append_copy(const uint8_t* data, size_t size) {
    if (size == 0) return;
    std::memcpy(copy_room(size), data, size);
    commit_copy(size);
}

void OutputQueue::append_copy_of_file(const FileRegion& region, size_t from, size_t size) {
    if (size == 0) return;
    region.read(copy_room(size), from, size);   // nothing is committed if it throws
    commit_copy(size);
}

void OutputQueue::append_reference(const uint8_t* data, size_t size, std::shared_ptr<const void> owner) {
    if (size == 0) return;
    Piece& p = pieces_.emplace_back();
    p.data = data;
    p.size = size;
    p.owner = std::move(owner);
    size_ += size;
}

void OutputQueue::append_file(const FileRegion& region, size_t from, size_t size, std::shared_ptr<const void> owner) {
    if (size == 0) return;
    Piece& p = pieces_.emplace_back();
    p.file = &region;
    p.file_offset = region.offset() + from;
    p.size = size;
    p.owner = std::move(owner);
    size_ += size;
}

void OutputQueue::clear() {
    pieces_.clear();
    size_ = 0;
}

void OutputQueue::consume(size_t sent) {
    size_ -= sent;
    while (sent > 0) {
        Piece& front = pieces_.front();
        if (sent < front.size) {
            front.size -= sent;
            if (front.file != nullptr) front.file_offset += sent;
            else front.data += sent;
            return;
        }
        sent -= front.size;
        if (pieces_.size() == 1 && front.block) {   // kept for the next copies
            front.size = front.block_used = 0;
            front.data = front.block.get();
            return;
        }
        pieces_.pop_front();
    }
}

OutputQueue::SendResult OutputQueue::send_to(int socket) {
    while (size_ > 0) {
        if (pieces_.front().size == 0) {   // a block whose copy failed (append_copy_of_file threw)
            pieces_.pop_front();
            continue;
        }
        if (pieces_.front().file != nullptr) {
            SendResult r = sendfile_ok_ ? send_file(socket, pieces_.front()) : send_file_by_copy(socket, pieces_.front());
            if (r.status != SendResult::done) return r;
            continue;
        }
        iovec vec[max_iovecs];
        int n = 0;
        bool file_follows = false;
        for (auto it = pieces_.begin(); it != pieces_.end() && n < max_iovecs; ++it) {
            if (it->file != nullptr) {
                file_follows = true;
                break;
            }
            if (it->size > 0) vec[n++] = {const_cast<uint8_t*>(it->data), it->size};
        }
        msghdr message{};
        message.msg_iov = vec;
        message.msg_iovlen = static_cast<size_t>(n);
        const ssize_t sent = ::sendmsg(socket, &message, MSG_NOSIGNAL | (file_follows ? MSG_MORE : 0));
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return {SendResult::blocked};
            return {SendResult::failed, errno, "write failed"};
        }
        consume(static_cast<size_t>(sent));
    }
    return {};
}

OutputQueue::SendResult OutputQueue::send_file(int socket, Piece& piece) {
    off_t offset = static_cast<off_t>(piece.file_offset);
    const ssize_t sent = ::sendfile(socket, piece.file->fd(), &offset, std::min(piece.size, max_sendfile));
    if (sent > 0) {
        consume(static_cast<size_t>(sent));
        return {};
    }
    if (sent == 0) return {SendResult::failed, 0, "stored records end early (the segment file was cut)"};
    if (errno == EINTR) return {};
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {SendResult::blocked};
    if (sendfile_refused(errno)) {
        sendfile_ok_ = false;
        return send_file_by_copy(socket, piece);
    }
    return {SendResult::failed, errno, "sendfile failed"};
}

OutputQueue::SendResult OutputQueue::send_file_by_copy(int socket, Piece& piece) {
    if (!bounce_) bounce_ = std::make_unique_for_overwrite<uint8_t[]>(bounce_size);
    const size_t want = std::min(piece.size, bounce_size);
    ssize_t got;
    do {
        got = ::pread(piece.file->fd(), bounce_.get(), want, static_cast<off_t>(piece.file_offset));
    } while (got < 0 && errno == EINTR);
    if (got < 0) return {SendResult::failed, errno, "cannot read stored records"};
    if (got == 0) return {SendResult::failed, 0, "stored records end early (the segment file was cut)"};
    const bool more = static_cast<size_t>(got) < piece.size || pieces_.size() > 1;
    ssize_t sent;
    do {
        sent = ::send(socket, bounce_.get(), static_cast<size_t>(got), MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {SendResult::blocked};
        return {SendResult::failed, errno, "write failed"};
    }
    consume(static_cast<size_t>(sent));   // what was read but not sent is read again next time
    return {};
}

} // namespace kafka::net
