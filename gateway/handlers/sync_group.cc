// SyncGroup: v0-5.  v1 throttle; v3 group_instance_id; v4 flexible; v5 protocol_type and
// protocol_name in request (checked: INCONSISTENT_GROUP_PROTOCOL) and response.  Followers wait for
// the leader's assignment; the leader's SyncGroup (or a timeout, or a new rebalance) answers them.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/sync_group_request.h"
#include "generated/sync_group_response.h"

namespace gateway {

void register_sync_group(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::SyncGroupRequest::api_key, 0, 5, [&broker](const kafka::ExchangePtr& ex) {
        kafka::SyncGroupRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        const int16_t version = ex->version();
        SyncRequest sync;
        sync.group_id = req.group_id;
        sync.generation_id = req.generation_id;
        sync.member_id = req.member_id;
        sync.group_instance_id = req.group_instance_id;
        if (version >= 5) {
            sync.protocol_type = req.protocol_type;
            sync.protocol_name = req.protocol_name;
        }
        for (const auto& a : req.assignments) sync.assignments.emplace_back(a.member_id, std::string(a.assignment.view()));
        broker.coordinator().sync(std::move(sync), [ex, version](const SyncResult& result) {
            kafka::SyncGroupResponse resp;
            resp.error_code = code(result.error);
            if (version >= 5) {
                resp.protocol_type = result.protocol_type;
                resp.protocol_name = result.protocol_name;
            }
            resp.assignment = kafka::Bytes::copy_of(result.assignment);
            respond_if_open(ex, resp);
        });
    });
}

} // namespace gateway
