// FileRegion: a byte range of an open file, the form in which the file engine hands out stored record
// batches.  A connection sends it with sendfile(2) (runtime/output_queue.h), so the bytes go from the
// page cache to the socket without a copy through user space and without being mapped into the
// process (mapped pages would count in its RSS).  Code that needs the bytes in memory (down-conversion
// to legacy message sets, producer-state replay, tests) reads them through contents(): one pread,
// kept for later calls.
//
// The region keeps its descriptor open through `keep_open`, a shared reference to whatever owns it.  A
// segment removed by retention, DeleteRecords or topic deletion while a response that references it
// waits to be sent is only unlinked: its inode, and so the bytes, live until the last descriptor
// closes.  A file cut shorter under a region (nothing in the gateway does that to bytes it handed out;
// a person might) is found when the bytes are read or sent: reads throw, and the connection closes
// rather than send fewer bytes than its frame announced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace kafka {

class FileRegion {
public:
    // [offset, offset + size) of descriptor `fd`, which `keep_open` keeps open.
    FileRegion(std::shared_ptr<const void> keep_open, int fd, uint64_t offset, size_t size)
      : keep_open_(std::move(keep_open)), fd_(fd), offset_(offset), size_(size) {}
    FileRegion(const FileRegion&) = delete;
    FileRegion& operator=(const FileRegion&) = delete;

    int fd() const { return fd_; }
    uint64_t offset() const { return offset_; }   // in the file
    size_t size() const { return size_; }

    // Reads n bytes from `from` bytes into the region into `out`.  Throws std::system_error on a read
    // error and DecodeError(truncated) when the file ends inside the region.
    void read(uint8_t* out, size_t from, size_t n) const;
    // The whole region in memory: read on the first call (from any thread), kept by the region.
    const uint8_t* contents() const;

private:
    std::shared_ptr<const void> keep_open_;
    int fd_;
    uint64_t offset_;
    size_t size_;
    mutable std::once_flag read_once_;
    mutable std::unique_ptr<uint8_t[]> contents_;
};

} // namespace kafka
