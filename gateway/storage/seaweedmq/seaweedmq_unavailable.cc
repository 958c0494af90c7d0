// open_seaweedmq_engine in a build without gRPC (CMake found no grpc++/protobuf).
#include "gateway/storage/seaweedmq/seaweedmq_engine.h"

#include <stdexcept>

namespace gateway {

std::unique_ptr<StorageEngine> open_seaweedmq_engine(const std::string& url, const StorageOptions&) {
    throw std::runtime_error("storage URL '" + url +
                             "': this build has no seaweedmq:// engine (gRPC and Protobuf were not found at build "
                             "time: install libgrpc++-dev, protobuf-compiler-grpc and rebuild)");
}

} // namespace gateway
