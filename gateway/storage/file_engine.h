// The embedded durable log (file://DIR), laid out as Kafka lays out a log directory:
//
//   DIR/.lock                      held (flock) while an engine uses DIR
//   DIR/<topic>.topic              the topic's id, partition count and config (topic_metadata.h)
//   DIR/<topic>-<partition>/       one partition (partition_log.h): segments (segment.h) and
//                                  its log-start-offset checkpoint
//   DIR/@metadata.log              the metadata store (file_metadata_store.h): committed offsets,
//                                  groups; '@' keeps it apart from every legal topic name
//   DIR/.clean-shutdown            written last by a clean shutdown, removed first at start
//
// Topics survive restarts; opening recovers every partition (a torn tail is cut off).  After a clean
// shutdown (every partition's log and indexes synced, then the marker; Kafka's .kafka_cleanshutdown)
// the last segments are resumed from their indexes instead of read whole: a restart then costs a few
// KiB per partition rather than every byte of every active segment.  One
// background thread fdatasyncs partitions appended to since its last round (fsync=interval) and
// applies retention every retention_check_interval_ms.
#pragma once

#include "gateway/storage/file_metadata_store.h"
#include "gateway/storage/partition_log.h"
#include "gateway/storage/posix_file.h"
#include "gateway/storage/storage_engine.h"

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace gateway {

class FileEngine final : public StorageEngine {
public:
    // Opens DIR (created if missing) and every topic in it.  Throws std::runtime_error for the
    // operator: DIR not writable or in use by another engine, topic metadata unreadable, ...
    FileEngine(std::filesystem::path dir, const StorageOptions& options);
    // Stops the background thread and syncs everything.
    ~FileEngine() override;

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
    void flush() override;
    MetadataStore& metadata() override { return *metadata_; }

    // Applies retention now, as if the time were now_ms (the background thread does this every
    // retention_check_interval_ms).
    void run_retention_pass(int64_t now_ms);
    void run_retention_pass();

private:
    struct Topic {
        TopicInfo info;
        std::vector<std::shared_ptr<PartitionLog>> partitions;
    };

    std::shared_ptr<PartitionLog> find(const TopicPartition& tp) const;
    std::vector<std::shared_ptr<PartitionLog>> all_partitions() const;
    std::filesystem::path partition_dir(const std::string& topic, int32_t partition) const;
    std::filesystem::path metadata_path(const std::string& topic) const;
    PartitionLog::Settings settings_for(const TopicConfig& config) const;
    void write_metadata(const TopicInfo& info) const;
    void load_topics(bool clean_shutdown);
    void run_background();

    const std::filesystem::path dir_;
    const StorageOptions options_;
    FileDescriptor lock_file_;

    // Creating, deleting and growing topics touch directories: one at a time.
    std::mutex admin_mutex_;
    mutable std::shared_mutex topics_mutex_;
    std::map<std::string, Topic> topics_;

    mutable std::mutex listener_mutex_;
    std::shared_ptr<const AppendListener> listener_;

    std::mutex background_mutex_;
    std::condition_variable background_wake_;
    bool stopping_ = false;
    std::thread background_;
    std::unique_ptr<FileMetadataStore> metadata_;
};

} // namespace gateway
