// Small durable key/value records kept beside the logs: the group coordinator's committed offsets and
// group metadata (and any other gateway state that must survive a restart).  Every engine provides
// one (StorageEngine::metadata()), so whatever the engine keeps, the coordinator's state lives in the
// same place: files for file://, SeaweedFS for seaweedmq://, memory for memory://.
//
// Keys are short strings with a prefix naming their kind (the coordinator uses "offset/..." and
// "group/...").  Values are opaque bytes.  A batch of writes is applied atomically: after a crash
// either all of it is visible or none.  apply() returns once the batch is as durable as the engine's
// fsync policy says.  Thread-safe.
#pragma once

#include "gateway/storage/storage_errc.h"

#include <mutex>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gateway {

struct MetadataWrite {
    std::string key;
    std::optional<std::string> value;   // nullopt: delete the key
};

class MetadataStore {
public:
    virtual ~MetadataStore() = default;

    virtual StorageErrc apply(std::span<const MetadataWrite> writes) = 0;
    // Every key starting with `prefix`, in key order, with its value (loading at start).
    virtual std::vector<std::pair<std::string, std::string>> scan(std::string_view prefix) const = 0;
};

// Keeps everything in a map: memory://, and unit tests.
class InMemoryMetadataStore final : public MetadataStore {
public:
    StorageErrc apply(std::span<const MetadataWrite> writes) override;
    std::vector<std::pair<std::string, std::string>> scan(std::string_view prefix) const override;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::string, std::less<>> entries_;
};

} // namespace gateway
