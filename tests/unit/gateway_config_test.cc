// Command line over properties file over defaults; Kafka property names; clear errors.
#include "gateway/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace gateway {
namespace {

Action parse(std::vector<std::string> args, Config& c) {
    std::vector<const char*> argv{"kafka-gateway"};
    for (auto& a : args) argv.push_back(a.c_str());
    return parse_command_line(static_cast<int>(argv.size()), argv.data(), c);
}

TEST(GatewayConfig, Defaults) {
    Config c;
    EXPECT_EQ(parse({}, c), Action::run);
    EXPECT_EQ(c.listen.host, "127.0.0.1");
    EXPECT_EQ(c.listen.port, 9092);
    EXPECT_TRUE(c.auto_create_topics);
    EXPECT_EQ(c.advertised_listener().port, 9092);
}

TEST(GatewayConfig, FlagsBeatTheFile) {
    char path[] = "/tmp/kgw-config-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    std::ofstream(path) << "# comment\nlisteners=PLAINTEXT://0.0.0.0:19092\nnum.partitions=6\n"
                           "auto.create.topics.enable=false\nlog.flush.interval.messages=1\n"
                           "log.retention.hours=2\nadvertised.listeners=PLAINTEXT://broker.example:19092\n";
    Config c;
    EXPECT_EQ(parse({"--listen", "127.0.0.1:29092", "--config", path}, c), Action::run);
    EXPECT_EQ(c.listen.port, 29092);   // the flag, though the file came later on the line
    EXPECT_EQ(c.default_partitions, 6);
    EXPECT_FALSE(c.auto_create_topics);
    EXPECT_EQ(c.storage.fsync, FsyncPolicy::every_batch);
    EXPECT_EQ(c.storage.default_topic_config.retention_ms, 2 * 3600 * 1000);
    EXPECT_EQ(c.advertised_listener().host, "broker.example");
    std::remove(path);
}

TEST(GatewayConfig, Errors) {
    Config c;
    EXPECT_THROW(parse({"--listen", "nonsense"}, c), ConfigError);
    EXPECT_THROW(parse({"--listen", "h:99999"}, c), ConfigError);
    EXPECT_THROW(parse({"--threads"}, c), ConfigError);
    EXPECT_THROW(parse({"--bogus"}, c), ConfigError);
    EXPECT_THROW(parse({"--log-level", "loud"}, c), ConfigError);
    EXPECT_THROW(parse({"--config", "/nonexistent/file"}, c), ConfigError);
    EXPECT_THROW(apply_property(c, "num.partitions", "0"), ConfigError);
    EXPECT_EQ(parse({"--help"}, c), Action::help);
    EXPECT_EQ(parse({"--version"}, c), Action::version);
}

// Several gateways over one SeaweedMQ: the node id and the registry's timing.
TEST(GatewayConfig, ClusterProperties) {
    Config c;
    EXPECT_EQ(c.node_id, 1);
    EXPECT_EQ(parse({"--node-id", "7"}, c), Action::run);
    EXPECT_EQ(c.node_id, 7);
    apply_property(c, "cluster.heartbeat.interval.ms", "200");
    apply_property(c, "cluster.session.timeout.ms", "2000");
    EXPECT_EQ(c.cluster.heartbeat_interval_ms, 200);
    EXPECT_EQ(c.cluster.session_timeout_ms, 2000);
    EXPECT_THROW(parse({"--node-id", "-1"}, c), ConfigError);
    EXPECT_THROW(apply_property(c, "cluster.heartbeat.interval.ms", "0"), ConfigError);
    // A session must outlast two heartbeats, or a live gateway would be dropped between them.
    Config tight;
    apply_property(tight, "cluster.heartbeat.interval.ms", "1000");
    apply_property(tight, "cluster.session.timeout.ms", "2000");
    EXPECT_THROW(parse({}, tight), ConfigError);
}

TEST(GatewayConfig, GroupCoordinatorProperties) {
    Config c;
    EXPECT_EQ(c.groups.initial_rebalance_delay_ms, 3000);
    EXPECT_EQ(c.groups.min_session_timeout_ms, 6000);
    EXPECT_EQ(c.groups.max_session_timeout_ms, 1800000);
    EXPECT_EQ(c.groups.offsets_retention_ms, 10080LL * 60000);
    EXPECT_EQ(c.groups.offsets_retention_check_interval_ms, 600000);
    EXPECT_EQ(c.groups.offset_metadata_max_bytes, 4096u);
    apply_property(c, "group.initial.rebalance.delay.ms", "0");
    apply_property(c, "group.min.session.timeout.ms", "1000");
    apply_property(c, "group.max.session.timeout.ms", "60000");
    apply_property(c, "group.max.size", "10");
    apply_property(c, "offsets.retention.minutes", "2");
    apply_property(c, "offsets.retention.check.interval.ms", "500");
    apply_property(c, "offset.metadata.max.bytes", "100");
    EXPECT_EQ(c.groups.initial_rebalance_delay_ms, 0);
    EXPECT_EQ(c.groups.min_session_timeout_ms, 1000);
    EXPECT_EQ(c.groups.max_session_timeout_ms, 60000);
    EXPECT_EQ(c.groups.max_size, 10);
    EXPECT_EQ(c.groups.offsets_retention_ms, 120000);
    EXPECT_EQ(c.groups.offsets_retention_check_interval_ms, 500);
    EXPECT_EQ(c.groups.offset_metadata_max_bytes, 100u);
    EXPECT_THROW(apply_property(c, "group.initial.rebalance.delay.ms", "-1"), ConfigError);
    EXPECT_THROW(apply_property(c, "group.max.size", "0"), ConfigError);
}

TEST(GatewayConfig, ConnectionLimits) {
    Config c;
    EXPECT_EQ(c.max_request_size, 100u << 20);
    EXPECT_EQ(c.max_in_flight_request_bytes, 64u << 20);
    apply_property(c, "socket.request.max.bytes", "1048576");
    apply_property(c, "connection.max.inflight.request.bytes", "8388608");
    EXPECT_EQ(c.max_request_size, 1u << 20);
    EXPECT_EQ(c.max_in_flight_request_bytes, 8u << 20);
    EXPECT_THROW(apply_property(c, "connection.max.inflight.request.bytes", "0"), ConfigError);
    EXPECT_EQ(c.io_threads, 8);
    apply_property(c, "num.io.threads", "3");
    EXPECT_EQ(c.io_threads, 3);
    EXPECT_THROW(apply_property(c, "num.io.threads", "0"), ConfigError);
}

TEST(GatewayConfig, TopicConfigs) {
    TopicConfig t;
    EXPECT_EQ(set_topic_config(t, "retention.ms", "1000"), "");
    EXPECT_EQ(t.retention_ms, 1000);
    EXPECT_EQ(set_topic_config(t, "message.timestamp.type", "LogAppendTime"), "");
    EXPECT_TRUE(t.log_append_time);
    EXPECT_NE(set_topic_config(t, "retention.ms", "soon"), "");
    EXPECT_NE(set_topic_config(t, "cleanup.policy", "compact"), "");
    EXPECT_EQ(set_topic_config(t, "compression.type", "zstd"), "");
    EXPECT_EQ(t.other["compression.type"], "zstd");
}

} // namespace
} // namespace gateway
