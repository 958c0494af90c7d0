// Several gateways over one shared storage (seaweedmq://) find each other here, and agree on who leads
// which partition and who coordinates which group.
//
// Registry.  Each gateway keeps one record in the engine's MetadataStore, "gateways/<node id>": its
// node id, advertised host and port, an instance id (random per process) and the wall-clock time of
// its last heartbeat, as readable text.  Every heartbeat interval it rewrites its record and reads
// all the others; a record whose heartbeat is older than the session timeout is a dead gateway and
// is left out (and removed once it is far older).  A clean stop removes the record at once.  The
// live set (this gateway always included) is the ClusterView; a change of it is reported to the
// listener, on the registry's thread.
//
// Node ids are unique: start() refuses (std::runtime_error, the operator's message) when a live
// record holds this node id for another address.  The same id and address is this gateway's own
// previous process (killed and restarted within the session timeout) and is taken over.
//
// Placement is a pure function of the view, so every gateway that sees the same view decides the
// same: nodes sorted by id; partition p of topic t is led by node (hash(t) + p) mod n, which spreads
// each topic's partitions round the nodes; group g is coordinated by node hash(g) mod n.  The hash is
// 32-bit FNV-1a, fixed here forever (changing it would move every group at an upgrade).
//
// Without a shared engine the registry is just this gateway, nothing is stored, no thread runs.
#pragma once

#include "gateway/storage/metadata_store.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gateway {

struct GatewayNode {
    int32_t node_id = -1;
    std::string host;
    int32_t port = -1;
    friend bool operator==(const GatewayNode&, const GatewayNode&) = default;
};

struct ClusterView {
    uint64_t version = 0;             // grows with every change this process saw
    std::vector<GatewayNode> nodes;   // live gateways, by node id; never empty

    const GatewayNode* find(int32_t node_id) const;
    int32_t controller_id() const { return nodes.front().node_id; }
    const GatewayNode& partition_leader(std::string_view topic, int32_t partition) const;
    const GatewayNode& group_coordinator(std::string_view group_id) const;
};

uint32_t placement_hash(std::string_view s);

struct RegistryOptions {
    int64_t heartbeat_interval_ms = 1000;   // cluster.heartbeat.interval.ms
    int64_t session_timeout_ms = 6000;      // cluster.session.timeout.ms
};

class GatewayRegistry {
public:
    using NowMs = std::function<int64_t()>;   // wall-clock milliseconds
    using Listener = std::function<void(const std::shared_ptr<const ClusterView>&)>;

    // store nullptr: this gateway alone.
    GatewayRegistry(MetadataStore* store, GatewayNode self, RegistryOptions options, NowMs now = {});
    ~GatewayRegistry();
    GatewayRegistry(const GatewayRegistry&) = delete;
    GatewayRegistry& operator=(const GatewayRegistry&) = delete;

    // Registers and reads the others (so view() is complete when it returns), then heartbeats on a
    // thread.  Throws std::runtime_error when the node id is taken or the store cannot be written.
    void start();
    // Called with each new view (on the heartbeat thread); set before start().
    void set_listener(Listener listener);
    // Stops heartbeating and removes this gateway's record.  Idempotent.
    void stop();

    // One heartbeat round: write our record, read the others, report a change.  The thread calls it;
    // tests call it with a fake clock.  Returns false when the store failed.
    bool heartbeat();

    std::shared_ptr<const ClusterView> view() const;
    const GatewayNode& self() const { return self_; }
    bool alone() const { return store_ == nullptr; }
    const RegistryOptions& options() const { return options_; }

    static constexpr std::string_view key_prefix = "gateways/";
    static std::string key_of(int32_t node_id);

private:
    struct Record {
        GatewayNode node;
        std::string instance;
        int64_t heartbeat_ms = 0;
    };
    static std::string encode(const Record& r);
    static bool decode(std::string_view text, Record& out);
    std::vector<Record> read_records() const;
    void publish(std::vector<GatewayNode> nodes);

    MetadataStore* const store_;
    const GatewayNode self_;
    const RegistryOptions options_;
    const NowMs now_;
    const std::string instance_;

    mutable std::mutex mutex_;
    std::shared_ptr<const ClusterView> view_;
    Listener listener_;
    int64_t last_written_ms_ = 0;   // our last successful heartbeat
    bool stopping_ = false;
    bool registered_ = false;
    std::condition_variable wake_;
    std::thread thread_;
};

} // namespace gateway
