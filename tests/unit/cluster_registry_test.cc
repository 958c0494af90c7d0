// The registry of gateways sharing one storage (gateway/cluster/gateway_registry.h), driven by hand with a
// fake clock over one in-memory metadata store: who is live, where partitions and groups go, node ids.
#include "gateway/cluster/gateway_registry.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace gateway {
namespace {

constexpr RegistryOptions options{.heartbeat_interval_ms = 100, .session_timeout_ms = 1000};

struct Cluster {
    InMemoryMetadataStore store;
    int64_t now = 1'000'000;

    std::unique_ptr<GatewayRegistry> node(int32_t id, int32_t port = 0) {
        return std::make_unique<GatewayRegistry>(&store, GatewayNode{id, "127.0.0.1", port ? port : 9090 + id}, options,
                                                 [this] { return now; });
    }
};

std::vector<int32_t> ids(const ClusterView& v) {
    std::vector<int32_t> out;
    for (const GatewayNode& n : v.nodes) out.push_back(n.node_id);
    return out;
}

TEST(ClusterRegistry, WithoutASharedStoreAGatewayIsAlone) {
    GatewayRegistry alone(nullptr, {1, "h", 9092}, options);
    alone.start();   // no thread, nothing stored
    EXPECT_TRUE(alone.alone());
    EXPECT_EQ(ids(*alone.view()), std::vector<int32_t>{1});
    EXPECT_EQ(alone.view()->controller_id(), 1);
    EXPECT_EQ(alone.view()->partition_leader("t", 5).node_id, 1);
    EXPECT_EQ(alone.view()->group_coordinator("g").node_id, 1);
    alone.stop();
}

TEST(ClusterRegistry, GatewaysSeeEachOtherAndAgreeOnPlacement) {
    Cluster c;
    auto a = c.node(2), b = c.node(1);
    ASSERT_TRUE(a->heartbeat());
    ASSERT_TRUE(b->heartbeat());
    ASSERT_TRUE(a->heartbeat());
    EXPECT_EQ(ids(*a->view()), (std::vector<int32_t>{1, 2}));   // by node id
    EXPECT_EQ(ids(*b->view()), (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(a->view()->controller_id(), 1);
    EXPECT_EQ(a->view()->find(2)->port, 9092);

    std::set<int32_t> leaders, coordinators;
    for (int32_t p = 0; p < 6; ++p) {
        EXPECT_EQ(a->view()->partition_leader("orders", p), b->view()->partition_leader("orders", p));
        leaders.insert(a->view()->partition_leader("orders", p).node_id);
        // Consecutive partitions go round the nodes.
        EXPECT_NE(a->view()->partition_leader("orders", p).node_id, a->view()->partition_leader("orders", p + 1).node_id);
    }
    for (int i = 0; i < 50; ++i) {
        const std::string g = "group-" + std::to_string(i);
        EXPECT_EQ(a->view()->group_coordinator(g), b->view()->group_coordinator(g));
        coordinators.insert(a->view()->group_coordinator(g).node_id);
    }
    EXPECT_EQ(leaders, (std::set<int32_t>{1, 2}));
    EXPECT_EQ(coordinators, (std::set<int32_t>{1, 2}));
}

TEST(ClusterRegistry, PlacementHashIsFixed) {
    // 32-bit FNV-1a: changing it would move every group at an upgrade.
    EXPECT_EQ(placement_hash(""), 2166136261u);
    EXPECT_EQ(placement_hash("a"), 0xe40c292cu);
    EXPECT_EQ(placement_hash("foobar"), 0xbf9cf968u);
}

TEST(ClusterRegistry, ASilentGatewayLeavesAfterTheSessionTimeout) {
    Cluster c;
    auto a = c.node(1), b = c.node(2);
    std::vector<std::vector<int32_t>> seen;
    a->set_listener([&](const std::shared_ptr<const ClusterView>& v) { seen.push_back(ids(*v)); });
    b->heartbeat();
    a->heartbeat();
    ASSERT_EQ(seen, (std::vector<std::vector<int32_t>>{{1, 2}}));
    const uint64_t version = a->view()->version;

    c.now += options.session_timeout_ms - 1;   // b silent, not yet for a whole session
    a->heartbeat();
    EXPECT_EQ(ids(*a->view()), (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(seen.size(), 1u);   // no change, no call

    c.now += 1;
    a->heartbeat();
    EXPECT_EQ(ids(*a->view()), std::vector<int32_t>{1});
    EXPECT_GT(a->view()->version, version);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen.back(), std::vector<int32_t>{1});
    // Everything is a's again.
    EXPECT_EQ(a->view()->partition_leader("orders", 3).node_id, 1);

    b->heartbeat();   // b speaks again: back in
    a->heartbeat();
    EXPECT_EQ(ids(*a->view()), (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(seen.size(), 3u);
}

TEST(ClusterRegistry, ACleanStopRemovesTheRecordAtOnce) {
    Cluster c;
    auto a = c.node(1), b = c.node(2);
    b->start();
    a->heartbeat();
    ASSERT_EQ(ids(*a->view()), (std::vector<int32_t>{1, 2}));
    b->stop();
    EXPECT_TRUE(c.store.scan(std::string(GatewayRegistry::key_prefix) + "0000000002").empty());
    a->heartbeat();   // no session timeout to wait for
    EXPECT_EQ(ids(*a->view()), std::vector<int32_t>{1});
}

TEST(ClusterRegistry, ANodeIdLiveElsewhereIsRefused) {
    Cluster c;
    auto first = c.node(1, 9092);
    first->heartbeat();
    auto other_address = c.node(1, 9093);
    try {
        other_address->start();
        FAIL() << "started with a node id live at another address";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("node.id 1 is already used"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("127.0.0.1:9092"), std::string::npos) << e.what();
    }
    // The same address is this gateway's own previous process (killed, restarted): taken over.
    auto restarted = c.node(1, 9092);
    EXPECT_NO_THROW(restarted->start());
    restarted->stop();
    // A record older than the session timeout is a dead gateway's: no obstacle.
    first->heartbeat();
    c.now += options.session_timeout_ms;
    auto after_death = c.node(1, 9093);
    EXPECT_NO_THROW(after_death->start());
    after_death->stop();
}

TEST(ClusterRegistry, LongDeadRecordsAreForgotten) {
    Cluster c;
    auto a = c.node(1), b = c.node(2);
    b->heartbeat();
    c.now += 10 * options.session_timeout_ms + 1;
    a->heartbeat();
    EXPECT_TRUE(c.store.scan(GatewayRegistry::key_of(2)).empty());
    EXPECT_FALSE(c.store.scan(GatewayRegistry::key_of(1)).empty());
}

} // namespace
} // namespace gateway
