// DescribeConfigs: v0-4.  v1 replaces is_default with config_source and adds synonyms (we report
// none); v3 adds config_type and documentation (null); v4 flexible.  Topics report the settings
// the storage engine keeps; the broker reports its static configuration.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/describe_configs_request.h"
#include "generated/describe_configs_response.h"

#include <algorithm>
#include <string>

namespace gateway {
namespace {

constexpr int8_t topic_resource = 2, broker_resource = 4;
// Kafka's ConfigSource and ConfigType values.
constexpr int8_t dynamic_topic_config = 1, static_broker_config = 4, default_config = 5;
enum ConfigType : int8_t { boolean = 1, string = 2, int32 = 3, int64 = 5, list = 7 };

struct Entry {
    std::string name, value;
    ConfigType type;
    bool is_default;
};

std::vector<Entry> topic_entries(const TopicConfig& c, const TopicConfig& defaults) {
    std::vector<Entry> out = {
        {"cleanup.policy", c.cleanup_policy, list, c.cleanup_policy == defaults.cleanup_policy},
        {"max.message.bytes", std::to_string(c.max_message_bytes), int32, c.max_message_bytes == defaults.max_message_bytes},
        {"message.timestamp.type", c.log_append_time ? "LogAppendTime" : "CreateTime", string,
         c.log_append_time == defaults.log_append_time},
        {"retention.bytes", std::to_string(c.retention_bytes), int64, c.retention_bytes == defaults.retention_bytes},
        {"retention.ms", std::to_string(c.retention_ms), int64, c.retention_ms == defaults.retention_ms},
        {"segment.bytes", std::to_string(c.segment_bytes), int32, c.segment_bytes == defaults.segment_bytes},
        {"segment.ms", std::to_string(c.segment_ms), int64, c.segment_ms == defaults.segment_ms},
    };
    for (const auto& [k, v] : c.other) out.push_back({k, v, string, false});
    return out;
}

std::vector<Entry> broker_entries(const Config& c) {
    const HostPort adv = c.advertised_listener();
    return {
        {"advertised.listeners", "PLAINTEXT://" + adv.host + ":" + std::to_string(adv.port), string, false},
        {"auto.create.topics.enable", c.auto_create_topics ? "true" : "false", boolean, false},
        {"broker.id", std::to_string(c.node_id), int32, false},
        {"listeners", "PLAINTEXT://" + c.listen.host + ":" + std::to_string(c.listen.port), string, false},
        {"log.dirs", c.storage_url, string, false},
        {"log.retention.bytes", std::to_string(c.storage.default_topic_config.retention_bytes), int64, false},
        {"log.retention.ms", std::to_string(c.storage.default_topic_config.retention_ms), int64, false},
        {"log.segment.bytes", std::to_string(c.storage.default_topic_config.segment_bytes), int32, false},
        {"node.id", std::to_string(c.node_id), int32, false},
        {"num.partitions", std::to_string(c.default_partitions), int32, false},
        {"socket.request.max.bytes", std::to_string(c.max_request_size), int32, false},
    };
}

} // namespace

void register_describe_configs(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::DescribeConfigsRequest::api_key, 0, 4, [&broker](const kafka::ExchangePtr& ex) {
        kafka::DescribeConfigsRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        const int16_t v = ex->version();
        kafka::DescribeConfigsResponse resp;
        for (const auto& res : req.resources) {
            auto& out = resp.results.emplace_back();
            out.resource_type = res.resource_type;
            out.resource_name = res.resource_name;
            std::vector<Entry> entries;
            int8_t source = static_broker_config;
            if (res.resource_type == topic_resource) {
                auto found = broker.find_topic(res.resource_name, false);
                if (found.error != ErrorCode::none) {
                    out.error_code = code(found.error);
                    continue;
                }
                entries = topic_entries(found.topic->config, broker.config().storage.default_topic_config);
                source = dynamic_topic_config;
            } else if (res.resource_type == broker_resource) {
                if (!res.resource_name.empty() && res.resource_name != std::to_string(broker.config().node_id)) {
                    out.error_code = code(ErrorCode::invalid_request);
                    out.error_message = "unknown broker " + res.resource_name;
                    continue;
                }
                entries = broker_entries(broker.config());
            } else {
                out.error_code = code(ErrorCode::invalid_request);
                out.error_message = "unsupported resource type " + std::to_string(res.resource_type);
                continue;
            }
            for (const Entry& e : entries) {
                if (res.configuration_keys &&
                    std::find(res.configuration_keys->begin(), res.configuration_keys->end(), e.name) ==
                        res.configuration_keys->end())
                    continue;
                auto& c = out.configs.emplace_back();
                c.name = e.name;
                c.value = e.value;
                c.read_only = res.resource_type == broker_resource;
                if (v == 0) c.is_default = e.is_default;
                else c.config_source = e.is_default ? default_config : source;
                if (v >= 3) c.config_type = e.type;
            }
        }
        ex->respond(resp);
    });
}

} // namespace gateway
