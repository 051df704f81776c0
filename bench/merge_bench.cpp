// bench_merge: the /api/embed reassembly step alone (512 single-input replies of 1024 dimensions),
// ollama-meter's path (reserve_padding + parse_embed_part per reply, one merge_embed_reply) against
// a naive baseline that parses each reply with nlohmann/json and dumps the merged object. Both
// report bytes/s of sub-reply text consumed. Before timing, both outputs are checked to agree.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "proxy/embed_merge.hpp"
#include "proxy/embed_split.hpp"
#include "tests/sim/go_format.hpp"

namespace {

constexpr std::string_view model_token = "\"nomic-embed-text\"";

// Replies as Ollama writes them: a unit-length float32 vector in Go's shortest text, then counts.
std::vector<std::string> make_replies(std::size_t inputs, std::size_t dims) {
  std::mt19937_64 rng{42};
  std::normal_distribution<float> normal{0.0f, 1.0f};
  std::uniform_int_distribution<std::int64_t> tokens{3, 40};
  std::vector<std::string> replies;
  replies.reserve(inputs);
  std::vector<float> v(dims);
  for (std::size_t i = 0; i < inputs; ++i) {
    double norm = 0;
    for (float& x : v) {
      x = normal(rng);
      norm += static_cast<double>(x) * x;
    }
    const float scale = static_cast<float>(1.0 / std::sqrt(norm));
    std::string body = "{\"model\":";
    body.append(model_token).append(",\"embeddings\":[[");
    for (std::size_t d = 0; d < dims; ++d) {
      if (d != 0) {
        body.push_back(',');
      }
      meter::sim::append_go_float32(body, v[d] * scale);
    }
    body.append("]],\"total_duration\":")
        .append(std::to_string(14'000'000 + i * 1'000))
        .append(",\"load_duration\":")
        .append(std::to_string(1'000'000 + i))
        .append(",\"prompt_eval_count\":")
        .append(std::to_string(tokens(rng)))
        .append("}");
    body.shrink_to_fit();
    replies.push_back(std::move(body));
  }
  return replies;
}

std::size_t total_bytes(const std::vector<std::string>& replies) {
  std::size_t n = 0;
  for (const auto& r : replies) {
    n += r.size();
  }
  return n;
}

// ollama-meter's path: each body gets simdjson's padding, is parsed, then all are merged.
std::optional<std::string> meter_merge(std::vector<std::string>& bodies) {
  std::vector<meter::embed_result> results(bodies.size());
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    meter::reserve_padding(bodies[i]);
    auto part = meter::parse_embed_part(bodies[i]);
    if (!part) {
      return std::nullopt;
    }
    results[i] = meter::embed_result{*part, static_cast<std::int64_t>(2'000'000 + i)};
  }
  return meter::merge_embed_reply(results.front().part.model, results, 150'000'000);
}

// The naive baseline: a full DOM per reply, a merged DOM, one dump.
std::string naive_merge(const std::vector<std::string>& bodies) {
  nlohmann::json merged = nlohmann::json::object();
  nlohmann::json embeddings = nlohmann::json::array();
  nlohmann::json durations = nlohmann::json::array();
  nlohmann::json counts = nlohmann::json::array();
  std::int64_t load = 0;
  std::int64_t prompt = 0;
  std::string model;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    auto reply = nlohmann::json::parse(bodies[i]);
    if (model.empty()) {
      model = reply.at("model").get<std::string>();
    }
    embeddings.push_back(std::move(reply.at("embeddings").at(0)));
    load = std::max(load, reply.value("load_duration", std::int64_t{0}));
    const auto count = reply.value("prompt_eval_count", std::int64_t{0});
    prompt += count;
    durations.push_back(static_cast<std::int64_t>(2'000'000 + i));
    counts.push_back(count);
  }
  merged["model"] = model;
  merged["embeddings"] = std::move(embeddings);
  merged["total_duration"] = 150'000'000;
  merged["load_duration"] = load;
  merged["prompt_eval_count"] = prompt;
  merged["embedding_durations"] = std::move(durations);
  merged["embedding_prompt_eval_counts"] = std::move(counts);
  return merged.dump();
}

// Fresh copies as each iteration's input (made outside the timed region): with exact capacity, as
// Beast's string_body reserves a Content-Length body, or already padded for simdjson.
std::vector<std::string> fresh_copies(const std::vector<std::string>& replies,
                                      std::size_t spare = 0) {
  std::vector<std::string> copies;
  copies.reserve(replies.size());
  for (const auto& r : replies) {
    std::string c;
    c.reserve(r.size() + spare);
    c.assign(r);
    copies.push_back(std::move(c));
  }
  return copies;
}

// state.range(2) != 0: bodies arrive padded, so reserve_padding copies nothing.
void bm_meter_merge(benchmark::State& state) {
  const auto replies = make_replies(static_cast<std::size_t>(state.range(0)),
                                    static_cast<std::size_t>(state.range(1)));
  const std::size_t spare = state.range(2) != 0 ? simdjson::SIMDJSON_PADDING : 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto bodies = fresh_copies(replies, spare);
    state.ResumeTiming();
    auto merged = meter_merge(bodies);
    if (!merged) {
      state.SkipWithError("parse_embed_part rejected a reply");
      break;
    }
    benchmark::DoNotOptimize(merged->data());
    state.PauseTiming();
    bodies.clear();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(replies)));
}

void bm_naive_merge(benchmark::State& state) {
  const auto replies = make_replies(static_cast<std::size_t>(state.range(0)),
                                    static_cast<std::size_t>(state.range(1)));
  for (auto _ : state) {
    auto merged = naive_merge(replies);
    benchmark::DoNotOptimize(merged.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(replies)));
}

BENCHMARK(bm_meter_merge)
    ->Args({512, 1024, 0})
    ->Args({512, 1024, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_naive_merge)->Args({512, 1024})->Unit(benchmark::kMillisecond);

// Both paths must produce the same reply, or the comparison means nothing.
bool outputs_agree() {
  const auto replies = make_replies(16, 64);
  auto bodies = fresh_copies(replies);
  auto fast = meter_merge(bodies);
  if (!fast) {
    std::fprintf(stderr, "bench_merge: parse_embed_part rejected a generated reply\n");
    return false;
  }
  const auto a = nlohmann::json::parse(*fast);
  const auto b = nlohmann::json::parse(naive_merge(replies));
  if (a != b) {
    std::fprintf(stderr, "bench_merge: the two merges disagree\n");
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  if (!outputs_agree()) {
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
