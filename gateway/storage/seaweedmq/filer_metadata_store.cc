#include "gateway/storage/seaweedmq/filer_metadata_store.h"

#include "filer.grpc.pb.h"
#include "gateway/storage/seaweedmq/cluster.h"
#include "gateway/storage/seaweedmq/filer_client.h"
#include "gateway/storage/storage_log.h"
#include "runtime/reader.h"
#include "runtime/writer.h"

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>

namespace gateway::seaweedmq {
namespace {

} // namespace

FilerMetadataStore::FilerMetadataStore(Cluster& cluster, std::string root) : cluster_(cluster), root_(std::move(root)) {}

bool FilerMetadataStore::replay_pending() {
    std::lock_guard lock(mutex_);
    return replay_pending_locked();
}

bool FilerMetadataStore::replay_pending_locked() {
    FilerClient filer(cluster_);
    const std::string batches = root_ + "/batches";
    std::vector<std::pair<std::string, std::string>> pending;
    if (!filer.list(batches, "", [&](const filer_pb::Entry& e) { pending.emplace_back(e.name(), e.content()); }))
        return false;
    for (const auto& [name, content] : pending) {
        if (std::optional<std::vector<MetadataWrite>> writes = decode_batch(content)) {
            for (const MetadataWrite& m : *writes) {
                const bool ok = m.value ? filer.put(root_ + "/keys", encode_key_as_name(m.key), *m.value)
                                        : filer.remove(root_ + "/keys", encode_key_as_name(m.key));
                if (!ok) return false;
            }
        } else {
            log_storage("seaweedmq: dropping unreadable metadata batch " + batches + "/" + name);
        }
        if (!filer.remove(batches, name)) return false;
    }
    return true;
}

StorageErrc FilerMetadataStore::apply(std::span<const MetadataWrite> writes) {
    if (writes.empty()) return StorageErrc::none;
    std::lock_guard lock(mutex_);
    if (maybe_pending_ && replay_pending_locked()) maybe_pending_ = false;
    FilerClient filer(cluster_);
    const std::string keys = root_ + "/keys";
    if (writes.size() == 1) {
        const MetadataWrite& m = writes.front();
        const bool ok = m.value ? filer.put(keys, encode_key_as_name(m.key), *m.value)
                                : filer.remove(keys, encode_key_as_name(m.key));
        return ok ? StorageErrc::none : StorageErrc::storage_error;
    }
    // Redo log: the batch is committed once this one entry exists.
    char name[64];
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    std::snprintf(name, sizeof name, "%020lld-%08llu", static_cast<long long>(now),
                  static_cast<unsigned long long>(++sequence_));
    if (!filer.put(root_ + "/batches", name, encode_batch(writes))) return StorageErrc::storage_error;
    for (const MetadataWrite& m : writes) {
        const bool ok = m.value ? filer.put(keys, encode_key_as_name(m.key), *m.value)
                                : filer.remove(keys, encode_key_as_name(m.key));
        if (!ok) {
            maybe_pending_ = true;   // committed: the batch entry stays and is replayed later
            return StorageErrc::none;
        }
    }
    if (!filer.remove(root_ + "/batches", name)) maybe_pending_ = true;
    return StorageErrc::none;
}

std::vector<std::pair<std::string, std::string>> FilerMetadataStore::scan(std::string_view prefix) const {
    FilerClient filer(cluster_);
    std::map<std::string, std::string, std::less<>> out;
    filer.list(root_ + "/keys", encode_key_as_name(prefix), [&](const filer_pb::Entry& e) {
        out.emplace(decode_name_as_key(e.name()), e.content());
    });
    // Batches not yet (wholly) applied, oldest first.
    filer.list(root_ + "/batches", "", [&](const filer_pb::Entry& e) {
        if (std::optional<std::vector<MetadataWrite>> writes = decode_batch(e.content()))
            for (MetadataWrite& m : *writes) {
                if (!std::string_view(m.key).starts_with(prefix)) continue;
                if (m.value)
                    out.insert_or_assign(m.key, std::move(*m.value));
                else
                    out.erase(m.key);
            }
    });
    return {out.begin(), out.end()};
}

} // namespace gateway::seaweedmq
