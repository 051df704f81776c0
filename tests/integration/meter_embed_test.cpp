// /api/embed through ollama-meter, the success side: input order (C01), byte-identical vectors,
// durations, the merged reply's shape, --max-fanout and --upstream-concurrency (C03), large batches
// against a small upstream queue (C04).
#include "tests/integration/meter_harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

using namespace meter::test;
using namespace std::chrono_literals;

namespace {

const header_list json_headers{{"Content-Type", "application/json"}};

// The merged reply's keys: Ollama's order, zero values omitted, then the two added arrays.
bool merged_key_order(const std::string& body) {
  auto keys = top_level_keys(body);
  std::vector<std::string> order{"model",
                                 "embeddings",
                                 "total_duration",
                                 "load_duration",
                                 "prompt_eval_count",
                                 "embedding_durations",
                                 "embedding_prompt_eval_counts"};
  std::vector<std::string> expected;
  for (const auto& k : order) {
    if (std::find(keys.begin(), keys.end(), k) != keys.end()) {
      expected.push_back(k);
    }
  }
  return keys == expected && keys.size() >= 5 && keys[0] == "model" && keys[1] == "embeddings";
}

// Checks a merged 200 answer against direct single calls: aligned vectors, counts, durations.
void check_aligned(const std::string& sim, const http_response& r, std::string_view model,
                   const std::vector<std::string>& inputs,
                   const std::vector<long long>& min_duration_ms = {}) {
  INFO(r.body.substr(0, 2000));
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/json; charset=utf-8");
  REQUIRE(r.header("content-length"));
  CHECK(std::stoull(*r.header("content-length")) == r.body.size());
  CHECK_FALSE(r.chunked);
  CHECK(merged_key_order(r.body));
  auto j = parse_json(r.body);
  CHECK(j["model"] == std::string(model));
  auto vectors = raw_vectors(r.body);
  REQUIRE(vectors.size() == inputs.size());
  REQUIRE(j["embedding_durations"].size() == inputs.size());
  REQUIRE(j["embedding_prompt_eval_counts"].size() == inputs.size());
  long long count_sum = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    INFO("input " << i << ": " << inputs[i]);
    auto direct = request(sim, "POST", "/api/embed", embed_body(model, {inputs[i]}), json_headers);
    REQUIRE(direct.status == 200);
    CHECK(vectors[i] == raw_vectors(direct.body).at(0));
    auto dj = parse_json(direct.body);
    CHECK(j["embedding_prompt_eval_counts"][i] == dj["prompt_eval_count"]);
    count_sum += j["embedding_prompt_eval_counts"][i].get<long long>();
    REQUIRE(j["embedding_durations"][i].is_number_integer());
    auto d = j["embedding_durations"][i].get<long long>();
    CHECK(d > 0);
    if (i < min_duration_ms.size()) {
      CHECK(d >= min_duration_ms[i] * 1'000'000);
      CHECK(d < (min_duration_ms[i] + 2000) * 1'000'000);
    }
  }
  CHECK(j.value("prompt_eval_count", 0LL) == count_sum);
  REQUIRE(j["total_duration"].is_number_integer());
  auto longest = std::max_element(j["embedding_durations"].begin(), j["embedding_durations"].end());
  CHECK(j["total_duration"].get<long long>() >= longest->get<long long>());
}

// True when every sub-call started before any of them ended (they ran at the same time).
bool all_overlapped(const std::vector<sim_log_entry>& calls) {
  std::int64_t last_start = 0;
  std::int64_t first_end = INT64_MAX;
  for (const auto& c : calls) {
    last_start = std::max(last_start, c.t_start_ns);
    first_end = std::min(first_end, c.t_end_ns);
  }
  return !calls.empty() && last_start < first_end;
}

} // namespace

TEST_CASE("C01: batch results keep input order when later inputs finish first", "[embed][C01]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::vector<std::string> inputs{"@sleep=400;alpha", "@sleep=300;bravo", "@sleep=200;charlie",
                                  "@sleep=100;delta"};
  auto started = steady::now();
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("nomic-embed-text", inputs),
                   json_headers);
  auto wall = ms_between(started, steady::now());
  INFO(meter.stderr_text());
  auto calls = embed_calls(sim.authority());
  REQUIRE(calls.size() == 4);
  std::vector<std::string> seen;
  for (const auto& c : calls) {
    seen.push_back(single_input(c));
  }
  std::sort(seen.begin(), seen.end());
  auto sorted = inputs;
  std::sort(sorted.begin(), sorted.end());
  CHECK(seen == sorted);
  // The sub-calls ran at the same time: each one started before the first one ended.
  CHECK(all_overlapped(calls));
  CHECK(wall >= 400);
  CHECK(wall < 400 + 2000);
  check_aligned(sim.authority(), r, "nomic-embed-text", inputs, {400, 300, 200, 100});
}

TEST_CASE("C01: order is kept for a long batch under a small fan-out, whatever finishes first",
          "[embed][C01]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--max-fanout", "3"});
  std::vector<std::string> inputs;
  std::vector<long long> delays;
  for (int i = 0; i < 12; ++i) {
    long long ms = (i * 7 % 5) * 40; // 0, 80, 160, 40, 120, 0, ...: completion order shuffled
    delays.push_back(ms);
    inputs.push_back("@sleep=" + std::to_string(ms) + ";item " + std::to_string(i));
  }
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  INFO(meter.stderr_text());
  check_aligned(sim.authority(), r, "all-minilm", inputs, delays);
  CHECK(sim_stats(sim.authority()).embed_peak <= 3);
  CHECK(sim_stats(sim.authority()).embed_not_single == 0);
}

TEST_CASE("C01: a single string input is split into one array-form sub-call", "[embed][C01]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto body = std::string(R"({"model":"all-minilm","input":"@sleep=150;solo"})");
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  auto calls = embed_calls(sim.authority());
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].body == R"({"model":"all-minilm","input":["@sleep=150;solo"]})");
  check_aligned(sim.authority(), r, "all-minilm", {"@sleep=150;solo"}, {150});
}

TEST_CASE("C01: unicode and escaped inputs keep their exact string tokens and their positions",
          "[embed][C01]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  // Raw tokens as a client may write them: escapes must reach the upstream untouched.
  std::vector<std::string> tokens{R"("caf\u00e9")", R"("tab\there \"quoted\"")", R"("😀 emoji")",
                                  R"("")", R"("\/slash")"};
  std::string body = R"({"model":"all-minilm","input":[)";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    body += (i == 0 ? "" : ",") + tokens[i];
  }
  body += "]}";
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  REQUIRE(r.status == 200);
  std::vector<std::string> inputs;
  for (const auto& t : tokens) {
    inputs.push_back(parse_json(t).get<std::string>());
  }
  std::vector<std::string> sub_bodies;
  for (const auto& c : embed_calls(sim.authority())) {
    sub_bodies.push_back(c.body);
  }
  check_aligned(sim.authority(), r, "all-minilm", inputs);
  for (const auto& t : tokens) {
    std::string expected = R"({"model":"all-minilm","input":[)" + t + "]}";
    CHECK(std::count(sub_bodies.begin(), sub_bodies.end(), expected) == 1);
  }
}

TEST_CASE("embed: durations cover each input's injected header delay and sleep",
          "[embed][durations]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::vector<std::string> inputs{"@hdrdelay=300;a", "b", "@sleep=250;c",
                                  "@hdrdelay=100;@sleep=100;d"};
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  check_aligned(sim.authority(), r, "all-minilm", inputs, {300, 0, 250, 100});
}

TEST_CASE("embed: --max-fanout bounds the sub-calls of one request and is reached",
          "[embed][limits]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--max-fanout", "3"});
  std::vector<std::string> inputs;
  for (int i = 0; i < 9; ++i) {
    inputs.push_back("@sleep=200;f" + std::to_string(i));
  }
  auto started = steady::now();
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  auto wall = ms_between(started, steady::now());
  check_aligned(sim.authority(), r, "all-minilm", inputs);
  auto stats = sim_stats(sim.authority());
  CHECK(stats.embed_peak == 3);
  CHECK(stats.embed_calls >= 9);
  CHECK(wall >= 3 * 200); // three rounds of three
}

TEST_CASE("C03: --upstream-concurrency 2 keeps a 2-slot upstream from rejecting a 10-input batch",
          "[embed][limits][C03]") {
  // The sim admits 2 calls and rejects every further concurrent one (no queue).
  auto sim = start_sim({"--runner", "parallel", "--slots", "2", "--max-queue", "0"});
  auto meter = start_meter(sim.authority(), {"--upstream-concurrency", "2"});
  std::vector<std::string> inputs;
  for (int i = 0; i < 10; ++i) {
    inputs.push_back("@sleep=200;a" + std::to_string(i));
  }
  auto started = steady::now();
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  auto wall = ms_between(started, steady::now());
  auto stats = sim_stats(sim.authority());
  INFO(stats.raw);
  check_aligned(sim.authority(), r, "all-minilm", inputs);
  CHECK(stats.embed_peak == 2);
  CHECK(stats.rejected_busy == 0);
  CHECK(wall >= 5 * 200);
  CHECK(wall < 5 * 200 + 3000);
}

TEST_CASE("C03: --upstream-concurrency is shared by all clients", "[embed][limits][C03]") {
  auto sim = start_sim({"--runner", "parallel", "--slots", "3", "--max-queue", "0"});
  auto meter = start_meter(sim.authority(), {"--upstream-concurrency", "3", "--max-fanout", "8"});
  auto send = [&](int client) {
    std::vector<std::string> inputs;
    for (int i = 0; i < 6; ++i) {
      inputs.push_back("@sleep=150;c" + std::to_string(client) + "-" + std::to_string(i));
    }
    return request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  };
  std::vector<std::future<http_response>> clients;
  for (int c = 0; c < 4; ++c) {
    clients.push_back(std::async(std::launch::async, send, c));
  }
  for (auto& c : clients) {
    auto r = c.get();
    INFO(r.body.substr(0, 300));
    CHECK(r.status == 200);
    CHECK(raw_vectors(r.body).size() == 6);
  }
  auto stats = sim_stats(sim.authority());
  INFO(stats.raw);
  CHECK(stats.embed_peak <= 3);
  CHECK(stats.rejected_busy == 0);
  CHECK(stats.embed_calls == 24);
}

TEST_CASE(
    "C04: a 600-input batch against a 1-slot upstream with a queue of 8 succeeds with bounded "
    "descriptors",
    "[embed][limits][C04]") {
  auto sim = start_sim({"--runner", "serial", "--max-queue", "8"});
  auto meter = start_meter(sim.authority(), {"--upstream-concurrency", "8"});
  std::vector<std::string> inputs;
  for (int i = 0; i < 600; ++i) {
    inputs.push_back("t" + std::to_string(i));
  }
  long baseline = open_fds(meter.pid());
  std::atomic<bool> done{false};
  std::atomic<long> peak{0};
  std::thread sampler([&] {
    while (!done.load()) {
      peak = std::max(peak.load(), open_fds(meter.pid()));
      std::this_thread::sleep_for(2ms);
    }
  });
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("bge-m3", inputs),
                   json_headers, 120s);
  done = true;
  sampler.join();
  INFO(meter.stderr_text().substr(0, 3000));
  INFO(r.body.substr(0, 300));
  REQUIRE(r.status == 200);
  auto j = parse_json(r.body);
  auto vectors = raw_vectors(r.body);
  REQUIRE(vectors.size() == 600);
  REQUIRE(j["embedding_durations"].size() == 600);
  for (std::size_t i : {0u, 1u, 299u, 598u, 599u}) {
    CHECK(vectors[i] == direct_vector(sim.authority(), "bge-m3", inputs[i]));
  }
  auto stats = sim_stats(sim.authority());
  INFO(stats.raw);
  CHECK(stats.rejected_busy == 0);
  CHECK(stats.embed_peak <= 8);
  CHECK(stats.embed_not_single == 0);
  // 8 upstream sockets, the client, the listener, the pool and a few of the runtime's own.
  CHECK(peak - baseline <= 24);
}

TEST_CASE("C04: several 600-input clients at once keep the proxy's descriptors bounded",
          "[embed][limits][C04]") {
  auto sim = start_sim({"--runner", "parallel", "--slots", "8", "--max-queue", "8"});
  auto meter = start_meter(sim.authority(), {"--upstream-concurrency", "8"});
  long baseline = open_fds(meter.pid());
  std::atomic<bool> done{false};
  std::atomic<long> peak{0};
  std::thread sampler([&] {
    while (!done.load()) {
      peak = std::max(peak.load(), open_fds(meter.pid()));
      std::this_thread::sleep_for(2ms);
    }
  });
  std::vector<std::future<http_response>> clients;
  for (int c = 0; c < 4; ++c) {
    clients.push_back(std::async(std::launch::async, [&, c] {
      std::vector<std::string> inputs;
      for (int i = 0; i < 600; ++i) {
        inputs.push_back("c" + std::to_string(c) + "t" + std::to_string(i));
      }
      return request(meter.authority(), "POST", "/api/embed", embed_body("bge-m3", inputs),
                     json_headers, 180s);
    }));
  }
  std::vector<http_response> results;
  for (auto& c : clients) {
    results.push_back(c.get());
  }
  done = true;
  sampler.join();
  for (const auto& r : results) {
    INFO(r.body.substr(0, 300));
    CHECK(r.status == 200);
    CHECK(raw_vectors(r.body).size() == 600);
  }
  CHECK(sim_stats(sim.authority()).rejected_busy == 0);
  CHECK(peak - baseline <= 32);
}

TEST_CASE("C04: a 503 from a full upstream queue fails the batch with the upstream body unchanged",
          "[embed][failure][C04]") {
  // Upstream: one slot, a queue of 1; the proxy lets 12 calls go at once, so most are rejected.
  auto sim = start_sim({"--runner", "serial", "--max-queue", "1", "--call-cost-ms", "100"});
  auto meter = start_meter(sim.authority(), {"--upstream-concurrency", "12", "--max-fanout", "12"});
  std::vector<std::string> inputs;
  for (int i = 0; i < 12; ++i) {
    inputs.push_back("q" + std::to_string(i));
  }
  auto r =
      request(meter.authority(), "POST", "/api/embed", embed_body("bge-m3", inputs), json_headers);
  INFO(r.body.substr(0, 500));
  // Never a 200 with holes: either all 12 vectors (retried) or Ollama's 503 as sent.
  if (r.status == 200) {
    CHECK(raw_vectors(r.body).size() == 12);
  } else {
    CHECK(r.status == 503);
    CHECK(r.body ==
          R"({"error":"server busy, please try again.  maximum pending requests exceeded"})");
    CHECK(r.header("content-type") == "application/json; charset=utf-8");
  }
  CHECK(sim_stats(sim.authority()).rejected_busy > 0);
}
