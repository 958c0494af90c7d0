// LeaveGroup: v0-5.  v1 throttle; v3 a batch of members (by member id, or by group_instance_id
// alone: an admin removing a static member) with an error each; v4 flexible; v5 reason.  Before v3
// the one member's error is the response's error.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/leave_group_request.h"
#include "generated/leave_group_response.h"

namespace gateway {

void register_leave_group(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::LeaveGroupRequest::api_key, 0, 5, [&broker](const kafka::ExchangePtr& ex) {
        kafka::LeaveGroupRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        std::vector<LeavingMember> leaving;
        if (ex->version() >= 3)
            for (const auto& m : req.members) leaving.push_back({m.member_id, m.group_instance_id});
        else
            leaving.push_back({req.member_id, std::nullopt});
        LeaveResult result = broker.coordinator().leave(req.group_id, leaving);
        kafka::LeaveGroupResponse resp;
        resp.error_code = code(result.error);
        if (ex->version() >= 3) {
            for (size_t i = 0; i < result.members.size(); ++i) {
                auto& m = resp.members.emplace_back();
                m.member_id = leaving[i].member_id;
                m.group_instance_id = leaving[i].group_instance_id;
                m.error_code = code(result.members[i]);
            }
        } else if (result.error == ErrorCode::none && !result.members.empty()) {
            resp.error_code = code(result.members[0]);
        }
        ex->respond(resp);
    });
}

} // namespace gateway
