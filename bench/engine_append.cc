// engine_append: appends records straight to a storage engine (no Kafka protocol, no client), as fast as a
// bounded window of appends in flight allows, and prints records/s and this process's CPU per record.
//
// Its point is the seaweedmq:// engine: run beside a SeaweedFS cluster, pinned to the same CPU, it shows what
// publishing costs on its own (our gRPC client of SeaweedMQ's one-message-per-record publish API), against
// which bench/compare's gateway figures (the same plus the Kafka side) can be read.  Any engine URL works.
//
//   engine_append URL [--records N] [--partitions P] [--size BYTES] [--batch RECORDS] [--window APPENDS]
//                     [--acks 1|all]
#include "bench/record_value.h"
#include "gateway/storage/storage_engine.h"
#include "runtime/record_batch.h"

#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: engine_append URL [--records N] [--partitions P] [--size BYTES] [--batch RECORDS] "
                         "[--window APPENDS] [--acks 1|all]\n");
    std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) usage();
    const std::string url = argv[1];
    long records = 200000, partitions = 1, size = 1024, batch_records = 64, window = 64;
    gateway::AppendWait wait = gateway::AppendWait::accepted;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const char* value = argv[i + 1];
        if (flag == "--records") records = std::atol(value);
        else if (flag == "--partitions") partitions = std::atol(value);
        else if (flag == "--size") size = std::atol(value);
        else if (flag == "--batch") batch_records = std::atol(value);
        else if (flag == "--window") window = std::atol(value);
        else if (flag == "--acks") wait = std::strcmp(value, "all") == 0 ? gateway::AppendWait::durable
                                                                         : gateway::AppendWait::accepted;
        else usage();
    }
    if (records <= 0 || partitions <= 0 || size < 0 || batch_records <= 0 || window <= 0) usage();

    auto engine = gateway::StorageEngine::open(url, {});
    const std::string topic = "engine-append-" + std::to_string(now_ms());
    if (engine->create_topic(topic, static_cast<int32_t>(partitions), {}) != gateway::StorageErrc::none) {
        std::fprintf(stderr, "engine_append: cannot create topic %s\n", topic.c_str());
        return 1;
    }
    // One batch, appended again and again (the engine reads it before append_batches_async returns).
    kafka::RecordBatchBuilder builder({});
    const std::string value = bench::record_value(static_cast<size_t>(size));   // as rdkafka_load's
    for (long i = 0; i < batch_records; ++i)
        builder.append(now_ms(), std::nullopt, kafka::Bytes::copy_of(value));
    const kafka::Bytes batch = builder.build();

    std::mutex mutex;
    std::condition_variable changed;
    long in_flight = 0, failed = 0, appended = 0;
    const double cpu_before = cpu_seconds();
    const auto began = std::chrono::steady_clock::now();
    for (long sent = 0, n = 0; sent < records; sent += batch_records, ++n) {
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return in_flight < window; });
            ++in_flight;
        }
        engine->append_batches_async({topic, static_cast<int32_t>(n % partitions)}, batch.span(), wait,
                                     [&](const gateway::AppendResult& r) {
                                         std::lock_guard lock(mutex);
                                         --in_flight;
                                         if (r.error != gateway::StorageErrc::none) ++failed;
                                         else appended += r.last_offset - r.base_offset + 1;
                                         changed.notify_all();
                                     });
    }
    {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return in_flight == 0; });
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    const double cpu = cpu_seconds() - cpu_before;
    std::printf("engine_append %s: %ld records of %ld bytes in %ld-record batches, %ld partition(s), window %ld: "
                "%.0f records/s, %.2f s, CPU %.2f s (%.2f us a record), %ld appends failed\n",
                url.c_str(), appended, size, batch_records, partitions, window, static_cast<double>(appended) / seconds,
                seconds, cpu, cpu * 1e6 / static_cast<double>(std::max(appended, 1L)), failed);
    engine.reset();
    return failed == 0 ? 0 : 1;
}
