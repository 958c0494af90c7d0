#include "gateway/storage/metadata_store.h"

namespace gateway {

StorageErrc InMemoryMetadataStore::apply(std::span<const MetadataWrite> writes) {
    std::lock_guard lock(mutex_);
    for (const MetadataWrite& w : writes) {
        if (w.value) entries_.insert_or_assign(w.key, *w.value);
        else entries_.erase(w.key);
    }
    return StorageErrc::none;
}

std::vector<std::pair<std::string, std::string>> InMemoryMetadataStore::scan(std::string_view prefix) const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, std::string>> out;
    for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.starts_with(prefix); ++it)
        out.emplace_back(it->first, it->second);
    return out;
}

} // namespace gateway
