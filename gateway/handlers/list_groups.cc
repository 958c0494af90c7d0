// ListGroups: v0-5.  v1 throttle; v3 flexible; v4 states_filter (and group_state in the response);
// v5 types_filter (and group_type): every group here is a "classic" group.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/list_groups_request.h"
#include "generated/list_groups_response.h"

#include <algorithm>
#include <cctype>

namespace gateway {
namespace {

bool is_classic(const std::string& type) {
    std::string lower = type;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return lower == "classic";
}

} // namespace

void register_list_groups(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::ListGroupsRequest::api_key, 0, 5, [&broker](const kafka::ExchangePtr& ex) {
        kafka::ListGroupsRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        const int16_t version = ex->version();
        ListGroupsResult result = broker.coordinator().list(version >= 4 ? req.states_filter : std::vector<std::string>{});
        kafka::ListGroupsResponse resp;
        resp.error_code = code(result.error);
        const bool types_match = version < 5 || req.types_filter.empty() ||
                                 std::any_of(req.types_filter.begin(), req.types_filter.end(), is_classic);
        if (types_match)
            for (const auto& g : result.groups) {
                auto& out = resp.groups.emplace_back();
                out.group_id = g.group_id;
                out.protocol_type = g.protocol_type;
                if (version >= 4) out.group_state = g.state;
                if (version >= 5) out.group_type = "classic";
            }
        ex->respond(resp);
    });
}

} // namespace gateway
