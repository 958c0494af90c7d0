// The gateway's settings: command-line flags over a Java-style properties file (--config FILE) over
// defaults.  Properties use Kafka's names where Kafka has one.
#pragma once

#include "gateway/cluster/gateway_registry.h"
#include "gateway/coordinator/group_options.h"
#include "gateway/storage/storage_engine.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace gateway {

struct HostPort {
    std::string host;
    uint16_t port = 0;
};

struct Config {
    HostPort listen{"127.0.0.1", 9092};        // --listen / listeners
    HostPort advertised{"", 0};                // --advertised-listener / advertised.listeners; empty: listen
    std::string storage_url = "file://./kafka-gateway-data";   // --storage / log.dirs
    int threads = 0;                           // --threads / num.network.threads; 0: one per core
    std::string log_level = "info";            // --log-level
    int32_t node_id = 1;                       // --node-id / node.id / broker.id
    std::string cluster_id = "kafka-gateway";  // cluster.id
    bool auto_create_topics = true;            // auto.create.topics.enable
    int32_t default_partitions = 1;            // num.partitions
    size_t max_request_size = 100u << 20;      // socket.request.max.bytes
    size_t max_in_flight_request_bytes = 64u << 20;   // connection.max.inflight.request.bytes (ours)
    int io_threads = 8;                        // num.io.threads: Fetch's reads on seaweedmq://
    StorageOptions storage;                    // log.flush.*, log.retention.*, log.segment.bytes
    size_t fetch_session_cache_slots = 1000;   // max.incremental.fetch.session.cache.slots
    GroupOptions groups;                       // group.*, offsets.retention.*, offset.metadata.max.bytes
    RegistryOptions cluster;                   // cluster.heartbeat.interval.ms, cluster.session.timeout.ms

    // The address clients are told to connect to.
    HostPort advertised_listener() const { return advertised.host.empty() ? listen : advertised; }
};

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What the command line asked for besides running.
enum class Action { run, help, version };

// Parses argv (and the --config file it names); throws ConfigError with an operator-facing message.
Action parse_command_line(int argc, const char* const* argv, Config& config);

// Applies one property (from a file or a test); throws ConfigError for a bad value.  Unknown names
// are ignored with a warning, as Kafka does.
void apply_property(Config& config, const std::string& name, const std::string& value);

std::string usage();

} // namespace gateway

namespace gateway {

// Sets one topic-level property (CreateTopics configs): retention.ms, retention.bytes, segment.bytes,
// segment.ms, message.timestamp.type, cleanup.policy, max.message.bytes; others are kept as given.
// Returns an error message for a bad value, "" on success.
std::string set_topic_config(TopicConfig& config, const std::string& name, const std::string& value);

} // namespace gateway
