// What tests can observe about the simulator (counters, peaks, a bounded request log served at
// /_sim/stats and /_sim/log) and the seeded dice behind --error-rate / --drop-rate. Thread-safe.
#pragma once

#include "tests/sim/http_rules.hpp"

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace meter::sim {

inline constexpr std::size_t log_capacity = 10'000;
inline constexpr std::size_t log_body_bytes = 64 * 1024;

struct log_entry {
  std::uint64_t seq = 0;
  std::string method;
  std::string target;
  std::string version;
  header_list headers;
  std::string body; // first 64 KiB
  std::uint64_t body_size = 0;
  std::int64_t t_start_ns = 0;
  std::int64_t t_end_ns = 0;
  unsigned status = 0;
  bool closed_early = false;
  bool complete = false;
};

// CLOCK_MONOTONIC nanoseconds (std::chrono::steady_clock on Linux), comparable across processes.
std::int64_t monotonic_ns();

class sim_state {
public:
  // Connections.
  void connection_opened();
  void connection_closed();

  // A request whose header was received; returns its log sequence number.
  std::uint64_t begin_request(std::string method, std::string target, std::string version,
                              header_list headers, bool is_embed);
  void set_body(std::uint64_t seq, std::string_view head_bytes, std::uint64_t size);
  void note_embed_inputs(std::size_t inputs, bool single_string_array);
  void set_status(std::uint64_t seq, unsigned status);
  // The response was fully written (closed_early == false) or the client left first.
  void end_request(std::uint64_t seq, bool is_embed, bool closed_early);
  // The client left after the request was recorded complete (its last write failed).
  void mark_closed_early(std::uint64_t seq);

  void runner_busy(std::size_t busy); // records the peak
  void rejected_busy();
  void fault_injected();

  std::string stats_json() const;
  std::string log_json(std::uint64_t since) const;
  void reset();

private:
  log_entry* find(std::uint64_t seq);

  mutable std::mutex mutex_;
  std::uint64_t next_seq_ = 1;
  std::deque<log_entry> log_;
  std::uint64_t requests_ = 0;
  std::uint64_t embed_calls_ = 0;
  std::uint64_t embed_in_flight_ = 0;
  std::uint64_t embed_peak_ = 0;
  std::uint64_t embed_inputs_ = 0;
  std::uint64_t embed_not_single_ = 0;
  std::uint64_t connections_open_ = 0;
  std::uint64_t connections_total_ = 0;
  std::uint64_t closed_early_ = 0;
  std::uint64_t runner_busy_ = 0;
  std::uint64_t runner_busy_peak_ = 0;
  std::uint64_t rejected_busy_ = 0;
  std::uint64_t faults_injected_ = 0;
};

// Random faults that are reproducible under concurrency: the draw for a request depends on the
// seed, the fault kind, the request body and how many times that same body was seen before.
class fault_dice {
public:
  explicit fault_dice(std::uint64_t seed) : seed_(seed) {}
  bool roll(double probability, std::string_view kind, std::string_view body);

private:
  std::uint64_t seed_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::uint64_t> seen_;
};

} // namespace meter::sim
