#include "gateway/storage/file_engine.h"

#include "gateway/storage/storage_log.h"
#include "gateway/storage/topic_metadata.h"
#include "gateway/storage/topic_rules.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <set>
#include <stdexcept>

namespace gateway {
namespace {

constexpr std::string_view metadata_extension = ".topic";
constexpr std::string_view clean_shutdown_marker = ".clean-shutdown";

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

FileEngine::FileEngine(std::filesystem::path dir, const StorageOptions& options)
  : dir_(std::move(dir)), options_(options) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw std::runtime_error("cannot create storage directory " + dir_.string() + ": " + ec.message());
    const std::filesystem::path lock_path = dir_ / ".lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::runtime_error("storage directory " + dir_.string() + " is not writable: " + std::strerror(errno));
    lock_file_ = FileDescriptor(fd, lock_path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
        throw std::runtime_error("storage directory " + dir_.string() + " is in use by another process (" +
                                 lock_path.string() + " is locked)");
    metadata_ = std::make_unique<FileMetadataStore>(
        dir_, FileMetadataStore::Options{options_.fsync, options_.fsync_interval_ms});
    // The marker goes before anything is written, so that a crash from here on means full recovery.
    const std::filesystem::path marker = dir_ / clean_shutdown_marker;
    const bool clean_shutdown = std::filesystem::exists(marker);
    if (clean_shutdown) {
        std::filesystem::remove(marker);
        sync_directory(dir_);
    }
    load_topics(clean_shutdown);
    background_ = std::thread([this] { run_background(); });
}

FileEngine::~FileEngine() {
    {
        std::lock_guard lock(background_mutex_);
        stopping_ = true;
    }
    background_wake_.notify_all();
    background_.join();
    bool clean = true;
    for (const std::shared_ptr<PartitionLog>& p : all_partitions()) clean = p->sync_for_shutdown() && clean;
    try {
        metadata_->sync();
        if (clean) {
            FileDescriptor::open(dir_ / clean_shutdown_marker, O_WRONLY | O_CREAT | O_TRUNC).sync_data();
            sync_directory(dir_);
        }
    } catch (const std::exception& e) {
        log_storage(std::string("shutting down: ") + e.what() + "; the next start recovers every partition");
    }
}

std::filesystem::path FileEngine::partition_dir(const std::string& topic, int32_t partition) const {
    return dir_ / (topic + "-" + std::to_string(partition));
}

std::filesystem::path FileEngine::metadata_path(const std::string& topic) const {
    return dir_ / (topic + std::string(metadata_extension));
}

PartitionLog::Settings FileEngine::settings_for(const TopicConfig& config) const { return {config, options_.fsync}; }

void FileEngine::write_metadata(const TopicInfo& info) const {
    // Always synced, whatever the fsync policy: topics are created rarely and must not vanish.
    replace_file(metadata_path(info.name), encode_topic_metadata(info), true);
}

void FileEngine::load_topics(bool clean_shutdown) {
    std::vector<std::filesystem::path> metadata_files;
    for (const std::filesystem::directory_entry& e : std::filesystem::directory_iterator(dir_)) {
        const std::string file = e.path().filename().string();
        if (file.ends_with(std::string(metadata_extension) + ".tmp")) {
            std::filesystem::remove(e.path()); // a metadata write a crash interrupted
        } else if (e.is_regular_file() && e.path().extension() == metadata_extension) {
            metadata_files.push_back(e.path());
        }
    }
    for (const std::filesystem::path& file : metadata_files) {
        const std::string name = file.stem().string();
        if (!is_legal_topic_name(name)) {
            log_storage("ignoring " + file.string() + ": not a legal topic name");
            continue;
        }
        try {
            std::optional<std::string> text = read_small_file(file);
            Topic topic{decode_topic_metadata(text.value_or(""), name), {}};
            for (int32_t i = 0; i < topic.info.partitions; ++i) {
                const std::filesystem::path dir = partition_dir(name, i);
                const PartitionLog::Settings settings = settings_for(topic.info.config);
                if (std::filesystem::is_directory(dir)) {
                    topic.partitions.push_back(PartitionLog::open(dir, {name, i}, settings, clean_shutdown));
                } else {
                    log_storage(dir.string() + " is missing: partition " + std::to_string(i) + " of " + name +
                                " starts empty");
                    topic.partitions.push_back(PartitionLog::create(dir, {name, i}, settings));
                }
            }
            topics_.emplace(name, std::move(topic));
        } catch (const std::exception& e) {
            throw std::runtime_error("cannot load topic '" + name + "' from " + dir_.string() + ": " + e.what());
        }
    }
    // Partition directories no topic names: left by a crash in the middle of creating or deleting a
    // topic.  Left alone (they are data), and replaced if a topic of that name is created.
    for (const std::filesystem::directory_entry& e : std::filesystem::directory_iterator(dir_)) {
        if (!e.is_directory()) continue;
        const std::string dir = e.path().filename().string();
        const size_t dash = dir.rfind('-');
        int32_t partition = -1;
        if (dash != std::string::npos) {
            auto [end, ec] = std::from_chars(dir.data() + dash + 1, dir.data() + dir.size(), partition);
            if (ec != std::errc() || end != dir.data() + dir.size()) partition = -1;
        }
        auto topic = dash == std::string::npos ? topics_.end() : topics_.find(dir.substr(0, dash));
        if (topic == topics_.end() || partition < 0 || partition >= topic->second.info.partitions)
            log_storage("ignoring " + e.path().string() + ": no topic metadata names it");
    }
}

StorageErrc FileEngine::create_topic(const std::string& name, int32_t partitions, const TopicConfig& config) {
    if (!is_legal_topic_name(name)) {
        log_storage("refusing to create topic '" + name + "': not a legal Kafka topic name");
        return StorageErrc::storage_error;
    }
    if (StorageErrc e = check_partition_count(partitions); e != StorageErrc::none) return e;
    std::lock_guard admin(admin_mutex_);
    {
        std::shared_lock lock(topics_mutex_);
        if (topics_.contains(name)) return StorageErrc::topic_already_exists;
    }
    Topic topic{TopicInfo{name, new_topic_id(), partitions, config}, {}};
    try {
        for (int32_t i = 0; i < partitions; ++i)
            topic.partitions.push_back(PartitionLog::create(partition_dir(name, i), {name, i}, settings_for(config)));
        write_metadata(topic.info);
    } catch (const std::exception& e) {
        log_storage("cannot create topic '" + name + "': " + e.what());
        for (const std::shared_ptr<PartitionLog>& p : topic.partitions) p->remove();
        return StorageErrc::storage_error;
    }
    std::unique_lock lock(topics_mutex_);
    topics_.emplace(name, std::move(topic));
    return StorageErrc::none;
}

StorageErrc FileEngine::delete_topic(const std::string& name) {
    std::lock_guard admin(admin_mutex_);
    {
        std::shared_lock lock(topics_mutex_);
        if (!topics_.contains(name)) return StorageErrc::unknown_topic_or_partition;
    }
    // The metadata goes first: once it is gone the topic is gone, even if a crash interrupts the rest.
    try {
        std::filesystem::remove(metadata_path(name));
        sync_directory(dir_);
    } catch (const std::exception& e) {
        log_storage("cannot delete topic '" + name + "': " + e.what());
        return StorageErrc::storage_error;
    }
    Topic topic;
    {
        std::unique_lock lock(topics_mutex_);
        auto it = topics_.find(name);
        topic = std::move(it->second);
        topics_.erase(it);
    }
    for (const std::shared_ptr<PartitionLog>& p : topic.partitions) p->remove();
    return StorageErrc::none;
}

StorageErrc FileEngine::create_partitions(const std::string& name, int32_t total) {
    std::lock_guard admin(admin_mutex_);
    TopicInfo info;
    {
        std::shared_lock lock(topics_mutex_);
        auto it = topics_.find(name);
        if (it == topics_.end()) return StorageErrc::unknown_topic_or_partition;
        info = it->second.info;
    }
    if (total <= info.partitions) return StorageErrc::invalid_partitions;
    if (StorageErrc e = check_partition_count(total); e != StorageErrc::none) return e;
    std::vector<std::shared_ptr<PartitionLog>> added;
    try {
        for (int32_t i = info.partitions; i < total; ++i)
            added.push_back(PartitionLog::create(partition_dir(name, i), {name, i}, settings_for(info.config)));
        info.partitions = total;
        write_metadata(info);
    } catch (const std::exception& e) {
        log_storage("cannot add partitions to topic '" + name + "': " + e.what());
        for (const std::shared_ptr<PartitionLog>& p : added) p->remove();
        return StorageErrc::storage_error;
    }
    std::unique_lock lock(topics_mutex_);
    Topic& topic = topics_.at(name);
    topic.partitions.insert(topic.partitions.end(), added.begin(), added.end());
    topic.info.partitions = total;
    return StorageErrc::none;
}

std::vector<TopicInfo> FileEngine::list_topics() const {
    std::shared_lock lock(topics_mutex_);
    std::vector<TopicInfo> out;
    out.reserve(topics_.size());
    for (const auto& [name, topic] : topics_) out.push_back(topic.info);
    return out;
}

std::optional<TopicInfo> FileEngine::describe_topic(const std::string& name) const {
    std::shared_lock lock(topics_mutex_);
    auto it = topics_.find(name);
    if (it == topics_.end()) return std::nullopt;
    return it->second.info;
}

std::shared_ptr<PartitionLog> FileEngine::find(const TopicPartition& tp) const {
    std::shared_lock lock(topics_mutex_);
    auto it = topics_.find(tp.topic);
    if (it == topics_.end() || tp.partition < 0 || tp.partition >= it->second.info.partitions) return nullptr;
    return it->second.partitions[static_cast<size_t>(tp.partition)];
}

std::vector<std::shared_ptr<PartitionLog>> FileEngine::all_partitions() const {
    std::shared_lock lock(topics_mutex_);
    std::vector<std::shared_ptr<PartitionLog>> out;
    for (const auto& [name, topic] : topics_) out.insert(out.end(), topic.partitions.begin(), topic.partitions.end());
    return out;
}

AppendResult FileEngine::append_batches(const TopicPartition& tp, std::span<const uint8_t> batches) {
    std::shared_ptr<PartitionLog> p = find(tp);
    if (!p) return {StorageErrc::unknown_topic_or_partition};
    AppendResult result = p->append(batches);
    if (result.error != StorageErrc::none || result.base_offset < 0) return result;
    std::shared_ptr<const AppendListener> listener;
    {
        std::lock_guard lock(listener_mutex_);
        listener = listener_;
    }
    if (listener && *listener) (*listener)(tp, result.last_offset + 1);
    return result;
}

ReadResult FileEngine::read(const TopicPartition& tp, int64_t offset, size_t max_bytes) const {
    std::shared_ptr<PartitionLog> p = find(tp);
    return p ? p->read(offset, max_bytes) : ReadResult{StorageErrc::unknown_topic_or_partition};
}

PartitionOffsets FileEngine::offsets(const TopicPartition& tp) const {
    std::shared_ptr<PartitionLog> p = find(tp);
    return p ? p->offsets() : PartitionOffsets{StorageErrc::unknown_topic_or_partition};
}

TimestampOffset FileEngine::offset_for_timestamp(const TopicPartition& tp, int64_t timestamp) const {
    std::shared_ptr<PartitionLog> p = find(tp);
    return p ? p->offset_for_timestamp(timestamp) : TimestampOffset{StorageErrc::unknown_topic_or_partition};
}

TimestampOffset FileEngine::max_timestamp(const TopicPartition& tp) const {
    std::shared_ptr<PartitionLog> p = find(tp);
    return p ? p->max_timestamp() : TimestampOffset{StorageErrc::unknown_topic_or_partition};
}

PartitionOffsets FileEngine::delete_records_before(const TopicPartition& tp, int64_t offset) {
    std::shared_ptr<PartitionLog> p = find(tp);
    return p ? p->delete_records_before(offset) : PartitionOffsets{StorageErrc::unknown_topic_or_partition};
}

void FileEngine::set_append_listener(AppendListener listener) {
    auto shared = std::make_shared<const AppendListener>(std::move(listener));
    std::lock_guard lock(listener_mutex_);
    listener_ = std::move(shared);
}

void FileEngine::flush() {
    for (const std::shared_ptr<PartitionLog>& p : all_partitions()) p->sync();
    metadata_->sync();
}

void FileEngine::run_retention_pass(int64_t now) {
    for (const std::shared_ptr<PartitionLog>& p : all_partitions()) p->enforce_retention(now);
}

void FileEngine::run_retention_pass() { run_retention_pass(now_ms()); }

void FileEngine::run_background() {
    using clock = std::chrono::steady_clock;
    const bool interval_sync = options_.fsync == FsyncPolicy::interval;
    const auto sync_every = std::chrono::milliseconds(std::max<int64_t>(options_.fsync_interval_ms, 1));
    const auto retention_every = std::chrono::milliseconds(std::max<int64_t>(options_.retention_check_interval_ms, 1));
    auto next_sync = clock::now() + sync_every;
    auto next_retention = clock::now() + retention_every;
    std::unique_lock lock(background_mutex_);
    while (!stopping_) {
        background_wake_.wait_until(lock, interval_sync ? std::min(next_sync, next_retention) : next_retention,
                                    [&] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        try {
            const auto now = clock::now();
            if (interval_sync && now >= next_sync) {
                for (const std::shared_ptr<PartitionLog>& p : all_partitions()) p->sync_if_dirty();
                next_sync = now + sync_every;
            }
            if (now >= next_retention) {
                run_retention_pass();
                next_retention = now + retention_every;
            }
        } catch (const std::exception& e) {
            log_storage(std::string("background sync/retention round failed: ") + e.what());
        }
        lock.lock();
    }
}

} // namespace gateway
