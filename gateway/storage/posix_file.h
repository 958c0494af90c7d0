// The POSIX file primitives of the file engine: an owned descriptor, read-only shared mappings that
// serve as the owners of kafka::Bytes views, whole positioned reads and gather writes, fdatasync, and
// atomic replacement of small files.  Failures throw std::system_error naming the file.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace gateway {

[[noreturn]] void throw_file_error(int error, const std::string& what, const std::filesystem::path& path);

class FileDescriptor {
public:
    FileDescriptor() = default;
    FileDescriptor(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
    FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
    FileDescriptor& operator=(FileDescriptor&& o) noexcept;
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() { close(); }

    // open(2) with O_CLOEXEC added.
    static FileDescriptor open(const std::filesystem::path& path, int flags, mode_t mode = 0644);

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    const std::filesystem::path& path() const { return path_; }
    void close();

    uint64_t size() const;
    void read_exactly(uint8_t* out, size_t n, uint64_t offset) const;
    // pwritev until every byte is written.
    void write_all(std::span<const iovec> parts, uint64_t offset) const;
    void truncate(uint64_t size) const;
    void sync_data() const;

private:
    int fd_ = -1;
    std::filesystem::path path_;
};

// A read-only MAP_SHARED mapping.  It may be longer than the file (so that a growing file needs no new
// mapping for a while); bytes past the file's end must not be touched.  Writes through the file
// descriptor show in the mapping at once: both are the page cache.
class FileMapping {
public:
    static std::shared_ptr<const FileMapping> map(const FileDescriptor& file, size_t length);
    FileMapping(const FileMapping&) = delete;
    FileMapping& operator=(const FileMapping&) = delete;
    ~FileMapping();

    const uint8_t* data() const { return data_; }
    size_t length() const { return length_; }

private:
    FileMapping(const uint8_t* data, size_t length) : data_(data), length_(length) {}
    const uint8_t* data_;
    size_t length_;
};

// fsync of a directory, so that files created, renamed or removed in it stay so after a crash.
void sync_directory(const std::filesystem::path& dir);

// Replaces `path` with `contents` atomically (a temporary file renamed over it), synced when asked.
void replace_file(const std::filesystem::path& path, std::string_view contents, bool sync);

// The whole of a small file; nothing when it does not exist.
std::optional<std::string> read_small_file(const std::filesystem::path& path);

// The system page size, the granularity of mappings.
size_t page_size();

} // namespace gateway
