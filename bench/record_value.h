// The value bytes every load program of ours sends (rdkafka_load, engine_append): random lower-case letters
// from a fixed seed, like Kafka's ProducerPerformance (random upper-case letters).  The same bytes matter:
// SeaweedFS gzips what it flushes to its volume servers when that pays, so a constant value ('vvvv...')
// costs the weed server far less per record than these letters do, and an engine figure taken with it
// would not compare with the gateway's.
#pragma once

#include <random>
#include <string>

namespace bench {

inline std::string record_value(size_t size) {
    std::string value(size, '\0');
    std::mt19937 rng(7);
    for (auto& c : value) c = static_cast<char>('a' + rng() % 26);
    return value;
}

} // namespace bench
