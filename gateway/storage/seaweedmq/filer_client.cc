#include "gateway/storage/seaweedmq/filer_client.h"

#include "gateway/storage/seaweedmq/cluster.h"
#include "gateway/storage/storage_log.h"

#include <chrono>

namespace gateway::seaweedmq {
namespace {

constexpr auto filer_timeout = std::chrono::seconds(10);

} // namespace

FilerClient::FilerClient(Cluster& cluster) {
    const std::string address = cluster.filer();
    if (!address.empty()) stub_ = filer_pb::SeaweedFiler::NewStub(cluster.channel(address));
}

bool FilerClient::put(const std::string& dir, const std::string& name, const std::string& content) {
    if (!stub_) return false;
    grpc::ClientContext ctx;
    set_deadline(ctx, filer_timeout);
    filer_pb::CreateEntryRequest req;
    req.set_directory(dir);
    filer_pb::Entry* e = req.mutable_entry();
    e->set_name(name);
    e->set_content(content);
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    filer_pb::FuseAttributes* a = e->mutable_attributes();
    a->set_file_size(content.size());
    a->set_mtime(now);
    a->set_crtime(now);
    a->set_file_mode(0644);
    filer_pb::CreateEntryResponse resp;
    grpc::Status s = stub_->CreateEntry(&ctx, req, &resp);
    if (!s.ok() || !resp.error().empty()) {
        log_storage("seaweedmq: filer write of " + dir + "/" + name + " failed: " +
                    (s.ok() ? resp.error() : describe(s)));
        return false;
    }
    return true;
}

bool FilerClient::remove(const std::string& dir, const std::string& name) {
    if (!stub_) return false;
    grpc::ClientContext ctx;
    set_deadline(ctx, filer_timeout);
    filer_pb::DeleteEntryRequest req;
    req.set_directory(dir);
    req.set_name(name);
    req.set_is_delete_data(true);
    filer_pb::DeleteEntryResponse resp;
    grpc::Status s = stub_->DeleteEntry(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return true;
    if (!s.ok() || (!resp.error().empty() && resp.error().find("not found") == std::string::npos)) {
        log_storage("seaweedmq: filer delete of " + dir + "/" + name + " failed: " +
                    (s.ok() ? resp.error() : describe(s)));
        return false;
    }
    return true;
}

bool FilerClient::list(const std::string& dir, const std::string& prefix,
                       const std::function<void(const filer_pb::Entry&)>& each, bool with_directories,
                       const std::string& start_from) {
    if (!stub_) return false;
    std::string start = start_from;
    bool inclusive = true;
    for (;;) {
        grpc::ClientContext ctx;
        set_deadline(ctx, filer_timeout);
        filer_pb::ListEntriesRequest req;
        req.set_directory(dir);
        req.set_prefix(prefix);
        req.set_startfromfilename(start);
        req.set_inclusivestartfrom(inclusive);
        constexpr uint32_t page = 1024;
        req.set_limit(page);
        auto reader = stub_->ListEntries(&ctx, req);
        filer_pb::ListEntriesResponse resp;
        uint32_t n = 0;
        while (reader->Read(&resp)) {
            ++n;
            start = resp.entry().name();
            if (with_directories || !resp.entry().is_directory()) each(resp.entry());
        }
        grpc::Status s = reader->Finish();
        if (s.error_code() == grpc::StatusCode::NOT_FOUND) return true;
        if (!s.ok()) {
            log_storage("seaweedmq: filer listing of " + dir + " failed: " + describe(s));
            return false;
        }
        if (n < page) return true;
        inclusive = false;
    }
}

} // namespace gateway::seaweedmq
