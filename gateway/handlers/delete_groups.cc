// DeleteGroups: v0-2.  v1 only changes throttling; v2 flexible.  Only Empty groups go (their
// committed offsets with them); NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND otherwise.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/delete_groups_request.h"
#include "generated/delete_groups_response.h"

namespace gateway {

void register_delete_groups(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::DeleteGroupsRequest::api_key, 0, 2, [&broker](const kafka::ExchangePtr& ex) {
        kafka::DeleteGroupsRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        std::vector<ErrorCode> errors = broker.coordinator().delete_groups(req.groups_names);
        kafka::DeleteGroupsResponse resp;
        for (size_t i = 0; i < errors.size(); ++i) resp.results.push_back({req.groups_names[i], code(errors[i])});
        ex->respond(resp);
    });
}

} // namespace gateway
