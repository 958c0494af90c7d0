#include "gateway/storage/seaweedmq/cluster.h"

#include "gateway/storage/seaweedmq/seaweedmq_url.h"
#include "master.grpc.pb.h"

#include <stdexcept>

namespace gateway::seaweedmq {

std::shared_ptr<grpc::Channel> Cluster::channel(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto it = channels_.find(address);
    if (it != channels_.end()) return it->second;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);   // fetches may be as large as the consumer allows
    args.SetMaxSendMessageSize(-1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    auto ch = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    channels_.emplace(address, ch);
    return ch;
}

grpc::Status Cluster::list_nodes(const std::string& client_type, std::vector<std::string>& out,
                                 std::chrono::milliseconds timeout) {
    auto stub = master_pb::Seaweed::NewStub(channel(master_grpc_));
    grpc::ClientContext ctx;
    set_deadline(ctx, timeout);
    master_pb::ListClusterNodesRequest req;
    req.set_client_type(client_type);
    master_pb::ListClusterNodesResponse resp;
    grpc::Status s = stub->ListClusterNodes(&ctx, req, &resp);
    out.clear();
    if (s.ok())
        for (const auto& n : resp.cluster_nodes()) out.push_back(n.address());
    return s;
}

std::string Cluster::filer() {
    {
        std::lock_guard lock(mutex_);
        if (!filer_.empty()) return filer_;
    }
    std::vector<std::string> filers;
    if (!list_nodes("filer", filers).ok() || filers.empty()) return {};
    std::string address;
    try {
        address = grpc_address(filers.front());
    } catch (const std::runtime_error&) {
        return {};
    }
    const std::string& listed = filers.front();
    const size_t colon = listed.rfind(':');
    const size_t dot = listed.find('.', colon);
    std::lock_guard lock(mutex_);
    filer_ = address;
    filer_http_ = dot == std::string::npos ? listed : listed.substr(0, dot);   // host:port[.grpcport]
    return filer_;
}

std::string Cluster::filer_http() {
    if (filer().empty()) return {};
    std::lock_guard lock(mutex_);
    return filer_http_;
}

std::string Cluster::any_broker() {
    {
        std::lock_guard lock(mutex_);
        if (!broker_.empty()) return broker_;
    }
    std::vector<std::string> brokers;
    if (!list_nodes("broker", brokers).ok() || brokers.empty()) return {};
    std::lock_guard lock(mutex_);
    broker_ = brokers.front();   // brokers register their gRPC address
    return broker_;
}

void Cluster::forget_broker() {
    std::lock_guard lock(mutex_);
    broker_.clear();
}

} // namespace gateway::seaweedmq
