// The three embedding endpoints without I/O: request -> plan (per-input controls, tokens,
// deterministic errors) -> response body. The I/O shell runs the plan's waits and runner slots.
#pragma once

#include "tests/sim/config.hpp"
#include "tests/sim/controls.hpp"
#include "tests/sim/embedding.hpp"
#include "tests/sim/models.hpp"
#include "tests/sim/reply.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace meter::sim {

enum class embed_api { native, legacy, openai }; // /api/embed, /api/embeddings, /v1/embeddings

struct input_error {
  unsigned status = 400;
  std::string message;
};

struct input_plan {
  std::string text; // the whole input string
  controls ctl;
  std::size_t tokens = 0;           // after truncation
  std::size_t used_bytes = 0;       // prefix of `text` that is embedded (truncation)
  std::optional<input_error> error; // fails after its @sleep (a @status or a context error)
};

struct embed_plan {
  embed_api api = embed_api::native;
  std::string model_raw; // echoed exactly
  std::string model_key; // canonical, seeds the vectors
  std::int64_t dimensions = 0;
  bool base64 = false;              // /v1/embeddings encoding_format
  bool single_string_array = false; // `input` was a one-element array of strings (observability)
  std::vector<input_plan> inputs;   // empty: zero inputs (model still loads)
  // Request-level controls gathered from the inputs.
  std::uint32_t hdrdelay_ms = 0;
  std::uint32_t interim = 0;
  bool drop = false;
  std::optional<std::uint32_t> chunks;
};

// Decodes and validates in Ollama's order (§ bind, model name, input type, model existence,
// options); deterministic failures come back as the reply to send.
std::variant<embed_plan, reply> plan_embed(embed_api api, std::string_view body,
                                           const model_catalog& catalog, const sim_config& cfg);

// The error reply for a failed input, in the endpoint's error shape.
reply embed_input_failure(const embed_plan& plan, const input_error& error);
// The error reply for a failure before any input ran (503 busy, injected faults, ...).
reply embed_request_failure(embed_api api, unsigned status, std::string_view message);

struct embed_timing {
  std::int64_t total_ns = 0;
  std::int64_t load_ns = 0;
};

// The 200 body: vectors from `cache` (computed on a miss), Go's key order and omitempty rules.
reply embed_success(const embed_plan& plan, const sim_config& cfg, vector_text_cache& cache,
                    embed_timing timing);

} // namespace meter::sim
