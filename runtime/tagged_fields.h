// Unknown tagged fields: what a decoder read under a tag it does not know at that version.  They are
// kept, compared and written back in tag order, interleaved with the known ones.
#pragma once

#include "runtime/bytes.h"

#include <cstdint>
#include <vector>

namespace kafka {

class Reader;
class Writer;

struct TaggedField {
    uint32_t tag = 0;
    Bytes data;
    friend bool operator==(const TaggedField&, const TaggedField&) = default;
};
using TaggedFields = std::vector<TaggedField>;

// Keeps `fields` sorted by tag (stable for equal tags) whatever order the peer sent them in.
void add_unknown_tagged_field(TaggedFields& fields, uint32_t tag, Bytes data);

// Writes the unknown fields from `next` on whose tag is below `below`, advancing `next`.  A field whose
// tag equals `below` collides with the known field about to be written: an EncodeError.
void write_unknown_tagged_fields(Writer& w, const TaggedFields& fields, size_t& next, uint64_t below);

// The bytes of the unknown fields alone (tag, length and data of each), without the count.
size_t unknown_tagged_fields_size(const TaggedFields& fields);

// A whole tagged section (count, then every field) of a struct with no known tagged fields.  Nearly
// always empty: one zero byte.
void write_tagged_fields_slow(Writer& w, const TaggedFields& fields);
size_t tagged_fields_size_slow(const TaggedFields& fields);
// write_tagged_fields(Writer&, const TaggedFields&) is inline in writer.h.
inline size_t tagged_fields_size(const TaggedFields& fields) {
    return fields.empty() ? 1 : tagged_fields_size_slow(fields);
}

// After decoding a known tagged field from its own sub-reader: nothing may be left.
void expect_tagged_field_end(const Reader& r);

} // namespace kafka
