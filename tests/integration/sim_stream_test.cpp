// ollama-sim as a process: NDJSON streaming of generate, chat and pull (cadence, framing, errors).
#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/process.hpp"

#include <catch2/catch.hpp>

using namespace meter::test;

namespace {

std::string raw_post(const child_process& sim, const std::string& target, const std::string& body,
                     const std::string& version = "HTTP/1.1") {
  std::string bytes = "POST " + target + " " + version + "\r\nHost: " + sim.authority() +
                      "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body;
  return raw_exchange(sim.authority(), bytes, 10s);
}

} // namespace

TEST_CASE("sim: generate streams one NDJSON line per chunk, spread over time", "[sim]") {
  auto sim = start_sim({"--token-ms", "60", "--gen-tokens", "5"});
  auto s = stream_response(sim.authority(), "POST", "/api/generate",
                           R"({"model":"llama3.2","prompt":"hi"})", {}, 10s);
  REQUIRE(s.response.status == 200);
  CHECK(s.response.header("Content-Type") == "application/x-ndjson");
  CHECK(s.response.chunked);
  CHECK_FALSE(s.response.header("Content-Length").has_value());
  REQUIRE(s.pieces.size() == 6);
  for (const auto& piece : s.pieces) {
    CHECK(piece.data.back() == '\n');
    CHECK(ndjson_lines(piece.data).size() == 1);
  }
  CHECK(s.pieces.back().at - s.pieces.front().at >= 250ms);
  for (std::size_t i = 1; i < s.pieces.size(); ++i) {
    CHECK(s.pieces[i].at - s.pieces[i - 1].at >= 40ms);
  }
  auto first = parse_json(s.pieces.front().data);
  CHECK(top_level_keys(s.pieces.front().data) ==
        std::vector<std::string>{"model", "created_at", "response", "done"});
  CHECK(first["done"] == false);
  auto last = parse_json(s.pieces.back().data);
  CHECK(last["done"] == true);
  CHECK(last["done_reason"] == "stop");
  CHECK(last["eval_count"] == 5);
  for (const char* key : {"total_duration", "load_duration", "prompt_eval_count",
                          "prompt_eval_duration", "eval_count", "eval_duration"}) {
    INFO(key);
    CHECK(last[key].get<long long>() > 0);
  }
  // Deterministic words: the same prompt streams the same text.
  auto again = request(sim.authority(), "POST", "/api/generate",
                       R"({"model":"llama3.2","prompt":"hi","stream":false})", {}, 10s);
  CHECK(again.header("Content-Type") == "application/json; charset=utf-8");
  std::string streamed;
  for (std::size_t i = 0; i + 1 < s.pieces.size(); ++i) {
    streamed += parse_json(s.pieces[i].data)["response"].get<std::string>();
  }
  CHECK(parse_json(again.body)["response"] == streamed);
  CHECK(parse_json(again.body)["done"] == true);
}

TEST_CASE("sim: chat streams assistant messages and honours num_predict and @gap", "[sim]") {
  auto sim = start_sim({"--token-ms", "5"});
  auto s = stream_response(
      sim.authority(), "POST", "/api/chat",
      R"({"model":"llama3.2","messages":[{"role":"user","content":"@gap=80;hello"}],"options":{"num_predict":3}})",
      {}, 10s);
  REQUIRE(s.pieces.size() == 4);
  CHECK(s.pieces.back().at - s.pieces.front().at >= 220ms);
  auto first = parse_json(s.pieces.front().data);
  CHECK(first["message"]["role"] == "assistant");
  CHECK(first["message"]["content"].get<std::string>().size() > 0);
  auto last = parse_json(s.pieces.back().data);
  CHECK(last["done"] == true);
  CHECK(last["message"]["content"] == "");
  auto load = request(sim.authority(), "POST", "/api/chat", R"({"model":"llama3.2"})");
  CHECK(parse_json(load.body)["done_reason"] == "load");
  auto embedding_model =
      request(sim.authority(), "POST", "/api/chat",
              R"({"model":"all-minilm","messages":[{"role":"user","content":"x"}]})");
  CHECK(embedding_model.status == 400);
  CHECK(embedding_model.body == R"({"error":"\"all-minilm\" does not support chat"})");
}

TEST_CASE("sim: stream errors before the first line are JSON, after it an extra line", "[sim]") {
  auto sim = start_sim({"--token-ms", "5"});
  auto before =
      request(sim.authority(), "POST", "/api/generate",
              R"({"model":"llama3.2","prompt":"@status=500;llama runner process has terminated"})");
  CHECK(before.status == 500);
  CHECK(before.header("Content-Type") == "application/json; charset=utf-8");
  CHECK(before.body == R"({"error":"llama runner process has terminated"})");
  auto after = request(sim.authority(), "POST", "/api/generate",
                       R"({"model":"llama3.2","prompt":"@streamerror=boom;hi"})");
  CHECK(after.status == 200);
  auto lines = ndjson_lines(after.body);
  REQUIRE(lines.size() == 2);
  CHECK(parse_json(lines[0])["done"] == false);
  CHECK(lines[1] == R"({"error":"boom"})");
  auto unknown =
      request(sim.authority(), "POST", "/api/generate", R"({"model":"x","prompt":"hi"})");
  CHECK(unknown.status == 404);
}

TEST_CASE("sim: @drop cuts a stream after its first line and @hdrdelay holds the first byte",
          "[sim]") {
  auto sim = start_sim({"--token-ms", "5"});
  std::string raw = raw_post(sim, "/api/generate", R"({"model":"llama3.2","prompt":"@drop;hi"})");
  CHECK(raw.find("\"done\":false") != std::string::npos);
  CHECK(raw.find("\"done\":true") == std::string::npos);
  CHECK(raw.find("\r\n0\r\n\r\n") == std::string::npos);
  auto delayed = stream_response(sim.authority(), "POST", "/api/generate",
                                 R"({"model":"llama3.2","prompt":"@hdrdelay=200;hi"})", {}, 10s);
  CHECK(delayed.head_at - delayed.sent_at >= 200ms);
  CHECK(delayed.response.status == 200);
}

TEST_CASE("sim: HTTP/1.0 clients get close-delimited streams", "[sim]") {
  auto sim = start_sim({"--token-ms", "5", "--gen-tokens", "3"});
  std::string raw =
      raw_post(sim, "/api/generate", R"({"model":"llama3.2","prompt":"hi"})", "HTTP/1.0");
  auto r = parse_response(raw);
  CHECK(r.version == 10);
  CHECK(r.close_delimited);
  CHECK_FALSE(r.header("Transfer-Encoding").has_value());
  auto lines = ndjson_lines(r.body);
  REQUIRE(lines.size() == 4);
  CHECK(parse_json(lines.back())["done"] == true);
  auto small = parse_response(raw_post(
      sim, "/api/embed", R"({"model":"all-minilm","input":"x","dimensions":4})", "HTTP/1.0"));
  CHECK(small.header("Content-Length") == std::to_string(small.body.size()));
}

TEST_CASE("sim: pull streams progress, pauses on @gap and reports stream errors", "[sim]") {
  auto sim = start_sim({"--token-ms", "5", "--models", "all-minilm"});
  auto s = stream_response(sim.authority(), "POST", "/api/pull",
                           R"({"model":"@gap=300;nomic-embed-text"})", {}, 10s);
  REQUIRE(s.response.status == 200);
  CHECK(s.response.header("Content-Type") == "application/x-ndjson");
  REQUIRE(s.pieces.size() == 7);
  CHECK(s.pieces[0].data == "{\"status\":\"pulling manifest\"}\n");
  auto progress = parse_json(s.pieces[1].data);
  CHECK(progress["digest"].get<std::string>().rfind("sha256:", 0) == 0);
  CHECK(progress["total"].get<long long>() > 0);
  CHECK(s.pieces[2].at - s.pieces[1].at >= 300ms);
  CHECK(s.pieces[4].data == "{\"status\":\"verifying sha256 digest\"}\n");
  CHECK(s.pieces[5].data == "{\"status\":\"writing manifest\"}\n");
  CHECK(s.pieces[6].data == "{\"status\":\"success\"}\n");
  auto tags = parse_json(request(sim.authority(), "GET", "/api/tags").body);
  bool listed = false;
  for (const auto& m : tags["models"]) {
    listed |= m["name"] == "nomic-embed-text:latest";
  }
  CHECK(listed);

  auto failing = request(sim.authority(), "POST", "/api/pull",
                         R"({"model":"@streamerror=pull model manifest: file does not exist;x"})");
  CHECK(failing.status == 200);
  CHECK(failing.body == "{\"status\":\"pulling manifest\"}\n"
                        "{\"error\":\"pull model manifest: file does not exist\"}\n");
  auto once = request(sim.authority(), "POST", "/api/pull", R"({"model":"bge-m3","stream":false})");
  CHECK(once.header("Content-Type") == "application/json");
  CHECK(once.body == R"({"status":"success"})");
  auto refused =
      request(sim.authority(), "POST", "/api/pull", R"({"model":"@status=500;no space left"})");
  CHECK(refused.status == 500);
  CHECK(refused.body == R"({"error":"no space left"})");
}
