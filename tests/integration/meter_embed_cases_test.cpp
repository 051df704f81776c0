// Field cases about what /api/embed forwards: empty and invalid input (C05), every other member
// kept byte for byte (C07), only exact POST /api/embed is split (C08), the model echoed as sent and
// the upstream's 404 relayed (C09), chunked bodies in and chunked sub-responses back (C18).
#include "tests/integration/meter_harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

using namespace meter::test;
using namespace std::chrono_literals;

namespace {

const header_list json_headers{{"Content-Type", "application/json"}};

// The answer without the members that change from call to call.
ordered_json without_timings(const std::string& body) {
  auto j = parse_json(body);
  if (j.is_object()) {
    for (const char* key : {"total_duration", "load_duration", "created", "created_at"}) {
      j.erase(key);
    }
  }
  return j;
}

// Sends `body` straight to the sim, then through the proxy: the proxy must forward it unchanged
// in exactly one upstream call and relay the same answer.
void check_forwarded_unchanged(const std::string& sim, const std::string& meter,
                               const std::string& target, const std::string& body) {
  INFO("body: " << body);
  auto direct = request(sim, "POST", target, body, json_headers);
  sim_reset(sim);
  auto r = request(meter, "POST", target, body, json_headers);
  INFO("direct: " << direct.status << " " << direct.body.substr(0, 300));
  INFO("proxy: " << r.status << " " << r.body.substr(0, 300));
  CHECK(r.status == direct.status);
  CHECK(r.reason == direct.reason);
  CHECK(r.header("content-type") == direct.header("content-type"));
  CHECK(r.body.find("embedding_durations") == std::string::npos);
  if (!direct.body.empty() && (direct.body.front() == '{' || direct.body.front() == '[')) {
    CHECK(without_timings(r.body) == without_timings(direct.body));
  } else {
    CHECK(r.body == direct.body);
  }
  auto log = relayed_log(sim);
  REQUIRE(log.size() == 1);
  CHECK(log[0].target == target);
  CHECK(log[0].body == body);
}

// `body` with its `input` value (the text `input_value`, which must occur once) replaced.
std::string replace_input(const std::string& body, const std::string& input_value,
                          const std::string& replacement) {
  auto at = body.find(input_value);
  REQUIRE(at != std::string::npos);
  REQUIRE(body.find(input_value, at + 1) == std::string::npos);
  return body.substr(0, at) + replacement + body.substr(at + input_value.size());
}

std::vector<std::string> embed_bodies(const std::string& sim) {
  std::vector<std::string> out;
  for (const auto& c : embed_calls(sim)) {
    out.push_back(c.body);
  }
  return out;
}

std::string chunked(const std::vector<std::string>& pieces, std::string_view extension = {},
                    std::string_view trailer = {}) {
  std::string out;
  for (const auto& p : pieces) {
    char size[20];
    std::snprintf(size, sizeof size, "%zx", p.size());
    out += std::string(size) + std::string(extension) + "\r\n" + p + "\r\n";
  }
  out += "0\r\n";
  out += trailer;
  out += "\r\n";
  return out;
}

} // namespace

TEST_CASE("C05: an empty string input is forwarded once and answered with no embeddings",
          "[embed][C05]") {
  auto sim = start_sim({"--models", "m,all-minilm"});
  auto meter = start_meter(sim.authority());
  auto body =
      GENERATE(as<std::string>{}, R"({"model":"m","input":""})", R"({"model":"m","input":[]})",
               R"({"model":"m","input":null})", R"({"model":"m"})",
               R"({"model":"m","keep_alive":-1})", R"({"model":"m","input":[],"keep_alive":"5m"})");
  check_forwarded_unchanged(sim.authority(), meter.authority(), "/api/embed", body);
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  REQUIRE(r.status == 200);
  auto j = parse_json(r.body);
  CHECK(j["model"] == "m");
  CHECK(j["embeddings"] == ordered_json::array());
}

TEST_CASE("C05: an empty input for an unknown model still reaches the upstream and relays its 404",
          "[embed][C05]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto body = GENERATE(as<std::string>{}, R"({"model":"does-not-exist","input":""})",
                       R"({"model":"does-not-exist","input":[]})",
                       R"({"model":"does-not-exist","keep_alive":-1})");
  check_forwarded_unchanged(sim.authority(), meter.authority(), "/api/embed", body);
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  CHECK(r.status == 404);
  CHECK(r.body == R"({"error":"model \"does-not-exist\" not found, try pulling it first"})");
}

TEST_CASE("C05: preloading with keep_alive -1 forwards the number -1 unchanged", "[embed][C05]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority());
  std::string body = R"({"model":"m","keep_alive":-1})";
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  CHECK(r.status == 200);
  auto log = embed_calls(sim.authority());
  REQUIRE(log.size() == 1);
  CHECK(log[0].body == body);
  CHECK(parse_json(log[0].body)["keep_alive"] == -1);
}

TEST_CASE("C05: an empty element stays one input, sent in array form", "[embed][C05]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority());
  auto r = request(meter.authority(), "POST", "/api/embed", R"({"model":"m","input":["hello",""]})",
                   json_headers);
  INFO(r.body.substr(0, 300));
  REQUIRE(r.status == 200);
  auto bodies = embed_bodies(sim.authority());
  std::sort(bodies.begin(), bodies.end());
  CHECK(bodies == std::vector<std::string>{R"({"model":"m","input":[""]})",
                                           R"({"model":"m","input":["hello"]})"});
  auto vectors = raw_vectors(r.body);
  REQUIRE(vectors.size() == 2);
  CHECK(vectors[0] == direct_vector(sim.authority(), "m", "hello"));
  CHECK(vectors[1] == direct_vector(sim.authority(), "m", ""));
  CHECK(parse_json(r.body)["embedding_durations"].size() == 2);
}

TEST_CASE("C05: invalid input types get Ollama's own 400 through an unchanged forward",
          "[embed][C05]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority());
  auto body = GENERATE(as<std::string>{}, R"({"model":"m","input":["a",1]})",
                       R"({"model":"m","input":{"text":"a"}})", R"({"model":"m","input":5})",
                       R"({"model":"m","input":true})", R"({"model":"m","input":[["a"]]})",
                       R"({"model":"m","input":["a",null]})");
  check_forwarded_unchanged(sim.authority(), meter.authority(), "/api/embed", body);
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  CHECK(r.status == 400);
  CHECK(r.body == R"({"error":"invalid input type"})");
}

TEST_CASE("C05: bodies that are not in plain form are forwarded unchanged in one call",
          "[embed][C05]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority());
  auto body = GENERATE(
      as<std::string>{}, R"({"model":"m","Input":["a","b"]})", // Go binds Input
      R"({"model":"m","INPUT":["a","b"]})", R"({"model":"m","input":["a"],"Input":["b","c"]})",
      R"({"model":"m","input":["a","b"],"input":["c"]})", // duplicate key
      R"({"model":"m","input":["a","b"])",                // truncated JSON
      R"({"model":"m","input":["a","b"]} trailing)", R"([{"model":"m","input":["a"]}])",
      R"("just a string")", R"({"model":"m","input":["a","b"],})", "");
  check_forwarded_unchanged(sim.authority(), meter.authority(), "/api/embed", body);
}

TEST_CASE("embed: a batch above --max-split-inputs goes to Ollama whole, one above is split",
          "[embed][limits]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority(), {"--max-split-inputs", "3"});
  check_forwarded_unchanged(sim.authority(), meter.authority(), "/api/embed",
                            embed_body("m", {"a", "b", "c", "d"}));
  sim_reset(sim.authority());
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("m", {"a", "b", "c"}),
                   json_headers);
  CHECK(r.status == 200);
  CHECK(parse_json(r.body)["embedding_durations"].size() == 3);
  CHECK(embed_calls(sim.authority()).size() == 3);
}

TEST_CASE("C05: an escaped input key gets the same vectors as Ollama, split or not",
          "[embed][C05]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority());
  std::string body = R"({"model":"m","\u0069nput":["a","b"]})";
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  auto calls = embed_calls(sim.authority());
  auto direct = request(sim.authority(), "POST", "/api/embed", body, json_headers);
  REQUIRE(direct.status == 200);
  CHECK(r.status == 200);
  CHECK(raw_vectors(r.body) == raw_vectors(direct.body));
  // Either one unchanged forward or one single-input call per input.
  bool forwarded = calls.size() == 1 && calls[0].body == body;
  bool split = calls.size() == 2;
  CHECK((forwarded || split));
  if (split) {
    for (const auto& c : calls) {
      CHECK(c.body.find("\\u0069nput\":[\"") != std::string::npos);
      CHECK(parse_json(c.body)["input"].size() == 1);
    }
  }
}

TEST_CASE("C07: every other request member reaches each sub-call with its exact bytes and type",
          "[embed][C07]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::string input_value =
      R"(["short","@status=400;the input length exceeds the context length"])";
  std::string body =
      R"({"model":"all-minilm","input":)" + input_value +
      R"(,"truncate":false,"dimensions":256,"keep_alive":-1,"options":{"num_ctx":512},"x_future":{"a":[1,true,null]}})";
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  CHECK(r.status == 400);
  CHECK(r.body == R"({"error":"the input length exceeds the context length"})");
  auto bodies = embed_bodies(sim.authority());
  REQUIRE_FALSE(bodies.empty());
  std::vector<std::string> allowed{
      replace_input(body, input_value, R"(["short"])"),
      replace_input(body, input_value,
                    R"(["@status=400;the input length exceeds the context length"])")};
  CHECK(std::count(bodies.begin(), bodies.end(), allowed[1]) == 1);
  for (const auto& b : bodies) {
    INFO(b);
    CHECK(std::find(allowed.begin(), allowed.end(), b) != allowed.end());
    auto j = parse_json(b);
    CHECK(j["truncate"] == false);
    CHECK(j["dimensions"] == 256);
    CHECK(j["keep_alive"] == -1);
    CHECK(j["options"]["num_ctx"] == 512);
    CHECK(j["x_future"].dump() == R"({"a":[1,true,null]})");
  }
}

TEST_CASE("C07: keep_alive as a string and dimensions reach the sub-calls and shape the vectors",
          "[embed][C07]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::string input_value = R"(["short","also short"])";
  std::string body =
      R"({"model":"all-minilm","input":)" + input_value +
      R"(,"truncate":false,"dimensions":256,"keep_alive":"10m","options":{"num_ctx":512}})";
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  INFO(r.body.substr(0, 300));
  REQUIRE(r.status == 200);
  auto bodies = embed_bodies(sim.authority());
  std::sort(bodies.begin(), bodies.end());
  std::vector<std::string> expected{replace_input(body, input_value, R"(["also short"])"),
                                    replace_input(body, input_value, R"(["short"])")};
  std::sort(expected.begin(), expected.end());
  CHECK(bodies == expected);
  for (const auto& v : raw_embedding_numbers(r.body)) {
    CHECK(v.size() == 256);
  }
  // Same vectors as a direct batch call with the same members.
  auto direct = request(sim.authority(), "POST", "/api/embed", body, json_headers);
  CHECK(raw_vectors(r.body) == raw_vectors(direct.body));
}

TEST_CASE("C07: whitespace, key order and escapes around input are kept byte for byte",
          "[embed][C07]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::string input_value = "[ \"a\" ,\n  \"b\\u00e9\" ]";
  auto body = GENERATE_COPY(
      "{ \"input\" : " + input_value + " , \"model\" : \"all-minilm\" }",
      "{\n  \"model\": \"all-minilm\",\n  \"options\": { \"num_ctx\" : 512 },\n  \"input\": " +
          input_value + "\n}\n",
      "  {\"model\":\"all-minilm\",\"note\":\"input\",\"input\":" + input_value +
          ",\"keep_alive\":1e3}  ");
  auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
  INFO(body);
  INFO(r.body.substr(0, 300));
  REQUIRE(r.status == 200);
  auto bodies = embed_bodies(sim.authority());
  std::sort(bodies.begin(), bodies.end());
  std::vector<std::string> expected{replace_input(body, input_value, "[\"a\"]"),
                                    replace_input(body, input_value, "[\"b\\u00e9\"]")};
  std::sort(expected.begin(), expected.end());
  CHECK(bodies == expected);
}

TEST_CASE("C08: look-alike embedding routes pass through untouched", "[embed][C08]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority());
  struct route_case {
    std::string target;
    std::string body;
  };
  auto c = GENERATE(route_case{"/api/embeddings", R"({"model":"m","prompt":"hi"})"},
                    route_case{"/api/embeddings", R"({"model":"m","input":"hi"})"},
                    route_case{"/v1/embeddings", R"({"model":"m","input":["a","b"]})"},
                    route_case{"/api/embed/", R"({"model":"m","input":["a","b"]})"},
                    route_case{"/api/embedx", R"({"model":"m","input":["a","b"]})"},
                    route_case{"/API/EMBED", R"({"model":"m","input":["a","b"]})"},
                    route_case{"//api/embed", R"({"model":"m","input":["a","b"]})"},
                    route_case{"/api/embed/../embed", R"({"model":"m","input":["a","b"]})"});
  check_forwarded_unchanged(sim.authority(), meter.authority(), c.target, c.body);
}

TEST_CASE("C08: look-alike routes keep their own shapes and statuses", "[embed][C08]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority());
  auto legacy = request(meter.authority(), "POST", "/api/embeddings",
                        R"({"model":"m","prompt":"hi"})", json_headers);
  CHECK(legacy.status == 200);
  CHECK(top_level_keys(legacy.body) == std::vector<std::string>{"embedding"});
  auto legacy_input = request(meter.authority(), "POST", "/api/embeddings",
                              R"({"model":"m","input":"hi"})", json_headers);
  CHECK(legacy_input.body == R"({"embedding":[]})");
  auto openai = request(meter.authority(), "POST", "/v1/embeddings",
                        R"({"model":"m","input":["a","b"]})", json_headers);
  REQUIRE(openai.status == 200);
  auto oj = parse_json(openai.body);
  REQUIRE(oj["data"].size() == 2);
  CHECK(oj["data"][1]["index"] == 1);
  auto slash = request(meter.authority(), "POST", "/api/embed/", R"({"model":"m","input":["a"]})",
                       json_headers);
  CHECK(slash.status == 307);
  CHECK(slash.header("location") == "/api/embed");
  auto get = request(meter.authority(), "GET", "/api/embed");
  CHECK(get.status == 405);
  CHECK(get.header("allow") == "POST");
  auto other = request(meter.authority(), "POST", "/api/embedx", "{}", json_headers);
  CHECK(other.status == 404);
  CHECK(other.body == "404 page not found");
}

TEST_CASE("C08: a query string on /api/embed is still split and copied to every sub-call",
          "[embed][C08]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority());
  auto r = request(meter.authority(), "POST", "/api/embed?trace=1",
                   R"({"model":"m","input":["a","b"]})", json_headers);
  REQUIRE(r.status == 200);
  CHECK(parse_json(r.body)["embedding_durations"].size() == 2);
  auto calls = embed_calls(sim.authority());
  REQUIRE(calls.size() == 2);
  for (const auto& c : calls) {
    CHECK(c.target == "/api/embed?trace=1");
  }
}

TEST_CASE("C09: the model is echoed exactly as sent", "[embed][C09]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto model = GENERATE(as<std::string>{}, "nomic-embed-text", "NOMIC-EMBED-TEXT",
                        "nomic-embed-text:latest", "Nomic-Embed-Text:LATEST");
  auto r =
      request(meter.authority(), "POST", "/api/embed", embed_body(model, {"x", "y"}), json_headers);
  INFO(r.body.substr(0, 300));
  REQUIRE(r.status == 200);
  CHECK(r.body.rfind("{\"model\":" + ordered_json(model).dump() + ",\"embeddings\":[", 0) == 0);
  CHECK(raw_vectors(r.body).size() == 2);
}

TEST_CASE("C09: an unknown model gives one relayed 404, not a 500 or joined errors",
          "[embed][C09]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto inputs = GENERATE(std::vector<std::string>{"x", "y"}, std::vector<std::string>{"x"},
                         std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h", "i"});
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("missing-model", inputs),
                   json_headers);
  CHECK(r.status == 404);
  CHECK(r.reason == "Not Found");
  CHECK(r.body == R"({"error":"model \"missing-model\" not found, try pulling it first"})");
  CHECK(r.header("content-type") == "application/json; charset=utf-8");
}

TEST_CASE("C18: a chunked request body and chunked sub-responses give one aligned answer",
          "[embed][C18]") {
  auto dims = GENERATE(as<std::string>{}, "8", "768");
  auto sim = start_sim({"--models", "m", "--dims", dims});
  auto meter = start_meter(sim.authority());
  std::vector<std::string> inputs{"a", "@chunked=3;b", "@chunked=5;c"};
  std::string body = embed_body("m", inputs);
  std::string framed = chunked({body.substr(0, 10), body.substr(10, 17), body.substr(27)});
  std::string raw = "POST /api/embed HTTP/1.1\r\nHost: proxy.local:8080\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                    "Connection: close\r\n\r\n" +
                    framed;
  auto got = timed_raw_exchange(meter.authority(), raw, 30s);
  INFO(got.all.substr(0, 600));
  REQUIRE(got.eof);
  auto r = parse_response(got.all);
  REQUIRE(r.status == 200);
  // The merged answer's Content-Length is its real size (nothing follows it).
  auto head_end = got.all.find("\r\n\r\n");
  REQUIRE(r.header("content-length"));
  CHECK(std::stoull(*r.header("content-length")) == got.all.size() - head_end - 4);
  CHECK_FALSE(r.header("transfer-encoding"));
  auto vectors = raw_vectors(r.body);
  REQUIRE(vectors.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(vectors[i] == direct_vector(sim.authority(), "m", inputs[i]));
  }
  for (const auto& c : embed_calls(sim.authority())) {
    INFO(c.body);
    // Sub-requests are framed by the proxy: a Content-Length, never a copied chunked header.
    CHECK_FALSE(c.header("transfer-encoding"));
    REQUIRE(c.header("content-length"));
    CHECK(std::stoull(*c.header("content-length")) == c.body_size);
  }
}

TEST_CASE("C18: a chunked body the proxy cannot split is forwarded with correct framing",
          "[embed][C18]") {
  auto sim = start_sim({"--models", "m"});
  auto meter = start_meter(sim.authority());
  std::string body = R"({"model":"m","input":""})";
  auto r = request(meter.authority(), "POST", "/api/embed",
                   chunked({body.substr(0, 5), body.substr(5)}, ";ext=1", "X-Trailer: t\r\n"),
                   {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}});
  CHECK(r.status == 200);
  auto calls = embed_calls(sim.authority());
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].body == body);
  bool has_length = calls[0].header("content-length").has_value();
  bool has_chunked = calls[0].header("transfer-encoding").has_value();
  CHECK(has_length != has_chunked);
}

TEST_CASE("C18: a chunked request body on pass-through /api/chat reaches the upstream intact",
          "[relay][C18]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::string body =
      R"({"model":"llama3.2","messages":[{"role":"user","content":"hello there"}],"stream":false})";
  auto r = request(meter.authority(), "POST", "/api/chat",
                   chunked({body.substr(0, 7), body.substr(7, 30), body.substr(37)}, ";foo=bar"),
                   {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}});
  INFO(r.body.substr(0, 300));
  CHECK(r.status == 200);
  CHECK(parse_json(r.body)["done"] == true);
  auto log = relayed_log(sim.authority());
  REQUIRE(log.size() == 1);
  CHECK(log[0].body == body);
  CHECK(log[0].body_size == body.size());
  bool has_length = log[0].header("content-length").has_value();
  bool has_chunked = log[0].header("transfer-encoding").has_value();
  CHECK(has_length != has_chunked);
}
