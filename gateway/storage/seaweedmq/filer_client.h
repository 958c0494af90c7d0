// The filer calls of the seaweedmq:// engine: small entries whose bytes live in the entry (the metadata
// store), deletes, and paged listings.  Failures are logged (storage log) and reported as false.
// Internal to gateway/storage/seaweedmq/.
#pragma once

#include "filer.grpc.pb.h"

#include <functional>
#include <memory>
#include <string>

namespace gateway::seaweedmq {

class Cluster;

class FilerClient {
public:
    // A client of the filer the master lists first; every call fails when there is none.
    explicit FilerClient(Cluster& cluster);

    bool put(const std::string& dir, const std::string& name, const std::string& content);
    // Removes dir/name (and its data); a missing entry counts as removed.
    bool remove(const std::string& dir, const std::string& name);
    // Every file of dir whose name starts with prefix, in name order, paged; with_directories: the
    // subdirectories too; start_from: only names from it on (it included).  A missing dir lists nothing.
    bool list(const std::string& dir, const std::string& prefix, const std::function<void(const filer_pb::Entry&)>& each,
              bool with_directories = false, const std::string& start_from = "");

private:
    std::unique_ptr<filer_pb::SeaweedFiler::Stub> stub_;
};

} // namespace gateway::seaweedmq
