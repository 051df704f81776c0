// ollama-sim: the embedding, generation and pull logic without sockets (error order, shapes).
#include "tests/sim/embed_logic.hpp"
#include "tests/sim/gen_logic.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace meter::sim;

namespace {

struct fixture {
  sim_config cfg;
  model_catalog catalog{cfg.models};
  vector_text_cache cache{1 << 20};

  std::variant<embed_plan, reply> plan(std::string_view body, embed_api api = embed_api::native) {
    return plan_embed(api, body, catalog, cfg);
  }

  reply failure(std::string_view body, embed_api api = embed_api::native) {
    auto p = plan(body, api);
    INFO(body);
    REQUIRE(std::holds_alternative<reply>(p));
    return std::get<reply>(p);
  }

  embed_plan success(std::string_view body, embed_api api = embed_api::native) {
    auto p = plan(body, api);
    INFO(body);
    if (auto* r = std::get_if<reply>(&p)) {
      FAIL(r->body);
    }
    return std::get<embed_plan>(p);
  }
};

std::vector<std::string> keys(const std::string& body) {
  std::vector<std::string> out;
  auto json = nlohmann::ordered_json::parse(body);
  for (auto it = json.begin(); it != json.end(); ++it) {
    out.push_back(it.key());
  }
  return out;
}

} // namespace

TEST_CASE("sim: embed errors come in Ollama's order with its statuses and texts", "[sim]") {
  fixture f;
  auto check = [&](std::string_view body, unsigned status, std::string_view message) {
    reply r = f.failure(body);
    CHECK(r.status == status);
    CHECK(r.body == nlohmann::json{{"error", message}}.dump());
    CHECK(r.headers == header_list{{"Content-Type", "application/json; charset=utf-8"}});
  };
  check("", 400, "missing request body");
  check("null", 404, "model '' not found");
  check(R"({"input":"x"})", 404, "model '' not found");
  check(R"({"model":"  ","input":[1]})", 404, "model '  ' not found");
  check(R"({"model":"bad name","input":"x"})", 400, "invalid model name");
  check(R"({"model":"missing-model","input":[1]})", 400, "invalid input type");
  check(R"({"model":"m","input":{"text":"a"}})", 400, "invalid input type");
  check(R"({"model":"m","input":[null]})", 400, "invalid input type");
  check(R"({"model":"missing-model","input":["x","y"]})", 404,
        "model \"missing-model\" not found, try pulling it first");
  check(R"({"model":"all-minilm","input":"x","options":{"num_ctx":"x"}})", 500,
        "option \"num_ctx\" must be of type integer");
}

TEST_CASE("sim: embed inputs are read like Ollama's (empty string is none, [\"\"] is one)",
          "[sim]") {
  fixture f;
  CHECK(f.success(R"({"model":"all-minilm","input":""})").inputs.empty());
  CHECK(f.success(R"({"model":"all-minilm"})").inputs.empty());
  CHECK(f.success(R"({"model":"all-minilm","input":[]})").inputs.empty());
  CHECK(f.success(R"({"model":"all-minilm","input":[""]})").inputs.size() == 1);
  auto two = f.success(R"({"model":"ALL-MINILM:latest","input":["a","@sleep=5;b"]})");
  CHECK(two.inputs.size() == 2);
  CHECK(two.model_key == "all-minilm:latest");
  CHECK(two.inputs[1].ctl.sleep_ms == 5u);
  CHECK_FALSE(two.single_string_array);
  CHECK(f.success(R"({"model":"all-minilm","input":["a"]})").single_string_array);
}

TEST_CASE("sim: a zero-input embed answers exactly model and an empty list", "[sim]") {
  fixture f;
  auto plan = f.success(R"({"model":"All-MiniLM","input":""})");
  reply r = embed_success(plan, f.cfg, f.cache, {123, 45});
  CHECK(r.body == R"({"model":"All-MiniLM","embeddings":[]})");
}

TEST_CASE("sim: embed success keeps Go's key order and omits zero values", "[sim]") {
  fixture f;
  f.cfg.dims = 8;
  auto plan = f.success(R"({"model":"all-minilm","input":["a","b"]})");
  reply full = embed_success(plan, f.cfg, f.cache, {1000, 10});
  CHECK(keys(full.body) == std::vector<std::string>{"model", "embeddings", "total_duration",
                                                    "load_duration", "prompt_eval_count"});
  auto json = nlohmann::json::parse(full.body);
  CHECK(json["embeddings"].size() == 2);
  CHECK(json["embeddings"][0].size() == 8);
  CHECK(json["prompt_eval_count"] == 6);
  reply no_load = embed_success(plan, f.cfg, f.cache, {1000, 0});
  CHECK(keys(no_load.body) ==
        std::vector<std::string>{"model", "embeddings", "total_duration", "prompt_eval_count"});
}

TEST_CASE("sim: truncate:false and control statuses become per-input errors", "[sim]") {
  fixture f;
  f.cfg.context = 4;
  auto plan = f.success(
      R"({"model":"all-minilm","truncate":false,"input":["a b","a b c","@status=429;slow down"]})");
  CHECK_FALSE(plan.inputs[0].error.has_value());
  REQUIRE(plan.inputs[1].error.has_value());
  CHECK(plan.inputs[1].error->status == 400);
  CHECK(plan.inputs[1].error->message == "the input length exceeds the context length");
  REQUIRE(plan.inputs[2].error.has_value());
  CHECK(plan.inputs[2].error->status == 429);
  CHECK(plan.inputs[2].error->message == "slow down");
  auto truncated = f.success(R"({"model":"all-minilm","input":["a b c d e"]})");
  CHECK(truncated.inputs[0].tokens == 4);
  CHECK(truncated.inputs[0].used_bytes == 3);
  auto lowered = f.success(R"({"model":"all-minilm","input":["a b c"],"options":{"num_ctx":3}})");
  CHECK(lowered.inputs[0].tokens == 3);
}

TEST_CASE("sim: /v1/embeddings uses the OpenAI shapes", "[sim]") {
  fixture f;
  f.cfg.dims = 4;
  auto plan = f.success(R"({"model":"all-minilm","input":["a","b"]})", embed_api::openai);
  reply ok = embed_success(plan, f.cfg, f.cache, {1, 1});
  CHECK(ok.headers == header_list{{"Content-Type", "application/json"}});
  CHECK(ok.body.back() == '\n');
  CHECK(keys(ok.body) == std::vector<std::string>{"object", "data", "model", "usage"});
  auto json = nlohmann::json::parse(ok.body);
  CHECK(json["data"][1]["index"] == 1);
  CHECK(json["usage"]["prompt_tokens"] == 6);
  CHECK(json["usage"]["total_tokens"] == 6);
  CHECK(f.success(R"({"model":"all-minilm","input":""})", embed_api::openai).inputs.size() == 1);

  reply missing = f.failure(R"({"model":"all-minilm"})", embed_api::openai);
  CHECK(missing.status == 400);
  CHECK(nlohmann::json::parse(missing.body)["error"]["message"] == "invalid input");
  reply not_found = f.failure(R"({"model":"x","input":"a"})", embed_api::openai);
  CHECK(not_found.status == 404);
  CHECK(not_found.body ==
        "{\"error\":{\"message\":\"model \\\"x\\\" not found, try pulling it first\","
        "\"type\":\"not_found_error\",\"param\":null,\"code\":null}}\n");
  reply format =
      f.failure(R"({"model":"all-minilm","input":"a","encoding_format":"hex"})", embed_api::openai);
  CHECK(nlohmann::json::parse(format.body)["error"]["message"] ==
        "Invalid value for 'encoding_format' = hex. Supported values: ['float', 'base64'].");
  auto b64 = f.success(R"({"model":"all-minilm","input":"a","encoding_format":"BASE64"})",
                       embed_api::openai);
  CHECK(b64.base64);
  CHECK(
      nlohmann::json::parse(embed_success(b64, f.cfg, f.cache, {1, 1}).body)["data"][0]["embedding"]
          .is_string());
}

TEST_CASE("sim: /api/embeddings answers float64 text, model is required, errors are 500", "[sim]") {
  fixture f;
  f.cfg.dims = 4;
  f.cfg.context = 3;
  auto plan = f.success(R"({"model":"all-minilm","prompt":"@edge=large;x"})", embed_api::legacy);
  reply ok = embed_success(plan, f.cfg, f.cache, {1, 1});
  CHECK(ok.body == R"({"embedding":[3.4028234663852886e+38,1.0000000200408773e+21,)"
                   R"(100000002004087730000,15000000512]})");
  CHECK(embed_success(f.success(R"({"model":"all-minilm"})", embed_api::legacy), f.cfg, f.cache,
                      {1, 1})
            .body == R"({"embedding":[]})");
  reply required = f.failure(R"({"prompt":"x"})", embed_api::legacy);
  CHECK(required.status == 400);
  CHECK(required.body == R"({"error":"model is required"})");
  auto too_long = f.success(R"({"model":"all-minilm","prompt":"a b c"})", embed_api::legacy);
  REQUIRE(too_long.inputs[0].error.has_value());
  CHECK(too_long.inputs[0].error->status == 500);
}

TEST_CASE("sim: generation is deterministic and shaped like Ollama's stream", "[sim]") {
  fixture f;
  auto planned = plan_generation(false, R"({"model":"llama3.2","prompt":"hi"})", f.catalog, f.cfg);
  REQUIRE(std::holds_alternative<generation_plan>(planned));
  auto& plan = std::get<generation_plan>(planned);
  CHECK(plan.tokens.size() == f.cfg.gen_tokens);
  auto again = std::get<generation_plan>(
      plan_generation(false, R"({"model":"llama3.2","prompt":"hi"})", f.catalog, f.cfg));
  CHECK(again.tokens == plan.tokens);
  std::string line = generation_line(plan, 0, "T");
  CHECK(line.back() == '\n');
  CHECK(keys(line) == std::vector<std::string>{"model", "created_at", "response", "done"});
  generation_metrics m{10, 2, 3, 4};
  auto last = generation_final_line(plan, "T", m);
  CHECK(keys(last) ==
        std::vector<std::string>{"model", "created_at", "response", "done", "done_reason",
                                 "context", "total_duration", "load_duration", "prompt_eval_count",
                                 "prompt_eval_duration", "eval_count", "eval_duration"});

  auto chat = std::get<generation_plan>(plan_generation(
      true, R"({"model":"llama3.2","messages":[{"role":"user","content":"@gap=5;hi"}],
               "options":{"num_predict":3},"stream":false})",
      f.catalog, f.cfg));
  CHECK(chat.tokens.size() == 3);
  CHECK(chat.ctl.gap_ms == 5u);
  CHECK_FALSE(chat.stream);
  CHECK(keys(generation_line(chat, 0, "T")) ==
        std::vector<std::string>{"model", "created_at", "message", "done"});
  CHECK(keys(generation_single(chat, "T", m)) ==
        std::vector<std::string>{"model", "created_at", "message", "done_reason", "done",
                                 "total_duration", "load_duration", "prompt_eval_count",
                                 "prompt_eval_duration", "eval_count", "eval_duration"});
}

TEST_CASE("sim: generation refuses unknown and embedding-only models", "[sim]") {
  fixture f;
  auto missing = plan_generation(false, R"({"model":"nope","prompt":"x"})", f.catalog, f.cfg);
  REQUIRE(std::holds_alternative<reply>(missing));
  CHECK(std::get<reply>(missing).status == 404);
  auto embed_only =
      plan_generation(false, R"({"model":"all-minilm","prompt":"x"})", f.catalog, f.cfg);
  REQUIRE(std::holds_alternative<reply>(embed_only));
  CHECK(std::get<reply>(embed_only).body ==
        R"({"error":"\"all-minilm\" does not support generate"})");
  auto load = std::get<generation_plan>(
      plan_generation(false, R"({"model":"llama3.2"})", f.catalog, f.cfg));
  CHECK(load.load_only);
  CHECK(generation_load_reply(load, "T") ==
        R"({"model":"llama3.2","created_at":"T","response":"","done":true,"done_reason":"load"})");
}

TEST_CASE("sim: pull plans the progress lines and strips control prefixes", "[sim]") {
  auto planned = plan_pull(R"({"model":"@gap=10;nomic-embed-text"})");
  REQUIRE(std::holds_alternative<pull_plan>(planned));
  auto& plan = std::get<pull_plan>(planned);
  CHECK(plan.model == "nomic-embed-text");
  CHECK(plan.ctl.gap_ms == 10u);
  REQUIRE(plan.lines.size() == 7);
  CHECK(plan.lines.front() == "{\"status\":\"pulling manifest\"}\n");
  CHECK(plan.lines[1].find("\"digest\":\"sha256:") != std::string::npos);
  CHECK(plan.lines[1].find("\"completed\"") == std::string::npos);
  CHECK(plan.lines[2].find("\"completed\"") != std::string::npos);
  CHECK(plan.lines[4] == "{\"status\":\"verifying sha256 digest\"}\n");
  CHECK(plan.lines[5] == "{\"status\":\"writing manifest\"}\n");
  CHECK(plan.lines[6] == "{\"status\":\"success\"}\n");
  auto invalid = plan_pull(R"({"model":""})");
  REQUIRE(std::holds_alternative<reply>(invalid));
  CHECK(std::get<reply>(invalid).body == R"({"error":"invalid model name"})");
}

TEST_CASE("sim: model names match case-insensitively with an implied latest tag", "[sim]") {
  model_catalog catalog({"all-minilm", "library/bge-m3:latest", "me/custom:v1"});
  auto canonical = [](std::string_view raw) {
    return std::get<model_name>(parse_model_name(raw)).canonical;
  };
  CHECK(catalog.find(canonical("ALL-MINILM")));
  CHECK(catalog.find(canonical(" all-minilm:latest ")));
  CHECK(catalog.find(canonical("registry.ollama.ai/library/bge-m3")));
  CHECK(catalog.find(canonical("me/custom:V1")));
  CHECK_FALSE(catalog.find(canonical("all-minilm:v2")));
  CHECK(std::holds_alternative<model_missing>(parse_model_name(" ")));
  CHECK(std::holds_alternative<model_invalid>(parse_model_name("-bad")));
  CHECK(std::holds_alternative<model_invalid>(parse_model_name("a b")));
}
