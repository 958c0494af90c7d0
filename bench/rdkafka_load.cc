// rdkafka_load: a librdkafka load generator for bench/compare, the same program against every server.
// It prints one JSON object on stdout (the figures) and diagnostics on stderr; exit 0 only when every
// record was delivered (produce) or seen (consume, e2e).
//
//   rdkafka_load create  --bootstrap B --topic T --partitions P
//   rdkafka_load produce --bootstrap B --topic T --count N [--size 1024] [--acks 1|-1] [--rate R]
//       N records of --size bytes, as fast as librdkafka takes them (its defaults: linger.ms 5,
//       batch.size 1 MB, sticky partitioning of unkeyed records).  Latency = enqueue -> delivery report.
//       With --rate: paced at R records/s with linger.ms 0, so a record waits in the client only while
//       earlier ones are in flight and the latency is the server's; delivery reports are served by a
//       thread of their own, so they are timed when they arrive.  Adds max_late_ms (how far a send fell
//       behind its schedule).
//   rdkafka_load consume --bootstrap B --topic T --count N
//       reads N records from the start of every partition (no consumer group: the legacy per-partition
//       consumer on one queue, served a queue-full at a time).  Throughput from the first to the N-th record.
//   rdkafka_load e2e     --bootstrap B --topic T --count N [--size 1024] [--acks -1] [--rate R]
//       produces N records at R records/s (linger.ms 0), each carrying its send time, to partition 0 while a
//       consumer that started at the high watermark reads them; latency = send -> consumed, per record.
//
// Paced modes sleep between sends (timer slack 1 us) instead of spinning, so the client's CPU time is its work.
//
// Common: --timeout SECONDS (default 300), --set NAME=VALUE (any librdkafka property, repeatable),
// --server-pid PID (repeatable).  produce and consume also print the CPU seconds used within the window their
// records/s is measured over: window_client_cpu_s (this process, getrusage) and, with --server-pid,
// window_server_cpu_s (the run time of those processes' threads, /proc/PID/task/*/schedstat), so that which side
// bound the load is judged without the client's start-up and teardown.
#include "bench/record_value.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>

namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Options {
    std::string mode, bootstrap, topic;
    int64_t count = 10000;
    int size = 1024;
    int partitions = 1;
    std::string acks = "1";
    double rate = 1000;
    bool paced = false;   // --rate given (produce)
    double timeout_s = 300;
    std::vector<std::pair<std::string, std::string>> extra;
    std::vector<int> server_pids;
};

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "rdkafka_load: %s\n", message.c_str());
    std::exit(2);
}

Options parse(int argc, char** argv) {
    if (argc < 2) die("usage: rdkafka_load create|produce|consume|e2e --bootstrap B --topic T [options]");
    Options o;
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string name = argv[i];
        if (i + 1 >= argc) die("missing value for " + name);
        std::string value = argv[++i];
        if (name == "--bootstrap") o.bootstrap = value;
        else if (name == "--topic") o.topic = value;
        else if (name == "--count") o.count = std::stoll(value);
        else if (name == "--size") o.size = std::stoi(value);
        else if (name == "--partitions") o.partitions = std::stoi(value);
        else if (name == "--acks") o.acks = value;
        else if (name == "--rate") o.rate = std::stod(value), o.paced = true;
        else if (name == "--timeout") o.timeout_s = std::stod(value);
        else if (name == "--server-pid") o.server_pids.push_back(std::stoi(value));
        else if (name == "--set") {
            auto eq = value.find('=');
            if (eq == std::string::npos) die("--set expects NAME=VALUE");
            o.extra.emplace_back(value.substr(0, eq), value.substr(eq + 1));
        } else die("unknown option " + name);
    }
    if (o.bootstrap.empty() || o.topic.empty()) die("--bootstrap and --topic are required");
    if (o.count <= 0 || o.size < 16) die("--count must be positive and --size at least 16");
    if (o.rate <= 0) die("--rate must be positive");
    return o;
}

rd_kafka_conf_t* make_conf(const Options& o, std::vector<std::pair<std::string, std::string>> props) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    props.emplace(props.begin(), "bootstrap.servers", o.bootstrap);
    props.insert(props.end(), o.extra.begin(), o.extra.end());
    char err[512];
    for (const auto& [name, value] : props)
        if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
            die(name + "=" + value + ": " + err);
    return conf;
}

rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) die(std::string("rd_kafka_new: ") + err);
    return rk;
}

// Latency percentiles in milliseconds (nearest rank) of samples in nanoseconds.
struct Percentiles {
    double p50 = 0, p99 = 0, p999 = 0, max = 0;
};

Percentiles percentiles(std::vector<int64_t> ns) {
    Percentiles p;
    if (ns.empty()) return p;
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) {
        size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(ns.size())));
        return static_cast<double>(ns[std::clamp<size_t>(rank, 1, ns.size()) - 1]) / 1e6;
    };
    p.p50 = at(0.50);
    p.p99 = at(0.99);
    p.p999 = at(0.999);
    p.max = static_cast<double>(ns.back()) / 1e6;
    return p;
}

// Record i is due at start + i / rate.  Sleeps until then; a record due while the sender is late goes at once,
// so the average rate holds.  late_ns: how far the latest send fell behind its due time, at most.
class Pacer {
public:
    Pacer(double rate, int64_t start) : interval_ns_(1e9 / rate), start_(start) {
        prctl(PR_SET_TIMERSLACK, 1000UL);   // the default 50 us slack is half the gap at 10,000 records/s
    }
    void wait(int64_t i) {
        int64_t due = start_ + static_cast<int64_t>(static_cast<double>(i) * interval_ns_);
        int64_t now = now_ns();
        if (now < due) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
        late_ns = std::max(late_ns, now_ns() - due);
    }
    int64_t late_ns = 0;

private:
    double interval_ns_;
    int64_t start_;
};

// CPU seconds of this process (all its threads) and of the --server-pid processes between open() and close().
class CpuWindow {
public:
    explicit CpuWindow(const std::vector<int>& server_pids) : server_pids_(server_pids) {}
    void open() { client_ = -own_seconds(), server_ = -server_seconds(); }
    void close() {
        if (closed_) return;
        client_ += own_seconds(), server_ += server_seconds();
        closed_ = true;
    }
    // `, "window_client_cpu_s": ...` for print_result, or nothing when the window never closed.
    std::string json() const {
        if (!closed_) return {};
        char buf[128];
        int n = std::snprintf(buf, sizeof buf, ", \"window_client_cpu_s\": %.4f", client_);
        if (!server_pids_.empty())
            std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ", \"window_server_cpu_s\": %.4f", server_);
        return buf;
    }

private:
    static double own_seconds() {
        rusage u{};
        getrusage(RUSAGE_SELF, &u);
        auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
        return s(u.ru_utime) + s(u.ru_stime);
    }
    double server_seconds() const {
        double total = 0;
        for (int pid : server_pids_) {
            std::string dir = "/proc/" + std::to_string(pid) + "/task";
            DIR* d = opendir(dir.c_str());
            if (!d) continue;   // exited: the harness notices that itself
            while (dirent* e = readdir(d)) {
                if (e->d_name[0] == '.') continue;
                FILE* f = std::fopen((dir + "/" + e->d_name + "/schedstat").c_str(), "r");
                if (!f) continue;
                unsigned long long ns = 0;
                if (std::fscanf(f, "%llu", &ns) == 1) total += static_cast<double>(ns) / 1e9;
                std::fclose(f);
            }
            closedir(d);
        }
        return total;
    }

    std::vector<int> server_pids_;
    double client_ = 0, server_ = 0;
    bool closed_ = false;
};

void print_result(const Options& o, int64_t records, double seconds, const Percentiles* latency, int64_t errors,
                  const Pacer* pacer = nullptr, const CpuWindow* window = nullptr) {
    double rps = seconds > 0 ? static_cast<double>(records) / seconds : 0;
    std::printf("{\"mode\": \"%s\", \"topic\": \"%s\", \"records\": %" PRId64 ", \"record_bytes\": %d, "
                "\"seconds\": %.6f, \"records_per_s\": %.1f, \"mb_per_s\": %.3f, \"errors\": %" PRId64,
                o.mode.c_str(), o.topic.c_str(), records, o.size, seconds, rps, rps * o.size / (1024.0 * 1024.0),
                errors);
    if (latency)
        std::printf(", \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f", latency->p50,
                    latency->p99, latency->p999, latency->max);
    if (pacer) std::printf(", \"rate\": %.1f, \"max_late_ms\": %.3f", o.rate, static_cast<double>(pacer->late_ns) / 1e6);
    if (window) std::printf("%s", window->json().c_str());
    std::printf("}\n");
    std::fflush(stdout);
}

// --- create --------------------------------------------------------------------------------------

int create_topic(const Options& o) {
    rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, make_conf(o, {}));
    char err[512];
    rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, 1, err, sizeof err);
    if (!topic) die(std::string("NewTopic: ") + err);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, 30000, err, sizeof err);
    rd_kafka_CreateTopics(rk, &topic, 1, options, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, static_cast<int>(o.timeout_s * 1000));
    int rc = 0;
    if (!event) die("CreateTopics: no answer");
    if (rd_kafka_event_error(event)) die(std::string("CreateTopics: ") + rd_kafka_event_error_string(event));
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &n);
    for (size_t i = 0; i < n; ++i) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            std::fprintf(stderr, "CreateTopics %s: %s\n", rd_kafka_topic_result_name(results[i]), rd_kafka_err2str(e));
            rc = 1;
        }
    }
    rd_kafka_event_destroy(event);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_NewTopic_destroy(topic);
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy(rk);
    if (rc == 0) print_result(o, 0, 0, nullptr, 0);
    return rc;
}

// --- produce -------------------------------------------------------------------------------------

struct Deliveries {
    std::vector<int64_t> sent_ns;      // by record index
    std::vector<int64_t> latency_ns;   // in delivery order
    int64_t delivered = 0, failed = 0, last_ns = 0;
    std::string first_error;
    CpuWindow* window = nullptr;   // closed at the last delivery report
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* d = static_cast<Deliveries*>(opaque);
    int64_t t = now_ns();
    auto index = reinterpret_cast<uintptr_t>(m->_private);
    if (m->err) {
        if (d->failed++ == 0) d->first_error = rd_kafka_err2str(m->err);
    } else {
        ++d->delivered;
        d->latency_ns.push_back(t - d->sent_ns[index]);
    }
    d->last_ns = t;
    if (d->window && d->delivered + d->failed == static_cast<int64_t>(d->sent_ns.size())) d->window->close();
}

int produce(const Options& o) {
    Deliveries d;
    d.sent_ns.resize(static_cast<size_t>(o.count));
    d.latency_ns.reserve(static_cast<size_t>(o.count));
    std::vector<std::pair<std::string, std::string>> props = {{"acks", o.acks}, {"enable.idempotence", "false"}};
    if (o.paced) props.emplace_back("linger.ms", "0");
    rd_kafka_conf_t* conf = make_conf(o, props);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &d);
    rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, conf);
    rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
    std::string value = bench::record_value(static_cast<size_t>(o.size));

    CpuWindow window(o.server_pids);
    d.window = &window;
    const int64_t deadline = now_ns() + static_cast<int64_t>(o.timeout_s * 1e9);
    window.open();
    const int64_t start = now_ns();
    Pacer pacer(o.rate, start);
    // Paced: delivery reports on their own thread (d is its alone until the join), the sends sleep in between.
    std::atomic<bool> sending{true};
    std::thread reports;
    if (o.paced)
        reports = std::thread([&] {
            while (sending) rd_kafka_poll(rk, 100);
        });
    for (int64_t i = 0; i < o.count;) {
        if (o.paced) pacer.wait(i);
        d.sent_ns[static_cast<size_t>(i)] = now_ns();
        if (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value.data(), value.size(), nullptr, 0,
                             reinterpret_cast<void*>(static_cast<uintptr_t>(i))) == 0) {
            ++i;
            if (!o.paced) rd_kafka_poll(rk, 0);
        } else if (rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (o.paced) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            else rd_kafka_poll(rk, 1);
        } else {
            die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
        }
        if (now_ns() > deadline) die("timed out while producing");
    }
    if (o.paced) {
        sending = false;
        reports.join();
    }
    while (d.delivered + d.failed < o.count && now_ns() < deadline) rd_kafka_poll(rk, 50);
    double seconds = static_cast<double>(d.last_ns - start) / 1e9;
    Percentiles p = percentiles(std::move(d.latency_ns));
    int64_t missing = o.count - d.delivered - d.failed;
    print_result(o, d.delivered, seconds, &p, d.failed + missing, o.paced ? &pacer : nullptr, &window);
    if (d.failed) std::fprintf(stderr, "%" PRId64 " records failed, first: %s\n", d.failed, d.first_error.c_str());
    if (missing) std::fprintf(stderr, "%" PRId64 " records without a delivery report at the timeout\n", missing);
    rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(rk);
    return d.failed || missing ? 1 : 0;
}

// --- consume -------------------------------------------------------------------------------------

int partition_count(rd_kafka_t* rk, rd_kafka_topic_t* topic, int timeout_ms) {
    const rd_kafka_metadata_t* md = nullptr;
    int64_t deadline = now_ns() + int64_t{timeout_ms} * 1000000;
    while (true) {
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, topic, &md, 5000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == 0 &&
            md->topics[0].partition_cnt > 0) {
            int n = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
            return n;
        }
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) e = md->topics[0].err;
        if (md) rd_kafka_metadata_destroy(md);
        md = nullptr;
        if (now_ns() > deadline) die(std::string("metadata: ") + rd_kafka_err2str(e));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

// The legacy consumer: every partition of the topic started at `offsets[p]` onto one queue.
struct PartitionReader {
    rd_kafka_t* rk = nullptr;
    rd_kafka_topic_t* topic = nullptr;
    rd_kafka_queue_t* queue = nullptr;
    int partitions = 0;

    PartitionReader(const Options& o, std::vector<std::pair<std::string, std::string>> props) {
        rk = make_client(RD_KAFKA_CONSUMER, make_conf(o, std::move(props)));
        topic = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
        partitions = partition_count(rk, topic, static_cast<int>(o.timeout_s * 1000));
        queue = rd_kafka_queue_new(rk);
    }
    void start(const std::vector<int64_t>& offsets) {
        for (int p = 0; p < partitions; ++p)
            if (rd_kafka_consume_start_queue(topic, p, offsets[static_cast<size_t>(p)], queue) == -1)
                die(std::string("consume_start: ") + rd_kafka_err2str(rd_kafka_last_error()));
    }
    ~PartitionReader() {
        for (int p = 0; p < partitions; ++p) rd_kafka_consume_stop(topic, p);
        rd_kafka_queue_destroy(queue);
        rd_kafka_topic_destroy(topic);
        rd_kafka_destroy(rk);
    }
};

// What the consume loop counts; librdkafka calls on_message for each message it serves.
struct ConsumeTally {
    int64_t count = 0;   // wanted
    int64_t got = 0, first_ns = 0, errors = 0;
    CpuWindow* window = nullptr;

    static void on_message(rd_kafka_message_t* m, void* opaque) {
        auto& t = *static_cast<ConsumeTally*>(opaque);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
        if (m->err) {
            if (t.errors++ < 5) std::fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
            return;
        }
        if (t.got >= t.count) return;
        if (t.got++ == 0) t.first_ns = now_ns(), t.window->open();
        if (t.got == t.count) t.window->close();
    }
};

int consume(const Options& o) {
    PartitionReader reader(o, {});
    reader.start(std::vector<int64_t>(static_cast<size_t>(reader.partitions), RD_KAFKA_OFFSET_BEGINNING));
    const int64_t deadline = now_ns() + static_cast<int64_t>(o.timeout_s * 1e9);
    CpuWindow window(o.server_pids);
    ConsumeTally tally{o.count, 0, 0, 0, &window};
    int64_t last_ns = 0;
    // Each call serves every message already queued (waiting up to 200 ms for the first), so the loop
    // pays its clock reads and queue wake-ups once per batch of messages, not once per message: with
    // rd_kafka_consume_queue() two thirds of this thread's CPU went to clock_gettime (librdkafka's and
    // ours, about nine reads a message), which no server's speed changes.  The last record's time is
    // taken when the call that served it returns.
    while (tally.got < o.count && now_ns() < deadline) {
        const int64_t before = tally.got;
        rd_kafka_consume_callback_queue(reader.queue, 200, &ConsumeTally::on_message, &tally);
        if (tally.got > before) last_ns = now_ns();
    }
    const int64_t got = tally.got;
    // From the first record: the time to open the connection and find the leader is not throughput.
    double seconds = got > 1 ? static_cast<double>(last_ns - tally.first_ns) / 1e9 : 0;
    print_result(o, got, seconds, nullptr, o.count - std::min(got, o.count), nullptr, &window);
    if (got < o.count) std::fprintf(stderr, "consumed %" PRId64 " of %" PRId64 " records before the timeout\n", got, o.count);
    return got >= o.count ? 0 : 1;
}

// --- e2e -----------------------------------------------------------------------------------------

int end_to_end(const Options& o) {
    PartitionReader reader(o, {{"fetch.wait.max.ms", "500"}});
    std::vector<int64_t> start_offsets(static_cast<size_t>(reader.partitions));
    for (int p = 0; p < reader.partitions; ++p) {
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(reader.rk, o.topic.c_str(), p, &low, &high, 10000);
        if (e) die(std::string("watermarks: ") + rd_kafka_err2str(e));
        start_offsets[static_cast<size_t>(p)] = high;
    }
    reader.start(start_offsets);

    std::vector<int64_t> latency_ns;
    latency_ns.reserve(static_cast<size_t>(o.count));
    std::atomic<int64_t> received{0};   // latency_ns.size(), readable from this thread
    std::atomic<bool> stop{false};
    int64_t errors = 0;
    std::thread consumer([&] {
        while (received < o.count && !stop) {
            rd_kafka_message_t* m = rd_kafka_consume_queue(reader.queue, 100);
            if (!m) continue;
            int64_t t = now_ns();
            if (!m->err && m->len >= sizeof(int64_t)) {
                int64_t sent;
                std::memcpy(&sent, m->payload, sizeof sent);
                latency_ns.push_back(t - sent);
                ++received;
            } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (errors++ < 5) std::fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
    });

    Deliveries d;   // the producer's own failures only; its latency is not what this mode measures
    d.sent_ns.resize(static_cast<size_t>(o.count));
    rd_kafka_conf_t* conf = make_conf(o, {{"acks", o.acks}, {"linger.ms", "0"}, {"enable.idempotence", "false"}});
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &d);
    rd_kafka_t* producer = make_client(RD_KAFKA_PRODUCER, conf);
    rd_kafka_topic_t* topic = rd_kafka_topic_new(producer, o.topic.c_str(), nullptr);
    std::string value = bench::record_value(static_cast<size_t>(o.size));
    const int64_t start = now_ns();
    const int64_t deadline = start + static_cast<int64_t>(o.timeout_s * 1e9);
    Pacer pacer(o.rate, start);
    for (int64_t i = 0; i < o.count && now_ns() < deadline; ++i) {
        pacer.wait(i);
        int64_t t = now_ns();
        std::memcpy(value.data(), &t, sizeof t);
        d.sent_ns[static_cast<size_t>(i)] = t;
        if (rd_kafka_produce(topic, 0, RD_KAFKA_MSG_F_COPY, value.data(), value.size(), nullptr, 0,
                             reinterpret_cast<void*>(static_cast<uintptr_t>(i))) != 0)
            die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_poll(producer, 0);
    }
    rd_kafka_flush(producer, 30000);
    while (received < o.count && now_ns() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop = true;
    consumer.join();
    double seconds = static_cast<double>(now_ns() - start) / 1e9;
    int64_t got = static_cast<int64_t>(latency_ns.size());
    Percentiles p = percentiles(std::move(latency_ns));
    print_result(o, got, seconds, &p, d.failed + errors + (o.count - std::min(got, o.count)), &pacer);
    if (got < o.count) std::fprintf(stderr, "consumed %" PRId64 " of %" PRId64 " records\n", got, o.count);
    if (d.failed) std::fprintf(stderr, "%" PRId64 " records failed, first: %s\n", d.failed, d.first_error.c_str());
    rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(producer);
    return got >= o.count && d.failed == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    if (o.mode == "create") return create_topic(o);
    if (o.mode == "produce") return produce(o);
    if (o.mode == "consume") return consume(o);
    if (o.mode == "e2e") return end_to_end(o);
    die("unknown mode " + o.mode);
}
