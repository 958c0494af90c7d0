#include "gateway/storage/posix_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <system_error>
#include <vector>

namespace gateway {

void throw_file_error(int error, const std::string& what, const std::filesystem::path& path) {
    throw std::system_error(error, std::generic_category(), what + " " + path.string());
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& o) noexcept {
    if (this != &o) {
        close();
        fd_ = o.fd_;
        path_ = std::move(o.path_);
        o.fd_ = -1;
    }
    return *this;
}

FileDescriptor FileDescriptor::open(const std::filesystem::path& path, int flags, mode_t mode) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) throw_file_error(errno, "cannot open", path);
    return FileDescriptor(fd, path);
}

void FileDescriptor::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

uint64_t FileDescriptor::size() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw_file_error(errno, "cannot stat", path_);
    return static_cast<uint64_t>(st.st_size);
}

void FileDescriptor::read_exactly(uint8_t* out, size_t n, uint64_t offset) const {
    while (n > 0) {
        ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw_file_error(errno, "cannot read", path_);
        if (got == 0) throw_file_error(EIO, "unexpected end of", path_);
        out += got;
        n -= static_cast<size_t>(got);
        offset += static_cast<uint64_t>(got);
    }
}

void FileDescriptor::write_all(std::span<const iovec> parts, uint64_t offset) const {
    // A private copy to advance through partial writes; IOV_MAX parts at a time.
    std::vector<iovec> left(parts.begin(), parts.end());
    size_t first = 0;
    while (first < left.size()) {
        if (left[first].iov_len == 0) {
            ++first;
            continue;
        }
        const int count = static_cast<int>(std::min<size_t>(left.size() - first, IOV_MAX));
        ssize_t wrote = ::pwritev(fd_, &left[first], count, static_cast<off_t>(offset));
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote < 0) throw_file_error(errno, "cannot write", path_);
        offset += static_cast<uint64_t>(wrote);
        auto n = static_cast<size_t>(wrote);
        while (n > 0) {
            const size_t step = std::min(n, left[first].iov_len);
            left[first].iov_base = static_cast<uint8_t*>(left[first].iov_base) + step;
            left[first].iov_len -= step;
            n -= step;
            if (left[first].iov_len == 0) ++first;
        }
    }
}

void FileDescriptor::truncate(uint64_t size) const {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) throw_file_error(errno, "cannot truncate", path_);
}

void FileDescriptor::sync_data() const {
    if (::fdatasync(fd_) != 0) throw_file_error(errno, "cannot fdatasync", path_);
}

std::shared_ptr<const FileMapping> FileMapping::map(const FileDescriptor& file, size_t length) {
    void* p = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, file.get(), 0);
    if (p == MAP_FAILED) throw_file_error(errno, "cannot mmap " + std::to_string(length) + " bytes of", file.path());
    return std::shared_ptr<const FileMapping>(new FileMapping(static_cast<const uint8_t*>(p), length));
}

FileMapping::~FileMapping() { ::munmap(const_cast<uint8_t*>(data_), length_); }

void sync_directory(const std::filesystem::path& dir) {
    FileDescriptor d = FileDescriptor::open(dir, O_RDONLY | O_DIRECTORY);
    if (::fsync(d.get()) != 0) throw_file_error(errno, "cannot fsync directory", dir);
}

void replace_file(const std::filesystem::path& path, std::string_view contents, bool sync) {
    std::filesystem::path temporary = path;
    temporary += ".tmp";
    {
        FileDescriptor f = FileDescriptor::open(temporary, O_WRONLY | O_CREAT | O_TRUNC);
        iovec part{const_cast<char*>(contents.data()), contents.size()};
        f.write_all({&part, 1}, 0);
        if (sync) f.sync_data();
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) throw_file_error(errno, "cannot rename into place", path);
    if (sync) sync_directory(path.parent_path());
}

std::optional<std::string> read_small_file(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return std::nullopt;
    if (fd < 0) throw_file_error(errno, "cannot open", path);
    FileDescriptor f(fd, path);
    std::string contents(f.size(), '\0');
    f.read_exactly(reinterpret_cast<uint8_t*>(contents.data()), contents.size(), 0);
    return contents;
}

size_t page_size() {
    static const size_t size = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

} // namespace gateway
