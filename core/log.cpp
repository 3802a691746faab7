#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

namespace recur {

namespace {

LogLevel level_from_env() {
  const char* v = std::getenv("RECUR_LOG");
  if (!v) return LogLevel::warn;
  if (!std::strcmp(v, "debug")) return LogLevel::debug;
  if (!std::strcmp(v, "info")) return LogLevel::info;
  if (!std::strcmp(v, "error")) return LogLevel::error;
  if (!std::strcmp(v, "off")) return LogLevel::off;
  return LogLevel::warn;
}

std::atomic<int>& level_store() {
  static std::atomic<int> level{static_cast<int>(level_from_env())};
  return level;
}

}  // namespace

LogLevel log_level() {
  return static_cast<LogLevel>(level_store().load());
}
void set_log_level(LogLevel level) {
  level_store().store(static_cast<int>(level));
}

void log_message(LogLevel level, const std::string& message) {
  static std::mutex mutex;
  static const char* names[] = {"debug", "info", "warn", "error", "off"};
  std::lock_guard<std::mutex> lock(mutex);
  std::fprintf(stderr, "[recur %s] %s\n", names[static_cast<int>(level)], message.c_str());
}

void log_info_once(const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string> seen;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!seen.insert(message).second) return;
  }
  log_info("{}", message);
}

}  // namespace recur
