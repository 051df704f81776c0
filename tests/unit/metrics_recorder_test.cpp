// prometheus_recorder: what each recorded event adds to the exposition (counts, bucket placement,
// label values and capping) and the shape of the text it renders.
#include "metrics/prometheus_recorder.hpp"
#include "tests/unit/metrics_exposition.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace meter::metrics;
using meter::test::label_set;
using meter::test::sample_count;
using meter::test::sample_value;

namespace {

metrics_options test_options() {
  metrics_options o;
  o.version = "9.8.7";
  return o;
}

embed_input_event ok_input(std::string_view model, double duration_s) {
  embed_input_event e;
  e.model = model;
  e.duration = seconds(duration_s);
  e.queue_wait = seconds(0.002);
  e.prompt_tokens = 12;
  e.load_duration = seconds(0.004);
  return e;
}

double value_or_nan(const std::optional<double>& v) {
  return v.value_or(std::nan(""));
}

} // namespace

TEST_CASE("a finished request counts once under its route, method and code") {
  prometheus_recorder rec(test_options());
  rec.request_started(route::api_tags);
  CHECK(sample_value(rec.render(), "ollama_meter_requests_in_flight", {{"route", "/api/tags"}}) ==
        1);
  rec.request_finished({route::api_tags, "GET", 200, seconds(0.004), 0, 321});
  rec.request_started(route::other);
  rec.request_finished({route::other, "BREW", 404, seconds(0.001), 7, 18});
  rec.request_started(route::api_chat);
  rec.request_finished({route::api_chat, "POST", 0, seconds(1.5), 10, 0});

  const std::string text = rec.render();
  CHECK(sample_value(text, "ollama_meter_requests_total",
                     {{"route", "/api/tags"}, {"method", "GET"}, {"code", "200"}}) == 1);
  CHECK(sample_value(text, "ollama_meter_requests_total",
                     {{"route", "other"}, {"method", "other"}, {"code", "404"}}) == 1);
  CHECK(sample_value(text, "ollama_meter_requests_total",
                     {{"route", "/api/chat"}, {"method", "POST"}, {"code", "0"}}) == 1);
  CHECK(sample_value(text, "ollama_meter_requests_in_flight", {{"route", "/api/tags"}}) == 0);
  CHECK(sample_value(text, "ollama_meter_response_body_bytes_total", {{"route", "/api/tags"}}) ==
        321);
  CHECK(sample_value(text, "ollama_meter_request_body_bytes_total", {{"route", "other"}}) == 7);
  CHECK(sample_value(text, "ollama_meter_request_duration_seconds_bucket",
                     {{"route", "/api/tags"}, {"le", "0.003"}}) == 0);
  CHECK(sample_value(text, "ollama_meter_request_duration_seconds_bucket",
                     {{"route", "/api/tags"}, {"le", "0.005"}}) == 1);
  CHECK(sample_value(text, "ollama_meter_request_duration_seconds_count",
                     {{"route", "/api/chat"}}) == 1);
}

TEST_CASE("repeated requests add up instead of making new series") {
  prometheus_recorder rec(test_options());
  for (int i = 0; i < 5; ++i) {
    rec.request_started(route::api_embed);
    rec.request_finished({route::api_embed, "POST", 200, seconds(0.01), 100, 200});
  }
  const std::string text = rec.render();
  CHECK(sample_count(text, "ollama_meter_requests_total") == 1);
  CHECK(sample_value(text, "ollama_meter_requests_total",
                     {{"route", "/api/embed"}, {"method", "POST"}, {"code", "200"}}) == 5);
  CHECK(sample_value(text, "ollama_meter_request_body_bytes_total", {{"route", "/api/embed"}}) ==
        500);
}

TEST_CASE("per-input embed durations land in fine buckets below 100 ms") {
  prometheus_recorder rec(test_options());
  rec.embed_input(ok_input("bge-m3", 0.0004));
  rec.embed_input(ok_input("bge-m3", 0.0007));
  rec.embed_input(ok_input("bge-m3", 0.015));
  rec.embed_input(ok_input("bge-m3", 45));
  rec.embed_input(ok_input("bge-m3", 700)); // beyond the last bound: only +Inf

  const std::string text = rec.render();
  const auto bucket = [&](const char* le) {
    return value_or_nan(sample_value(text, "ollama_meter_embed_input_duration_seconds_bucket",
                                     {{"model", "bge-m3"}, {"le", le}}));
  };
  CHECK(bucket("0.0005") == 1);
  CHECK(bucket("0.001") == 2);
  CHECK(bucket("0.01") == 2);
  CHECK(bucket("0.02") == 3);
  CHECK(bucket("30") == 3);
  CHECK(bucket("60") == 4);
  CHECK(bucket("600") == 4);
  CHECK(bucket("+Inf") == 5);
  CHECK(sample_value(text, "ollama_meter_embed_input_duration_seconds_count",
                     {{"model", "bge-m3"}}) == 5);
  CHECK(value_or_nan(sample_value(text, "ollama_meter_embed_input_duration_seconds_sum",
                                  {{"model", "bge-m3"}})) == Approx(745.0161));
  CHECK(sample_value(text, "ollama_meter_embed_input_prompt_tokens_bucket",
                     {{"model", "bge-m3"}, {"le", "8"}}) == 0);
  CHECK(sample_value(text, "ollama_meter_embed_input_prompt_tokens_bucket",
                     {{"model", "bge-m3"}, {"le", "16"}}) == 5);
  CHECK(sample_value(text, "ollama_meter_embed_input_queue_wait_seconds_bucket",
                     {{"model", "bge-m3"}, {"le", "0.002"}}) == 5);
  CHECK(sample_value(text, "ollama_meter_embed_load_duration_seconds_count",
                     {{"model", "bge-m3"}}) == 5);
  CHECK(sample_value(text, "ollama_meter_embed_inputs_total",
                     {{"model", "bge-m3"}, {"outcome", "ok"}}) == 5);
}

TEST_CASE("failed inputs are counted by outcome and kept out of the latency histograms") {
  prometheus_recorder rec(test_options());
  embed_input_event failed;
  failed.model = "m";
  failed.outcome = input_outcome::upstream_error;
  failed.duration = seconds(3);
  failed.queue_wait = seconds(0.0001);
  rec.embed_input(failed);
  failed.outcome = input_outcome::proxy_error;
  rec.embed_input(failed);
  failed.outcome = input_outcome::cancelled;
  rec.embed_input(failed);

  const std::string text = rec.render();
  for (const char* outcome : {"upstream_error", "proxy_error", "cancelled"}) {
    CHECK(sample_value(text, "ollama_meter_embed_inputs_total",
                       {{"model", "m"}, {"outcome", outcome}}) == 1);
  }
  CHECK(sample_value(text, "ollama_meter_embed_inputs_total",
                     {{"model", "m"}, {"outcome", "ok"}}) == 0);
  CHECK(sample_value(text, "ollama_meter_embed_input_duration_seconds_count", {{"model", "m"}}) ==
        0);
  // Only the input that reached the upstream had waited for a slot.
  CHECK(sample_value(text, "ollama_meter_embed_input_queue_wait_seconds_count", {{"model", "m"}}) ==
        1);
}

TEST_CASE("embed requests record inputs per request always and duration only when ok") {
  prometheus_recorder rec(test_options());
  rec.embed_request({.model = "m", .inputs = 3, .duration = seconds(0.2), .ok = true});
  rec.embed_request({.model = "m", .inputs = 600, .duration = seconds(9), .ok = false});
  const std::string text = rec.render();
  CHECK(sample_value(text, "ollama_meter_embed_request_inputs_bucket",
                     {{"model", "m"}, {"le", "2"}}) == 0);
  CHECK(sample_value(text, "ollama_meter_embed_request_inputs_bucket",
                     {{"model", "m"}, {"le", "4"}}) == 1);
  CHECK(sample_value(text, "ollama_meter_embed_request_inputs_bucket",
                     {{"model", "m"}, {"le", "1024"}}) == 2);
  CHECK(sample_value(text, "ollama_meter_embed_request_duration_seconds_count", {{"model", "m"}}) ==
        1);
  CHECK(sample_value(text, "ollama_meter_embed_requests_total",
                     {{"model", "m"}, {"outcome", "ok"}}) == 1);
  CHECK(sample_value(text, "ollama_meter_embed_requests_total",
                     {{"model", "m"}, {"outcome", "error"}}) == 1);
}

TEST_CASE("the 101st distinct model is recorded as other") {
  prometheus_recorder rec(test_options()); // default cap: 100
  for (int i = 0; i < 100; ++i) {
    rec.embed_input(ok_input("model-" + std::to_string(i), 0.01));
  }
  rec.embed_input(ok_input("model-100", 0.01));
  rec.embed_input(ok_input("model-101", 0.01));
  rec.embed_input(ok_input("model-7", 0.01));

  const std::string text = rec.render();
  CHECK(sample_count(text, "ollama_meter_embed_input_duration_seconds_count") == 101);
  CHECK(sample_value(text, "ollama_meter_embed_input_duration_seconds_count",
                     {{"model", "other"}}) == 2);
  CHECK(sample_value(text, "ollama_meter_embed_input_duration_seconds_count",
                     {{"model", "model-7"}}) == 2);
  CHECK_FALSE(sample_value(text, "ollama_meter_embed_input_duration_seconds_count",
                           {{"model", "model-100"}}));
}

TEST_CASE("the model cap is configurable and unprintable names never become labels") {
  metrics_options o = test_options();
  o.max_model_labels = 1;
  prometheus_recorder rec(o);
  rec.generation({"llama3", route::api_chat, false, seconds(1), seconds(1), 5, 7, seconds(0.1),
                  seconds(0.5), seconds(0)});
  rec.generation({"mistral", route::api_chat, false, seconds(1), seconds(1), 5, 7, seconds(0.1),
                  seconds(0.5), seconds(0)});
  rec.embed_input(ok_input("bad\nname", 0.01));
  rec.embed_input(ok_input("", 0.01));

  const std::string text = rec.render();
  CHECK(sample_value(text, "ollama_meter_generation_output_tokens_total",
                     {{"model", "llama3"}, {"route", "/api/chat"}}) == 7);
  CHECK(sample_value(text, "ollama_meter_generation_output_tokens_total",
                     {{"model", "other"}, {"route", "/api/chat"}}) == 7);
  CHECK(sample_value(text, "ollama_meter_embed_input_duration_seconds_count",
                     {{"model", "other"}}) == 2);
  CHECK(text.find("bad") == std::string::npos);
}

TEST_CASE("a generation adds Ollama's token counts and durations so tokens per second follow") {
  prometheus_recorder rec(test_options());
  generation_event e;
  e.model = "llama3";
  e.via = route::api_generate;
  e.streamed = true;
  e.time_to_first_token = seconds(0.25);
  e.duration = seconds(4);
  e.prompt_eval_count = 26;
  e.eval_count = 290;
  e.prompt_eval_duration = seconds(0.13);
  e.eval_duration = seconds(3.5);
  e.load_duration = seconds(2);
  rec.generation(e);
  e.streamed = false;
  e.load_duration = seconds(0.01);
  rec.generation(e);

  const std::string text = rec.render();
  const label_set l{{"model", "llama3"}, {"route", "/api/generate"}};
  CHECK(sample_value(text, "ollama_meter_generation_prompt_tokens_total", l) == 52);
  CHECK(sample_value(text, "ollama_meter_generation_output_tokens_total", l) == 580);
  CHECK(value_or_nan(sample_value(text, "ollama_meter_generation_eval_seconds_total", l)) ==
        Approx(7.0));
  CHECK(value_or_nan(sample_value(text, "ollama_meter_generation_prompt_eval_seconds_total", l)) ==
        Approx(0.26));
  CHECK(sample_value(text, "ollama_meter_generation_duration_seconds_count", l) == 2);
  // Time to first token only means something for a streamed answer.
  CHECK(sample_value(text, "ollama_meter_generation_time_to_first_token_seconds_count", l) == 1);
  CHECK(sample_value(text, "ollama_meter_generation_time_to_first_token_seconds_bucket",
                     {{"model", "llama3"}, {"route", "/api/generate"}, {"le", "0.2"}}) == 0);
  CHECK(sample_value(text, "ollama_meter_generation_time_to_first_token_seconds_bucket",
                     {{"model", "llama3"}, {"route", "/api/generate"}, {"le", "0.3"}}) == 1);
  // One of the two calls loaded the model (2 s >= the 0.5 s threshold).
  CHECK(sample_value(text, "ollama_meter_cold_loads_total", l) == 1);
  CHECK(sample_value(text, "ollama_meter_generation_load_duration_seconds_count", l) == 2);
}

TEST_CASE("cold loads of embed requests are counted once per request against the threshold") {
  metrics_options o = test_options();
  o.cold_load_threshold = seconds(0.1);
  prometheus_recorder rec(o);
  // Three concurrent sub-calls of one request all waited for the same load: one cold load.
  auto input = ok_input("m", 0.3);
  input.load_duration = seconds(0.2);
  for (int i = 0; i < 3; ++i) {
    rec.embed_input(input);
  }
  embed_request_event request{.model = "m",
                              .inputs = 3,
                              .duration = seconds(0.3),
                              .load_duration = seconds(0.2),
                              .ok = true};
  rec.embed_request(request);
  request.load_duration = seconds(0.05); // below the threshold: warm
  rec.embed_request(request);
  const label_set l{{"model", "m"}, {"route", "/api/embed"}};
  CHECK(sample_value(rec.render(), "ollama_meter_cold_loads_total", l) == 1);
  CHECK(sample_value(rec.render(), "ollama_meter_embed_load_duration_seconds_count",
                     {{"model", "m"}}) == 3);
}

TEST_CASE("upstream errors of every kind are exported from the start and counted") {
  prometheus_recorder rec(test_options());
  std::string text = rec.render();
  for (const char* kind : {"connect", "timeout", "reset", "5xx"}) {
    CHECK(sample_value(text, "ollama_meter_upstream_errors_total", {{"kind", kind}}) == 0);
  }
  rec.upstream_failed(upstream_failure::timeout);
  rec.upstream_failed(upstream_failure::timeout);
  rec.upstream_failed(upstream_failure::status_5xx);
  text = rec.render();
  CHECK(sample_value(text, "ollama_meter_upstream_errors_total", {{"kind", "timeout"}}) == 2);
  CHECK(sample_value(text, "ollama_meter_upstream_errors_total", {{"kind", "5xx"}}) == 1);
  CHECK(sample_value(text, "ollama_meter_upstream_errors_total", {{"kind", "connect"}}) == 0);
}

TEST_CASE("in-flight gauges and the queue length follow starts, ends and deltas") {
  prometheus_recorder rec(test_options());
  rec.upstream_call_started();
  rec.upstream_call_started();
  rec.upstream_call_finished();
  rec.queue_length_changed(+5);
  rec.queue_length_changed(-2);
  const std::string text = rec.render();
  CHECK(sample_value(text, "ollama_meter_upstream_calls_in_flight") == 1);
  CHECK(sample_value(text, "ollama_meter_fanout_queue_length") == 3);
}

TEST_CASE("upstream health appears after the first probe and follows the last one") {
  prometheus_recorder rec(test_options());
  CHECK_FALSE(sample_value(rec.render(), "ollama_meter_upstream_up"));
  rec.upstream_health(true);
  CHECK(sample_value(rec.render(), "ollama_meter_upstream_up") == 1);
  rec.upstream_health(false);
  CHECK(sample_value(rec.render(), "ollama_meter_upstream_up") == 0);
}

TEST_CASE("client disconnects are counted by route") {
  prometheus_recorder rec(test_options());
  rec.client_disconnected(route::api_generate);
  rec.client_disconnected(route::api_generate);
  CHECK(sample_value(rec.render(), "ollama_meter_client_disconnects_total",
                     {{"route", "/api/generate"}}) == 2);
}

TEST_CASE("build info carries the version and process metrics are sampled at render time") {
  prometheus_recorder rec(test_options());
  const std::string text = rec.render();
  CHECK(sample_value(text, "ollama_meter_build_info", {{"version", "9.8.7"}}) == 1);
  CHECK(value_or_nan(sample_value(text, "process_resident_memory_bytes")) > 0);
  CHECK(value_or_nan(sample_value(text, "process_open_fds")) > 0);
  CHECK(value_or_nan(sample_value(text, "process_start_time_seconds")) > 1.6e9);
  CHECK(sample_value(text, "process_cpu_seconds_total"));
  CHECK(sample_value(text, "process_max_fds"));
  CHECK(sample_value(text, "process_virtual_memory_bytes"));
}

TEST_CASE("configured buckets replace the defaults") {
  metrics_options o = test_options();
  o.duration_buckets = {0.01, 1};
  o.token_buckets = {100};
  prometheus_recorder rec(o);
  rec.embed_input(ok_input("m", 0.5));
  const std::string text = rec.render();
  CHECK(sample_count(text, "ollama_meter_embed_input_duration_seconds_bucket") == 3);
  CHECK(sample_value(text, "ollama_meter_embed_input_duration_seconds_bucket",
                     {{"model", "m"}, {"le", "1"}}) == 1);
  CHECK(sample_count(text, "ollama_meter_embed_input_prompt_tokens_bucket") == 2);
}

TEST_CASE("bad buckets, an oversized model cap or a bad threshold are refused at construction") {
  metrics_options o = test_options();
  o.duration_buckets = {1, 0.5};
  CHECK_THROWS_AS(prometheus_recorder(o), std::invalid_argument);
  o = test_options();
  o.token_buckets = {0};
  CHECK_THROWS_AS(prometheus_recorder(o), std::invalid_argument);
  o = test_options();
  o.max_model_labels = max_model_labels_limit + 1;
  CHECK_THROWS_AS(prometheus_recorder(o), std::invalid_argument);
  o = test_options();
  o.cold_load_threshold = seconds(-1);
  CHECK_THROWS_AS(prometheus_recorder(o), std::invalid_argument);
}

TEST_CASE("every line of the exposition is a comment or a well-formed sample with HELP and TYPE") {
  prometheus_recorder rec(test_options());
  rec.request_started(route::api_embed);
  rec.request_finished({route::api_embed, "POST", 200, seconds(0.1), 10, 10});
  rec.embed_input(ok_input("m\"q\\", 0.01));
  rec.embed_request({.model = "m", .inputs = 1, .duration = seconds(0.01), .ok = true});
  rec.generation({"g", route::api_chat, true, seconds(0.1), seconds(1), 1, 2, seconds(0.1),
                  seconds(0.2), seconds(0)});
  rec.upstream_health(true);
  const std::string text = rec.render();

  std::set<std::string> helped;
  std::set<std::string> typed;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# HELP ")) {
      const auto name = line.substr(7, line.find(' ', 7) - 7);
      CHECK(line.size() > 8 + name.size()); // non-empty help
      helped.insert(name);
    } else if (line.starts_with("# TYPE ")) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
    } else {
      const auto s = meter::test::parse_sample_line(line);
      REQUIRE(s);
      const bool prefixed = s->name.starts_with("ollama_meter_") || s->name.starts_with("process_");
      CHECK(prefixed);
    }
  }
  CHECK(helped == typed);
  CHECK(helped.size() >= 30);
  CHECK(sample_value(text, "ollama_meter_embed_inputs_total",
                     {{"model", "m\"q\\"}, {"outcome", "ok"}}) == 1);
}

TEST_CASE("concurrent recording from several threads loses no event") {
  prometheus_recorder rec(test_options());
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string model = "m" + std::to_string((t + i) % 3);
        rec.request_started(route::api_embed);
        rec.embed_input(ok_input(model, 0.001));
        rec.request_finished({route::api_embed, "POST", 200, seconds(0.001), 1, 1});
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  const std::string text = rec.render();
  CHECK(sample_value(text, "ollama_meter_requests_total",
                     {{"route", "/api/embed"}, {"method", "POST"}, {"code", "200"}}) ==
        threads * per_thread);
  CHECK(sample_value(text, "ollama_meter_requests_in_flight", {{"route", "/api/embed"}}) == 0);
  double inputs = 0;
  for (const char* m : {"m0", "m1", "m2"}) {
    inputs += value_or_nan(
        sample_value(text, "ollama_meter_embed_inputs_total", {{"model", m}, {"outcome", "ok"}}));
  }
  CHECK(inputs == threads * per_thread);
}
