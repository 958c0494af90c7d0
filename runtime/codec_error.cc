#include "runtime/codec_error.h"

#include <string>

namespace kafka {

void throw_unsupported_field(const char* field, int16_t version) {
    throw EncodeError(std::string(field) + ": a non-default value cannot be written at version " +
                      std::to_string(version));
}

void throw_null_field(const char* field, int16_t version) {
    throw EncodeError(std::string(field) + ": null is not allowed at version " + std::to_string(version));
}

void throw_tags_at_non_flexible_version(int16_t version) {
    throw EncodeError("tagged fields cannot be written at non-flexible version " + std::to_string(version));
}

} // namespace kafka
