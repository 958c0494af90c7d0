// Fetch: v0-17.  v0-3 read legacy message sets (v0 magic 0, v1-3 magic 1): the stored v2 batches are
// converted down per request as Kafka does (kafka::down_convert: one uncompressed message per record,
// headers dropped, control batches skipped), within partition_max_bytes and v3's max_bytes but
// never less than one whole message; v1 adds throttle_time_ms, v3 max_bytes.  v4 adds
// isolation_level and last_stable_offset (no transactions here: LSO = high watermark); v5
// log_start_offset; v7 incremental fetch sessions (KIP-227, fetch_sessions.h: an incremental request
// is widened to every partition of its session before reading, and the answer narrowed to what
// changed); v11 rack_id; v12 flexible; v13 topics by id; v15-17
// replica fields, which consumers leave at their defaults.
//
// Long poll: when less than min_bytes is there, the fetch waits until an append to one of its
// partitions or max_wait_ms, then reads again and answers.  Records are views of the stored batches
// (mmap or memory); from v4 on the writer sends them without copying.
//
// A consumer keeps one fetch in flight per broker and leaves out of it the partitions whose records it
// still holds (forgetting them from its session).  When the partitions it does ask for are all at
// their end, a full long poll would keep it from fetching the others once it has used their records:
// a consumer catching up on several partitions, one of which reaches its end first, then stops for
// fetch.max.wait.ms (500 ms by default) with records still to read (measured: 0.5-1.5 s stalls in a
// 1.2 s read of 300 MB over 6 partitions).  So while the session has partitions set aside
// (FetchSessions::Context::partitions_set_aside) a fetch waits at most set_aside_wait.
//
// Where reads may block (seaweedmq://), the request is decoded and its session taken on the event loop,
// and everything that reads runs on the broker's I/O threads (Broker::run_read, gateway/io_pool.h).
#include "gateway/broker.h"
#include "gateway/fetch_sessions.h"
#include "gateway/handlers/handlers.h"
#include "generated/fetch_request.h"
#include "generated/fetch_response.h"
#include "runtime/log.h"
#include "runtime/message_set.h"

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace gateway {
namespace {

constexpr auto set_aside_wait = std::chrono::milliseconds(10);   // see the top of this file

struct FetchPlan {
    kafka::FetchRequest request;   // incremental requests widened to the whole session
    int16_t version = 0;
    FetchSessions::Context session;
    std::vector<std::optional<TopicInfo>> topics;   // request.topics resolved once (by name, or by id in v13+)
    std::vector<TopicPartition> partitions;         // what a long poll waits on
};

void resolve_topics(Broker& broker, FetchPlan& plan) {
    std::vector<TopicInfo> all;   // listed once, only when topics come by id
    if (plan.version >= 13) all = broker.storage().list_topics();
    for (const auto& t : plan.request.topics) {
        std::optional<TopicInfo> topic;
        if (plan.version >= 13) {
            for (const auto& info : all)
                if (info.id == t.topic_id) topic = info;
        } else {
            topic = broker.storage().describe_topic(t.topic);
        }
        if (topic)
            for (const auto& p : t.partitions) plan.partitions.push_back({topic->name, p.partition});
        plan.topics.push_back(std::move(topic));
    }
}

// v0-3: the batches read as the legacy message set the version reads, at most `limit` bytes (but one
// message at least).  A batch that cannot be decoded is reported as CORRUPT_MESSAGE.
void down_convert(Broker& broker, const FetchPlan& plan, const TopicPartition& tp, int64_t fetch_offset,
                  size_t limit, ReadResult& rr, kafka::FetchResponse::PartitionData& pr) {
    if (rr.error != StorageErrc::none || rr.records.empty()) return;
    try {
        rr.records = kafka::down_convert(rr.records, plan.version == 0 ? 0 : 1, fetch_offset, limit,
                                         broker.config().max_request_size)
                         .messages;
    } catch (const kafka::DecodeError& e) {
        kafka::log_warn("fetch", tp.topic + "-" + std::to_string(tp.partition) + ": cannot convert the batches at offset " +
                                     std::to_string(fetch_offset) + " for Fetch v" + std::to_string(plan.version) +
                                     ": " + e.what());
        rr.records = kafka::Bytes();
        pr.error_code = code(ErrorCode::corrupt_message);
    }
}

// One partition a fetch reads: where its answer goes, and at most how many bytes it may carry.
struct PartitionRead {
    kafka::FetchResponse::PartitionData* answer = nullptr;
    TopicPartition tp;
    int64_t fetch_offset = 0;
    size_t partition_max_bytes = 0;

    size_t bytes() const { return answer->records ? answer->records->size() : 0; }
};

void read_partition(Broker& broker, const FetchPlan& plan, const PartitionRead& pr, size_t limit) {
    kafka::FetchResponse::PartitionData& answer = *pr.answer;
    ReadResult rr;
    if (limit == 0) {   // budget spent: report offsets only
        PartitionOffsets o = broker.storage().offsets(pr.tp);
        rr.error = o.error;
        rr.high_watermark = o.high_watermark;
        rr.log_start_offset = o.log_start_offset;
    } else {
        rr = broker.storage().read(pr.tp, pr.fetch_offset, limit);
    }
    answer.error_code = code(to_error_code(rr.error));
    if (plan.version < 4 && limit > 0) down_convert(broker, plan, pr.tp, pr.fetch_offset, limit, rr, answer);
    answer.high_watermark = rr.high_watermark;
    answer.last_stable_offset = rr.high_watermark;
    answer.log_start_offset = rr.log_start_offset;
    answer.aborted_transactions.emplace();   // none: an empty list, not null
    answer.records = rr.records;
}

// Reads every partition once; returns the response and the bytes it carries.
//
// The request's max_bytes is shared out in the order the partitions come: each gets at most what the
// ones before it left.  When their partition_max_bytes add up to no more than max_bytes (consumers'
// defaults: 1 MiB a partition, 50 MiB in all) no partition waits on another's answer, and where reads
// may block (seaweedmq://, a broker round trip or a filer GET each) they run alongside each other.
kafka::FetchResponse read_all(Broker& broker, const FetchPlan& plan, size_t& bytes) {
    const kafka::FetchRequest& req = plan.request;
    kafka::FetchResponse resp;
    std::vector<PartitionRead> reads;   // points into resp, whose vectors are sized up front
    resp.responses.reserve(req.topics.size());
    size_t wanted = 0;
    for (size_t i = 0; i < req.topics.size(); ++i) {
        const auto& t = req.topics[i];
        const std::optional<TopicInfo>& topic = plan.topics[i];
        auto& tr = resp.responses.emplace_back();
        tr.topic = t.topic;
        tr.topic_id = t.topic_id;
        tr.partitions.reserve(t.partitions.size());
        for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition;
            if (!topic || p.partition < 0 || p.partition >= topic->partitions) {
                pr.error_code = code(plan.version >= 13 && !topic ? ErrorCode::unknown_topic_id
                                                                  : ErrorCode::unknown_topic_or_partition);
                pr.records = kafka::Bytes();
                continue;
            }
            const size_t max_bytes = static_cast<size_t>(std::max(p.partition_max_bytes, 0));
            reads.push_back({&pr, {topic->name, p.partition}, p.fetch_offset, max_bytes});
            wanted = wanted > SIZE_MAX - max_bytes ? SIZE_MAX : wanted + max_bytes;
        }
    }
    size_t budget = plan.version >= 3 && req.max_bytes > 0 ? static_cast<size_t>(req.max_bytes) : SIZE_MAX;
    if (wanted <= budget) {
        broker.read_each(reads.size(), [&](size_t i) { read_partition(broker, plan, reads[i], reads[i].partition_max_bytes); });
    } else {
        for (const PartitionRead& r : reads) {
            read_partition(broker, plan, r, std::min(budget, r.partition_max_bytes));
            budget -= std::min(budget, r.bytes());
        }
    }
    bytes = 0;
    for (const PartitionRead& r : reads) bytes += r.bytes();
    return resp;
}

// Reads every partition and answers, or waits (long poll) and then reads again and answers.
void read_and_answer(Broker& broker, const kafka::ExchangePtr& ex, const std::shared_ptr<FetchPlan>& plan,
                     const std::shared_ptr<FetchSessions>& sessions) {
    resolve_topics(broker, *plan);
    const kafka::FetchRequest& req = plan->request;

    size_t bytes = 0;
    const uint64_t appends_seen = broker.fetch_waiters().appends_to(plan->partitions);
    kafka::FetchResponse resp = read_all(broker, *plan, bytes);
    bool any_error = false;
    for (const auto& t : resp.responses)
        for (const auto& p : t.partitions) any_error |= p.error_code != 0;
    if (req.max_wait_ms <= 0 || bytes >= static_cast<size_t>(std::max(req.min_bytes, 1)) || any_error) {
        sessions->finish(plan->session, resp);
        ex->respond(resp);
        return;
    }
    const auto wait = std::chrono::milliseconds(req.max_wait_ms);
    const auto deadline = FetchWaiters::Clock::now() + (plan->session.partitions_set_aside ? std::min(wait, set_aside_wait) : wait);
    // The wake-up comes on the appending thread or the waiters' timer thread: the read goes to run_read.
    broker.fetch_waiters().wait(plan->partitions, appends_seen, deadline, [&broker, ex, plan, sessions] {
        if (!ex->connection_open()) {   // nobody to answer; just close the books
            ex->respond_none();
            return;
        }
        // Off the loop, a failure closes the connection as one on the loop does (Dispatcher::run_handler).
        broker.run_read([&broker, ex, plan, sessions] {
            kafka::Dispatcher::run_handler([&](const kafka::ExchangePtr&) {
                size_t again = 0;
                kafka::FetchResponse later = read_all(broker, *plan, again);
                sessions->finish(plan->session, later);
                ex->respond(later);
            }, ex);
        });
    });
}

} // namespace

void register_fetch(kafka::Dispatcher& d, Broker& broker) {
    auto sessions = std::make_shared<FetchSessions>(broker.config().fetch_session_cache_slots);
    d.add(kafka::FetchRequest::api_key, 0, 17, [&broker, sessions](const kafka::ExchangePtr& ex) {
        auto plan = std::make_shared<FetchPlan>();
        kafka::Reader r = ex->body();
        plan->request.decode(r, ex->version());
        plan->version = ex->version();
        plan->session = sessions->begin(plan->request, plan->version);
        if (plan->session.error != ErrorCode::none) {   // the client starts over with a full fetch
            kafka::FetchResponse resp;
            resp.error_code = code(plan->session.error);
            ex->respond(resp);
            return;
        }
        if (plan->session.incremental)
            kafka::log_debug("fetch", "incremental fetch in session " + std::to_string(plan->session.session_id));
        else if (plan->session.session)
            kafka::log_debug("fetch", "opened fetch session " + std::to_string(plan->session.session_id) + " for " +
                                          ex->peer());
        broker.run_read([&broker, ex, plan, sessions] {
            kafka::Dispatcher::run_handler([&](const kafka::ExchangePtr&) { read_and_answer(broker, ex, plan, sessions); }, ex);
        });
    });
}

} // namespace gateway
