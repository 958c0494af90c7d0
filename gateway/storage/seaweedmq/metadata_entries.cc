#include "gateway/storage/seaweedmq/metadata_entries.h"

#include "runtime/reader.h"
#include "runtime/writer.h"

namespace gateway::seaweedmq {
namespace {

bool plain_name_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

} // namespace

std::string encode_key_as_name(std::string_view key) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(key.size());
    for (unsigned char c : key) {
        if (plain_name_char(c)) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

std::string decode_name_as_key(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    for (size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '%' && i + 2 < name.size()) {
            const int hi = hex_value(name[i + 1]), lo = hex_value(name[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(name[i]);
    }
    return out;
}

std::string encode_batch(std::span<const MetadataWrite> writes) {
    kafka::Writer w;
    w.write_uvarint(static_cast<uint32_t>(writes.size()));
    for (const MetadataWrite& m : writes) {
        w.write_compact_string(m.key);
        w.write_compact_nullable_bytes(m.value ? std::optional(kafka::Bytes::copy_of(*m.value)) : std::nullopt);
    }
    const std::vector<uint8_t> flat = w.flatten();
    return std::string(reinterpret_cast<const char*>(flat.data()), flat.size());
}

std::optional<std::vector<MetadataWrite>> decode_batch(std::string_view bytes) {
    try {
        kafka::Reader r(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        const uint32_t n = r.read_uvarint();
        if (n > r.remaining()) return std::nullopt;
        std::vector<MetadataWrite> out;
        out.reserve(n);
        for (uint32_t i = 0; i < n; ++i) {
            MetadataWrite m;
            m.key = r.read_compact_string();
            if (std::optional<kafka::Bytes> v = r.read_compact_nullable_bytes())
                m.value = std::string(reinterpret_cast<const char*>(v->data()), v->size());
            out.push_back(std::move(m));
        }
        if (!r.at_end()) return std::nullopt;
        return out;
    } catch (const kafka::DecodeError&) {
        return std::nullopt;
    }
}

} // namespace gateway::seaweedmq
