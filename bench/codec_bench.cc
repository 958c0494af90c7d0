// Codec throughput: decode and encode of a Produce v9 request carrying 1 MiB of records, and of a
// Metadata v12 response with 1,000 topics x 10 partitions.  Google Benchmark prints ns/op and, through
// SetBytesProcessed, the wire bytes handled per second.
//
//   build/codec_bench                     (all)
//   build/codec_bench --benchmark_filter=Produce
#include "generated/metadata_response.h"
#include "generated/produce_request.h"
#include "runtime/crc32c.h"
#include "runtime/reader.h"
#include "runtime/writer.h"

#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

namespace kafka {
namespace {

using Frame = std::shared_ptr<const std::vector<uint8_t>>;

Frame encode_to_frame(const auto& message, int16_t version) {
    Writer w(message.size(version));
    message.encode(w, version);
    return std::make_shared<const std::vector<uint8_t>>(w.flatten());
}

ProduceRequest make_produce(size_t record_bytes) {
    std::vector<uint8_t> records(record_bytes);
    std::mt19937_64 rng(42);
    for (auto& b : records) b = static_cast<uint8_t>(rng());
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 30000;
    auto& topic = req.topic_data.emplace_back();
    topic.name = "bench-topic";
    auto& partition = topic.partition_data.emplace_back();
    partition.index = 0;
    partition.records = Bytes::copy_of(records);
    return req;
}

MetadataResponse make_metadata(int topics, int partitions) {
    MetadataResponse resp;
    resp.cluster_id = "kafka-gateway-bench";
    resp.controller_id = 1;
    auto& broker = resp.brokers.emplace_back();
    broker.node_id = 1;
    broker.host = "127.0.0.1";
    broker.port = 9092;
    for (int t = 0; t < topics; ++t) {
        auto& topic = resp.topics.emplace_back();
        topic.name = "topic-" + std::to_string(t);
        topic.topic_id.bytes[0] = static_cast<uint8_t>(t);
        topic.topic_id.bytes[1] = static_cast<uint8_t>(t >> 8);
        for (int p = 0; p < partitions; ++p) {
            auto& part = topic.partitions.emplace_back();
            part.partition_index = p;
            part.leader_id = 1;
            part.leader_epoch = 0;
            part.replica_nodes = {1};
            part.isr_nodes = {1};
        }
    }
    return resp;
}

template<typename T>
void decode_bench(benchmark::State& state, const T& message, int16_t version) {
    const Frame frame = encode_to_frame(message, version);
    for (auto _ : state) {
        Reader r(frame->data(), frame->size(), frame);
        T decoded;
        decoded.decode(r, version);
        benchmark::DoNotOptimize(decoded);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame->size()));
}

// size() + encode() into one contiguous buffer, the way a response is framed.
template<typename T>
void encode_bench(benchmark::State& state, const T& message, int16_t version) {
    size_t bytes = 0;
    for (auto _ : state) {
        Writer w(message.size(version));
        message.encode(w, version);
        bytes = w.size();
        std::vector<uint8_t> flat = w.flatten();
        benchmark::DoNotOptimize(flat.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

// What a gateway does with a request it forwards: decode the frame, encode it again.
template<typename T>
void round_trip_bench(benchmark::State& state, const T& message, int16_t version) {
    const Frame frame = encode_to_frame(message, version);
    for (auto _ : state) {
        Reader r(frame->data(), frame->size(), frame);
        T decoded;
        decoded.decode(r, version);
        Writer w(decoded.size(version));
        decoded.encode(w, version);
        benchmark::DoNotOptimize(w.size());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame->size()));
}

void BM_ProduceV9_1MiB_Decode(benchmark::State& s) { decode_bench(s, make_produce(1 << 20), 9); }
void BM_ProduceV9_1MiB_Encode(benchmark::State& s) { encode_bench(s, make_produce(1 << 20), 9); }
void BM_ProduceV9_1MiB_DecodeEncode(benchmark::State& s) { round_trip_bench(s, make_produce(1 << 20), 9); }
void BM_MetadataV12_1000x10_Decode(benchmark::State& s) { decode_bench(s, make_metadata(1000, 10), 12); }
void BM_MetadataV12_1000x10_Encode(benchmark::State& s) { encode_bench(s, make_metadata(1000, 10), 12); }
void BM_MetadataV12_1000x10_DecodeEncode(benchmark::State& s) { round_trip_bench(s, make_metadata(1000, 10), 12); }

// CRC-32C of a 64 KiB batch body, as the produce path checks each batch: the dispatched implementation (the
// SSE4.2 lanes on x86) against the portable table loop as the reference in the same run.
void crc_bench(benchmark::State& state, uint32_t (*fn)(const void*, size_t, uint32_t)) {
    std::vector<uint8_t> data(64 * 1024);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
    for (auto _ : state) benchmark::DoNotOptimize(fn(data.data(), data.size(), 0));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(data.size()));
}
void BM_Crc32c_64KiB(benchmark::State& s) { crc_bench(s, &kafka::crc32c); }
void BM_Crc32cPortable_64KiB(benchmark::State& s) { crc_bench(s, &kafka::crc32c_portable); }

BENCHMARK(BM_Crc32c_64KiB);
BENCHMARK(BM_Crc32cPortable_64KiB);
BENCHMARK(BM_ProduceV9_1MiB_Decode);
BENCHMARK(BM_ProduceV9_1MiB_Encode);
BENCHMARK(BM_ProduceV9_1MiB_DecodeEncode);
BENCHMARK(BM_MetadataV12_1000x10_Decode);
BENCHMARK(BM_MetadataV12_1000x10_Encode);
BENCHMARK(BM_MetadataV12_1000x10_DecodeEncode);

} // namespace
} // namespace kafka

BENCHMARK_MAIN();
