#include "gateway/broker.h"

#include "gateway/handlers/handlers.h"
#include "generated/create_partitions_request.h"
#include "generated/create_topics_request.h"
#include "generated/delete_groups_request.h"
#include "generated/delete_topics_request.h"
#include "generated/describe_configs_request.h"
#include "generated/describe_groups_request.h"
#include "generated/find_coordinator_request.h"
#include "generated/heartbeat_request.h"
#include "generated/join_group_request.h"
#include "generated/leave_group_request.h"
#include "generated/list_groups_request.h"
#include "generated/list_offsets_request.h"
#include "generated/metadata_request.h"
#include "generated/offset_commit_request.h"
#include "generated/offset_delete_request.h"
#include "generated/offset_fetch_request.h"
#include "generated/produce_request.h"
#include "generated/sync_group_request.h"
#include "runtime/log.h"

namespace gateway {

Broker::Broker(Config config, std::unique_ptr<StorageEngine> storage,
               std::chrono::milliseconds producer_snapshot_interval)
  : config_(std::move(config)), storage_(std::move(storage)), producers_(*storage_),
    coordinator_(std::make_unique<GroupCoordinator>(storage_->metadata(), config_.groups)) {
    if (storage_->reads_may_block()) {
        io_pool_ = std::make_unique<IoPool>(config_.io_threads);
        group_pool_ = std::make_unique<IoPool>(config_.io_threads);
    }
    storage_->set_append_listener(
        [this](const TopicPartition& tp, int64_t high_watermark) { fetch_waiters_.notify(tp, high_watermark); });
    producers_.set_node_id(config_.node_id);
    const HostPort self = config_.advertised_listener();
    registry_ = std::make_unique<GatewayRegistry>(storage_->shared() ? &storage_->metadata() : nullptr,
                                                  GatewayNode{config_.node_id, self.host, self.port}, config_.cluster);
    registry_->start();   // throws when the node id is taken
    // Alone: everything is ours at once.  Others alive: they may still coordinate what is ours now.
    const int64_t load_at =
        registry_->view()->nodes.size() > 1 ? GroupCoordinator::system_now_ms() + handover_delay_ms() : 0;
    apply_view(registry_->view(), load_at);
    coordinator_->start();   // loads groups and offsets in the background
    producers_.recover();
    apply_view(registry_->view(), load_at);   // drops what recovery read for partitions others lead
    registry_->set_listener([this](const std::shared_ptr<const ClusterView>& changed) {
        apply_view(changed, GroupCoordinator::system_now_ms() + handover_delay_ms());
    });
    producers_.write_snapshots(ProducerStates::SnapshotScope::changed);   // so a crash now replays nothing again
    producers_.start_snapshots(producer_snapshot_interval);
}

void Broker::apply_view(const std::shared_ptr<const ClusterView>& view, int64_t load_at_ms) {
    const int32_t self = config_.node_id;
    if (load_at_ms > 0 || view->nodes.size() > 1)
        coordinator_->set_ownership(
            [view, self](std::string_view group_id) { return view->group_coordinator(group_id).node_id == self; },
            load_at_ms);
    producers_.forget_partitions_if(
        [&](const TopicPartition& tp) { return view->partition_leader(tp.topic, tp.partition).node_id != self; });
}

Broker::~Broker() {
    coordinator_->shutdown();   // answers pending joins/syncs; no store access afterwards
    group_pool_.reset();        // what is queued is answered NOT_COORDINATOR
    registry_->stop();          // the others take over this gateway's groups and partitions
    storage_->set_append_listener(nullptr);
    fetch_waiters_.shutdown();
    io_pool_.reset();        // the reads the shutdown woke are answered
    producers_.shutdown();   // last snapshots, while storage_ is still open
}

GatewayNode Broker::coordinator_for(const std::string& key) const { return registry_->view()->group_coordinator(key); }

bool Broker::leads(const std::string& topic, int32_t partition) const {
    const auto view = registry_->view();
    return view->nodes.size() == 1 || view->partition_leader(topic, partition).node_id == config_.node_id;
}

void Broker::register_handlers(kafka::Dispatcher& dispatcher) {
    register_all_handlers(dispatcher, *this);
    if (!io_pool_) return;
    // Where the engine's calls may wait on another process, the handlers whose work is such calls (topic
    // listings, offsets, topic changes) run on the I/O threads, as Fetch's reads do.  So does Produce: it
    // looks topics up and opens publish streams (a broker's answer, or its timeout), though its appends
    // themselves do not wait.  One connection's requests run in the order they came, as the order of its
    // appends is the order of its records.
    auto run_on = [&dispatcher](IoPool& pool, std::initializer_list<int16_t> keys) {
        for (int16_t key : keys)
            dispatcher.wrap(key, [&pool](kafka::Dispatcher::Handle inner) -> kafka::Dispatcher::Handle {
                return [&pool, inner = std::move(inner)](const kafka::ExchangePtr& ex) {
                    pool.post_in_order(ex->connection_key(), [inner, ex] { kafka::Dispatcher::run_handler(inner, ex); });
                };
            });
    };
    run_on(*io_pool_, {kafka::ProduceRequest::api_key, kafka::MetadataRequest::api_key,
                       kafka::ListOffsetsRequest::api_key, kafka::CreateTopicsRequest::api_key,
                       kafka::DeleteTopicsRequest::api_key, kafka::DescribeConfigsRequest::api_key,
                       kafka::CreatePartitionsRequest::api_key});
    // The group coordinator's requests too, on threads of their own: its store is the filer on
    // seaweedmq://, and commits waiting on a stalled filer must not take the threads produce and fetch
    // need.  (Rare group writes still hold the coordinator's mutex while they write.)
    run_on(*group_pool_, {kafka::FindCoordinatorRequest::api_key, kafka::JoinGroupRequest::api_key,
                          kafka::SyncGroupRequest::api_key, kafka::HeartbeatRequest::api_key,
                          kafka::LeaveGroupRequest::api_key, kafka::OffsetCommitRequest::api_key,
                          kafka::OffsetFetchRequest::api_key, kafka::OffsetDeleteRequest::api_key,
                          kafka::DescribeGroupsRequest::api_key, kafka::ListGroupsRequest::api_key,
                          kafka::DeleteGroupsRequest::api_key});
}

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
