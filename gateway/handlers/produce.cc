// Produce: v0-11.  v0-2 carry legacy message sets (magic 0/1), converted to v2 batches before they
// are stored (compressed wrappers opened, see convert_message_set); v3+ carry v2 batches, stored byte
// for byte but for the base offset, compressed ones decompressed once to check them as Kafka does.  v1 adds
// throttle_time_ms; v2 log_append_time_ms; v3 transactional_id (transactions are not offered); v5
// log_start_offset; v8 record_errors and error_message; v9 flexible; v10-11 change nothing for us.
// acks=0 gets no response; acks=1 and -1 are answered after the append (and the fsync policy), acks=-1
// once the append is durable (AppendWait: on seaweedmq://, flushed to the filer).  Appends go through
// StorageEngine::append_batches_async: on seaweedmq:// the request is answered when SeaweedMQ has
// acknowledged (or flushed) its records, and the connection's next request does not wait for that.  An
// idempotent producer's batch reserves its sequences while in flight (ProducerStates::reserve), so the
// next batch is checked against it; a failed append forgets it and the batches after it, which the
// client then resends in order.  An idempotent producer sends one batch per partition per request, as
// Kafka requires; more is INVALID_RECORD.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/produce_request.h"
#include "generated/produce_response.h"
#include "runtime/compression.h"
#include "runtime/log.h"
#include "runtime/message_set.h"
#include "runtime/record_batch.h"

#include <atomic>
#include <memory>
#include <vector>

namespace gateway {
namespace {

using PartitionResponse = kafka::ProduceResponse::PartitionProduceResponse;

struct Rejected {
    ErrorCode error;
    std::string message;
};

// Legacy messages as one v2 batch, keys, values and timestamps kept (magic 0 has none: -1).  The
// inner messages of compressed wrappers (at most max_decompressed bytes each) are taken out and the
// v2 batch is compressed again with the wrapper's codec, as Kafka does (compression.type=producer):
// storage stays as small as the producer meant, and consumers see the codec they would from Kafka.
kafka::Bytes convert_message_set(const kafka::Bytes& set, size_t max_decompressed) {
    kafka::MessageSetReader reader(set, kafka::PartialTail::reject);
    std::vector<kafka::LegacyMessage> messages;
    auto codec = kafka::CompressionCodec::none;
    while (auto m = reader.next()) {
        if (m->compression() == kafka::CompressionCodec::none) {
            messages.push_back(std::move(*m));
            continue;
        }
        if (codec == kafka::CompressionCodec::none) codec = m->compression();   // the first wrapper's, if mixed
        for (auto& inner : kafka::inner_messages(*m, max_decompressed)) messages.push_back(std::move(inner));
    }
    if (messages.empty()) throw Rejected{ErrorCode::invalid_record, "empty message set"};
    kafka::RecordBatchBuilder builder({.attributes = static_cast<int16_t>(codec)});
    for (const auto& m : messages) builder.append(m.timestamp, m.key, m.value);
    return builder.build();
}

// Decompressed, a batch may not be larger than a request could be.
size_t max_decompressed(const Broker& broker) { return broker.config().max_request_size; }

// The batches of one partition's records, validated: CRC, framing, size, no control batches.
std::vector<kafka::RecordBatch> validated_batches(const kafka::Bytes& records, const TopicConfig& config,
                                                  size_t max_decompressed) {
    std::vector<kafka::RecordBatch> out;
    kafka::RecordBatchReader reader(records, kafka::PartialTail::reject);
    while (auto b = reader.next()) {
        kafka::validate_record_batch(b->bytes.span());
        if (b->header.records_count <= 0) throw Rejected{ErrorCode::invalid_record, "batch without records"};
        if (b->header.is_control()) throw Rejected{ErrorCode::invalid_record, "clients cannot write control batches"};
        if (b->header.is_transactional())
            throw Rejected{ErrorCode::invalid_record, "transactional batches are not supported"};
        if (b->bytes.size() > static_cast<size_t>(config.max_message_bytes))
            throw Rejected{ErrorCode::message_too_large, "batch of " + std::to_string(b->bytes.size()) +
                                                             " bytes exceeds max.message.bytes"};
        // Kafka reads every record of a compressed batch before accepting it; so do we, so that a
        // corrupt or bomb-sized payload never reaches the log (down-conversion and timestamp lookups
        // open stored batches later).
        if (b->header.compression() != kafka::CompressionCodec::none) (void)kafka::decode_records(b->bytes, max_decompressed);
        out.push_back(std::move(*b));
    }
    if (out.empty()) throw Rejected{ErrorCode::invalid_record, "no record batch"};
    return out;
}

ProducerBatch producer_batch(const kafka::RecordBatchHeader& h) {
    return {h.producer_id, h.producer_epoch, h.base_sequence, h.base_sequence + h.last_offset_delta};
}

// The response of one Produce request, sent once every partition's append has answered.
class PendingResponse {
public:
    PendingResponse(kafka::ExchangePtr ex, bool silent) : ex_(std::move(ex)), silent_(silent) {}
    kafka::ProduceResponse response;
    const kafka::ExchangePtr& exchange() const { return ex_; }

    void hold() { pending_.fetch_add(1); }
    void release() {
        if (pending_.fetch_sub(1) != 1) return;
        if (silent_) ex_->respond_none();
        else ex_->respond(response);
    }

private:
    kafka::ExchangePtr ex_;
    bool silent_;                  // acks=0
    std::atomic<int> pending_{1};  // the handler's own share until it has gone through every partition
};

void log_error(const kafka::Exchange& ex, const TopicPartition& tp, const PartitionResponse& pr) {
    if (pr.error_code != 0)
        kafka::log_debug("produce", ex.peer() + " " + tp.topic + "-" + std::to_string(tp.partition) + ": error " +
                                        std::to_string(pr.error_code) + " " + pr.error_message.value_or(""));
}

void fill(PartitionResponse& out, const AppendResult& r, int64_t base_offset) {
    out.error_code = code(to_error_code(r.error));
    out.base_offset = base_offset;
    out.log_append_time_ms = r.log_append_time;
    out.log_start_offset = r.log_start_offset;
}

// True when the append answers later (through `pending`), filling `out` then.
bool append(Broker& broker, const TopicPartition& tp, const std::vector<kafka::RecordBatch>& batches, AppendWait wait,
            PartitionResponse& out, const std::shared_ptr<PendingResponse>& pending) {
    const bool idempotent = batches.front().header.producer_id >= 0;
    if (!idempotent) {
        // One append of everything the client sent, as it sent it (contiguous in the request).
        const auto& first = batches.front().bytes;
        const auto& last = batches.back().bytes;
        std::span<const uint8_t> all(first.data(), static_cast<size_t>(last.data() + last.size() - first.data()));
        pending->hold();
        try {
            broker.storage().append_batches_async(tp, all, wait, [&out, tp, pending](const AppendResult& r) {
                fill(out, r, r.base_offset);
                log_error(*pending->exchange(), tp, out);
                pending->release();
            });
        } catch (...) {
            pending->release();
            throw;
        }
        return true;
    }
    // Kafka takes one v2 batch per partition per request ("more than one batch" is INVALID_RECORD), and
    // every client sends one; an idempotent producer's sequences are checked per batch, so we hold to it.
    if (batches.size() != 1) throw Rejected{ErrorCode::invalid_record, "more than one record batch for the partition"};
    // Checked, its sequences reserved, appended without waiting; the next request's batch is checked
    // against the reservation.  The lock keeps check, reserve and the start of the append (which fixes
    // the order on the storage's stream) one step.
    auto lock = broker.producers().lock(tp);
    const ProducerBatch pb = producer_batch(batches.front().header);
    const auto verdict = broker.producers().check(tp, pb);
    if (verdict.error != ErrorCode::none || verdict.in_flight) {
        // A retry of a batch still in flight: retriable, the client asks again once it has ended.
        out.error_code = code(verdict.in_flight ? ErrorCode::request_timed_out : verdict.error);
        return false;
    }
    if (verdict.duplicate) {   // a retry of a batch already stored: acknowledge it again
        out.base_offset = verdict.duplicate_base_offset;
        out.log_start_offset = broker.storage().offsets(tp).log_start_offset;
        return false;
    }
    broker.producers().reserve(tp, pb);
    pending->hold();
    try {
        broker.storage().append_batches_async(tp, batches.front().bytes.span(), wait,
                                              [&broker, &out, tp, pb, pending](const AppendResult& r) {
            if (r.error != StorageErrc::none) {
                broker.producers().abandon(tp, pb);
                fill(out, r, -1);
            } else {
                // Not found: an earlier batch failed meanwhile and the client resends from it; this one
                // is stored all the same, so it is acknowledged.
                (void)broker.producers().complete(tp, pb, r.base_offset);
                fill(out, r, r.base_offset);
            }
            log_error(*pending->exchange(), tp, out);
            pending->release();
        });
    } catch (...) {
        broker.producers().abandon(tp, pb);
        pending->release();
        throw;
    }
    return true;
}

// True when the partition's answer comes later (see append).
bool produce_partition(Broker& broker, const TopicInfo& topic, int16_t version, AppendWait wait,
                       const kafka::ProduceRequest::PartitionProduceData& in, PartitionResponse& out,
                       const std::shared_ptr<PendingResponse>& pending) {
    out.index = in.index;
    if (in.index < 0 || in.index >= topic.partitions) {
        out.error_code = code(ErrorCode::unknown_topic_or_partition);
        return false;
    }
    if (!broker.leads(topic.name, in.index)) {   // another gateway sharing the storage does
        out.error_code = code(ErrorCode::not_leader_or_follower);
        return false;
    }
    if (!in.records || in.records->empty()) {
        out.error_code = code(ErrorCode::invalid_record);
        out.error_message = "no records";
        return false;
    }
    try {
        std::vector<kafka::RecordBatch> batches;
        kafka::Bytes converted;
        if (kafka::records_format(in.records->span()) == kafka::RecordsFormat::message_set) {
            if (version >= 3) throw Rejected{ErrorCode::invalid_record, "Produce v3+ carries only v2 record batches"};
            converted = convert_message_set(*in.records, max_decompressed(broker));
            batches = validated_batches(converted, topic.config, max_decompressed(broker));
        } else {
            if (version < 3)
                throw Rejected{ErrorCode::invalid_record, "Produce v0-2 carries only legacy message sets"};
            batches = validated_batches(*in.records, topic.config, max_decompressed(broker));
        }
        return append(broker, {topic.name, in.index}, batches, wait, out, pending);
    } catch (const Rejected& e) {
        out.error_code = code(e.error);
        out.error_message = e.message;
    } catch (const kafka::CompressionError& e) {
        out.error_code = code(e.reason() == kafka::CompressionErrc::too_large ? ErrorCode::message_too_large
                                                                              : ErrorCode::corrupt_message);
        out.error_message = e.what();
    } catch (const kafka::DecodeError& e) {
        out.error_code = code(ErrorCode::corrupt_message);
        out.error_message = e.what();
    }
    return false;
}

} // namespace

void register_produce(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::ProduceRequest::api_key, 0, 11, [&broker](const kafka::ExchangePtr& ex) {
        kafka::ProduceRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        const bool valid_acks = req.acks == 0 || req.acks == 1 || req.acks == -1;
        auto pending = std::make_shared<PendingResponse>(ex, req.acks == 0 && valid_acks);
        const AppendWait wait = req.acks == -1 ? AppendWait::durable : AppendWait::accepted;
        kafka::ProduceResponse& resp = pending->response;
        // Appends answering later fill their entries in place: no entry may move.
        resp.responses.reserve(req.topic_data.size());
        for (const auto& t : req.topic_data) {
            auto& tr = resp.responses.emplace_back();
            tr.name = t.name;
            tr.partition_responses.reserve(t.partition_data.size());
            auto found = broker.find_topic(t.name, false);
            for (const auto& p : t.partition_data) {
                auto& pr = tr.partition_responses.emplace_back();
                pr.index = p.index;
                if (!valid_acks) pr.error_code = code(ErrorCode::invalid_required_acks);
                else if (req.transactional_id) pr.error_code = code(ErrorCode::transactional_id_not_found);
                else if (found.error != ErrorCode::none) pr.error_code = code(found.error);
                else if (produce_partition(broker, *found.topic, ex->version(), wait, p, pr, pending)) continue;
                log_error(*ex, {t.name, p.index}, pr);
            }
        }
        pending->release();
    });
}

} // namespace gateway
