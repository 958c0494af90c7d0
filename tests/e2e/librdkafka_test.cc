// librdkafka (C API) against the real kafka-gateway binary: idempotent bulk produce and exactly-once
// in-order consumption, restart and kill -9 durability, every compression codec, headers and
// timestamps.  Consumer groups are not implemented by the gateway, so consumers only assign().
#include "tests/e2e/gateway_process.h"

#include <librdkafka/rdkafka.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <string>
#include <utility>
#include <vector>

namespace {

using kgw_e2e::GatewayProcess;
using Clock = std::chrono::steady_clock;
using Properties = std::vector<std::pair<std::string, std::string>>;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// librdkafka's own log lines, kept quiet unless they are warnings or worse.
void quiet_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
    if (level <= 4) std::fprintf(stderr, "librdkafka %d %s: %s\n", level, fac, buf);
}

// ---- handles ------------------------------------------------------------------------------------

struct HandleDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// A configuration or nothing (with a test failure naming the property that was refused).
rd_kafka_conf_t* make_conf(const std::string& bootstrap, const Properties& props) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    Properties all = {{"bootstrap.servers", bootstrap},
                      {"broker.address.family", "v4"},
                      {"socket.timeout.ms", "60000"},
                      {"log.connection.close", "false"}};
    all.insert(all.end(), props.begin(), props.end());
    for (const auto& [name, value] : all) {
        if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            ADD_FAILURE() << name << "=" << value << ": " << err;
            rd_kafka_conf_destroy(conf);
            return nullptr;
        }
    }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    return conf;
}

Handle new_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
    if (conf == nullptr) return nullptr;
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk == nullptr) {
        rd_kafka_conf_destroy(conf);
        ADD_FAILURE() << "rd_kafka_new: " << err;
    }
    return Handle(rk);
}

// ---- admin --------------------------------------------------------------------------------------

// CreateTopics through the C admin API; true when the topic exists afterwards with our layout.
bool create_topic(const std::string& bootstrap, const std::string& topic, int partitions) {
    Handle rk = new_handle(RD_KAFKA_PRODUCER, make_conf(bootstrap, {}));
    if (!rk) return false;
    char err[512];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
    if (nt == nullptr) {
        ADD_FAILURE() << "NewTopic: " << err;
        return false;
    }
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
    rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(options, 60000, err, sizeof err);
    rd_kafka_AdminOptions_set_operation_timeout(options, 30000, err, sizeof err);
    rd_kafka_CreateTopics(rk.get(), &nt, 1, options, queue);

    bool ok = false;
    rd_kafka_event_t* ev = nullptr;
    auto deadline = Clock::now() + std::chrono::seconds(90);
    while (ev == nullptr && Clock::now() < deadline) ev = rd_kafka_queue_poll(queue, 1000);
    if (ev == nullptr) {
        ADD_FAILURE() << "CreateTopics " << topic << ": no result within 90 s";
    } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ADD_FAILURE() << "CreateTopics " << topic << ": " << rd_kafka_event_error_string(ev);
    } else if (const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev); res == nullptr) {
        ADD_FAILURE() << "CreateTopics " << topic << ": unexpected event " << rd_kafka_event_name(ev);
    } else {
        size_t n = 0;
        const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
        if (n != 1) {
            ADD_FAILURE() << "CreateTopics " << topic << ": " << n << " results";
        } else if (rd_kafka_topic_result_error(results[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ADD_FAILURE() << "CreateTopics " << topic << ": " << rd_kafka_err2name(rd_kafka_topic_result_error(results[0]))
                          << " " << (rd_kafka_topic_result_error_string(results[0]) ? rd_kafka_topic_result_error_string(results[0]) : "");
        } else {
            ok = std::string(rd_kafka_topic_result_name(results[0])) == topic;
            EXPECT_TRUE(ok) << rd_kafka_topic_result_name(results[0]);
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(queue);
    return ok;
}

// ListOffsets (latest) for each partition; -1 where it failed.
std::vector<int64_t> high_watermarks(const std::string& bootstrap, const std::string& topic, int partitions) {
    std::vector<int64_t> out(partitions, -1);
    Handle rk = new_handle(RD_KAFKA_PRODUCER, make_conf(bootstrap, {}));
    if (!rk) return out;
    for (int p = 0; p < partitions; ++p) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        for (int attempt = 0; attempt < 10; ++attempt) {   // the first one may race the connection
            err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hi, 20000);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << topic << "[" << p << "]: " << rd_kafka_err2str(err);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            EXPECT_EQ(lo, 0) << topic << "[" << p << "] low watermark";
            out[p] = hi;
        }
    }
    return out;
}

// ---- producing ----------------------------------------------------------------------------------

struct Delivery {
    int64_t succeeded = 0;
    int64_t failed = 0;
    std::string first_error;
    std::map<int32_t, std::vector<int64_t>> offsets;   // partition -> offsets in report order
    std::vector<int32_t> partition_of;                 // per record index (opaque), -1 until reported
    std::vector<int64_t> offset_of;                    // per record index, -1 until reported
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* d = static_cast<Delivery*>(opaque);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (d->failed++ == 0) d->first_error = std::string(rd_kafka_err2name(m->err)) + ": " + rd_kafka_err2str(m->err);
        return;
    }
    ++d->succeeded;
    d->offsets[m->partition].push_back(m->offset);
    auto index = reinterpret_cast<intptr_t>(m->_private);
    if (index >= 0 && static_cast<size_t>(index) < d->partition_of.size()) {
        d->partition_of[index] = m->partition;
        d->offset_of[index] = m->offset;
    }
}

struct Producer {
    Delivery delivery;
    Handle rk;
    std::string fatal;

    Producer(const std::string& bootstrap, Properties props, size_t expected_records = 0) {
        delivery.partition_of.assign(expected_records, -1);
        delivery.offset_of.assign(expected_records, -1);
        rd_kafka_conf_t* conf = make_conf(bootstrap, props);
        if (conf == nullptr) return;
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, &delivery);
        rk = new_handle(RD_KAFKA_PRODUCER, conf);
    }

    // Enqueues one record (waiting while the local queue is full, within a bounded time).
    bool send(const std::string& topic, int32_t partition, const void* key, size_t key_len, const void* value,
              size_t value_len, intptr_t index) {
        auto deadline = Clock::now() + std::chrono::seconds(120);
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(const_cast<void*>(value), value_len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(index)),
                RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || Clock::now() > deadline) {
                ADD_FAILURE() << "producev: " << rd_kafka_err2name(err);
                return false;
            }
            rd_kafka_poll(rk.get(), 50);
        }
    }

    // Waits for every delivery report; false (with a failure) if they do not all arrive in time.
    bool flush(std::chrono::seconds timeout) {
        auto deadline = Clock::now() + timeout;
        while (rd_kafka_outq_len(rk.get()) > 0 && Clock::now() < deadline) rd_kafka_flush(rk.get(), 1000);
        rd_kafka_poll(rk.get(), 0);
        char err[512];
        if (rd_kafka_fatal_error(rk.get(), err, sizeof err) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ADD_FAILURE() << "producer fatal error: " << err;
            return false;
        }
        int left = rd_kafka_outq_len(rk.get());
        EXPECT_EQ(left, 0) << "delivery reports still outstanding after " << timeout.count() << " s";
        return left == 0;
    }
};

// ---- consuming ----------------------------------------------------------------------------------

struct ConsumerDeleter {
    void operator()(rd_kafka_t* rk) const {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
};
using ConsumerHandle = std::unique_ptr<rd_kafka_t, ConsumerDeleter>;

// An assign-only consumer (the group id is required by rd_kafka_assign but no group is ever joined)
// reading every partition from the beginning until it has `expected` records or the deadline passes.
// on_message returns false to stop early.
int64_t consume(const std::string& bootstrap, const std::string& topic, int partitions, int64_t expected,
                std::chrono::seconds timeout, const std::function<void(const rd_kafka_message_t*)>& on_message,
                Properties extra = {}, double* seconds_to_last = nullptr) {
    Properties props = {{"group.id", "kgw-e2e-assign-only"},
                        {"enable.auto.commit", "false"},
                        {"enable.auto.offset.store", "false"},
                        {"auto.offset.reset", "error"},   // an out-of-range start is a bug, not a reset
                        {"enable.partition.eof", "false"}};
    props.insert(props.end(), extra.begin(), extra.end());
    rd_kafka_conf_t* conf = make_conf(bootstrap, props);
    if (conf == nullptr) return 0;
    char err[512];
    rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (raw == nullptr) {
        rd_kafka_conf_destroy(conf);
        ADD_FAILURE() << "rd_kafka_new consumer: " << err;
        return 0;
    }
    ConsumerHandle rk(raw);
    rd_kafka_poll_set_consumer(rk.get());
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p)
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ADD_FAILURE() << "assign: " << rd_kafka_err2name(aerr);
        return 0;
    }
    int64_t got = 0;
    int errors_shown = 0;
    auto started = Clock::now();
    auto deadline = started + timeout;
    while (got < expected && Clock::now() < deadline) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 500);
        if (m == nullptr) continue;
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (errors_shown++ < 10)
                std::fprintf(stderr, "consumer event on %s [%d]: %s: %s\n",
                             m->rkt ? rd_kafka_topic_name(m->rkt) : "-", m->partition, rd_kafka_err2name(m->err),
                             rd_kafka_message_errstr(m));
            if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
                ADD_FAILURE() << "offset out of range on " << topic << " [" << m->partition << "]";
        } else {
            ++got;
            on_message(m);
            if (got == expected && seconds_to_last) *seconds_to_last = seconds_since(started);
        }
        rd_kafka_message_destroy(m);
    }
    EXPECT_EQ(got, expected) << "records consumed from " << topic << " within " << timeout.count() << " s";
    // Anything past the expected count would be a duplicate: give it a moment to show up.
    for (auto until = Clock::now() + std::chrono::milliseconds(300); Clock::now() < until;) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
        if (m == nullptr) continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ADD_FAILURE() << "unexpected extra record " << topic << " [" << m->partition << "] @" << m->offset;
            ++got;
        }
        rd_kafka_message_destroy(m);
    }
    return got;
}

// prefix + decimal i (appending, which also keeps GCC 12's false -Wrestrict away from "x" + string).
std::string numbered(const char* prefix, int64_t i) {
    std::string s(prefix);
    s += std::to_string(i);
    return s;
}

std::string payload(const rd_kafka_message_t* m) {
    return m->payload ? std::string(static_cast<const char*>(m->payload), m->len) : std::string();
}
std::string key_of(const rd_kafka_message_t* m) {
    return m->key ? std::string(static_cast<const char*>(m->key), m->key_len) : std::string();
}

// ---- the records of the bulk tests ---------------------------------------------------------------
// value = "<index:08>|<key id:05>|<per-key seq:06>|" then filler that depends on the index, so every
// byte can be checked; key = "key-<key id>".  Records are produced in index order, so each key's
// sequence numbers must come back 0, 1, 2, ... (one key lives in one partition).

constexpr int kKeys = 1000;

std::string make_key(int64_t index) { return "key-" + std::to_string(index % kKeys); }

std::string make_value(int64_t index, size_t size) {
    char head[40];
    int n = std::snprintf(head, sizeof head, "%08" PRId64 "|%05d|%06" PRId64 "|", index, static_cast<int>(index % kKeys),
                          index / kKeys);
    std::string v(head, n);
    v.reserve(size);
    uint32_t x = static_cast<uint32_t>(index) * 2654435761u + 1;
    while (v.size() < size) {
        x = x * 1664525u + 1013904223u;
        v.push_back(static_cast<char>('A' + (x >> 24) % 58));
    }
    v.resize(size);
    return v;
}

int64_t index_of(const std::string& value) {
    if (value.size() < 8) return -1;
    int64_t i = 0;
    for (int k = 0; k < 8; ++k) {
        if (value[k] < '0' || value[k] > '9') return -1;
        i = i * 10 + (value[k] - '0');
    }
    return i;
}

// Produces `count` keyed records (default partitioner) and asserts every delivery report succeeded.
void produce_keyed(Producer& producer, const std::string& topic, int64_t count, size_t value_size,
                   std::chrono::seconds timeout) {
    ASSERT_TRUE(producer.rk);
    for (int64_t i = 0; i < count; ++i) {
        std::string key = make_key(i);
        std::string value = make_value(i, value_size);
        ASSERT_TRUE(producer.send(topic, RD_KAFKA_PARTITION_UA, key.data(), key.size(), value.data(), value.size(), i));
        if ((i & 1023) == 0) rd_kafka_poll(producer.rk.get(), 0);
    }
    ASSERT_TRUE(producer.flush(timeout));
    EXPECT_EQ(producer.delivery.failed, 0) << "first failure: " << producer.delivery.first_error;
    EXPECT_EQ(producer.delivery.succeeded, count);
}

// Consumes a topic written by produce_keyed and checks: each index exactly once, byte-identical
// values and keys, per-partition offsets contiguous from 0, per-key sequence in order.
struct KeyedCheck {
    std::vector<int> seen;
    std::vector<int64_t> next_offset;
    std::vector<int64_t> next_seq;
    std::vector<int32_t> key_partition;
    std::vector<int64_t> per_partition;
    int64_t bad = 0;
    int64_t bytes = 0;

    KeyedCheck(int64_t count, int partitions)
        : seen(count, 0), next_offset(partitions, 0), next_seq(kKeys, 0), key_partition(kKeys, -1),
          per_partition(partitions, 0) {}

    void operator()(const rd_kafka_message_t* m, size_t value_size) {
        std::string v = payload(m);
        bytes += static_cast<int64_t>(m->len + m->key_len);
        int64_t i = index_of(v);
        auto complain = [&](const std::string& what) {
            if (bad++ < 20) ADD_FAILURE() << "partition " << m->partition << " offset " << m->offset << ": " << what;
        };
        if (m->partition < 0 || static_cast<size_t>(m->partition) >= next_offset.size()) return complain("bad partition");
        ++per_partition[m->partition];
        if (m->offset != next_offset[m->partition])
            complain("offset " + std::to_string(m->offset) + ", expected " + std::to_string(next_offset[m->partition]));
        next_offset[m->partition] = m->offset + 1;
        if (i < 0 || static_cast<size_t>(i) >= seen.size()) return complain("unparseable value");
        if (seen[i]++ != 0) complain("index " + std::to_string(i) + " seen twice");
        if (v != make_value(i, value_size)) complain("value of index " + std::to_string(i) + " differs");
        if (key_of(m) != make_key(i)) complain("key of index " + std::to_string(i) + " differs");
        int k = static_cast<int>(i % kKeys);
        if (key_partition[k] == -1) key_partition[k] = m->partition;
        if (key_partition[k] != m->partition) complain("key " + std::to_string(k) + " in two partitions");
        if (i / kKeys != next_seq[k])
            complain("key " + std::to_string(k) + " seq " + std::to_string(i / kKeys) + ", expected " +
                     std::to_string(next_seq[k]));
        next_seq[k] = i / kKeys + 1;
    }

    void expect_complete(const std::vector<int64_t>& watermarks) {
        int64_t missing = std::count(seen.begin(), seen.end(), 0);
        EXPECT_EQ(missing, 0) << "records never consumed";
        EXPECT_EQ(bad, 0);
        for (size_t p = 0; p < next_offset.size(); ++p) {
            EXPECT_EQ(next_offset[p], watermarks[p]) << "partition " << p << " consumed up to its high watermark";
            EXPECT_EQ(per_partition[p], watermarks[p]) << "partition " << p << " record count";
        }
    }
};

// ---- 1. the issue's test -------------------------------------------------------------------------

TEST(Librdkafka, IdempotentHundredThousandRecordsExactlyOnceInOrder) {
    GatewayProcess gw;
    ASSERT_TRUE(gw.start());
    const std::string topic = "bulk-idempotent";
    constexpr int kPartitions = 6;
    constexpr int64_t kRecords = 100000;
    constexpr size_t kValueSize = 1024;
    ASSERT_TRUE(create_topic(gw.bootstrap(), topic, kPartitions));

    Producer producer(gw.bootstrap(),
                      {{"enable.idempotence", "true"},
                       {"acks", "all"},
                       {"linger.ms", "5"},
                       {"queue.buffering.max.messages", "200000"},
                       {"queue.buffering.max.kbytes", "1048576"},
                       {"message.timeout.ms", "300000"}},
                      kRecords);
    auto t0 = Clock::now();
    produce_keyed(producer, topic, kRecords, kValueSize, std::chrono::seconds(300));
    double produce_s = seconds_since(t0);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());

    // Delivery reports: offsets unique and contiguous per partition, all partitions used.
    int64_t reported = 0;
    for (auto& [p, offs] : producer.delivery.offsets) {
        std::sort(offs.begin(), offs.end());
        for (size_t k = 0; k < offs.size(); ++k)
            if (offs[k] != static_cast<int64_t>(k)) {
                ADD_FAILURE() << "partition " << p << ": reported offsets not 0.." << offs.size() - 1 << " (at " << k
                              << ": " << offs[k] << ")";
                break;
            }
        reported += static_cast<int64_t>(offs.size());
    }
    EXPECT_EQ(reported, kRecords);
    EXPECT_EQ(producer.delivery.offsets.size(), static_cast<size_t>(kPartitions)) << "the partitioner used every partition";
    producer.rk.reset();

    std::vector<int64_t> hw = high_watermarks(gw.bootstrap(), topic, kPartitions);
    int64_t total = 0;
    for (int64_t h : hw) total += h;
    EXPECT_EQ(total, kRecords) << "high watermarks add up to the records sent (no duplicates in the log)";

    KeyedCheck check(kRecords, kPartitions);
    double consume_s = 0;   // from assign() to the last record (not counting the duplicate watch)
    int64_t got = consume(gw.bootstrap(), topic, kPartitions, kRecords, std::chrono::seconds(300),
                          [&](const rd_kafka_message_t* m) { check(m, kValueSize); }, {}, &consume_s);
    check.expect_complete(hw);
    EXPECT_EQ(got, kRecords);

    double mb = static_cast<double>(kRecords) * kValueSize / 1e6;
    std::printf("[ throughput ] produce: %" PRId64 " records x %zu B values (idempotent, acks=all, %d partitions) "
                "in %.2f s = %.0f records/s, %.1f MB/s of values\n",
                kRecords, kValueSize, kPartitions, produce_s, kRecords / produce_s, mb / produce_s);
    std::printf("[ throughput ] consume: %" PRId64 " records in %.2f s = %.0f records/s, %.1f MB/s of values\n", got,
                consume_s, got / consume_s, mb / consume_s);
    std::fflush(stdout);
}

// ---- 2. restart -----------------------------------------------------------------------------------

TEST(Librdkafka, RecordsSurviveCleanRestart) {
    GatewayProcess gw;
    ASSERT_TRUE(gw.start());
    const std::string topic = "restart";
    constexpr int kPartitions = 3;
    constexpr int64_t kRecords = 10000;
    constexpr size_t kValueSize = 200;
    ASSERT_TRUE(create_topic(gw.bootstrap(), topic, kPartitions));
    {
        Producer producer(gw.bootstrap(), {{"acks", "all"}, {"linger.ms", "5"}}, kRecords);
        produce_keyed(producer, topic, kRecords, kValueSize, std::chrono::seconds(120));
        ASSERT_FALSE(::testing::Test::HasFatalFailure());
    }
    ASSERT_TRUE(gw.restart());

    std::vector<int64_t> hw = high_watermarks(gw.bootstrap(), topic, kPartitions);
    KeyedCheck check(kRecords, kPartitions);
    consume(gw.bootstrap(), topic, kPartitions, kRecords, std::chrono::seconds(180),
            [&](const rd_kafka_message_t* m) { check(m, kValueSize); });
    check.expect_complete(hw);

    // The recovered log keeps appending where it stopped.
    Producer more(gw.bootstrap(), {{"acks", "all"}});
    ASSERT_TRUE(more.rk);
    for (int p = 0; p < kPartitions; ++p) {
        std::string v = "after restart " + std::to_string(p);
        ASSERT_TRUE(more.send(topic, p, nullptr, 0, v.data(), v.size(), -1));
    }
    ASSERT_TRUE(more.flush(std::chrono::seconds(60)));
    EXPECT_EQ(more.delivery.failed, 0) << more.delivery.first_error;
    for (int p = 0; p < kPartitions; ++p) {
        ASSERT_EQ(more.delivery.offsets[p].size(), 1u) << "partition " << p;
        EXPECT_EQ(more.delivery.offsets[p][0], hw[p]) << "partition " << p << " offset after restart";
    }
    more.rk.reset();
    EXPECT_TRUE(gw.stop());
}

// ---- 3. kill -9 with fsync on every batch ---------------------------------------------------------

TEST(Librdkafka, AcknowledgedRecordsSurviveKill9WithFsyncPerBatch) {
    GatewayProcess gw({"log.flush.policy=batch"});
    ASSERT_TRUE(gw.start());
    const std::string topic = "kill9";
    constexpr int kPartitions = 3;
    constexpr int64_t kRecords = 10000;
    constexpr size_t kValueSize = 300;
    ASSERT_TRUE(create_topic(gw.bootstrap(), topic, kPartitions));
    {
        Producer producer(gw.bootstrap(), {{"acks", "all"}, {"enable.idempotence", "true"}, {"linger.ms", "5"}},
                          kRecords);
        produce_keyed(producer, topic, kRecords, kValueSize, std::chrono::seconds(180));
        ASSERT_FALSE(::testing::Test::HasFatalFailure());
        // Kill while the producer is still connected: nothing it was told is durable may be lost.
        ASSERT_TRUE(gw.restart_after_kill9());
    }
    std::vector<int64_t> hw = high_watermarks(gw.bootstrap(), topic, kPartitions);
    KeyedCheck check(kRecords, kPartitions);
    consume(gw.bootstrap(), topic, kPartitions, kRecords, std::chrono::seconds(180),
            [&](const rd_kafka_message_t* m) { check(m, kValueSize); });
    check.expect_complete(hw);
    EXPECT_TRUE(gw.stop());
}

// kill -9 in the middle of a stream: every record acknowledged before the kill is there afterwards at
// the offset its delivery report gave, and each partition is still a clean run of whole records.
TEST(Librdkafka, RecordsAcknowledgedBeforeMidStreamKill9SurviveWithFsyncPerBatch) {
    GatewayProcess gw({"log.flush.policy=batch"});
    ASSERT_TRUE(gw.start());
    const std::string topic = "kill9-midstream";
    constexpr int kPartitions = 3;
    constexpr int64_t kRecords = 40000;
    constexpr size_t kValueSize = 500;
    ASSERT_TRUE(create_topic(gw.bootstrap(), topic, kPartitions));

    Producer producer(gw.bootstrap(),
                      {{"acks", "all"}, {"linger.ms", "2"}, {"batch.num.messages", "200"}, {"message.timeout.ms", "20000"}},
                      kRecords);
    ASSERT_TRUE(producer.rk);
    // Keep a window of records in flight and kill once enough have been acknowledged.
    bool killed = false;
    int64_t next_index = 0;
    auto deadline = Clock::now() + std::chrono::seconds(180);
    while (!killed && Clock::now() < deadline) {
        while (next_index < kRecords && rd_kafka_outq_len(producer.rk.get()) < 2000) {
            std::string key = make_key(next_index);
            std::string value = make_value(next_index, kValueSize);
            ASSERT_TRUE(producer.send(topic, RD_KAFKA_PARTITION_UA, key.data(), key.size(), value.data(), value.size(),
                                      next_index));
            ++next_index;
        }
        rd_kafka_poll(producer.rk.get(), 5);   // serves delivery reports
        if (producer.delivery.succeeded >= 5000 && rd_kafka_outq_len(producer.rk.get()) > 0) {
            gw.kill9();   // with requests in flight
            killed = true;
        }
        if (next_index == kRecords && rd_kafka_outq_len(producer.rk.get()) == 0) break;
    }
    ASSERT_TRUE(killed) << "the producer was never far enough ahead of its acknowledgements to kill mid-stream";
    // Whatever the gateway answered before it died may still be reported; nothing else can succeed.
    rd_kafka_purge(producer.rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (int k = 0; k < 50 && rd_kafka_outq_len(producer.rk.get()) > 0; ++k) rd_kafka_flush(producer.rk.get(), 200);
    rd_kafka_poll(producer.rk.get(), 0);
    Delivery acked = producer.delivery;
    producer.rk.reset();
    std::printf("[ kill -9    ] %" PRId64 " records acknowledged before the kill\n", acked.succeeded);
    ASSERT_GE(acked.succeeded, 5000);
    ASSERT_TRUE(gw.start());

    std::vector<int64_t> hw = high_watermarks(gw.bootstrap(), topic, kPartitions);
    int64_t total = 0;
    for (int64_t h : hw) total += h;
    ASSERT_GE(total, acked.succeeded);
    std::map<std::pair<int32_t, int64_t>, int64_t> found;   // (partition, offset) -> index
    std::vector<int64_t> next(kPartitions, 0);
    int64_t bad = 0;
    consume(gw.bootstrap(), topic, kPartitions, total, std::chrono::seconds(180), [&](const rd_kafka_message_t* m) {
        std::string v = payload(m);
        int64_t i = index_of(v);
        bool ok = m->partition >= 0 && m->partition < kPartitions && m->offset == next[m->partition] && i >= 0 &&
                  i < kRecords && v == make_value(i, kValueSize) && key_of(m) == make_key(i);
        if (!ok && bad++ < 10) ADD_FAILURE() << "bad record at [" << m->partition << "] @" << m->offset;
        if (m->partition >= 0 && m->partition < kPartitions) next[m->partition] = m->offset + 1;
        found[{m->partition, m->offset}] = i;
    });
    EXPECT_EQ(bad, 0);
    int64_t lost = 0;
    for (int64_t i = 0; i < kRecords; ++i) {
        if (acked.offset_of[i] < 0) continue;
        auto it = found.find({acked.partition_of[i], acked.offset_of[i]});
        if (it == found.end() || it->second != i) {
            if (lost++ < 10)
                ADD_FAILURE() << "acknowledged record " << i << " at [" << acked.partition_of[i] << "] @"
                              << acked.offset_of[i] << (it == found.end() ? " is gone" : " holds another record");
        }
    }
    EXPECT_EQ(lost, 0);
    EXPECT_TRUE(gw.stop());
}

// ---- 4. compression -----------------------------------------------------------------------------

TEST(Librdkafka, EveryCompressionCodecRoundTripsByteIdentical) {
    GatewayProcess gw;
    ASSERT_TRUE(gw.start());
    constexpr int64_t kRecords = 3000;
    // Mixed values: highly compressible text, incompressible noise, empty, and a few large ones.
    std::mt19937_64 rng(42);
    std::vector<std::string> values(kRecords);
    for (int64_t i = 0; i < kRecords; ++i) {
        std::string& v = values[i];
        switch (i % 5) {
        case 0: v.clear(); break;
        case 1:
            for (int k = 0; k < 50; ++k) v += "the quick brown fox " + std::to_string(i) + " ";
            break;
        case 2: {
            size_t n = 1 + rng() % 4000;
            for (size_t k = 0; k < n; ++k) v.push_back(static_cast<char>(rng()));
            break;
        }
        case 3: v.assign(i % 1000 == 3 ? 300000 : 10 + rng() % 100, static_cast<char>('a' + i % 26)); break;
        case 4: v = "value-" + std::to_string(i); break;
        }
    }
    for (const char* codec : {"gzip", "snappy", "lz4", "zstd"}) {
        SCOPED_TRACE(codec);
        const std::string topic = std::string("compressed-") + codec;
        ASSERT_TRUE(create_topic(gw.bootstrap(), topic, 2));
        Producer producer(gw.bootstrap(),
                          {{"acks", "all"}, {"compression.codec", codec}, {"linger.ms", "20"}, {"enable.idempotence", "true"}},
                          kRecords);
        ASSERT_TRUE(producer.rk);
        for (int64_t i = 0; i < kRecords; ++i) {
            std::string key = numbered("k", i);
            ASSERT_TRUE(producer.send(topic, static_cast<int32_t>(i % 2), key.data(), key.size(), values[i].data(),
                                      values[i].size(), i));
        }
        ASSERT_TRUE(producer.flush(std::chrono::seconds(120)));
        ASSERT_EQ(producer.delivery.failed, 0) << producer.delivery.first_error;

        std::vector<int> seen(kRecords, 0);
        std::vector<int64_t> next(2, 0), last_index(2, -1);
        int64_t bad = 0;
        consume(gw.bootstrap(), topic, 2, kRecords, std::chrono::seconds(120), [&](const rd_kafka_message_t* m) {
            std::string key = key_of(m);
            int64_t i = key.size() > 1 ? std::stoll(key.substr(1)) : -1;
            bool ok = i >= 0 && i < kRecords && seen[i]++ == 0 && payload(m) == values[i] && m->partition == i % 2 &&
                      m->offset == next[m->partition] && i > last_index[m->partition];
            if (!ok && bad++ < 10)
                ADD_FAILURE() << codec << ": record " << key << " at [" << m->partition << "] @" << m->offset
                              << " (len " << m->len << ") is wrong";
            if (m->partition >= 0 && m->partition < 2) {
                next[m->partition] = m->offset + 1;
                last_index[m->partition] = i;
            }
        }, {{"fetch.max.bytes", "5000000"}, {"check.crcs", "true"}});
        EXPECT_EQ(bad, 0);
        EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), kRecords);
    }
}

// ---- 5. headers and timestamps --------------------------------------------------------------------

TEST(Librdkafka, HeadersAndCreateTimestampsRoundTrip) {
    GatewayProcess gw;
    ASSERT_TRUE(gw.start());
    const std::string topic = "headers-timestamps";
    constexpr int64_t kRecords = 2000;
    ASSERT_TRUE(create_topic(gw.bootstrap(), topic, 1));

    // Timestamps are deliberately not monotonic (negative deltas inside a batch), spanning years.
    auto timestamp_of = [](int64_t i) -> int64_t {
        return 1262304000000LL + ((i * 7919) % kRecords) * 86400000LL / 7 + i % 13;
    };
    auto trace_of = [](int64_t i) { return "trace-" + std::to_string(i * 31); };
    const std::string binary("\x00\x01\xff\x80 bin", 8);

    Producer producer(gw.bootstrap(), {{"acks", "all"}, {"linger.ms", "10"}, {"enable.idempotence", "true"}});
    ASSERT_TRUE(producer.rk);
    for (int64_t i = 0; i < kRecords; ++i) {
        std::string value = numbered("v", i);
        std::string trace = trace_of(i);
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__QUEUE_FULL;
        for (int attempt = 0; attempt < 1000 && err == RD_KAFKA_RESP_ERR__QUEUE_FULL; ++attempt) {
            if (i % 3 == 0) {   // a record without headers now and then
                err = rd_kafka_producev(producer.rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                        RD_KAFKA_V_VALUE(value.data(), value.size()),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp_of(i)),
                                        RD_KAFKA_V_END);
            } else {
                err = rd_kafka_producev(producer.rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                        RD_KAFKA_V_KEY("k", 1), RD_KAFKA_V_VALUE(value.data(), value.size()),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp_of(i)),
                                        RD_KAFKA_V_HEADER("trace-id", trace.data(), static_cast<ssize_t>(trace.size())),
                                        RD_KAFKA_V_HEADER("binary", binary.data(), static_cast<ssize_t>(binary.size())),
                                        RD_KAFKA_V_HEADER("empty", "", 0),
                                        RD_KAFKA_V_HEADER("null", nullptr, 0),
                                        RD_KAFKA_V_HEADER("dup", "first", 5),
                                        RD_KAFKA_V_HEADER("dup", "second", 6),
                                        RD_KAFKA_V_END);
            }
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer.rk.get(), 50);
        }
        ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2name(err);
    }
    ASSERT_TRUE(producer.flush(std::chrono::seconds(120)));
    ASSERT_EQ(producer.delivery.failed, 0) << producer.delivery.first_error;
    ASSERT_EQ(producer.delivery.succeeded, kRecords);

    int64_t bad = 0;
    auto complain = [&](int64_t offset, const std::string& what) {
        if (bad++ < 20) ADD_FAILURE() << "offset " << offset << ": " << what;
    };
    consume(gw.bootstrap(), topic, 1, kRecords, std::chrono::seconds(120), [&](const rd_kafka_message_t* m) {
        int64_t i = m->offset;
        if (payload(m) != numbered("v", i)) return complain(i, "value " + payload(m));
        rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        int64_t ts = rd_kafka_message_timestamp(m, &type);
        if (type != RD_KAFKA_TIMESTAMP_CREATE_TIME) complain(i, "timestamp type " + std::to_string(type));
        if (ts != timestamp_of(i)) complain(i, "timestamp " + std::to_string(ts) + ", expected " + std::to_string(timestamp_of(i)));

        rd_kafka_headers_t* hdrs = nullptr;
        rd_kafka_resp_err_t herr = rd_kafka_message_headers(m, &hdrs);
        if (i % 3 == 0) {
            if (herr != RD_KAFKA_RESP_ERR__NOENT) complain(i, "expected no headers");
            if (m->key != nullptr) complain(i, "expected a null key");
            return;
        }
        if (key_of(m) != "k") complain(i, "key");
        if (herr != RD_KAFKA_RESP_ERR_NO_ERROR) return complain(i, std::string("headers: ") + rd_kafka_err2name(herr));
        struct H {
            std::string name;
            bool is_null;
            std::string value;
        };
        std::vector<H> want = {{"trace-id", false, trace_of(i)}, {"binary", false, binary}, {"empty", false, ""},
                               {"null", true, ""},           {"dup", false, "first"},   {"dup", false, "second"}};
        std::vector<H> have;
        const char* name = nullptr;
        const void* val = nullptr;
        size_t size = 0;
        for (size_t idx = 0; rd_kafka_header_get_all(hdrs, idx, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++idx)
            have.push_back({name, val == nullptr, val ? std::string(static_cast<const char*>(val), size) : ""});
        bool same = have.size() == want.size();
        for (size_t k = 0; same && k < want.size(); ++k)
            same = have[k].name == want[k].name && have[k].is_null == want[k].is_null && have[k].value == want[k].value;
        if (!same) {
            std::string got;
            for (auto& h : have) got += h.name + "=" + (h.is_null ? "<null>" : "'" + h.value + "'") + " ";
            complain(i, "headers differ: " + got);
        }
    });
    EXPECT_EQ(bad, 0);
}

} // namespace
