// The coordinator's handlers at every version they declare: each request is encoded at that version,
// dispatched to a Broker over memory:// storage, and the response decoded at the same version, so a
// field set where the version cannot carry it (an EncodeError) or a wrong shape shows up here.  Also
// Produce's rule of one idempotent batch per partition, with the same harness.
#include "gateway/broker.h"
#include "generated/delete_groups_request.h"
#include "generated/delete_groups_response.h"
#include "generated/describe_groups_request.h"
#include "generated/describe_groups_response.h"
#include "generated/fetch_request.h"
#include "generated/fetch_response.h"
#include "generated/find_coordinator_request.h"
#include "generated/find_coordinator_response.h"
#include "generated/heartbeat_request.h"
#include "generated/heartbeat_response.h"
#include "generated/join_group_request.h"
#include "generated/join_group_response.h"
#include "generated/leave_group_request.h"
#include "generated/leave_group_response.h"
#include "generated/list_groups_request.h"
#include "generated/list_groups_response.h"
#include "generated/offset_commit_request.h"
#include "generated/offset_commit_response.h"
#include "generated/offset_delete_request.h"
#include "generated/offset_delete_response.h"
#include "generated/offset_fetch_request.h"
#include "generated/offset_fetch_response.h"
#include "generated/produce_request.h"
#include "generated/produce_response.h"
#include "generated/sync_group_request.h"
#include "generated/sync_group_response.h"
#include "runtime/log.h"
#include "runtime/record_batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace gateway {
namespace {

class CapturingExchange : public kafka::Exchange {
public:
    CapturingExchange(kafka::RequestHeaderInfo header, kafka::Bytes body) : Exchange(std::move(header), std::move(body)) {}
    const std::string& peer() const override { return peer_; }
    void close_connection(const std::string& reason) override { closed = reason; }
    bool connection_open() const override { return true; }

    // Waits (up to 10 s) for the answer, which may come from another thread: an OffsetCommit's comes from
    // the coordinator's store writer.
    bool wait_answered() const {
        std::unique_lock lock(mutex_);
        return answered_.wait_for(lock, std::chrono::seconds(10), [&] { return done_; });
    }

    std::optional<std::vector<uint8_t>> response;   // set before wait_answered() returns
    std::optional<std::string> closed;

protected:
    void complete(std::optional<kafka::Writer> w) override {
        std::lock_guard lock(mutex_);
        if (w) response = w->flatten();
        done_ = true;
        answered_.notify_all();
    }

private:
    std::string peer_ = "127.0.0.1:40000";
    mutable std::mutex mutex_;
    mutable std::condition_variable answered_;
    bool done_ = false;
};

class GroupHandlers : public ::testing::Test {
protected:
    std::unique_ptr<Broker> broker;
    kafka::Dispatcher dispatcher;

    void SetUp() override {
        kafka::set_log_level(kafka::LogLevel::warn);
        Config config;
        config.groups.initial_rebalance_delay_ms = 0;
        config.default_partitions = 2;
        broker = std::make_unique<Broker>(config, StorageEngine::open("memory://", {}));
        broker->coordinator().load();   // what the timer thread does; idempotent
        broker->register_handlers(dispatcher);
        ASSERT_EQ(broker->find_topic("t", true).error, ErrorCode::none);
    }

    // Sends `req` at `version`; returns the exchange (answered now or later).
    template<typename Request>
    std::shared_ptr<CapturingExchange> send(const Request& req, int16_t version) {
        kafka::Writer w;
        req.encode(w, version);
        auto flat = w.flatten();
        kafka::RequestHeaderInfo h{Request::api_key, version, 1, std::string("client"),
                                   static_cast<int16_t>(version >= Request::first_flexible_version &&
                                                                Request::first_flexible_version >= 0
                                                            ? 1
                                                            : 0)};
        auto ex = std::make_shared<CapturingExchange>(h, kafka::Bytes::copy_of(std::span(flat.data(), flat.size())));
        dispatcher.dispatch(ex);
        EXPECT_FALSE(ex->closed) << *ex->closed;
        return ex;
    }
    template<typename Response>
    Response decode(const CapturingExchange& ex, int16_t version, int16_t header_version) {
        EXPECT_TRUE(ex.wait_answered());
        EXPECT_TRUE(ex.response.has_value());
        Response resp;
        if (!ex.response) return resp;
        // Decoded bytes view the buffer: keep it alive with them.
        kafka::Bytes owned = kafka::Bytes::copy_of(std::span(ex.response->data(), ex.response->size()));
        kafka::Reader r(owned);
        r.read_int32();   // length
        r.read_int32();   // correlation id
        if (header_version >= 1) r.read_uvarint();
        resp.decode(r, version);
        EXPECT_TRUE(r.at_end());
        return resp;
    }
    template<typename Request, typename Response>
    Response call(const Request& req, int16_t version) {
        auto ex = send(req, version);
        const bool flexible = Request::first_flexible_version >= 0 && version >= Request::first_flexible_version;
        return decode<Response>(*ex, version, flexible ? 1 : 0);
    }
};

kafka::Bytes batch_of(int64_t producer_id, int32_t base_sequence, int records) {
    kafka::RecordBatchBuilder b({.producer_id = producer_id, .producer_epoch = static_cast<int16_t>(producer_id >= 0 ? 0 : -1),
                                 .base_sequence = producer_id >= 0 ? base_sequence : -1});
    for (int i = 0; i < records; ++i) b.append(1000 + i, std::nullopt, kafka::Bytes::copy_of("v"));
    return b.build();
}

kafka::Bytes concatenated(const kafka::Bytes& a, const kafka::Bytes& b) {
    std::vector<uint8_t> both(a.data(), a.data() + a.size());
    both.insert(both.end(), b.data(), b.data() + b.size());
    return kafka::Bytes::copy_of(std::span<const uint8_t>(both));
}

TEST_F(GroupHandlers, ProduceTakesOneIdempotentBatchPerPartition) {
    // As Kafka: an idempotent producer's batches are checked one per partition per request; a request
    // with two for one partition is INVALID_RECORD and stores nothing.  Plain batches may come several.
    auto produce = [&](const kafka::Bytes& records) {
        kafka::ProduceRequest req;
        req.acks = -1;
        req.timeout_ms = 1000;
        auto& t = req.topic_data.emplace_back();
        t.name = "t";
        auto& p = t.partition_data.emplace_back();
        p.index = 0;
        p.records = records;
        auto resp = call<kafka::ProduceRequest, kafka::ProduceResponse>(req, 9);
        return resp.responses.at(0).partition_responses.at(0);
    };
    auto two = produce(concatenated(batch_of(7, 0, 2), batch_of(7, 2, 1)));
    EXPECT_EQ(two.error_code, code(ErrorCode::invalid_record));
    EXPECT_EQ(broker->storage().offsets({"t", 0}).high_watermark, 0);

    auto one = produce(batch_of(7, 0, 2));
    EXPECT_EQ(one.error_code, 0);
    EXPECT_EQ(one.base_offset, 0);
    auto plain = produce(concatenated(batch_of(-1, 0, 1), batch_of(-1, 0, 1)));
    EXPECT_EQ(plain.error_code, 0);
    EXPECT_EQ(plain.base_offset, 2);
    EXPECT_EQ(broker->storage().offsets({"t", 0}).high_watermark, 4);
}

TEST_F(GroupHandlers, FindCoordinatorEveryVersion) {
    for (int16_t v = 0; v <= 6; ++v) {
        kafka::FindCoordinatorRequest req;
        if (v >= 4) req.coordinator_keys = {"g1", "g2"};
        else req.key = "g1";
        auto resp = call<kafka::FindCoordinatorRequest, kafka::FindCoordinatorResponse>(req, v);
        if (v >= 4) {
            ASSERT_EQ(resp.coordinators.size(), 2u);
            EXPECT_EQ(resp.coordinators[1].key, "g2");
            EXPECT_EQ(resp.coordinators[1].node_id, 1);
            EXPECT_EQ(resp.coordinators[1].port, 9092);
            EXPECT_EQ(resp.coordinators[1].host, "127.0.0.1");
        } else {
            EXPECT_EQ(resp.error_code, 0);
            EXPECT_EQ(resp.node_id, 1);
            EXPECT_EQ(resp.port, 9092);
        }
        if (v >= 1) {
            req.key_type = 1;   // transactions: not offered
            auto txn = call<kafka::FindCoordinatorRequest, kafka::FindCoordinatorResponse>(req, v);
            int16_t e = v >= 4 ? txn.coordinators.at(0).error_code : txn.error_code;
            EXPECT_EQ(e, code(ErrorCode::coordinator_not_available)) << v;
            req.key_type = 7;
            auto bad = call<kafka::FindCoordinatorRequest, kafka::FindCoordinatorResponse>(req, v);
            e = v >= 4 ? bad.coordinators.at(0).error_code : bad.error_code;
            EXPECT_EQ(e, code(ErrorCode::invalid_request)) << v;
        }
    }
}

TEST_F(GroupHandlers, JoinSyncHeartbeatLeaveEveryVersion) {
    for (int16_t v = 0; v <= 9; ++v) {
        const std::string group = "g" + std::to_string(v);
        kafka::JoinGroupRequest join;
        join.group_id = group;
        join.session_timeout_ms = 10000;
        join.rebalance_timeout_ms = 10000;
        join.protocol_type = "consumer";
        join.protocols.push_back({"range", kafka::Bytes::copy_of(std::string_view("meta")), {}});
        if (v >= 5) join.group_instance_id = std::nullopt;
        auto jr = call<kafka::JoinGroupRequest, kafka::JoinGroupResponse>(join, v);
        if (v >= 4) {
            ASSERT_EQ(jr.error_code, code(ErrorCode::member_id_required)) << v;
            join.member_id = jr.member_id;
            jr = call<kafka::JoinGroupRequest, kafka::JoinGroupResponse>(join, v);
        }
        ASSERT_EQ(jr.error_code, 0) << v;
        EXPECT_EQ(jr.generation_id, 1);
        EXPECT_EQ(jr.leader, jr.member_id);
        ASSERT_EQ(jr.members.size(), 1u);
        EXPECT_EQ(jr.members[0].metadata.view(), "meta");
        EXPECT_EQ(jr.protocol_name.value_or(""), "range");
        if (v >= 7) { EXPECT_EQ(jr.protocol_type, "consumer"); }
        const std::string member = jr.member_id;

        const int16_t sv = std::min<int16_t>(v, 5);
        kafka::SyncGroupRequest sync;
        sync.group_id = group;
        sync.generation_id = 1;
        sync.member_id = member;
        if (sv >= 5) {
            sync.protocol_type = "consumer";
            sync.protocol_name = "range";
        }
        sync.assignments.push_back({member, kafka::Bytes::copy_of(std::string_view("assigned")), {}});
        auto sr = call<kafka::SyncGroupRequest, kafka::SyncGroupResponse>(sync, sv);
        EXPECT_EQ(sr.error_code, 0) << v;
        EXPECT_EQ(sr.assignment.view(), "assigned");
        if (sv >= 5) { EXPECT_EQ(sr.protocol_name, "range"); }

        const int16_t hv = std::min<int16_t>(v, 4);
        kafka::HeartbeatRequest hb;
        hb.group_id = group;
        hb.generation_id = 1;
        hb.member_id = member;
        EXPECT_EQ((call<kafka::HeartbeatRequest, kafka::HeartbeatResponse>(hb, hv).error_code), 0);
        hb.generation_id = 5;
        EXPECT_EQ((call<kafka::HeartbeatRequest, kafka::HeartbeatResponse>(hb, hv).error_code),
                  code(ErrorCode::illegal_generation));

        const int16_t dv = std::min<int16_t>(v, 5);
        kafka::DescribeGroupsRequest dg;
        dg.groups = {group, "nope"};
        auto d = call<kafka::DescribeGroupsRequest, kafka::DescribeGroupsResponse>(dg, dv);
        ASSERT_EQ(d.groups.size(), 2u);
        EXPECT_EQ(d.groups[0].group_state, "Stable");
        EXPECT_EQ(d.groups[0].protocol_data, "range");
        ASSERT_EQ(d.groups[0].members.size(), 1u);
        EXPECT_EQ(d.groups[0].members[0].member_assignment.view(), "assigned");
        EXPECT_EQ(d.groups[0].members[0].client_host, "/127.0.0.1");
        EXPECT_EQ(d.groups[1].group_state, "Dead");

        const int16_t lv = std::min<int16_t>(v, 5);
        kafka::LeaveGroupRequest leave;
        leave.group_id = group;
        if (lv >= 3) leave.members.push_back({member, std::nullopt, std::nullopt, {}});
        else leave.member_id = member;
        if (lv >= 3) leave.members.push_back({"stranger", std::nullopt, std::nullopt, {}});
        auto lr = call<kafka::LeaveGroupRequest, kafka::LeaveGroupResponse>(leave, lv);
        EXPECT_EQ(lr.error_code, 0) << v;
        if (lv >= 3) {
            ASSERT_EQ(lr.members.size(), 2u);
            EXPECT_EQ(lr.members[0].error_code, 0);
            EXPECT_EQ(lr.members[1].error_code, code(ErrorCode::unknown_member_id));
        } else {
            auto again = call<kafka::LeaveGroupRequest, kafka::LeaveGroupResponse>(leave, lv);
            EXPECT_EQ(again.error_code, code(ErrorCode::unknown_member_id));   // the member's error, pre-v3
        }
        EXPECT_EQ(broker->coordinator().describe(group).state, "Empty");
    }
}

TEST_F(GroupHandlers, OffsetCommitAndFetchEveryVersion) {
    for (int16_t v = 0; v <= 9; ++v) {
        const std::string group = "o" + std::to_string(v);
        kafka::OffsetCommitRequest commit;
        commit.group_id = group;
        auto& t = commit.topics.emplace_back();
        t.name = "t";
        t.partitions.push_back({0, 40 + v, 3, -1, std::string("md"), {}});
        t.partitions.push_back({5, 1, -1, -1, std::string(""), {}});   // no such partition
        auto& u = commit.topics.emplace_back();
        u.name = "missing";
        u.partitions.push_back({0, 1, -1, -1, std::string(""), {}});
        auto cr = call<kafka::OffsetCommitRequest, kafka::OffsetCommitResponse>(commit, v);
        ASSERT_EQ(cr.topics.size(), 2u);
        EXPECT_EQ(cr.topics[0].partitions[0].error_code, 0) << v;
        EXPECT_EQ(cr.topics[0].partitions[1].error_code, code(ErrorCode::unknown_topic_or_partition));
        EXPECT_EQ(cr.topics[1].partitions[0].error_code, code(ErrorCode::unknown_topic_or_partition));

        for (int16_t fv = 0; fv <= 9; ++fv) {
            kafka::OffsetFetchRequest fetch;
            if (fv >= 8) {
                auto& g = fetch.groups.emplace_back();
                g.group_id = group;
                g.topics.emplace().push_back({"t", {0, 1}, {}});
                auto& all = fetch.groups.emplace_back();
                all.group_id = group;
                all.topics = std::nullopt;   // every committed partition
            } else {
                fetch.group_id = group;
                fetch.topics.emplace().push_back({"t", {0, 1}, {}});
            }
            auto fr = call<kafka::OffsetFetchRequest, kafka::OffsetFetchResponse>(fetch, fv);
            int64_t offset0 = -1, offset1 = 0;
            std::string metadata;
            int32_t epoch = 0;
            if (fv >= 8) {
                ASSERT_EQ(fr.groups.size(), 2u);
                const auto& ps = fr.groups[0].topics.at(0).partitions;
                offset0 = ps.at(0).committed_offset;
                offset1 = ps.at(1).committed_offset;
                metadata = ps.at(0).metadata.value_or("?");
                epoch = ps.at(0).committed_leader_epoch;
                ASSERT_EQ(fr.groups[1].topics.size(), 1u);
                EXPECT_EQ(fr.groups[1].topics[0].partitions.size(), 1u);
            } else {
                const auto& ps = fr.topics.at(0).partitions;
                offset0 = ps.at(0).committed_offset;
                offset1 = ps.at(1).committed_offset;
                metadata = ps.at(0).metadata.value_or("?");
                epoch = ps.at(0).committed_leader_epoch;
            }
            EXPECT_EQ(offset0, 40 + v) << v << "/" << fv;
            EXPECT_EQ(offset1, -1);
            EXPECT_EQ(metadata, "md");
            if (fv >= 5) { EXPECT_EQ(epoch, v >= 6 ? 3 : -1) << v << "/" << fv; }
        }
    }
}

TEST_F(GroupHandlers, ListDeleteAndOffsetDelete) {
    kafka::OffsetCommitRequest commit;
    commit.group_id = "simple";
    commit.topics.push_back({"t", {{0, 5, -1, -1, std::string(""), {}}, {1, 6, -1, -1, std::string(""), {}}}, {}});
    call<kafka::OffsetCommitRequest, kafka::OffsetCommitResponse>(commit, 2);
    for (int16_t v = 0; v <= 5; ++v) {
        kafka::ListGroupsRequest lg;
        if (v >= 4) lg.states_filter = {"Empty"};
        auto l = call<kafka::ListGroupsRequest, kafka::ListGroupsResponse>(lg, v);
        ASSERT_EQ(l.groups.size(), 1u) << v;
        EXPECT_EQ(l.groups[0].group_id, "simple");
        if (v >= 4) { EXPECT_EQ(l.groups[0].group_state, "Empty"); }
        if (v >= 5) {
            lg.types_filter = {"consumer"};
            EXPECT_TRUE((call<kafka::ListGroupsRequest, kafka::ListGroupsResponse>(lg, v).groups.empty()));
        }
    }
    kafka::OffsetDeleteRequest od;
    od.group_id = "simple";
    od.topics.push_back({"t", {{0, {}}}, {}});
    od.topics.push_back({"missing", {{0, {}}}, {}});
    auto odr = call<kafka::OffsetDeleteRequest, kafka::OffsetDeleteResponse>(od, 0);
    EXPECT_EQ(odr.error_code, 0);
    ASSERT_EQ(odr.topics.size(), 2u);
    EXPECT_EQ(odr.topics[0].partitions.at(0).error_code, 0);
    EXPECT_EQ(odr.topics[1].partitions.at(0).error_code, code(ErrorCode::unknown_topic_or_partition));
    od.group_id = "unknown";
    EXPECT_EQ((call<kafka::OffsetDeleteRequest, kafka::OffsetDeleteResponse>(od, 0).error_code),
              code(ErrorCode::group_id_not_found));
    for (int16_t v = 0; v <= 2; ++v) {
        kafka::DeleteGroupsRequest dg;
        dg.groups_names = {"simple"};
        auto r = call<kafka::DeleteGroupsRequest, kafka::DeleteGroupsResponse>(dg, v);
        ASSERT_EQ(r.results.size(), 1u);
        EXPECT_EQ(r.results[0].error_code, code(v == 0 ? ErrorCode::none : ErrorCode::group_id_not_found)) << v;
    }
}

TEST_F(GroupHandlers, WaitingJoinIsAnsweredAtShutdown) {
    kafka::JoinGroupRequest join;
    join.group_id = "w";
    join.session_timeout_ms = 10000;
    join.rebalance_timeout_ms = 10000;
    join.protocol_type = "consumer";
    join.protocols.push_back({"range", kafka::Bytes(), {}});
    auto first = call<kafka::JoinGroupRequest, kafka::JoinGroupResponse>(join, 3);   // generation 1
    ASSERT_EQ(first.error_code, 0);
    auto waiting = send(join, 3);   // a second member: waits for the first to rejoin
    EXPECT_FALSE(waiting->response.has_value());
    broker.reset();
    auto resp = decode<kafka::JoinGroupResponse>(*waiting, 3, 0);
    EXPECT_EQ(resp.error_code, code(ErrorCode::not_coordinator));
}

// A memory engine whose metadata store holds back the coordinator's load (its scans of group and
// offset keys) until released, so the handlers can be seen answering while the coordinator loads.
class LoadGate final : public MetadataStore {
public:
    StorageErrc apply(std::span<const MetadataWrite> writes) override { return inner_.apply(writes); }
    std::vector<std::pair<std::string, std::string>> scan(std::string_view prefix) const override {
        if (prefix.starts_with("group/") || prefix.starts_with("offset/")) {
            std::unique_lock lock(mutex_);
            released_.wait(lock, [this] { return open_; });
        }
        return inner_.scan(prefix);
    }
    void release() {
        std::lock_guard lock(mutex_);
        open_ = true;
        released_.notify_all();
    }

private:
    InMemoryMetadataStore inner_;
    mutable std::mutex mutex_;
    mutable std::condition_variable released_;
    bool open_ = false;
};

class GatedEngine final : public StorageEngine {
public:
    GatedEngine() : inner_(StorageEngine::open("memory://", {})) {}
    ~GatedEngine() override { gate_.release(); }
    LoadGate& gate() { return gate_; }
    // Before a Broker is made over it: reads say they may block (the broker reads on its I/O threads),
    // and each calls `hook` first.
    void block_reads(std::function<void()> hook) { read_hook_ = std::move(hook); }
    bool reads_may_block() const override { return read_hook_ != nullptr; }

    StorageErrc create_topic(const std::string& n, int32_t p, const TopicConfig& c) override { return inner_->create_topic(n, p, c); }
    StorageErrc delete_topic(const std::string& n) override { return inner_->delete_topic(n); }
    StorageErrc create_partitions(const std::string& n, int32_t t) override { return inner_->create_partitions(n, t); }
    std::vector<TopicInfo> list_topics() const override { return inner_->list_topics(); }
    std::optional<TopicInfo> describe_topic(const std::string& n) const override { return inner_->describe_topic(n); }
    AppendResult append_batches(const TopicPartition& tp, std::span<const uint8_t> b) override { return inner_->append_batches(tp, b); }
    ReadResult read(const TopicPartition& tp, int64_t o, size_t m) const override {
        if (read_hook_) read_hook_();
        return inner_->read(tp, o, m);
    }
    PartitionOffsets offsets(const TopicPartition& tp) const override { return inner_->offsets(tp); }
    TimestampOffset offset_for_timestamp(const TopicPartition& tp, int64_t t) const override { return inner_->offset_for_timestamp(tp, t); }
    TimestampOffset max_timestamp(const TopicPartition& tp) const override { return inner_->max_timestamp(tp); }
    PartitionOffsets delete_records_before(const TopicPartition& tp, int64_t o) override { return inner_->delete_records_before(tp, o); }
    void set_append_listener(AppendListener l) override { inner_->set_append_listener(std::move(l)); }
    MetadataStore& metadata() override { return gate_; }
    void flush() override { inner_->flush(); }

private:
    std::unique_ptr<StorageEngine> inner_;
    LoadGate gate_;
    std::function<void()> read_hook_;
};

TEST_F(GroupHandlers, WhileLoadingFindCoordinatorIsNotAvailableAndGroupApisLoadInProgress) {
    broker.reset();
    auto engine = std::make_unique<GatedEngine>();
    LoadGate& gate = engine->gate();
    Config config;
    config.groups.initial_rebalance_delay_ms = 0;
    broker = std::make_unique<Broker>(config, std::move(engine));   // its timer thread now waits in load()
    kafka::Dispatcher gated;
    broker->register_handlers(gated);
    dispatcher = std::move(gated);
    ASSERT_TRUE(broker->coordinator().loading());

    for (int16_t v : {0, 3, 4, 6}) {
        kafka::FindCoordinatorRequest req;
        if (v >= 4) req.coordinator_keys = {"g"};
        else req.key = "g";
        auto resp = call<kafka::FindCoordinatorRequest, kafka::FindCoordinatorResponse>(req, v);
        EXPECT_EQ(v >= 4 ? resp.coordinators.at(0).error_code : resp.error_code,
                  code(ErrorCode::coordinator_not_available)) << v;
    }
    kafka::JoinGroupRequest join;
    join.group_id = "g";
    join.session_timeout_ms = 10000;
    join.rebalance_timeout_ms = 10000;
    join.protocol_type = "consumer";
    join.protocols.emplace_back().name = "range";
    auto joined = call<kafka::JoinGroupRequest, kafka::JoinGroupResponse>(join, 5);
    EXPECT_EQ(joined.error_code, code(ErrorCode::coordinator_load_in_progress));
    kafka::OffsetFetchRequest fetch;
    fetch.group_id = "g";
    auto fetched = call<kafka::OffsetFetchRequest, kafka::OffsetFetchResponse>(fetch, 3);
    EXPECT_EQ(fetched.error_code, code(ErrorCode::coordinator_load_in_progress));

    gate.release();
    for (int i = 0; i < 500 && broker->coordinator().loading(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_FALSE(broker->coordinator().loading());
    kafka::FindCoordinatorRequest req;
    req.key = "g";
    auto found = call<kafka::FindCoordinatorRequest, kafka::FindCoordinatorResponse>(req, 3);
    EXPECT_EQ(found.error_code, 0);
    EXPECT_EQ(found.node_id, 1);
}

TEST_F(GroupHandlers, FetchReadsItsPartitionsAlongsideEachOtherWhereReadsMayBlock) {
    // When partition_max_bytes add up to no more than max_bytes, the partitions' reads run on the I/O
    // threads at the same time (each waits here until all three are reading); otherwise one after the
    // other, each within what the ones before it left of max_bytes.
    broker.reset();
    auto engine = std::make_unique<GatedEngine>();
    engine->gate().release();
    std::mutex m;
    std::condition_variable changed;
    int reading = 0, arrived = 0, most_at_once = 0, saw_three = 0;
    bool meet = true;
    engine->block_reads([&] {
        std::unique_lock lock(m);
        most_at_once = std::max(most_at_once, ++reading);
        ++arrived;
        changed.notify_all();
        if (meet && changed.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == 3; })) ++saw_three;
        if (!meet) changed.wait_for(lock, std::chrono::milliseconds(5));   // room for another read to overlap
        --reading;
    });
    Config config;
    config.groups.initial_rebalance_delay_ms = 0;
    config.default_partitions = 3;
    config.io_threads = 4;
    broker = std::make_unique<Broker>(config, std::move(engine));
    broker->coordinator().load();
    kafka::Dispatcher blocking;
    broker->register_handlers(blocking);
    dispatcher = std::move(blocking);
    ASSERT_EQ(broker->find_topic("r", true).error, ErrorCode::none);
    kafka::ProduceRequest produce;
    produce.acks = 1;
    produce.timeout_ms = 1000;
    auto& td = produce.topic_data.emplace_back();
    td.name = "r";
    for (int32_t p = 0; p < 3; ++p) {
        auto& pd = td.partition_data.emplace_back();
        pd.index = p;
        pd.records = batch_of(-1, 0, 4 + p);
    }
    auto produced = call<kafka::ProduceRequest, kafka::ProduceResponse>(produce, 9);
    for (const auto& pr : produced.responses.at(0).partition_responses) ASSERT_EQ(pr.error_code, 0) << produced;

    const size_t batch_size = batch_of(-1, 0, 4).size();   // the batches are a few bytes apart in size
    auto fetch = [&](int32_t max_bytes) {
        kafka::FetchRequest req;
        req.replica_id = -1;
        req.max_wait_ms = 0;
        req.min_bytes = 1;
        req.max_bytes = max_bytes;
        auto& t = req.topics.emplace_back();
        t.topic = "r";
        for (int32_t p = 0; p < 3; ++p) {
            auto& fp = t.partitions.emplace_back();
            fp.partition = p;
            fp.fetch_offset = 0;
            fp.partition_max_bytes = 1 << 20;
        }
        return call<kafka::FetchRequest, kafka::FetchResponse>(req, 11);
    };
    auto parallel = fetch(3 << 20);
    EXPECT_EQ(saw_three, 3);
    EXPECT_EQ(most_at_once, 3);
    for (int32_t p = 0; p < 3; ++p) {
        const auto& pr = parallel.responses.at(0).partitions.at(static_cast<size_t>(p));
        EXPECT_EQ(pr.partition_index, p);
        EXPECT_EQ(pr.error_code, 0);
        EXPECT_EQ(pr.high_watermark, 4 + p);
        EXPECT_EQ(pr.records ? pr.records->size() : 0, batch_of(-1, 0, 4 + p).size()) << p;
    }

    {
        std::lock_guard lock(m);
        meet = false;
        most_at_once = 0;
    }
    // Room for the first partition's batch and half the second's: the second is given that half, and
    // gets its first batch whole as any read does (StorageEngine::read); that spends the budget, and the
    // third is only told its offsets.
    auto serial = fetch(static_cast<int32_t>(batch_size + batch_size / 2));
    EXPECT_EQ(most_at_once, 1);
    const auto& parts = serial.responses.at(0).partitions;
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0].records ? parts[0].records->size() : 0, batch_size);
    EXPECT_EQ(parts[1].records ? parts[1].records->size() : 0, batch_of(-1, 0, 5).size());
    EXPECT_EQ(parts[2].records ? parts[2].records->size() : 0, 0u);
    for (int32_t p = 0; p < 3; ++p) {
        EXPECT_EQ(parts[static_cast<size_t>(p)].error_code, 0);
        EXPECT_EQ(parts[static_cast<size_t>(p)].high_watermark, 4 + p);
    }
}

} // namespace
} // namespace gateway
