// Logging to stderr with a level, set by set_log_level or the RECUR_LOG environment variable
// (debug, info, warn, error, off). Engine fallbacks and checkpoint writes log at info.
#pragma once

#include <fmt/format.h>

#include <string>

namespace recur {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

LogLevel log_level();
void set_log_level(LogLevel level);
void log_message(LogLevel level, const std::string& message);

template <class... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::debug)
    log_message(LogLevel::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::info)
    log_message(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
}
// Logs `message` at info the first time this process sees it: a fallback taken at every step is
// reported once, not repeated.
void log_info_once(const std::string& message);

template <class... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::warn)
    log_message(LogLevel::warn, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace recur
