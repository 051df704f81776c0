// Typed access to ollama-sim's observability endpoints (GET /_sim/stats, GET /_sim/log,
// POST /_sim/reset) for integration tests that use the simulator as an upstream.
//
// Use:
//   auto sim = meter::test::start_sim({"--call-cost-ms", "20"});
//   ... drive the proxy ...
//   auto stats = meter::test::sim_stats(sim.authority());
//   CHECK(stats.embed_peak <= 2);
//   for (const auto& e : meter::test::sim_log(sim.authority())) {
//     if (e.target == "/api/embed") { CHECK(meter::test::parse_json(e.body)["input"].size() == 1);
//     }
//   }
//
// Timestamps (t_start_ns, t_end_ns) are CLOCK_MONOTONIC nanoseconds, the clock behind
// std::chrono::steady_clock, so tests can compare them with their own steady_clock readings.
#pragma once

#include "tests/support/http_client.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace meter::test {

struct sim_counters {
  std::uint64_t embed_calls = 0;      // POST /api/embed requests received
  std::uint64_t embed_in_flight = 0;  // /api/embed requests between header and response end
  std::uint64_t embed_peak = 0;       // max of embed_in_flight since start or reset
  std::uint64_t embed_inputs = 0;     // inputs over all /api/embed calls
  std::uint64_t embed_not_single = 0; // /api/embed calls whose input is not a 1-string array
  std::uint64_t requests = 0;         // every request except /_sim/*
  std::uint64_t connections_open = 0;
  std::uint64_t connections_total = 0;
  std::uint64_t closed_early = 0;     // requests whose client left before the response ended
  std::uint64_t runner_busy_peak = 0; // max runner slots in use at once
  std::uint64_t rejected_busy = 0;    // 503 "server busy" answers
  std::uint64_t faults_injected = 0;  // --error-rate / --drop-rate faults
  std::string raw;                    // the JSON text as received
};

struct sim_log_entry {
  std::uint64_t seq = 0;
  std::string method;
  std::string target;
  std::string version;
  header_list headers;
  std::string body; // first 64 KiB, invalid UTF-8 replaced by U+FFFD
  std::uint64_t body_size = 0;
  std::int64_t t_start_ns = 0;
  std::int64_t t_end_ns = 0; // 0 while the response is still being written
  unsigned status = 0;       // 0 before the status line was sent
  bool closed_early = false;
  bool complete = false;

  std::optional<std::string> header(std::string_view name) const;
};

sim_counters sim_stats(const std::string& sim_authority);
std::vector<sim_log_entry> sim_log(const std::string& sim_authority, std::uint64_t since = 0);
void sim_reset(const std::string& sim_authority);

} // namespace meter::test
