#include "gateway/storage/memory_engine.h"

#include "gateway/storage/prepared_append.h"
#include "gateway/storage/record_timestamps.h"
#include "gateway/storage/storage_log.h"
#include "gateway/storage/topic_rules.h"

#include <algorithm>
#include <chrono>
#include <deque>

namespace gateway {
namespace {

constexpr size_t chunk_capacity = 1 << 20;

// Append-only storage for batches: bytes below `used` never change once written, so views of them
// may be read while later appends fill the rest (under the partition's lock; readers never look past
// the batches they were given).
struct Chunk {
    explicit Chunk(size_t capacity) : data(new uint8_t[capacity]), capacity(capacity) {}
    std::unique_ptr<uint8_t[]> data;
    size_t capacity;
    size_t used = 0;
};

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

struct MemoryEngine::Partition {
    explicit Partition(const TopicConfig& config) : log_append_time(config.log_append_time) {}

    mutable std::mutex mutex;
    const bool log_append_time;
    std::deque<kafka::RecordBatch> batches; // as stored, in offset order; none wholly below log start
    std::shared_ptr<Chunk> chunk;            // where the next append goes, if it fits
    int64_t log_start_offset = 0;
    int64_t high_watermark = 0;
    bool removed = false; // the topic was deleted while someone held this partition

    // The first batch whose last offset is >= offset.
    std::deque<kafka::RecordBatch>::const_iterator batch_holding(int64_t offset) const {
        return std::partition_point(batches.begin(), batches.end(),
                                    [&](const kafka::RecordBatch& b) { return b.header.last_offset() < offset; });
    }
};

MemoryEngine::MemoryEngine() = default;
MemoryEngine::~MemoryEngine() = default;

StorageErrc MemoryEngine::create_topic(const std::string& name, int32_t partitions, const TopicConfig& config) {
    if (!is_legal_topic_name(name)) {
        log_storage("refusing to create topic '" + name + "': not a legal Kafka topic name");
        return StorageErrc::storage_error;
    }
    if (StorageErrc e = check_partition_count(partitions); e != StorageErrc::none) return e;
    std::unique_lock lock(topics_mutex_);
    if (topics_.contains(name)) return StorageErrc::topic_already_exists;
    Topic topic{TopicInfo{name, new_topic_id(), partitions, config}, {}};
    for (int32_t i = 0; i < partitions; ++i) topic.partitions.push_back(std::make_shared<Partition>(config));
    topics_.emplace(name, std::move(topic));
    return StorageErrc::none;
}

StorageErrc MemoryEngine::delete_topic(const std::string& name) {
    Topic topic;
    {
        std::unique_lock lock(topics_mutex_);
        auto it = topics_.find(name);
        if (it == topics_.end()) return StorageErrc::unknown_topic_or_partition;
        topic = std::move(it->second);
        topics_.erase(it);
    }
    for (const std::shared_ptr<Partition>& p : topic.partitions) {
        std::lock_guard lock(p->mutex);
        p->removed = true;
    }
    return StorageErrc::none;
}

StorageErrc MemoryEngine::create_partitions(const std::string& name, int32_t total) {
    std::unique_lock lock(topics_mutex_);
    auto it = topics_.find(name);
    if (it == topics_.end()) return StorageErrc::unknown_topic_or_partition;
    Topic& topic = it->second;
    if (total <= topic.info.partitions) return StorageErrc::invalid_partitions;
    if (StorageErrc e = check_partition_count(total); e != StorageErrc::none) return e;
    while (static_cast<int32_t>(topic.partitions.size()) < total)
        topic.partitions.push_back(std::make_shared<Partition>(topic.info.config));
    topic.info.partitions = total;
    return StorageErrc::none;
}

std::vector<TopicInfo> MemoryEngine::list_topics() const {
    std::shared_lock lock(topics_mutex_);
    std::vector<TopicInfo> out;
    out.reserve(topics_.size());
    for (const auto& [name, topic] : topics_) out.push_back(topic.info);
    return out;
}

std::optional<TopicInfo> MemoryEngine::describe_topic(const std::string& name) const {
    std::shared_lock lock(topics_mutex_);
    auto it = topics_.find(name);
    if (it == topics_.end()) return std::nullopt;
    return it->second.info;
}

std::shared_ptr<MemoryEngine::Partition> MemoryEngine::find(const TopicPartition& tp) const {
    std::shared_lock lock(topics_mutex_);
    auto it = topics_.find(tp.topic);
    if (it == topics_.end() || tp.partition < 0 || tp.partition >= it->second.info.partitions) return nullptr;
    return it->second.partitions[static_cast<size_t>(tp.partition)];
}

AppendResult MemoryEngine::append_batches(const TopicPartition& tp, std::span<const uint8_t> batches) {
    std::shared_ptr<Partition> p = find(tp);
    if (!p) return {StorageErrc::unknown_topic_or_partition};
    PreparedAppend prepared = prepare_append(batches, p->log_append_time ? std::optional(now_ms()) : std::nullopt);
    if (prepared.error != StorageErrc::none) return {prepared.error};

    AppendResult result;
    {
        std::lock_guard lock(p->mutex);
        if (p->removed) return {StorageErrc::unknown_topic_or_partition};
        result.log_start_offset = p->log_start_offset;
        if (prepared.batches.empty()) return result; // nothing to append, as Kafka answers an empty produce
        prepared.assign_offsets(p->high_watermark);
        if (!p->chunk || p->chunk->capacity - p->chunk->used < prepared.size)
            p->chunk = std::make_shared<Chunk>(std::max(chunk_capacity, prepared.size));
        Chunk& chunk = *p->chunk;
        uint8_t* at = chunk.data.get() + chunk.used;
        prepared.copy_to(at);
        chunk.used += prepared.size;
        std::shared_ptr<const void> owner = p->chunk;
        for (const PreparedBatch& b : prepared.batches) {
            kafka::Bytes bytes(owner, at, b.size());
            p->batches.push_back({kafka::parse_record_batch_header(bytes.span()), bytes});
            at += b.size();
        }
        result.base_offset = p->high_watermark;
        p->high_watermark += prepared.offset_count;
        result.last_offset = p->high_watermark - 1;
        result.log_append_time = prepared.log_append_time;
    }
    std::shared_ptr<const AppendListener> listener;
    {
        std::lock_guard lock(listener_mutex_);
        listener = listener_;
    }
    if (listener && *listener) (*listener)(tp, result.last_offset + 1);
    return result;
}

ReadResult MemoryEngine::read(const TopicPartition& tp, int64_t offset, size_t max_bytes) const {
    std::shared_ptr<Partition> p = find(tp);
    if (!p) return {StorageErrc::unknown_topic_or_partition};
    std::lock_guard lock(p->mutex);
    if (p->removed) return {StorageErrc::unknown_topic_or_partition};
    ReadResult result;
    result.high_watermark = p->high_watermark;
    result.log_start_offset = p->log_start_offset;
    if (offset < p->log_start_offset || offset > p->high_watermark) {
        result.error = StorageErrc::offset_out_of_range;
        return result;
    }
    if (offset == p->high_watermark) return result;

    auto it = p->batch_holding(offset);
    const kafka::Bytes& first = it->bytes;
    size_t total = first.size();
    for (auto next = std::next(it); next != p->batches.end(); ++next) {
        const kafka::Bytes& b = next->bytes;
        // Only batches laid out right after the previous one in the same chunk make one view.
        if (b.owner() != first.owner() || b.data() != first.data() + total || total + b.size() > max_bytes) break;
        total += b.size();
    }
    result.records = kafka::Bytes(first.owner(), first.data(), total);
    return result;
}

PartitionOffsets MemoryEngine::offsets(const TopicPartition& tp) const {
    std::shared_ptr<Partition> p = find(tp);
    if (!p) return {StorageErrc::unknown_topic_or_partition};
    std::lock_guard lock(p->mutex);
    if (p->removed) return {StorageErrc::unknown_topic_or_partition};
    return {StorageErrc::none, p->log_start_offset, p->high_watermark};
}

TimestampOffset MemoryEngine::offset_for_timestamp(const TopicPartition& tp, int64_t timestamp) const {
    std::shared_ptr<Partition> p = find(tp);
    if (!p) return {StorageErrc::unknown_topic_or_partition};
    std::lock_guard lock(p->mutex);
    if (p->removed) return {StorageErrc::unknown_topic_or_partition};
    for (auto it = p->batch_holding(p->log_start_offset); it != p->batches.end(); ++it) {
        TimestampOffset found = first_record_at_or_after(*it, timestamp, p->log_start_offset);
        if (found.offset >= 0) return found;
    }
    return {};
}

TimestampOffset MemoryEngine::max_timestamp(const TopicPartition& tp) const {
    std::shared_ptr<Partition> p = find(tp);
    if (!p) return {StorageErrc::unknown_topic_or_partition};
    std::lock_guard lock(p->mutex);
    if (p->removed) return {StorageErrc::unknown_topic_or_partition};
    // The first batch with the largest timestamp, then the record inside it.
    const auto end = p->batches.cend();
    auto best = end;
    int64_t best_timestamp = -1;
    for (auto it = p->batch_holding(p->log_start_offset); it != end; ++it) {
        const int64_t ts = max_timestamp_from(*it, p->log_start_offset);
        if (best == end || ts > best_timestamp) {
            best = it;
            best_timestamp = ts;
        }
    }
    if (best == end) return {};
    return record_with_max_timestamp(*best, p->log_start_offset);
}

PartitionOffsets MemoryEngine::delete_records_before(const TopicPartition& tp, int64_t offset) {
    std::shared_ptr<Partition> p = find(tp);
    if (!p) return {StorageErrc::unknown_topic_or_partition};
    std::lock_guard lock(p->mutex);
    if (p->removed) return {StorageErrc::unknown_topic_or_partition};
    if (offset == -1) offset = p->high_watermark; // DeleteRecords: -1 means the high watermark
    if (offset < 0 || offset > p->high_watermark)
        return {StorageErrc::offset_out_of_range, p->log_start_offset, p->high_watermark};
    if (offset > p->log_start_offset) {
        p->log_start_offset = offset;
        while (!p->batches.empty() && p->batches.front().header.last_offset() < offset) p->batches.pop_front();
    }
    return {StorageErrc::none, p->log_start_offset, p->high_watermark};
}

void MemoryEngine::set_append_listener(AppendListener listener) {
    auto shared = std::make_shared<const AppendListener>(std::move(listener));
    std::lock_guard lock(listener_mutex_);
    listener_ = std::move(shared);
}

} // namespace gateway
