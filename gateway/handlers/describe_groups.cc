// DescribeGroups: v0-5.  v1 throttle; v3 include_authorized_operations (we report none: no ACLs);
// v4 group_instance_id of members; v5 flexible.  An unknown group is described as Dead with no
// error, as Kafka does before v6.  Member metadata and assignments are given for Stable groups only.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/describe_groups_request.h"
#include "generated/describe_groups_response.h"

namespace gateway {

void register_describe_groups(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::DescribeGroupsRequest::api_key, 0, 5, [&broker](const kafka::ExchangePtr& ex) {
        kafka::DescribeGroupsRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        kafka::DescribeGroupsResponse resp;
        for (const auto& id : req.groups) {
            GroupDescription g = broker.coordinator().describe(id);
            auto& out = resp.groups.emplace_back();
            out.error_code = code(g.error);
            out.group_id = g.group_id;
            out.group_state = g.state;
            out.protocol_type = g.protocol_type;
            out.protocol_data = g.protocol;
            for (const auto& m : g.members) {
                auto& om = out.members.emplace_back();
                om.member_id = m.member_id;
                if (ex->version() >= 4) om.group_instance_id = m.group_instance_id;
                om.client_id = m.client_id;
                om.client_host = m.client_host;
                om.member_metadata = kafka::Bytes::copy_of(m.metadata);
                om.member_assignment = kafka::Bytes::copy_of(m.assignment);
            }
        }
        ex->respond(resp);
    });
}

} // namespace gateway
