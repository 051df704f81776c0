// /api/embed through ollama-meter, the failure side: one failing input fails the batch with the
// upstream's status and body, no further sub-calls, an unreachable upstream (502), header timeouts
// (C16), a client that disconnects, the request body limit (413) and the sub-call reply limit.
#include "tests/integration/meter_harness.hpp"
#include "tests/unit/metrics_exposition.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <future>
#include <thread>

using namespace meter::test;
using namespace std::chrono_literals;

namespace {

const header_list json_headers{{"Content-Type", "application/json"}};

std::size_t closed_early_calls(const std::string& sim) {
  std::size_t n = 0;
  for (const auto& c : embed_calls(sim)) {
    n += c.closed_early ? 1 : 0;
  }
  return n;
}

} // namespace

TEST_CASE("embed: one failing input fails the batch with its status, reason and body at once",
          "[embed][failure]") {
  struct variant {
    unsigned status;
    std::string message;
  };
  auto v =
      GENERATE(variant{400, "the input length exceeds the context length"},
               variant{404, R"(model "x" not found, try pulling it first)"},
               variant{418, "teapot <&> \\u0041"}, variant{499, "client closed"},
               variant{500, "no slots available after 10 retries"},
               variant{503, "server busy, please try again.  maximum pending requests exceeded"});
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--max-fanout", "2"});
  std::string failing = "@status=" + std::to_string(v.status) + ";" + v.message;
  std::vector<std::string> inputs{"@sleep=3000;slow", failing, "@sleep=3000;c", "d", "e"};
  auto direct = request(sim.authority(), "POST", "/api/embed", embed_body("all-minilm", {failing}),
                        json_headers);
  REQUIRE(direct.status == v.status);
  sim_reset(sim.authority());

  auto started = steady::now();
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  auto wall = ms_between(started, steady::now());
  INFO(meter.stderr_text());
  CHECK(r.status == v.status);
  CHECK(r.reason == direct.reason);
  CHECK(r.body == direct.body);
  CHECK(r.header("content-type") == direct.header("content-type"));
  CHECK(r.body.find("embedding_durations") == std::string::npos);
  // The answer does not wait for the slow input, which is cancelled.
  CHECK(wall < 2500);
  CHECK(wait_until(2s, [&] { return sim_stats(sim.authority()).embed_in_flight == 0; }));
  CHECK(closed_early_calls(sim.authority()) == 1);
  // Inputs after the failure are never sent.
  CHECK(stays_true(500ms, [&] { return embed_calls(sim.authority()).size() == 2; }));
}

TEST_CASE("embed: a failure in the last input still fails the whole batch", "[embed][failure]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::vector<std::string> inputs{"a", "b", "c", "@sleep=200;@status=400;bad last input"};
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  CHECK(r.status == 400);
  CHECK(r.body == R"({"error":"bad last input"})");
}

TEST_CASE("embed: an upstream that drops a sub-call mid-body gives a JSON 502, never a 200",
          "[embed][failure]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::vector<std::string> inputs{"a", "@drop;b", "c"};
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  INFO(r.body);
  CHECK(r.status == 502);
  CHECK(r.header("content-type") == "application/json; charset=utf-8");
  auto j = parse_json(r.body);
  CHECK(j.size() == 1);
  CHECK(j["error"].is_string());
}

TEST_CASE("embed: upstream down gives 502 with an Ollama-shaped JSON error", "[embed][failure]") {
  refusing_port dead;
  auto meter = start_meter(dead.authority());
  SECTION("split batch") {
    auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", {"a", "b"}),
                     json_headers);
    CHECK(r.status == 502);
    CHECK(r.header("content-type") == "application/json; charset=utf-8");
    CHECK(parse_json(r.body)["error"].is_string());
  }
  SECTION("unsplittable body") {
    auto r = request(meter.authority(), "POST", "/api/embed", R"({"model":"m","input":""})",
                     json_headers);
    CHECK(r.status == 502);
    CHECK(parse_json(r.body)["error"].is_string());
  }
  SECTION("pass-through route") {
    auto r = request(meter.authority(), "GET", "/api/tags");
    CHECK(r.status == 502);
    CHECK(r.header("content-type") == "application/json; charset=utf-8");
    CHECK(parse_json(r.body)["error"].is_string());
  }
  SECTION("streamed chunked request body") {
    std::string chat = R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}]})";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", chat.size());
    auto r =
        request(meter.authority(), "POST", "/api/chat", size + ("\r\n" + chat + "\r\n0\r\n\r\n"),
                {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}});
    CHECK(r.status == 502);
    CHECK(parse_json(r.body)["error"].is_string());
  }
}

TEST_CASE("embed: client gone cancels in-flight sub-calls at once and launches no more",
          "[embed][disconnect]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--max-fanout", "2"});
  std::vector<std::string> inputs;
  for (int i = 0; i < 6; ++i) {
    inputs.push_back("@sleep=4000;gone" + std::to_string(i));
  }
  auto body = embed_body("all-minilm", inputs);
  {
    socket_guard fd{connect_to(meter.authority())};
    REQUIRE(send_bytes(
        fd.fd, build_request(meter.authority(), "POST", "/api/embed", body, json_headers), 5s));
    REQUIRE(wait_until(5s, [&] { return sim_stats(sim.authority()).embed_in_flight == 2; }));
  }
  auto closed_at = steady::now();
  // Both in-flight sub-calls are closed well before their 4 s sleeps end.
  CHECK(wait_until(3s, [&] { return closed_early_calls(sim.authority()) == 2; }));
  CHECK(ms_between(closed_at, steady::now()) < 3000);
  CHECK(sim_stats(sim.authority()).embed_in_flight == 0);
  // No further inputs are sent, even after the cancelled ones would have finished.
  CHECK(stays_true(1500ms, [&] { return sim_stats(sim.authority()).embed_calls == 2; }));
  CHECK(meter.wait_stderr("client-gone", 5s));
}

TEST_CASE("C16: a 130 s header delay on one sub-call still gives 200 under default settings",
          "[embed][timeout][C16][slow]") {
  auto sim = start_sim({"--models", "big-embed,all-minilm"});
  auto meter = start_meter(sim.authority());
  std::vector<std::string> inputs{"@hdrdelay=130000;a", "b"};
  auto started = steady::now();
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("big-embed", inputs),
                   json_headers, 200s);
  auto wall = ms_between(started, steady::now());
  INFO(r.body.substr(0, 300));
  REQUIRE(r.status == 200);
  CHECK(raw_vectors(r.body).size() == 2);
  CHECK(wall >= 130'000);
  auto j = parse_json(r.body);
  CHECK(j["embedding_durations"][0].get<long long>() >= 130'000'000'000LL);
  CHECK(raw_vectors(r.body)[1] == direct_vector(sim.authority(), "big-embed", "b"));
}

TEST_CASE("C16: --header-timeout 5s gives a JSON 504 after about 5 s and closes the sub-call",
          "[embed][timeout][C16]") {
  auto sim = start_sim({"--models", "big-embed,all-minilm"});
  auto meter = start_meter(sim.authority(), {"--header-timeout", "5s"});
  auto started = steady::now();
  auto r = request(meter.authority(), "POST", "/api/embed",
                   embed_body("big-embed", {"@hdrdelay=10000;a"}), json_headers, 30s);
  auto wall = ms_between(started, steady::now());
  INFO(r.body);
  CHECK(r.status == 504);
  CHECK(r.header("content-type") == "application/json; charset=utf-8");
  CHECK(parse_json(r.body)["error"].is_string());
  CHECK(wall >= 4900);
  CHECK(wall < 5000 + 2500);
  // The upstream sees the cancellation: its connection is closed before it answered.
  CHECK(wait_until(3s, [&] { return closed_early_calls(sim.authority()) == 1; }));
}

TEST_CASE("C16: --header-timeout also applies to a pass-through chat waiting for its first byte",
          "[relay][timeout][C16]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--header-timeout", "2s"});
  auto started = steady::now();
  auto r =
      request(meter.authority(), "POST", "/api/chat",
              R"({"model":"llama3.2","messages":[{"role":"user","content":"@hdrdelay=8000;hi"}]})",
              json_headers, 30s);
  auto wall = ms_between(started, steady::now());
  INFO(r.body);
  CHECK(r.status == 504);
  CHECK(parse_json(r.body)["error"].is_string());
  CHECK(wall >= 1900);
  CHECK(wall < 2000 + 2500);
  CHECK(wait_until(3s, [&] {
    for (const auto& e : relayed_log(sim.authority())) {
      if (e.target == "/api/chat" && e.closed_early) {
        return true;
      }
    }
    return false;
  }));
}

TEST_CASE("embed: --request-body-limit refuses an announced oversized body before reading it",
          "[embed][limits]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--request-body-limit", "1000"});
  std::string big = embed_body("all-minilm", {std::string(5000, 'x')});

  SECTION("with Expect: 100-continue the answer comes before any body byte") {
    socket_guard fd{connect_to(meter.authority())};
    std::string head = "POST /api/embed HTTP/1.1\r\nHost: " + meter.authority() +
                       "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                       "Content-Length: " +
                       std::to_string(big.size()) + "\r\n\r\n";
    REQUIRE(send_bytes(fd.fd, head, 5s));
    auto got = read_until_close(fd.fd, 5s);
    INFO(got.all);
    CHECK(got.all.find("100 Continue") == std::string::npos);
    auto r = parse_response(got.all);
    CHECK(r.status == 413);
    CHECK(r.header("content-type") == "application/json; charset=utf-8");
    CHECK(parse_json(r.body)["error"].is_string());
    CHECK(got.eof);
  }
  SECTION("with a plain body the answer arrives and the connection closes") {
    socket_guard fd{connect_to(meter.authority())};
    std::string head =
        "POST /api/embed HTTP/1.1\r\nHost: " + meter.authority() +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(10'000'000) +
        "\r\n\r\n";
    REQUIRE(send_bytes(fd.fd, head + big.substr(0, 1500), 5s));
    auto got = read_until_close(fd.fd, 5s);
    INFO(got.all);
    auto r = parse_response(got.all);
    CHECK(r.status == 413);
    CHECK(parse_json(r.body)["error"].is_string());
    CHECK(got.eof);
  }
  SECTION("a chunked body that grows past the limit gets 413") {
    socket_guard fd{connect_to(meter.authority())};
    std::string chunk(1500, 'y');
    std::string bytes = "POST /api/embed HTTP/1.1\r\nHost: " + meter.authority() +
                        "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                        "5dc\r\n" + chunk + "\r\n";
    REQUIRE(send_bytes(fd.fd, bytes, 5s));
    auto got = read_until_close(fd.fd, 5s);
    INFO(got.all);
    auto r = parse_response(got.all);
    CHECK(r.status == 413);
    CHECK(parse_json(r.body)["error"].is_string());
  }
  CHECK(relayed_log(sim.authority()).empty());
}

TEST_CASE("embed: --request-body-limit does not limit the size of the upstream's replies",
          "[embed][limits]") {
  // Replies of 384 floats are several KB: far above a 1000-byte request limit.
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--request-body-limit", "1000"});
  std::vector<std::string> inputs{"a", "b"};
  auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  INFO(r.body.substr(0, 300));
  CHECK(r.status == 200);
  CHECK(raw_vectors(r.body).size() == 2);
}

TEST_CASE("embed: a sub-call reply above --embed-reply-limit fails the batch with a JSON 502",
          "[embed][limits]") {
  // A reply of 384 floats is several KB; 2KiB lets no reply through, the default lets all.
  auto sim = start_sim();
  auto limited = start_meter(sim.authority(), {"--embed-reply-limit", "2KiB"});
  auto unlimited = start_meter(sim.authority());
  std::vector<std::string> inputs{"a", "b"};
  auto r = request(limited.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                   json_headers);
  INFO(r.body.substr(0, 300));
  CHECK(r.status == 502);
  CHECK(r.header("content-type") == "application/json; charset=utf-8");
  auto j = parse_json(r.body);
  CHECK(j.size() == 1);
  CHECK(j["error"] == "upstream Ollama sent an invalid response");
  CHECK(request(limited.authority(), "GET", "/healthz").status == 200);
  auto ok = request(unlimited.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                    json_headers);
  CHECK(ok.status == 200);
  CHECK(raw_vectors(ok.body).size() == 2);
}

TEST_CASE("embed: repeated client disconnects mid-batch leave the proxy healthy",
          "[embed][disconnect]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--max-fanout", "2"});
  for (int round = 0; round < 8; ++round) {
    auto before = sim_stats(sim.authority()).embed_calls;
    std::vector<std::string> inputs{"@sleep=2000;r" + std::to_string(round), "@sleep=50;s",
                                    "@sleep=2000;t", "u"};
    socket_guard fd{connect_to(meter.authority())};
    REQUIRE(send_bytes(fd.fd,
                       build_request(meter.authority(), "POST", "/api/embed",
                                     embed_body("all-minilm", inputs), json_headers),
                       5s));
    REQUIRE(wait_until(5s, [&] {
      auto s = sim_stats(sim.authority());
      return s.embed_in_flight == 2 && s.embed_calls >= before + 3;
    }));
    fd.close();
    REQUIRE(wait_until(3s, [&] { return sim_stats(sim.authority()).embed_in_flight == 0; }));
  }
  // Cancelled workers must not outlive their request: the proxy keeps serving correctly.
  auto r = request(meter.authority(), "POST", "/api/embed",
                   embed_body("all-minilm", {"a", "b", "c"}), json_headers);
  CHECK(r.status == 200);
  CHECK(raw_vectors(r.body).size() == 3);
  CHECK_FALSE(meter.wait_exit(0ms));
  CHECK(meter.stderr_text().find("AddressSanitizer") == std::string::npos);
}

TEST_CASE("embed: clients that leave while sub-calls connect are not upstream failures",
          "[embed][disconnect][metrics]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--max-fanout", "3"});
  for (int round = 0; round < 20; ++round) {
    socket_guard fd{connect_to(meter.authority())};
    REQUIRE(send_bytes(fd.fd,
                       build_request(meter.authority(), "POST", "/api/embed",
                                     embed_body("all-minilm", {"a", "b", "c"}), json_headers),
                       5s));
    fd.close(); // at once: the sub-calls are still connecting or waiting for their replies
  }
  std::string text;
  REQUIRE(wait_until(10s, [&] {
    text = request(meter.authority(), "GET", "/metrics").body;
    return sample_value(text, "ollama_meter_upstream_calls_in_flight") == 0 &&
           sample_value(text, "ollama_meter_requests_in_flight", {{"route", "/api/embed"}}) == 0;
  }));
  CHECK(sample_value(text, "ollama_meter_client_disconnects_total", {{"route", "/api/embed"}})
            .value_or(0) > 0);
  for (const char* kind : {"connect", "timeout", "reset"}) {
    INFO(kind);
    CHECK(sample_value(text, "ollama_meter_upstream_errors_total", {{"kind", kind}}).value_or(0) ==
          0);
  }
}
