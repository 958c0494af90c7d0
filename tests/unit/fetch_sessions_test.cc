#include "gateway/fetch_sessions.h"

#include <gtest/gtest.h>

namespace gateway {
namespace {

using Clock = FetchSessions::Clock;

kafka::FetchRequest::FetchPartition part(int32_t p, int64_t offset, int32_t max_bytes = 1 << 20) {
    kafka::FetchRequest::FetchPartition fp;
    fp.partition = p;
    fp.fetch_offset = offset;
    fp.partition_max_bytes = max_bytes;
    return fp;
}

kafka::FetchRequest request(int32_t id, int32_t epoch,
                            std::vector<std::pair<std::string, std::vector<kafka::FetchRequest::FetchPartition>>> topics) {
    kafka::FetchRequest r;
    r.session_id = id;
    r.session_epoch = epoch;
    for (auto& [name, parts] : topics) {
        auto& t = r.topics.emplace_back();
        t.topic = name;
        t.partitions = std::move(parts);
    }
    return r;
}

// A response to the (rewritten) request: every partition, with the given high watermark and no records.
kafka::FetchResponse answer(const kafka::FetchRequest& req, int64_t hw) {
    kafka::FetchResponse resp;
    for (const auto& t : req.topics) {
        auto& tr = resp.responses.emplace_back();
        tr.topic = t.topic;
        tr.topic_id = t.topic_id;
        for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition;
            pr.high_watermark = hw;
            pr.last_stable_offset = hw;
            pr.log_start_offset = 0;
            pr.records = kafka::Bytes();
        }
    }
    return resp;
}

size_t partitions(const kafka::FetchResponse& r) {
    size_t n = 0;
    for (const auto& t : r.responses) n += t.partitions.size();
    return n;
}

size_t partitions(const kafka::FetchRequest& r) {
    size_t n = 0;
    for (const auto& t : r.topics) n += t.partitions.size();
    return n;
}

TEST(FetchSessions, SessionlessAndOldVersionsGetNoSession) {
    FetchSessions cache;
    auto r = request(0, -1, {{"a", {part(0, 0)}}});
    auto ctx = cache.begin(r, 12);
    EXPECT_EQ(ctx.error, ErrorCode::none);
    EXPECT_EQ(ctx.session_id, 0);
    EXPECT_FALSE(ctx.session);
    auto old = request(0, 0, {{"a", {part(0, 0)}}});
    EXPECT_EQ(cache.begin(old, 6).session_id, 0);   // v6 has no sessions, whatever the fields say
    EXPECT_EQ(cache.size(), 0u);
}

TEST(FetchSessions, IncrementalFetchCarriesOnlyChangesBothWays) {
    FetchSessions cache;
    auto full = request(0, 0, {{"a", {part(0, 10), part(1, 20)}}, {"b", {part(0, 30)}}});
    auto ctx = cache.begin(full, 12);
    ASSERT_NE(ctx.session_id, 0);
    auto resp = answer(full, 100);
    cache.finish(ctx, resp);
    EXPECT_EQ(resp.session_id, ctx.session_id);
    EXPECT_EQ(partitions(resp), 3u);   // a full response carries everything

    // Epoch 1 names only a-1 (it moved on); the read covers all three partitions at their positions.
    auto inc = request(ctx.session_id, 1, {{"a", {part(1, 25)}}});
    auto ictx = cache.begin(inc, 12);
    ASSERT_EQ(ictx.error, ErrorCode::none);
    EXPECT_TRUE(ictx.incremental);
    ASSERT_EQ(partitions(inc), 3u);
    EXPECT_EQ(inc.topics[0].topic, "a");
    EXPECT_EQ(inc.topics[0].partitions[1].fetch_offset, 25);
    EXPECT_EQ(inc.topics[1].topic, "b");
    EXPECT_EQ(inc.topics[1].partitions[0].fetch_offset, 30);

    // Nothing changed but b-0's high watermark: only b-0 is answered.
    auto iresp = answer(inc, 100);
    iresp.responses[1].partitions[0].high_watermark = 101;
    cache.finish(ictx, iresp);
    ASSERT_EQ(iresp.responses.size(), 1u);
    EXPECT_EQ(iresp.responses[0].topic, "b");
    EXPECT_EQ(partitions(iresp), 1u);

    // Records and errors are always answered.
    auto inc2 = request(ctx.session_id, 2, {});
    auto ictx2 = cache.begin(inc2, 12);
    auto iresp2 = answer(inc2, 100);
    iresp2.responses[1].partitions[0].high_watermark = 101;
    static const uint8_t data[] = {1, 2, 3};
    iresp2.responses[0].partitions[0].records = kafka::Bytes::copy_of(std::span<const uint8_t>(data, sizeof data));
    iresp2.responses[0].partitions[1].error_code = code(ErrorCode::unknown_topic_or_partition);
    cache.finish(ictx2, iresp2);
    EXPECT_EQ(partitions(iresp2), 2u);
}

TEST(FetchSessions, ForgottenPartitionsLeaveTheSession) {
    FetchSessions cache;
    auto full = request(0, 0, {{"a", {part(0, 0), part(1, 0)}}, {"b", {part(0, 0)}}});
    auto ctx = cache.begin(full, 9);
    auto resp = answer(full, 5);
    cache.finish(ctx, resp);

    auto inc = request(ctx.session_id, 1, {{"c", {part(2, 7)}}});
    auto& f = inc.forgotten_topics_data.emplace_back();
    f.topic = "a";
    f.partitions = {0};
    auto ictx = cache.begin(inc, 9);
    ASSERT_EQ(ictx.error, ErrorCode::none);
    ASSERT_EQ(partitions(inc), 3u);   // a-1, b-0, c-2
    EXPECT_EQ(inc.topics[0].topic, "a");
    EXPECT_EQ(inc.topics[0].partitions[0].partition, 1);
    EXPECT_EQ(inc.topics[2].topic, "c");
    // The new partition is news to the client even with nothing in it.
    auto iresp = answer(inc, 5);
    cache.finish(ictx, iresp);
    ASSERT_EQ(partitions(iresp), 1u);
    EXPECT_EQ(iresp.responses[0].topic, "c");
}

TEST(FetchSessions, PartitionsThatReturnedRecordsMoveToTheEnd) {
    // As Kafka: the next read starts with the partitions that returned nothing last time.
    FetchSessions cache;
    auto full = request(0, 0, {{"a", {part(0, 0), part(1, 0), part(2, 0)}}});
    auto ctx = cache.begin(full, 12);
    auto resp = answer(full, 5);
    cache.finish(ctx, resp);

    auto inc = request(ctx.session_id, 1, {});
    auto ictx = cache.begin(inc, 12);
    ASSERT_EQ(partitions(inc), 3u);
    auto iresp = answer(inc, 5);
    static const uint8_t data[] = {1, 2, 3};
    iresp.responses[0].partitions[0].records = kafka::Bytes::copy_of(std::span<const uint8_t>(data, sizeof data));   // a-0
    cache.finish(ictx, iresp);

    auto next = request(ctx.session_id, 2, {});
    cache.begin(next, 12);
    ASSERT_EQ(partitions(next), 3u);
    EXPECT_EQ(next.topics[0].partitions[0].partition, 1);
    EXPECT_EQ(next.topics[0].partitions[1].partition, 2);
    EXPECT_EQ(next.topics[0].partitions[2].partition, 0);
}

TEST(FetchSessions, ForgottenPartitionsCountAsSetAsideUntilAddedBackOrForASecond) {
    FetchSessions cache;
    const auto t0 = Clock::now();
    auto full = request(0, 0, {{"a", {part(0, 0), part(1, 0)}}});
    auto ctx = cache.begin(full, 12, t0);
    EXPECT_FALSE(ctx.partitions_set_aside);
    auto resp = answer(full, 5);
    cache.finish(ctx, resp);

    // The consumer holds a-0's records: it forgets a-0 and asks for a-1 only.
    auto inc = request(ctx.session_id, 1, {});
    auto& f = inc.forgotten_topics_data.emplace_back();
    f.topic = "a";
    f.partitions = {0};
    auto ictx = cache.begin(inc, 12, t0);
    EXPECT_TRUE(ictx.partitions_set_aside);

    auto still = request(ctx.session_id, 2, {});
    EXPECT_TRUE(cache.begin(still, 12, t0 + std::chrono::milliseconds(900)).partitions_set_aside);

    auto back = request(ctx.session_id, 3, {{"a", {part(0, 5)}}});   // used up, fetched again
    EXPECT_FALSE(cache.begin(back, 12, t0 + std::chrono::milliseconds(950)).partitions_set_aside);

    // One forgotten and never added back (a paused partition) stops counting after a second.
    auto paused = request(ctx.session_id, 4, {});
    auto& pf = paused.forgotten_topics_data.emplace_back();
    pf.topic = "a";
    pf.partitions = {1};
    EXPECT_TRUE(cache.begin(paused, 12, t0 + std::chrono::seconds(2)).partitions_set_aside);
    auto later = request(ctx.session_id, 5, {});
    EXPECT_FALSE(cache.begin(later, 12, t0 + std::chrono::seconds(3)).partitions_set_aside);
}

TEST(FetchSessions, EpochAndIdErrors) {
    FetchSessions cache;
    auto full = request(0, 0, {{"a", {part(0, 0)}}});
    auto ctx = cache.begin(full, 12);
    auto resp = answer(full, 0);
    cache.finish(ctx, resp);

    auto skipped = request(ctx.session_id, 2, {});
    EXPECT_EQ(cache.begin(skipped, 12).error, ErrorCode::invalid_fetch_session_epoch);
    auto unknown = request(ctx.session_id + 1, 1, {});
    EXPECT_EQ(cache.begin(unknown, 12).error, ErrorCode::fetch_session_id_not_found);
    auto no_id = request(0, 3, {});
    EXPECT_EQ(cache.begin(no_id, 12).error, ErrorCode::invalid_fetch_session_epoch);
    auto switched = request(ctx.session_id, 1, {});
    EXPECT_EQ(cache.begin(switched, 13).error, ErrorCode::fetch_session_topic_id_error);

    auto good = request(ctx.session_id, 1, {});
    EXPECT_EQ(cache.begin(good, 12).error, ErrorCode::none);
    auto replayed = request(ctx.session_id, 1, {});   // a retry of an answered epoch
    EXPECT_EQ(cache.begin(replayed, 12).error, ErrorCode::invalid_fetch_session_epoch);

    // Epoch -1 closes the session; the next incremental fetch does not find it.
    auto close = request(ctx.session_id, -1, {{"a", {part(0, 0)}}});
    auto cctx = cache.begin(close, 12);
    EXPECT_EQ(cctx.session_id, 0);
    EXPECT_EQ(cache.size(), 0u);
    auto after = request(ctx.session_id, 2, {});
    EXPECT_EQ(cache.begin(after, 12).error, ErrorCode::fetch_session_id_not_found);
}

TEST(FetchSessions, TopicIdsKeyTheSessionFromV13) {
    FetchSessions cache;
    kafka::Uuid id;
    id.bytes[0] = 7;
    auto full = request(0, 0, {{"", {part(0, 0), part(1, 0)}}});
    full.topics[0].topic_id = id;
    auto ctx = cache.begin(full, 13);
    auto resp = answer(full, 3);
    cache.finish(ctx, resp);

    auto inc = request(ctx.session_id, 1, {{"", {part(1, 2)}}});
    inc.topics[0].topic_id = id;
    auto ictx = cache.begin(inc, 13);
    ASSERT_EQ(ictx.error, ErrorCode::none);
    ASSERT_EQ(partitions(inc), 2u);
    EXPECT_EQ(inc.topics[0].topic_id, id);
    EXPECT_EQ(inc.topics[0].partitions[1].fetch_offset, 2);
}

TEST(FetchSessions, FullCacheRefusesNewSessionsUntilOneIsIdle) {
    FetchSessions cache(2, std::chrono::seconds(60));
    const auto t0 = Clock::now();
    auto r1 = request(0, 0, {{"a", {part(0, 0)}}});
    auto r2 = request(0, 0, {{"a", {part(0, 0)}}});
    auto r3 = request(0, 0, {{"a", {part(0, 0)}}});
    auto c1 = cache.begin(r1, 12, t0);
    auto c2 = cache.begin(r2, 12, t0 + std::chrono::seconds(30));
    EXPECT_NE(c1.session_id, 0);
    EXPECT_NE(c2.session_id, 0);
    EXPECT_NE(c1.session_id, c2.session_id);
    EXPECT_EQ(cache.begin(r3, 12, t0 + std::chrono::seconds(40)).session_id, 0);   // full, nobody idle
    auto c3 = cache.begin(r3, 12, t0 + std::chrono::seconds(61));                   // session 1 idled out
    EXPECT_NE(c3.session_id, 0);
    EXPECT_EQ(cache.size(), 2u);
    auto gone = request(c1.session_id, 1, {});
    EXPECT_EQ(cache.begin(gone, 12).error, ErrorCode::fetch_session_id_not_found);
    auto kept = request(c2.session_id, 1, {});
    EXPECT_EQ(cache.begin(kept, 12).error, ErrorCode::none);
}

} // namespace
} // namespace gateway
