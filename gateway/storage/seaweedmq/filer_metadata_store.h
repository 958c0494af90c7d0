// The seaweedmq:// engine's MetadataStore: entries in the SeaweedFS filer, so committed offsets and
// group metadata survive a gateway restart and every gateway on the same namespace sees them.
//
// Layout under ROOT = /kafka-gateway/<namespace>/metadata:
//   ROOT/keys/<encoded key>     one entry per key, the value inline (Entry.content); keys are encoded
//                               as file names by escaping every byte outside [A-Za-z0-9._-] as %XX,
//                               which keeps a key prefix a file-name prefix (scan lists by prefix).
//   ROOT/batches/<time>-<n>     a multi-key batch as one entry while it is being applied.
//
// The filer has no multi-entry transaction, so a batch of several writes is made atomic with a redo
// log of one entry: the whole batch is first written as one entry under batches/ (a single filer write,
// atomic by itself: the batch is committed once it exists), then each key is written, then the batch
// entry is deleted.  A crash in between leaves the batch entry, which the next apply() or the next
// gateway's start replays (writing a key again is harmless), and scan() overlays any batch entry still
// present on what it lists, in order, so a reader never sees half a batch.  A single write goes
// straight to its key entry.
#pragma once

#include "gateway/storage/metadata_store.h"
#include "gateway/storage/seaweedmq/metadata_entries.h"

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace gateway::seaweedmq {

class Cluster;

class FilerMetadataStore final : public MetadataStore {
public:
    FilerMetadataStore(Cluster& cluster, std::string root);

    StorageErrc apply(std::span<const MetadataWrite> writes) override;
    std::vector<std::pair<std::string, std::string>> scan(std::string_view prefix) const override;

    // Applies and removes leftover batch entries; false when the filer could not be reached.
    bool replay_pending();

private:
    bool replay_pending_locked();

    Cluster& cluster_;
    const std::string root_;
    std::mutex mutex_;
    uint64_t sequence_ = 0;
    bool maybe_pending_ = true;   // a batch entry may be left over
};

} // namespace gateway::seaweedmq
