// JoinGroup: v0-9.  v1 rebalance_timeout_ms (v0: the session timeout); v2 throttle; v4 a new dynamic
// member first gets MEMBER_ID_REQUIRED with its id (KIP-394); v5 group_instance_id (static members,
// KIP-345); v6 flexible; v7 protocol_type in the response, protocol_name nullable; v8 reason; v9
// skip_assignment (KIP-814).  The answer comes when the join barrier completes, from the thread that
// completes it (another member's request or the coordinator's timer).
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/join_group_request.h"
#include "generated/join_group_response.h"

namespace gateway {
namespace {

// Kafka reports a client's host as InetAddress.toString(): "/" and the address.
std::string client_host(const std::string& peer) {
    std::string host = peer.substr(0, peer.rfind(':'));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return "/" + host;
}

kafka::JoinGroupResponse to_response(const JoinResult& j, int16_t version) {
    kafka::JoinGroupResponse resp;
    resp.error_code = code(j.error);
    resp.generation_id = j.generation_id;
    if (version >= 7) {
        resp.protocol_type = j.protocol_type;
        resp.protocol_name = j.protocol_name;
    } else {
        resp.protocol_name = j.protocol_name.value_or("");
    }
    resp.leader = j.leader;
    if (version >= 9) resp.skip_assignment = j.skip_assignment;
    resp.member_id = j.member_id;
    for (const auto& m : j.members) {
        auto& out = resp.members.emplace_back();
        out.member_id = m.member_id;
        if (version >= 5) out.group_instance_id = m.group_instance_id;
        out.metadata = kafka::Bytes::copy_of(m.metadata);
    }
    return resp;
}

} // namespace

void register_join_group(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::JoinGroupRequest::api_key, 0, 9, [&broker](const kafka::ExchangePtr& ex) {
        kafka::JoinGroupRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        const int16_t version = ex->version();
        JoinRequest join;
        join.group_id = req.group_id;
        join.member_id = req.member_id;
        join.group_instance_id = req.group_instance_id;
        join.client_id = ex->header().client_id.value_or("");
        join.client_host = client_host(ex->peer());
        join.session_timeout_ms = req.session_timeout_ms;
        join.rebalance_timeout_ms = version >= 1 ? req.rebalance_timeout_ms : req.session_timeout_ms;
        join.protocol_type = req.protocol_type;
        for (const auto& p : req.protocols) join.protocols.push_back({p.name, std::string(p.metadata.view())});
        join.require_known_member_id = version >= 4 && !req.group_instance_id;
        join.supports_skip_assignment = version >= 9;
        broker.coordinator().join(std::move(join), [ex, version](const JoinResult& result) {
            respond_if_open(ex, to_response(result, version));
        });
    });
}

} // namespace gateway
