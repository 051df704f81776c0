// Pure core of the /api/embed fan-out, part 2: read single-input replies and assemble the batch
// reply. Vectors are spliced as raw bytes; no float is ever parsed and printed again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meter {

// What the proxy keeps of one successful single-input upstream reply. Views point into its body.
struct embed_part {
  std::string_view model;  // raw JSON token of "model" (quotes included), as Ollama echoed it
  std::string_view vector; // raw JSON text of embeddings[0], e.g. [0.1,-0.2]
  std::int64_t load_duration = 0; // ns, 0 when absent
  std::int64_t prompt_eval_count = 0;
};

// Parses a 200 reply of a single-input /api/embed call. Returns nullopt unless the body is one
// valid JSON object (nothing after it) whose "model" is a string, whose "embeddings" is an array
// of exactly one array of numbers, and whose "load_duration" and "prompt_eval_count", if present,
// are integers; none of these keys may repeat. Keys match exactly (Ollama writes them in lower
// case); other members are checked and ignored. Missing counts read as 0. Every byte of the
// vector and of the model token is checked, so both can be spliced into a reply as they are.
// Precondition: the body string has simdjson padding (reserve_padding); without it the result is
// nullopt.
std::optional<embed_part> parse_embed_part(const std::string& body);

// One input's outcome, in input order.
struct embed_result {
  embed_part part;
  std::int64_t duration_ns = 0; // from writing the sub-request to reading its whole reply
};

// Builds the merged reply body in Ollama's key order:
//   {"model":..,"embeddings":[..],"total_duration":..,"load_duration":..,"prompt_eval_count":..,
//    "embedding_durations":[..],"embedding_prompt_eval_counts":[..]}
// total_duration, load_duration (largest of the parts) and prompt_eval_count (sum) are omitted
// when zero, as Go's omitempty does. `model_token` is the raw JSON string token to echo.
std::string merge_embed_reply(std::string_view model_token,
                              const std::vector<embed_result>& results,
                              std::int64_t total_duration_ns);

} // namespace meter
