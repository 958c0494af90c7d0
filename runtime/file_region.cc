#include "runtime/file_region.h"

#include "runtime/codec_error.h"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace kafka {

void FileRegion::read(uint8_t* out, size_t from, size_t n) const {
    if (from > size_ || n > size_ - from)
        throw std::out_of_range("FileRegion::read of " + std::to_string(n) + " bytes at " + std::to_string(from) +
                                " in a region of " + std::to_string(size_));
    uint64_t at = offset_ + from;
    while (n > 0) {
        const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(at));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw std::system_error(errno, std::generic_category(), "cannot read stored records");
        if (got == 0)
            throw DecodeError(DecodeErrc::truncated, "the file ends at " + std::to_string(at) +
                                                         ", inside the stored records (" + std::to_string(offset_) +
                                                         " + " + std::to_string(size_) + ")");
        out += got;
        n -= static_cast<size_t>(got);
        at += static_cast<uint64_t>(got);
    }
}

const uint8_t* FileRegion::contents() const {
    std::call_once(read_once_, [this] {   // a throw leaves the flag unset: the next call tries again
        auto bytes = std::make_unique_for_overwrite<uint8_t[]>(size_ == 0 ? 1 : size_);
        read(bytes.get(), 0, size_);
        contents_ = std::move(bytes);
    });
    return contents_.get();
}

} // namespace kafka
