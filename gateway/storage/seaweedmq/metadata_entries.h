// How the filer metadata store (filer_metadata_store.h) writes keys as file names and a batch as one
// entry.  Pure functions, no gRPC.
#pragma once

#include "gateway/storage/metadata_store.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gateway::seaweedmq {

// Key <-> file name: bytes outside [A-Za-z0-9._-] become %XX, so a key prefix stays a name prefix.
std::string encode_key_as_name(std::string_view key);
std::string decode_name_as_key(std::string_view name);
// A batch as one entry's bytes and back (nullopt when the bytes are not a sound batch).
std::string encode_batch(std::span<const MetadataWrite> writes);
std::optional<std::vector<MetadataWrite>> decode_batch(std::string_view bytes);

} // namespace gateway::seaweedmq
