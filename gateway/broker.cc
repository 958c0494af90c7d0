#include "gateway/broker.h"

#include "gateway/handlers/handlers.h"
#include "runtime/log.h"

namespace gateway {

Broker::Broker(Config config, std::unique_ptr<StorageEngine> storage,
               std::chrono::milliseconds producer_snapshot_interval)
  : config_(std::move(config)), storage_(std::move(storage)), producers_(*storage_),
    coordinator_(std::make_unique<GroupCoordinator>(storage_->metadata(), config_.groups)) {
    storage_->set_append_listener(
        [this](const TopicPartition& tp, int64_t high_watermark) { fetch_waiters_.notify(tp, high_watermark); });
    coordinator_->start();   // loads groups and offsets in the background
    producers_.recover();
    producers_.write_snapshots(ProducerStates::SnapshotScope::changed);   // so a crash now replays nothing again
    producers_.start_snapshots(producer_snapshot_interval);
}

Broker::~Broker() {
    coordinator_->shutdown();   // answers pending joins/syncs; no store access afterwards
    storage_->set_append_listener(nullptr);
    fetch_waiters_.shutdown();
    producers_.shutdown();   // last snapshots, while storage_ is still open
}

Broker::CoordinatorNode Broker::coordinator_for(const std::string&) const {
    HostPort hp = config_.advertised_listener();
    return {config_.node_id, hp.host, hp.port};
}

void Broker::register_handlers(kafka::Dispatcher& dispatcher) { register_all_handlers(dispatcher, *this); }

bool valid_topic_name(const std::string& name) {
    if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        if (!ok) return false;
    }
    return true;
}

Broker::TopicLookup Broker::find_topic(const std::string& name, bool may_create) {
    if (!valid_topic_name(name)) return {ErrorCode::invalid_topic_exception, std::nullopt};
    if (auto topic = storage_->describe_topic(name)) return {ErrorCode::none, std::move(topic)};
    if (!may_create || !config_.auto_create_topics) return {ErrorCode::unknown_topic_or_partition, std::nullopt};
    StorageErrc e = storage_->create_topic(name, config_.default_partitions, config_.storage.default_topic_config);
    if (e != StorageErrc::none && e != StorageErrc::topic_already_exists) return {to_error_code(e), std::nullopt};
    if (e == StorageErrc::none)
        kafka::log_info("broker", "auto-created topic " + name + " with " + std::to_string(config_.default_partitions) +
                                      " partition(s)");
    auto topic = storage_->describe_topic(name);
    if (!topic) return {ErrorCode::unknown_topic_or_partition, std::nullopt};
    return {ErrorCode::none, std::move(topic)};
}

} // namespace gateway
