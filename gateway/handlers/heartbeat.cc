// Heartbeat: v0-4.  v1 throttle; v3 group_instance_id (FENCED_INSTANCE_ID for a replaced static
// member); v4 flexible.  Kafka's classic semantics: NONE in Stable and CompletingRebalance,
// REBALANCE_IN_PROGRESS while preparing a rebalance (the member should rejoin); each resets the
// member's session timer.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/heartbeat_request.h"
#include "generated/heartbeat_response.h"

namespace gateway {

void register_heartbeat(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::HeartbeatRequest::api_key, 0, 4, [&broker](const kafka::ExchangePtr& ex) {
        kafka::HeartbeatRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        kafka::HeartbeatResponse resp;
        resp.error_code = code(
            broker.coordinator().heartbeat({req.group_id, req.generation_id, req.member_id, req.group_instance_id}));
        ex->respond(resp);
    });
}

} // namespace gateway
