// Idempotent-producer state across a restart: a new ProducerStates (or Broker) over the same engine
// (memory) or the same directory reopened (file) still knows every producer's last batches, from a
// snapshot, from the log alone, or from a snapshot and the batches stored after it (a crash).
#include "tests/unit/temp_dir.h"
#include "gateway/broker.h"
#include "gateway/producer_state.h"
#include "gateway/storage/storage_engine.h"
#include "runtime/log.h"
#include "runtime/record_batch.h"
#include "runtime/writer.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

namespace gateway {
namespace {

namespace fs = std::filesystem;

// Each test's own directory (kgw-kgw-producers-XXXXXX under the temporary directory).
struct TempDir : testing_support::TempDir {
    TempDir() : testing_support::TempDir("kgw-producers") {}
};

StorageOptions quiet_options() {
    StorageOptions o;
    o.fsync = FsyncPolicy::never;
    return o;
}

// A batch of `records` records from producer `id`, its first record numbered `sequence`.
kafka::Bytes batch(int64_t id, int16_t epoch, int32_t sequence, int records = 3, int64_t timestamp = -1) {
    if (timestamp < 0)
        timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    kafka::RecordBatchBuilder b({.producer_id = id, .producer_epoch = epoch, .base_sequence = sequence});
    for (int i = 0; i < records; ++i)
        b.append(timestamp, std::nullopt, kafka::Bytes::copy_of(std::to_string(sequence + i)));
    return b.build();
}

ProducerBatch producer_batch_of(const kafka::Bytes& bytes) {
    const kafka::RecordBatchHeader h = kafka::parse_record_batch_header(bytes.span());
    return {h.producer_id, h.producer_epoch, h.base_sequence, h.base_sequence + h.last_offset_delta};
}

// What the Produce handler does with one batch: check, append unless a duplicate, record (only
// the append for a batch without a producer id).
struct Produced {
    ErrorCode error = ErrorCode::none;
    bool duplicate = false;
    int64_t base_offset = -1;
};
Produced produce(ProducerStates& states, StorageEngine& engine, const TopicPartition& tp, const kafka::Bytes& b) {
    const ProducerBatch pb = producer_batch_of(b);
    if (pb.producer_id < 0) return {ErrorCode::none, false, engine.append_batches(tp, b.span()).base_offset};
    auto lock = states.lock(tp);
    const auto verdict = states.check(tp, pb);
    if (verdict.error != ErrorCode::none) return {verdict.error};
    if (verdict.duplicate) return {ErrorCode::none, true, verdict.duplicate_base_offset};
    const AppendResult r = engine.append_batches(tp, b.span());
    if (r.error != StorageErrc::none) return {ErrorCode::unknown_server_error};
    states.record(tp, pb, r.base_offset);
    return {ErrorCode::none, false, r.base_offset};
}

struct MemoryKind {
    static constexpr bool survives_reopen = false;   // the same engine object stands for a restart
    static std::unique_ptr<StorageEngine> open(const fs::path&) { return StorageEngine::open("memory://", {}); }
};
struct FileKind {
    static constexpr bool survives_reopen = true;
    static std::unique_ptr<StorageEngine> open(const fs::path& dir) {
        return StorageEngine::open("file://" + (dir / "data").string(), quiet_options());
    }
};

template <class Kind>
class ProducerRecovery : public ::testing::Test {
protected:
    ProducerRecovery() : engine(Kind::open(dir.path())) {
        kafka::set_log_level(kafka::LogLevel::error);
        EXPECT_EQ(engine->create_topic("t", 2, {}), StorageErrc::none);
        states = std::make_unique<ProducerStates>(*engine);
        states->recover();
    }

    Produced send(const kafka::Bytes& b, const TopicPartition& to = {"t", 0}) {
        return produce(*states, *engine, to, b);
    }

    // A restart: the state goes without a last snapshot (as in a crash; the caller writes one first
    // for a clean stop), the file engine is closed and reopened, and a new state recovers.
    ProducerStates::RecoveryStats restart() {
        states.reset();
        if (Kind::survives_reopen) {
            engine.reset();
            engine = Kind::open(dir.path());
        }
        states = std::make_unique<ProducerStates>(*engine);
        return states->recover();
    }

    // Appends three batches of producer 7 (offsets 0, 3, 6) with one of another producer and one
    // plain batch between them.
    void append_history(bool snapshot_after_first) {
        ASSERT_EQ(send(batch(7, 0, 0)).base_offset, 0);
        if (snapshot_after_first) {
            EXPECT_EQ(states->write_snapshots(ProducerStates::SnapshotScope::changed), 1u);
        }
        ASSERT_EQ(send(batch(7, 0, 3)).base_offset, 3);
        ASSERT_EQ(send(batch(9, 2, 0, 1)).base_offset, 6);
        ASSERT_EQ(send(batch(-1, -1, -1, 2)).base_offset, 7);
        ASSERT_EQ(send(batch(7, 0, 6)).base_offset, 9);
    }

    // After a restart: retries of producer 7's batches are duplicates with their offsets, a gap is
    // refused, the next batch goes on; producer 9 too.
    void expect_history_known() {
        Produced retry = send(batch(7, 0, 6));
        EXPECT_TRUE(retry.duplicate);
        EXPECT_EQ(retry.base_offset, 9);
        retry = send(batch(7, 0, 0));
        EXPECT_TRUE(retry.duplicate);
        EXPECT_EQ(retry.base_offset, 0);
        EXPECT_EQ(send(batch(7, 0, 10)).error, ErrorCode::out_of_order_sequence_number);
        EXPECT_EQ(send(batch(7, -1, 9)).error, ErrorCode::invalid_producer_epoch);
        EXPECT_EQ(send(batch(9, 2, 5, 1)).error, ErrorCode::out_of_order_sequence_number);
        EXPECT_TRUE(send(batch(9, 2, 0, 1)).duplicate);
        const Produced next = send(batch(7, 0, 9));
        EXPECT_EQ(next.error, ErrorCode::none);
        EXPECT_FALSE(next.duplicate);
        EXPECT_EQ(next.base_offset, 12);
    }

    TempDir dir;
    std::unique_ptr<StorageEngine> engine;
    std::unique_ptr<ProducerStates> states;
};

using Kinds = ::testing::Types<MemoryKind, FileKind>;
class KindNames {
public:
    template <class Kind>
    static std::string GetName(int) {
        return std::is_same_v<Kind, MemoryKind> ? "Memory" : "File";
    }
};
TYPED_TEST_SUITE(ProducerRecovery, Kinds, KindNames);

TYPED_TEST(ProducerRecovery, FromASnapshotAlone) {
    this->append_history(false);
    this->states->shutdown();   // a clean stop: the last snapshots
    const auto stats = this->restart();
    EXPECT_EQ(stats.snapshots, 1);   // partition 1 never had anything to snapshot
    EXPECT_EQ(stats.batches_replayed, 0);
    EXPECT_EQ(stats.producers, 2);
    this->expect_history_known();
}

TYPED_TEST(ProducerRecovery, FromTheLogAloneWithoutASnapshot) {
    this->append_history(false);
    const auto stats = this->restart();
    EXPECT_EQ(stats.snapshots, 0);
    EXPECT_EQ(stats.batches_replayed, 4);   // the plain batch is not one
    EXPECT_EQ(stats.producers, 2);
    this->expect_history_known();
}

TYPED_TEST(ProducerRecovery, FromASnapshotAndTheBatchesAfterIt) {
    this->append_history(true);   // a snapshot at offset 3, then a crash at offset 12
    const auto stats = this->restart();
    EXPECT_EQ(stats.snapshots, 1);
    EXPECT_EQ(stats.batches_replayed, 3);
    this->expect_history_known();
}

TYPED_TEST(ProducerRecovery, RecoveryWritesItsResultSoTheNextStartReplaysNothing) {
    this->append_history(false);
    this->restart();
    EXPECT_EQ(this->states->write_snapshots(ProducerStates::SnapshotScope::changed), 1u);   // what Broker does
    const auto stats = this->restart();
    EXPECT_EQ(stats.snapshots, 1);
    EXPECT_EQ(stats.batches_replayed, 0);
    this->expect_history_known();
}

TYPED_TEST(ProducerRecovery, ABatchInFlightIsNotInTheSnapshot) {
    ASSERT_EQ(this->send(batch(7, 0, 0)).base_offset, 0);
    const TopicPartition tp{"t", 0};
    this->states->reserve(tp, {7, 0, 3, 5});   // an append not acknowledged when the gateway stops
    this->states->shutdown();
    this->restart();
    const auto verdict = this->states->check(tp, {7, 0, 3, 5});
    EXPECT_EQ(verdict.error, ErrorCode::none) << "the client's retry is taken as the next batch";
    EXPECT_FALSE(verdict.in_flight);
    EXPECT_FALSE(verdict.duplicate);
    EXPECT_TRUE(this->send(batch(7, 0, 0)).duplicate);
}

TYPED_TEST(ProducerRecovery, ANewEpochInTheLogResetsTheSequence) {
    ASSERT_EQ(this->send(batch(7, 0, 0)).error, ErrorCode::none);
    this->states->shutdown();
    ASSERT_EQ(this->send(batch(7, 1, 0)).base_offset, 3);
    this->restart();
    EXPECT_EQ(this->send(batch(7, 0, 3)).error, ErrorCode::invalid_producer_epoch);
    EXPECT_TRUE(this->send(batch(7, 1, 0)).duplicate);
    EXPECT_EQ(this->send(batch(7, 1, 3)).base_offset, 6);
}

TYPED_TEST(ProducerRecovery, IdleProducersExpireAtASnapshot) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    // Producer 7 was last seen two days ago, producer 8 an hour ago.
    auto lock = this->states->lock({"t", 0});
    this->states->record({"t", 0}, {7, 0, 3, 5}, 100, now - 2 * ProducerStates::producer_expiration_ms);
    this->states->record({"t", 0}, {8, 0, 3, 5}, 101, now - 3600 * 1000);
    lock.unlock();
    EXPECT_EQ(this->states->write_snapshots(ProducerStates::SnapshotScope::changed, now), 1u);
    EXPECT_EQ(this->states->check({"t", 0}, {7, 0, 100, 100}).error, ErrorCode::none);   // unknown again
    EXPECT_EQ(this->states->check({"t", 0}, {8, 0, 100, 100}).error, ErrorCode::out_of_order_sequence_number);
    this->states->shutdown();
    const auto stats = this->restart();
    EXPECT_EQ(stats.producers, 1);
    EXPECT_EQ(this->states->check({"t", 0}, {8, 0, 100, 100}).error, ErrorCode::out_of_order_sequence_number);
}

TYPED_TEST(ProducerRecovery, DeletedTopicsLoseTheirSnapshots) {
    ASSERT_EQ(this->send(batch(7, 0, 0)).error, ErrorCode::none);
    this->states->shutdown();
    EXPECT_EQ(this->engine->metadata().scan("producers/t/").size(), 1u);
    ASSERT_EQ(this->engine->delete_topic("t"), StorageErrc::none);
    this->states->forget_topic("t");
    EXPECT_TRUE(this->engine->metadata().scan("producers/").empty());
    EXPECT_EQ(this->states->check({"t", 0}, {7, 0, 9, 9}).error, ErrorCode::none);
}

TYPED_TEST(ProducerRecovery, ASnapshotOfAnEarlierTopicOfTheSameNameIsIgnored) {
    ASSERT_EQ(this->send(batch(7, 0, 0)).error, ErrorCode::none);
    ASSERT_EQ(this->send(batch(7, 0, 0), {"t", 1}).error, ErrorCode::none);
    this->states->shutdown();
    ASSERT_EQ(this->engine->metadata().scan("producers/t/").size(), 2u);
    // Deleted and created again while the state did not hear of it (a crash in between).
    ASSERT_EQ(this->engine->delete_topic("t"), StorageErrc::none);
    ASSERT_EQ(this->engine->create_topic("t", 1, {}), StorageErrc::none);
    const auto stats = this->restart();
    EXPECT_EQ(stats.snapshots, 0);
    EXPECT_EQ(stats.producers, 0);
    // The stale snapshot of partition 1, which is gone, was removed; partition 0's is replaced.
    EXPECT_EQ(this->engine->metadata().scan("producers/t/1").size(), 0u);
    EXPECT_EQ(this->states->write_snapshots(ProducerStates::SnapshotScope::changed), 1u);
    EXPECT_EQ(this->restart().snapshots, 1);
    EXPECT_EQ(this->send(batch(7, 0, 3)).base_offset, 0);   // accepted afresh
}

// A snapshot value written by hand, in the documented format.
std::string snapshot_value(const kafka::Uuid& topic_id, int64_t offset, int64_t producer, int32_t first,
                           int32_t last, int64_t base_offset) {
    kafka::Writer w;
    w.write_int8(1);
    w.write_uuid(topic_id);
    w.write_varlong(offset);
    w.write_uvarint(1);
    w.write_varlong(producer);
    w.write_varint(0);
    w.write_varlong(0);
    w.write_uvarint(1);
    w.write_varint(first);
    w.write_varint(last);
    w.write_varlong(base_offset);
    std::vector<uint8_t> flat = w.flatten();
    return std::string(flat.begin(), flat.end());
}

TYPED_TEST(ProducerRecovery, ReadsTheDocumentedFormat) {
    const kafka::Uuid id = this->engine->describe_topic("t")->id;
    const MetadataWrite put{"producers/t/0", snapshot_value(id, 0, 7, 0, 2, 0)};
    ASSERT_EQ(this->engine->metadata().apply({&put, 1}), StorageErrc::none);
    const auto stats = this->restart();
    EXPECT_EQ(stats.snapshots, 1);
    EXPECT_EQ(this->states->check({"t", 0}, {7, 0, 4, 4}).error, ErrorCode::out_of_order_sequence_number);
    EXPECT_EQ(this->states->check({"t", 0}, {7, 0, 0, 2}).duplicate_base_offset, 0);
}

TYPED_TEST(ProducerRecovery, ASnapshotBeyondTheLogOrUnreadableIsIgnoredAndTheLogReplayed) {
    this->append_history(false);
    const kafka::Uuid id = this->engine->describe_topic("t")->id;
    // Claims a batch at offset 50 of a log that ends at 12 (as after losing an unsynced tail).
    const MetadataWrite puts[] = {{"producers/t/0", snapshot_value(id, 60, 7, 9, 11, 50)},
                                  {"producers/t/1", std::string("\x01garbage", 8)}};
    ASSERT_EQ(this->engine->metadata().apply(puts), StorageErrc::none);
    const auto stats = this->restart();
    EXPECT_EQ(stats.snapshots, 0);
    EXPECT_EQ(stats.batches_replayed, 4);
    this->expect_history_known();
}

TEST(ProducerRecoveryBroker, ACleanStopOfTheFileEngineKeepsProducers) {
    kafka::set_log_level(kafka::LogLevel::error);
    TempDir dir;
    Config config;
    const TopicPartition tp{"t", 0};
    auto open = [&] { return FileKind::open(dir.path()); };
    {
        Broker broker(config, open());
        ASSERT_TRUE(broker.find_topic("t", true).topic);
        ASSERT_EQ(produce(broker.producers(), broker.storage(), tp, batch(7, 0, 0)).base_offset, 0);
        ASSERT_EQ(produce(broker.producers(), broker.storage(), tp, batch(7, 0, 3)).base_offset, 3);
    }   // the destructor writes the last snapshots
    Broker broker(config, open());
    const Produced retry = produce(broker.producers(), broker.storage(), tp, batch(7, 0, 3));
    EXPECT_TRUE(retry.duplicate);
    EXPECT_EQ(retry.base_offset, 3);
    EXPECT_EQ(produce(broker.producers(), broker.storage(), tp, batch(7, 0, 7)).error,
              ErrorCode::out_of_order_sequence_number);
    EXPECT_EQ(broker.storage().offsets(tp).high_watermark, 6);
}

TEST(ProducerRecoveryBroker, ThePeriodicSnapshotWritesOnlyWhatChanged) {
    kafka::set_log_level(kafka::LogLevel::error);
    Config config;
    Broker broker(config, StorageEngine::open("memory://", {}), std::chrono::milliseconds(10));
    ASSERT_TRUE(broker.find_topic("t", true).topic);
    ASSERT_EQ(produce(broker.producers(), broker.storage(), {"t", 0}, batch(7, 0, 0)).base_offset, 0);
    for (int i = 0; i < 500 && broker.storage().metadata().scan("producers/t/0").empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(broker.storage().metadata().scan("producers/t/0").size(), 1u);
    // Written by the thread: nothing is left to write now.
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_EQ(broker.producers().write_snapshots(ProducerStates::SnapshotScope::changed), 0u);
}

} // namespace
} // namespace gateway
