// DescribeCluster: v0-1.  v1 adds endpoint_type (1: brokers).  One broker, which is also the
// controller.
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
        resp.controller_id = config.node_id;
        auto& me = resp.brokers.emplace_back();
        me.broker_id = config.node_id;
        me.host = config.advertised_listener().host;
        me.port = config.advertised_listener().port;
        ex->respond(resp);
    });
}

} // namespace gateway
