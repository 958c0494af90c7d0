#include "runtime/bytes.h"

#include <memory>

namespace kafka {

Bytes Bytes::copy_of(std::span<const uint8_t> src) {
    if (src.empty()) return {};
    std::shared_ptr<uint8_t[]> buf(new uint8_t[src.size()]);
    std::memcpy(buf.get(), src.data(), src.size());
    const uint8_t* p = buf.get();
    return Bytes(std::shared_ptr<const void>(std::move(buf), p), p, src.size());
}

} // namespace kafka
