#include "runtime/tagged_fields.h"

#include "runtime/reader.h"
#include "runtime/writer.h"

#include <algorithm>
#include <string>

namespace kafka {

void add_unknown_tagged_field(TaggedFields& fields, uint32_t tag, Bytes data) {
    if (fields.empty() || fields.back().tag <= tag) {
        fields.push_back({tag, std::move(data)});
        return;
    }
    auto at = std::upper_bound(fields.begin(), fields.end(), tag,
                               [](uint32_t t, const TaggedField& f) { return t < f.tag; });
    fields.insert(at, {tag, std::move(data)});
}

void write_unknown_tagged_fields(Writer& w, const TaggedFields& fields, size_t& next, uint64_t below) {
    for (; next < fields.size() && fields[next].tag < below; ++next) {
        w.write_uvarint(fields[next].tag);
        w.write_uvarint(static_cast<uint32_t>(fields[next].data.size()));
        w.write_payload(fields[next].data);
    }
    if (next < fields.size() && fields[next].tag == below)
        throw EncodeError("unknown tagged field " + std::to_string(below) + " collides with a known tag");
}

size_t unknown_tagged_fields_size(const TaggedFields& fields) {
    size_t n = 0;
    for (const TaggedField& f : fields)
        n += uvarint_size(f.tag) + uvarint_size(static_cast<uint32_t>(f.data.size())) + f.data.size();
    return n;
}

void write_tagged_fields_slow(Writer& w, const TaggedFields& fields) {
    w.write_uvarint(static_cast<uint32_t>(fields.size()));
    size_t next = 0;
    write_unknown_tagged_fields(w, fields, next, UINT64_MAX);
}

size_t tagged_fields_size_slow(const TaggedFields& fields) {
    return uvarint_size(static_cast<uint32_t>(fields.size())) + unknown_tagged_fields_size(fields);
}

void expect_tagged_field_end(const Reader& r) {
    if (!r.at_end())
        r.fail(DecodeErrc::invalid_value,
               "tagged field has " + std::to_string(r.remaining()) + " bytes beyond its value");
}

} // namespace kafka
