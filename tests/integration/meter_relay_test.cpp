// The transparent relay: Host rewriting and --preserve-host, X-Forwarded-*, Origin and CORS, status
// lines with their reason phrase, HEAD, OPTIONS preflights, 404/405, hop-by-hop headers,
// keep-alive on both sides, pipelining and Expect: 100-continue.
#include "tests/integration/meter_harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace meter::test;
using namespace std::chrono_literals;

namespace {

const header_list json_headers{{"Content-Type", "application/json"}};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Header fields that belong to one connection or one moment, left out of comparisons.
bool varies_per_connection(const std::string& name) {
  auto n = lower(name);
  return n == "date" || n == "connection" || n == "keep-alive" || n == "transfer-encoding" ||
         n == "content-length";
}

header_list comparable_headers(const http_response& r) {
  header_list out;
  for (const auto& [k, v] : r.headers) {
    if (!varies_per_connection(k)) {
      out.emplace_back(lower(k), v);
    }
  }
  return out;
}

} // namespace

TEST_CASE("relay: Host is rewritten to the upstream by default and kept with --preserve-host",
          "[relay][host]") {
  auto sim = start_sim({"--host-check"});
  SECTION("default: a foreign Host still passes Ollama's host check") {
    auto meter = start_meter(sim.authority());
    auto r = request(meter.authority(), "GET", "/api/tags", {}, {{"Host", "example.com"}});
    CHECK(r.status == 200);
    auto log = relayed_log(sim.authority());
    REQUIRE(log.size() == 1);
    CHECK(log[0].header("host") == sim.authority());
    CHECK(log[0].header("x-forwarded-host") == "example.com");
  }
  SECTION("--preserve-host: the upstream's 403 with an empty body is relayed") {
    auto meter = start_meter(sim.authority(), {"--preserve-host"});
    auto r = request(meter.authority(), "GET", "/api/tags", {}, {{"Host", "example.com"}});
    CHECK(r.status == 403);
    CHECK(r.body.empty());
    auto log = relayed_log(sim.authority());
    REQUIRE(log.size() == 1);
    CHECK(log[0].header("host") == "example.com");
    auto ok = request(meter.authority(), "GET", "/api/tags", {}, {{"Host", "localhost:1234"}});
    CHECK(ok.status == 200);
  }
  SECTION("--preserve-host applies to /api/embed sub-calls too") {
    auto meter = start_meter(sim.authority(), {"--preserve-host"});
    auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", {"a", "b"}),
                     {{"Host", "example.com"}, {"Content-Type", "application/json"}});
    CHECK(r.status == 403);
    CHECK(r.body.empty());
    auto ok = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", {"a", "b"}),
                      {{"Host", "printer.local"}, {"Content-Type", "application/json"}});
    CHECK(ok.status == 200);
    for (const auto& c : embed_calls(sim.authority())) {
      CHECK(c.header("host") != sim.authority());
    }
  }
}

TEST_CASE("relay: X-Forwarded-For, -Proto and -Host reach the upstream", "[relay][headers]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  SECTION("pass-through") {
    auto r = request(meter.authority(), "GET", "/api/version", {}, {{"Host", "llm.example:8080"}});
    CHECK(r.status == 200);
    auto log = relayed_log(sim.authority());
    REQUIRE(log.size() == 1);
    CHECK(log[0].header("x-forwarded-for") == "127.0.0.1");
    CHECK(log[0].header("x-forwarded-proto") == "http");
    CHECK(log[0].header("x-forwarded-host") == "llm.example:8080");
  }
  SECTION("an existing X-Forwarded-For is extended") {
    auto r = request(meter.authority(), "GET", "/api/version", {},
                     {{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-Proto", "https"}});
    CHECK(r.status == 200);
    auto log = relayed_log(sim.authority());
    REQUIRE(log.size() == 1);
    CHECK(log[0].header("x-forwarded-for") == "203.0.113.7, 127.0.0.1");
    CHECK(log[0].header("x-forwarded-proto") == "https");
  }
  SECTION("every /api/embed sub-call") {
    auto r =
        request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", {"a", "b", "c"}),
                {{"Host", "llm.example"}, {"Content-Type", "application/json"}});
    CHECK(r.status == 200);
    auto calls = embed_calls(sim.authority());
    REQUIRE(calls.size() == 3);
    for (const auto& c : calls) {
      CHECK(c.header("x-forwarded-for") == "127.0.0.1");
      CHECK(c.header("x-forwarded-proto") == "http");
      CHECK(c.header("x-forwarded-host") == "llm.example");
      CHECK(c.header("content-type") == "application/json");
    }
  }
}

TEST_CASE("relay: Origin is forwarded and the upstream's CORS answers are kept", "[relay][cors]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  header_list origin{{"Origin", "http://localhost:5173"}, {"Content-Type", "application/json"}};
  SECTION("pass-through") {
    auto r = request(meter.authority(), "GET", "/api/tags", {}, origin);
    CHECK(r.status == 200);
    CHECK(r.header("access-control-allow-origin") == "http://localhost:5173");
    auto vary = r.header_values("vary");
    CHECK(std::find(vary.begin(), vary.end(), "Origin") != vary.end());
    auto log = relayed_log(sim.authority());
    REQUIRE(log.size() == 1);
    CHECK(log[0].header("origin") == "http://localhost:5173");
  }
  SECTION("merged /api/embed answer") {
    auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", {"a", "b"}),
                     origin);
    CHECK(r.status == 200);
    CHECK(r.header("access-control-allow-origin") == "http://localhost:5173");
    auto vary = r.header_values("vary");
    CHECK(std::find(vary.begin(), vary.end(), "Origin") != vary.end());
    for (const auto& c : embed_calls(sim.authority())) {
      CHECK(c.header("origin") == "http://localhost:5173");
    }
  }
  SECTION("a refused origin gets the upstream's empty 403, also on /api/embed") {
    header_list bad{{"Origin", "chrome-extension://abc"}, {"Content-Type", "application/json"}};
    auto r = request(meter.authority(), "GET", "/api/tags", {}, bad);
    CHECK(r.status == 403);
    CHECK(r.body.empty());
    auto e =
        request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", {"a", "b"}), bad);
    CHECK(e.status == 403);
    CHECK(e.body.empty());
  }
  SECTION("OPTIONS preflight: 204 with the upstream's CORS headers") {
    header_list preflight{{"Origin", "http://localhost:5173"},
                          {"Access-Control-Request-Method", "POST"},
                          {"Access-Control-Request-Headers", "content-type"}};
    auto direct = request(sim.authority(), "OPTIONS", "/api/embed", {}, preflight);
    auto r = request(meter.authority(), "OPTIONS", "/api/embed", {}, preflight);
    CHECK(r.status == 204);
    CHECK(r.status == direct.status);
    CHECK(r.body.empty());
    CHECK(r.header("access-control-allow-origin") == "http://localhost:5173");
    CHECK(r.header("access-control-allow-methods"));
    CHECK(comparable_headers(r) == comparable_headers(direct));
  }
}

TEST_CASE("relay: status code and reason phrase are relayed unchanged", "[relay][status]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto status = GENERATE(as<std::string>{}, "400", "404", "418", "429", "499", "500", "503", "599");
  std::string prompt = "@status=" + status + ";failed on purpose";
  SECTION("pass-through generate") {
    std::string body = R"({"model":"llama3.2","prompt":")" + prompt + R"("})";
    auto direct = request(sim.authority(), "POST", "/api/generate", body, json_headers);
    auto r = request(meter.authority(), "POST", "/api/generate", body, json_headers);
    CHECK(std::to_string(r.status) == status);
    CHECK(r.reason == direct.reason);
    CHECK(r.body == direct.body);
    CHECK(comparable_headers(r) == comparable_headers(direct));
  }
  SECTION("failed /api/embed batch") {
    std::string body = embed_body("all-minilm", {"a", prompt});
    auto direct = request(sim.authority(), "POST", "/api/embed", embed_body("all-minilm", {prompt}),
                          json_headers);
    auto r = request(meter.authority(), "POST", "/api/embed", body, json_headers);
    CHECK(std::to_string(r.status) == status);
    CHECK(r.reason == direct.reason);
    CHECK(r.body == direct.body);
  }
}

TEST_CASE("relay: interim 1xx answers of the upstream are skipped, and the final one reaches its "
          "own client",
          "[relay][status]") {
  auto sim = start_sim();
  // One I/O thread and one pooled connection at a time: a final answer left in the connection
  // would be read by the next request.
  auto meter = start_meter(sim.authority(), {"--threads", "1"});
  SECTION("pass-through: the final answer comes 200 ms after two interim ones") {
    std::string body =
        R"({"model":"llama3.2","prompt":"@interim=2;@hdrdelay=200;first","stream":false})";
    auto r = request(meter.authority(), "POST", "/api/generate", body, json_headers);
    CHECK(r.status == 200);
    CHECK(r.reason == "OK");
    auto j = parse_json(r.body);
    CHECK(j["done"] == true);
    CHECK(j["response"].is_string());
    auto next = request(meter.authority(), "GET", "/api/tags");
    CHECK(next.status == 200);
    CHECK(parse_json(next.body).contains("models"));
  }
  SECTION("/api/embed sub-calls") {
    std::vector<std::string> inputs{"@interim=1;@hdrdelay=200;a", "b"};
    auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                     json_headers);
    REQUIRE(r.status == 200);
    auto vectors = raw_vectors(r.body);
    REQUIRE(vectors.size() == 2);
    CHECK(vectors[0] == direct_vector(sim.authority(), "all-minilm", inputs[0]));
    CHECK(vectors[1] == direct_vector(sim.authority(), "all-minilm", inputs[1]));
    auto next = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", {"c"}),
                        json_headers);
    REQUIRE(next.status == 200);
    CHECK(raw_vectors(next.body) ==
          std::vector<std::string>{direct_vector(sim.authority(), "all-minilm", "c")});
  }
  SECTION("five interim answers are accepted, a sixth is a bad response (502)") {
    auto five =
        request(meter.authority(), "POST", "/api/generate",
                R"({"model":"llama3.2","prompt":"@interim=5;x","stream":false})", json_headers);
    CHECK(five.status == 200);
    auto six =
        request(meter.authority(), "POST", "/api/generate",
                R"({"model":"llama3.2","prompt":"@interim=6;x","stream":false})", json_headers);
    CHECK(six.status == 502);
    CHECK(parse_json(six.body)["error"].is_string());
    auto embed = request(meter.authority(), "POST", "/api/embed",
                         embed_body("all-minilm", {"a", "@interim=6;b"}), json_headers);
    CHECK(embed.status == 502);
    CHECK(parse_json(embed.body)["error"].is_string());
  }
}

TEST_CASE("relay: HEAD keeps the upstream's Content-Length and sends no body", "[relay][head]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto direct_get = request(sim.authority(), "GET", "/");
  keepalive_connection c(meter.authority());
  auto head = c.request("HEAD", "/");
  CHECK(head.status == 200);
  REQUIRE(head.header("content-length"));
  CHECK(std::stoull(*head.header("content-length")) == direct_get.body.size());
  CHECK(head.body.empty());
  // Nothing followed the head: the next answer on the same connection parses cleanly.
  auto next = c.request("GET", "/");
  CHECK(next.status == 200);
  CHECK(next.body == direct_get.body);
  CHECK(next.body == "Ollama is running");
}

TEST_CASE("relay: 404 and 405 answers are relayed with their type and Allow header",
          "[relay][status]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto missing = request(meter.authority(), "GET", "/no/such/route");
  CHECK(missing.status == 404);
  CHECK(missing.header("content-type") == "text/plain");
  CHECK(missing.body == "404 page not found");
  auto wrong = request(meter.authority(), "POST", "/", "{}", json_headers);
  CHECK(wrong.status == 405);
  CHECK(wrong.header("allow") == "HEAD, GET");
  CHECK(wrong.body == "405 method not allowed");
  auto embed_get = request(meter.authority(), "GET", "/api/embed");
  CHECK(embed_get.status == 405);
  CHECK(embed_get.header("allow") == "POST");
  auto upper = request(meter.authority(), "POST", "/API/EMBED", "{}", json_headers);
  CHECK(upper.status == 404);
}

TEST_CASE("relay: the request target, end-to-end headers and body pass unchanged, hop-by-hop "
          "headers do not",
          "[relay][headers]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::string target = "/api/show?verbose=1&x=%2F%20y";
  std::string body = R"({"model":"llama3.2"})";
  auto r = request(meter.authority(), "POST", target, body,
                   {{"Content-Type", "application/json"},
                    {"X-Custom", "kept"},
                    {"User-Agent", "ollama-js/0.6.4 (x64 linux Node.js/v20.20.2)"},
                    {"Authorization", "Bearer token"},
                    {"Connection", "keep-alive, X-Secret"},
                    {"X-Secret", "per-connection"},
                    {"Keep-Alive", "timeout=5"},
                    {"TE", "trailers"},
                    {"Proxy-Connection", "keep-alive"}});
  CHECK(r.status == 200);
  auto direct = request(sim.authority(), "POST", target, body, json_headers);
  CHECK(r.body == direct.body);
  CHECK(comparable_headers(r) == comparable_headers(direct));
  auto log = relayed_log(sim.authority());
  REQUIRE_FALSE(log.empty());
  CHECK(log[0].target == target);
  CHECK(log[0].body == body);
  CHECK(log[0].header("x-custom") == "kept");
  CHECK(log[0].header("user-agent") == "ollama-js/0.6.4 (x64 linux Node.js/v20.20.2)");
  CHECK(log[0].header("authorization") == "Bearer token");
  CHECK_FALSE(log[0].header("x-secret"));
  CHECK_FALSE(log[0].header("keep-alive"));
  CHECK_FALSE(log[0].header("te"));
  CHECK_FALSE(log[0].header("proxy-connection"));
}

TEST_CASE("relay: keep-alive serves many requests per client connection over few upstream ones",
          "[relay][keepalive]") {
  // Each I/O thread keeps its own idle upstream connections. Counts below allow one more for the
  // health probe racing the first request, and one for the stats query itself.
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--threads", "2"});
  SECTION("one client connection") {
    keepalive_connection c(meter.authority());
    for (int i = 0; i < 20; ++i) {
      auto r = c.request(i % 2 == 0 ? "GET" : "POST", i % 2 == 0 ? "/api/tags" : "/api/embed",
                         i % 2 == 0 ? std::string{}
                                    : embed_body("all-minilm", {"k" + std::to_string(i)}),
                         json_headers);
      CHECK(r.status == 200);
    }
    CHECK_FALSE(c.peer_closed());
    CHECK(sim_stats(sim.authority()).connections_total <= 1 + 2); // one client: one thread
  }
  SECTION("many sequential client connections") {
    for (int i = 0; i < 30; ++i) {
      auto r = request(meter.authority(), "GET", "/api/version");
      CHECK(r.status == 200);
    }
    CHECK(sim_stats(sim.authority()).connections_total <= 2 + 2); // clients alternate threads
    // A client that closes right after reading a complete answer did not leave early.
    REQUIRE(meter.wait_stderr("GET /api/version", 5s));
    CHECK(stays_true(300ms,
                     [&] { return meter.stderr_text().find("client-gone") == std::string::npos; }));
  }
  SECTION("sequential batches reuse the pooled sub-call connections") {
    for (int i = 0; i < 10; ++i) {
      auto r = request(meter.authority(), "POST", "/api/embed",
                       embed_body("all-minilm", {"a", "b", "c", "d"}), json_headers);
      CHECK(r.status == 200);
    }
    auto stats = sim_stats(sim.authority());
    INFO(stats.raw);
    CHECK(stats.embed_calls == 40);
    CHECK(stats.connections_total <= 2 * 4 + 2); // 4 sub-calls at once on each thread
  }
}

TEST_CASE("relay: pipelined requests are answered in order", "[relay][keepalive]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  keepalive_connection c(meter.authority());
  std::string embed = embed_body("all-minilm", {"@sleep=200;p1", "p2"});
  std::string bytes = build_request(meter.authority(), "GET", "/api/version", {}, {}) +
                      build_request(meter.authority(), "POST", "/api/embed", embed, json_headers) +
                      build_request(meter.authority(), "HEAD", "/", {}, {}) +
                      build_request(meter.authority(), "GET", "/api/tags", {}, {});
  c.send_raw(bytes);
  auto first = c.read_response();
  CHECK(first.status == 200);
  CHECK(parse_json(first.body).contains("version"));
  auto second = c.read_response();
  CHECK(second.status == 200);
  CHECK(raw_vectors(second.body).size() == 2);
  auto third = c.read_response(true);
  CHECK(third.status == 200);
  CHECK(third.body.empty());
  auto fourth = c.read_response();
  CHECK(fourth.status == 200);
  CHECK(parse_json(fourth.body).contains("models"));
}

TEST_CASE("relay: Expect: 100-continue works on a blob upload and on /api/embed",
          "[relay][expect]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  struct upload {
    std::string target;
    std::string body;
    std::string content_type;
  };
  auto u = GENERATE(upload{"/api/blobs/sha256:" + std::string(64, 'b'), std::string(1 << 20, 'z'),
                           "application/octet-stream"},
                    upload{"/api/embed", embed_body("all-minilm", {"x", "y"}), "application/json"});
  socket_guard fd{connect_to(meter.authority())};
  std::string head = "POST " + u.target + " HTTP/1.1\r\nHost: " + meter.authority() +
                     "\r\nContent-Type: " + u.content_type + "\r\nExpect: 100-continue\r\n" +
                     "Content-Length: " + std::to_string(u.body.size()) + "\r\n\r\n";
  REQUIRE(send_bytes(fd.fd, head, 5s));
  auto interim = read_until(fd.fd, "\r\n\r\n", 10s);
  CHECK(interim.rfind("HTTP/1.1 100 Continue\r\n", 0) == 0);
  REQUIRE(send_bytes(fd.fd, u.body, 30s));
  auto rest = read_until(fd.fd, "\r\n\r\n", 30s);
  auto status_line = rest.substr(0, rest.find("\r\n"));
  INFO(interim + rest);
  CHECK(status_line.find(u.target == "/api/embed" ? " 200 " : " 201 ") != std::string::npos);
  auto log = relayed_log(sim.authority());
  REQUIRE_FALSE(log.empty());
  for (const auto& e : log) {
    // The proxy answers 100-continue itself and does not pass Expect on.
    CHECK_FALSE(e.header("expect"));
  }
  if (u.target != "/api/embed") {
    CHECK(log.back().body_size == u.body.size());
  }
}

TEST_CASE("relay: a Transfer-Encoding other than one \"chunked\" gets Go's 501, and its body is "
          "never read as a request",
          "[relay][framing]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  const std::string smuggled = "GET /api/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  auto with_encoding = [&](const std::string& authority, const std::string& encoding_lines) {
    return "POST /api/generate HTTP/1.1\r\nHost: " + authority + "\r\n" + encoding_lines +
           "Content-Type: application/json\r\n\r\n" + smuggled;
  };
  auto status_line_of = [](const std::string& response) {
    return response.substr(0, response.find("\r\n"));
  };
  auto body_of = [](const std::string& response) {
    return response.substr(response.find("\r\n\r\n") + 4);
  };
  for (const std::string encoding_lines :
       {"Transfer-Encoding: xchunked\r\n", "Transfer-Encoding: gzip, chunked\r\n"}) {
    INFO(encoding_lines);
    auto direct =
        timed_raw_exchange(sim.authority(), with_encoding(sim.authority(), encoding_lines), 5s);
    auto proxied =
        timed_raw_exchange(meter.authority(), with_encoding(meter.authority(), encoding_lines), 5s);
    CHECK(proxied.eof);
    CHECK(status_line_of(direct.all) == "HTTP/1.1 501 Not Implemented");
    CHECK(status_line_of(proxied.all) == "HTTP/1.1 501 Not Implemented");
    CHECK(body_of(direct.all) == "Unsupported transfer encoding");
    CHECK(body_of(proxied.all) == "Unsupported transfer encoding");
  }
  // Two Transfer-Encoding fields: Beast's parser refuses the head itself, in both (Go: 501).
  const std::string twice = "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n";
  auto direct = timed_raw_exchange(sim.authority(), with_encoding(sim.authority(), twice), 5s);
  auto proxied = timed_raw_exchange(meter.authority(), with_encoding(meter.authority(), twice), 5s);
  CHECK(proxied.eof);
  CHECK(status_line_of(proxied.all) == status_line_of(direct.all));
  CHECK(status_line_of(proxied.all).substr(9, 1) == "4");
  for (const auto& e : relayed_log(sim.authority())) {
    CHECK(e.target != "/api/smuggled");
    CHECK(e.target != "/api/generate");
  }
}

TEST_CASE("relay: header and trailer fields too long to store are refused, and the proxy lives on",
          "[relay][limits]") {
  // Beast stores a field in at most 64 KiB and throws beyond: within the default --header-limit
  // of 1 MiB, one such field used to end the process.
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  const std::string huge(70'000, 'v');
  const std::string host = "Host: " + meter.authority() + "\r\n";
  auto alive = [&] {
    CHECK_FALSE(meter.wait_exit(0ms));
    CHECK(request(meter.authority(), "GET", "/api/version").status == 200);
  };
  SECTION("a header value") {
    auto r = timed_raw_exchange(
        meter.authority(), "GET /api/version HTTP/1.1\r\n" + host + "X-Big: " + huge + "\r\n\r\n",
        5s);
    CHECK(r.all.rfind("HTTP/1.1 431 ", 0) == 0);
    alive();
  }
  SECTION("a header name") {
    auto r = timed_raw_exchange(
        meter.authority(), "GET /api/version HTTP/1.1\r\n" + host + "X-" + huge + ": v\r\n\r\n",
        5s);
    CHECK(r.all.rfind("HTTP/1.1 431 ", 0) == 0);
    alive();
  }
  for (const std::string target : {"/api/show", "/api/embed"}) {
    DYNAMIC_SECTION("a trailer of a chunked body to " << target) {
      auto r = timed_raw_exchange(
          meter.authority(),
          "POST " + target + " HTTP/1.1\r\n" + host +
              "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
              "2\r\n{}\r\n0\r\nX-Trailer: " +
              huge + "\r\n\r\n",
          5s);
      CHECK(r.eof);
      CHECK(r.all.find(" 200 ") == std::string::npos);
      alive();
    }
  }
  SECTION("endless trailers are cut off at the header limit") {
    auto small = start_meter(sim.authority(), {"--header-limit", "16KiB"});
    std::string trailers;
    while (trailers.size() < (1u << 20)) {
      trailers += "X-T: " + std::string(100, 't') + "\r\n";
    }
    auto r = timed_raw_exchange(small.authority(),
                                "POST /api/show HTTP/1.1\r\nHost: " + small.authority() +
                                    "\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n" +
                                    trailers + "\r\n",
                                10s);
    CHECK(r.eof);
    CHECK(r.all.find(" 200 ") == std::string::npos);
    CHECK_FALSE(small.wait_exit(0ms));
  }
}
