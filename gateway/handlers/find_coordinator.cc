// FindCoordinator: v0-6.  v1 key_type (0 group, 1 transaction), throttle and error_message; v3
// flexible; v4 batched coordinator_keys answered in `coordinators`; v5-6 only allow new error codes.
// The group's coordinator is the gateway the cluster view places it on (Broker::coordinator_for;
// this one unless other gateways share the storage).  Transactions are not offered: transaction keys
// get COORDINATOR_NOT_AVAILABLE; other key types INVALID_REQUEST; while this gateway is loading a
// group it coordinates, COORDINATOR_NOT_AVAILABLE (clients retry).
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/find_coordinator_request.h"
#include "generated/find_coordinator_response.h"

namespace gateway {
namespace {

constexpr int8_t group_key = 0, transaction_key = 1;

kafka::FindCoordinatorResponse::Coordinator locate(Broker& broker, const std::string& key, int8_t key_type) {
    kafka::FindCoordinatorResponse::Coordinator c;
    c.key = key;
    ErrorCode error = ErrorCode::none;
    if (key_type == transaction_key) error = ErrorCode::coordinator_not_available;
    else if (key_type != group_key) error = ErrorCode::invalid_request;
    const GatewayNode node = broker.coordinator_for(key);
    if (error == ErrorCode::none && node.node_id == broker.node_id() && broker.coordinator().loading(key))
        error = ErrorCode::coordinator_not_available;
    if (error != ErrorCode::none) {
        c.error_code = code(error);
        c.node_id = -1;
        c.host = "";
        c.port = -1;
        c.error_message = key_type == transaction_key ? "transactions are not supported"
                          : error == ErrorCode::invalid_request ? "unknown key type"
                                                                : "the group coordinator is loading";
        return c;
    }
    c.node_id = node.node_id;
    c.host = node.host;
    c.port = node.port;
    c.error_message = std::nullopt;
    return c;
}

} // namespace

void register_find_coordinator(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::FindCoordinatorRequest::api_key, 0, 6, [&broker](const kafka::ExchangePtr& ex) {
        kafka::FindCoordinatorRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        kafka::FindCoordinatorResponse resp;
        if (ex->version() >= 4) {
            for (const auto& key : req.coordinator_keys) resp.coordinators.push_back(locate(broker, key, req.key_type));
        } else {
            auto c = locate(broker, req.key, ex->version() >= 1 ? req.key_type : group_key);
            resp.error_code = c.error_code;
            if (ex->version() >= 1) resp.error_message = c.error_message;
            resp.node_id = c.node_id;
            resp.host = c.host;
            resp.port = c.port;
        }
        ex->respond(resp);
    });
}

} // namespace gateway
