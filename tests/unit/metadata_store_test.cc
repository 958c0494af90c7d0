// Metadata stores: the same assertions for the in-memory and the file store, then what only the file
// store has: reopening, recovery of torn and corrupt tails (a batch is all or nothing), compaction
// (exactly the live set, crash leftovers, concurrent applies) and its place in the file engine.
#include "tests/unit/temp_dir.h"
#include "gateway/storage/file_engine.h"
#include "gateway/storage/file_metadata_store.h"
#include "gateway/storage/metadata_store.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace gateway {
namespace {

namespace fs = std::filesystem;
using Entries = std::vector<std::pair<std::string, std::string>>;

// Each test's own directory (kgw-kgw-metadata-XXXXXX under the temporary directory).
struct TempDir : testing_support::TempDir {
    TempDir() : testing_support::TempDir("kgw-metadata") {}
};

MetadataWrite put(std::string key, std::string value) { return {std::move(key), std::move(value)}; }
MetadataWrite del(std::string key) { return {std::move(key), std::nullopt}; }

StorageErrc apply(MetadataStore& store, std::vector<MetadataWrite> writes) { return store.apply(writes); }

Entries as_entries(const std::map<std::string, std::string>& m) { return {m.begin(), m.end()}; }

// ---- both stores ------------------------------------------------------------------------------------

struct InMemoryKind {
    static std::unique_ptr<MetadataStore> open(const fs::path&) { return std::make_unique<InMemoryMetadataStore>(); }
};
struct FileKind {
    static std::unique_ptr<MetadataStore> open(const fs::path& dir) {
        return std::make_unique<FileMetadataStore>(dir, FileMetadataStore::Options{});
    }
};

template <typename Kind>
class StorageMetadataStoreTest : public ::testing::Test {
protected:
    TempDir dir;
    std::unique_ptr<MetadataStore> store = Kind::open(dir.path());
};

using StoreKinds = ::testing::Types<InMemoryKind, FileKind>;
TYPED_TEST_SUITE(StorageMetadataStoreTest, StoreKinds);

TYPED_TEST(StorageMetadataStoreTest, PutsDeletesAndScansByPrefixInKeyOrder) {
    MetadataStore& s = *this->store;
    EXPECT_TRUE(s.scan("").empty());
    ASSERT_EQ(apply(s, {put("offset/g1/t/1", "10"), put("offset/g1/t/0", "5"), put("group/g1", "meta"),
                        put("offset/g2/t/0", "7")}),
              StorageErrc::none);
    EXPECT_EQ(s.scan("offset/g1/"), (Entries{{"offset/g1/t/0", "5"}, {"offset/g1/t/1", "10"}}));
    EXPECT_EQ(s.scan("group/"), (Entries{{"group/g1", "meta"}}));
    EXPECT_EQ(s.scan("nothing/"), Entries{});
    EXPECT_EQ(s.scan("").size(), 4u);

    // Overwrite, delete, delete of a missing key, and a put and delete of one key in one batch (in order).
    ASSERT_EQ(apply(s, {put("offset/g1/t/0", "6"), del("offset/g2/t/0"), del("missing"), put("tmp", "x"), del("tmp")}),
              StorageErrc::none);
    EXPECT_EQ(s.scan(""), (Entries{{"group/g1", "meta"}, {"offset/g1/t/0", "6"}, {"offset/g1/t/1", "10"}}));
    EXPECT_EQ(apply(s, {}), StorageErrc::none);

    // Values are bytes: empty, NULs, large.
    const std::string binary("a\0b\xff", 4);
    const std::string large(300000, 'v');
    ASSERT_EQ(apply(s, {put("bin", binary), put("empty", ""), put("large", large)}), StorageErrc::none);
    EXPECT_EQ(s.scan("bin"), (Entries{{"bin", binary}}));
    EXPECT_EQ(s.scan("empty"), (Entries{{"empty", ""}}));
    EXPECT_EQ(s.scan("large"), (Entries{{"large", large}}));
}

// ---- the file store ---------------------------------------------------------------------------------

class StorageFileMetadataStoreTest : public ::testing::Test {
protected:
    StorageFileMetadataStoreTest() { reopen(); }

    void reopen(const FileMetadataStore::Options& options = manual_compaction()) {
        store.reset();
        store = std::make_unique<FileMetadataStore>(dir.path(), options);
    }
    void close() { store.reset(); }
    static FileMetadataStore::Options manual_compaction() {
        FileMetadataStore::Options o;
        o.background_compaction = false;
        return o;
    }
    fs::path log_path() const { return dir.path() / FileMetadataStore::file_name; }
    uint64_t log_size() const { return fs::file_size(log_path()); }
    void flip_byte_at(uint64_t offset) {
        std::fstream f(log_path(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(static_cast<std::streamoff>(offset));
        char c = 0;
        f.get(c);
        f.seekp(static_cast<std::streamoff>(offset));
        f.put(static_cast<char>(c ^ 0x20));
    }

    TempDir dir;
    std::unique_ptr<FileMetadataStore> store;
};

TEST_F(StorageFileMetadataStoreTest, ReopeningSeesEveryWriteAndDelete) {
    ASSERT_EQ(apply(*store, {put("a", "1"), put("b", "2"), put("c", "3")}), StorageErrc::none);
    ASSERT_EQ(apply(*store, {del("b"), put("c", "33")}), StorageErrc::none);
    reopen();
    EXPECT_EQ(store->scan(""), (Entries{{"a", "1"}, {"c", "33"}}));
    ASSERT_EQ(apply(*store, {put("d", "4")}), StorageErrc::none);
    reopen();
    EXPECT_EQ(store->scan(""), (Entries{{"a", "1"}, {"c", "33"}, {"d", "4"}}));
    EXPECT_EQ(store->file_bytes(), log_size());
}

TEST_F(StorageFileMetadataStoreTest, EveryFsyncPolicyKeepsData) {
    for (FsyncPolicy policy : {FsyncPolicy::every_batch, FsyncPolicy::interval, FsyncPolicy::never}) {
        FileMetadataStore::Options o = manual_compaction();
        o.fsync = policy;
        o.fsync_interval_ms = 5;
        reopen(o);
        const std::string key = "policy/" + std::to_string(static_cast<int>(policy));
        ASSERT_EQ(apply(*store, {put(key, "v")}), StorageErrc::none);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));   // an interval sync round
        reopen(o);
        EXPECT_EQ(store->scan(key), (Entries{{key, "v"}}));
    }
}

TEST_F(StorageFileMetadataStoreTest, TornTailIsCutAndEarlierRecordsSurvive) {
    ASSERT_EQ(apply(*store, {put("a", "1")}), StorageErrc::none);
    ASSERT_EQ(apply(*store, {put("b", "2")}), StorageErrc::none);
    const uint64_t good = store->file_bytes();
    ASSERT_EQ(apply(*store, {put("c", "3"), put("d", "4")}), StorageErrc::none);
    const uint64_t full = store->file_bytes();
    close();
    // Every cut inside the last record (header or payload) loses exactly that record.
    for (uint64_t cut = full - 1; cut > good; cut -= 3) {
        fs::resize_file(log_path(), cut);
        reopen();
        EXPECT_EQ(store->scan(""), (Entries{{"a", "1"}, {"b", "2"}})) << "cut at " << cut;
        EXPECT_EQ(log_size(), good) << "the torn record is cut off the file";
        ASSERT_EQ(apply(*store, {put("c", "3"), put("d", "4")}), StorageErrc::none);
        close();
        ASSERT_EQ(log_size(), full);
    }
    // And writes after a recovery follow on directly: nothing is lost behind leftover garbage.
    reopen();
    EXPECT_EQ(store->scan(""), (Entries{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}));
}

TEST_F(StorageFileMetadataStoreTest, FlippedByteIsDetectedAndCutsFromThatRecordOn) {
    ASSERT_EQ(apply(*store, {put("a", "1")}), StorageErrc::none);
    const uint64_t first_end = store->file_bytes();
    ASSERT_EQ(apply(*store, {put("b", "value-b")}), StorageErrc::none);
    const uint64_t second_end = store->file_bytes();
    ASSERT_EQ(apply(*store, {put("c", "value-c")}), StorageErrc::none);
    close();

    flip_byte_at(second_end + 12);   // in the last record's payload
    reopen();
    EXPECT_EQ(store->scan(""), (Entries{{"a", "1"}, {"b", "value-b"}}));
    EXPECT_EQ(log_size(), second_end);

    flip_byte_at(first_end + 5);   // in the middle record's CRC: it and everything after it go
    reopen();
    EXPECT_EQ(store->scan(""), (Entries{{"a", "1"}}));
    EXPECT_EQ(log_size(), first_end);
}

TEST_F(StorageFileMetadataStoreTest, HalfWrittenBatchIsNotVisible) {
    ASSERT_EQ(apply(*store, {put("before", "x")}), StorageErrc::none);
    const uint64_t before = store->file_bytes();
    std::vector<MetadataWrite> batch;
    for (int i = 0; i < 100; ++i) batch.push_back(put("batch/" + std::to_string(i), std::string(50, 'b')));
    batch.push_back(del("before"));
    ASSERT_EQ(store->apply(batch), StorageErrc::none);
    const uint64_t after = store->file_bytes();
    close();
    fs::resize_file(log_path(), before + (after - before) / 2);
    reopen();
    EXPECT_EQ(store->scan(""), (Entries{{"before", "x"}})) << "none of the batch, including its delete";
}

TEST_F(StorageFileMetadataStoreTest, RefusesAFileThatIsNotAMetadataLog) {
    close();
    std::ofstream(log_path(), std::ios::trunc) << "something else entirely";
    EXPECT_THROW(reopen(), std::runtime_error);
    EXPECT_EQ(log_size(), 23u) << "left as it was";
}

TEST_F(StorageFileMetadataStoreTest, CompactionKeepsExactlyTheLiveSetAndSurvivesReopen) {
    std::map<std::string, std::string> expected;
    for (int round = 0; round < 20; ++round) {
        std::vector<MetadataWrite> batch;
        for (int k = 0; k < 200; ++k) {
            const std::string key = "offset/g/" + std::to_string(k);
            if (k % 7 == round % 7) {
                batch.push_back(del(key));
                expected.erase(key);
            } else {
                const std::string value = std::to_string(round * 1000 + k);
                batch.push_back(put(key, value));
                expected[key] = value;
            }
        }
        ASSERT_EQ(store->apply(batch), StorageErrc::none);
    }
    const uint64_t before = store->file_bytes();
    ASSERT_TRUE(store->compact());
    EXPECT_LT(store->file_bytes(), before / 10);
    EXPECT_EQ(store->file_bytes(), log_size());
    EXPECT_LE(store->file_bytes() - store->live_bytes(), 64u) << "only headers beside the live entries";
    EXPECT_EQ(store->scan(""), as_entries(expected));
    EXPECT_FALSE(fs::exists(dir.path() / FileMetadataStore::compacting_file_name));

    ASSERT_EQ(apply(*store, {put("after", "compaction"), del("offset/g/1")}), StorageErrc::none);
    expected["after"] = "compaction";
    expected.erase("offset/g/1");
    reopen();
    EXPECT_EQ(store->scan(""), as_entries(expected));

    // An empty live set compacts to the bare header.
    std::vector<MetadataWrite> clear;
    for (const auto& [key, value] : expected) clear.push_back(del(key));
    ASSERT_EQ(store->apply(clear), StorageErrc::none);
    ASSERT_TRUE(store->compact());
    reopen();
    EXPECT_TRUE(store->scan("").empty());
    EXPECT_EQ(log_size(), 8u);
}

TEST_F(StorageFileMetadataStoreTest, LeftoverOfAnInterruptedCompactionIsRemoved) {
    ASSERT_EQ(apply(*store, {put("a", "1")}), StorageErrc::none);
    close();
    std::ofstream(dir.path() / FileMetadataStore::compacting_file_name) << "KGWMETA1 half a compaction";
    reopen();
    EXPECT_EQ(store->scan(""), (Entries{{"a", "1"}}));
    EXPECT_FALSE(fs::exists(dir.path() / FileMetadataStore::compacting_file_name));
}

TEST_F(StorageFileMetadataStoreTest, CompactsInTheBackgroundWhenDeadBytesOutweighLiveOnes) {
    FileMetadataStore::Options o;
    o.compact_min_dead_bytes = 64 * 1024;
    reopen(o);
    const std::string value(100, 'v');
    for (int i = 0; i < 5000; ++i) {
        ASSERT_EQ(apply(*store, {put("offset/g/t/" + std::to_string(i % 10), value + std::to_string(i))}),
                  StorageErrc::none);
    }
    // 5000 writes of ~130 bytes (650 KB) over 10 keys: without compaction the file would hold all of
    // them.  Once the writes stop, the compactions catch up (however many the writes raced with)
    // until less than compact_min_dead_bytes is dead.
    const uint64_t bound = o.compact_min_dead_bytes + 10 * 200;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (store->file_bytes() > bound && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_LE(store->file_bytes(), bound);
    ASSERT_EQ(store->scan("").size(), 10u);
    EXPECT_EQ(store->scan("offset/g/t/9"), (Entries{{"offset/g/t/9", value + "4999"}}));
    reopen(o);
    EXPECT_EQ(store->scan("offset/g/t/9"), (Entries{{"offset/g/t/9", value + "4999"}}));
}

// Writer w's key for its i-th write: 50 keys per writer.  (Built with append: GCC 12 reports a false
// -Wrestrict for "w" + std::to_string(...) here.)
std::string writer_key(int w, int i) {
    std::string key("w");
    key.append(std::to_string(w)).append("/").append(std::to_string(i % 50));
    return key;
}

TEST_F(StorageFileMetadataStoreTest, AppliesDuringCompactionAreKept) {
    // Writers keep applying while compactions run; every write lands either in a snapshot or in the
    // tail copied after it.
    constexpr int writers = 4, per_writer = 3000;
    std::atomic<bool> done{false};
    std::atomic<int> compactions{0};
    std::thread compactor([&] {
        while (!done) {
            if (store->compact()) ++compactions;
        }
    });
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            for (int i = 0; i < per_writer; ++i) {
                std::vector<MetadataWrite> batch{put(writer_key(w, i), std::to_string(i))};
                if (i % 10 == 9) batch.push_back(del(writer_key(w, i + 1)));
                ASSERT_EQ(store->apply(batch), StorageErrc::none);
            }
        });
    }
    for (std::thread& t : threads) t.join();
    done = true;
    compactor.join();
    EXPECT_GT(compactions.load(), 0);

    std::map<std::string, std::string> expected;
    for (int w = 0; w < writers; ++w) {
        for (int i = 0; i < per_writer; ++i) {
            expected[writer_key(w, i)] = std::to_string(i);
            if (i % 10 == 9) expected.erase(writer_key(w, i + 1));
        }
    }
    EXPECT_EQ(store->scan(""), as_entries(expected));
    reopen();
    EXPECT_EQ(store->scan(""), as_entries(expected));
}

TEST_F(StorageFileMetadataStoreTest, ManyKeys) {
    constexpr int keys = 20000;
    for (int b = 0; b < keys / 500; ++b) {
        std::vector<MetadataWrite> batch;
        for (int i = b * 500; i < (b + 1) * 500; ++i)
            batch.push_back(put((i % 2 ? "offset/" : "group/") + std::to_string(i), "value-" + std::to_string(i)));
        ASSERT_EQ(store->apply(batch), StorageErrc::none);
    }
    reopen();
    EXPECT_EQ(store->scan("offset/").size(), keys / 2u);
    EXPECT_EQ(store->scan("group/").size(), keys / 2u);
    EXPECT_EQ(store->scan("offset/12345"), (Entries{{"offset/12345", "value-12345"}}));
    ASSERT_TRUE(store->compact());
    reopen();
    EXPECT_EQ(store->scan("").size(), static_cast<size_t>(keys));
}

// ---- in the file engine -----------------------------------------------------------------------------

TEST(StorageFileEngineMetadata, SurvivesRestartAndIsNotATopic) {
    TempDir dir;
    StorageOptions options;
    options.fsync = FsyncPolicy::every_batch;
    {
        FileEngine engine(dir.path(), options);
        ASSERT_EQ(engine.create_topic("orders", 2, {}), StorageErrc::none);
        ASSERT_EQ(apply(engine.metadata(), {put("offset/g/orders/0", "42"), put("group/g", "state")}),
                  StorageErrc::none);
    }
    FileEngine engine(dir.path(), options);
    EXPECT_EQ(engine.metadata().scan(""), (Entries{{"group/g", "state"}, {"offset/g/orders/0", "42"}}));
    std::vector<TopicInfo> topics = engine.list_topics();
    ASSERT_EQ(topics.size(), 1u);
    EXPECT_EQ(topics[0].name, "orders");
    // Deleting every topic leaves the metadata alone.
    ASSERT_EQ(engine.delete_topic("orders"), StorageErrc::none);
    EXPECT_EQ(engine.metadata().scan("offset/").size(), 1u);
}

} // namespace
} // namespace gateway
