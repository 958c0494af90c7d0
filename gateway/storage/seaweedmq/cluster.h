// The SeaweedFS cluster as the seaweedmq:// engine sees it: gRPC channels by address (kept, gRPC
// reconnects them), the master's node lists, deadlines.  Internal to gateway/storage/seaweedmq/.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gateway::seaweedmq {

class Cluster {
public:
    explicit Cluster(std::string master_grpc) : master_grpc_(std::move(master_grpc)) {}

    const std::string& master_grpc() const { return master_grpc_; }

    // A channel to host:port (gRPC port), made once and kept.
    std::shared_ptr<grpc::Channel> channel(const std::string& address);

    // The addresses the master lists for client_type ("broker", "filer"), as the master writes them.
    grpc::Status list_nodes(const std::string& client_type, std::vector<std::string>& out,
                            std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // The filer's gRPC address (the first one the master lists); empty when none is known.
    std::string filer();
    // The same filer's HTTP address (host:port), which serves file contents; empty when none is known.
    std::string filer_http();
    // A broker's gRPC address for control calls (topics); empty when none is registered.
    // forget_broker() drops the cached address after a failure so the next call asks the master again.
    std::string any_broker();
    void forget_broker();

private:
    const std::string master_grpc_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
    std::string broker_;
    std::string filer_;
    std::string filer_http_;
};

inline void set_deadline(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) {
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

inline std::string describe(const grpc::Status& s) {
    return "gRPC " + std::to_string(static_cast<int>(s.error_code())) + ": " + s.error_message();
}

} // namespace gateway::seaweedmq
