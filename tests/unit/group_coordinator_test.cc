// The group coordinator's state machine, driven by a fake clock (no sleeps, no timer thread):
// join/sync barriers, timeouts, static membership, errors, persistence and reload.
#include "gateway/coordinator/group_coordinator.h"
#include "gateway/coordinator/group_records.h"
#include "generated/consumer_protocol_subscription.h"
#include "runtime/writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace gateway {
namespace {

constexpr int32_t session = 10000;
constexpr int32_t rebalance = 30000;

std::string subscription(const std::vector<std::string>& topics) {
    kafka::ConsumerProtocolSubscription s;
    s.topics = topics;
    kafka::Writer w;
    w.write_int16(1);
    s.encode(w, 1);
    auto flat = w.flatten();
    return std::string(flat.begin(), flat.end());
}

OffsetToCommit off(const std::string& topic, int32_t partition, int64_t offset, int32_t epoch, std::string metadata) {
    OffsetToCommit o;
    o.tp.topic = topic;
    o.tp.partition = partition;
    o.offset = offset;
    o.leader_epoch = epoch;
    o.metadata = std::move(metadata);
    return o;
}

CommitRequest creq(const std::string& group, int32_t generation, const std::string& member,
                   std::optional<std::string> instance, std::vector<OffsetToCommit> offsets) {
    CommitRequest r;
    r.group_id = group;
    r.generation_id = generation;
    r.member_id = member;
    r.group_instance_id = std::move(instance);
    r.offsets = std::move(offsets);
    return r;
}

GroupOptions no_initial_delay() {
    GroupOptions o;
    o.initial_rebalance_delay_ms = 0;
    return o;
}

class Coordinator : public ::testing::Test {
protected:
    int64_t now = 1'000'000;
    InMemoryMetadataStore store;
    GroupOptions options = no_initial_delay();
    std::unique_ptr<GroupCoordinator> c;

    void make() {
        c = std::make_unique<GroupCoordinator>(store, options, [this] { return now; });
        c->load();
    }
    void SetUp() override { make(); }
    void at(int64_t t) {
        now = t;
        c->advance();
        c->wait_for_store_writes();   // a group record a rebalance stored: its effects, as in one step
    }
    void after(int64_t ms) { at(now + ms); }

    using JoinSlot = std::shared_ptr<std::optional<JoinResult>>;
    using SyncSlot = std::shared_ptr<std::optional<SyncResult>>;

    JoinRequest request(const std::string& member, std::vector<GroupProtocol> protocols = {{"range", "m"}},
                        std::optional<std::string> instance = std::nullopt, const std::string& group = "g") {
        JoinRequest r;
        r.group_id = group;
        r.member_id = member;
        r.group_instance_id = std::move(instance);
        r.client_id = "client";
        r.client_host = "/127.0.0.1";
        r.session_timeout_ms = session;
        r.rebalance_timeout_ms = rebalance;
        r.protocol_type = "consumer";
        r.protocols = std::move(protocols);
        return r;
    }
    JoinSlot join(JoinRequest r) {
        auto slot = std::make_shared<std::optional<JoinResult>>();
        c->join(std::move(r), [slot](const JoinResult& res) {
            ASSERT_FALSE(slot->has_value()) << "answered twice";
            *slot = res;
        });
        return slot;
    }
    SyncSlot sync(const std::string& member, int32_t generation,
                  std::vector<std::pair<std::string, std::string>> assignments = {}, const std::string& group = "g") {
        SyncRequest r;
        r.group_id = group;
        r.generation_id = generation;
        r.member_id = member;
        r.assignments = std::move(assignments);
        auto slot = std::make_shared<std::optional<SyncResult>>();
        c->sync(std::move(r), [slot](const SyncResult& res) {
            ASSERT_FALSE(slot->has_value()) << "answered twice";
            *slot = res;
        });
        c->wait_for_store_writes();   // the leader's: the group's record stored, the members answered
        return slot;
    }
    ErrorCode heartbeat(const std::string& member, int32_t generation,
                        std::optional<std::string> instance = std::nullopt) {
        return c->heartbeat({"g", generation, member, std::move(instance)});
    }
    std::string state(const std::string& group = "g") { return c->describe(group).state; }

    // A new dynamic member (no MEMBER_ID_REQUIRED round) whose join completes at once (delay 0).
    std::string join_alone(const std::vector<GroupProtocol>& protocols = {{"range", "m"}}) {
        auto j = join(request("", protocols));
        EXPECT_TRUE(j->has_value());
        EXPECT_EQ((*j)->error, ErrorCode::none);
        return (*j)->member_id;
    }

    // Two dynamic members a (leader) and b in a Stable group at generation 2, assignments "A" and "B".
    std::pair<std::string, std::string> stable_pair(const std::vector<GroupProtocol>& protocols = {{"range", "m"}}) {
        std::string a = join_alone(protocols);   // generation 1: a alone
        EXPECT_EQ(state(), "CompletingRebalance");
        auto jb = join(request("", protocols));   // rebalance; a must rejoin
        EXPECT_FALSE(jb->has_value());
        auto ja = join(request(a, protocols));
        EXPECT_TRUE(ja->has_value() && jb->has_value());
        EXPECT_EQ((*ja)->generation_id, 2);
        std::string b = (*jb)->member_id;
        auto sb = sync(b, 2);
        auto sa = sync(a, 2, {{a, "A"}, {b, "B"}});
        EXPECT_TRUE(sa->has_value() && sb->has_value());
        EXPECT_EQ((*sb)->assignment, "B");
        EXPECT_EQ(state(), "Stable");
        return {a, b};
    }
};

TEST_F(Coordinator, SingleMemberJoinSyncWithMemberIdRequired) {
    JoinRequest r = request("");
    r.require_known_member_id = true;
    auto first = join(r);
    ASSERT_TRUE(first->has_value());
    EXPECT_EQ((*first)->error, ErrorCode::member_id_required);
    const std::string id = (*first)->member_id;
    EXPECT_EQ(id.rfind("client-", 0), 0u);

    r.member_id = id;
    auto second = join(r);
    ASSERT_TRUE(second->has_value());
    const JoinResult& j = **second;
    EXPECT_EQ(j.error, ErrorCode::none);
    EXPECT_EQ(j.generation_id, 1);
    EXPECT_EQ(j.leader, id);
    EXPECT_EQ(j.member_id, id);
    EXPECT_EQ(j.protocol_type, "consumer");
    EXPECT_EQ(j.protocol_name, "range");
    ASSERT_EQ(j.members.size(), 1u);
    EXPECT_EQ(j.members[0].metadata, "m");

    auto s = sync(id, 1, {{id, "assignment"}});
    ASSERT_TRUE(s->has_value());
    EXPECT_EQ((*s)->error, ErrorCode::none);
    EXPECT_EQ((*s)->assignment, "assignment");
    EXPECT_EQ((*s)->protocol_name, "range");
    EXPECT_EQ(state(), "Stable");
    EXPECT_EQ(heartbeat(id, 1), ErrorCode::none);
    GroupDescription d = c->describe("g");
    ASSERT_EQ(d.members.size(), 1u);
    EXPECT_EQ(d.members[0].assignment, "assignment");
    EXPECT_EQ(d.protocol, "range");
}

TEST_F(Coordinator, PendingMemberExpiresAfterSessionTimeout) {
    JoinRequest r = request("");
    r.require_known_member_id = true;
    auto first = join(r);
    const std::string id = (*first)->member_id;
    after(session + 1);
    r.member_id = id;
    auto late = join(r);
    ASSERT_TRUE(late->has_value());
    EXPECT_EQ((*late)->error, ErrorCode::unknown_member_id);
}

TEST_F(Coordinator, ThreeMembersWithInitialDelayExtendedWhileMembersJoin) {
    options.initial_rebalance_delay_ms = 3000;
    make();
    auto j1 = join(request(""));
    after(1000);
    auto j2 = join(request(""));
    auto j3 = join(request(""));
    EXPECT_EQ(state(), "PreparingRebalance");
    after(2000);   // t = 3000: members were added during the delay -> extended by another 3000
    EXPECT_FALSE(j1->has_value());
    after(2999);
    EXPECT_FALSE(j1->has_value());
    after(1);
    ASSERT_TRUE(j1->has_value() && j2->has_value() && j3->has_value());
    EXPECT_EQ(state(), "CompletingRebalance");
    const std::string leader = (*j1)->leader;
    int with_members = 0;
    for (const auto& j : {j1, j2, j3}) {
        EXPECT_EQ((*j)->error, ErrorCode::none);
        EXPECT_EQ((*j)->generation_id, 1);
        EXPECT_EQ((*j)->leader, leader);
        if (!(*j)->members.empty()) {
            ++with_members;
            EXPECT_EQ((*j)->member_id, leader);
            EXPECT_EQ((*j)->members.size(), 3u);
        }
    }
    EXPECT_EQ(with_members, 1);

    std::vector<std::string> followers;
    for (const auto& j : {j1, j2, j3})
        if ((*j)->member_id != leader) followers.push_back((*j)->member_id);
    auto s1 = sync(followers[0], 1);
    auto s2 = sync(followers[1], 1);
    EXPECT_FALSE(s1->has_value());
    // The leader leaves followers[1] out: it gets empty bytes.
    auto sl = sync(leader, 1, {{leader, "L"}, {followers[0], "F0"}});
    ASSERT_TRUE(s1->has_value() && s2->has_value() && sl->has_value());
    EXPECT_EQ((*sl)->assignment, "L");
    EXPECT_EQ((*s1)->assignment, "F0");
    EXPECT_EQ((*s2)->assignment, "");
    EXPECT_EQ((*s2)->error, ErrorCode::none);
    EXPECT_EQ(state(), "Stable");
}

TEST_F(Coordinator, InitialDelayWithoutNewMembersCompletesAfterOneDelay) {
    options.initial_rebalance_delay_ms = 3000;
    make();
    auto j = join(request(""));
    after(2999);
    EXPECT_FALSE(j->has_value());
    after(1);
    ASSERT_TRUE(j->has_value());
    EXPECT_EQ((*j)->generation_id, 1);
}

TEST_F(Coordinator, InitialDelayIsCappedAtTheRebalanceTimeout) {
    options.initial_rebalance_delay_ms = 3000;
    make();
    auto first = join(request(""));
    // A new member every 2.5 s would extend the delay forever; the rebalance timeout (30 s) caps it.
    int64_t start = now;
    while (!first->has_value() && now - start < 60000) {
        join(request(""));
        after(2500);
    }
    ASSERT_TRUE(first->has_value());
    EXPECT_EQ(now - start, rebalance);
}

TEST_F(Coordinator, SessionExpiryRemovesMemberAndRebalances) {
    auto [a, b] = stable_pair();
    after(session / 2);
    EXPECT_EQ(heartbeat(a, 2), ErrorCode::none);
    after(session / 2 + 1);   // b's session is over; a heartbeated half-way
    EXPECT_EQ(state(), "PreparingRebalance");
    EXPECT_EQ(heartbeat(b, 2), ErrorCode::unknown_member_id);
    EXPECT_EQ(heartbeat(a, 2), ErrorCode::rebalance_in_progress);
    auto ja = join(request(a));
    ASSERT_TRUE(ja->has_value());
    EXPECT_EQ((*ja)->generation_id, 3);
    EXPECT_EQ((*ja)->members.size(), 1u);
}

TEST_F(Coordinator, RebalanceTimeoutRemovesMemberThatDoesNotRejoin) {
    auto [a, b] = stable_pair();
    auto ja = join(request(a));   // the leader rejoins: rebalance
    EXPECT_FALSE(ja->has_value());
    EXPECT_EQ(heartbeat(b, 2), ErrorCode::rebalance_in_progress);   // b heartbeats but never rejoins
    for (int i = 0; i < 5; ++i) {
        after(rebalance / 5 - 1);
        heartbeat(b, 2);
    }
    EXPECT_FALSE(ja->has_value());
    after(5);
    ASSERT_TRUE(ja->has_value());
    EXPECT_EQ((*ja)->generation_id, 3);
    ASSERT_EQ((*ja)->members.size(), 1u);
    EXPECT_EQ((*ja)->members[0].member_id, a);
    EXPECT_EQ(heartbeat(b, 3), ErrorCode::unknown_member_id);
}

TEST_F(Coordinator, MemberThatDoesNotSyncIsRemoved) {
    auto [a, b] = stable_pair();
    auto ja = join(request(a));
    auto jb = join(request(b));
    ASSERT_TRUE(ja->has_value() && jb->has_value());
    auto sa = sync(a, 3, {{a, "A3"}, {b, "B3"}});
    ASSERT_TRUE(sa->has_value());
    for (int i = 0; i < 5; ++i) {   // both heartbeat, but b never sends SyncGroup for generation 3
        after(rebalance / 6);
        EXPECT_EQ(heartbeat(a, 3), ErrorCode::none);
        EXPECT_EQ(heartbeat(b, 3), ErrorCode::none);
    }
    after(rebalance / 6);
    EXPECT_EQ(state(), "PreparingRebalance");
    EXPECT_EQ(heartbeat(b, 3), ErrorCode::unknown_member_id);
    EXPECT_EQ(heartbeat(a, 3), ErrorCode::rebalance_in_progress);
}

TEST_F(Coordinator, CooperativeRejoinRightAfterSync) {
    auto [a, b] = stable_pair({{"cooperative-sticky", "v1"}});
    // a revoked partitions and rejoins at once with new metadata (second cooperative rebalance).
    auto ja = join(request(a, {{"cooperative-sticky", "v2"}}));
    EXPECT_FALSE(ja->has_value());
    EXPECT_EQ(heartbeat(b, 2), ErrorCode::rebalance_in_progress);
    auto jb = join(request(b, {{"cooperative-sticky", "v1"}}));
    ASSERT_TRUE(ja->has_value() && jb->has_value());
    EXPECT_EQ((*ja)->generation_id, 3);
    auto sb = sync(b, 3);
    auto sa = sync(a, 3, {{a, "A"}, {b, "B"}});
    ASSERT_TRUE(sb->has_value());
    EXPECT_EQ((*sb)->error, ErrorCode::none);
    EXPECT_EQ((*sb)->assignment, "B");
    EXPECT_EQ(state(), "Stable");
}

TEST_F(Coordinator, FollowerRejoiningUnchangedInStableGetsCurrentGeneration) {
    auto [a, b] = stable_pair();
    auto jb = join(request(b));
    ASSERT_TRUE(jb->has_value());
    EXPECT_EQ((*jb)->generation_id, 2);
    EXPECT_TRUE((*jb)->members.empty());
    EXPECT_EQ(state(), "Stable");
}

TEST_F(Coordinator, LeaveSingleAndBatch) {
    auto [a, b] = stable_pair();
    LeaveResult one = c->leave("g", {{b, std::nullopt}});
    EXPECT_EQ(one.error, ErrorCode::none);
    ASSERT_EQ(one.members.size(), 1u);
    EXPECT_EQ(one.members[0], ErrorCode::none);
    EXPECT_EQ(state(), "PreparingRebalance");
    auto ja = join(request(a));
    ASSERT_TRUE(ja->has_value());
    EXPECT_EQ((*ja)->members.size(), 1u);

    LeaveResult batch = c->leave("g", {{a, std::nullopt}, {"nobody", std::nullopt}, {"", std::string("no-instance")}});
    ASSERT_EQ(batch.members.size(), 3u);
    EXPECT_EQ(batch.members[0], ErrorCode::none);
    EXPECT_EQ(batch.members[1], ErrorCode::unknown_member_id);
    EXPECT_EQ(batch.members[2], ErrorCode::unknown_member_id);
    EXPECT_EQ(state(), "Empty");
    EXPECT_EQ(c->leave("missing", {{"x", std::nullopt}}).members.at(0), ErrorCode::unknown_member_id);
}

TEST_F(Coordinator, LeaveByInstanceIdRemovesStaticMember) {
    auto j = join(request("", {{"range", "m"}}, "i1"));
    ASSERT_TRUE(j->has_value());
    LeaveResult r = c->leave("g", {{"", std::string("i1")}});
    EXPECT_EQ(r.members.at(0), ErrorCode::none);
    EXPECT_EQ(c->describe("g").members.size(), 0u);
}

class StaticMembers : public Coordinator {
protected:
    std::string s1, s2;
    void SetUp() override {
        Coordinator::SetUp();
        auto j1 = join(request("", {{"range", "m1"}}, "i1"));
        s1 = (*j1)->member_id;
        EXPECT_EQ(s1.rfind("i1-", 0), 0u);
        auto j2 = join(request("", {{"range", "m2"}}, "i2"));
        auto jr = join(request(s1, {{"range", "m1"}}, "i1"));
        ASSERT_TRUE(j2->has_value() && jr->has_value());
        s2 = (*j2)->member_id;
        auto ss2 = sync(s2, 2);
        auto ss1 = sync(s1, 2, {{s1, "A1"}, {s2, "A2"}});
        ASSERT_TRUE(ss2->has_value());
        ASSERT_EQ(state(), "Stable");
    }
};

TEST_F(StaticMembers, RejoinWithUnknownIdReplacesWithoutRebalanceAndFencesOldId) {
    auto j = join(request("", {{"range", "m2"}}, "i2"));   // s2 restarted, lost its member id
    ASSERT_TRUE(j->has_value());
    const JoinResult& r = **j;
    EXPECT_EQ(r.error, ErrorCode::none);
    EXPECT_NE(r.member_id, s2);
    EXPECT_EQ(r.generation_id, 2);   // no rebalance
    EXPECT_EQ(r.leader, s1);
    EXPECT_FALSE(r.skip_assignment);
    EXPECT_EQ(state(), "Stable");
    auto s = sync(r.member_id, 2);
    ASSERT_TRUE(s->has_value());
    EXPECT_EQ((*s)->assignment, "A2");   // its previous assignment
    EXPECT_EQ(heartbeat(s2, 2, "i2"), ErrorCode::fenced_instance_id);
    EXPECT_EQ(heartbeat(r.member_id, 2, "i2"), ErrorCode::none);
    EXPECT_EQ(heartbeat(s1, 2, "i1"), ErrorCode::none);
    // The old id cannot rejoin or commit either.
    auto old = join(request(s2, {{"range", "m2"}}, "i2"));
    EXPECT_EQ((*old)->error, ErrorCode::fenced_instance_id);
    CommitRequest cr = creq("g", 2, s2, std::string("i2"), {off("t", 0, 5, -1, "")});
    EXPECT_EQ(c->commit(cr).at(0), ErrorCode::fenced_instance_id);
    // The replacement is persisted: a restart knows the new id.
    make();
    EXPECT_EQ(heartbeat(r.member_id, 2, "i2"), ErrorCode::none);
}

TEST_F(StaticMembers, LeaderRejoiningAtV9GetsMembersAndSkipsAssignment) {
    JoinRequest req = request("", {{"range", "m1"}}, "i1");
    req.supports_skip_assignment = true;
    auto j = join(req);
    ASSERT_TRUE(j->has_value());
    EXPECT_EQ((*j)->generation_id, 2);
    EXPECT_TRUE((*j)->skip_assignment);
    EXPECT_EQ((*j)->leader, (*j)->member_id);
    EXPECT_EQ((*j)->members.size(), 2u);
    EXPECT_EQ(state(), "Stable");
}

TEST_F(Coordinator, ErrorsClientsExpect) {
    auto [a, b] = stable_pair();
    EXPECT_EQ(heartbeat(a, 1), ErrorCode::illegal_generation);
    EXPECT_EQ(heartbeat("stranger", 2), ErrorCode::unknown_member_id);
    EXPECT_EQ(c->heartbeat({"nogroup", 1, "x", std::nullopt}), ErrorCode::unknown_member_id);
    EXPECT_EQ((*sync(a, 7))->error, ErrorCode::illegal_generation);
    EXPECT_EQ((*sync("stranger", 2))->error, ErrorCode::unknown_member_id);
    EXPECT_EQ((*join(request("stranger")))->error, ErrorCode::unknown_member_id);
    EXPECT_EQ((*join(request("x", {{"range", "m"}}, std::nullopt, "nogroup")))->error, ErrorCode::unknown_member_id);

    // Protocol type mismatch and no common protocol.
    JoinRequest other = request("");
    other.protocol_type = "connect";
    EXPECT_EQ((*join(other))->error, ErrorCode::inconsistent_group_protocol);
    EXPECT_EQ((*join(request("", {{"sticky", "m"}})))->error, ErrorCode::inconsistent_group_protocol);
    JoinRequest none = request("", {}, std::nullopt, "fresh");
    EXPECT_EQ((*join(none))->error, ErrorCode::inconsistent_group_protocol);

    // SyncGroup v5 protocol checks.
    SyncRequest sr;
    sr.group_id = "g";
    sr.generation_id = 2;
    sr.member_id = b;
    sr.protocol_type = "consumer";
    sr.protocol_name = "roundrobin";
    std::optional<SyncResult> got;
    c->sync(sr, [&](const SyncResult& r) { got = r; });
    EXPECT_EQ(got->error, ErrorCode::inconsistent_group_protocol);
    sr.protocol_name = "range";
    got.reset();
    c->sync(sr, [&](const SyncResult& r) { got = r; });
    EXPECT_EQ(got->error, ErrorCode::none);
    EXPECT_EQ(got->assignment, "B");

    // Session timeout bounds.
    JoinRequest low = request("");
    low.session_timeout_ms = 5999;
    EXPECT_EQ((*join(low))->error, ErrorCode::invalid_session_timeout);
    JoinRequest high = request("");
    high.session_timeout_ms = 1800001;
    EXPECT_EQ((*join(high))->error, ErrorCode::invalid_session_timeout);

    // REBALANCE_IN_PROGRESS: sync during PreparingRebalance.
    auto ja = join(request(a));
    EXPECT_FALSE(ja->has_value());
    EXPECT_EQ((*sync(b, 2))->error, ErrorCode::rebalance_in_progress);
    EXPECT_EQ(heartbeat(b, 2), ErrorCode::rebalance_in_progress);
    JoinRequest empty_group = request("");
    empty_group.group_id = "";
    EXPECT_EQ((*join(empty_group))->error, ErrorCode::invalid_group_id);
}

TEST_F(Coordinator, GroupMaxSize) {
    options.max_size = 1;
    make();
    std::string a = join_alone();
    auto second = join(request(""));
    ASSERT_TRUE(second->has_value());
    EXPECT_EQ((*second)->error, ErrorCode::group_max_size_reached);
    EXPECT_EQ(c->describe("g").members.size(), 1u);
    EXPECT_EQ((*sync(a, 1, {{a, "x"}}))->error, ErrorCode::none);
}

TEST_F(Coordinator, WhileLoadingEverythingSaysLoadInProgress) {
    GroupCoordinator loading(store, options, [this] { return now; });
    EXPECT_TRUE(loading.loading());
    std::optional<JoinResult> j;
    loading.join(request(""), [&](const JoinResult& r) { j = r; });
    EXPECT_EQ(j->error, ErrorCode::coordinator_load_in_progress);
    EXPECT_EQ(loading.heartbeat({"g", 1, "m", std::nullopt}), ErrorCode::coordinator_load_in_progress);
    CommitRequest cr = creq("g", -1, "", std::nullopt, {off("t", 0, 1, -1, "")});
    EXPECT_EQ(loading.commit(cr).at(0), ErrorCode::coordinator_load_in_progress);
    EXPECT_EQ(loading.fetch_offsets("g", std::nullopt).error, ErrorCode::coordinator_load_in_progress);
    EXPECT_EQ(loading.list({}).error, ErrorCode::coordinator_load_in_progress);
    EXPECT_EQ(loading.describe("g").error, ErrorCode::coordinator_load_in_progress);
    EXPECT_EQ(loading.delete_groups({"g"}).at(0), ErrorCode::coordinator_load_in_progress);
    loading.load();
    EXPECT_FALSE(loading.loading());
    EXPECT_EQ(loading.list({}).error, ErrorCode::none);
}

TEST_F(Coordinator, ShutdownAnswersPendingJoinsAndSyncs) {
    auto [a, b] = stable_pair();
    auto ja = join(request(a));
    auto jb = join(request(b));
    ASSERT_TRUE(ja->has_value() && jb->has_value());
    auto sb = sync(b, 3);   // waits for the leader
    auto jx = join(request("", {{"range", "m"}}, std::nullopt, "h"));
    auto jy = join(request("", {{"range", "m"}}, std::nullopt, "h"));   // waits for x to rejoin
    ASSERT_TRUE(jx->has_value());
    EXPECT_FALSE(sb->has_value() || jy->has_value());
    c->shutdown();
    ASSERT_TRUE(sb->has_value());
    EXPECT_EQ((*sb)->error, ErrorCode::not_coordinator);
    ASSERT_TRUE(jy->has_value());
    EXPECT_EQ((*jy)->error, ErrorCode::not_coordinator);
    EXPECT_EQ(heartbeat(a, 3), ErrorCode::coordinator_not_available);
}

// Several gateways over one store: a group handed to another coordinator is dropped here (waiting joins
// answered NOT_COORDINATOR, later calls too) and read from the store there, once its load is due.
TEST_F(Coordinator, OwnershipHandsGroupsOverThroughTheStore) {
    auto [a, b] = stable_pair({{"range", subscription({"t"})}});
    ASSERT_EQ(c->commit(creq("g", 2, a, std::nullopt, {off("t", 0, 42, -1, "")})).at(0), ErrorCode::none);
    c->commit(creq("kept", -1, "", std::nullopt, {off("t", 0, 7, -1, "")}));
    auto rejoin = join(request(a, {{"range", subscription({"t"})}}));   // a rebalance: a waits for b
    ASSERT_FALSE(rejoin->has_value());

    auto only_g = [](std::string_view group) { return group == "g"; };
    c->set_ownership([only_g](std::string_view group) { return !only_g(group); }, now);
    ASSERT_TRUE(rejoin->has_value());
    EXPECT_EQ((*rejoin)->error, ErrorCode::not_coordinator);
    EXPECT_EQ(heartbeat(b, 2), ErrorCode::not_coordinator);
    EXPECT_EQ(c->fetch_offsets("g", std::nullopt).error, ErrorCode::not_coordinator);
    EXPECT_EQ(c->fetch_offsets("kept", std::nullopt).offsets.at(0).offset, 7);   // still served here

    GroupCoordinator other(store, options, [this] { return now; });
    other.set_ownership(only_g, now + 500);
    EXPECT_TRUE(other.loading("g"));
    EXPECT_EQ(other.fetch_offsets("g", std::nullopt).error, ErrorCode::coordinator_load_in_progress);
    EXPECT_EQ(other.fetch_offsets("kept", std::nullopt).error, ErrorCode::not_coordinator);
    EXPECT_EQ(other.next_deadline(), now + 500);   // the timer thread loads it then
    now += 500;
    other.load();
    EXPECT_FALSE(other.loading("g"));
    OffsetFetchResult f = other.fetch_offsets("g", std::nullopt);
    ASSERT_EQ(f.error, ErrorCode::none);
    EXPECT_EQ(f.offsets.at(0).offset, 42);
    GroupDescription d = other.describe("g");
    EXPECT_EQ(d.members.size(), 2u);   // the last Stable generation, as stored
    EXPECT_EQ(other.heartbeat({"g", 2, a, std::nullopt}), ErrorCode::none);
}

TEST_F(Coordinator, ProtocolSelectionByVote) {
    // range is not supported by everybody; of the rest, roundrobin gets two first-choice votes.
    auto j1 = join(request("", {{"range", ""}, {"sticky", ""}, {"roundrobin", ""}}));
    std::string m1 = (*j1)->member_id;
    auto j2 = join(request("", {{"roundrobin", ""}, {"sticky", ""}}));
    auto j3 = join(request("", {{"roundrobin", ""}, {"sticky", ""}}));
    auto r1 = join(request(m1, {{"range", ""}, {"sticky", ""}, {"roundrobin", ""}}));
    ASSERT_TRUE(r1->has_value() && j2->has_value() && j3->has_value());
    EXPECT_EQ((*r1)->protocol_name, "roundrobin");
    EXPECT_EQ((*j2)->protocol_name, "roundrobin");
}

TEST_F(Coordinator, CommitValidation) {
    // Outside any group (generation -1): allowed, the group then exists, Empty with no protocol.
    CommitRequest simple = creq("simple", -1, "", std::nullopt, {off("t", 0, 42, 3, "meta")});
    EXPECT_EQ(c->commit(simple).at(0), ErrorCode::none);
    ListGroupsResult l = c->list({});
    ASSERT_EQ(l.groups.size(), 1u);
    EXPECT_EQ(l.groups[0].group_id, "simple");
    EXPECT_EQ(l.groups[0].protocol_type, "");
    EXPECT_EQ(l.groups[0].state, "Empty");
    OffsetFetchResult f = c->fetch_offsets("simple", std::vector<TopicPartition>{{"t", 0}, {"t", 1}});
    ASSERT_EQ(f.offsets.size(), 2u);
    EXPECT_EQ(f.offsets[0].offset, 42);
    EXPECT_EQ(f.offsets[0].leader_epoch, 3);
    EXPECT_EQ(f.offsets[0].metadata, "meta");
    EXPECT_EQ(f.offsets[1].offset, -1);
    EXPECT_EQ(f.offsets[1].leader_epoch, -1);
    EXPECT_EQ(f.offsets[1].metadata, "");
    EXPECT_EQ(f.offsets[1].error, ErrorCode::none);
    CommitRequest future_gen = creq("absent", 3, "m", std::nullopt, {off("t", 0, 1, -1, "")});
    EXPECT_EQ(c->commit(future_gen).at(0), ErrorCode::illegal_generation);

    std::string a = join_alone();
    // CompletingRebalance: REBALANCE_IN_PROGRESS.
    CommitRequest in_group = creq("g", 1, a, std::nullopt, {off("t", 0, 7, -1, "")});
    EXPECT_EQ(c->commit(in_group).at(0), ErrorCode::rebalance_in_progress);
    sync(a, 1, {{a, "x"}});
    EXPECT_EQ(c->commit(in_group).at(0), ErrorCode::none);
    CommitRequest bad = in_group;
    bad.generation_id = 0;
    EXPECT_EQ(c->commit(bad).at(0), ErrorCode::illegal_generation);
    bad = in_group;
    bad.member_id = "stranger";
    EXPECT_EQ(c->commit(bad).at(0), ErrorCode::unknown_member_id);
    bad = in_group;
    bad.generation_id = -1;
    bad.member_id = "";
    EXPECT_EQ(c->commit(bad).at(0), ErrorCode::unknown_member_id);   // the group has members
    CommitRequest big = in_group;
    big.offsets.push_back(off("t", 1, 8, -1, std::string(4097, 'x')));
    auto errors = c->commit(big);
    EXPECT_EQ(errors.at(0), ErrorCode::none);
    EXPECT_EQ(errors.at(1), ErrorCode::offset_metadata_too_large);
    EXPECT_EQ(c->fetch_offsets("g", std::nullopt).offsets.size(), 1u);
}

TEST_F(Coordinator, RestartReloadsOffsetsAndGroups) {
    auto [a, b] = stable_pair({{"range", subscription({"t"})}});
    CommitRequest cr = creq("g", 2, a, std::nullopt, {off("t", 0, 10, 1, "m0"), off("t", 1, 20, -1, "")});
    ASSERT_EQ(c->commit(cr), (std::vector<ErrorCode>{ErrorCode::none, ErrorCode::none}));
    c->commit(creq("simple", -1, "", std::nullopt, {off("u", 0, 5, -1, "")}));

    make();   // a fresh coordinator over the same store
    OffsetFetchResult f = c->fetch_offsets("g", std::nullopt);
    ASSERT_EQ(f.offsets.size(), 2u);
    EXPECT_EQ(f.offsets[0].offset, 10);
    EXPECT_EQ(f.offsets[0].leader_epoch, 1);
    EXPECT_EQ(f.offsets[0].metadata, "m0");
    EXPECT_EQ(f.offsets[1].offset, 20);
    EXPECT_EQ(c->fetch_offsets("simple", std::nullopt).offsets.at(0).offset, 5);
    GroupDescription d = c->describe("g");
    EXPECT_EQ(d.state, "Stable");
    EXPECT_EQ(d.protocol, "range");
    ASSERT_EQ(d.members.size(), 2u);
    EXPECT_EQ(d.members[0].member_id == a ? d.members[0].assignment : d.members[1].assignment, "A");
    // Sessions start afresh at load: both can heartbeat; b, silent, expires a session later.
    after(session - 1);
    EXPECT_EQ(heartbeat(a, 2), ErrorCode::none);
    EXPECT_EQ((*sync(b, 2))->assignment, "B");
    EXPECT_EQ(heartbeat(b, 2), ErrorCode::none);
    // The group continues: a rejoin starts generation 3.
    auto ja = join(request(a, {{"range", subscription({"t"})}}));
    auto jb = join(request(b, {{"range", subscription({"t"})}}));
    ASSERT_TRUE(ja->has_value() && jb->has_value());
    EXPECT_EQ((*ja)->generation_id, 3);
}

TEST_F(Coordinator, OffsetsExpire) {
    options.offsets_retention_ms = 100000;
    options.offsets_retention_check_interval_ms = 1000;
    make();
    const int64_t t0 = now;
    // A standalone group counts from the commit.
    c->commit(creq("simple", -1, "", std::nullopt, {off("t", 0, 5, -1, "")}));
    // A consumer group counts from when it became Empty.
    std::string a = join_alone();
    sync(a, 1, {{a, "x"}});
    c->commit(creq("g", 1, a, std::nullopt, {off("t", 0, 6, -1, "")}));
    at(t0 + 5000);
    c->leave("g", {{a, std::nullopt}});
    EXPECT_EQ(state(), "Empty");
    at(t0 + 100001);   // the standalone offset is older than the retention
    EXPECT_EQ(c->fetch_offsets("simple", std::nullopt).offsets.size(), 0u);
    EXPECT_EQ(c->describe("simple").state, "Dead");
    EXPECT_EQ(c->fetch_offsets("g", std::nullopt).offsets.size(), 1u);   // Empty for 95 s only
    at(t0 + 105000);
    EXPECT_EQ(c->fetch_offsets("g", std::nullopt).offsets.size(), 0u);
    EXPECT_EQ(c->list({}).groups.size(), 0u);
    EXPECT_TRUE(store.scan("").empty());
}

TEST_F(Coordinator, DeleteGroups) {
    auto [a, b] = stable_pair();
    c->commit(creq("g", 2, a, std::nullopt, {off("t", 0, 5, -1, "")}));
    c->commit(creq("simple", -1, "", std::nullopt, {off("t", 0, 5, -1, "")}));
    auto r = c->delete_groups({"g", "simple", "unknown"});
    EXPECT_EQ(r, (std::vector<ErrorCode>{ErrorCode::non_empty_group, ErrorCode::none, ErrorCode::group_id_not_found}));
    EXPECT_EQ(c->fetch_offsets("simple", std::vector<TopicPartition>{{"t", 0}}).offsets.at(0).offset, -1);
    EXPECT_TRUE(store.scan("offset/simple/").empty());
    c->leave("g", {{a, std::nullopt}, {b, std::nullopt}});
    EXPECT_EQ(c->delete_groups({"g"}).at(0), ErrorCode::none);
    EXPECT_TRUE(store.scan("").empty());
    EXPECT_EQ(c->describe("g").state, "Dead");
}

TEST_F(Coordinator, ListGroupsStateFilter) {
    stable_pair();
    c->commit(creq("simple", -1, "", std::nullopt, {off("t", 0, 5, -1, "")}));
    EXPECT_EQ(c->list({}).groups.size(), 2u);
    auto stable = c->list({"Stable"});
    ASSERT_EQ(stable.groups.size(), 1u);
    EXPECT_EQ(stable.groups[0].group_id, "g");
    EXPECT_EQ(stable.groups[0].protocol_type, "consumer");
    auto empty = c->list({"empty"});
    ASSERT_EQ(empty.groups.size(), 1u);
    EXPECT_EQ(empty.groups[0].group_id, "simple");
    EXPECT_TRUE(c->list({"Dead"}).groups.empty());
}

TEST_F(Coordinator, OffsetDelete) {
    auto [a, b] = stable_pair({{"range", subscription({"t1"})}});
    c->commit(creq("g", 2, a, std::nullopt, {off("t1", 0, 1, -1, ""), off("t2", 0, 2, -1, "")}));
    OffsetDeleteResult r = c->delete_offsets("g", {{"t1", 0}, {"t2", 0}});
    EXPECT_EQ(r.error, ErrorCode::none);
    EXPECT_EQ(r.partitions, (std::vector<ErrorCode>{ErrorCode::group_subscribed_to_topic, ErrorCode::none}));
    auto f = c->fetch_offsets("g", std::vector<TopicPartition>{{"t1", 0}, {"t2", 0}});
    EXPECT_EQ(f.offsets[0].offset, 1);
    EXPECT_EQ(f.offsets[1].offset, -1);
    EXPECT_EQ(c->delete_offsets("nope", {{"t1", 0}}).error, ErrorCode::group_id_not_found);
    // An Empty group may drop anything; with no offsets left it is gone.
    c->leave("g", {{a, std::nullopt}, {b, std::nullopt}});
    EXPECT_EQ(c->delete_offsets("g", {{"t1", 0}}).partitions.at(0), ErrorCode::none);
    EXPECT_EQ(c->describe("g").state, "Dead");
}

TEST_F(Coordinator, OffsetDeleteOnNonConsumerGroupIsNonEmpty) {
    JoinRequest r = request("");
    r.protocol_type = "connect";
    auto j = join(r);
    ASSERT_EQ((*j)->error, ErrorCode::none);
    EXPECT_EQ(c->delete_offsets("g", {{"t", 0}}).error, ErrorCode::non_empty_group);
}

TEST_F(Coordinator, DeletedTopicOffsetsGo) {
    c->commit(creq("simple", -1, "", std::nullopt, {off("t", 0, 5, -1, ""), off("u", 0, 6, -1, "")}));
    c->topic_deleted("t");
    auto f = c->fetch_offsets("simple", std::nullopt);
    ASSERT_EQ(f.offsets.size(), 1u);
    EXPECT_EQ(f.offsets[0].tp.topic, "u");
    EXPECT_EQ(store.scan("offset/").size(), 1u);
}

TEST(GroupRecords, RoundTripAndKeys) {
    StoredOffset o{42, 7, "meta", 123, -1};
    EXPECT_EQ(decode_offset(encode_offset(o)), o);
    StoredGroup g;
    g.protocol_type = "consumer";
    g.generation = 3;
    g.protocol_name = "range";
    g.leader = "m1";
    g.state_timestamp_ms = 99;
    g.members.push_back({"m1", std::string("i1"), "c", "/1.2.3.4", 10000, 30000, {{"range", "x"}, {"rr", "y"}}, "A"});
    g.members.push_back({"m2", std::nullopt, "c", "/h", 6000, 6000, {{"range", ""}}, ""});
    EXPECT_EQ(decode_group(encode_group(g)), g);
    std::string bad = encode_group(g);
    bad[0] = 9;   // a future version is refused, not misread
    EXPECT_FALSE(decode_group(bad));
    EXPECT_FALSE(decode_offset(encode_offset(o).substr(0, 10)));

    std::string group;
    TopicPartition tp;
    ASSERT_TRUE(parse_offset_key(offset_key("team/a", {"orders", 12}), group, tp));
    EXPECT_EQ(group, "team/a");
    EXPECT_EQ(tp.topic, "orders");
    EXPECT_EQ(tp.partition, 12);
    EXPECT_FALSE(parse_offset_key("offset/x", group, tp));
    EXPECT_FALSE(parse_offset_key("group/x/t/1", group, tp));
}

// A store whose writes wait while it is held: a filer that stopped answering.  Records what reached it.
class HeldStore final : public MetadataStore {
public:
    StorageErrc apply(std::span<const MetadataWrite> writes) override {
        std::unique_lock lock(mutex_);
        ++waiting_;
        changed_.notify_all();
        changed_.wait(lock, [&] { return !held_; });
        --waiting_;
        ++calls;
        if (failing) return StorageErrc::storage_error;
        for (const MetadataWrite& w : writes)
            if (failing_groups && w.key.starts_with("group/")) return StorageErrc::storage_error;
        for (const MetadataWrite& w : writes) applied.push_back(w.key + (w.value ? "=" : " deleted"));
        lock.unlock();
        return inner_.apply(writes);
    }
    std::vector<std::pair<std::string, std::string>> scan(std::string_view prefix) const override {
        return inner_.scan(prefix);
    }
    void hold() {
        std::lock_guard lock(mutex_);
        held_ = true;
    }
    void release() {
        std::lock_guard lock(mutex_);
        held_ = false;
        changed_.notify_all();
    }
    bool writer_waiting() {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ > 0; });
    }
    std::vector<std::string> applied;   // under mutex_ while writes run
    int calls = 0;                       // writes tried; the same
    std::atomic<bool> failing_groups{false};   // writes of group records fail
    std::atomic<bool> failing{false};          // every write fails (as after the filer's deadline)

private:
    InMemoryMetadataStore inner_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool held_ = false;
    int waiting_ = 0;
};

// Commits answered through callbacks (as the OffsetCommit handler does): the calls return at once, the answers
// come once stored, in order.
class CommitAnswers {
public:
    GroupCoordinator::CommitCallback slot(int64_t offset) {
        return [this, offset](std::vector<ErrorCode> r) {
            std::lock_guard lock(mutex_);
            answers_.emplace_back(offset, r.at(0));
            changed_.notify_all();
        };
    }
    // The answers so far, once there are `n` (empty if not within 10 s).
    std::vector<std::pair<int64_t, ErrorCode>> wait_for(size_t n) {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, std::chrono::seconds(10), [&] { return answers_.size() >= n; })) return {};
        return answers_;
    }
    size_t count() {
        std::lock_guard lock(mutex_);
        return answers_.size();
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::pair<int64_t, ErrorCode>> answers_;
};

class CoordinatorOnHeldStore : public ::testing::Test {
protected:
    int64_t now = 1'000'000;
    HeldStore store;
    GroupOptions options = no_initial_delay();
    GroupCoordinator c{store, options, [this] { return now; }};

    void SetUp() override { c.load(); }
    void TearDown() override { store.release(); }

    // Runs `f` on another thread; true if it finished within `limit` (else it is left to finish later).
    template<typename T>
    static bool finishes(std::future<T>& f, std::chrono::milliseconds limit) {
        return f.wait_for(limit) == std::future_status::ready;
    }

    // A commit to group "s" of `offset` for t/`partition`, answered into `answers`.
    void commit_later(CommitAnswers& answers, int32_t partition, int64_t offset) {
        c.commit(creq("s", -1, "", std::nullopt, {off("t", partition, offset, -1, "")}), answers.slot(offset));
    }
    // Holds the store with a commit of offset 1 (t/0) waiting on it.
    void hold_with_a_commit_writing(CommitAnswers& answers) {
        store.hold();
        commit_later(answers, 0, 1);
        ASSERT_TRUE(store.writer_waiting());
    }

    // Whether, within 10 s, the coordinator's mutex is seen held by another thread (a describe() that does
    // not return within 50 ms); the probe left waiting finishes in the background once the mutex is free.
    bool mutex_held_by_another() {
        for (int i = 0; i < 200; ++i) {
            auto probe = std::make_shared<std::future<void>>();
            *probe = std::async(std::launch::async, [this] { c.describe("x"); });
            if (!finishes(*probe, std::chrono::milliseconds(50))) {
                waiting_probes_.push_back(probe);
                return true;
            }
        }
        return false;
    }
    std::vector<std::shared_ptr<std::future<void>>> waiting_probes_;

    // A member alone in `group`, its JoinGroup answered (generation 1, CompletingRebalance, the leader).
    JoinResult join_alone(const std::string& group) {
        JoinRequest r;
        r.group_id = group;
        r.client_id = "client";
        r.session_timeout_ms = session;
        r.rebalance_timeout_ms = rebalance;
        r.protocol_type = "consumer";
        r.protocols = {{"range", "m"}};
        std::optional<JoinResult> joined;
        c.join(r, [&](const JoinResult& res) { joined = res; });
        EXPECT_TRUE(joined && joined->error == ErrorCode::none);
        return joined.value_or(JoinResult{});
    }
    // The leader's SyncGroup giving itself `assignment`; its answer goes to `slot` once the group's record is
    // stored (from the store writer's thread: read it after c.wait_for_store_writes()).
    void sync_leader(const std::string& group, const JoinResult& joined, const std::string& assignment,
                     std::shared_ptr<std::optional<SyncResult>> slot) {
        c.sync({group, joined.generation_id, joined.member_id, std::nullopt, std::nullopt, std::nullopt,
                {{joined.member_id, assignment}}},
               [slot](const SyncResult& res) { *slot = res; });
    }
    // The same, on a store that answers: returns with the answer given.
    void sync_leader_stored(const std::string& group, const JoinResult& joined, const std::string& assignment,
                            std::shared_ptr<std::optional<SyncResult>> slot) {
        sync_leader(group, joined, assignment, std::move(slot));
        c.wait_for_store_writes();
    }
};

TEST_F(CoordinatorOnHeldStore, ACommitWaitingOnTheStoreHoldsUpNoOtherGroupRequest) {
    const std::optional<JoinResult> joined = join_alone("g");
    auto synced = std::make_shared<std::optional<SyncResult>>();
    sync_leader_stored("g", *joined, "a", synced);
    ASSERT_TRUE(*synced && (*synced)->error == ErrorCode::none);
    ASSERT_EQ(c.commit(creq("s", -1, "", std::nullopt, {off("t", 0, 5, -1, "")})).at(0), ErrorCode::none);

    store.hold();
    auto commit = std::async(std::launch::async, [&] {
        return c.commit(creq("s", -1, "", std::nullopt, {off("t", 0, 9, -1, "")}));
    });
    ASSERT_TRUE(store.writer_waiting());
    // The group requests that write nothing go on; the commit's offset is not served before it is stored.
    auto others = std::async(std::launch::async, [&] {
        EXPECT_EQ(c.heartbeat({"g", joined->generation_id, joined->member_id, std::nullopt}), ErrorCode::none);
        EXPECT_EQ(c.describe("g").state, "Stable");
        EXPECT_EQ(c.list({}).groups.size(), 2u);
        EXPECT_EQ(c.fetch_offsets("s", std::nullopt).offsets.at(0).offset, 5);
    });
    const bool went_on = finishes(others, std::chrono::seconds(10));
    store.release();
    EXPECT_TRUE(went_on) << "group requests waited for another group's store write";
    others.get();
    EXPECT_EQ(commit.get().at(0), ErrorCode::none);
    EXPECT_EQ(c.fetch_offsets("s", std::nullopt).offsets.at(0).offset, 9);
}

TEST_F(CoordinatorOnHeldStore, AnOffsetDeletionDecidedWhileACommitIsWritingWinsInStoreAndMemory) {
    ASSERT_EQ(c.commit(creq("s", -1, "", std::nullopt, {off("t", 0, 5, -1, "")})).at(0), ErrorCode::none);
    store.hold();
    auto commit = std::async(std::launch::async, [&] {
        return c.commit(creq("s", -1, "", std::nullopt, {off("t", 0, 9, -1, "")}));
    });
    ASSERT_TRUE(store.writer_waiting());
    // Decided after the commit (it drops the offset 5 it sees), written after it: it waits for its turn
    // holding the coordinator's mutex, which a describe() shows.
    auto deletion = std::async(std::launch::async, [&] { return c.delete_offsets("s", {{"t", 0}}); });
    EXPECT_TRUE(mutex_held_by_another());
    store.release();
    EXPECT_EQ(commit.get().at(0), ErrorCode::none);
    EXPECT_EQ(deletion.get().partitions.at(0), ErrorCode::none);
    EXPECT_EQ(store.applied, (std::vector<std::string>{"offset/s/t/0=", "offset/s/t/0=", "offset/s/t/0 deleted"}));
    EXPECT_TRUE(store.scan("offset/").empty());
    // Memory agrees with the store: the commit's late change did not bring the offset back.
    EXPECT_EQ(c.fetch_offsets("s", std::vector<TopicPartition>{{"t", 0}}).offsets.at(0).offset, -1);
}

TEST_F(CoordinatorOnHeldStore, TheLeadersSyncWaitingOnTheStoreHoldsUpNoOtherGroupAndAnswersOnceStored) {
    const JoinResult other = join_alone("h");
    auto other_synced = std::make_shared<std::optional<SyncResult>>();
    sync_leader_stored("h", other, "b", other_synced);
    ASSERT_TRUE(*other_synced && (*other_synced)->error == ErrorCode::none);
    const JoinResult joined = join_alone("g");

    store.hold();
    auto synced = std::make_shared<std::optional<SyncResult>>();
    // The request that completes the generation queues its record on the store writer and returns.
    auto leader = std::async(std::launch::async, [&] { sync_leader("g", joined, "mine", synced); });
    ASSERT_TRUE(finishes(leader, std::chrono::seconds(10))) << "the leader's SyncGroup waited on the store";
    ASSERT_TRUE(store.writer_waiting());
    auto others = std::async(std::launch::async, [&] {
        EXPECT_EQ(c.heartbeat({"h", other.generation_id, other.member_id, std::nullopt}), ErrorCode::none);
        EXPECT_EQ(c.describe("g").state, "CompletingRebalance");   // not Stable before it is stored
    });
    const bool went_on = finishes(others, std::chrono::seconds(10));
    EXPECT_FALSE(synced->has_value());
    store.release();
    EXPECT_TRUE(went_on) << "group requests waited for another group's record to be stored";
    others.get();
    leader.get();
    c.wait_for_store_writes();
    ASSERT_TRUE(synced->has_value());
    EXPECT_EQ((*synced)->error, ErrorCode::none);
    EXPECT_EQ((*synced)->assignment, "mine");
    EXPECT_EQ(c.describe("g").state, "Stable");
    EXPECT_EQ(store.scan("group/").size(), 2u);
}

TEST_F(CoordinatorOnHeldStore, AGenerationThatCannotBeStoredIsNotHandedOut) {
    const JoinResult joined = join_alone("g");
    store.failing_groups = true;
    auto synced = std::make_shared<std::optional<SyncResult>>();
    sync_leader_stored("g", joined, "mine", synced);
    ASSERT_TRUE(synced->has_value());
    EXPECT_EQ((*synced)->error, ErrorCode::coordinator_not_available);   // retriable: the client rejoins
    EXPECT_EQ((*synced)->assignment, "");
    EXPECT_EQ(c.describe("g").state, "PreparingRebalance");
}

TEST_F(CoordinatorOnHeldStore, CommitsWaitingOnTheStoreHoldNoThreadOfTheCallersAndAreAnsweredInOrder) {
    const JoinResult joined = join_alone("g");
    auto synced = std::make_shared<std::optional<SyncResult>>();
    sync_leader_stored("g", joined, "a", synced);
    ASSERT_TRUE(*synced && (*synced)->error == ErrorCode::none);
    store.hold();
    CommitAnswers answers;
    // Twenty commits, more than any pool of request threads: each call returns with its write queued.
    for (int64_t o = 1; o <= 20; ++o) commit_later(answers, 0, o);
    ASSERT_TRUE(store.writer_waiting());
    EXPECT_EQ(c.heartbeat({"g", joined.generation_id, joined.member_id, std::nullopt}), ErrorCode::none);
    EXPECT_EQ(c.fetch_offsets("s", std::nullopt).offsets.size(), 0u);   // nothing stored yet
    EXPECT_EQ(answers.count(), 0u);
    store.release();
    std::vector<std::pair<int64_t, ErrorCode>> expected;
    for (int64_t o = 1; o <= 20; ++o) expected.emplace_back(o, ErrorCode::none);
    EXPECT_EQ(answers.wait_for(20), expected);
    EXPECT_EQ(std::count_if(store.applied.begin(), store.applied.end(),
                            [](const std::string& k) { return k.starts_with("offset/s/t/0="); }),
              20);
    EXPECT_EQ(c.fetch_offsets("s", std::nullopt).offsets.at(0).offset, 20);
}

TEST_F(CoordinatorOnHeldStore, AWriteInLineBehindQueuedCommitsDoesNotDeadlockTheirAnswers) {
    ASSERT_EQ(c.commit(creq("s", -1, "", std::nullopt, {off("t", 0, 1, -1, "")})).at(0), ErrorCode::none);
    store.hold();
    CommitAnswers answers;
    commit_later(answers, 0, 2);   // at the store
    ASSERT_TRUE(store.writer_waiting());
    commit_later(answers, 1, 3);   // queued behind it
    // Decided last, written in line holding the coordinator's mutex: it waits for both commits' writes, and
    // the first commit's answer (which needs that mutex) must not keep the second from being written.
    auto deletion = std::async(std::launch::async, [&] { return c.delete_groups({"s"}); });
    ASSERT_TRUE(mutex_held_by_another());   // the deletion waits for its turn
    store.release();
    const bool deleted = finishes(deletion, std::chrono::seconds(10));
    ASSERT_TRUE(deleted) << "the in-line write never got its turn";
    EXPECT_EQ(deletion.get().at(0), ErrorCode::none);
    EXPECT_EQ(answers.wait_for(2), (std::vector<std::pair<int64_t, ErrorCode>>{{2, ErrorCode::none},
                                                                              {3, ErrorCode::none}}));
    EXPECT_TRUE(store.scan("offset/").empty());   // the deletion came last in the store
    EXPECT_TRUE(c.fetch_offsets("s", std::nullopt).offsets.empty());   // and in memory
}

TEST_F(CoordinatorOnHeldStore, CommitsQueuedBehindAFailedWriteFailWithoutWaitingOutTheirOwn) {
    CommitAnswers answers;
    hold_with_a_commit_writing(answers);
    commit_later(answers, 0, 2);   // queued
    commit_later(answers, 1, 3);   // queued
    store.failing = true;   // the first write times out
    store.release();
    EXPECT_EQ(answers.wait_for(3), (std::vector<std::pair<int64_t, ErrorCode>>{
                                       {1, ErrorCode::coordinator_not_available},
                                       {2, ErrorCode::coordinator_not_available},
                                       {3, ErrorCode::coordinator_not_available}}));
    EXPECT_EQ(store.calls, 1);   // the queued two were not tried
    // A commit queued after the failure is tried again.
    store.failing = false;
    EXPECT_EQ(c.commit(creq("s", -1, "", std::nullopt, {off("t", 0, 4, -1, "")})).at(0), ErrorCode::none);
    EXPECT_EQ(c.fetch_offsets("s", std::nullopt).offsets.at(0).offset, 4);
}

TEST_F(CoordinatorOnHeldStore, ShutdownFailsTheQueuedCommitsAndWaitsForTheOneWriting) {
    CommitAnswers answers;
    hold_with_a_commit_writing(answers);
    commit_later(answers, 0, 2);   // queued
    auto shutdown = std::async(std::launch::async, [&] { c.shutdown(); });
    EXPECT_FALSE(finishes(shutdown, std::chrono::milliseconds(200)));   // the write in progress holds it
    store.release();
    ASSERT_TRUE(finishes(shutdown, std::chrono::seconds(10)));
    EXPECT_EQ(answers.wait_for(2), (std::vector<std::pair<int64_t, ErrorCode>>{
                                       {1, ErrorCode::none}, {2, ErrorCode::coordinator_not_available}}));
    EXPECT_EQ(store.applied, (std::vector<std::string>{"offset/s/t/0="}));
}

// On the real clock with the timer thread: the SyncGroup answer comes from the store writer's completion, which
// starts the member's session; the timer thread, asleep until the sync deadline (a minute away), must wake for
// that session's.  The member never heartbeats, so it is removed at its 300 ms session timeout.
TEST(CoordinatorTimer, ASessionStartedByAStoredSyncExpiresOnItsDeadline) {
    InMemoryMetadataStore store;
    GroupOptions options = no_initial_delay();
    options.min_session_timeout_ms = 100;
    GroupCoordinator c(store, options);
    c.load();
    c.start();
    JoinRequest r;
    r.group_id = "g";
    r.client_id = "client";
    r.session_timeout_ms = 300;
    r.rebalance_timeout_ms = 60000;
    r.protocol_type = "consumer";
    r.protocols = {{"range", "m"}};
    std::promise<JoinResult> joined;
    c.join(r, [&](const JoinResult& res) { joined.set_value(res); });
    const JoinResult j = joined.get_future().get();
    ASSERT_EQ(j.error, ErrorCode::none);
    std::promise<SyncResult> synced;
    c.sync({"g", j.generation_id, j.member_id, std::nullopt, std::nullopt, std::nullopt, {{j.member_id, "a"}}},
           [&](const SyncResult& res) { synced.set_value(res); });
    ASSERT_EQ(synced.get_future().get().error, ErrorCode::none);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (c.describe("g").state != "Empty" && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(c.describe("g").state, "Empty") << "the session the sync started did not expire within 10 s";
    c.shutdown();
}

TEST(GroupCoordinatorErrors, StorageFailuresAreRetriable) {
    EXPECT_EQ(coordinator_error(StorageErrc::none), ErrorCode::none);
    EXPECT_EQ(coordinator_error(StorageErrc::storage_error), ErrorCode::coordinator_not_available);
}

} // namespace
} // namespace gateway
