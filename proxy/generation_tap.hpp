// Reads Ollama's generation statistics from a /api/generate or /api/chat response body while it
// is relayed. The relay hands every piece to feed() after (never before) forwarding it; only the
// unfinished tail line is kept aside, bounded, so a stream is neither delayed nor copied whole.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meter {

// The figures of the final object ("done":true) of a generation.
struct generation_stats {
  std::string model;
  std::int64_t total_duration = 0; // ns, as Ollama reports them
  std::int64_t load_duration = 0;
  std::int64_t prompt_eval_count = 0;
  std::int64_t prompt_eval_duration = 0;
  std::int64_t eval_count = 0;
  std::int64_t eval_duration = 0;
};

class generation_tap {
public:
  // Lines longer than `max_line` are skipped (a final chunk is a few hundred bytes; a non-streamed
  // reply carries the whole text, so the default is generous).
  explicit generation_tap(std::size_t max_line = 1 << 20) : max_line_(max_line) {}

  void feed(std::string_view piece);
  // Marks the end of the body: a last line without a newline (a non-streamed reply) is read now.
  void finish();
  const std::optional<generation_stats>& stats() const { return stats_; }

private:
  void take_line(std::string_view line);

  std::size_t max_line_;
  std::string partial_;
  bool overflow_ = false;
  std::optional<generation_stats> stats_;
};

// Parses one JSON line; returns its statistics when it is an object with "done":true.
std::optional<generation_stats> parse_final_chunk(std::string_view line);

} // namespace meter
