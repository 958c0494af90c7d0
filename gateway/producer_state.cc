#include "gateway/producer_state.h"

#include "runtime/codec_error.h"
#include "runtime/log.h"
#include "runtime/reader.h"
#include "runtime/record_batch.h"
#include "runtime/writer.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <vector>

namespace gateway {
namespace {

int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string name_of(const TopicPartition& tp) { return tp.topic + "-" + std::to_string(tp.partition); }

// A snapshot value, version 1 (varints zigzag-encoded as in record batches):
//   [u8 version = 1][16-byte topic id][varlong snapshot offset][uvarint producer count]
//   per producer: [varlong producer id][varint epoch][varlong last append ms][uvarint ranges]
//                 per range, oldest first: [varint first sequence][varint last sequence][varlong base offset]
// The topic id tells a snapshot of a deleted topic from one of a new topic of the same name.
constexpr int8_t snapshot_version = 1;

template <class Producers>
std::string encode_snapshot(const kafka::Uuid& topic_id, int64_t snapshot_offset, const Producers& producers) {
    kafka::Writer w(32 + producers.size() * 40);
    w.write_int8(snapshot_version);
    w.write_uuid(topic_id);
    w.write_varlong(snapshot_offset);
    w.write_uvarint(static_cast<uint32_t>(producers.size()));
    for (const auto& [id, e] : producers) {
        w.write_varlong(id);
        w.write_varint(e.epoch);
        w.write_varlong(e.last_append_ms);
        // Batches in flight are left out: stored, they are replayed from the log or retried by the client.
        const auto stored = std::count_if(e.recent.begin(), e.recent.end(), [](const auto& r) { return !r.in_flight; });
        w.write_uvarint(static_cast<uint32_t>(stored));
        for (const auto& r : e.recent) {
            if (r.in_flight) continue;
            w.write_varint(r.first);
            w.write_varint(r.last);
            w.write_varlong(r.base_offset);
        }
    }
    std::vector<uint8_t> flat = w.flatten();
    return std::string(flat.begin(), flat.end());
}

} // namespace

ProducerStates::ProducerStates() : ProducerStates(nullptr) {}

ProducerStates::ProducerStates(StorageEngine& storage) : ProducerStates(&storage) {}

ProducerStates::ProducerStates(StorageEngine* storage)
  : storage_(storage), next_id_(wall_clock_ms() * id_stride * id_stride) {}

ProducerStates::~ProducerStates() { stop_thread(); }

std::string ProducerStates::snapshot_key(const TopicPartition& tp) {
    return std::string(key_prefix) + tp.topic + "/" + std::to_string(tp.partition);
}

std::unique_lock<std::mutex> ProducerStates::lock(const TopicPartition& tp) {
    size_t h = std::hash<std::string>()(tp.topic) * 31 + static_cast<size_t>(tp.partition);
    return std::unique_lock(stripes_[h % stripes_.size()]);
}

ProducerStates::Verdict ProducerStates::check(const TopicPartition& tp, const ProducerBatch& b) const {
    std::lock_guard guard(map_mutex_);
    auto p = partitions_.find(tp);
    if (p == partitions_.end()) return {};
    auto it = p->second.producers.find(b.producer_id);
    if (it == p->second.producers.end()) return {};   // new producer here, expired, or beyond what recovery saw
    const Entry& e = it->second;
    if (b.producer_epoch < e.epoch) return {ErrorCode::invalid_producer_epoch};
    if (b.producer_epoch > e.epoch)
        return b.first_sequence == 0 ? Verdict{} : Verdict{ErrorCode::out_of_order_sequence_number};
    for (const auto& r : e.recent)
        if (r.first == b.first_sequence && r.last == b.last_sequence)
            return r.in_flight ? Verdict{ErrorCode::none, false, -1, true} : Verdict{ErrorCode::none, true, r.base_offset};
    if (e.recent.empty()) return {};
    // Sequences wrap at INT32_MAX back to 0.
    const int32_t last = e.recent.back().last;
    const int32_t expected = last == INT32_MAX ? 0 : last + 1;
    if (b.first_sequence != expected) return {ErrorCode::out_of_order_sequence_number};
    return {};
}

void ProducerStates::add_batch(Entry& e, const ProducerBatch& b, int64_t base_offset, int64_t append_time_ms,
                               bool in_flight) {
    if (b.producer_epoch != e.epoch) {
        e.epoch = b.producer_epoch;
        e.recent.clear();
    }
    e.recent.push_back({b.first_sequence, b.last_sequence, base_offset, in_flight});
    if (e.recent.size() > 5) e.recent.pop_front();
    e.last_append_ms = std::max(e.last_append_ms, append_time_ms);
}

void ProducerStates::record(const TopicPartition& tp, const ProducerBatch& b, int64_t base_offset,
                            int64_t append_time_ms) {
    if (append_time_ms < 0) append_time_ms = wall_clock_ms();
    std::lock_guard guard(map_mutex_);
    Partition& p = partitions_[tp];
    add_batch(p.producers[b.producer_id], b, base_offset, append_time_ms);
    p.changed = true;
}

void ProducerStates::reserve(const TopicPartition& tp, const ProducerBatch& b) {
    std::lock_guard guard(map_mutex_);
    add_batch(partitions_[tp].producers[b.producer_id], b, -1, wall_clock_ms(), true);
}

ProducerStates::InFlight ProducerStates::find_in_flight(const TopicPartition& tp, const ProducerBatch& b) {
    auto p = partitions_.find(tp);
    if (p == partitions_.end()) return {};
    auto it = p->second.producers.find(b.producer_id);
    if (it == p->second.producers.end() || it->second.epoch != b.producer_epoch) return {};
    auto& recent = it->second.recent;
    auto at = std::find_if(recent.begin(), recent.end(), [&](const Entry::Range& r) {
        return r.in_flight && r.first == b.first_sequence && r.last == b.last_sequence;
    });
    if (at == recent.end()) return {};
    return {&recent, at};
}

bool ProducerStates::complete(const TopicPartition& tp, const ProducerBatch& b, int64_t base_offset) {
    std::lock_guard guard(map_mutex_);
    InFlight f = find_in_flight(tp, b);
    if (!f.recent) return false;
    f.at->base_offset = base_offset;
    f.at->in_flight = false;
    partitions_[tp].changed = true;
    return true;
}

void ProducerStates::abandon(const TopicPartition& tp, const ProducerBatch& b) {
    std::lock_guard guard(map_mutex_);
    InFlight f = find_in_flight(tp, b);
    if (f.recent) f.recent->erase(f.at, f.recent->end());   // it and every later batch: the client resends from it
}

void ProducerStates::forget_topic(const std::string& topic) {
    std::lock_guard snapshots(snapshot_mutex_);
    {
        std::lock_guard guard(map_mutex_);
        std::erase_if(partitions_, [&](const auto& kv) { return kv.first.topic == topic; });
    }
    if (!storage_) return;
    std::vector<MetadataWrite> deletes;
    for (auto& [key, value] : storage_->metadata().scan(std::string(key_prefix) + topic + "/"))
        deletes.push_back({key, std::nullopt});
    if (deletes.empty()) return;
    if (storage_->metadata().apply(deletes) != StorageErrc::none)
        kafka::log_warn("producers", "could not remove the producer snapshots of deleted topic " + topic +
                                         " (ignored at the next start)");
}

void ProducerStates::forget_partitions_if(const std::function<bool(const TopicPartition&)>& which) {
    std::lock_guard guard(map_mutex_);
    std::erase_if(partitions_, [&](const auto& kv) { return which(kv.first); });
}

int64_t ProducerStates::replay(const TopicPartition& tp, Partition& p, int64_t from, int64_t high_watermark,
                               int64_t now_ms) {
    int64_t recorded = 0;
    int64_t offset = from;
    try {
        while (offset < high_watermark) {
            ReadResult r = storage_->read(tp, offset, 1 << 20);
            if (r.error != StorageErrc::none) {
                kafka::log_warn("producers", name_of(tp) + ": replay stopped at offset " + std::to_string(offset) +
                                                 ": read failed");
                break;
            }
            kafka::RecordBatchReader batches(r.records, kafka::PartialTail::stop);
            const int64_t before = offset;
            while (auto b = batches.next()) {
                const kafka::RecordBatchHeader& h = b->header;
                if (h.base_offset >= high_watermark) break;
                offset = std::max(offset, h.last_offset() + 1);
                if (h.producer_id < 0 || h.is_control()) continue;
                Entry& e = p.producers[h.producer_id];
                // Already known: from the snapshot, or the batch that straddles the replay's start.
                if (!e.recent.empty() && h.base_offset <= e.recent.back().base_offset) continue;
                // As Kafka does, the batch's max timestamp stands for its append time (never later than now).
                const int64_t time = h.max_timestamp >= 0 ? std::min(h.max_timestamp, now_ms) : now_ms;
                add_batch(e, {h.producer_id, h.producer_epoch, h.base_sequence, h.base_sequence + h.last_offset_delta},
                          h.base_offset, time);
                ++recorded;
            }
            if (offset == before) break;   // nothing readable there
        }
    } catch (const kafka::DecodeError& e) {
        kafka::log_warn("producers", name_of(tp) + ": replay stopped at offset " + std::to_string(offset) + ": " +
                                         e.what());
    }
    return recorded;
}

namespace {

struct Snapshot {
    kafka::Uuid topic_id;
    int64_t offset = -1;
    struct Range {
        int32_t first, last;
        int64_t base_offset;
    };
    struct Producer {
        int16_t epoch;
        int64_t last_append_ms;
        std::vector<Range> recent;
    };
    std::map<int64_t, Producer> producers;
};

[[noreturn]] void bad_snapshot(const char* what) { throw kafka::DecodeError(kafka::DecodeErrc::invalid_value, what); }

// Throws kafka::DecodeError when the value is not a snapshot this version reads.
Snapshot decode_snapshot(std::string_view value) {
    kafka::Reader r(reinterpret_cast<const uint8_t*>(value.data()), value.size());
    if (r.at("version").read_int8() != snapshot_version) bad_snapshot("unknown snapshot version");
    Snapshot s;
    s.topic_id = r.at("topic_id").read_uuid();
    s.offset = r.at("snapshot_offset").read_varlong();
    const uint32_t count = r.at("producers").read_uvarint();
    for (uint32_t i = 0; i < count; ++i) {
        const int64_t id = r.at("producer_id").read_varlong();
        Snapshot::Producer& p = s.producers[id];
        p.epoch = static_cast<int16_t>(r.at("epoch").read_varint());
        p.last_append_ms = r.at("last_append_ms").read_varlong();
        const uint32_t ranges = r.at("ranges").read_uvarint();
        if (ranges > 5) bad_snapshot("more than five batch ranges");
        for (uint32_t j = 0; j < ranges; ++j) {
            Snapshot::Range range;
            range.first = r.at("first_sequence").read_varint();
            range.last = r.at("last_sequence").read_varint();
            range.base_offset = r.at("base_offset").read_varlong();
            p.recent.push_back(range);
        }
    }
    if (!r.at_end()) bad_snapshot("bytes after the snapshot");
    return s;
}

} // namespace

ProducerStates::RecoveryStats ProducerStates::recover(int64_t now_ms) {
    RecoveryStats stats;
    if (!storage_) return stats;
    const auto started = std::chrono::steady_clock::now();
    if (now_ms < 0) now_ms = wall_clock_ms();
    std::lock_guard snapshots(snapshot_mutex_);
    std::map<std::string, std::string> stored;
    for (auto& [key, value] : storage_->metadata().scan(key_prefix)) stored.emplace(std::move(key), std::move(value));

    std::map<TopicPartition, Partition> recovered;
    for (const TopicInfo& topic : storage_->list_topics()) {
        for (int32_t i = 0; i < topic.partitions; ++i) {
            const TopicPartition tp{topic.name, i};
            const PartitionOffsets offsets = storage_->offsets(tp);
            if (offsets.error != StorageErrc::none) {
                stored.erase(snapshot_key(tp));   // kept for a later start
                continue;
            }
            ++stats.partitions;
            Partition p;
            int64_t from = std::max(offsets.log_start_offset, offsets.high_watermark - replay_window_offsets);
            auto found = stored.find(snapshot_key(tp));
            if (found != stored.end()) {
                std::string why;
                try {
                    Snapshot s = decode_snapshot(found->second);
                    if (s.topic_id != topic.id) why = "of an earlier topic of that name";
                    else if (s.offset > offsets.high_watermark)
                        why = "beyond the log's end " + std::to_string(offsets.high_watermark) +
                              " (an unsynced tail lost?)";
                    else if (s.offset < offsets.high_watermark && !storage_->keeps_producer_batches())
                        // A crash, or another gateway led the partition since: the state is missing the
                        // batches after it, and a producer's next sequence would look out of order.
                        why = "older than the log's end " + std::to_string(offsets.high_watermark) +
                              " and the engine keeps no batch headers to replay";
                    else {
                        for (auto& [id, sp] : s.producers) {
                            Entry& e = p.producers[id];
                            e.epoch = sp.epoch;
                            e.last_append_ms = sp.last_append_ms;
                            for (const auto& r : sp.recent) e.recent.push_back({r.first, r.last, r.base_offset});
                        }
                        p.snapshot_offset = s.offset;
                        from = std::max(offsets.log_start_offset, s.offset);
                        ++stats.snapshots;
                    }
                } catch (const kafka::DecodeError& e) {
                    why = std::string("unreadable: ") + e.what();
                }
                p.changed = !why.empty();   // replaced by the next round
                if (!why.empty())
                    kafka::log_warn("producers", name_of(tp) + ": snapshot ignored, " + why +
                                                     (storage_->keeps_producer_batches()
                                                          ? "; replaying the last " +
                                                                std::to_string(offsets.high_watermark - from) + " offsets"
                                                          : "; its producers start afresh"));
                stored.erase(found);
            }
            const int64_t replayed =
                storage_->keeps_producer_batches() ? replay(tp, p, from, offsets.high_watermark, now_ms) : 0;
            stats.batches_replayed += replayed;
            stats.producers += static_cast<int64_t>(p.producers.size());
            // Written by the next round, so that the next start need not replay this again.
            p.changed = p.changed || replayed > 0 || (p.snapshot_offset < 0 && offsets.high_watermark > 0);
            recovered.emplace(tp, std::move(p));
        }
    }
    {
        std::lock_guard guard(map_mutex_);
        partitions_ = std::move(recovered);
    }
    // What is left belongs to topics or partitions that are gone (deleted while we were down).
    std::vector<MetadataWrite> deletes;
    for (const auto& [key, value] : stored) deletes.push_back({key, std::nullopt});
    if (!deletes.empty() && storage_->metadata().apply(deletes) != StorageErrc::none)
        kafka::log_warn("producers",
                        "could not remove " + std::to_string(deletes.size()) + " stale producer snapshots");

    const auto elapsed = std::chrono::steady_clock::now() - started;
    stats.ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
    kafka::log_info("producers", "recovered " + std::to_string(stats.producers) + " idempotent producer(s) on " +
                                     std::to_string(stats.partitions) + " partition(s): " +
                                     std::to_string(stats.snapshots) + " snapshot(s) loaded, " +
                                     std::to_string(stats.batches_replayed) + " batch(es) replayed, in " +
                                     std::to_string(stats.ms) + " ms");
    return stats;
}

size_t ProducerStates::write_snapshots(SnapshotScope scope, int64_t now_ms) {
    if (!storage_) return 0;
    if (now_ms < 0) now_ms = wall_clock_ms();
    std::lock_guard snapshots(snapshot_mutex_);
    struct Pending {
        TopicPartition tp;
        int64_t offset;
    };
    std::vector<Pending> pending;
    std::vector<MetadataWrite> writes;
    size_t expired = 0;
    for (const TopicInfo& topic : storage_->list_topics()) {
        for (int32_t i = 0; i < topic.partitions; ++i) {
            TopicPartition tp{topic.name, i};
            // The partition lock keeps appends out, so the state and the high watermark agree: every
            // idempotent batch below it is in the state, none above it.  Held for a copy, not a write.
            auto stripe = lock(tp);
            const PartitionOffsets offsets = storage_->offsets(tp);
            if (offsets.error != StorageErrc::none) continue;
            const int64_t hwm = offsets.high_watermark;
            std::lock_guard guard(map_mutex_);
            Partition& p = partitions_[tp];
            const size_t gone = std::erase_if(p.producers, [&](const auto& kv) {
                return kv.second.last_append_ms < now_ms - producer_expiration_ms;
            });
            expired += gone;
            const bool due =
                p.changed || gone > 0 ||
                (p.snapshot_offset >= 0 && hwm - p.snapshot_offset > replay_window_offsets) ||
                (scope == SnapshotScope::all_moved && hwm != p.snapshot_offset &&
                 !(p.snapshot_offset < 0 && hwm == 0 && p.producers.empty()));
            if (!due) continue;
            writes.push_back({snapshot_key(tp), encode_snapshot(topic.id, hwm, p.producers)});
            pending.push_back({std::move(tp), hwm});
            p.changed = false;
        }
    }
    if (expired > 0)
        kafka::log_info("producers", "expired " + std::to_string(expired) + " producer(s) idle for over " +
                                         std::to_string(producer_expiration_ms / 3600000) + " h");
    if (writes.empty()) return 0;
    const bool ok = storage_->metadata().apply(writes) == StorageErrc::none;
    std::lock_guard guard(map_mutex_);
    for (const Pending& w : pending) {
        auto p = partitions_.find(w.tp);
        if (p == partitions_.end()) continue;
        if (ok) p->second.snapshot_offset = w.offset;
        else p->second.changed = true;   // tried again next round
    }
    if (!ok) {
        kafka::log_warn("producers", "could not write " + std::to_string(writes.size()) + " producer snapshot(s)");
        return 0;
    }
    kafka::log_debug("producers", "wrote " + std::to_string(writes.size()) + " producer snapshot(s)");
    return writes.size();
}

void ProducerStates::start_snapshots(std::chrono::milliseconds interval) {
    if (!storage_ || thread_.joinable()) return;
    thread_ = std::thread([this, interval] {
        std::unique_lock l(thread_mutex_);
        while (!thread_wake_.wait_for(l, interval, [this] { return stopping_; })) {
            l.unlock();
            try {
                write_snapshots(SnapshotScope::changed);
            } catch (const std::exception& e) {
                kafka::log_warn("producers", std::string("producer snapshot round failed: ") + e.what());
            }
            l.lock();
        }
    });
}

void ProducerStates::stop_thread() {
    {
        std::lock_guard l(thread_mutex_);
        stopping_ = true;
    }
    thread_wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void ProducerStates::shutdown() {
    stop_thread();
    if (!storage_) return;
    {
        std::lock_guard snapshots(snapshot_mutex_);
        if (shut_down_) return;
        shut_down_ = true;
    }
    const size_t written = write_snapshots(SnapshotScope::all_moved);
    kafka::log_info("producers", "wrote " + std::to_string(written) + " producer snapshot(s) at shutdown");
}

} // namespace gateway
