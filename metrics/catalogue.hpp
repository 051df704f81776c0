// The catalogue of ollama-meter's own metrics: name, type, labels and help text of each, in
// one place so the recorder, its tests and the documentation agree. No Prometheus type here.
#pragma once

#include <array>
#include <string_view>

namespace meter::metrics::catalogue {

enum class metric_type { counter, gauge, histogram };

struct metric_info {
  std::string_view name;
  metric_type type;
  std::string_view labels; // comma-separated label names, "" for none (histograms add `le`)
  std::string_view help;
};

inline constexpr metric_info requests{"ollama_meter_requests_total", metric_type::counter,
                                      "route, method, code",
                                      "Client requests answered, by route, method and status code "
                                      "(0: the client left before a status was sent)."};
inline constexpr metric_info request_duration{
    "ollama_meter_request_duration_seconds", metric_type::histogram, "route",
    "Time from a request's header to the end of its response."};
inline constexpr metric_info requests_in_flight{"ollama_meter_requests_in_flight",
                                                metric_type::gauge, "route",
                                                "Client requests being served."};
inline constexpr metric_info request_bytes{"ollama_meter_request_body_bytes_total",
                                           metric_type::counter, "route",
                                           "Request body bytes read from clients."};
inline constexpr metric_info response_bytes{"ollama_meter_response_body_bytes_total",
                                            metric_type::counter, "route",
                                            "Response body bytes written to clients."};
inline constexpr metric_info client_disconnects{"ollama_meter_client_disconnects_total",
                                                metric_type::counter, "route",
                                                "Clients that left before their response ended."};
inline constexpr metric_info upstream_errors{
    "ollama_meter_upstream_errors_total", metric_type::counter, "kind",
    "Failed upstream exchanges, by kind (connect, timeout, reset, 5xx)."};
inline constexpr metric_info upstream_in_flight{"ollama_meter_upstream_calls_in_flight",
                                                metric_type::gauge, "",
                                                "Calls to the upstream Ollama in progress."};
inline constexpr metric_info upstream_up{
    "ollama_meter_upstream_up", metric_type::gauge, "",
    "1 when the last health probe of the upstream Ollama succeeded, else 0."};
inline constexpr metric_info queue_length{
    "ollama_meter_fanout_queue_length", metric_type::gauge, "",
    "Embed sub-calls waiting inside the proxy for an upstream-concurrency slot."};
inline constexpr metric_info embed_input_duration{
    "ollama_meter_embed_input_duration_seconds", metric_type::histogram, "model",
    "Upstream duration of one successful embed input (the value reported in embedding_durations)."};
inline constexpr metric_info embed_queue_wait{"ollama_meter_embed_input_queue_wait_seconds",
                                              metric_type::histogram, "model",
                                              "Time an embed input waited inside the proxy for a "
                                              "fan-out or upstream slot before its upstream call."};
inline constexpr metric_info embed_prompt_tokens{
    "ollama_meter_embed_input_prompt_tokens", metric_type::histogram, "model",
    "Prompt tokens of one successful embed input, as the upstream counted them."};
inline constexpr metric_info embed_load_duration{
    "ollama_meter_embed_load_duration_seconds", metric_type::histogram, "model",
    "Upstream-reported load_duration of one successful embed input (model load or scheduling)."};
inline constexpr metric_info embed_inputs{
    "ollama_meter_embed_inputs_total", metric_type::counter, "model, outcome",
    "Embed inputs finished, by outcome (ok, upstream_error, proxy_error, cancelled)."};
inline constexpr metric_info embed_request_inputs{"ollama_meter_embed_request_inputs",
                                                  metric_type::histogram, "model",
                                                  "Inputs per split /api/embed request."};
inline constexpr metric_info embed_request_duration{
    "ollama_meter_embed_request_duration_seconds", metric_type::histogram, "model",
    "Duration of a successful split /api/embed request (its total_duration)."};
inline constexpr metric_info embed_requests{
    "ollama_meter_embed_requests_total", metric_type::counter, "model, outcome",
    "Split /api/embed requests finished, by outcome (ok, error)."};
inline constexpr metric_info generation_ttft{
    "ollama_meter_generation_time_to_first_token_seconds", metric_type::histogram, "model, route",
    "Time to the first response byte of a streamed generation."};
inline constexpr metric_info generation_duration{"ollama_meter_generation_duration_seconds",
                                                 metric_type::histogram, "model, route",
                                                 "Duration of a generation as the proxy saw it."};
inline constexpr metric_info generation_prompt_tokens{
    "ollama_meter_generation_prompt_tokens_total", metric_type::counter, "model, route",
    "Prompt tokens evaluated (prompt_eval_count)."};
inline constexpr metric_info generation_output_tokens{"ollama_meter_generation_output_tokens_total",
                                                      metric_type::counter, "model, route",
                                                      "Tokens generated (eval_count)."};
inline constexpr metric_info generation_prompt_eval{
    "ollama_meter_generation_prompt_eval_seconds_total", metric_type::counter, "model, route",
    "Ollama's own prompt evaluation time (prompt_eval_duration)."};
inline constexpr metric_info generation_eval{"ollama_meter_generation_eval_seconds_total",
                                             metric_type::counter, "model, route",
                                             "Ollama's own generation time (eval_duration)."};
inline constexpr metric_info generation_load_duration{
    "ollama_meter_generation_load_duration_seconds", metric_type::histogram, "model, route",
    "Upstream-reported load_duration of a generation."};
inline constexpr metric_info cold_loads{
    "ollama_meter_cold_loads_total", metric_type::counter, "model, route",
    "Embed requests and generations whose upstream-reported load_duration reached the cold-load "
    "threshold (an embed request counts once, however many of its sub-calls waited)."};
inline constexpr metric_info build_info{"ollama_meter_build_info", metric_type::gauge, "version",
                                        "Always 1; the version label is ollama-meter's version."};

inline constexpr std::array all{
    requests,
    request_duration,
    requests_in_flight,
    request_bytes,
    response_bytes,
    client_disconnects,
    upstream_errors,
    upstream_in_flight,
    upstream_up,
    queue_length,
    embed_input_duration,
    embed_queue_wait,
    embed_prompt_tokens,
    embed_load_duration,
    embed_inputs,
    embed_request_inputs,
    embed_request_duration,
    embed_requests,
    generation_ttft,
    generation_duration,
    generation_prompt_tokens,
    generation_output_tokens,
    generation_prompt_eval,
    generation_eval,
    generation_load_duration,
    cold_loads,
    build_info,
};

} // namespace meter::metrics::catalogue
