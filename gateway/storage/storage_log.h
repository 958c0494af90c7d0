// Operator-facing lines of the storage engines (recovery truncations, retention deletions, I/O
// failures).  stderr with a "[storage] " prefix until the gateway has a logging module; one place to
// change then.
#pragma once

#include <cstdio>
#include <string>

namespace gateway {

inline void log_storage(const std::string& line) { std::fprintf(stderr, "[storage] %s\n", line.c_str()); }

} // namespace gateway
