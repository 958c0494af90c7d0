// OffsetFetch: v0-9.  v1 same as v0 here (offsets live with the coordinator); v2 null topics = every
// partition the group committed, and a top-level error; v3 throttle; v5 committed_leader_epoch; v6
// flexible; v7 require_stable (no transactions: always stable); v8 several groups per request, each
// answered with its own error; v9 member id and epoch (consumer-protocol groups; ignored for classic
// groups).  A partition with nothing committed: offset -1, metadata "", leader epoch -1, NONE.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/offset_fetch_request.h"
#include "generated/offset_fetch_response.h"

#include <map>

namespace gateway {
namespace {

template<typename TopicRequest>
std::optional<std::vector<TopicPartition>> wanted(const std::optional<std::vector<TopicRequest>>& topics) {
    if (!topics) return std::nullopt;
    std::vector<TopicPartition> out;
    for (const auto& t : *topics)
        for (int32_t p : t.partition_indexes) out.push_back({t.name, p});
    return out;
}

// Groups the coordinator's answer by topic, in the order first seen.
template<typename TopicResponse>
std::vector<TopicResponse> by_topic(const OffsetFetchResult& result, ErrorCode partition_error) {
    std::vector<TopicResponse> topics;
    std::map<std::string, size_t> index;
    for (const auto& o : result.offsets) {
        auto [it, added] = index.emplace(o.tp.topic, topics.size());
        if (added) topics.emplace_back().name = o.tp.topic;
        auto& p = topics[it->second].partitions.emplace_back();
        p.partition_index = o.tp.partition;
        p.committed_offset = o.offset;
        p.committed_leader_epoch = o.leader_epoch;
        p.metadata = o.metadata;
        p.error_code = code(partition_error != ErrorCode::none ? partition_error : o.error);
    }
    return topics;
}

} // namespace

void register_offset_fetch(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::OffsetFetchRequest::api_key, 0, 9, [&broker](const kafka::ExchangePtr& ex) {
        kafka::OffsetFetchRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        const int16_t version = ex->version();
        kafka::OffsetFetchResponse resp;
        if (version >= 8) {
            for (const auto& g : req.groups) {
                OffsetFetchResult result = broker.coordinator().fetch_offsets(g.group_id, wanted(g.topics));
                auto& out = resp.groups.emplace_back();
                out.group_id = g.group_id;
                out.error_code = code(result.error);
                if (result.error == ErrorCode::none)
                    out.topics = by_topic<kafka::OffsetFetchResponse::OffsetFetchResponseTopics>(result, ErrorCode::none);
            }
        } else {
            auto partitions = wanted(req.topics);
            OffsetFetchResult result = broker.coordinator().fetch_offsets(req.group_id, partitions);
            if (version >= 2) {
                resp.error_code = code(result.error);
                if (result.error == ErrorCode::none)
                    resp.topics = by_topic<kafka::OffsetFetchResponse::OffsetFetchResponseTopic>(result, ErrorCode::none);
            } else {
                // v0-1 have no top-level error: every asked partition carries it.
                if (result.error != ErrorCode::none && partitions) {
                    result.offsets.clear();
                    for (const auto& tp : *partitions) result.offsets.push_back({tp, -1, -1, "", result.error});
                }
                resp.topics = by_topic<kafka::OffsetFetchResponse::OffsetFetchResponseTopic>(result, result.error);
            }
        }
        ex->respond(resp);
    });
}

} // namespace gateway
