// OffsetDelete: v0.  Removes committed offsets of a group: any of an Empty group's; of a consumer
// group with members only those of topics no member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC per
// partition otherwise); NON_EMPTY_GROUP for other protocol types with members; GROUP_ID_NOT_FOUND
// for an unknown group.  Unknown topics and partitions: UNKNOWN_TOPIC_OR_PARTITION.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/offset_delete_request.h"
#include "generated/offset_delete_response.h"

namespace gateway {

void register_offset_delete(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::OffsetDeleteRequest::api_key, 0, 0, [&broker](const kafka::ExchangePtr& ex) {
        kafka::OffsetDeleteRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        kafka::OffsetDeleteResponse resp;
        std::vector<TopicPartition> known;
        for (const auto& t : req.topics) {
            auto& tr = resp.topics.emplace_back();
            tr.name = t.name;
            auto found = broker.find_topic(t.name, false);
            for (const auto& p : t.partitions) {
                auto& pr = tr.partitions.emplace_back();
                pr.partition_index = p.partition_index;
                if (found.error != ErrorCode::none || p.partition_index < 0 ||
                    p.partition_index >= found.topic->partitions)
                    pr.error_code = code(ErrorCode::unknown_topic_or_partition);
                else known.push_back({t.name, p.partition_index});
            }
        }
        OffsetDeleteResult result = broker.coordinator().delete_offsets(req.group_id, known);
        resp.error_code = code(result.error);
        size_t i = 0;
        for (auto& tr : resp.topics)
            for (auto& pr : tr.partitions)
                if (pr.error_code == 0 && i < known.size()) {
                    if (result.error == ErrorCode::none) pr.error_code = code(result.partitions[i]);
                    ++i;
                }
        if (result.error != ErrorCode::none) {   // a group error: only the unknown-topic answers stay
            for (auto& tr : resp.topics) std::erase_if(tr.partitions, [](const auto& p) { return p.error_code == 0; });
            std::erase_if(resp.topics, [](const auto& t) { return t.partitions.empty(); });
        }
        ex->respond(resp);
    });
}

} // namespace gateway
