// ollama-sim as a process: the embedding endpoints' shapes, numbers, errors, framing and faults.
#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_client.hpp"

#include <catch2/catch.hpp>

using namespace meter::test;

namespace {

http_response embed(const child_process& sim, const std::string& body,
                    const std::string& target = "/api/embed") {
  return request(sim.authority(), "POST", target, body, {{"Content-Type", "application/json"}},
                 10s);
}

std::string raw_post(const child_process& sim, const std::string& target, const std::string& body) {
  std::string bytes = "POST " + target + " HTTP/1.1\r\nHost: " + sim.authority() +
                      "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body;
  return raw_exchange(sim.authority(), bytes, 10s);
}

} // namespace

TEST_CASE("sim: /api/embed answers Ollama's shape, key order and content type", "[sim]") {
  auto sim = start_sim({"--dims", "8"});
  auto r = embed(sim, R"({"model":"ALL-MiniLM","input":["hello","world wide"]})");
  REQUIRE(r.status == 200);
  CHECK(r.reason == "OK");
  CHECK(r.header("Content-Type") == "application/json; charset=utf-8");
  CHECK(r.header("Date").has_value());
  CHECK_FALSE(r.header("Server").has_value());
  CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
  CHECK(top_level_keys(r.body) == std::vector<std::string>{"model", "embeddings", "total_duration",
                                                           "load_duration", "prompt_eval_count"});
  auto j = parse_json(r.body);
  CHECK(j["model"] == "ALL-MiniLM");
  REQUIRE(j["embeddings"].size() == 2);
  for (const auto& v : j["embeddings"]) {
    CHECK(v.size() == 8);
    CHECK(l2_norm(v.get<std::vector<double>>()) == Approx(1.0).margin(1e-5));
  }
  CHECK(j["prompt_eval_count"] == 3 + 4);
  CHECK(j["total_duration"].get<long long>() >= j["load_duration"].get<long long>());
  CHECK(r.body.back() == '}');
}

TEST_CASE("sim: vectors are a function of model and text only", "[sim]") {
  auto a = start_sim({"--dims", "16"});
  auto b = start_sim({"--dims", "16"});
  auto one = parse_json(embed(a, R"({"model":"nomic-embed-text","input":["x","y"]})").body);
  auto two = parse_json(embed(b, R"({"model":"NOMIC-EMBED-TEXT:latest","input":["y","x"]})").body);
  CHECK(one["embeddings"][0] == two["embeddings"][1]);
  CHECK(one["embeddings"][1] == two["embeddings"][0]);
  CHECK(one["embeddings"][0] != one["embeddings"][1]);
  auto other = parse_json(embed(a, R"({"model":"bge-m3","input":["x"]})").body);
  CHECK(other["embeddings"][0] != one["embeddings"][0]);
  auto cut =
      parse_json(embed(a, R"({"model":"nomic-embed-text","input":"x","dimensions":4})").body);
  CHECK(cut["embeddings"][0].size() == 4);
}

TEST_CASE("sim: Go's float text for tiny values, -0 and large magnitudes reaches the wire",
          "[sim]") {
  auto sim = start_sim({"--dims", "16"});
  auto unit = embed(sim, R"({"model":"all-minilm","input":"@edge;x"})");
  REQUIRE(unit.status == 200);
  auto numbers = raw_embedding_numbers(unit.body);
  REQUIRE(numbers.size() == 1);
  REQUIRE(numbers[0].size() == 16);
  CHECK(std::vector<std::string>(numbers[0].begin(), numbers[0].begin() + 12) ==
        std::vector<std::string>{"1e-7", "-0", "0", "1e-45", "9.999999e-7", "0.000001",
                                 "1.430923e-8", "-7.227309e-33", "0.000025", "0.0001", "0.1",
                                 "-0.5"});
  auto large = embed(sim, R"({"model":"all-minilm","input":"@edge=large;x"})");
  auto big = raw_embedding_numbers(large.body);
  REQUIRE(big.size() == 1);
  CHECK(std::vector<std::string>(big[0].begin(), big[0].begin() + 7) ==
        std::vector<std::string>{"3.4028235e+38", "1e+21", "100000000000000000000", "15000000000",
                                 "123456790", "100000000", "10000000"});
  auto legacy = embed(sim, R"({"model":"all-minilm","prompt":"@edge=large;x"})", "/api/embeddings");
  REQUIRE(legacy.status == 200);
  auto wide = raw_embedding_numbers(legacy.body);
  REQUIRE(wide.size() == 1);
  CHECK(wide[0][0] == "3.4028234663852886e+38");
  CHECK(wide[0][4] == "123456792");
  CHECK(wide[0][9] == "0.10000000149011612");
  CHECK(wide[0][10] == "1.0000000116860974e-7");
}

TEST_CASE("sim: embed error bodies and statuses are Ollama's", "[sim]") {
  auto sim = start_sim({"--context", "4"});
  struct expectation {
    std::string body;
    unsigned status;
    std::string error;
  };
  const expectation cases[] = {
      {"", 400, "missing request body"},
      {"[1]", 400, "json: cannot unmarshal array into Go value of type api.EmbedRequest"},
      {R"({"model":"m",)", 400, "unexpected EOF"},
      {R"({"input":"x"})", 404, "model '' not found"},
      {R"({"model":"all-minilm","input":["a",1]})", 400, "invalid input type"},
      {R"({"model":"all-minilm","input":{"text":"a"}})", 400, "invalid input type"},
      {R"({"model":"does-not-exist","input":""})", 404,
       "model \"does-not-exist\" not found, try pulling it first"},
      {R"({"model":"all-minilm","truncate":false,"input":"a b c d"})", 400,
       "the input length exceeds the context length"},
      {R"({"model":"all-minilm","input":["a","@status=503;server busy, please try again.  maximum pending requests exceeded"]})",
       503, "server busy, please try again.  maximum pending requests exceeded"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = embed(sim, c.body);
    CHECK(r.status == c.status);
    CHECK(r.header("Content-Type") == "application/json; charset=utf-8");
    CHECK(r.body == ordered_json{{"error", c.error}}.dump());
  }
  auto truncated = parse_json(embed(sim, R"({"model":"all-minilm","input":"a b c d"})").body);
  CHECK(truncated["prompt_eval_count"] == 4);
  auto empty = embed(sim, R"({"model":"all-minilm","input":""})");
  CHECK(empty.status == 200);
  CHECK(empty.body == R"({"model":"all-minilm","embeddings":[]})");
  auto escaped = embed(sim, R"({"model":"<b>&","input":"x"})");
  CHECK(escaped.status == 400);
  CHECK(escaped.body == R"({"error":"invalid model name"})");
}

TEST_CASE("sim: bodies up to 2048 bytes get Content-Length and larger ones are chunked", "[sim]") {
  auto sim = start_sim({"--dims", "768"});
  auto small = parse_response(
      raw_post(sim, "/api/embed", R"({"model":"all-minilm","input":"x","dimensions":8})"));
  CHECK(small.header("Content-Length") == std::to_string(small.body.size()));
  CHECK_FALSE(small.chunked);
  std::string raw = raw_post(sim, "/api/embed", R"({"model":"all-minilm","input":"x"})");
  auto large = parse_response(raw);
  CHECK(large.status == 200);
  CHECK(large.chunked);
  CHECK_FALSE(large.header("Content-Length").has_value());
  CHECK(large.header("Connection") == "close");
  CHECK(large.body.size() > 2048);
  CHECK(parse_json(large.body)["embeddings"][0].size() == 768);
  CHECK(raw.find("\r\n0\r\n\r\n") == raw.size() - 7);
}

TEST_CASE("sim: @chunked forces chunked framing with a chunk extension and a trailer", "[sim]") {
  auto sim = start_sim({"--dims", "4"});
  std::string raw = raw_post(sim, "/api/embed", R"({"model":"all-minilm","input":"@chunked=3;c"})");
  auto r = parse_response(raw);
  REQUIRE(r.status == 200);
  CHECK(r.chunked);
  CHECK(raw.find(";foo=bar\r\n") != std::string::npos);
  CHECK(r.header("Trailer") == "X-Sim-Trailer");
  CHECK(r.trailers == header_list{{"X-Sim-Trailer", "1"}});
  CHECK(parse_json(r.body)["embeddings"][0].size() == 4);
  auto plain = parse_json(embed(sim, R"({"model":"all-minilm","input":"@chunked=3;c"})").body);
  CHECK(plain["embeddings"] == parse_json(r.body)["embeddings"]);
}

TEST_CASE("sim: @status answers its code; the first input to fail decides", "[sim]") {
  auto sim = start_sim({"--dims", "4"});
  auto r = embed(
      sim,
      R"({"model":"all-minilm","input":["ok","@sleep=80;@status=500;late","@status=429;early"]})");
  CHECK(r.status == 429);
  CHECK(r.body == R"({"error":"early"})");
  auto odd = embed(sim, R"({"model":"all-minilm","input":"@status=499;request canceled"})");
  CHECK(odd.status == 499);
  CHECK(odd.reason == "status code 499");
  auto legacy =
      embed(sim, R"({"model":"all-minilm","prompt":"@status=502;bad gateway"})", "/api/embeddings");
  CHECK(legacy.status == 502);
  CHECK(legacy.body == R"({"error":"bad gateway"})");
}

TEST_CASE("sim: @drop sends the head and part of the body, then closes", "[sim]") {
  auto sim = start_sim({"--dims", "64"});
  std::string raw = raw_post(sim, "/api/embed", R"({"model":"all-minilm","input":"@drop;x"})");
  CHECK(raw.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK_THROWS(parse_response(raw));
  CHECK_THROWS(embed(sim, R"({"model":"all-minilm","input":"@drop;x"})"));
  auto after = embed(sim, R"({"model":"all-minilm","input":"x"})");
  CHECK(after.status == 200);
}

TEST_CASE("sim: @hdrdelay holds the status line back", "[sim]") {
  auto sim = start_sim({"--dims", "4"});
  auto s = stream_response(sim.authority(), "POST", "/api/embed",
                           R"({"model":"all-minilm","input":["@hdrdelay=150;a","b"]})", {}, 10s);
  CHECK(s.response.status == 200);
  CHECK(s.head_at - s.sent_at >= 150ms);
  CHECK(parse_json(s.response.body)["embeddings"].size() == 2);
}

TEST_CASE("sim: /api/embeddings and /v1/embeddings keep their own shapes", "[sim]") {
  auto sim = start_sim({"--dims", "4"});
  auto legacy = embed(sim, R"({"model":"all-minilm","prompt":"hi"})", "/api/embeddings");
  CHECK(legacy.status == 200);
  CHECK(top_level_keys(legacy.body) == std::vector<std::string>{"embedding"});
  CHECK(parse_json(legacy.body)["embedding"].size() == 4);
  CHECK(embed(sim, R"({"model":"all-minilm","input":"hi"})", "/api/embeddings").body ==
        R"({"embedding":[]})");
  CHECK(embed(sim, R"({"prompt":"hi"})", "/api/embeddings").status == 400);

  auto v1 = embed(sim, R"({"model":"all-minilm","input":["a","b"]})", "/v1/embeddings");
  CHECK(v1.status == 200);
  CHECK(v1.header("Content-Type") == "application/json");
  CHECK(v1.body.back() == '\n');
  auto j = parse_json(v1.body);
  CHECK(j["object"] == "list");
  CHECK(j["data"][1]["index"] == 1);
  CHECK(j["model"] == "all-minilm");
  CHECK(j["usage"]["total_tokens"] == 6);
  auto missing = embed(sim, R"({"model":"nope","input":"a"})", "/v1/embeddings");
  CHECK(missing.status == 404);
  CHECK(parse_json(missing.body)["error"]["type"] == "not_found_error");
  // The native vector for the same text is the same.
  auto native = parse_json(embed(sim, R"({"model":"all-minilm","input":["a"]})").body);
  CHECK(native["embeddings"][0] == j["data"][0]["embedding"]);
}

// Speed is measured by bench/run (the sim must never be the bottleneck), not asserted here.
TEST_CASE("sim: a 64 x 768 batch is answered in full, every time", "[sim]") {
  auto sim = start_sim({"--dims", "768"});
  std::string body = R"({"model":"all-minilm","input":[)";
  for (int i = 0; i < 64; ++i) {
    body += (i ? ",\"" : "\"") + std::string("input text number ") + std::to_string(i) + "\"";
  }
  body += "]}";
  auto first = embed(sim, body);
  REQUIRE(first.status == 200);
  auto j = parse_json(first.body);
  CHECK(j["embeddings"].size() == 64);
  for (int i = 0; i < 10; ++i) {
    auto again = embed(sim, body);
    CHECK(again.status == 200);
    CHECK(parse_json(again.body)["embeddings"] == j["embeddings"]);
  }
}
