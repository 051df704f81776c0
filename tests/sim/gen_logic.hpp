// /api/generate, /api/chat and /api/pull without I/O: request -> plan -> the NDJSON lines (or the
// single JSON object) Ollama would write. The I/O shell paces the lines.
#pragma once

#include "tests/sim/config.hpp"
#include "tests/sim/controls.hpp"
#include "tests/sim/models.hpp"
#include "tests/sim/reply.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace meter::sim {

struct generation_plan {
  bool chat = false;
  std::string model_raw;
  controls ctl; // from the prompt (generate) or the last message's content (chat)
  bool stream = true;
  bool load_only = false; // empty prompt / no messages: Ollama just loads the model
  std::string model_key;
  std::vector<std::string> tokens; // the answer, one entry per streamed line
  std::size_t prompt_tokens = 0;
};

struct generation_metrics {
  std::int64_t total_ns = 0;
  std::int64_t load_ns = 0;
  std::int64_t prompt_eval_ns = 0;
  std::int64_t eval_ns = 0;
};

std::variant<generation_plan, reply> plan_generation(bool chat, std::string_view body,
                                                     const model_catalog& catalog,
                                                     const sim_config& cfg);

// One streamed line ("...}\n") carrying token `index`.
std::string generation_line(const generation_plan& plan, std::size_t index,
                            std::string_view created_at);
// The last streamed line (done:true, done_reason "stop", timings) with its "\n".
std::string generation_final_line(const generation_plan& plan, std::string_view created_at,
                                  const generation_metrics& m);
// stream:false: the whole answer in one object (no newline).
std::string generation_single(const generation_plan& plan, std::string_view created_at,
                              const generation_metrics& m);
// The reply to an empty prompt: done:true with done_reason "load".
std::string generation_load_reply(const generation_plan& plan, std::string_view created_at);
// {"error":"msg"}\n
std::string error_line(std::string_view message);

struct pull_plan {
  std::string model; // without control prefixes
  std::string model_key;
  controls ctl;
  bool stream = true;
  std::vector<std::string> lines; // complete NDJSON lines ("...\n"), success path
};

std::variant<pull_plan, reply> plan_pull(std::string_view body);

} // namespace meter::sim
