// Storage engines: the same assertions for the in-memory and the file engine (typed tests), then what
// only the file engine has: restart, recovery of torn and corrupt tails, segments, retention,
// zero-copy views of mappings, fsync policies, opening by URL.
#include "tests/unit/temp_dir.h"
#include "gateway/storage/file_engine.h"
#include "gateway/storage/prepared_append.h"
#include "gateway/storage/segment.h"
#include "gateway/storage/storage_engine.h"
#include "gateway/storage/topic_metadata.h"
#include "runtime/crc32c.h"
#include "runtime/record_batch.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace gateway {

static void PrintTo(StorageErrc e, std::ostream* os) {
    static const char* const names[] = {"none",          "unknown_topic_or_partition", "topic_already_exists",
                                        "invalid_partitions", "offset_out_of_range",  "corrupt_message",
                                        "invalid_record", "storage_error"};
    *os << names[static_cast<int>(e)];
}

namespace {

namespace fs = std::filesystem;
using ByteVector = std::vector<uint8_t>;

// Each test's own directory (kgw-kgw-storage-XXXXXX under the temporary directory).
struct TempDir : testing_support::TempDir {
    TempDir() : testing_support::TempDir("kgw-storage") {}
};

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One uncompressed batch, a record per timestamp; values say which batch and record they are and are
// padded to value_size.
kafka::Bytes make_batch(const std::vector<int64_t>& timestamps, const std::string& tag = "b", size_t value_size = 16) {
    kafka::RecordBatchBuilder builder({});
    for (size_t i = 0; i < timestamps.size(); ++i) {
        std::string value = tag + "/" + std::to_string(i);
        value.resize(std::max(value.size(), value_size), '.');
        builder.append(timestamps[i], kafka::Bytes::copy_of("key"), kafka::Bytes::copy_of(value));
    }
    return builder.build();
}

kafka::Bytes make_batch_of(int records, int64_t first_timestamp, const std::string& tag = "b", size_t value_size = 16) {
    std::vector<int64_t> timestamps;
    for (int i = 0; i < records; ++i) timestamps.push_back(first_timestamp + i);
    return make_batch(timestamps, tag, value_size);
}

// "prefix<i>", built with += because GCC 12 at -O3 warns falsely (-Wrestrict) about
// "literal" + std::to_string(i).
std::string numbered(const char* prefix, int i) {
    std::string s(prefix);
    s += std::to_string(i);
    return s;
}

ByteVector bytes_of(const kafka::Bytes& b) { return ByteVector(b.data(), b.data() + b.size()); }

// The batch as the engine must store it: the client's bytes with the given base offset.
ByteVector stored(const kafka::Bytes& batch, int64_t base_offset) {
    ByteVector v = bytes_of(batch);
    kafka::set_base_offset(v, base_offset);
    return v;
}

ByteVector concat(const std::vector<ByteVector>& parts) {
    ByteVector out;
    for (const ByteVector& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

std::vector<kafka::RecordBatch> batches_in(const kafka::Bytes& records) {
    std::vector<kafka::RecordBatch> out;
    kafka::RecordBatchReader reader(records, kafka::PartialTail::reject);
    while (std::optional<kafka::RecordBatch> b = reader.next()) out.push_back(*b);
    return out;
}

std::vector<fs::path> segment_files(const fs::path& partition_dir) {
    std::vector<fs::path> out;
    for (const fs::directory_entry& e : fs::directory_iterator(partition_dir))
        if (e.path().extension() == ".log") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

StorageOptions quiet_options() {
    StorageOptions o;
    o.fsync = FsyncPolicy::never; // tests need no durability, and tmpfs or not, fsync is slow
    return o;
}

struct MemoryEngineKind {
    static std::unique_ptr<StorageEngine> open(const fs::path&, const StorageOptions& o) {
        return StorageEngine::open("memory://", o);
    }
};

struct FileEngineKind {
    static std::unique_ptr<StorageEngine> open(const fs::path& dir, const StorageOptions& o) {
        return StorageEngine::open("file://" + (dir / "data").string(), o);
    }
};

class EngineNames {
public:
    template <class Kind>
    static std::string GetName(int) {
        return std::is_same_v<Kind, MemoryEngineKind> ? "Memory" : "File";
    }
};

template <class Kind>
class StorageEngineTest : public ::testing::Test {
protected:
    StorageEngineTest() : engine(Kind::open(dir.path(), quiet_options())) {}

    void create(const std::string& topic, int32_t partitions, const TopicConfig& config = {}) {
        ASSERT_EQ(engine->create_topic(topic, partitions, config), StorageErrc::none);
    }
    AppendResult append(const TopicPartition& p, const kafka::Bytes& batch) {
        return engine->append_batches(p, batch.span());
    }

    TempDir dir;
    std::unique_ptr<StorageEngine> engine;
    const TopicPartition tp{"events", 0};
};

using EngineKinds = ::testing::Types<MemoryEngineKind, FileEngineKind>;
TYPED_TEST_SUITE(StorageEngineTest, EngineKinds, EngineNames);

TYPED_TEST(StorageEngineTest, CreatesListsDescribesAndDeletesTopics) {
    TopicConfig config;
    config.retention_ms = 1234;
    config.segment_bytes = 1 << 20;
    config.log_append_time = true;
    config.other["compression.type"] = "lz4";
    this->create("orders", 3, config);
    this->create("audit", 1);

    std::vector<TopicInfo> topics = this->engine->list_topics();
    ASSERT_EQ(topics.size(), 2u);
    EXPECT_EQ(topics[0].name, "audit");
    EXPECT_EQ(topics[1].name, "orders");
    EXPECT_FALSE(topics[0].id == topics[1].id);

    std::optional<TopicInfo> orders = this->engine->describe_topic("orders");
    ASSERT_TRUE(orders);
    EXPECT_EQ(orders->partitions, 3);
    EXPECT_FALSE(orders->id.is_zero());
    EXPECT_EQ(orders->config.retention_ms, 1234);
    EXPECT_EQ(orders->config.segment_bytes, 1 << 20);
    EXPECT_TRUE(orders->config.log_append_time);
    EXPECT_EQ(orders->config.other.at("compression.type"), "lz4");
    EXPECT_FALSE(this->engine->describe_topic("nope"));

    EXPECT_EQ(this->engine->create_topic("orders", 1, {}), StorageErrc::topic_already_exists);
    EXPECT_EQ(this->engine->create_topic("zero", 0, {}), StorageErrc::invalid_partitions);
    EXPECT_EQ(this->engine->create_topic("negative", -1, {}), StorageErrc::invalid_partitions);
    EXPECT_EQ(this->engine->create_topic("../escape", 1, {}), StorageErrc::storage_error);
    EXPECT_EQ(this->engine->create_topic("", 1, {}), StorageErrc::storage_error);

    ASSERT_EQ(this->append({"orders", 2}, make_batch_of(2, 1000)).error, StorageErrc::none);
    EXPECT_EQ(this->engine->delete_topic("orders"), StorageErrc::none);
    EXPECT_EQ(this->engine->delete_topic("orders"), StorageErrc::unknown_topic_or_partition);
    EXPECT_FALSE(this->engine->describe_topic("orders"));
    EXPECT_EQ(this->engine->list_topics().size(), 1u);
    EXPECT_EQ(this->engine->offsets({"orders", 2}).error, StorageErrc::unknown_topic_or_partition);

    // A topic created again under the same name starts empty, with a new id.
    this->create("orders", 1);
    EXPECT_EQ(this->engine->offsets({"orders", 0}).high_watermark, 0);
    EXPECT_FALSE(this->engine->describe_topic("orders")->id == orders->id);
}

TYPED_TEST(StorageEngineTest, CreatesPartitions) {
    this->create("grow", 1);
    EXPECT_EQ(this->engine->create_partitions("grow", 1), StorageErrc::invalid_partitions);
    EXPECT_EQ(this->engine->create_partitions("grow", 0), StorageErrc::invalid_partitions);
    EXPECT_EQ(this->engine->create_partitions("missing", 4), StorageErrc::unknown_topic_or_partition);
    EXPECT_EQ(this->append({"grow", 2}, make_batch_of(1, 1)).error, StorageErrc::unknown_topic_or_partition);

    EXPECT_EQ(this->engine->create_partitions("grow", 3), StorageErrc::none);
    EXPECT_EQ(this->engine->describe_topic("grow")->partitions, 3);
    EXPECT_EQ(this->engine->create_partitions("grow", 2), StorageErrc::invalid_partitions);
    AppendResult r = this->append({"grow", 2}, make_batch_of(2, 1));
    EXPECT_EQ(r.error, StorageErrc::none);
    EXPECT_EQ(r.base_offset, 0);
    EXPECT_EQ(this->append({"grow", 3}, make_batch_of(1, 1)).error, StorageErrc::unknown_topic_or_partition);
}

TYPED_TEST(StorageEngineTest, UnknownTopicsAndPartitions) {
    this->create("events", 2);
    const TopicPartition unknown[] = {{"events", 2}, {"events", -1}, {"other", 0}};
    for (const TopicPartition& p : unknown) {
        EXPECT_EQ(this->append(p, make_batch_of(1, 1)).error, StorageErrc::unknown_topic_or_partition);
        EXPECT_EQ(this->engine->read(p, 0, 1000).error, StorageErrc::unknown_topic_or_partition);
        EXPECT_EQ(this->engine->offsets(p).error, StorageErrc::unknown_topic_or_partition);
        EXPECT_EQ(this->engine->offset_for_timestamp(p, 0).error, StorageErrc::unknown_topic_or_partition);
        EXPECT_EQ(this->engine->max_timestamp(p).error, StorageErrc::unknown_topic_or_partition);
        EXPECT_EQ(this->engine->delete_records_before(p, 0).error, StorageErrc::unknown_topic_or_partition);
    }
}

TYPED_TEST(StorageEngineTest, AppendsAndReadsBackByteForByte) {
    this->create("events", 1);
    const kafka::Bytes a = make_batch_of(3, 1000, "a"), b = make_batch_of(5, 2000, "b"),
                       c = make_batch_of(1, 3000, "c");

    AppendResult ra = this->append(this->tp, a);
    AppendResult rb = this->append(this->tp, b);
    AppendResult rc = this->append(this->tp, c);
    for (const AppendResult& r : {ra, rb, rc}) {
        EXPECT_EQ(r.error, StorageErrc::none);
        EXPECT_EQ(r.log_append_time, -1);
        EXPECT_EQ(r.log_start_offset, 0);
    }
    EXPECT_EQ(ra.base_offset, 0);
    EXPECT_EQ(ra.last_offset, 2);
    EXPECT_EQ(rb.base_offset, 3);
    EXPECT_EQ(rb.last_offset, 7);
    EXPECT_EQ(rc.base_offset, 8);
    EXPECT_EQ(rc.last_offset, 8);

    PartitionOffsets offsets = this->engine->offsets(this->tp);
    EXPECT_EQ(offsets.error, StorageErrc::none);
    EXPECT_EQ(offsets.log_start_offset, 0);
    EXPECT_EQ(offsets.high_watermark, 9);

    ReadResult all = this->engine->read(this->tp, 0, 1 << 20);
    ASSERT_EQ(all.error, StorageErrc::none);
    EXPECT_EQ(all.high_watermark, 9);
    EXPECT_EQ(all.log_start_offset, 0);
    EXPECT_EQ(bytes_of(all.records), concat({stored(a, 0), stored(b, 3), stored(c, 8)}));
    for (const kafka::RecordBatch& batch : batches_in(all.records))
        EXPECT_NO_THROW(kafka::validate_record_batch(batch.bytes.span()));
}

TYPED_TEST(StorageEngineTest, AppendsConcatenatedBatchesInOneCall) {
    this->create("events", 1);
    const kafka::Bytes a = make_batch_of(2, 10, "a"), b = make_batch_of(4, 20, "b");
    ByteVector both = concat({bytes_of(a), bytes_of(b)});
    AppendResult r = this->engine->append_batches(this->tp, both);
    ASSERT_EQ(r.error, StorageErrc::none);
    EXPECT_EQ(r.base_offset, 0);
    EXPECT_EQ(r.last_offset, 5);
    EXPECT_EQ(this->append(this->tp, a).base_offset, 6);
    EXPECT_EQ(bytes_of(this->engine->read(this->tp, 0, 1 << 20).records),
              concat({stored(a, 0), stored(b, 2), stored(a, 6)}));

    // An empty produce appends nothing and is no error, as in Kafka.
    AppendResult empty = this->engine->append_batches(this->tp, {});
    EXPECT_EQ(empty.error, StorageErrc::none);
    EXPECT_EQ(empty.base_offset, -1);
    EXPECT_EQ(this->engine->offsets(this->tp).high_watermark, 8);
}

TYPED_TEST(StorageEngineTest, ReadFromTheMiddleOfABatchReturnsThatBatch) {
    this->create("events", 1);
    const kafka::Bytes a = make_batch_of(4, 10, "a"), b = make_batch_of(4, 20, "b");
    this->append(this->tp, a);
    this->append(this->tp, b);
    for (int64_t offset = 0; offset < 8; ++offset) {
        ReadResult r = this->engine->read(this->tp, offset, 1 << 20);
        ASSERT_EQ(r.error, StorageErrc::none);
        std::vector<kafka::RecordBatch> got = batches_in(r.records);
        ASSERT_FALSE(got.empty());
        EXPECT_EQ(got[0].header.base_offset, offset < 4 ? 0 : 4) << "offset " << offset;
    }
}

TYPED_TEST(StorageEngineTest, MaxBytesIsHonouredButOneBatchAlwaysComes) {
    this->create("events", 1);
    const kafka::Bytes a = make_batch_of(3, 10, "a", 100), b = make_batch_of(3, 20, "b", 100),
                       c = make_batch_of(3, 30, "c", 100);
    for (const kafka::Bytes& batch : {a, b, c}) this->append(this->tp, batch);

    EXPECT_EQ(bytes_of(this->engine->read(this->tp, 0, 0).records), stored(a, 0));
    EXPECT_EQ(bytes_of(this->engine->read(this->tp, 0, 1).records), stored(a, 0));
    EXPECT_EQ(bytes_of(this->engine->read(this->tp, 0, a.size() + b.size() - 1).records), stored(a, 0));
    EXPECT_EQ(bytes_of(this->engine->read(this->tp, 0, a.size() + b.size()).records),
              concat({stored(a, 0), stored(b, 3)}));
    EXPECT_EQ(bytes_of(this->engine->read(this->tp, 4, a.size() + b.size()).records),
              concat({stored(b, 3), stored(c, 6)}));
}

TYPED_TEST(StorageEngineTest, ReadAtTheHighWatermarkIsEmptyAndBeyondIsOutOfRange) {
    this->create("events", 1);
    ReadResult empty_log = this->engine->read(this->tp, 0, 1000);
    EXPECT_EQ(empty_log.error, StorageErrc::none);
    EXPECT_TRUE(empty_log.records.empty());

    this->append(this->tp, make_batch_of(3, 10));
    ReadResult at_end = this->engine->read(this->tp, 3, 1000);
    EXPECT_EQ(at_end.error, StorageErrc::none);
    EXPECT_TRUE(at_end.records.empty());
    EXPECT_EQ(at_end.high_watermark, 3);

    ReadResult beyond = this->engine->read(this->tp, 4, 1000);
    EXPECT_EQ(beyond.error, StorageErrc::offset_out_of_range);
    EXPECT_EQ(beyond.high_watermark, 3);
    EXPECT_EQ(this->engine->read(this->tp, -1, 1000).error, StorageErrc::offset_out_of_range);
}

TYPED_TEST(StorageEngineTest, ReadsAreStoredBatchesNotCopies) {
    this->create("events", 1);
    const kafka::Bytes a = make_batch_of(3, 10, "a");
    this->append(this->tp, a);
    ReadResult first = this->engine->read(this->tp, 0, 1 << 20);
    ReadResult again = this->engine->read(this->tp, 2, 1 << 20);
    EXPECT_TRUE(first.records.owner());
    if (const kafka::FileRegion* region = first.records.file_region()) {   // the file engine: log ranges
        ASSERT_NE(again.records.file_region(), nullptr);
        EXPECT_EQ(again.records.file_region()->fd(), region->fd());
        EXPECT_EQ(again.records.file_region()->offset(), region->offset());
    } else {   // in memory: views of one buffer
        EXPECT_EQ(first.records.data(), again.records.data());
    }
    // The view outlives the topic.
    this->engine->delete_topic("events");
    EXPECT_EQ(bytes_of(first.records), stored(a, 0));
}

TYPED_TEST(StorageEngineTest, LogAppendTimeStampsBatches) {
    TopicConfig config;
    config.log_append_time = true;
    this->create("events", 1, config);
    const int64_t before = now_ms();
    AppendResult r = this->append(this->tp, make_batch_of(3, 1000));
    const int64_t after = now_ms();
    ASSERT_EQ(r.error, StorageErrc::none);
    EXPECT_GE(r.log_append_time, before);
    EXPECT_LE(r.log_append_time, after);

    std::vector<kafka::RecordBatch> got = batches_in(this->engine->read(this->tp, 0, 1 << 20).records);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].header.timestamp_type(), kafka::TimestampType::log_append_time);
    EXPECT_EQ(got[0].header.max_timestamp, r.log_append_time);
    EXPECT_EQ(got[0].header.base_timestamp, 1000); // untouched, as Kafka leaves it
    EXPECT_NO_THROW(kafka::validate_record_batch(got[0].bytes.span())); // the CRC was recomputed

    TimestampOffset max = this->engine->max_timestamp(this->tp);
    EXPECT_EQ(max.offset, 0);
    EXPECT_EQ(max.timestamp, r.log_append_time);
}

TYPED_TEST(StorageEngineTest, RejectsWhatIsNotAV2BatchWithOneRecordPerOffset) {
    this->create("events", 1);
    ByteVector legacy = bytes_of(make_batch_of(2, 10));
    legacy[kafka::batch_offset::magic] = 1;
    EXPECT_EQ(this->engine->append_batches(this->tp, legacy).error, StorageErrc::invalid_record);

    ByteVector gap = bytes_of(make_batch_of(2, 10));
    gap[kafka::batch_offset::last_offset_delta + 3] = 5; // offsets 0..5 for 2 records
    EXPECT_EQ(this->engine->append_batches(this->tp, gap).error, StorageErrc::invalid_record);

    ByteVector torn = bytes_of(make_batch_of(2, 10));
    torn.resize(torn.size() - 3);
    EXPECT_EQ(this->engine->append_batches(this->tp, torn).error, StorageErrc::corrupt_message);

    // A good batch followed by a bad one: nothing is appended.
    ByteVector mixed = concat({bytes_of(make_batch_of(2, 10)), legacy});
    EXPECT_EQ(this->engine->append_batches(this->tp, mixed).error, StorageErrc::invalid_record);
    EXPECT_EQ(this->engine->offsets(this->tp).high_watermark, 0);
}

TYPED_TEST(StorageEngineTest, FindsOffsetsByTimestamp) {
    this->create("events", 1);
    this->append(this->tp, make_batch({1000, 1001, 1002}));        // offsets 0-2
    this->append(this->tp, make_batch({2000, 1500, 2500}));        // offsets 3-5, out of order inside
    this->append(this->tp, make_batch({3000}));                    // offset 6

    using OffsetAndTime = std::pair<int64_t, int64_t>;
    auto lookup = [&](int64_t t) {
        TimestampOffset r = this->engine->offset_for_timestamp(this->tp, t);
        EXPECT_EQ(r.error, StorageErrc::none);
        return std::pair(r.offset, r.timestamp);
    };
    EXPECT_EQ(lookup(0), (OffsetAndTime{0, 1000}));
    EXPECT_EQ(lookup(1001), (OffsetAndTime{1, 1001}));
    EXPECT_EQ(lookup(1003), (OffsetAndTime{3, 2000}));
    EXPECT_EQ(lookup(1600), (OffsetAndTime{3, 2000}));
    EXPECT_EQ(lookup(2001), (OffsetAndTime{5, 2500}));
    EXPECT_EQ(lookup(3000), (OffsetAndTime{6, 3000}));
    EXPECT_EQ(lookup(3001), (OffsetAndTime{-1, -1}));

    // Records before the log start are not answers.
    this->engine->delete_records_before(this->tp, 4);
    EXPECT_EQ(lookup(0), (OffsetAndTime{4, 1500}));
}

TYPED_TEST(StorageEngineTest, FindsTheRecordWithTheLargestTimestamp) {
    this->create("events", 1);
    TimestampOffset none = this->engine->max_timestamp(this->tp);
    EXPECT_EQ(none.error, StorageErrc::none);
    EXPECT_EQ(none.offset, -1);
    EXPECT_EQ(none.timestamp, -1);

    this->append(this->tp, make_batch({1000}));             // 0
    this->append(this->tp, make_batch({4000, 5000, 4500})); // 1-3
    this->append(this->tp, make_batch({3000, 5000}));       // 4-5: ties go to the first
    TimestampOffset max = this->engine->max_timestamp(this->tp);
    EXPECT_EQ(max.offset, 2);
    EXPECT_EQ(max.timestamp, 5000);

    this->engine->delete_records_before(this->tp, 3);
    max = this->engine->max_timestamp(this->tp);
    EXPECT_EQ(max.offset, 5);
    EXPECT_EQ(max.timestamp, 5000);
}

TYPED_TEST(StorageEngineTest, DeleteRecordsMovesTheLogStart) {
    this->create("events", 1);
    const kafka::Bytes a = make_batch_of(3, 10, "a"), b = make_batch_of(3, 20, "b"), c = make_batch_of(3, 30, "c");
    for (const kafka::Bytes& batch : {a, b, c}) this->append(this->tp, batch);

    PartitionOffsets moved = this->engine->delete_records_before(this->tp, 4);
    EXPECT_EQ(moved.error, StorageErrc::none);
    EXPECT_EQ(moved.log_start_offset, 4);
    EXPECT_EQ(moved.high_watermark, 9);
    EXPECT_EQ(this->engine->offsets(this->tp).log_start_offset, 4);
    EXPECT_EQ(this->engine->read(this->tp, 3, 1000).error, StorageErrc::offset_out_of_range);
    ReadResult r = this->engine->read(this->tp, 4, 1 << 20);
    EXPECT_EQ(r.log_start_offset, 4);
    EXPECT_EQ(bytes_of(r.records), concat({stored(b, 3), stored(c, 6)})); // the whole batch holding 4

    EXPECT_EQ(this->engine->delete_records_before(this->tp, 2).log_start_offset, 4); // never backwards
    EXPECT_EQ(this->engine->delete_records_before(this->tp, 10).error, StorageErrc::offset_out_of_range);
    EXPECT_EQ(this->engine->delete_records_before(this->tp, -2).error, StorageErrc::offset_out_of_range);
    PartitionOffsets to_end = this->engine->delete_records_before(this->tp, -1); // -1: the high watermark
    EXPECT_EQ(to_end.log_start_offset, 9);
    EXPECT_TRUE(this->engine->read(this->tp, 9, 1000).records.empty());
    EXPECT_EQ(this->engine->max_timestamp(this->tp).offset, -1);
    EXPECT_EQ(this->append(this->tp, a).base_offset, 9);
    EXPECT_EQ(bytes_of(this->engine->read(this->tp, 9, 1000).records), stored(a, 9));
}

TYPED_TEST(StorageEngineTest, CallsTheAppendListener) {
    this->create("events", 2);
    std::vector<std::pair<TopicPartition, int64_t>> calls;
    this->engine->set_append_listener([&](const TopicPartition& p, int64_t hwm) { calls.emplace_back(p, hwm); });
    this->append({"events", 1}, make_batch_of(3, 10));
    this->append({"events", 1}, make_batch_of(2, 10));
    this->append({"events", 0}, make_batch_of(1, 10));
    ByteVector legacy = bytes_of(make_batch_of(2, 10));
    legacy[kafka::batch_offset::magic] = 1;
    this->engine->append_batches({"events", 0}, legacy); // failed: no call
    this->engine->append_batches({"events", 0}, {});     // empty: no call
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(calls[0], std::pair(TopicPartition{"events", 1}, int64_t{3}));
    EXPECT_EQ(calls[1], std::pair(TopicPartition{"events", 1}, int64_t{5}));
    EXPECT_EQ(calls[2], std::pair(TopicPartition{"events", 0}, int64_t{1}));
}

// Four threads: each appends to a partition it shares with another thread and to one all share.
TYPED_TEST(StorageEngineTest, ConcurrentAppendsGetUniqueContiguousOffsets) {
    this->create("events", 3);
    constexpr int threads = 4, appends_per_thread = 150;
    std::mutex mutex;
    std::vector<std::vector<std::pair<int64_t, int64_t>>> ranges(3); // per partition: [base, last]
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < appends_per_thread; ++i) {
                const int32_t partition = i % 2 == 0 ? t % 2 : 2;
                const int records = 1 + (i + t) % 4;
                kafka::Bytes batch = make_batch_of(records, i, numbered(numbered("t", t).append("-").c_str(), i));
                AppendResult r = this->engine->append_batches({"events", partition}, batch.span());
                if (r.error != StorageErrc::none || r.last_offset - r.base_offset + 1 != records) ++failures;
                std::lock_guard lock(mutex);
                ranges[static_cast<size_t>(partition)].emplace_back(r.base_offset, r.last_offset);
            }
        });
    }
    for (std::thread& w : workers) w.join();
    EXPECT_EQ(failures.load(), 0);
    for (int32_t partition = 0; partition < 3; ++partition) {
        std::vector<std::pair<int64_t, int64_t>>& r = ranges[static_cast<size_t>(partition)];
        std::sort(r.begin(), r.end());
        int64_t next = 0;
        for (const auto& [base, last] : r) {
            ASSERT_EQ(base, next) << "partition " << partition;
            next = last + 1;
        }
        EXPECT_EQ(this->engine->offsets({"events", partition}).high_watermark, next);
        // Every batch reads back whole, at the offsets it was given.
        int64_t offset = 0;
        while (offset < next) {
            ReadResult read = this->engine->read({"events", partition}, offset, 1 << 16);
            ASSERT_EQ(read.error, StorageErrc::none);
            for (const kafka::RecordBatch& b : batches_in(read.records)) {
                ASSERT_EQ(b.header.base_offset, offset);
                ASSERT_NO_THROW(kafka::validate_record_batch(b.bytes.span()));
                offset = b.header.last_offset() + 1;
            }
        }
    }
}

// ---- file engine only ------------------------------------------------------------------------------

class FileStorageEngineTest : public ::testing::Test {
protected:
    FileStorageEngineTest() { reopen(); }

    void reopen(const StorageOptions& options = quiet_options()) {
        engine.reset();
        engine = std::make_unique<FileEngine>(data_dir(), options);
    }
    fs::path data_dir() const { return dir.path() / "data"; }
    fs::path partition_dir(const TopicPartition& p) const {
        return data_dir() / (p.topic + "-" + std::to_string(p.partition));
    }
    void create(const std::string& topic, int32_t partitions, const TopicConfig& config = {}) {
        ASSERT_EQ(engine->create_topic(topic, partitions, config), StorageErrc::none);
    }
    AppendResult append(const kafka::Bytes& batch) { return engine->append_batches(tp, batch.span()); }
    ByteVector read_all(int64_t from = -1) {
        if (from < 0) from = engine->offsets(tp).log_start_offset;
        ByteVector out;
        const int64_t end = engine->offsets(tp).high_watermark;
        while (from < end) {
            ReadResult r = engine->read(tp, from, 1 << 20);
            EXPECT_EQ(r.error, StorageErrc::none);
            if (r.error != StorageErrc::none || r.records.empty()) break;
            std::vector<kafka::RecordBatch> batches = batches_in(r.records);
            from = batches.back().header.last_offset() + 1;
            out.insert(out.end(), r.records.data(), r.records.data() + r.records.size());
        }
        return out;
    }

    TempDir dir;
    std::unique_ptr<FileEngine> engine;
    const TopicPartition tp{"events", 0};
};

TEST_F(FileStorageEngineTest, RestartKeepsTopicsDataAndOffsets) {
    TopicConfig config;
    config.retention_bytes = 1 << 30;
    config.other["weird key"] = "line\nbreak = and %";
    create("events", 2, config);
    create("other", 1);
    const kafka::Bytes a = make_batch_of(3, 10, "a"), b = make_batch_of(2, 20, "b");
    append(a);
    append(b);
    engine->append_batches({"events", 1}, a.span());
    engine->delete_records_before(tp, 1);
    const std::vector<TopicInfo> before = engine->list_topics();

    reopen();
    const std::vector<TopicInfo> after = engine->list_topics();
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(after[i].name, before[i].name);
        EXPECT_EQ(after[i].id, before[i].id);
        EXPECT_EQ(after[i].partitions, before[i].partitions);
        EXPECT_EQ(after[i].config.retention_bytes, before[i].config.retention_bytes);
        EXPECT_EQ(after[i].config.other, before[i].config.other);
    }
    PartitionOffsets offsets = engine->offsets(tp);
    EXPECT_EQ(offsets.log_start_offset, 1);
    EXPECT_EQ(offsets.high_watermark, 5);
    EXPECT_EQ(read_all(), concat({stored(a, 0), stored(b, 3)}));
    EXPECT_EQ(engine->offsets({"events", 1}).high_watermark, 3);
    EXPECT_EQ(append(a).base_offset, 5);

    engine->delete_topic("other");
    reopen();
    EXPECT_FALSE(engine->describe_topic("other"));
    EXPECT_FALSE(fs::exists(data_dir() / "other-0"));
}

TEST_F(FileStorageEngineTest, TornTailIsCutOnRestart) {
    create("events", 1);
    const kafka::Bytes a = make_batch_of(3, 10, "a"), b = make_batch_of(2, 20, "b"), c = make_batch_of(4, 30, "c");
    for (const kafka::Bytes& batch : {a, b, c}) append(batch);
    engine.reset();

    const fs::path log = segment_files(partition_dir(tp)).back();
    fs::resize_file(log, a.size() + b.size() + c.size() / 2);
    reopen();
    EXPECT_EQ(engine->offsets(tp).high_watermark, 5);
    EXPECT_EQ(read_all(), concat({stored(a, 0), stored(b, 3)}));
    EXPECT_EQ(fs::file_size(log), a.size() + b.size());
    EXPECT_EQ(append(c).base_offset, 5);
    EXPECT_EQ(read_all(), concat({stored(a, 0), stored(b, 3), stored(c, 5)}));
}

TEST_F(FileStorageEngineTest, GarbageAfterTheLastBatchIsCutOnRestart) {
    create("events", 1);
    const kafka::Bytes a = make_batch_of(3, 10, "a"), b = make_batch_of(2, 20, "b");
    append(a);
    append(b);
    engine.reset();

    const fs::path log = segment_files(partition_dir(tp)).back();
    {
        std::ofstream out(log, std::ios::binary | std::ios::app);
        for (int i = 0; i < 100; ++i) out.put(static_cast<char>(i * 37));
    }
    reopen();
    EXPECT_EQ(engine->offsets(tp).high_watermark, 5);
    EXPECT_EQ(read_all(), concat({stored(a, 0), stored(b, 3)}));
    EXPECT_EQ(fs::file_size(log), a.size() + b.size());

    // A batch whose bytes no longer match its CRC is cut too, with everything after it.
    engine.reset();
    {
        std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(static_cast<std::streamoff>(a.size() + b.size() - 2));
        f.put('!');
    }
    reopen();
    EXPECT_EQ(engine->offsets(tp).high_watermark, 3);
    EXPECT_EQ(read_all(), stored(a, 0));
}

TEST_F(FileStorageEngineTest, RollsSegmentsAndReadsAcrossThem) {
    TopicConfig config;
    config.segment_bytes = 1024;
    create("events", 1, config);
    std::vector<ByteVector> expected;
    int64_t offset = 0;
    for (int i = 0; i < 40; ++i) {
        kafka::Bytes batch = make_batch_of(1 + i % 3, 1000 + i * 10, numbered("n", i), 40);
        AppendResult r = append(batch);
        ASSERT_EQ(r.base_offset, offset);
        expected.push_back(stored(batch, offset));
        offset = r.last_offset + 1;
    }
    const std::vector<fs::path> segments = segment_files(partition_dir(tp));
    ASSERT_GT(segments.size(), 3u);
    for (const fs::path& s : segments) EXPECT_LE(fs::file_size(s), 1024u);

    // A read never spans segments: from offset 0 it ends with the first segment.
    ReadResult first = engine->read(tp, 0, 1 << 20);
    EXPECT_EQ(first.records.size(), fs::file_size(segments[0]));

    auto check_every_offset = [&] {
        EXPECT_EQ(read_all(0), concat(expected));
        for (int64_t o = 0; o < offset; ++o) {
            ReadResult r = engine->read(tp, o, 1);
            ASSERT_EQ(r.error, StorageErrc::none);
            std::vector<kafka::RecordBatch> got = batches_in(r.records);
            ASSERT_EQ(got.size(), 1u);
            EXPECT_LE(got[0].header.base_offset, o);
            EXPECT_GE(got[0].header.last_offset(), o);
        }
    };
    check_every_offset();
    reopen(); // sealed segments are now checked and opened, the last one recovered
    check_every_offset();
    EXPECT_EQ(segment_files(partition_dir(tp)), segments);
}

TEST_F(FileStorageEngineTest, IndexesFindBatchesInLargeSegmentsAndAreRebuiltWhenLost) {
    TopicConfig config;
    config.segment_bytes = 64 * 1024;
    create("events", 1, config);
    std::vector<std::pair<int64_t, int64_t>> first_offset_and_time;
    for (int i = 0; i < 1500; ++i) {
        const int64_t t = 100000 + i * 10;
        AppendResult r = append(make_batch_of(2, t, numbered("i", i), 60));
        first_offset_and_time.emplace_back(r.base_offset, t);
    }
    ASSERT_GT(segment_files(partition_dir(tp)).size(), 3u);

    auto check = [&] {
        for (size_t i = 0; i < first_offset_and_time.size(); i += 7) {
            const auto [offset, t] = first_offset_and_time[i];
            std::vector<kafka::RecordBatch> got = batches_in(engine->read(tp, offset + 1, 1).records);
            ASSERT_EQ(got.size(), 1u);
            EXPECT_EQ(got[0].header.base_offset, offset);
            TimestampOffset at = engine->offset_for_timestamp(tp, t);
            EXPECT_EQ(at.offset, offset);
            EXPECT_EQ(at.timestamp, t);
            at = engine->offset_for_timestamp(tp, t + 1);
            EXPECT_EQ(at.offset, offset + 1);
        }
        TimestampOffset max = engine->max_timestamp(tp);
        EXPECT_EQ(max.offset, first_offset_and_time.back().first + 1);
        EXPECT_EQ(max.timestamp, first_offset_and_time.back().second + 1);
    };
    check();
    reopen();
    check();

    // Lost or damaged index files of sealed segments are rebuilt from the log.
    engine.reset();
    const std::vector<fs::path> segments = segment_files(partition_dir(tp));
    fs::path index = segments[0], time_index = segments[1];
    fs::remove(index.replace_extension(".index"));
    fs::resize_file(time_index.replace_extension(".timeindex"), 5);
    reopen();
    check();
    EXPECT_TRUE(fs::exists(index));
    EXPECT_EQ(fs::file_size(time_index) % 12, 0u);
}

ByteVector file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return ByteVector(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// After a clean shutdown the active segment is resumed from its indexes: only its tail is read back, and
// the indexes go on exactly as the appends would have written them.
TEST_F(FileStorageEngineTest, CleanShutdownResumesTheActiveSegmentFromItsIndexes) {
    create("events", 1);
    const fs::path marker = data_dir() / ".clean-shutdown";
    EXPECT_FALSE(fs::exists(marker));
    std::vector<std::pair<int64_t, int64_t>> first_offset_and_time;
    const int64_t start = now_ms() - 60000;   // recent: the segment is not rolled for its age (segment.ms)
    auto add = [&](int from, int to) {
        for (int i = from; i < to; ++i) {
            const int64_t t = start + i * 10;
            AppendResult r = append(make_batch_of(2, t, numbered("c", i), 60));
            ASSERT_EQ(r.error, StorageErrc::none);
            first_offset_and_time.emplace_back(r.base_offset, t);
        }
    };
    auto check = [&] {
        for (size_t i = 1; i < first_offset_and_time.size(); i += 5) {   // not the first batch (changed below)
            const auto [offset, t] = first_offset_and_time[i];
            std::vector<kafka::RecordBatch> got = batches_in(engine->read(tp, offset + 1, 1).records);
            ASSERT_EQ(got.size(), 1u);
            EXPECT_EQ(got[0].header.base_offset, offset);
            EXPECT_EQ(engine->offset_for_timestamp(tp, t).offset, offset);
        }
        EXPECT_EQ(engine->max_timestamp(tp).timestamp, first_offset_and_time.back().second + 1);
    };
    add(0, 1000);
    const ByteVector before = read_all();
    engine.reset();
    ASSERT_TRUE(fs::exists(marker));
    const fs::path log = segment_files(partition_dir(tp)).back();
    ASSERT_EQ(segment_files(partition_dir(tp)).size(), 1u);
    const fs::path index = fs::path(log).replace_extension(".index");
    const fs::path time_index = fs::path(log).replace_extension(".timeindex");
    ASSERT_GT(fs::file_size(index), 8u * 20);

    // A byte changed early in the log is not seen: the resumed segment is not read there.  (Kafka trusts a
    // clean shutdown in the same way.)
    {
        std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(100);
        f.put(static_cast<char>(before[100] ^ 0xff));
    }
    reopen();
    EXPECT_FALSE(fs::exists(marker));   // removed before anything is written
    EXPECT_EQ(engine->offsets(tp).high_watermark, 2000);
    check();
    add(1000, 1500);
    check();
    engine.reset();

    // The same log recovered in full (no marker: as after a crash) rebuilds the same indexes, once the
    // changed byte is put back.
    const ByteVector resumed_index = file_bytes(index), resumed_time_index = file_bytes(time_index);
    {
        std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(100);
        f.put(static_cast<char>(before[100]));
    }
    fs::remove(marker);
    reopen();
    EXPECT_EQ(engine->offsets(tp).high_watermark, 3000);
    check();
    engine.reset();
    ASSERT_EQ(segment_files(partition_dir(tp)).size(), 1u);
    EXPECT_EQ(file_bytes(index), resumed_index);
    EXPECT_EQ(file_bytes(time_index), resumed_time_index);

    // Without the marker the changed byte is found, and the log cut before its batch.
    {
        std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(100);
        f.put(static_cast<char>(before[100] ^ 0xff));
    }
    fs::remove(marker);
    reopen();
    EXPECT_EQ(engine->offsets(tp).high_watermark, 0);
}

TEST_F(FileStorageEngineTest, CleanShutdownWithIndexesThatDoNotMatchTheLogRecoversIt) {
    create("events", 1);
    for (int i = 0; i < 300; ++i) append(make_batch_of(2, 1000 + i, numbered("m", i), 60));
    engine.reset();
    const fs::path log = segment_files(partition_dir(tp)).back();
    const uint64_t size = fs::file_size(log);
    fs::resize_file(log, size / 2);   // the index now points past the end of the log
    reopen();
    const int64_t end = engine->offsets(tp).high_watermark;
    EXPECT_GT(end, 0);
    EXPECT_LT(end, 600);
    EXPECT_LE(fs::file_size(log), size / 2);
    const ByteVector kept = read_all();
    EXPECT_EQ(batches_in(kafka::Bytes::copy_of(std::span<const uint8_t>(kept))).back().header.last_offset(), end - 1);
    EXPECT_EQ(append(make_batch_of(1, 5000, "after")).base_offset, end);

    // An index file cut mid-entry is no match either.
    engine.reset();
    const fs::path index = fs::path(log).replace_extension(".index");
    fs::resize_file(index, fs::file_size(index) - 3);
    reopen();
    EXPECT_EQ(engine->offsets(tp).high_watermark, end + 1);
    EXPECT_EQ(fs::file_size(index) % 8, 0u);
}

TEST_F(FileStorageEngineTest, RetentionBySizeDeletesOldSegments) {
    TopicConfig config;
    config.segment_bytes = 1024;
    config.retention_bytes = 3000;
    create("events", 1, config);
    for (int i = 0; i < 60; ++i) append(make_batch_of(2, now_ms(), numbered("r", i), 40));
    const std::vector<fs::path> before = segment_files(partition_dir(tp));
    ASSERT_GT(before.size(), 5u);

    engine->run_retention_pass();
    const std::vector<fs::path> after = segment_files(partition_dir(tp));
    uint64_t total = 0;
    for (const fs::path& s : after) total += fs::file_size(s);
    EXPECT_LT(after.size(), before.size());
    EXPECT_LE(total - fs::file_size(after.back()), 3000u); // what is left beyond the active segment fits
    EXPECT_EQ(after.back(), before.back());

    const int64_t log_start = engine->offsets(tp).log_start_offset;
    EXPECT_EQ(Segment::base_offset_of(after.front()), log_start);
    EXPECT_EQ(engine->read(tp, log_start - 1, 1000).error, StorageErrc::offset_out_of_range);
    EXPECT_EQ(engine->read(tp, log_start, 1000).error, StorageErrc::none);
    reopen();
    EXPECT_EQ(engine->offsets(tp).log_start_offset, log_start);
}

TEST_F(FileStorageEngineTest, RetentionByTimeDeletesExpiredSegmentsButNeverTheActiveOne) {
    TopicConfig config;
    config.segment_bytes = 1024;
    config.retention_ms = 3600 * 1000;
    create("events", 1, config);
    const int64_t now = now_ms();
    for (int i = 0; i < 20; ++i) append(make_batch_of(2, now - 3 * 3600 * 1000, numbered("old", i), 40));
    const int64_t first_recent = engine->offsets(tp).high_watermark;
    for (int i = 0; i < 20; ++i) append(make_batch_of(2, now - 60 * 1000, numbered("new", i), 40));

    engine->run_retention_pass(now);
    const int64_t log_start = engine->offsets(tp).log_start_offset;
    EXPECT_GT(log_start, 0);
    EXPECT_LE(log_start, first_recent);
    // Whatever is left starting before the recent batches is the one segment that holds both.
    TimestampOffset first = engine->offset_for_timestamp(tp, 0);
    EXPECT_EQ(first.offset, log_start);

    // An expired active segment stays: the partition keeps its newest data and its offsets.
    engine->run_retention_pass(now + 24 * 3600 * 1000);
    EXPECT_EQ(segment_files(partition_dir(tp)).size(), 1u);
    EXPECT_EQ(engine->offsets(tp).high_watermark, 80);
    EXPECT_EQ(engine->read(tp, engine->offsets(tp).log_start_offset, 1000).error, StorageErrc::none);
}

TEST_F(FileStorageEngineTest, DeleteRecordsRemovesSegmentsBelowTheLogStart) {
    TopicConfig config;
    config.segment_bytes = 1024;
    create("events", 1, config);
    for (int i = 0; i < 30; ++i) append(make_batch_of(2, 1000, numbered("d", i), 40));
    const size_t before = segment_files(partition_dir(tp)).size();
    engine->delete_records_before(tp, 40);
    const std::vector<fs::path> after = segment_files(partition_dir(tp));
    EXPECT_LT(after.size(), before);
    EXPECT_LE(Segment::base_offset_of(after.front()).value(), 40);
    reopen();
    EXPECT_EQ(engine->offsets(tp).log_start_offset, 40);
}

TEST_F(FileStorageEngineTest, ReadsAreRangesOfTheSegmentFile) {
    create("events", 1);
    const kafka::Bytes a = make_batch_of(3, 10, "a");
    append(a);
    ReadResult first = engine->read(tp, 0, 1 << 20);
    ReadResult second = engine->read(tp, 1, 1 << 20);
    ASSERT_FALSE(first.records.empty());
    // No copy and nothing mapped: both are the same range of the open log file, sent with sendfile.
    ASSERT_NE(first.records.file_region(), nullptr);
    ASSERT_NE(second.records.file_region(), nullptr);
    EXPECT_EQ(first.records.file_region()->fd(), second.records.file_region()->fd());
    EXPECT_EQ(first.records.file_region()->offset(), 0u);
    EXPECT_EQ(first.records.file_region()->size(), a.size());

    // Ranges stay valid whatever happens to the log afterwards: growth, rolling, deletion.
    for (int i = 0; i < 200; ++i) append(make_batch_of(5, 20, "more", 500));
    engine->delete_topic("events");
    EXPECT_EQ(bytes_of(first.records), stored(a, 0));
}

TEST_F(FileStorageEngineTest, EveryFsyncPolicyKeepsData) {
    for (FsyncPolicy policy : {FsyncPolicy::every_batch, FsyncPolicy::interval, FsyncPolicy::never}) {
        StorageOptions options;
        options.fsync = policy;
        options.fsync_interval_ms = 5;
        options.retention_check_interval_ms = 5;
        reopen(options);
        if (!engine->describe_topic("events")) create("events", 1);
        const int64_t hwm = engine->offsets(tp).high_watermark;
        for (int i = 0; i < 5; ++i) EXPECT_EQ(append(make_batch_of(2, now_ms())).error, StorageErrc::none);
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // a background round or two
        engine->flush();
        reopen(options);
        EXPECT_EQ(engine->offsets(tp).high_watermark, hwm + 10);
    }
}

TEST_F(FileStorageEngineTest, LeftoverPartitionDirectoriesAreReplaced) {
    engine.reset();
    fs::create_directories(partition_dir({"ghost", 0}));
    std::ofstream(partition_dir({"ghost", 0}) / "00000000000000000000.log") << "stale";
    reopen();
    EXPECT_FALSE(engine->describe_topic("ghost"));
    create("ghost", 1);
    EXPECT_EQ(engine->offsets({"ghost", 0}).high_watermark, 0);
    EXPECT_EQ(engine->append_batches({"ghost", 0}, make_batch_of(1, 1).span()).base_offset, 0);
}

// Reads are ranges of the log file (sent with sendfile), found by walking batch headers; a range
// handed out keeps reading what it was after the segment grows, is sealed and is removed.
TEST(StorageSegment, ReadsAreFileRangesThatOutliveSealAndRemove) {
    TempDir dir;
    std::unique_ptr<Segment> segment = Segment::create(dir.path(), 100);
    auto append = [&](const kafka::Bytes& batch) {
        PreparedAppend p = prepare_append(batch.span(), std::nullopt);
        p.assign_offsets(segment->next_offset());
        segment->append(p);
    };
    const kafka::Bytes small = make_batch_of(2, 10, "s"), large = make_batch_of(50, 10, "l", 200);
    append(small);
    const kafka::Bytes before = segment->read_batches(0, 1 << 20);
    ASSERT_NE(before.file_region(), nullptr);
    EXPECT_EQ(before.size(), small.size());

    append(large);
    ASSERT_GT(segment->size(), 4096u);
    std::optional<BatchLocation> at = segment->find_batch(120);
    ASSERT_TRUE(at);
    EXPECT_EQ(at->base_offset, 102);
    EXPECT_EQ(at->position, small.size());
    // max_bytes below the first batch still gives that whole batch; then whole batches only.
    EXPECT_EQ(segment->read_batches(0, 1).size(), small.size());
    EXPECT_EQ(segment->read_batches(0, small.size() + 1).size(), small.size());
    const kafka::Bytes all = segment->read_batches(0, 1 << 20);
    EXPECT_EQ(all.size(), segment->size());

    segment->seal(false);
    segment->remove();
    EXPECT_FALSE(fs::exists(dir.path() / "00000000000000000100.log"));
    EXPECT_EQ(bytes_of(before), stored(small, 100));
    EXPECT_EQ(bytes_of(all), concat({stored(small, 100), stored(large, 102)}));
}

TEST(StorageEngineOpen, ChoosesTheEngineByUrl) {
    TempDir dir;
    std::unique_ptr<StorageEngine> file =
        StorageEngine::open("file://" + (dir.path() / "a/b").string(), quiet_options());
    EXPECT_NE(dynamic_cast<FileEngine*>(file.get()), nullptr);
    EXPECT_TRUE(fs::is_directory(dir.path() / "a/b"));
    EXPECT_NE(StorageEngine::open("memory://", quiet_options()), nullptr);

    auto open_error = [](const std::string& url) -> std::string {
        try {
            StorageEngine::open(url, quiet_options());
        } catch (const std::runtime_error& e) {
            return e.what();
        }
        return "no error";
    };
    const std::string unknown = open_error("kafka://somewhere");
    EXPECT_NE(unknown.find("kafka://somewhere"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("file://"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("memory://"), std::string::npos) << unknown;
    // A URL without a port is refused before anything is contacted.
    const std::string no_port = open_error("seaweedmq://localhost");
    EXPECT_NE(no_port.find("host:port"), std::string::npos) << no_port;
    EXPECT_NE(open_error("file://").find("no directory"), std::string::npos);

    std::ofstream(dir.path() / "plain-file") << "x";
    const std::string not_a_directory = open_error("file://" + (dir.path() / "plain-file" / "sub").string());
    EXPECT_NE(not_a_directory.find("plain-file"), std::string::npos) << not_a_directory;

    // One engine per directory.
    auto held = StorageEngine::open("file://" + (dir.path() / "held").string(), quiet_options());
    EXPECT_NE(open_error("file://" + (dir.path() / "held").string()).find("in use"), std::string::npos);
}

TEST(StorageTopicMetadata, RoundTripsAndRejectsDamage) {
    TopicInfo t;
    t.name = "orders";
    t.id.bytes[0] = 0xab;
    t.id.bytes[15] = 0x01;
    t.partitions = 7;
    t.config.retention_ms = -1;
    t.config.log_append_time = true;
    t.config.other["a=b"] = "x\ny%z";
    TopicInfo back = decode_topic_metadata(encode_topic_metadata(t), "orders");
    EXPECT_EQ(back.id, t.id);
    EXPECT_EQ(back.partitions, 7);
    EXPECT_EQ(back.config.retention_ms, -1);
    EXPECT_TRUE(back.config.log_append_time);
    EXPECT_EQ(back.config.other, t.config.other);

    EXPECT_THROW(decode_topic_metadata("id=00\npartitions=1\n", "x"), std::runtime_error);
    EXPECT_THROW(decode_topic_metadata("partitions=1\n", "x"), std::runtime_error);
    EXPECT_THROW(decode_topic_metadata(encode_topic_metadata(t) + "surprise=1\n", "x"), std::runtime_error);
}

} // namespace
} // namespace gateway
