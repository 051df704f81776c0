// Support for the tests that run a real Prometheus against ollama-meter: the queries of the
// shipped Grafana dashboard, a Prometheus server on a loopback port with a generated config,
// promtool runs, and polling with deadlines.
#pragma once

#include "tests/support/process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meter::test {

inline constexpr const char* prometheus_binary = "/usr/bin/prometheus";
inline constexpr const char* promtool_binary = "/usr/bin/promtool";

// The shipped files, under METER_SOURCE_DIR.
std::filesystem::path dashboard_path();
std::filesystem::path prometheus_config_path();
nlohmann::json load_json_file(const std::filesystem::path& path);

// One PromQL query of the dashboard: a panel target, or a template variable's label_values().
struct dashboard_query {
  std::string where; // "panel 'Title' target A" or "variable model"
  std::string expr;  // as written in the JSON (Grafana variables not yet substituted)
};

// Every panel target (rows' nested panels included) and every query variable of `dashboard`.
// A variable's `label_values(SELECTOR, LABEL)` becomes `count by (LABEL) (SELECTOR)`, which
// returns data exactly when the variable would have values.
std::vector<dashboard_query> dashboard_queries(const nlohmann::json& dashboard);

// Replaces Grafana's variables with values a plain Prometheus query accepts: $model and
// $instance (also ${...} forms) by `.*`, $__rate_interval and $__interval by `rate_window`,
// $__range by `range`.
std::string substitute_grafana_variables(std::string expr, std::string_view rate_window,
                                         std::string_view range);

// Percent-encodes a query parameter value.
std::string url_encode(std::string_view text);

// Calls `ready` every `interval` until it returns true or `deadline` passes; returns the last
// result. Used for every wait on another process (no fixed sleeps).
bool poll_until(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& ready,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));

// A directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, std::string_view text);

struct command_result {
  std::optional<int> status; // empty: still running at the deadline (it was then killed)
  std::string out;
  std::string err;
};

// Runs `promtool` with `args`, stdin from `stdin_file` when given.
command_result run_promtool(const std::vector<std::string>& args,
                            const std::optional<std::filesystem::path>& stdin_file = std::nullopt,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A loopback TCP port that was free a moment ago (bound to port 0, then released).
std::uint16_t pick_free_port();

// The text of a Prometheus config scraping `target` (host:port) as job `job`.
std::string prometheus_scrape_config(std::string_view job, std::string_view target,
                                     std::string_view scrape_interval);

// A Prometheus server on 127.0.0.1, scraping one target. The constructor returns once
// /-/ready answers 200 and the server proves to be ours (its config names `job`); a port taken
// in between is retried with another. Throws std::runtime_error with Prometheus's log otherwise.
class prometheus_server {
public:
  prometheus_server(std::string job, const std::string& target, std::string scrape_interval,
                    std::chrono::steady_clock::time_point deadline);
  ~prometheus_server();
  prometheus_server(const prometheus_server&) = delete;
  prometheus_server& operator=(const prometheus_server&) = delete;

  std::string authority() const;
  const std::filesystem::path& config_path() const { return config_path_; }
  std::string log() const;

  // GET /api/v1/query; the parsed JSON answer (also for status "error").
  nlohmann::json query(const std::string& expr) const;
  // The result vector of an instant query, or empty when it failed or had no data.
  nlohmann::json query_result(const std::string& expr) const;

private:
  bool serves_job() const;

  temp_dir dir_;
  std::filesystem::path config_path_;
  std::string job_;
  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> process_;
};

// True when an instant-query result vector has a sample whose value is a number (not NaN).
bool has_numeric_sample(const nlohmann::json& result);

} // namespace meter::test
