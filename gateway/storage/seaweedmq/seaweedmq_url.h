// seaweedmq://MASTER[?namespace=NS][&acks_all=flushed|buffered]: where the SeaweedFS master is, which
// SeaweedMQ namespace holds the gateway's topics, and what an acks=all (-1) produce waits for: flushed
// (the default) answers once the broker has flushed the records to the filer, so that they survive a
// broker restart; buffered answers once they are in the broker's memory, as acks=1 always does.  MASTER is written as SeaweedFS writes server addresses: host:port names the
// master's HTTP port, whose gRPC port is port + 10000 by SeaweedFS's convention; host:port.grpcport
// names the gRPC port explicitly.  The engine also parses the addresses the master lists for filers
// and brokers with these rules.
#pragma once

#include <string>
#include <string_view>

namespace gateway::seaweedmq {

inline constexpr std::string_view default_namespace = "kafka";

struct SeaweedMqUrl {
    std::string master;                          // as written: host:port or host:port.grpcport
    std::string master_grpc;                     // host:grpcport, what we dial
    std::string namespace_ = std::string(default_namespace);
    bool acks_all_flushed = true;                // acks_all=flushed
};

// Throws std::runtime_error with a message for the operator.
SeaweedMqUrl parse_seaweedmq_url(std::string_view url);

// host:port -> host:(port + 10000); host:port.grpcport -> host:grpcport.  Throws std::runtime_error.
std::string grpc_address(std::string_view server_address);

} // namespace gateway::seaweedmq
