// ApiVersions: v0-4.  v1 adds throttle_time_ms; v3 is flexible and the request carries the client's
// software name and version (logged at debug); v4 changes nothing for us.  The API list is the
// dispatcher's: exactly the versions our handlers declare.  Too-high versions are answered by the
// dispatcher in the v0 shape.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/api_versions_request.h"
#include "generated/api_versions_response.h"
#include "runtime/log.h"

namespace gateway {

void register_api_versions(kafka::Dispatcher& d, Broker&) {
    d.add(kafka::ApiVersionsRequest::api_key, 0, 4, [&d](const kafka::ExchangePtr& ex) {
        kafka::ApiVersionsRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        if (ex->version() >= 3)
            kafka::log_debug("api_versions", ex->peer() + " is " + req.client_software_name + " " +
                                                 req.client_software_version);
        kafka::ApiVersionsResponse resp;
        for (const auto& reg : d.registrations()) {
            auto& api = resp.api_keys.emplace_back();
            api.api_key_ = reg.key;
            api.min_version = reg.min_version;
            api.max_version = reg.max_version;
        }
        ex->respond(resp);
    });
}

} // namespace gateway
