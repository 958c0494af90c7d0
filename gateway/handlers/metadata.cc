// Metadata: v0-12.  v1 adds controller_id, rack and is_internal, and a null topic list means all
// topics (an empty list means none); v2 cluster_id; v4 allow_auto_topic_creation; v5
// offline_replicas; v7 leader_epoch; v8-10 authorized operations (we report none requested: -2^31);
// v9 flexible; v10 topic ids; v12 topics by id may come without names.  The brokers are the live
// gateways sharing the storage (just this one unless the engine is shared), the controller the one
// with the lowest id; each partition's leader, replica and in-sync replica is the gateway the
// cluster view places it on (gateway/cluster/gateway_registry.h).
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/metadata_request.h"
#include "generated/metadata_response.h"

namespace gateway {
namespace {

void describe_partitions(kafka::MetadataResponse::MetadataResponseTopic& out, const TopicInfo& topic,
                         const ClusterView& cluster) {
    out.topic_id = topic.id;
    for (int32_t p = 0; p < topic.partitions; ++p) {
        auto& part = out.partitions.emplace_back();
        const int32_t node = cluster.partition_leader(topic.name, p).node_id;
        part.partition_index = p;
        part.leader_id = node;
        part.leader_epoch = 0;
        part.replica_nodes = {node};
        part.isr_nodes = {node};
    }
}

} // namespace

void register_metadata(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::MetadataRequest::api_key, 0, 12, [&broker](const kafka::ExchangePtr& ex) {
        kafka::MetadataRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        const Config& config = broker.config();
        const auto cluster = broker.cluster();

        kafka::MetadataResponse resp;
        for (const GatewayNode& node : cluster->nodes) {
            auto& b = resp.brokers.emplace_back();
            b.node_id = node.node_id;
            b.host = node.host;
            b.port = node.port;
        }
        resp.cluster_id = config.cluster_id;
        resp.controller_id = cluster->controller_id();

        // v0 has no null: an empty list there means all topics.
        const bool all_topics = !req.topics.has_value() || (ex->version() == 0 && req.topics->empty());
        if (all_topics) {
            for (const TopicInfo& topic : broker.storage().list_topics()) {
                auto& t = resp.topics.emplace_back();
                t.name = topic.name;
                describe_partitions(t, topic, *cluster);
            }
        } else {
            // Before v4 there is no flag and Kafka auto-creates whenever the broker allows it.
            const bool may_create = ex->version() < 4 || req.allow_auto_topic_creation;
            for (const auto& wanted : *req.topics) {
                auto& t = resp.topics.emplace_back();
                std::optional<TopicInfo> topic;
                if (wanted.name) {
                    t.name = wanted.name;
                    auto found = broker.find_topic(*wanted.name, may_create);
                    t.error_code = code(found.error);
                    topic = std::move(found.topic);
                } else {   // by id (v10+)
                    t.topic_id = wanted.topic_id;
                    for (TopicInfo& info : broker.storage().list_topics())
                        if (info.id == wanted.topic_id) topic = std::move(info);
                    t.error_code = code(topic ? ErrorCode::none : ErrorCode::unknown_topic_id);
                    if (topic) t.name = topic->name;
                }
                if (topic) describe_partitions(t, *topic, *cluster);
            }
        }
        ex->respond(resp);
    });
}

} // namespace gateway
