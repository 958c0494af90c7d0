// seaweedmq://MASTER[?namespace=NS]: where the SeaweedFS master is and which SeaweedMQ namespace holds
// the gateway's topics.  MASTER is written as SeaweedFS writes server addresses: host:port names the
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
};

// Throws std::runtime_error with a message for the operator.
SeaweedMqUrl parse_seaweedmq_url(std::string_view url);

// host:port -> host:(port + 10000); host:port.grpcport -> host:grpcport.  Throws std::runtime_error.
std::string grpc_address(std::string_view server_address);

} // namespace gateway::seaweedmq
