// ListOffsets: v0-10.  v0 answers old_style_offsets (at most one here); v1 one offset and its
// timestamp; v2 isolation_level (LSO = high watermark: no transactions); v4 leader_epoch; v6
// flexible; v7 max timestamp (-3); v8 earliest local (-4, = earliest: no tiering); v9 latest tiered
// (-5, = latest); v10 timeout_ms.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/list_offsets_request.h"
#include "generated/list_offsets_response.h"

namespace gateway {
namespace {

constexpr int64_t latest = -1, earliest = -2, max_timestamp = -3, earliest_local = -4, latest_tiered = -5;

void list_partition(Broker& broker, const TopicPartition& tp, int64_t timestamp,
                    kafka::ListOffsetsResponse::ListOffsetsPartitionResponse& out) {
    if (timestamp == latest || timestamp == earliest || timestamp == earliest_local || timestamp == latest_tiered) {
        PartitionOffsets o = broker.storage().offsets(tp);
        out.error_code = code(to_error_code(o.error));
        out.offset = timestamp == earliest || timestamp == earliest_local ? o.log_start_offset : o.high_watermark;
        out.timestamp = -1;
        return;
    }
    TimestampOffset found = timestamp == max_timestamp ? broker.storage().max_timestamp(tp)
                                                       : broker.storage().offset_for_timestamp(tp, timestamp);
    out.error_code = code(to_error_code(found.error));
    out.offset = found.offset;
    out.timestamp = found.timestamp;
}

} // namespace

void register_list_offsets(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::ListOffsetsRequest::api_key, 0, 10, [&broker](const kafka::ExchangePtr& ex) {
        kafka::ListOffsetsRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        kafka::ListOffsetsResponse resp;
        for (const auto& t : req.topics) {
            auto& tr = resp.topics.emplace_back();
            tr.name = t.name;
            auto found = broker.find_topic(t.name, false);
            for (const auto& p : t.partitions) {
                auto& pr = tr.partitions.emplace_back();
                pr.partition_index = p.partition_index;
                if (found.error != ErrorCode::none) pr.error_code = code(found.error);
                else if (p.partition_index < 0 || p.partition_index >= found.topic->partitions)
                    pr.error_code = code(ErrorCode::unknown_topic_or_partition);
                else list_partition(broker, {t.name, p.partition_index}, p.timestamp, pr);
                if (ex->version() >= 4 && pr.error_code == 0) pr.leader_epoch = 0;
                if (ex->version() == 0) {   // v0 answers a list of offsets instead
                    if (pr.error_code == 0 && pr.offset >= 0 && p.max_num_offsets > 0) pr.old_style_offsets = {pr.offset};
                    pr.offset = -1;
                    pr.timestamp = -1;
                }
            }
        }
        ex->respond(resp);
    });
}

} // namespace gateway
