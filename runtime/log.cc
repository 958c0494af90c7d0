#include "runtime/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace kafka {
namespace {
std::atomic<int> current_level{static_cast<int>(LogLevel::info)};
}

void set_log_level(LogLevel level) { current_level.store(static_cast<int>(level)); }
bool log_enabled(LogLevel level) { return static_cast<int>(level) >= current_level.load(std::memory_order_relaxed); }

bool parse_log_level(std::string_view name, LogLevel& out) {
    if (name == "debug") out = LogLevel::debug;
    else if (name == "info") out = LogLevel::info;
    else if (name == "warn" || name == "warning") out = LogLevel::warn;
    else if (name == "error") out = LogLevel::error;
    else return false;
    return true;
}

void log(LogLevel level, std::string_view component, std::string_view message) {
    if (!log_enabled(level)) return;
    static constexpr const char* names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    // One fprintf per line so that lines from different threads do not interleave.
    std::fprintf(stderr, "%s.%03dZ %s [%.*s] %.*s\n", stamp, static_cast<int>(millis), names[static_cast<int>(level)],
                 static_cast<int>(component.size()), component.data(), static_cast<int>(message.size()), message.data());
}

} // namespace kafka
