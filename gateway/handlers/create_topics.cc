// CreateTopics: v0-7.  v1 adds validate_only and error_message; v2-3 change nothing for us; v4
// num_partitions/replication_factor may be -1 (broker defaults); v5 flexible and the result carries
// the partition count, replication factor and configs; v7 topic ids.  One broker: replication
// factor 1 only.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/create_topics_request.h"
#include "generated/create_topics_response.h"
#include "runtime/log.h"

namespace gateway {
namespace {

using Result = kafka::CreateTopicsResponse::CreatableTopicResult;

void create_topic(Broker& broker, const kafka::CreateTopicsRequest::CreatableTopic& t, bool validate_only,
                  Result& out) {
    auto fail = [&](ErrorCode e, std::string message) {
        out.error_code = code(e);
        out.error_message = std::move(message);
    };
    if (!valid_topic_name(t.name)) return fail(ErrorCode::invalid_topic_exception, "invalid topic name");
    int32_t partitions = t.num_partitions;
    if (!t.assignments.empty()) {
        if (partitions != -1) return fail(ErrorCode::invalid_request, "give either assignments or num_partitions");
        partitions = static_cast<int32_t>(t.assignments.size());
        for (const auto& a : t.assignments)
            if (a.broker_ids != std::vector<int32_t>{broker.config().node_id})
                return fail(ErrorCode::invalid_replica_assignment, "the only broker is " +
                                                                        std::to_string(broker.config().node_id));
    }
    if (partitions == -1) partitions = broker.config().default_partitions;
    if (partitions <= 0) return fail(ErrorCode::invalid_partitions, "partitions must be positive");
    if (t.replication_factor != -1 && t.replication_factor != 1 && t.assignments.empty())
        return fail(ErrorCode::invalid_replication_factor, "this gateway is one broker: replication factor 1");
    TopicConfig config = broker.config().storage.default_topic_config;
    for (const auto& c : t.configs) {
        if (!c.value) continue;
        if (std::string e = set_topic_config(config, c.name, *c.value); !e.empty())
            return fail(ErrorCode::invalid_config, e);
    }
    out.num_partitions = partitions;
    out.replication_factor = 1;
    if (validate_only) {
        if (broker.storage().describe_topic(t.name)) fail(ErrorCode::topic_already_exists, "topic exists");
        return;
    }
    StorageErrc e = broker.storage().create_topic(t.name, partitions, config);
    if (e != StorageErrc::none) return fail(to_error_code(e), e == StorageErrc::topic_already_exists ? "topic exists" : "");
    kafka::log_info("create_topics", "created " + t.name + " with " + std::to_string(partitions) + " partition(s)");
    if (auto info = broker.storage().describe_topic(t.name)) out.topic_id = info->id;
}

} // namespace

void register_create_topics(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::CreateTopicsRequest::api_key, 0, 7, [&broker](const kafka::ExchangePtr& ex) {
        kafka::CreateTopicsRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        kafka::CreateTopicsResponse resp;
        for (const auto& t : req.topics) {
            auto& out = resp.topics.emplace_back();
            out.name = t.name;
            out.num_partitions = -1;
            out.replication_factor = -1;
            create_topic(broker, t, req.validate_only, out);
            if (out.error_code == 0) out.configs.emplace();   // v5+: an empty list rather than null
        }
        ex->respond(resp);
    });
}

} // namespace gateway
