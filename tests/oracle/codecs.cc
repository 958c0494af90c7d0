// The per-API codec table of codecs.h: one instantiation of three small function templates per
// message type, listed from generated/api_traits.h.  oracle_test checks that the list covers every
// API of generated/api_table.h, so an API added to schemas/ without being added here fails loudly.
#include "tests/oracle/codecs.h"

#include "generated/api_traits.h"
#include "generated/produce_request.h"
#include "generated/produce_response.h"
#include "generated/fetch_request.h"
#include "generated/fetch_response.h"
#include "generated/list_offsets_request.h"
#include "generated/list_offsets_response.h"
#include "generated/metadata_request.h"
#include "generated/metadata_response.h"
#include "generated/offset_commit_request.h"
#include "generated/offset_commit_response.h"
#include "generated/offset_fetch_request.h"
#include "generated/offset_fetch_response.h"
#include "generated/find_coordinator_request.h"
#include "generated/find_coordinator_response.h"
#include "generated/join_group_request.h"
#include "generated/join_group_response.h"
#include "generated/heartbeat_request.h"
#include "generated/heartbeat_response.h"
#include "generated/leave_group_request.h"
#include "generated/leave_group_response.h"
#include "generated/sync_group_request.h"
#include "generated/sync_group_response.h"
#include "generated/describe_groups_request.h"
#include "generated/describe_groups_response.h"
#include "generated/list_groups_request.h"
#include "generated/list_groups_response.h"
#include "generated/sasl_handshake_request.h"
#include "generated/sasl_handshake_response.h"
#include "generated/api_versions_request.h"
#include "generated/api_versions_response.h"
#include "generated/create_topics_request.h"
#include "generated/create_topics_response.h"
#include "generated/delete_topics_request.h"
#include "generated/delete_topics_response.h"
#include "generated/delete_records_request.h"
#include "generated/delete_records_response.h"
#include "generated/init_producer_id_request.h"
#include "generated/init_producer_id_response.h"
#include "generated/offset_for_leader_epoch_request.h"
#include "generated/offset_for_leader_epoch_response.h"
#include "generated/add_partitions_to_txn_request.h"
#include "generated/add_partitions_to_txn_response.h"
#include "generated/add_offsets_to_txn_request.h"
#include "generated/add_offsets_to_txn_response.h"
#include "generated/end_txn_request.h"
#include "generated/end_txn_response.h"
#include "generated/txn_offset_commit_request.h"
#include "generated/txn_offset_commit_response.h"
#include "generated/describe_acls_request.h"
#include "generated/describe_acls_response.h"
#include "generated/create_acls_request.h"
#include "generated/create_acls_response.h"
#include "generated/delete_acls_request.h"
#include "generated/delete_acls_response.h"
#include "generated/describe_configs_request.h"
#include "generated/describe_configs_response.h"
#include "generated/alter_configs_request.h"
#include "generated/alter_configs_response.h"
#include "generated/describe_log_dirs_request.h"
#include "generated/describe_log_dirs_response.h"
#include "generated/sasl_authenticate_request.h"
#include "generated/sasl_authenticate_response.h"
#include "generated/create_partitions_request.h"
#include "generated/create_partitions_response.h"
#include "generated/delete_groups_request.h"
#include "generated/delete_groups_response.h"
#include "generated/incremental_alter_configs_request.h"
#include "generated/incremental_alter_configs_response.h"
#include "generated/offset_delete_request.h"
#include "generated/offset_delete_response.h"
#include "generated/describe_client_quotas_request.h"
#include "generated/describe_client_quotas_response.h"
#include "generated/alter_client_quotas_request.h"
#include "generated/alter_client_quotas_response.h"
#include "generated/describe_user_scram_credentials_request.h"
#include "generated/describe_user_scram_credentials_response.h"
#include "generated/alter_user_scram_credentials_request.h"
#include "generated/alter_user_scram_credentials_response.h"
#include "generated/describe_cluster_request.h"
#include "generated/describe_cluster_response.h"
#include "generated/describe_producers_request.h"
#include "generated/describe_producers_response.h"
#include "generated/describe_transactions_request.h"
#include "generated/describe_transactions_response.h"
#include "generated/list_transactions_request.h"
#include "generated/list_transactions_response.h"
#include "generated/consumer_group_heartbeat_request.h"
#include "generated/consumer_group_heartbeat_response.h"
#include "generated/consumer_group_describe_request.h"
#include "generated/consumer_group_describe_response.h"
#include "generated/get_telemetry_subscriptions_request.h"
#include "generated/get_telemetry_subscriptions_response.h"
#include "generated/push_telemetry_request.h"
#include "generated/push_telemetry_response.h"
#include "generated/describe_topic_partitions_request.h"
#include "generated/describe_topic_partitions_response.h"
#include "runtime/codec_error.h"
#include "runtime/reader.h"
#include "runtime/record_batch.h"
#include "runtime/writer.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <sstream>

namespace kafka::oracle {
namespace {

template<typename T>
std::string printed(const T& m) {
    std::ostringstream os;
    os << m;
    return os.str();
}

// Every records value must be a run of whole, sound v2 batches whose records decode.
std::string check_records(const std::optional<Bytes>& records) {
    if (!records || records->empty()) return "";
    try {
        RecordBatchReader batches(*records, PartialTail::reject);
        while (std::optional<RecordBatch> b = batches.next()) {
            validate_record_batch(b->bytes.span());
            decode_records(b->bytes);
        }
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

template<typename T>
std::string records_problem(const T& m) {
    std::string problem;
    if constexpr (std::is_same_v<T, ProduceRequest>) {
        for (const auto& t : m.topic_data)
            for (const auto& p : t.partition_data)
                if (problem.empty()) problem = check_records(p.records);
    } else if constexpr (std::is_same_v<T, FetchResponse>) {
        for (const auto& t : m.responses)
            for (const auto& p : t.partitions)
                if (problem.empty()) problem = check_records(p.records);
    }
    return problem;
}

template<typename T>
Decoded decode_and_reencode(std::span<const uint8_t> bytes, int16_t version) {
    Decoded out;
    auto frame = std::make_shared<std::vector<uint8_t>>(bytes.begin(), bytes.end());
    Reader r(frame->data(), frame->size(), frame);
    T m;
    try {
        m.decode(r, version);
        out.consumed = r.position();
        out.printed = printed(m);
        out.size = m.size(version);
        Writer w;
        m.encode(w, version);
        out.reencoded = w.flatten();
        out.records_error = records_problem(m);
    } catch (const std::exception& e) {
        out.error = e.what();
        out.consumed = r.position();
    }
    return out;
}

template<typename T>
std::string compare(std::span<const uint8_t> ours, std::span<const uint8_t> theirs, int16_t version) {
    auto decode = [version](std::span<const uint8_t> b, T& m) {
        auto frame = std::make_shared<std::vector<uint8_t>>(b.begin(), b.end());
        Reader r(frame->data(), frame->size(), frame);
        m.decode(r, version);
        if (!r.at_end()) throw DecodeError(DecodeErrc::invalid_value, std::to_string(r.remaining()) + " bytes left over");
    };
    T a, b;
    try {
        decode(ours, a);
    } catch (const std::exception& e) {
        return std::string("our own encoding does not decode: ") + e.what();
    }
    try {
        decode(theirs, b);
    } catch (const std::exception& e) {
        return std::string("kmsg's re-encoding does not decode: ") + e.what();
    }
    if (a == b) return "";
    const std::string pa = printed(a), pb = printed(b);
    if (pa == pb)   // the printer shows bytes as their length and sensitive fields as ****
        return "a bytes or sensitive field's content differs (print: " + pa + ")";
    const size_t at = static_cast<size_t>(std::mismatch(pa.begin(), pa.end(), pb.begin(), pb.end()).first - pa.begin());
    const size_t from = at < 40 ? 0 : at - 40;
    return "first differing field " + field_path_at(pa, at) + ": ours ..." + pa.substr(from, 100) + "... kmsg's ..." +
           pb.substr(from, 100) + "...";
}

template<typename T>
std::string field_at(std::span<const uint8_t> bytes, int16_t version, size_t offset) {
    Reader r(bytes.data(), std::min(offset, bytes.size()));
    T m;
    try {
        m.decode(r, version);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

template<typename T>
constexpr MessageCodec codec_of() {
    return {&decode_and_reencode<T>, &compare<T>, &field_at<T>};
}

#define KGW_API(Api)                                                                                \
    ApiCodec{Api::key, Api::name, Api::min_version, Api::max_version, codec_of<Api::request_type>(), \
             codec_of<Api::response_type>()},

const ApiCodec table[] = {
    KGW_API(ProduceApi)
    KGW_API(FetchApi)
    KGW_API(ListOffsetsApi)
    KGW_API(MetadataApi)
    KGW_API(OffsetCommitApi)
    KGW_API(OffsetFetchApi)
    KGW_API(FindCoordinatorApi)
    KGW_API(JoinGroupApi)
    KGW_API(HeartbeatApi)
    KGW_API(LeaveGroupApi)
    KGW_API(SyncGroupApi)
    KGW_API(DescribeGroupsApi)
    KGW_API(ListGroupsApi)
    KGW_API(SaslHandshakeApi)
    KGW_API(ApiVersionsApi)
    KGW_API(CreateTopicsApi)
    KGW_API(DeleteTopicsApi)
    KGW_API(DeleteRecordsApi)
    KGW_API(InitProducerIdApi)
    KGW_API(OffsetForLeaderEpochApi)
    KGW_API(AddPartitionsToTxnApi)
    KGW_API(AddOffsetsToTxnApi)
    KGW_API(EndTxnApi)
    KGW_API(TxnOffsetCommitApi)
    KGW_API(DescribeAclsApi)
    KGW_API(CreateAclsApi)
    KGW_API(DeleteAclsApi)
    KGW_API(DescribeConfigsApi)
    KGW_API(AlterConfigsApi)
    KGW_API(DescribeLogDirsApi)
    KGW_API(SaslAuthenticateApi)
    KGW_API(CreatePartitionsApi)
    KGW_API(DeleteGroupsApi)
    KGW_API(IncrementalAlterConfigsApi)
    KGW_API(OffsetDeleteApi)
    KGW_API(DescribeClientQuotasApi)
    KGW_API(AlterClientQuotasApi)
    KGW_API(DescribeUserScramCredentialsApi)
    KGW_API(AlterUserScramCredentialsApi)
    KGW_API(DescribeClusterApi)
    KGW_API(DescribeProducersApi)
    KGW_API(DescribeTransactionsApi)
    KGW_API(ListTransactionsApi)
    KGW_API(ConsumerGroupHeartbeatApi)
    KGW_API(ConsumerGroupDescribeApi)
    KGW_API(GetTelemetrySubscriptionsApi)
    KGW_API(PushTelemetryApi)
    KGW_API(DescribeTopicPartitionsApi)
};

#undef KGW_API

} // namespace

std::span<const ApiCodec> api_codecs() { return table; }

const ApiCodec* find_api_codec(int16_t key) {
    for (const ApiCodec& c : table)
        if (c.key == key) return &c;
    return nullptr;
}

std::string field_path_at(std::string_view s, size_t position) {
    struct Frame {
        bool list;
        std::string name;   // struct: the field being printed; list: unused
        size_t index = 0;
    };
    std::vector<Frame> stack;
    std::string root, token;
    bool quoted = false;
    for (size_t i = 0; i < position && i < s.size(); ++i) {
        const char c = s[i];
        if (quoted) {
            if (c == '\\') ++i;
            else if (c == '"') quoted = false;
            continue;
        }
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
            token += c;
            continue;
        }
        if (c == '"') quoted = true;
        else if (c == '{') {
            if (stack.empty()) root = token;
            stack.push_back({false, ""});
        } else if (c == '=' && !stack.empty() && !stack.back().list) stack.back().name = token;
        else if (c == '[') stack.push_back({true, ""});
        else if ((c == ']' || c == '}') && !stack.empty()) stack.pop_back();
        else if (c == ',' && !stack.empty() && stack.back().list) ++stack.back().index;
        token.clear();
    }
    std::string path = root;
    for (const Frame& f : stack) {
        if (f.list) {
            path += '[';
            path += std::to_string(f.index);
            path += ']';
        } else {
            path += '.';
            path += f.name;
        }
    }
    return path;
}

size_t first_difference(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return static_cast<size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
}

} // namespace kafka::oracle
