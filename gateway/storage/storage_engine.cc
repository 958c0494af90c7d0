// StorageEngine::open: the engine a URL names.
#include "gateway/storage/storage_engine.h"

#include "gateway/storage/file_engine.h"
#include "gateway/storage/memory_engine.h"
#include "gateway/storage/seaweedmq/seaweedmq_engine.h"

#include <stdexcept>
#include <string_view>

namespace gateway {

std::unique_ptr<StorageEngine> StorageEngine::open(const std::string& url, const StorageOptions& options) {
    constexpr std::string_view file_scheme = "file://";
    constexpr std::string_view memory_scheme = "memory://";
    constexpr std::string_view seaweedmq_scheme = "seaweedmq://";
    const std::string_view u = url;
    if (u.starts_with(file_scheme)) {
        const std::string_view dir = u.substr(file_scheme.size());
        if (dir.empty()) throw std::runtime_error("storage URL '" + url + "' names no directory (file://DIR)");
        return std::make_unique<FileEngine>(std::string(dir), options);
    }
    if (u.starts_with(memory_scheme)) return std::make_unique<MemoryEngine>();
    if (u.starts_with(seaweedmq_scheme)) return open_seaweedmq_engine(url, options);
    throw std::runtime_error("unknown storage URL '" + url +
                             "': known schemes are file://DIR (embedded log), memory:// (tests) and "
                             "seaweedmq://MASTER[?namespace=NS] (SeaweedMQ)");
}

} // namespace gateway
