// Operator-facing log lines on stderr: "2026-11-25T10:00:00.123Z INFO  [server] message".
#pragma once

#include <string>
#include <string_view>

namespace kafka {

enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
// Parses debug|info|warn|error; false when the name is none of them.
bool parse_log_level(std::string_view name, LogLevel& out);
void log(LogLevel level, std::string_view component, std::string_view message);

inline void log_debug(std::string_view c, std::string_view m) { if (log_enabled(LogLevel::debug)) log(LogLevel::debug, c, m); }
inline void log_info(std::string_view c, std::string_view m) { log(LogLevel::info, c, m); }
inline void log_warn(std::string_view c, std::string_view m) { log(LogLevel::warn, c, m); }
inline void log_error(std::string_view c, std::string_view m) { log(LogLevel::error, c, m); }

} // namespace kafka
