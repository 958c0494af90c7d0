// The in-memory engine (memory://), for tests: the file engine's semantics without files or
// segments.  Appends are copied into append-only chunks (1 MiB, or one append when larger) that are
// never moved or rewritten, so reads return views of them; a read returns consecutive batches of one
// chunk.  Nothing survives the process; there is no retention, but delete_records_before frees the
// batches it passes.
#pragma once

#include "gateway/storage/storage_engine.h"

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace gateway {

class MemoryEngine final : public StorageEngine {
public:
    MemoryEngine();
    ~MemoryEngine() override;

    StorageErrc create_topic(const std::string& name, int32_t partitions, const TopicConfig& config) override;
    StorageErrc delete_topic(const std::string& name) override;
    StorageErrc create_partitions(const std::string& name, int32_t total) override;
    std::vector<TopicInfo> list_topics() const override;
    std::optional<TopicInfo> describe_topic(const std::string& name) const override;

    AppendResult append_batches(const TopicPartition& tp, std::span<const uint8_t> batches) override;
    ReadResult read(const TopicPartition& tp, int64_t offset, size_t max_bytes) const override;
    PartitionOffsets offsets(const TopicPartition& tp) const override;
    TimestampOffset offset_for_timestamp(const TopicPartition& tp, int64_t timestamp) const override;
    TimestampOffset max_timestamp(const TopicPartition& tp) const override;
    PartitionOffsets delete_records_before(const TopicPartition& tp, int64_t offset) override;

    void set_append_listener(AppendListener listener) override;
    void flush() override {}
    MetadataStore& metadata() override { return metadata_; }

private:
    struct Partition;
    struct Topic {
        TopicInfo info;
        std::vector<std::shared_ptr<Partition>> partitions;
    };

    std::shared_ptr<Partition> find(const TopicPartition& tp) const;

    mutable std::shared_mutex topics_mutex_;
    std::map<std::string, Topic> topics_;
    mutable std::mutex listener_mutex_;
    std::shared_ptr<const AppendListener> listener_;
    InMemoryMetadataStore metadata_;
};

} // namespace gateway
