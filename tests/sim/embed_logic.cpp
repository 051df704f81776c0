// Embedding endpoints: Ollama's validation order and response shapes.
#include "tests/sim/embed_logic.hpp"

#include "tests/sim/go_format.hpp"
#include "tests/sim/requests.hpp"

#include <algorithm>

namespace meter::sim {
namespace {

reply not_installed(embed_api api, std::string_view raw) {
  std::string message = "model " + go_strconv_quote(raw) + " not found, try pulling it first";
  return embed_request_failure(api, 404, message);
}

// OpenAI middleware errors (before the native handler): gin's AbortWithStatusJSON.
reply openai_middleware_error(std::string_view message) {
  reply r = openai_error(400, message);
  r.headers = {{"Content-Type", std::string(json_utf8)}};
  r.body.pop_back(); // json.Marshal: no trailing newline
  return r;
}

// Fills plan.inputs from the strings, applying controls and the context limit.
void plan_inputs(embed_plan& plan, std::vector<std::string> texts, std::int64_t context,
                 bool truncate, unsigned context_error_status) {
  for (auto& text : texts) {
    input_plan in;
    in.text = std::move(text);
    in.ctl = parse_controls(in.text);
    token_outcome fit = fit_context(in.text, context, truncate);
    in.tokens = fit.tokens;
    in.used_bytes = fit.text.size();
    if (in.ctl.status) {
      in.error = input_error{*in.ctl.status, in.ctl.status_message};
    } else if (fit.error != nullptr) {
      in.error = input_error{context_error_status, fit.error};
    }
    plan.hdrdelay_ms = std::max(plan.hdrdelay_ms, in.ctl.hdrdelay_ms.value_or(0));
    plan.interim = std::max(plan.interim, in.ctl.interim.value_or(0));
    plan.drop |= in.ctl.drop;
    if (!plan.chunks && in.ctl.chunks) {
      plan.chunks = in.ctl.chunks;
    }
    plan.inputs.push_back(std::move(in));
  }
}

// `input` as Ollama reads it: string (empty = none), array of strings, or invalid.
std::optional<std::vector<std::string>> input_strings(const std::optional<json_value>& input,
                                                      bool& single_array) {
  std::vector<std::string> out;
  single_array = false;
  if (!input) {
    return out;
  }
  if (input->is_string()) {
    if (!input->text.empty()) {
      out.push_back(input->text);
    }
    return out;
  }
  if (!input->is_array()) {
    return std::nullopt;
  }
  for (const auto& item : input->items) {
    if (!item.is_string()) {
      return std::nullopt;
    }
    out.push_back(item.text);
  }
  single_array = out.size() == 1;
  return out;
}

std::variant<std::int64_t, reply> context_limit(embed_api api, const option_map& options,
                                                const sim_config& cfg) {
  auto num_ctx = int_option(options, "num_ctx");
  if (auto* error = std::get_if<request_error>(&num_ctx)) {
    return embed_request_failure(api, error->status, error->message);
  }
  auto value = std::get<std::optional<std::int64_t>>(num_ctx);
  return value ? std::min(*value, cfg.context) : cfg.context;
}

std::variant<embed_plan, reply> plan_native(embed_api api, std::string model,
                                            const std::optional<json_value>& input,
                                            std::int64_t dimensions, bool truncate,
                                            const option_map& options, const model_catalog& catalog,
                                            const sim_config& cfg) {
  embed_plan plan;
  plan.api = api;
  plan.model_raw = std::move(model);
  plan.dimensions = dimensions;
  parsed_model name = parse_model_name(plan.model_raw);
  if (std::holds_alternative<model_missing>(name)) {
    return embed_request_failure(api, 404, "model '" + plan.model_raw + "' not found");
  }
  if (std::holds_alternative<model_invalid>(name)) {
    return embed_request_failure(api, 400, "invalid model name");
  }
  bool single = false;
  auto texts = input_strings(input, single);
  if (!texts) {
    return embed_request_failure(api, 400, "invalid input type");
  }
  plan.single_string_array = single;
  plan.model_key = std::get<model_name>(name).canonical;
  if (!catalog.find(plan.model_key)) {
    return not_installed(api, plan.model_raw);
  }
  auto limit = context_limit(api, options, cfg);
  if (auto* r = std::get_if<reply>(&limit)) {
    return std::move(*r);
  }
  plan_inputs(plan, std::move(*texts), std::get<std::int64_t>(limit), truncate, 400);
  return plan;
}

} // namespace

reply embed_request_failure(embed_api api, unsigned status, std::string_view message) {
  if (api == embed_api::openai) {
    return openai_error(status, message);
  }
  return json_error(status, message);
}

reply embed_input_failure(const embed_plan& plan, const input_error& error) {
  return embed_request_failure(plan.api, error.status, error.message);
}

std::variant<embed_plan, reply> plan_embed(embed_api api, std::string_view body,
                                           const model_catalog& catalog, const sim_config& cfg) {
  if (api == embed_api::native) {
    auto decoded = decode_embed(body);
    if (auto* error = std::get_if<request_error>(&decoded)) {
      return json_error(error->status, error->message);
    }
    auto& req = std::get<embed_request>(decoded);
    return plan_native(api, std::move(req.model), req.input, req.dimensions,
                       req.truncate.value_or(true), req.options, catalog, cfg);
  }

  if (api == embed_api::openai) {
    auto decoded = decode_openai_embed(body);
    if (auto* error = std::get_if<request_error>(&decoded)) {
      return openai_middleware_error(error->message);
    }
    auto& req = std::get<openai_embed_request>(decoded);
    std::string format = req.encoding_format;
    std::transform(format.begin(), format.end(), format.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    if (!format.empty() && format != "float" && format != "base64") {
      return openai_middleware_error(
          "Invalid value for 'encoding_format' = " + req.encoding_format +
          ". Supported values: ['float', 'base64'].");
    }
    if (req.input && req.input->is_string() && req.input->text.empty()) {
      json_value wrapped;
      wrapped.type = json_value::kind::array;
      wrapped.items.push_back(*req.input);
      req.input = std::move(wrapped);
    }
    if (!req.input || (req.input->is_array() && req.input->items.empty())) {
      return openai_middleware_error("invalid input");
    }
    auto planned =
        plan_native(api, std::move(req.model), req.input, req.dimensions, true, {}, catalog, cfg);
    if (auto* plan = std::get_if<embed_plan>(&planned)) {
      plan->base64 = format == "base64";
    }
    return planned;
  }

  auto decoded = decode_legacy_embed(body);
  if (auto* error = std::get_if<request_error>(&decoded)) {
    return json_error(error->status, error->message);
  }
  auto& req = std::get<legacy_embed_request>(decoded);
  embed_plan plan;
  plan.api = api;
  plan.model_raw = req.model;
  parsed_model name = parse_model_name(req.model);
  if (req.model.empty()) {
    return json_error(400, "model is required");
  }
  if (!std::holds_alternative<model_name>(name)) {
    return json_error(400, "invalid model name");
  }
  plan.model_key = std::get<model_name>(name).canonical;
  if (!catalog.find(plan.model_key)) {
    return not_installed(api, plan.model_raw);
  }
  auto limit = context_limit(api, req.options, cfg);
  if (auto* r = std::get_if<reply>(&limit)) {
    return std::move(*r);
  }
  std::vector<std::string> texts;
  if (!req.prompt.empty()) {
    texts.push_back(req.prompt);
  }
  plan_inputs(plan, std::move(texts), std::get<std::int64_t>(limit), false, 500);
  return plan;
}

reply embed_success(const embed_plan& plan, const sim_config& cfg, vector_text_cache& cache,
                    embed_timing timing) {
  vector_spec spec;
  spec.model_key = plan.model_key;
  spec.dims = cfg.dims;
  spec.dimensions = plan.api == embed_api::legacy ? 0 : plan.dimensions;
  std::size_t tokens = 0;
  for (const auto& in : plan.inputs) {
    tokens += in.tokens;
  }

  std::string body;
  body.reserve(64 + plan.inputs.size() * (cfg.dims * 12 + 64));
  if (plan.api == embed_api::legacy) {
    body.append("{\"embedding\":");
    if (plan.inputs.empty()) {
      body.append("[]");
    } else {
      const input_plan& in = plan.inputs.front();
      spec.edge = in.ctl.edge;
      cache.append(body, spec, std::string_view(in.text).substr(0, in.used_bytes), true);
    }
    body.push_back('}');
    return json_reply(200, std::move(body));
  }

  if (plan.api == embed_api::openai) {
    body.append("{\"object\":\"list\",\"data\":[");
    for (std::size_t i = 0; i < plan.inputs.size(); ++i) {
      const input_plan& in = plan.inputs[i];
      spec.edge = in.ctl.edge;
      std::string_view used = std::string_view(in.text).substr(0, in.used_bytes);
      body.append(i == 0 ? "{" : ",{");
      body.append("\"object\":\"embedding\",\"embedding\":");
      if (plan.base64) {
        body.push_back('"');
        body.append(base64_floats(make_vector(spec, used)));
        body.push_back('"');
      } else {
        cache.append(body, spec, used, false);
      }
      body.append(",\"index\":").append(std::to_string(i)).push_back('}');
    }
    body.append("],\"model\":");
    append_go_string(body, plan.model_raw);
    body.append(",\"usage\":{\"prompt_tokens\":").append(std::to_string(tokens));
    body.append(",\"total_tokens\":").append(std::to_string(tokens)).append("}}\n");
    return reply{200, {{"Content-Type", "application/json"}}, std::move(body)};
  }

  body.append("{\"model\":");
  append_go_string(body, plan.model_raw);
  body.append(",\"embeddings\":[");
  for (std::size_t i = 0; i < plan.inputs.size(); ++i) {
    const input_plan& in = plan.inputs[i];
    spec.edge = in.ctl.edge;
    if (i > 0) {
      body.push_back(',');
    }
    cache.append(body, spec, std::string_view(in.text).substr(0, in.used_bytes), false);
  }
  body.push_back(']');
  if (!plan.inputs.empty()) {
    if (timing.total_ns != 0) {
      body.append(",\"total_duration\":").append(std::to_string(timing.total_ns));
    }
    if (timing.load_ns != 0) {
      body.append(",\"load_duration\":").append(std::to_string(timing.load_ns));
    }
    if (tokens != 0) {
      body.append(",\"prompt_eval_count\":").append(std::to_string(tokens));
    }
  }
  body.push_back('}');
  return json_reply(200, std::move(body));
}

} // namespace meter::sim
