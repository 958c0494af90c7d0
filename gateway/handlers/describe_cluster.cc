// DescribeCluster: v0-1.  v1 adds endpoint_type (1: brokers).  The live gateways sharing the
// storage (Metadata lists the same), the one with the lowest id as the controller.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/describe_cluster_request.h"
#include "generated/describe_cluster_response.h"

namespace gateway {

void register_describe_cluster(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::DescribeClusterRequest::api_key, 0, 1, [&broker](const kafka::ExchangePtr& ex) {
        kafka::DescribeClusterRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        const Config& config = broker.config();
        kafka::DescribeClusterResponse resp;
        resp.cluster_id = config.cluster_id;
        const auto cluster = broker.cluster();
        resp.controller_id = cluster->controller_id();
        for (const GatewayNode& node : cluster->nodes) {
            auto& b = resp.brokers.emplace_back();
            b.broker_id = node.node_id;
            b.host = node.host;
            b.port = node.port;
        }
        ex->respond(resp);
    });
}

} // namespace gateway
