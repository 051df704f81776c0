// Deterministic generation and pull progress in Ollama's JSON shapes.
#include "tests/sim/gen_logic.hpp"

#include "tests/sim/embedding.hpp"
#include "tests/sim/go_format.hpp"
#include "tests/sim/requests.hpp"

namespace meter::sim {
namespace {

constexpr std::string_view vocabulary[] = {
    "The",   "a",      "model",  "runs",   "locally", "and",    "answers", "every",
    "query", "with",   "simple", "words",  "that",    "look",   "like",    "text",
    "from",  "some",   "small",  "llama",  "in",      "the",    "quiet",   "hours",
    "of",    "night",  "while",  "tokens", "stream",  "out",    "one",     "by",
    "one",   "slowly", "but",    "surely", "until",   "done",   "is",      "true",
    "here",  "we",     "go",     "again",  "fast",    "bright", "green",   "field"};

std::uint64_t fnv1a(std::uint64_t h, std::string_view bytes) {
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

void append_metrics(std::string& out, const generation_plan& plan, const generation_metrics& m) {
  auto field = [&](const char* name, std::int64_t value) {
    if (value != 0) {
      out.append(",\"").append(name).append("\":").append(std::to_string(value));
    }
  };
  field("total_duration", m.total_ns);
  field("load_duration", m.load_ns);
  field("prompt_eval_count", static_cast<std::int64_t>(plan.prompt_tokens));
  field("prompt_eval_duration", m.prompt_eval_ns);
  field("eval_count", static_cast<std::int64_t>(plan.tokens.size()));
  field("eval_duration", m.eval_ns);
}

void append_head(std::string& out, const generation_plan& plan, std::string_view created_at) {
  out.append("{\"model\":");
  append_go_string(out, plan.model_raw);
  out.append(",\"created_at\":\"").append(created_at).append("\"");
}

void append_message(std::string& out, std::string_view content) {
  out.append(",\"message\":{\"role\":\"assistant\",\"content\":");
  append_go_string(out, content);
  out.push_back('}');
}

void append_context(std::string& out, const generation_plan& plan) {
  out.append(",\"context\":[");
  std::size_t count = plan.prompt_tokens + plan.tokens.size();
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    out.append(std::to_string(128000 + (i * 7919) % 100000));
  }
  out.push_back(']');
}

std::string joined(const generation_plan& plan) {
  std::string text;
  for (const auto& t : plan.tokens) {
    text += t;
  }
  return text;
}

} // namespace

std::variant<generation_plan, reply> plan_generation(bool chat, std::string_view body,
                                                     const model_catalog& catalog,
                                                     const sim_config& cfg) {
  auto decoded = decode_generate(body, chat);
  if (auto* error = std::get_if<request_error>(&decoded)) {
    return json_error(error->status, error->message);
  }
  auto& req = std::get<generate_request>(decoded);
  generation_plan plan;
  plan.chat = chat;
  plan.model_raw = req.model;
  plan.stream = req.stream.value_or(true);
  parsed_model name = parse_model_name(req.model);
  if (!std::holds_alternative<model_name>(name)) {
    if (chat) {
      return json_error(400, "model is required");
    }
    return json_error(404, "model '" + req.model + "' not found");
  }
  plan.model_key = std::get<model_name>(name).canonical;
  auto info = catalog.find(plan.model_key);
  if (!info) {
    return json_error(404,
                      "model " + go_strconv_quote(req.model) + " not found, try pulling it first");
  }
  if (info->embedding_only) {
    return json_error(400, go_strconv_quote(req.model) + " does not support " +
                               (chat ? "chat" : "generate"));
  }
  auto predict = int_option(req.options, "num_predict");
  if (auto* error = std::get_if<request_error>(&predict)) {
    return json_error(error->status, error->message);
  }
  std::string prompt = req.prompt;
  if (chat) {
    prompt.clear();
    for (const auto& m : req.messages) {
      prompt += m.role + ":" + m.content + "\n";
    }
    plan.load_only = req.messages.empty();
    if (!req.messages.empty()) {
      plan.ctl = parse_controls(req.messages.back().content);
    }
  } else {
    plan.load_only = req.prompt.empty();
    plan.ctl = parse_controls(req.prompt);
  }
  plan.prompt_tokens = count_tokens(prompt);
  auto limit = std::get<std::optional<std::int64_t>>(predict);
  std::size_t count = cfg.gen_tokens;
  if (limit && *limit >= 0) {
    count = static_cast<std::size_t>(std::min<std::int64_t>(*limit, 100000));
  }
  std::uint64_t seed = fnv1a(fnv1a(0xcbf29ce484222325ull, plan.model_key), prompt);
  constexpr std::size_t words = sizeof vocabulary / sizeof vocabulary[0];
  for (std::size_t i = 0; i < count; ++i) {
    seed = fnv1a(seed, "\x01");
    std::string token = i == 0 ? "" : " ";
    token.append(vocabulary[(seed >> 17) % words]);
    plan.tokens.push_back(std::move(token));
  }
  return plan;
}

std::string generation_line(const generation_plan& plan, std::size_t index,
                            std::string_view created_at) {
  std::string out;
  append_head(out, plan, created_at);
  if (plan.chat) {
    append_message(out, plan.tokens[index]);
  } else {
    out.append(",\"response\":");
    append_go_string(out, plan.tokens[index]);
  }
  out.append(",\"done\":false}\n");
  return out;
}

std::string generation_final_line(const generation_plan& plan, std::string_view created_at,
                                  const generation_metrics& m) {
  std::string out;
  append_head(out, plan, created_at);
  if (plan.chat) {
    append_message(out, "");
    out.append(",\"done_reason\":\"stop\",\"done\":true");
  } else {
    out.append(",\"response\":\"\",\"done\":true,\"done_reason\":\"stop\"");
    append_context(out, plan);
  }
  append_metrics(out, plan, m);
  out.append("}\n");
  return out;
}

std::string generation_single(const generation_plan& plan, std::string_view created_at,
                              const generation_metrics& m) {
  std::string out;
  append_head(out, plan, created_at);
  if (plan.chat) {
    append_message(out, joined(plan));
    out.append(",\"done_reason\":\"stop\",\"done\":true");
  } else {
    out.append(",\"response\":");
    append_go_string(out, joined(plan));
    out.append(",\"done\":true,\"done_reason\":\"stop\"");
    append_context(out, plan);
  }
  append_metrics(out, plan, m);
  out.push_back('}');
  return out;
}

std::string generation_load_reply(const generation_plan& plan, std::string_view created_at) {
  std::string out;
  append_head(out, plan, created_at);
  if (plan.chat) {
    append_message(out, "");
    out.append(",\"done_reason\":\"load\",\"done\":true}");
  } else {
    out.append(",\"response\":\"\",\"done\":true,\"done_reason\":\"load\"}");
  }
  return out;
}

std::string error_line(std::string_view message) {
  std::string out = "{\"error\":";
  append_go_string(out, message);
  out.append("}\n");
  return out;
}

std::variant<pull_plan, reply> plan_pull(std::string_view body) {
  auto decoded = decode_pull(body);
  if (auto* error = std::get_if<request_error>(&decoded)) {
    return json_error(error->status, error->message);
  }
  auto& req = std::get<pull_request>(decoded);
  pull_plan plan;
  plan.ctl = parse_controls(req.model);
  plan.model = req.model.substr(plan.ctl.status ? req.model.size() : plan.ctl.prefix_length);
  plan.stream = req.stream.value_or(true);
  if (plan.ctl.status) {
    return plan; // the I/O shell answers the @status error after the delays
  }
  parsed_model name = parse_model_name(plan.model);
  if (!std::holds_alternative<model_name>(name)) {
    return json_error(400, "invalid model name");
  }
  plan.model_key = std::get<model_name>(name).canonical;
  model_info info = describe_model(plan.model_key);
  std::string digest = "sha256:" + info.digest;
  std::string short_digest = info.digest.substr(0, 12);
  std::uint64_t total = info.size;
  plan.lines.push_back("{\"status\":\"pulling manifest\"}\n");
  for (std::uint64_t completed : {std::uint64_t{0}, total / 2, total}) {
    std::string line = "{\"status\":\"pulling " + short_digest + "\",\"digest\":\"" + digest +
                       "\",\"total\":" + std::to_string(total);
    if (completed != 0) {
      line += ",\"completed\":" + std::to_string(completed);
    }
    line += "}\n";
    plan.lines.push_back(std::move(line));
  }
  plan.lines.push_back("{\"status\":\"verifying sha256 digest\"}\n");
  plan.lines.push_back("{\"status\":\"writing manifest\"}\n");
  plan.lines.push_back("{\"status\":\"success\"}\n");
  return plan;
}

} // namespace meter::sim
