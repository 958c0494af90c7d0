// The gateway's state shared by all handlers: configuration, the storage engine, long-poll fetch
// waiters, idempotent-producer state and the group coordinator.  Handlers get it by reference; it
// outlives the server.  Constructing it recovers the idempotent-producer state from the engine
// (producer_state.h) before anything is served.
#pragma once

#include "gateway/cluster/gateway_registry.h"
#include "gateway/config.h"
#include "gateway/coordinator/group_coordinator.h"
#include "gateway/error_codes.h"
#include "gateway/fetch_waiters.h"
#include "gateway/io_pool.h"
#include "gateway/producer_state.h"
#include "gateway/storage/storage_engine.h"
#include "runtime/dispatcher.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace gateway {

class Broker {
public:
    // How often changed idempotent-producer state is snapshotted (Kafka snapshots at segment rolls,
    // which not every engine has).  A constant, not a setting: a crash costs the replay of at most
    // this much of the log, batch headers only.
    static constexpr std::chrono::milliseconds producer_snapshot_interval{30000};

    Broker(Config config, std::unique_ptr<StorageEngine> storage,
           std::chrono::milliseconds producer_snapshot_interval = Broker::producer_snapshot_interval);
    // Writes the last producer snapshots (if producers().shutdown() was not called) before the
    // storage goes.
    ~Broker();

    const Config& config() const { return config_; }
    StorageEngine& storage() { return *storage_; }
    FetchWaiters& fetch_waiters() { return fetch_waiters_; }
    // Runs a read that may block (StorageEngine::reads_may_block) on the I/O threads, or inline when
    // the engine's reads do not block.
    void run_read(std::function<void()> task) {
        if (io_pool_) io_pool_->post(std::move(task));
        else task();
    }
    // Runs each(0) .. each(n - 1), alongside each other on the I/O threads where reads may block
    // (the calling thread takes part: IoPool::run_all), one after the other otherwise.
    void read_each(size_t n, const std::function<void(size_t)>& each) {
        if (io_pool_) io_pool_->run_all(n, each);
        else
            for (size_t i = 0; i < n; ++i) each(i);
    }
    ProducerStates& producers() { return producers_; }
    GroupCoordinator& coordinator() { return *coordinator_; }

    // The live gateways sharing this one's storage (just this one unless the engine is shared), and
    // who leads what among them (gateway_registry.h).
    GatewayRegistry& registry() { return *registry_; }
    std::shared_ptr<const ClusterView> cluster() const { return registry_->view(); }
    int32_t node_id() const { return config_.node_id; }
    // Which gateway coordinates a group (key_type 0) key.
    GatewayNode coordinator_for(const std::string& key) const;
    // Whether this gateway leads the partition: Produce goes to the leader, others answer
    // NOT_LEADER_OR_FOLLOWER so that the client refreshes its metadata.
    bool leads(const std::string& topic, int32_t partition) const;

    // After a view change, a group's new coordinator waits this long before reading the group from
    // the store: time for the previous one to see the change (one heartbeat) and stop writing it.
    int64_t handover_delay_ms() const { return 2 * config_.cluster.heartbeat_interval_ms; }

    // Registers every handler (handlers/handlers.h) with its declared versions.
    void register_handlers(kafka::Dispatcher& dispatcher);

    // The topic a request names: invalid names, unknown topics (created first when `may_create` and
    // auto.create.topics.enable allow it) come back as an error code.
    struct TopicLookup {
        ErrorCode error = ErrorCode::none;
        std::optional<TopicInfo> topic;
    };
    TopicLookup find_topic(const std::string& name, bool may_create);

private:
    Config config_;
    std::unique_ptr<StorageEngine> storage_;
    FetchWaiters fetch_waiters_;
    ProducerStates producers_;
    std::unique_ptr<GroupCoordinator> coordinator_;   // stopped before storage_ goes
    std::unique_ptr<GatewayRegistry> registry_;       // stopped before coordinator_ goes
    std::unique_ptr<IoPool> io_pool_;                 // drained after fetch_waiters_ stop, before storage_ goes
    std::unique_ptr<IoPool> group_pool_;              // the coordinator's requests; drained after it stops

    // Hands groups and partitions this gateway no longer leads to the others (registry listener).
    void apply_view(const std::shared_ptr<const ClusterView>& view, int64_t load_at_ms);
};

// Kafka's rules: 1-249 characters of [a-zA-Z0-9._-], and not "." or "..".
bool valid_topic_name(const std::string& name);

} // namespace gateway
