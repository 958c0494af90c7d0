#include "gateway/storage/topic_metadata.h"

#include <charconv>
#include <stdexcept>

namespace gateway {
namespace {

constexpr std::string_view other_prefix = "config.";

std::string percent_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u <= ' ' || u >= 0x7f || c == '%' || c == '=') {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    return out;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        unsigned value = 0;
        if (i + 2 >= s.size()) throw std::runtime_error("bad %-escape");
        auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
        if (ec != std::errc() || end != s.data() + i + 3) throw std::runtime_error("bad %-escape");
        out += static_cast<char>(value);
        i += 2;
    }
    return out;
}

template <class Int>
Int parse_int(std::string_view value) {
    Int v{};
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size()) throw std::runtime_error("not an integer");
    return v;
}

kafka::Uuid parse_uuid(std::string_view hex) {
    kafka::Uuid id;
    if (hex.size() != 32) throw std::runtime_error("not 32 hex digits");
    for (size_t i = 0; i < 16; ++i) {
        unsigned b = 0;
        auto [end, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, b, 16);
        if (ec != std::errc() || end != hex.data() + 2 * i + 2) throw std::runtime_error("not 32 hex digits");
        id.bytes[i] = static_cast<uint8_t>(b);
    }
    return id;
}

} // namespace

std::string encode_topic_metadata(const TopicInfo& t) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string id;
    for (uint8_t b : t.id.bytes) {
        id += hex[b >> 4];
        id += hex[b & 15];
    }
    const TopicConfig& c = t.config;
    std::string out = "# kafka-gateway topic\n";
    out += "id=" + id + "\n";
    out += "partitions=" + std::to_string(t.partitions) + "\n";
    out += "retention.ms=" + std::to_string(c.retention_ms) + "\n";
    out += "retention.bytes=" + std::to_string(c.retention_bytes) + "\n";
    out += "segment.bytes=" + std::to_string(c.segment_bytes) + "\n";
    out += "segment.ms=" + std::to_string(c.segment_ms) + "\n";
    out += std::string("message.timestamp.type=") + (c.log_append_time ? "LogAppendTime" : "CreateTime") + "\n";
    out += "cleanup.policy=" + percent_encode(c.cleanup_policy) + "\n";
    out += "max.message.bytes=" + std::to_string(c.max_message_bytes) + "\n";
    for (const auto& [key, value] : c.other)
        out += std::string(other_prefix) + percent_encode(key) + "=" + percent_encode(value) + "\n";
    return out;
}

TopicInfo decode_topic_metadata(std::string_view text, const std::string& name) {
    TopicInfo t;
    t.name = name;
    bool have_id = false, have_partitions = false;
    size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        if (line.empty() || line[0] == '#') continue;
        const size_t eq = line.find('=');
        const std::string_view key = line.substr(0, eq);
        const std::string_view value = eq == std::string_view::npos ? std::string_view() : line.substr(eq + 1);
        try {
            if (eq == std::string_view::npos) throw std::runtime_error("no '='");
            TopicConfig& c = t.config;
            if (key == "id") {
                t.id = parse_uuid(value);
                have_id = true;
            } else if (key == "partitions") {
                t.partitions = parse_int<int32_t>(value);
                if (t.partitions <= 0) throw std::runtime_error("not positive");
                have_partitions = true;
            } else if (key == "retention.ms") {
                c.retention_ms = parse_int<int64_t>(value);
            } else if (key == "retention.bytes") {
                c.retention_bytes = parse_int<int64_t>(value);
            } else if (key == "segment.bytes") {
                c.segment_bytes = parse_int<int64_t>(value);
            } else if (key == "segment.ms") {
                c.segment_ms = parse_int<int64_t>(value);
            } else if (key == "message.timestamp.type") {
                if (value != "LogAppendTime" && value != "CreateTime") throw std::runtime_error("unknown type");
                c.log_append_time = value == "LogAppendTime";
            } else if (key == "cleanup.policy") {
                c.cleanup_policy = percent_decode(value);
            } else if (key == "max.message.bytes") {
                c.max_message_bytes = parse_int<int32_t>(value);
            } else if (key.starts_with(other_prefix)) {
                c.other[percent_decode(key.substr(other_prefix.size()))] = percent_decode(value);
            } else {
                throw std::runtime_error("unknown key");
            }
        } catch (const std::runtime_error& e) {
            throw std::runtime_error("topic metadata of '" + name + "', line " + std::to_string(line_number) + " (" +
                                     std::string(line) + "): " + e.what());
        }
    }
    if (!have_id || !have_partitions)
        throw std::runtime_error("topic metadata of '" + name + "' lacks " + (have_id ? "partitions" : "id"));
    return t;
}

} // namespace gateway
