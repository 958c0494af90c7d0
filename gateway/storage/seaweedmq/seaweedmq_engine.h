// The seaweedmq:// storage engine: topics and records in SeaweedMQ, the gateway's metadata in the
// SeaweedFS filer.  The engine itself lives in seaweedmq_engine.cc (the one place gRPC is included);
// see the comment there.
#pragma once

#include "gateway/storage/storage_engine.h"

#include <memory>
#include <string>

namespace gateway {

// Connects to the master a seaweedmq:// URL names and checks that a broker and a filer are
// registered.  Throws std::runtime_error with a message for the operator when it cannot.
std::unique_ptr<StorageEngine> open_seaweedmq_engine(const std::string& url, const StorageOptions& options);

} // namespace gateway
