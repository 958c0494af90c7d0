// CreatePartitions: v0-3.  Grows topics to `count` partitions; assignments may only name this
// broker.  v2 flexible; v3 changes nothing for us.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/create_partitions_request.h"
#include "generated/create_partitions_response.h"
#include "runtime/log.h"

namespace gateway {

void register_create_partitions(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::CreatePartitionsRequest::api_key, 0, 3, [&broker](const kafka::ExchangePtr& ex) {
        kafka::CreatePartitionsRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        kafka::CreatePartitionsResponse resp;
        for (const auto& t : req.topics) {
            auto& out = resp.results.emplace_back();
            out.name = t.name;
            auto found = broker.find_topic(t.name, false);
            if (found.error != ErrorCode::none) {
                out.error_code = code(found.error);
                continue;
            }
            if (t.count <= found.topic->partitions) {
                out.error_code = code(ErrorCode::invalid_partitions);
                out.error_message = "topic " + t.name + " already has " + std::to_string(found.topic->partitions) +
                                    " partitions";
                continue;
            }
            if (t.assignments) {
                bool only_us = true;
                for (const auto& a : *t.assignments)
                    only_us &= a.broker_ids == std::vector<int32_t>{broker.config().node_id};
                if (!only_us || t.assignments->size() != static_cast<size_t>(t.count - found.topic->partitions)) {
                    out.error_code = code(ErrorCode::invalid_replica_assignment);
                    out.error_message = "assignments may only name broker " + std::to_string(broker.config().node_id);
                    continue;
                }
            }
            if (req.validate_only) continue;
            out.error_code = code(to_error_code(broker.storage().create_partitions(t.name, t.count)));
            if (out.error_code == 0)
                kafka::log_info("create_partitions", t.name + " now has " + std::to_string(t.count) + " partitions");
        }
        ex->respond(resp);
    });
}

} // namespace gateway
