// Logging through spdlog; see log.hpp.
#include "proxy/log.hpp"

#include <atomic>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace meter::log {

namespace {

std::atomic<bool> access_on{true};

spdlog::logger& logger() {
  // stderr only: stdout carries nothing but the "listening on" line that tools wait for.
  static auto instance = [] {
    auto l = spdlog::stderr_logger_mt("ollama-meter");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
    l->flush_on(spdlog::level::info);
    return l;
  }();
  return *instance;
}

} // namespace

void init(bool access) {
  access_on.store(access, std::memory_order_relaxed);
  logger();
}

void info(std::string_view message) {
  logger().info(message);
}
void warn(std::string_view message) {
  logger().warn(message);
}
void error(std::string_view message) {
  logger().error(message);
}

void access(std::string_view line) {
  if (access_on.load(std::memory_order_relaxed)) {
    logger().info(line);
  }
}

bool access_enabled() {
  return access_on.load(std::memory_order_relaxed);
}

} // namespace meter::log
