#include "gateway/storage/seaweedmq/filer_metadata_store.h"

#include "filer.grpc.pb.h"
#include "gateway/storage/seaweedmq/cluster.h"
#include "gateway/storage/storage_log.h"
#include "runtime/reader.h"
#include "runtime/writer.h"

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>

namespace gateway::seaweedmq {
namespace {

constexpr auto filer_timeout = std::chrono::seconds(10);

struct Filer {
    std::unique_ptr<filer_pb::SeaweedFiler::Stub> stub;

    explicit Filer(Cluster& cluster) {
        const std::string address = cluster.filer();
        if (!address.empty()) stub = filer_pb::SeaweedFiler::NewStub(cluster.channel(address));
    }

    bool put(const std::string& dir, const std::string& name, const std::string& content) {
        if (!stub) return false;
        grpc::ClientContext ctx;
        set_deadline(ctx, filer_timeout);
        filer_pb::CreateEntryRequest req;
        req.set_directory(dir);
        filer_pb::Entry* e = req.mutable_entry();
        e->set_name(name);
        e->set_content(content);
        const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        filer_pb::FuseAttributes* a = e->mutable_attributes();
        a->set_file_size(content.size());
        a->set_mtime(now);
        a->set_crtime(now);
        a->set_file_mode(0644);
        filer_pb::CreateEntryResponse resp;
        grpc::Status s = stub->CreateEntry(&ctx, req, &resp);
        if (!s.ok() || !resp.error().empty()) {
            log_storage("seaweedmq: filer write of " + dir + "/" + name + " failed: " +
                        (s.ok() ? resp.error() : describe(s)));
            return false;
        }
        return true;
    }

    bool remove(const std::string& dir, const std::string& name) {
        if (!stub) return false;
        grpc::ClientContext ctx;
        set_deadline(ctx, filer_timeout);
        filer_pb::DeleteEntryRequest req;
        req.set_directory(dir);
        req.set_name(name);
        req.set_is_delete_data(true);
        filer_pb::DeleteEntryResponse resp;
        grpc::Status s = stub->DeleteEntry(&ctx, req, &resp);
        if (s.error_code() == grpc::StatusCode::NOT_FOUND) return true;
        if (!s.ok() || (!resp.error().empty() && resp.error().find("not found") == std::string::npos)) {
            log_storage("seaweedmq: filer delete of " + dir + "/" + name + " failed: " +
                        (s.ok() ? resp.error() : describe(s)));
            return false;
        }
        return true;
    }

    // Every entry of dir whose name starts with prefix, in name order, paged.
    bool list(const std::string& dir, const std::string& prefix,
              const std::function<void(const filer_pb::Entry&)>& each) {
        if (!stub) return false;
        std::string start;
        bool inclusive = true;
        for (;;) {
            grpc::ClientContext ctx;
            set_deadline(ctx, filer_timeout);
            filer_pb::ListEntriesRequest req;
            req.set_directory(dir);
            req.set_prefix(prefix);
            req.set_startfromfilename(start);
            req.set_inclusivestartfrom(inclusive);
            constexpr uint32_t page = 1024;
            req.set_limit(page);
            auto reader = stub->ListEntries(&ctx, req);
            filer_pb::ListEntriesResponse resp;
            uint32_t n = 0;
            while (reader->Read(&resp)) {
                ++n;
                start = resp.entry().name();
                if (!resp.entry().is_directory()) each(resp.entry());
            }
            grpc::Status s = reader->Finish();
            if (s.error_code() == grpc::StatusCode::NOT_FOUND) return true;
            if (!s.ok()) {
                log_storage("seaweedmq: filer listing of " + dir + " failed: " + describe(s));
                return false;
            }
            if (n < page) return true;
            inclusive = false;
        }
    }
};

} // namespace

FilerMetadataStore::FilerMetadataStore(Cluster& cluster, std::string root) : cluster_(cluster), root_(std::move(root)) {}

bool FilerMetadataStore::replay_pending() {
    std::lock_guard lock(mutex_);
    return replay_pending_locked();
}

bool FilerMetadataStore::replay_pending_locked() {
    Filer filer(cluster_);
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
    Filer filer(cluster_);
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
    Filer filer(cluster_);
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
