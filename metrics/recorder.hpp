// The events the proxy reports, as a small interface with no Prometheus types in it. The proxy
// calls these; metrics/prometheus_recorder implements them; tests substitute a fake.
//
// Thread safety: implementations must accept concurrent calls from any thread. Calls are on the
// request path, so each must be cheap (no allocation in the steady state, no blocking I/O).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace meter::metrics {

using seconds = std::chrono::duration<double>;

// Ollama's known routes, or `other`. The only values the `route` label takes.
enum class route : std::uint8_t {
  root,
  api_version,
  api_status,
  api_tags,
  api_ps,
  api_show,
  api_pull,
  api_push,
  api_create,
  api_delete,
  api_copy,
  api_blobs,
  api_generate,
  api_chat,
  api_embed,
  api_embeddings,
  v1_chat_completions,
  v1_completions,
  v1_embeddings,
  v1_models,
  v1_responses,
  v1_messages,
  metrics,
  healthz,
  other,
};
inline constexpr std::size_t route_count = static_cast<std::size_t>(route::other) + 1;

// Classifies a request path (query string already removed). Exact matches only, except
// /api/blobs/<digest> and /v1/models/<name>; `/api/embed/` is `other`.
route classify_route(std::string_view path) noexcept;
std::string_view route_label(route r) noexcept; // "/api/embed", ..., "other"

// Why an upstream exchange failed.
enum class upstream_failure : std::uint8_t { connect, timeout, reset, status_5xx };

// How one embed input ended.
enum class input_outcome : std::uint8_t { ok, upstream_error, proxy_error, cancelled };

// Timings and counts of one finished input (sub-call) of a split /api/embed request.
struct embed_input_event {
  std::string_view model; // the request's model name, decoded; capped by the implementation
  input_outcome outcome = input_outcome::ok;
  seconds duration{};   // == embedding_durations[i]; valid when outcome == ok
  seconds queue_wait{}; // waiting for a fan-out or upstream slot inside the proxy
  std::int64_t prompt_tokens = 0;
  seconds load_duration{}; // upstream-reported load_duration of this sub-call
};

// One finished /api/embed request that was split.
struct embed_request_event {
  std::string_view model;
  std::size_t inputs = 0;
  seconds duration{};      // the whole request, as total_duration
  seconds load_duration{}; // the largest a sub-call reported, as the merged load_duration
  bool ok = false;
};

// Read from the final chunk of /api/generate or /api/chat (streamed or not).
struct generation_event {
  std::string_view model;
  route via = route::api_generate;
  bool streamed = false;
  seconds time_to_first_token{}; // first response body byte; equal to duration when not streamed
  seconds duration{};            // whole exchange as the proxy saw it
  std::int64_t prompt_eval_count = 0;
  std::int64_t eval_count = 0;
  seconds prompt_eval_duration{}; // Ollama's own figures from the final chunk
  seconds eval_duration{};
  seconds load_duration{};
};

// Every client request, whatever the route.
struct request_event {
  route r = route::other;
  std::string_view method; // "GET", "POST", ...; unknown methods are reported as "other"
  unsigned status = 0;     // 0 when the client left before a status was sent
  seconds duration{};
  std::uint64_t bytes_in = 0;  // request body bytes read from the client
  std::uint64_t bytes_out = 0; // response body bytes written to the client
};

class recorder {
public:
  virtual ~recorder() = default;

  virtual void request_started(route r) = 0;                 // requests in flight +1
  virtual void request_finished(const request_event& e) = 0; // in flight -1, counts, durations
  virtual void client_disconnected(route r) = 0; // the client left before the response ended

  virtual void upstream_call_started() = 0;  // upstream calls in flight +1
  virtual void upstream_call_finished() = 0; // upstream calls in flight -1
  virtual void upstream_failed(upstream_failure f) = 0;
  virtual void upstream_health(bool up) = 0; // last /healthz probe result

  virtual void queue_length_changed(std::int64_t delta) = 0; // sub-calls waiting for a slot

  virtual void embed_input(const embed_input_event& e) = 0;
  virtual void embed_request(const embed_request_event& e) = 0;
  virtual void generation(const generation_event& e) = 0;
};

// A recorder that records nothing (for tools and tests that do not look at metrics).
class null_recorder final : public recorder {
public:
  void request_started(route) override {}
  void request_finished(const request_event&) override {}
  void client_disconnected(route) override {}
  void upstream_call_started() override {}
  void upstream_call_finished() override {}
  void upstream_failed(upstream_failure) override {}
  void upstream_health(bool) override {}
  void queue_length_changed(std::int64_t) override {}
  void embed_input(const embed_input_event&) override {}
  void embed_request(const embed_request_event&) override {}
  void generation(const generation_event&) override {}
};

} // namespace meter::metrics
