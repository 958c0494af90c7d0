// OffsetCommit: v0-9.  v0 commits outside any group (generation -1); v1 generation and member id
// (checked: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS while the group completes a
// rebalance) and a commit timestamp we ignore, as Kafka does; v2-4 retention_time_ms (an expiry per
// offset); v3 throttle; v6 committed_leader_epoch (kept and returned by OffsetFetch); v7
// group_instance_id (FENCED_INSTANCE_ID); v8 flexible; v9 the field is generation or member epoch,
// the same thing for classic groups.  Unknown topics and partitions: UNKNOWN_TOPIC_OR_PARTITION per
// partition.  Offsets are durable (MetadataStore) before the answer, which comes from the coordinator's
// store writer (no thread waits on the store for it).
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/offset_commit_request.h"
#include "generated/offset_commit_response.h"

#include <memory>

namespace gateway {

void register_offset_commit(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::OffsetCommitRequest::api_key, 0, 9, [&broker](const kafka::ExchangePtr& ex) {
        kafka::OffsetCommitRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        CommitRequest commit;
        commit.group_id = req.group_id;
        commit.generation_id = req.generation_id_or_member_epoch;
        commit.member_id = req.member_id;
        commit.group_instance_id = req.group_instance_id;
        if (ex->version() >= 2 && ex->version() <= 4) commit.retention_time_ms = req.retention_time_ms;

        auto resp = std::make_shared<kafka::OffsetCommitResponse>();
        std::vector<kafka::OffsetCommitResponse::OffsetCommitResponsePartition*> to_coordinator;
        for (const auto& t : req.topics) {
            auto& tr = resp->topics.emplace_back();
            tr.name = t.name;
            auto found = broker.find_topic(t.name, false);
            for (const auto& p : t.partitions) {
                auto& pr = tr.partitions.emplace_back();
                pr.partition_index = p.partition_index;
                if (found.error != ErrorCode::none || p.partition_index < 0 ||
                    p.partition_index >= found.topic->partitions) {
                    pr.error_code = code(ErrorCode::unknown_topic_or_partition);
                    continue;
                }
                OffsetToCommit o;
                o.tp = {t.name, p.partition_index};
                o.offset = p.committed_offset;
                o.leader_epoch = p.committed_leader_epoch;
                o.metadata = p.committed_metadata.value_or("");
                commit.offsets.push_back(std::move(o));
            }
        }
        // Pointers into resp are taken once no partition is added any more.
        for (auto& tr : resp->topics)
            for (auto& pr : tr.partitions)
                if (pr.error_code == 0) to_coordinator.push_back(&pr);
        if (commit.offsets.empty()) return ex->respond(*resp);
        // Answered once the offsets are stored, from the coordinator's store writer: this thread goes on.
        broker.coordinator().commit(commit, [ex, resp, to_coordinator = std::move(to_coordinator)](
                                                std::vector<ErrorCode> errors) {
            for (size_t i = 0; i < errors.size(); ++i) to_coordinator[i]->error_code = code(errors[i]);
            ex->respond(*resp);
        });
    });
}

} // namespace gateway
