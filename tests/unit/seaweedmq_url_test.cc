// seaweedmq:// URLs and SeaweedFS server addresses.
#include "gateway/storage/seaweedmq/seaweedmq_url.h"

#include <gtest/gtest.h>

#include <stdexcept>

using gateway::seaweedmq::grpc_address;
using gateway::seaweedmq::parse_seaweedmq_url;

TEST(SeaweedMqUrl, MasterHttpPortMeansGrpcPortPlus10000) {
    auto u = parse_seaweedmq_url("seaweedmq://master.local:9333");
    EXPECT_EQ(u.master, "master.local:9333");
    EXPECT_EQ(u.master_grpc, "master.local:19333");
    EXPECT_EQ(u.namespace_, "kafka");
    EXPECT_TRUE(u.acks_all_flushed);   // acks=all waits for the flush unless told otherwise
}

TEST(SeaweedMqUrl, AcksAllWaitsForTheFlushOrTheBuffer) {
    EXPECT_TRUE(parse_seaweedmq_url("seaweedmq://h:9333?acks_all=flushed").acks_all_flushed);
    auto u = parse_seaweedmq_url("seaweedmq://h:9333?namespace=n&acks_all=buffered");
    EXPECT_FALSE(u.acks_all_flushed);
    EXPECT_EQ(u.namespace_, "n");
    EXPECT_THROW(parse_seaweedmq_url("seaweedmq://h:9333?acks_all=yes"), std::runtime_error);
    EXPECT_THROW(parse_seaweedmq_url("seaweedmq://h:9333?acks_all="), std::runtime_error);
}

TEST(SeaweedMqUrl, ExplicitGrpcPortAndNamespace) {
    auto u = parse_seaweedmq_url("seaweedmq://10.0.0.1:9333.29333/?namespace=orders_2");
    EXPECT_EQ(u.master_grpc, "10.0.0.1:29333");
    EXPECT_EQ(u.namespace_, "orders_2");
}

TEST(SeaweedMqUrl, RejectsWhatItCannotUse) {
    for (const char* bad : {"seaweedmq://", "seaweedmq://host", "seaweedmq://host:0", "seaweedmq://host:70000",
                            "seaweedmq://host:60000", "seaweedmq://host:9333?namespace=", "seaweedmq://host:9333?namespace=a/b",
                            "seaweedmq://host:9333?namespace=..", "seaweedmq://host:9333?colour=blue", "file:///tmp"})
        EXPECT_THROW(parse_seaweedmq_url(bad), std::runtime_error) << bad;
}

TEST(SeaweedMqUrl, ServerAddresses) {
    EXPECT_EQ(grpc_address("127.0.0.1:8888"), "127.0.0.1:18888");
    EXPECT_EQ(grpc_address("127.0.0.1:8888.17777"), "127.0.0.1:17777");
    EXPECT_EQ(grpc_address("[::1]:8888"), "[::1]:18888");
    EXPECT_THROW(grpc_address("nohost"), std::runtime_error);
    EXPECT_THROW(grpc_address("h:8888.x"), std::runtime_error);
}
