// DeleteTopics: v0-6.  v0-5 name topics in topic_names; v4 flexible; v5 error_message; v6 names or
// ids in topics.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/delete_topics_request.h"
#include "generated/delete_topics_response.h"
#include "runtime/log.h"

namespace gateway {

void register_delete_topics(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::DeleteTopicsRequest::api_key, 0, 6, [&broker](const kafka::ExchangePtr& ex) {
        kafka::DeleteTopicsRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        std::vector<kafka::DeleteTopicsRequest::DeleteTopicState> wanted = req.topics;
        for (const auto& name : req.topic_names) wanted.push_back({name, {}});
        kafka::DeleteTopicsResponse resp;
        for (const auto& w : wanted) {
            auto& out = resp.responses.emplace_back();
            out.name = w.name;
            out.topic_id = w.topic_id;
            std::optional<std::string> name = w.name;
            if (!name) {
                for (const auto& info : broker.storage().list_topics())
                    if (info.id == w.topic_id) name = info.name;
                if (!name) {
                    out.error_code = code(ErrorCode::unknown_topic_id);
                    continue;
                }
                out.name = name;
            }
            StorageErrc e = broker.storage().delete_topic(*name);
            out.error_code = code(to_error_code(e));
            if (e == StorageErrc::none) {
                broker.producers().forget_topic(*name);
                broker.coordinator().topic_deleted(*name);
                kafka::log_info("delete_topics", "deleted " + *name);
            }
        }
        ex->respond(resp);
    });
}

} // namespace gateway
