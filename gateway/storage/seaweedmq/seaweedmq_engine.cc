// The seaweedmq:// storage engine: Kafka topics are SeaweedMQ topics, records are SeaweedMQ messages.
//
// Cluster.  The URL names the SeaweedFS master; the engine asks it for the registered brokers and
// filers (ListClusterNodes) and refuses to start when it cannot reach it or no broker or filer is
// registered (never a silent fallback).  Topics live in one SeaweedMQ namespace (?namespace=, default
// "kafka").  Topic calls (ConfigureTopic, ListTopics, GetTopicConfiguration, LookupTopicBrokers) go to
// any broker, which forwards them to the balancer leader where needed.
//
// Partitions.  A topic of N partitions is a SeaweedMQ topic of N partitions: SeaweedMQ splits its ring
// (2520 slots) into N ranges, and Kafka partition i is the i-th range in ring order.  Data calls go to
// the broker that leads the range (LookupTopicBrokers); the answer is cached per topic and dropped when
// a call fails, so a leader that moved or a broker that restarted is looked up again on the next call
// (the failed call returns storage_error, KAFKA_STORAGE_ERROR, which clients retry).  Growing a topic
// is refused: SeaweedMQ re-splits the ring into new ranges, so existing records would no longer be
// found under their Kafka partition.
//
// Offsets.  SeaweedMQ 4.4x assigns each message of a partition the next offset of that partition
// (0, 1, 2, ... kept across broker restarts) and acknowledges each published message with it
// (PublishMessageResponse.assigned_offset); that offset is the Kafka offset.  FetchMessage reads by
// offset, GetPartitionRangeInfo gives the earliest offset and the high watermark.  Offsets by time
// search the partition by offset (binary search on ts_ns, which the broker keeps increasing).
//
// Reading flushed data.  FetchMessage serves a partition's in-memory buffer quickly, but offsets below
// it (its log_start_offset) it reads back from the flushed log files a message batch at a time, about
// 1,000 messages per 70-90 ms: a consumer catching up would read at ~12 MB/s.  Offsets below the
// buffer start the last FetchMessage reported are read from those files directly (flushed_log.h:
// ranged HTTP GETs of the filer, resuming where the previous read of the file stopped); what is not
// there yet, and any failure of that path, falls back to FetchMessage.
//
// Records.  stored_record.h: key and value as the producer sent them, timestamp in ts_ns; headers (and
// the rare cases the plain form cannot carry exactly) in an envelope in the value.  Reads build one
// uncompressed v2 batch per fetch (CRC-32C computed), so the bytes a consumer gets are not the
// producer's batch but hold the same records.  Compressed batches are decompressed on append.
//
// Produce is pipelined: one long-lived PublishMessage stream per partition; an append writes all its
// records without waiting (several appends may be in flight on one stream) and returns once the broker
// acknowledged each of them.  A broken stream fails the appends waiting on it (storage_error) and is
// replaced on the next append.  SeaweedMQ acknowledges a message once it is in the broker's log buffer,
// which it flushes to the filer every -logFlushInterval seconds (mq.broker, default 5) and when a
// partition is unloaded, but not when the broker is stopped: a stopped 4.48 broker loses what it had not
// flushed.  So an acks=all append (AppendWait::durable, with ?acks_all=flushed, the default) is answered
// only once the partition's flushed files hold its last offset (watch_flushes); acks=1 is answered on the
// broker's acknowledgement, as Kafka answers acks=1 from the leader alone.
//
// Metadata (committed offsets, groups): filer entries, filer_metadata_store.h.
//
// SeaweedMQ 4.48 problem worked around here: a broker that loads a partition again (after a restart)
// takes the next offset for its in-memory buffer from the offset attributes of the flushed log files,
// which it does not write on every file (the first file of a partition has none).  It then numbers
// its buffer from a stale offset: the offsets it acknowledges stay right (its offset manager gives
// them), but FetchMessage and SubscribeMessage report too low a high watermark and serve records
// written after the reload under the offsets of older ones.  The engine asks GetPartitionRangeInfo
// once per partition and whenever FetchMessage reports less than it knows; when the two disagree it
// reads that partition from the log files the broker flushed to the filer (flushed_log.h), where each
// message carries its right offset.  Records acknowledged but not flushed yet (-logFlushInterval) are
// then read after the next flush.  A broker restarted before it first flushed a partition loses the
// records it had acknowledged there and numbers the partition from 0 again (weed 4.48, reproduced: a
// restart half a second after the first produce): it then acknowledges offsets it had acknowledged
// before.  An
// acknowledgement at or below the last offset this gateway had acknowledged fails the append (the
// client retries; the message stays in SeaweedMQ, but readers take the first message of an offset in
// the flushed files, which is the one acknowledged first) until the broker's offsets are past it.  tests/e2e/test_seaweedmq.py::
// test_broker_restart_loses_no_acknowledged_record restarts SeaweedFS between two produces.
//
// Shutdown.  A broker that is unloading a partition (its last publisher left) answers a new publish
// with "log buffer is stopping" yet keeps the message, so a client retry would store it twice.  flush()
// therefore half-closes every publish stream and waits (up to control_timeout) until the broker ended
// it, which it does only after it has let go of the partition: a gateway started right after this one
// finds the partitions unloaded, not being unloaded.
#include "gateway/storage/seaweedmq/seaweedmq_engine.h"

#include "gateway/storage/seaweedmq/cluster.h"
#include "gateway/storage/seaweedmq/filer_metadata_store.h"
#include "gateway/storage/seaweedmq/flushed_log.h"
#include "gateway/storage/seaweedmq/seaweedmq_url.h"
#include "gateway/storage/seaweedmq/stored_record.h"
#include "gateway/storage/storage_log.h"
#include "gateway/storage/topic_rules.h"
#include "filer.grpc.pb.h"
#include "mq_broker.grpc.pb.h"
#include "runtime/compression.h"
#include "runtime/record_batch.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <list>
#include <malloc.h>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <thread>

namespace gateway {
namespace {

using namespace seaweedmq;
using Clock = std::chrono::steady_clock;

int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
Clock::duration since(int64_t steady_ns_then) {
    return std::chrono::nanoseconds(steady_ns() - steady_ns_then);
}

constexpr auto control_timeout = std::chrono::seconds(10);
constexpr auto data_timeout = std::chrono::seconds(30);
constexpr auto topic_cache_ttl = std::chrono::seconds(5);
constexpr int32_t max_fetch_messages = 10000;
constexpr auto flushed_relist_interval = std::chrono::seconds(1);   // while reading past the flushed files
constexpr auto flush_poll_interval = std::chrono::milliseconds(50);   // while acks=all appends wait for a flush

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A topic's id, the same in every gateway: derived from the namespace, the name and the time SeaweedMQ
// created the topic (so a topic deleted and created again gets a new id).
kafka::Uuid topic_id(const std::string& ns, const std::string& name, int64_t created_at_ns) {
    auto mix = [](uint64_t h, std::string_view s) {
        for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
        return h;
    };
    uint64_t a = mix(0xcbf29ce484222325ULL, ns + "/" + name + "/" + std::to_string(created_at_ns));
    uint64_t b = mix(a ^ 0x9e3779b97f4a7c15ULL, name + "#" + ns);
    kafka::Uuid id;
    for (int i = 0; i < 8; ++i) {
        id.bytes[i] = static_cast<uint8_t>(a >> (56 - 8 * i));
        id.bytes[8 + i] = static_cast<uint8_t>(b >> (56 - 8 * i));
    }
    id.bytes[0] &= 0x7f;                                    // no leading '-' in base64
    id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40);   // version 4
    id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80);   // variant
    return id;
}

// Tells stored messages apart (broker-restart checks): a hash of key and value.
uint64_t message_digest(std::string_view key, std::string_view value) {
    const uint64_t k = std::hash<std::string_view>{}(key);
    return k ^ (std::hash<std::string_view>{}(value) + 0x9e3779b97f4a7c15ULL + (k << 6) + (k >> 2));
}

// One Kafka record of an append, viewing the producer's batch.
struct OutgoingRecord {
    int64_t timestamp_ms;
    std::optional<kafka::Bytes> key;
    std::optional<kafka::Bytes> value;
    const std::vector<kafka::RecordHeader>* headers;
};

// A long-lived PublishMessage stream to the leader of one partition, on gRPC's callback API: writes are
// queued and started one after the other from OnWriteDone, and each acknowledgement is taken in OnReadDone,
// on gRPC's own threads.  (With the blocking API a reader thread woke once per acknowledgement, and
// SeaweedMQ acknowledges every message: thread hand-offs were a third of the gateway's CPU on produce.)
// Requests go out as ready-made wire bytes (write_publish_request, one gRPC message per record), written
// from the producer's record bytes into the buffer gRPC sends: no protobuf objects, one copy of each value.
// The stream keeps itself alive until OnDone; Publisher, the handle the engine holds, cancels it when
// dropped and waits for OnDone, unless dropped on the stream's own callback thread.  Writes started from
// the engine's threads (not from a callback) need a hold on the call, so that OnDone cannot come between
// the decision to write and StartWrite; the hold goes once the stream stops reading.
class PublishStream final : public grpc::ClientBidiReactor<grpc::ByteBuffer, messaging_pb::PublishMessageResponse> {
public:
    using Stub = grpc::TemplatedGenericStub<grpc::ByteBuffer, messaging_pb::PublishMessageResponse>;

    struct Result {
        bool ok = false;
        int64_t first = -1;
        int64_t last = -1;
        int64_t last_ts_ns = 0;    // the last message's ts_ns as sent (the broker may add a few ns)
        uint64_t last_digest = 0;  // message_digest of its key and value
        std::string error;
    };
    using Done = std::function<void(const Result&)>;

    // Starts the call with the init message and waits (up to `timeout`) for the broker's hello.
    static std::shared_ptr<PublishStream> open(Stub& stub, const schema_pb::Topic& topic,
                                               const schema_pb::Partition& partition, int64_t broker_last_ts_ns,
                                               Clock::duration timeout, std::string& error) {
        auto s = std::shared_ptr<PublishStream>(new PublishStream(broker_last_ts_ns));
        s->self_ = s;
        messaging_pb::PublishMessageRequest init;
        auto* m = init.mutable_init();
        *m->mutable_topic() = topic;
        *m->mutable_partition() = partition;
        m->set_ack_interval(1);
        m->set_publisher_name("kafka-gateway");
        const std::string bytes = init.SerializeAsString();
        grpc::Slice slice(bytes);
        s->outgoing_.emplace_back(&slice, 1);
        s->writing_ = true;
        stub.PrepareBidiStreamingCall(&s->ctx_, "/messaging_pb.SeaweedMessaging/PublishMessage", grpc::StubOptions(),
                                      s.get());
        s->AddHold();
        s->StartWrite(&s->outgoing_.front());
        s->StartRead(&s->response_);
        s->StartCall();
        std::unique_lock lock(s->mutex_);
        if (!s->cv_.wait_for(lock, timeout, [&] { return s->hello_ || s->ended_; })) {
            lock.unlock();
            error = "publish stream: no answer from the broker within " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s";
            s->cancel_and_wait();
            return nullptr;
        }
        if (!s->hello_ || !s->hello_error_.empty()) {
            lock.unlock();
            s->cancel_and_wait();
            error = s->hello_ ? "publish stream refused: " + s->hello_error_ : s->error_;
            return nullptr;
        }
        return s;
    }

    bool broken() const {
        std::lock_guard lock(mutex_);
        return broken_ || closing_;
    }

    std::shared_ptr<const std::atomic<bool>> lost_flag() const { return lost_; }

    void publish_async(const std::vector<OutgoingRecord>& records, Done done) {
        auto waiter = std::make_shared<Waiter>();
        waiter->remaining = records.size();
        waiter->done = std::move(done);
        waiter->started = Clock::now();
        const grpc::ByteBuffer* first = nullptr;
        bool more = false;
        std::optional<std::string> refused;
        {
            std::lock_guard lock(mutex_);
            if (broken_ || closing_) {
                refused = closing_ && !broken_ ? "publish stream closing"
                          : error_.empty()     ? "publish stream broken"
                                               : error_;
            } else {
                std::string envelope;
                for (size_t i = 0; i < records.size(); ++i) {
                    const OutgoingRecord& r = records[i];
                    const StoredView m = encoder_.encode(r.timestamp_ms, r.key, r.value, *r.headers, envelope);
                    if (i + 1 == records.size()) {
                        waiter->last_ts_ns = m.ts_ns;
                        waiter->last_digest = message_digest(m.key, m.value);
                    }
                    grpc_slice bytes = grpc_slice_malloc(publish_request_size(m));
                    write_publish_request(m, GRPC_SLICE_START_PTR(bytes));
                    grpc::Slice slice(bytes, grpc::Slice::STEAL_REF);
                    outgoing_.emplace_back(&slice, 1);
                }
                queue_.push_back(waiter);
                if (!writing_ && !outgoing_.empty()) {
                    writing_ = true;
                    first = &outgoing_.front();
                    more = outgoing_.size() > 1;
                    ++starting_;
                }
            }
        }
        if (refused) return finish(*waiter, false, *refused);
        if (!first) return;
        write(first, more);   // never under mutex_: gRPC may run OnWriteDone inline
        bool release;
        {
            std::lock_guard lock(mutex_);
            release = --starting_ == 0 && hold_release_due();
        }
        if (release) RemoveHold();
    }

    void cancel_if_stuck(Clock::time_point now, Clock::duration limit) {
        {
            std::lock_guard lock(mutex_);
            if (queue_.empty() || now - queue_.front()->started <= limit) return;
        }
        log_storage("seaweedmq: no acknowledgement from the broker for " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) +
                    " s: closing the publish stream");
        ctx_.TryCancel();
    }

    // Half-closes the stream once the queued writes are out (see Publisher::begin_close).
    void begin_close() {
        {
            std::lock_guard lock(mutex_);
            if (broken_ || closing_) return;
            closing_ = true;
            if (writing_) return;   // OnWriteDone half-closes after the last queued write
            writes_done_ = true;
            ++starting_;
        }
        StartWritesDone();
        bool release;
        {
            std::lock_guard lock(mutex_);
            release = --starting_ == 0 && hold_release_due();
        }
        if (release) RemoveHold();
    }

    void wait_closed(Clock::time_point deadline) {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_until(lock, deadline, [&] { return ended_; })) {
            lock.unlock();
            ctx_.TryCancel();
        }
    }

    // Cancels the call; waits for OnDone unless called from one of this stream's callbacks (OnDone
    // follows them, and the stream holds itself until then).
    void cancel_and_wait() {
        ctx_.TryCancel();
        if (in_callback_ == this) return;
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return ended_; });
    }

private:
    struct Waiter {
        size_t remaining = 0;   // under the stream's mutex_, as first and last
        int64_t first = -1;
        int64_t last = -1;
        int64_t last_ts_ns = 0;
        uint64_t last_digest = 0;
        Done done;
        Clock::time_point started;
    };

    // Marks the callbacks' thread, for cancel_and_wait().
    struct InCallback {
        explicit InCallback(const PublishStream* s) : saved(in_callback_) { in_callback_ = s; }
        ~InCallback() { in_callback_ = saved; }
        const PublishStream* saved;
    };

    explicit PublishStream(int64_t broker_last_ts_ns) : encoder_(broker_last_ts_ns) {}

    // Under mutex_: whether the hold is to go now (the stream stopped reading and no engine thread is
    // between deciding to start an operation and starting it); true once.
    bool hold_release_due() {
        if (!reads_ended_ || starting_ != 0 || hold_released_) return false;
        hold_released_ = true;
        return true;
    }

    // The stream stops reading (it ended, or a read brought an error): no more operations are started on it
    // from outside its callbacks, so its hold can go and OnDone come.
    void stop_reading() {
        bool release;
        {
            std::lock_guard lock(mutex_);
            broken_ = true;
            reads_ended_ = true;
            release = hold_release_due();
        }
        if (release) RemoveHold();
    }

    void write(const grpc::ByteBuffer* req, bool more) {
        grpc::WriteOptions options;
        if (more) options.set_buffer_hint();   // more queued: let gRPC coalesce them
        StartWrite(req, options);
    }

    static void finish(Waiter& w, bool ok, const std::string& error) {
        w.done({ok, w.first, w.last, w.last_ts_ns, w.last_digest, error});
    }

    void OnWriteDone(bool ok) override {
        InCallback mark(this);
        const grpc::ByteBuffer* next = nullptr;
        bool more = false, half_close = false;
        {
            std::lock_guard lock(mutex_);
            outgoing_.pop_front();
            if (!ok) {   // the call is over: no more appends; OnDone fails what waits
                writing_ = false;
                broken_ = true;
                return;
            }
            if (!outgoing_.empty()) {
                next = &outgoing_.front();
                more = outgoing_.size() > 1;
            } else {
                writing_ = false;
                half_close = closing_ && !writes_done_;
                writes_done_ = writes_done_ || half_close;
            }
        }
        if (next) write(next, more);
        else if (half_close) StartWritesDone();
    }

    void OnReadDone(bool ok) override {
        InCallback mark(this);
        if (!ok) return stop_reading();   // the stream ended: OnDone follows
        std::shared_ptr<Waiter> complete;
        bool failed = false;
        {
            std::lock_guard lock(mutex_);
            if (!hello_) {   // the broker's answer to the init message
                hello_ = true;
                hello_error_ = response_.error();
                cv_.notify_all();
                failed = !hello_error_.empty();
            } else if (!response_.error().empty()) {
                error_ = "broker: " + response_.error();
                failed = true;
            } else if (!queue_.empty()) {   // else nothing outstanding: not an ack of ours
                Waiter& w = *queue_.front();
                if (w.first < 0) w.first = response_.assigned_offset();
                w.last = response_.assigned_offset();
                if (--w.remaining == 0) {
                    complete = std::move(queue_.front());
                    queue_.pop_front();
                }
            }
        }
        if (failed) {
            ctx_.TryCancel();
            return stop_reading();
        }
        if (complete) finish(*complete, true, {});
        StartRead(&response_);
    }

    void OnWritesDoneDone(bool) override {}

    void OnDone(const grpc::Status& status) override {
        InCallback mark(this);
        std::deque<std::shared_ptr<Waiter>> failed;
        std::string error;
        {
            std::lock_guard lock(mutex_);
            if (error_.empty()) error_ = (hello_ ? "publish stream ended: " : "publish stream: ") + describe(status);
            error = error_;
            broken_ = true;
            failed.swap(queue_);
            if (!closing_) *lost_ = true;
        }
        for (const auto& w : failed) finish(*w, false, error);
        std::shared_ptr<PublishStream> keep = std::move(self_);   // freed after the lock below is released
        std::lock_guard lock(mutex_);
        ended_ = true;
        cv_.notify_all();
    }

    static thread_local const PublishStream* in_callback_;

    grpc::ClientContext ctx_;
    messaging_pb::PublishMessageResponse response_;   // the read in flight
    mutable std::mutex mutex_;   // everything below
    std::condition_variable cv_;  // hello_, ended_
    RecordEncoder encoder_;
    std::deque<grpc::ByteBuffer> outgoing_;   // front: the write in flight
    bool writing_ = false;       // a write is in flight
    std::deque<std::shared_ptr<Waiter>> queue_;   // appends waiting for acknowledgements, in write order
    bool hello_ = false;         // the broker answered the init message
    std::string hello_error_;    // its error: the stream was refused
    bool broken_ = false;        // no more appends: the stream stopped reading or ended
    std::string error_;
    bool closing_ = false;       // begin_close() was called
    bool writes_done_ = false;   // StartWritesDone was called
    bool ended_ = false;         // OnDone has run
    bool reads_ended_ = false;   // no read in flight any more (stop_reading)
    int starting_ = 0;           // engine threads between deciding to start an operation and starting it
    bool hold_released_ = false;
    std::shared_ptr<std::atomic<bool>> lost_ = std::make_shared<std::atomic<bool>>(false);
    std::shared_ptr<PublishStream> self_;   // until OnDone
};

thread_local const PublishStream* PublishStream::in_callback_ = nullptr;

// The engine's handle on a partition's publish stream.
class Publisher {
public:
    using Result = PublishStream::Result;
    using Done = PublishStream::Done;

    // Opens the stream and waits for the broker's hello; nullptr (with `error`) when refused.
    static std::shared_ptr<Publisher> open(const std::shared_ptr<grpc::Channel>& channel, const schema_pb::Topic& topic,
                                           const schema_pb::Partition& partition, int64_t broker_last_ts_ns,
                                           std::string& error) {
        auto p = std::shared_ptr<Publisher>(new Publisher());
        p->stub_ = std::make_unique<PublishStream::Stub>(channel);
        p->stream_ = PublishStream::open(*p->stub_, topic, partition, broker_last_ts_ns, control_timeout, error);
        if (!p->stream_) return nullptr;
        return p;
    }

    ~Publisher() { stream_->cancel_and_wait(); }

    bool broken() const { return stream_->broken(); }

    // Set once the stream has ended other than by begin_close(): a broker that stopped, restarted or
    // failed.  What it had acknowledged but not flushed may be gone (acks=all waits on it fail).
    std::shared_ptr<const std::atomic<bool>> lost_flag() const { return stream_->lost_flag(); }

    // Queues the records and returns; `done` gets the result once the broker acknowledged every one of
    // them or the stream ended (on a gRPC thread; at once, on this one, when the stream is already
    // broken).  Appends started one after the other are stored in that order.
    void publish_async(const std::vector<OutgoingRecord>& records, Done done) {
        stream_->publish_async(records, std::move(done));
    }

    // Cancels the stream (failing what waits on it) when its oldest unacknowledged append has waited
    // longer than `limit`: a broker that stopped answering.
    void cancel_if_stuck(Clock::time_point now, Clock::duration limit) { stream_->cancel_if_stuck(now, limit); }

    // Ends the stream politely: half-closes it, so the broker finishes its side and ends the stream
    // with a status.  The broker does that only after it has let go of the partition: when this was
    // the partition's last publisher it unloads the partition (flushing its buffer to the filer) first.
    // wait_closed() waits for that status (or cancels the stream at `deadline`); see the top of this
    // file for why a new stream must not reach a partition that is being unloaded.
    void begin_close() { stream_->begin_close(); }
    void wait_closed(Clock::time_point deadline) { stream_->wait_closed(deadline); }

private:
    Publisher() = default;
    std::unique_ptr<PublishStream::Stub> stub_;   // outlives the stream's call
    std::shared_ptr<PublishStream> stream_;
};

struct Route {
    schema_pb::Partition partition;
    std::string leader;   // the broker's gRPC address
};

struct PartitionState {
    std::mutex mutex;   // publisher
    std::shared_ptr<Publisher> publisher;
    // The highest high watermark seen (appends, offsets()), to notice a broker whose FetchMessage has
    // lost track of the partition's offsets.
    std::atomic<int64_t> known_high_watermark{0};
    // Set once FetchMessage reported a high watermark below GetPartitionRangeInfo's (a broker that
    // reloaded the partition, see the top of this file): the partition is then read from the log files
    // the broker flushed to the filer (flushed_log.h).
    std::atomic<bool> fetch_unreliable{false};
    // Whether GetPartitionRangeInfo was asked once, so that a gateway started after the broker's reload
    // notices it on its first read too.
    std::atomic<bool> range_checked{false};
    // One past the highest offset in the partition's flushed log files, as last listed, and when that
    // was (steady clock ns; 0: never).  Offsets below it are read from those files (top of this file).
    std::atomic<int64_t> flushed_end{0};
    std::atomic<int64_t> flushed_listed_ns{0};
    std::atomic<bool> flushed_read_logged{false};
    // Set while the broker hands out offsets this gateway saw acknowledged before (logged once).
    std::atomic<bool> offsets_reused{false};

    void saw_high_watermark(int64_t hwm) {
        int64_t known = known_high_watermark.load();
        while (hwm > known && !known_high_watermark.compare_exchange_weak(known, hwm)) {
        }
    }

    // The last message this gateway had acknowledged here (offset -1: none).
    struct Acknowledged {
        int64_t offset = -1;
        int64_t ts_ns = 0;
        uint64_t digest = 0;   // message_digest of its key and value
    };
    void acknowledged(const Acknowledged& a) {
        std::lock_guard lock(acked_mutex);
        if (a.offset > acked.offset) acked = a;
    }
    Acknowledged last_acknowledged() const {
        std::lock_guard lock(acked_mutex);
        return acked;
    }
    mutable std::mutex acked_mutex;
    Acknowledged acked;
};

struct TopicState {
    TopicInfo info;
    Clock::time_point fetched;
    std::vector<std::shared_ptr<PartitionState>> partitions;
    std::mutex routes_mutex;
    std::vector<Route> routes;   // empty: look up again
};

class SeaweedMqEngine final : public StorageEngine {
public:
    SeaweedMqEngine(const SeaweedMqUrl& url, const StorageOptions& options)
      : url_(url), options_(options), cluster_(url.master_grpc),
        metadata_(cluster_, "/kafka-gateway/" + url.namespace_ + "/metadata") {
        check_cluster();
        metadata_.replay_pending();
        watchdog_ = std::thread([this] { watch_acknowledgements(); });
        flush_watcher_ = std::thread([this] { watch_flushes(); });
    }

    ~SeaweedMqEngine() override {
        {
            std::lock_guard lock(watchdog_mutex_);
            stopping_ = true;
        }
        watchdog_cv_.notify_all();
        {
            std::lock_guard lock(durable_mutex_);
            durable_stopping_ = true;
        }
        durable_cv_.notify_all();
        flush_watcher_.join();
        watchdog_.join();
    }

    StorageErrc create_topic(const std::string& name, int32_t partitions, const TopicConfig& config) override {
        if (!is_legal_topic_name(name)) {
            log_storage("refusing to create topic '" + name + "': not a legal Kafka topic name");
            return StorageErrc::storage_error;
        }
        if (StorageErrc e = check_partition_count(partitions); e != StorageErrc::none) return e;
        auto stub = broker_stub();
        if (!stub) return StorageErrc::storage_error;
        // Whether it exists: the filer's topic.conf, not TopicExists (brokers keep answering yes for a
        // while after the topic's directory was deleted).
        switch (topic_conf_exists(name)) {
        case Existence::yes: return StorageErrc::topic_already_exists;
        case Existence::unknown: return StorageErrc::storage_error;
        case Existence::no: break;
        }
        grpc::ClientContext ctx;
        set_deadline(ctx, control_timeout);
        messaging_pb::ConfigureTopicRequest req;
        *req.mutable_topic() = pb_topic(name);
        req.set_partition_count(partitions);
        if (config.retention_ms > 0) {
            req.mutable_retention()->set_retention_seconds(std::max<int64_t>(1, config.retention_ms / 1000));
            req.mutable_retention()->set_enabled(true);
        }
        messaging_pb::ConfigureTopicResponse resp;
        grpc::Status s = stub->ConfigureTopic(&ctx, req, &resp);
        if (!s.ok()) return control_failure("ConfigureTopic " + name, s);
        {
            std::unique_lock lock(topics_mutex_);
            topics_.erase(name);
            created_configs_[name] = config;
        }
        return StorageErrc::none;
    }

    StorageErrc delete_topic(const std::string& name) override {
        if (!describe_topic(name)) return StorageErrc::unknown_topic_or_partition;
        // SeaweedMQ has no delete call: the topic is its directory in the filer.
        const std::string filer = cluster_.filer();
        if (filer.empty()) return StorageErrc::storage_error;
        auto stub = filer_pb::SeaweedFiler::NewStub(cluster_.channel(filer));
        grpc::ClientContext ctx;
        set_deadline(ctx, control_timeout);
        filer_pb::DeleteEntryRequest req;
        req.set_directory("/topics/" + url_.namespace_);
        req.set_name(name);
        req.set_is_delete_data(true);
        req.set_is_recursive(true);
        req.set_ignore_recursive_error(true);
        filer_pb::DeleteEntryResponse resp;
        grpc::Status s = stub->DeleteEntry(&ctx, req, &resp);
        if (!s.ok() || !resp.error().empty()) {
            log_storage("seaweedmq: deleting topic " + name + " failed: " + (s.ok() ? resp.error() : describe(s)));
            return StorageErrc::storage_error;
        }
        std::unique_lock lock(topics_mutex_);
        topics_.erase(name);
        created_configs_.erase(name);
        return StorageErrc::none;
    }

    StorageErrc create_partitions(const std::string& name, int32_t total) override {
        std::optional<TopicInfo> t = describe_topic(name);
        if (!t) return StorageErrc::unknown_topic_or_partition;
        if (total <= t->partitions) return StorageErrc::invalid_partitions;
        log_storage("seaweedmq: refusing to grow topic " + name +
                    ": SeaweedMQ would re-split its partitions and existing records would move");
        return StorageErrc::invalid_partitions;
    }

    std::vector<TopicInfo> list_topics() const override {
        std::vector<std::string> names;
        if (auto stub = broker_stub()) {
            grpc::ClientContext ctx;
            set_deadline(ctx, control_timeout);
            messaging_pb::ListTopicsResponse resp;
            grpc::Status s = stub->ListTopics(&ctx, messaging_pb::ListTopicsRequest(), &resp);
            if (s.ok()) {
                for (const auto& t : resp.topics())
                    if (t.namespace_() == url_.namespace_) names.push_back(t.name());
            } else {
                control_failure("ListTopics", s);
                std::shared_lock lock(topics_mutex_);
                for (const auto& [name, t] : topics_) names.push_back(name);
            }
        }
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        std::vector<TopicInfo> out;
        for (const std::string& n : names)
            if (std::shared_ptr<TopicState> t = topic(n)) out.push_back(t->info);
        return out;
    }

    std::optional<TopicInfo> describe_topic(const std::string& name) const override {
        if (std::shared_ptr<TopicState> t = topic(name)) return t->info;
        return std::nullopt;
    }

    AppendResult append_batches(const TopicPartition& tp, std::span<const uint8_t> batches) override {
        std::promise<AppendResult> result;
        std::future<AppendResult> answered = result.get_future();
        append_batches_async(tp, batches, AppendWait::accepted, [&result](const AppendResult& r) { result.set_value(r); });
        return answered.get();   // the watchdog fails an append the broker never acknowledges
    }

    void append_batches_async(const TopicPartition& tp, std::span<const uint8_t> batches, AppendWait wait,
                              AppendDone done) override {
        std::shared_ptr<TopicState> t = topic(tp.topic);
        if (!t || tp.partition < 0 || tp.partition >= t->info.partitions) return done({StorageErrc::unknown_topic_or_partition});
        const bool log_append_time = t->info.config.log_append_time;
        const int64_t append_time = log_append_time ? now_ms() : -1;

        // The records, viewing the producer's batches (or their decompressed payloads): not copied, as they
        // are encoded for the broker before this returns.
        std::vector<std::vector<kafka::Record>> decoded;
        std::vector<OutgoingRecord> records;
        try {
            kafka::RecordBatchReader reader(kafka::Bytes(nullptr, batches.data(), batches.size()),
                                            kafka::PartialTail::reject);
            while (std::optional<kafka::RecordBatch> b = reader.next()) {
                if (b->header.is_control()) continue;
                decoded.push_back(kafka::decode_records(b->bytes, kafka::default_max_decompressed_size));
                for (const kafka::Record& r : decoded.back())
                    records.push_back({log_append_time ? append_time : b->header.timestamp_of(r), r.key, r.value,
                                       &r.headers});
            }
        } catch (const kafka::DecodeError& e) {
            log_storage("seaweedmq: append to " + tp.topic + "-" + std::to_string(tp.partition) + ": " + e.what());
            return done({StorageErrc::corrupt_message});
        }
        AppendResult result;
        result.log_append_time = append_time;
        if (records.empty()) return done(result);

        std::string error;
        for (int attempt = 0; attempt < 2; ++attempt) {
            std::shared_ptr<Publisher> publisher = publisher_for(*t, tp.partition, error);
            if (!publisher) {
                drop_routes(*t);
                continue;
            }
            // A failed append is not retried here: its records may have been stored; the client decides.
            const bool flushed = wait == AppendWait::durable && url_.acks_all_flushed;
            publisher->publish_async(records, [this, t, tp, result, flushed, lost = publisher->lost_flag(),
                                               done = std::move(done)](const Publisher::Result& r) mutable {
                if (!r.ok) {
                    drop_routes(*t);
                    log_storage("seaweedmq: append to " + tp.topic + "-" + std::to_string(tp.partition) +
                                " failed: " + r.error);
                    return done({StorageErrc::storage_error});
                }
                PartitionState& ps = *t->partitions[static_cast<size_t>(tp.partition)];
                if (const int64_t before = ps.last_acknowledged().offset; r.first <= before) {
                    // Offsets handed out twice (top of this file): these records are stored but must
                    // not be reported at offsets that belong to records acknowledged before.
                    if (!ps.offsets_reused.exchange(true))
                        log_storage("seaweedmq: " + tp.topic + "-" + std::to_string(tp.partition) +
                                    ": the broker acknowledged offset " + std::to_string(r.first) + " again (offset " +
                                    std::to_string(before) + " was acknowledged before it restarted; records it "
                                    "acknowledged but never flushed may be lost): failing appends until its offsets "
                                    "are past that; clients retry");
                    return done({StorageErrc::storage_error});
                }
                ps.offsets_reused = false;
                result.base_offset = r.first;
                result.last_offset = r.last;
                ps.acknowledged({r.last, r.last_ts_ns, r.last_digest});
                ps.saw_high_watermark(r.last + 1);
                notify(tp, r.last + 1);
                if (flushed)
                    return await_flush({t, tp, {r.last, r.last_ts_ns, r.last_digest}, std::move(lost),
                                        Clock::now() + data_timeout, result, std::move(done)});
                done(result);
            });
            return;
        }
        log_storage("seaweedmq: append to " + tp.topic + "-" + std::to_string(tp.partition) + " failed: " + error);
        done({StorageErrc::storage_error});
    }

    ReadResult read(const TopicPartition& tp, int64_t offset, size_t max_bytes) const override {
        ReadResult out;
        messaging_pb::FetchMessageResponse resp;
        const int32_t want_bytes = static_cast<int32_t>(std::min<size_t>(max_bytes, 64u << 20));
        int64_t first = offset;
        if (StorageErrc e = fetch(tp, offset, std::max(want_bytes, 1), max_fetch_messages, resp, &first);
            e != StorageErrc::none)
            return {e};
        out.high_watermark = resp.high_water_mark();
        // FetchMessage's log_start_offset is where the broker's in-memory buffer starts, not the
        // partition's first offset: only GetPartitionRangeInfo says where the partition starts.
        out.log_start_offset = std::min(resp.log_start_offset(), offset);
        if (offset > out.high_watermark) return {StorageErrc::offset_out_of_range};
        if (resp.messages_size() == 0 && offset < out.high_watermark) {
            PartitionOffsets range = offsets(tp);
            if (range.error != StorageErrc::none) return {range.error};
            if (offset < range.log_start_offset) return {StorageErrc::offset_out_of_range};
            out.log_start_offset = range.log_start_offset;
        }
        std::vector<StoredView> views;
        views.reserve(static_cast<size_t>(resp.messages_size()));
        for (const auto& m : resp.messages()) views.push_back({m.key(), m.value(), m.ts_ns()});
        size_t used = 0;
        out.records = build_batch(first, views, std::max<size_t>(max_bytes, 1), used);
        return out;
    }

    PartitionOffsets offsets(const TopicPartition& tp) const override {
        std::shared_ptr<TopicState> t = topic(tp.topic);
        if (!t || tp.partition < 0 || tp.partition >= t->info.partitions) return {StorageErrc::unknown_topic_or_partition};
        std::optional<Route> route = route_for(*t, tp.partition);
        if (!route) return {StorageErrc::storage_error};
        auto stub = messaging_pb::SeaweedMessaging::NewStub(cluster_.channel(route->leader));
        grpc::ClientContext ctx;
        set_deadline(ctx, control_timeout);
        messaging_pb::GetPartitionRangeInfoRequest req;
        *req.mutable_topic() = pb_topic(tp.topic);
        *req.mutable_partition() = route->partition;
        messaging_pb::GetPartitionRangeInfoResponse resp;
        grpc::Status s = stub->GetPartitionRangeInfo(&ctx, req, &resp);
        if (!s.ok() || !resp.error().empty()) {
            drop_routes(*t);
            log_storage("seaweedmq: offsets of " + tp.topic + "-" + std::to_string(tp.partition) + ": " +
                        (s.ok() ? resp.error() : describe(s)));
            return {StorageErrc::storage_error};
        }
        PartitionOffsets out;
        out.high_watermark = resp.offset_range().high_water_mark();
        t->partitions[static_cast<size_t>(tp.partition)]->saw_high_watermark(out.high_watermark);
        out.log_start_offset = std::min(resp.offset_range().earliest_offset(), out.high_watermark);
        return out;
    }

    TimestampOffset offset_for_timestamp(const TopicPartition& tp, int64_t timestamp) const override {
        PartitionOffsets range = offsets(tp);
        if (range.error != StorageErrc::none) return {range.error};
        // ts_ns grows with the offset (the broker keeps it increasing): the first offset whose
        // ts_ns / 1e6 >= timestamp.
        int64_t lo = range.log_start_offset, hi = range.high_watermark;
        while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            messaging_pb::FetchMessageResponse resp;
            if (StorageErrc e = fetch(tp, mid, 1, 1, resp); e != StorageErrc::none) return {e};
            if (resp.messages_size() == 0) {
                hi = mid;
                continue;
            }
            if (resp.messages(0).ts_ns() / ns_per_ms >= timestamp)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (lo >= range.high_watermark) return {};
        return record_time(tp, lo);
    }

    TimestampOffset max_timestamp(const TopicPartition& tp) const override {
        PartitionOffsets range = offsets(tp);
        if (range.error != StorageErrc::none) return {range.error};
        if (range.high_watermark <= range.log_start_offset) return {};
        return record_time(tp, range.high_watermark - 1);
    }

    PartitionOffsets delete_records_before(const TopicPartition& tp, int64_t) override {
        log_storage("seaweedmq: DeleteRecords on " + tp.topic + " refused: SeaweedMQ has no per-offset deletion");
        return {StorageErrc::storage_error};
    }

    void set_append_listener(AppendListener listener) override {
        std::lock_guard lock(listener_mutex_);
        listener_ = std::make_shared<const AppendListener>(std::move(listener));
    }

    MetadataStore& metadata() override { return metadata_; }
    bool keeps_producer_batches() const override { return false; }   // batches are rebuilt from records
    bool shared() const override { return true; }   // other gateways may use the same namespace
    bool reads_may_block() const override { return true; }

    void flush() override {
        // Every append returned after the broker acknowledged it.  Closing the streams lets the broker
        // release the partitions; waiting until it has (Publisher::begin_close) means a gateway started
        // right after this one finds them unloaded, not being unloaded (see the top of this file).
        std::vector<std::shared_ptr<Publisher>> open;
        {
            std::unique_lock lock(topics_mutex_);
            for (auto& [name, t] : topics_)
                for (auto& p : t->partitions) {
                    std::lock_guard pl(p->mutex);
                    if (p->publisher) open.push_back(std::move(p->publisher));
                    p->publisher.reset();
                }
        }
        for (const auto& p : open) p->begin_close();
        const auto deadline = Clock::now() + control_timeout;
        for (const auto& p : open) p->wait_closed(deadline);
        // acks=all appends still waiting are answered now, while what their answers reach (the producer
        // states, the connections) still exists: one more listing finds what the broker flushed as it let
        // go of the partitions, the rest fails.
        std::unique_lock lock(durable_mutex_);
        durable_draining_ = true;
        durable_cv_.notify_all();
        durable_cv_.wait_until(lock, deadline + control_timeout, [&] { return durable_.empty() && !durable_answering_; });
    }

private:
    void check_cluster() {
        const std::string where = "SeaweedFS master " + url_.master + " (gRPC " + url_.master_grpc + ")";
        std::vector<std::string> brokers;
        // A master that does not answer gets a few seconds; one that answers but has no broker yet (the
        // cluster is starting too) gets longer.
        const auto start = Clock::now();
        grpc::Status s;
        for (;;) {
            s = cluster_.list_nodes("broker", brokers, std::chrono::seconds(2));
            if (s.ok() && !brokers.empty()) break;
            const bool unreachable = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                                     s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
            if (!s.ok() && !unreachable) break;
            if (Clock::now() - start >= (unreachable ? std::chrono::seconds(4) : std::chrono::seconds(20))) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        if (!s.ok()) throw std::runtime_error("seaweedmq: cannot reach the " + where + ": " + describe(s));
        if (brokers.empty()) throw std::runtime_error("seaweedmq: no SeaweedMQ broker is registered with the " + where);
        if (cluster_.filer().empty()) throw std::runtime_error("seaweedmq: no filer is registered with the " + where);
        // A broker that has just started, or is electing its balancer leader (it answers UNAVAILABLE: "dial
        // tcp: missing address"), gets as long as a cluster that is starting.
        auto stub = broker_stub();
        const auto listed_by = Clock::now() + std::chrono::seconds(20);
        for (;;) {
            grpc::ClientContext ctx;
            set_deadline(ctx, control_timeout);
            messaging_pb::ListTopicsResponse resp;
            s = stub->ListTopics(&ctx, messaging_pb::ListTopicsRequest(), &resp);
            if (s.ok() || s.error_code() != grpc::StatusCode::UNAVAILABLE || Clock::now() >= listed_by) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        if (!s.ok())
            throw std::runtime_error("seaweedmq: the SeaweedMQ broker " + brokers.front() + " does not answer: " +
                                     describe(s));
    }

    enum class Existence : uint8_t { no, yes, unknown };

    Existence topic_conf_exists(const std::string& name) const {
        const std::string filer = cluster_.filer();
        if (filer.empty()) return Existence::unknown;
        auto stub = filer_pb::SeaweedFiler::NewStub(cluster_.channel(filer));
        grpc::ClientContext ctx;
        set_deadline(ctx, control_timeout);
        filer_pb::LookupDirectoryEntryRequest req;
        req.set_directory("/topics/" + url_.namespace_ + "/" + name);
        req.set_name("topic.conf");
        filer_pb::LookupDirectoryEntryResponse resp;
        grpc::Status s = stub->LookupDirectoryEntry(&ctx, req, &resp);
        if (s.ok()) return resp.has_entry() ? Existence::yes : Existence::no;
        if (s.error_code() == grpc::StatusCode::NOT_FOUND || s.error_message().find("no entry is found") != std::string::npos ||
            s.error_message().find("not found") != std::string::npos)
            return Existence::no;
        log_storage("seaweedmq: looking up topic " + name + " in the filer: " + describe(s));
        return Existence::unknown;
    }

    schema_pb::Topic pb_topic(const std::string& name) const {
        schema_pb::Topic t;
        t.set_namespace_(url_.namespace_);
        t.set_name(name);
        return t;
    }

    std::unique_ptr<messaging_pb::SeaweedMessaging::Stub> broker_stub() const {
        const std::string address = cluster_.any_broker();
        if (address.empty()) {
            log_storage("seaweedmq: no broker registered with the master " + url_.master);
            return nullptr;
        }
        return messaging_pb::SeaweedMessaging::NewStub(cluster_.channel(address));
    }

    StorageErrc control_failure(const std::string& what, const grpc::Status& s) const {
        log_storage("seaweedmq: " + what + ": " + describe(s));
        if (s.error_code() == grpc::StatusCode::UNAVAILABLE) cluster_.forget_broker();
        return StorageErrc::storage_error;
    }

    // The topic, from the cache while fresh, else from the broker; nullptr when it does not exist.
    // When the broker cannot be asked, a cached entry is used however old.
    std::shared_ptr<TopicState> topic(const std::string& name) const {
        std::shared_ptr<TopicState> cached;
        {
            std::shared_lock lock(topics_mutex_);
            auto it = topics_.find(name);
            if (it != topics_.end()) {
                cached = it->second;
                if (Clock::now() - cached->fetched < topic_cache_ttl) return cached;
            }
        }
        auto stub = broker_stub();
        if (!stub) return cached;
        grpc::ClientContext ctx;
        set_deadline(ctx, control_timeout);
        messaging_pb::GetTopicConfigurationRequest req;
        *req.mutable_topic() = pb_topic(name);
        messaging_pb::GetTopicConfigurationResponse resp;
        grpc::Status s = stub->GetTopicConfiguration(&ctx, req, &resp);
        if (!s.ok()) {
            if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
                control_failure("GetTopicConfiguration " + name, s);
                return cached;
            }
            // Not found (SeaweedMQ answers unknown topics with an error).
            std::unique_lock lock(topics_mutex_);
            topics_.erase(name);
            return nullptr;
        }
        std::unique_lock lock(topics_mutex_);
        std::shared_ptr<TopicState>& slot = topics_[name];
        if (slot && slot->info.partitions == resp.partition_count() &&
            slot->info.id == topic_id(url_.namespace_, name, resp.created_at_ns())) {
            slot->fetched = Clock::now();
            return slot;
        }
        auto t = std::make_shared<TopicState>();
        t->info.name = name;
        t->info.partitions = resp.partition_count();
        t->info.id = topic_id(url_.namespace_, name, resp.created_at_ns());
        auto config = created_configs_.find(name);
        t->info.config = config != created_configs_.end() ? config->second : options_.default_topic_config;
        if (resp.has_retention() && resp.retention().enabled())
            t->info.config.retention_ms = resp.retention().retention_seconds() * 1000;
        t->fetched = Clock::now();
        for (int32_t i = 0; i < t->info.partitions; ++i) t->partitions.push_back(std::make_shared<PartitionState>());
        slot = t;
        return t;
    }

    std::optional<Route> route_for(TopicState& t, int32_t partition) const {
        std::lock_guard lock(t.routes_mutex);
        if (t.routes.empty()) {
            auto stub = broker_stub();
            if (!stub) return std::nullopt;
            grpc::ClientContext ctx;
            set_deadline(ctx, control_timeout);
            messaging_pb::LookupTopicBrokersRequest req;
            *req.mutable_topic() = pb_topic(t.info.name);
            messaging_pb::LookupTopicBrokersResponse resp;
            grpc::Status s = stub->LookupTopicBrokers(&ctx, req, &resp);
            if (!s.ok()) {
                control_failure("LookupTopicBrokers " + t.info.name, s);
                return std::nullopt;
            }
            std::vector<Route> routes;
            for (const auto& a : resp.broker_partition_assignments()) routes.push_back({a.partition(), a.leader_broker()});
            std::sort(routes.begin(), routes.end(), [](const Route& a, const Route& b) {
                return a.partition.range_start() < b.partition.range_start();
            });
            if (static_cast<int32_t>(routes.size()) != t.info.partitions) {
                log_storage("seaweedmq: topic " + t.info.name + " has " + std::to_string(routes.size()) +
                            " partition assignments, expected " + std::to_string(t.info.partitions));
                if (routes.size() <= static_cast<size_t>(partition)) return std::nullopt;
            }
            t.routes = std::move(routes);
        }
        if (partition < 0 || static_cast<size_t>(partition) >= t.routes.size()) return std::nullopt;
        if (t.routes[static_cast<size_t>(partition)].leader.empty()) return std::nullopt;
        return t.routes[static_cast<size_t>(partition)];
    }

    void drop_routes(TopicState& t) const {
        std::lock_guard lock(t.routes_mutex);
        t.routes.clear();
    }

    std::shared_ptr<Publisher> publisher_for(TopicState& t, int32_t partition, std::string& error) {
        PartitionState& p = *t.partitions[static_cast<size_t>(partition)];
        std::lock_guard lock(p.mutex);
        if (p.publisher && !p.publisher->broken()) return p.publisher;
        p.publisher.reset();
        std::optional<Route> route = route_for(t, partition);
        if (!route) {
            error = "no leader known for the partition";
            return nullptr;
        }
        // The broker's clock for the partition: the last message's ts_ns (see stored_record.h).
        int64_t last_ts_ns = 0;
        messaging_pb::FetchMessageResponse last;
        if (fetch_at(*route, t.info.name, -1, 1, 1, last) && last.messages_size() > 0)
            last_ts_ns = last.messages(0).ts_ns();
        p.publisher = Publisher::open(cluster_.channel(route->leader), pb_topic(t.info.name), route->partition, last_ts_ns,
                                      error);
        return p.publisher;
    }

    // Once a second: a publish stream whose oldest append waits longer than data_timeout for the broker's
    // acknowledgement is cancelled, which fails its appends (clients get a retriable error, never a hang).
    void watch_acknowledgements() {
        std::unique_lock lock(watchdog_mutex_);
        while (!watchdog_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; })) {
            lock.unlock();
            std::vector<std::shared_ptr<Publisher>> open;
            {
                std::shared_lock topics(topics_mutex_);
                for (const auto& [name, t] : topics_)
                    for (const auto& p : t->partitions) {
                        std::lock_guard pl(p->mutex);
                        if (p->publisher) open.push_back(p->publisher);
                    }
            }
            const auto now = Clock::now();
            for (const auto& p : open) p->cancel_if_stuck(now, data_timeout);
            lock.lock();
        }
    }

    // FetchMessage on the partition's leader; offset -1: the last message.
    bool fetch_at(const Route& route, const std::string& topic_name, int64_t offset, int32_t max_bytes,
                  int32_t max_messages, messaging_pb::FetchMessageResponse& resp) const {
        auto stub = messaging_pb::SeaweedMessaging::NewStub(cluster_.channel(route.leader));
        if (offset < 0) {
            grpc::ClientContext ctx;
            set_deadline(ctx, control_timeout);
            messaging_pb::GetPartitionRangeInfoRequest req;
            *req.mutable_topic() = pb_topic(topic_name);
            *req.mutable_partition() = route.partition;
            messaging_pb::GetPartitionRangeInfoResponse info;
            if (!stub->GetPartitionRangeInfo(&ctx, req, &info).ok() || !info.error().empty()) return false;
            if (info.offset_range().high_water_mark() <= 0) return true;
            offset = info.offset_range().high_water_mark() - 1;
        }
        grpc::ClientContext ctx;
        set_deadline(ctx, data_timeout);
        messaging_pb::FetchMessageRequest req;
        *req.mutable_topic() = pb_topic(topic_name);
        *req.mutable_partition() = route.partition;
        req.set_start_offset(offset);
        req.set_max_bytes(max_bytes);
        req.set_max_messages(max_messages);
        req.set_max_wait_ms(0);
        req.set_consumer_group("kafka-gateway");
        req.set_consumer_id("kafka-gateway");
        grpc::Status s = stub->FetchMessage(&ctx, req, &resp);
        if (!s.ok()) {
            log_storage("seaweedmq: fetch from " + route.leader + ": " + describe(s));
            return false;
        }
        if (!resp.error().empty()) {
            log_storage("seaweedmq: fetch from " + route.leader + ": " + resp.error());
            return false;
        }
        return true;
    }

    // Messages from `offset` on; `first` (when given) is the offset of the first one, which is past
    // `offset` only where the flushed files skip offsets the broker lost.
    StorageErrc fetch(const TopicPartition& tp, int64_t offset, int32_t max_bytes, int32_t max_messages,
                      messaging_pb::FetchMessageResponse& resp, int64_t* first = nullptr) const {
        if (first) *first = offset;
        std::shared_ptr<TopicState> t = topic(tp.topic);
        if (!t || tp.partition < 0 || tp.partition >= t->info.partitions) return StorageErrc::unknown_topic_or_partition;
        std::optional<Route> route = route_for(*t, tp.partition);
        if (!route) return StorageErrc::storage_error;
        PartitionState& ps = *t->partitions[static_cast<size_t>(tp.partition)];
        if (!ps.fetch_unreliable.load()) {
            if (offset >= ps.flushed_end.load() && since(ps.flushed_listed_ns.load()) >= flushed_relist_interval) {
                int64_t end = 0;
                std::string error;
                ps.flushed_listed_ns = steady_ns();
                if (flushed_.flushed_end(flushed_partition(*route, tp), end, error))
                    ps.flushed_end = end;
                else
                    log_storage("seaweedmq: listing the flushed log of " + tp.topic + "-" + std::to_string(tp.partition) +
                                ": " + error);
            }
            if (offset < ps.flushed_end.load()) {
                // Not in the files (yet), or the filer failed (logged): the broker may still serve it.
                if (read_flushed(*route, tp, ps, offset, max_bytes, max_messages, resp, first) == StorageErrc::none &&
                    resp.messages_size() > 0) {
                    if (!ps.flushed_read_logged.exchange(true))
                        log_storage("seaweedmq: " + tp.topic + "-" + std::to_string(tp.partition) +
                                    ": reading offsets the broker flushed (below " + std::to_string(ps.flushed_end.load()) +
                                    ") from its log files in the filer");
                    return StorageErrc::none;
                }
                resp.Clear();
            }
            if (!fetch_at(*route, tp.topic, offset, max_bytes, max_messages, resp)) {
                drop_routes(*t);
                return StorageErrc::storage_error;
            }
            if (resp.high_water_mark() >= ps.known_high_watermark.load() && ps.range_checked.load())
                return StorageErrc::none;
            const int64_t hwm = range_high_watermark(*route, tp.topic);
            if (hwm < 0) {
                drop_routes(*t);
                return StorageErrc::storage_error;
            }
            ps.saw_high_watermark(hwm);
            ps.range_checked = true;
            if (hwm <= resp.high_water_mark() || broker_serves_what_it_acknowledged(*route, tp.topic, ps, hwm))
                return StorageErrc::none;
            log_storage("seaweedmq: " + tp.topic + "-" + std::to_string(tp.partition) + ": the broker's FetchMessage " +
                        "reports high watermark " + std::to_string(resp.high_water_mark()) + " but the partition has " +
                        std::to_string(hwm) + " (broker restarted?): reading its flushed log files from now on");
            ps.fetch_unreliable = true;
            resp.Clear();
        }
        StorageErrc e = read_flushed(*route, tp, ps, offset, max_bytes, max_messages, resp, first);
        if (e == StorageErrc::storage_error) drop_routes(*t);
        return e;
    }

    FlushedLogReader::Partition flushed_partition(const Route& route, const TopicPartition& tp) const {
        return {url_.namespace_, tp.topic, route.partition.unix_time_ns(), route.partition.range_start(),
                route.partition.range_stop()};
    }

    // Messages from `offset` on out of the log files the broker flushed to the filer (flushed_log.h),
    // with the high watermark from GetPartitionRangeInfo.  Records acknowledged but not flushed yet are
    // not there: none or fewer come back, and the client asks again.
    StorageErrc read_flushed(const Route& route, const TopicPartition& tp, PartitionState& ps, int64_t offset,
                             int32_t max_bytes, int32_t max_messages, messaging_pb::FetchMessageResponse& resp,
                             int64_t* first) const {
        // Below the flushed end the high watermark this gateway knows will do (it is at least that end);
        // a read past the files (a broker that misnumbers its buffer) asks the broker.
        int64_t hwm = std::max(ps.known_high_watermark.load(), ps.flushed_end.load());
        if (offset >= ps.flushed_end.load()) {
            hwm = range_high_watermark(route, tp.topic);
            if (hwm < 0) return StorageErrc::storage_error;
            ps.saw_high_watermark(hwm);
        }
        resp.set_high_water_mark(hwm);
        resp.set_log_start_offset(0);
        if (offset >= hwm) return StorageErrc::none;
        std::vector<FlushedMessage> flushed;
        std::string error;
        if (!flushed_.read(flushed_partition(route, tp), offset, max_bytes, std::min<int64_t>(max_messages, hwm - offset), flushed, error)) {
            log_storage("seaweedmq: reading the flushed log of " + tp.topic + "-" + std::to_string(tp.partition) +
                        ": " + error);
            return StorageErrc::storage_error;
        }
        if (!flushed.empty() && flushed.front().offset != offset) {
            log_storage("seaweedmq: " + tp.topic + "-" + std::to_string(tp.partition) + ": offsets " +
                        std::to_string(offset) + "-" + std::to_string(flushed.front().offset - 1) +
                        " are in no flushed log file though later ones are (lost by the broker): skipped");
            if (!first) return StorageErrc::none;   // the caller wants `offset` itself
            *first = flushed.front().offset;
        }
        for (FlushedMessage& m : flushed) {
            messaging_pb::DataMessage* d = resp.add_messages();
            d->set_key(std::move(m.key));
            d->set_value(std::move(m.value));
            d->set_ts_ns(m.ts_ns);
        }
        resp.set_next_offset((first ? *first : offset) + resp.messages_size());
        return StorageErrc::none;
    }

    // FetchMessage reported less than GetPartitionRangeInfo's `hwm`: a broker whose FetchMessage trails
    // its acknowledgements by a moment, or one that misnumbers its buffer (top of this file).  Only the
    // second lasts, and only it serves other records under acknowledged offsets: the last message this
    // gateway had acknowledged must come back at its offset within a short while, with its key and value
    // and its ts_ns (which the broker may have moved on by a few ns); without one, FetchMessage must
    // reach `hwm`.  True when it does.
    bool broker_serves_what_it_acknowledged(const Route& route, const std::string& topic_name, const PartitionState& ps,
                                            int64_t hwm) const {
        const PartitionState::Acknowledged acked = ps.last_acknowledged();
        const int64_t offset = acked.offset;
        const bool known = offset >= 0 && offset < hwm;
        for (int attempt = 0; attempt < 40; ++attempt) {
            messaging_pb::FetchMessageResponse probe;
            if (!fetch_at(route, topic_name, known ? offset : hwm - 1, 4096, 1, probe)) return true;   // decided later
            if (known && probe.messages_size() > 0) {
                const auto& m = probe.messages(0);
                return message_digest(m.key(), m.value()) == acked.digest && std::abs(m.ts_ns() - acked.ts_ns) < ns_per_ms;
            }
            if (!known && probe.high_water_mark() >= hwm) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return false;
    }

    // GetPartitionRangeInfo's high watermark (from the broker's offset manager); -1 on failure.
    int64_t range_high_watermark(const Route& route, const std::string& topic_name) const {
        auto stub = messaging_pb::SeaweedMessaging::NewStub(cluster_.channel(route.leader));
        grpc::ClientContext ctx;
        set_deadline(ctx, control_timeout);
        messaging_pb::GetPartitionRangeInfoRequest req;
        *req.mutable_topic() = pb_topic(topic_name);
        *req.mutable_partition() = route.partition;
        messaging_pb::GetPartitionRangeInfoResponse info;
        grpc::Status s = stub->GetPartitionRangeInfo(&ctx, req, &info);
        if (!s.ok() || !info.error().empty()) {
            log_storage("seaweedmq: GetPartitionRangeInfo on " + route.leader + ": " + (s.ok() ? info.error() : describe(s)));
            return -1;
        }
        return info.offset_range().high_water_mark();
    }

    // The timestamp of the record at Kafka offset `offset`.
    TimestampOffset record_time(const TopicPartition& tp, int64_t offset) const {
        messaging_pb::FetchMessageResponse resp;
        if (StorageErrc e = fetch(tp, offset, 1, 1, resp); e != StorageErrc::none) return {e};
        if (resp.messages_size() == 0) return {};
        const auto& m = resp.messages(0);
        return {StorageErrc::none, offset, stored_timestamp_ms({m.key(), m.value(), m.ts_ns()})};
    }

    // acks=all appends (?acks_all=flushed) waiting for the broker to flush their records to the filer.
    struct DurableWait {
        std::shared_ptr<TopicState> topic;
        TopicPartition tp;
        PartitionState::Acknowledged last;               // the append's last message
        std::shared_ptr<const std::atomic<bool>> lost;   // of the publish stream that stored it
        Clock::time_point deadline;
        AppendResult result;
        AppendDone done;
    };

    void await_flush(DurableWait w) {
        {
            std::lock_guard lock(durable_mutex_);
            durable_.push_back(std::move(w));
        }
        durable_cv_.notify_all();
    }

    // While appends wait for the flush: every flush_poll_interval, lists each such partition's flushed
    // files and answers the appends they cover.  The stream is checked after the listing, so a listing
    // that shows the offsets was made while the broker that acknowledged them still held them, never by a
    // restarted broker that numbered other records with them.  An append whose publish stream ended
    // first (a broker that stopped: what it had not flushed is lost) succeeds only if the flushed files
    // hold its last message at its offset (it was flushed just before); otherwise it fails with
    // storage_error.  One not flushed within data_timeout fails with timed_out.  Clients retry both.  At
    // shutdown flush() has closed the streams, which makes the broker flush; one more listing answers
    // what it flushed.
    void watch_flushes() {
        std::unique_lock lock(durable_mutex_);
        for (;;) {
            durable_cv_.wait(lock, [&] { return durable_stopping_ || !durable_.empty(); });
            if (durable_.empty()) return;   // stopping, nothing left
            const bool last_round = durable_stopping_ || durable_draining_;
            durable_answering_ = true;
            std::map<TopicPartition, std::shared_ptr<TopicState>> partitions;
            for (const DurableWait& w : durable_) partitions.emplace(w.tp, w.topic);
            lock.unlock();
            std::map<TopicPartition, int64_t> ends;
            std::map<TopicPartition, Route> routes;
            for (const auto& [tp, t] : partitions) {
                std::string error;
                int64_t end = 0;
                if (std::optional<Route> route = route_for(*t, tp.partition);
                    route && flushed_.flushed_end(flushed_partition(*route, tp), end, error)) {
                    ends[tp] = end;
                    routes.emplace(tp, *route);
                    t->partitions[static_cast<size_t>(tp.partition)]->flushed_end = end;
                } else if (since(last_flush_list_error_ns_) >= std::chrono::seconds(10)) {
                    last_flush_list_error_ns_ = steady_ns();
                    log_storage("seaweedmq: " + tp.topic + "-" + std::to_string(tp.partition) +
                                ": cannot list the flushed files (acks=all appends wait): " +
                                (error.empty() ? "no leader known" : error));
                }
            }
            const auto now = Clock::now();
            std::vector<std::pair<AppendDone, AppendResult>> answers;
            std::vector<DurableWait> lost;                 // their streams ended: checked in the files
            std::map<TopicPartition, int64_t> lost_from;   // for one log line per partition
            lock.lock();
            for (auto it = durable_.begin(); it != durable_.end();) {
                auto end = ends.find(it->tp);
                if (*it->lost) {
                    lost.push_back(std::move(*it));
                } else if (end != ends.end() && it->last.offset < end->second) {
                    answers.emplace_back(std::move(it->done), it->result);
                } else if (now >= it->deadline || last_round) {
                    answers.emplace_back(std::move(it->done), AppendResult{StorageErrc::timed_out});
                } else {
                    ++it;
                    continue;
                }
                it = durable_.erase(it);
            }
            lock.unlock();
            for (DurableWait& w : lost) {
                auto route = routes.find(w.tp);
                if (route != routes.end() && ends[w.tp] > w.last.offset && flushed_holds(route->second, w.tp, w.last)) {
                    answers.emplace_back(std::move(w.done), w.result);
                    continue;
                }
                int64_t& from = lost_from.try_emplace(w.tp, w.last.offset).first->second;
                from = std::min(from, w.last.offset);
                answers.emplace_back(std::move(w.done), AppendResult{StorageErrc::storage_error});
            }
            for (const auto& [tp, from] : lost_from)
                log_storage("seaweedmq: " + tp.topic + "-" + std::to_string(tp.partition) +
                            ": the publish stream ended before the broker flushed offset " + std::to_string(from) +
                            " on: those acks=all appends fail (the broker may have lost them; clients retry)");
            for (auto& [done, result] : answers) done(result);
            lock.lock();
            durable_answering_ = false;
            durable_cv_.notify_all();   // flush() waits for the last answers
            if (!last_round)
                durable_cv_.wait_for(lock, flush_poll_interval, [&] { return durable_stopping_ || durable_draining_; });
        }
    }

    // Whether the flushed files hold `m` at its offset (the same key, value and time).
    bool flushed_holds(const Route& route, const TopicPartition& tp, const PartitionState::Acknowledged& m) {
        std::vector<FlushedMessage> found;
        std::string error;
        if (!flushed_.read(flushed_partition(route, tp), m.offset, 1, 1, found, error) || found.empty()) return false;
        const FlushedMessage& f = found.front();
        return f.offset == m.offset && message_digest(f.key, f.value) == m.digest && std::abs(f.ts_ns - m.ts_ns) < ns_per_ms;
    }

    // Appends are reported to the listener on the thread that learns of them (a publish stream's gRPC
    // callback thread), before the append is answered.  That thread must not wait on a read: the broker's
    // listener only marks the long-poll fetches of the partition ready and hands their reads to the I/O
    // threads (Broker::run_read; this engine's reads may block, so the broker has them).  A thread of its
    // own for the reports cost two thread wake-ups per acknowledgement (it shared its condition variable
    // with the watchdog), a sixth of the gateway's context switches at 2,000 single-record produces/s.
    void notify(const TopicPartition& tp, int64_t high_watermark) {
        std::shared_ptr<const AppendListener> listener;
        {
            std::lock_guard lock(listener_mutex_);
            listener = listener_;
        }
        if (listener && *listener) (*listener)(tp, high_watermark);
    }

    const SeaweedMqUrl url_;
    const StorageOptions options_;
    mutable Cluster cluster_;
    FilerMetadataStore metadata_;
    mutable FlushedLogReader flushed_{cluster_};
    mutable std::shared_mutex topics_mutex_;
    mutable std::map<std::string, std::shared_ptr<TopicState>> topics_;
    std::mutex watchdog_mutex_;
    std::condition_variable watchdog_cv_;
    bool stopping_ = false;
    std::thread watchdog_;
    std::map<std::string, TopicConfig> created_configs_;   // the settings of topics this gateway created
    std::mutex listener_mutex_;
    std::shared_ptr<const AppendListener> listener_;
    std::mutex durable_mutex_;
    std::condition_variable durable_cv_;
    bool durable_stopping_ = false;
    bool durable_draining_ = false;    // flush(): answer every wait in one more round
    bool durable_answering_ = false;   // watch_flushes is between taking waits and answering them
    std::list<DurableWait> durable_;
    int64_t last_flush_list_error_ns_ = 0;   // watch_flushes' thread only
    std::thread flush_watcher_;
};

// glibc's malloc serves blocks from 128 KiB up (a threshold it raises as such blocks are freed, to 32 MiB at most)
// with fresh mappings, and gives the heap's free top back to the kernel past a threshold.  This engine builds each
// fetch's record batches and each publish request in memory, so fetches kept faulting in and zeroing new pages: a
// fifth of the gateway's CPU in a profile of rdkafka consume.  Blocks under 16 MiB stay in the heap, and up to
// 64 MiB of it may stay free.  A/B on rdkafka consume p1, 200,000 records (bench/compare --servers ours-seaweedmq
// --seaweed-records 200000): gateway CPU 0.42 s -> 0.32-0.34 s, records/s 276k -> 327-333k, the gateway's peak RSS
// 168-241 -> 254-257 MiB.  The setting is process-wide, so only this engine makes it (the file engine sends stored
// batches with sendfile and keeps its small RSS), and malloc settings an operator gives in GLIBC_TUNABLES win.
void keep_large_blocks_in_heap() {
    if (const char* tunables = std::getenv("GLIBC_TUNABLES"); tunables && std::strstr(tunables, "glibc.malloc.")) return;
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

} // namespace

std::unique_ptr<StorageEngine> open_seaweedmq_engine(const std::string& url, const StorageOptions& options) {
    keep_large_blocks_in_heap();
    return std::make_unique<SeaweedMqEngine>(parse_seaweedmq_url(url), options);
}

} // namespace gateway
