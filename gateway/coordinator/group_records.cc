#include "gateway/coordinator/group_records.h"

#include "runtime/bytes.h"
#include "runtime/codec_error.h"
#include "runtime/reader.h"
#include "runtime/writer.h"

#include <charconv>

namespace gateway {
namespace {

constexpr int8_t record_version = 0;

std::string finish(const kafka::Writer& w) {
    std::vector<uint8_t> flat = w.flatten();
    return std::string(flat.begin(), flat.end());
}

kafka::Reader reader_of(std::string_view value) {
    return kafka::Reader(reinterpret_cast<const uint8_t*>(value.data()), value.size());
}

void write_blob(kafka::Writer& w, std::string_view s) {
    w.write_int32(static_cast<int32_t>(s.size()));
    w.write_raw(s.data(), s.size());
}

std::string read_blob(kafka::Reader& r) {
    kafka::Bytes b = r.read_bytes();
    return std::string(b.view());
}

} // namespace

std::string offset_key(std::string_view group, const TopicPartition& tp) {
    std::string key(offset_key_prefix);
    key.append(group).append("/").append(tp.topic).append("/").append(std::to_string(tp.partition));
    return key;
}

bool parse_offset_key(std::string_view key, std::string& group, TopicPartition& tp) {
    if (!key.starts_with(offset_key_prefix)) return false;
    key.remove_prefix(offset_key_prefix.size());
    size_t p = key.rfind('/');
    if (p == std::string_view::npos || p == 0) return false;
    std::string_view partition = key.substr(p + 1);
    int32_t index = 0;
    auto [end, ec] = std::from_chars(partition.data(), partition.data() + partition.size(), index);
    if (ec != std::errc() || end != partition.data() + partition.size() || index < 0) return false;
    key = key.substr(0, p);
    size_t t = key.rfind('/');
    if (t == std::string_view::npos || t + 1 == key.size()) return false;
    group = std::string(key.substr(0, t));
    tp.topic = std::string(key.substr(t + 1));
    tp.partition = index;
    return true;
}

std::string group_key(std::string_view group) { return std::string(group_key_prefix) + std::string(group); }

std::string encode_offset(const StoredOffset& o) {
    kafka::Writer w(40 + o.metadata.size());
    w.write_int8(record_version);
    w.write_int64(o.offset);
    w.write_int32(o.leader_epoch);
    w.write_int64(o.commit_timestamp_ms);
    w.write_int64(o.expire_timestamp_ms);
    write_blob(w, o.metadata);
    return finish(w);
}

std::optional<StoredOffset> decode_offset(std::string_view value) {
    try {
        kafka::Reader r = reader_of(value);
        if (r.read_int8() != record_version) return std::nullopt;
        StoredOffset o;
        o.offset = r.read_int64();
        o.leader_epoch = r.read_int32();
        o.commit_timestamp_ms = r.read_int64();
        o.expire_timestamp_ms = r.read_int64();
        o.metadata = read_blob(r);
        if (!r.at_end()) return std::nullopt;
        return o;
    } catch (const kafka::DecodeError&) {
        return std::nullopt;
    }
}

std::string encode_group(const StoredGroup& g) {
    kafka::Writer w(256);
    w.write_int8(record_version);
    w.write_nullable_string(g.protocol_type);
    w.write_int32(g.generation);
    w.write_nullable_string(g.protocol_name);
    w.write_nullable_string(g.leader);
    w.write_int64(g.state_timestamp_ms);
    w.write_int32(static_cast<int32_t>(g.members.size()));
    for (const auto& m : g.members) {
        w.write_string(m.member_id);
        w.write_nullable_string(m.group_instance_id);
        w.write_string(m.client_id);
        w.write_string(m.client_host);
        w.write_int32(m.session_timeout_ms);
        w.write_int32(m.rebalance_timeout_ms);
        w.write_int32(static_cast<int32_t>(m.protocols.size()));
        for (const auto& [name, metadata] : m.protocols) {
            w.write_string(name);
            write_blob(w, metadata);
        }
        write_blob(w, m.assignment);
    }
    return finish(w);
}

std::optional<StoredGroup> decode_group(std::string_view value) {
    try {
        kafka::Reader r = reader_of(value);
        if (r.read_int8() != record_version) return std::nullopt;
        StoredGroup g;
        g.protocol_type = r.read_nullable_string();
        g.generation = r.read_int32();
        g.protocol_name = r.read_nullable_string();
        g.leader = r.read_nullable_string();
        g.state_timestamp_ms = r.read_int64();
        int32_t members = r.read_array_length(20);
        for (int32_t i = 0; i < members; ++i) {
            StoredMember& m = g.members.emplace_back();
            m.member_id = r.read_string();
            m.group_instance_id = r.read_nullable_string();
            m.client_id = r.read_string();
            m.client_host = r.read_string();
            m.session_timeout_ms = r.read_int32();
            m.rebalance_timeout_ms = r.read_int32();
            int32_t protocols = r.read_array_length(6);
            for (int32_t p = 0; p < protocols; ++p) {
                std::string name = r.read_string();
                m.protocols.emplace_back(std::move(name), read_blob(r));
            }
            m.assignment = read_blob(r);
        }
        if (!r.at_end()) return std::nullopt;
        return g;
    } catch (const kafka::DecodeError&) {
        return std::nullopt;
    }
}

} // namespace gateway
