// ollama-sim as a process: routing, HEAD, redirects, Host check, CORS, keep-alive, Expect,
// model routes, blob uploads in constant memory, flags and signals.
#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_client.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

using namespace meter::test;

TEST_CASE("sim: unknown routes are 404 text and wrong methods 405 with Allow", "[sim]") {
  auto sim = start_sim();
  auto missing = request(sim.authority(), "GET", "/nope");
  CHECK(missing.status == 404);
  CHECK(missing.header("Content-Type") == "text/plain");
  CHECK(missing.body == "404 page not found");
  auto upper = request(sim.authority(), "POST", "/API/EMBED", "{}");
  CHECK(upper.status == 404);
  auto wrong = request(sim.authority(), "GET", "/api/embed");
  CHECK(wrong.status == 405);
  CHECK(wrong.reason == "Method Not Allowed");
  CHECK(wrong.header("Allow") == "POST");
  CHECK(wrong.body == "405 method not allowed");
  CHECK(request(sim.authority(), "POST", "/", "").header("Allow") == "HEAD, GET");
  CHECK(request(sim.authority(), "GET", "/api/blobs/x").header("Allow") == "HEAD, POST");
  CHECK(request(sim.authority(), "HEAD", "/api/ps").header("Allow") == "GET");
}

TEST_CASE("sim: GET and HEAD / say Ollama is running", "[sim]") {
  auto sim = start_sim();
  auto get = request(sim.authority(), "GET", "/");
  CHECK(get.status == 200);
  CHECK(get.body == "Ollama is running");
  CHECK(get.header("Content-Type") == "text/plain; charset=utf-8");
  auto head = request(sim.authority(), "HEAD", "/");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.header("Content-Length") == "17");
  auto version = request(sim.authority(), "GET", "/api/version");
  CHECK(parse_json(version.body)["version"] == "0.33.0");
}

TEST_CASE("sim: trailing slashes and unclean paths redirect like Ollama", "[sim]") {
  auto sim = start_sim();
  auto post = request(sim.authority(), "POST", "/api/embed/", "{}");
  CHECK(post.status == 307);
  CHECK(post.header("Location") == "/api/embed");
  CHECK(post.body.empty());
  auto prefixed =
      request(sim.authority(), "POST", "/api/embed/", "{}", {{"X-Forwarded-Prefix", "/ollama"}});
  CHECK(prefixed.header("Location") == "/ollama/api/embed");
  auto get = request(sim.authority(), "GET", "/api/tags/");
  CHECK(get.status == 301);
  CHECK(get.body == "<a href=\"/api/tags\">Moved Permanently</a>.\n\n");
  auto unclean = request(sim.authority(), "POST", "//api/embed", "{}");
  CHECK(unclean.status == 301);
  CHECK(unclean.header("Location") == "/api/embed");
}

TEST_CASE("sim: --host-check refuses non-local Host names with an empty 403", "[sim]") {
  auto checked = start_sim({"--host-check"});
  auto refused = request(checked.authority(), "GET", "/api/version", {}, {{"Host", "example.com"}});
  CHECK(refused.status == 403);
  CHECK(refused.body.empty());
  CHECK_FALSE(refused.header("Content-Type").has_value());
  CHECK(request(checked.authority(), "GET", "/api/version", {}, {{"Host", "localhost:11434"}})
            .status == 200);
  CHECK(
      request(checked.authority(), "GET", "/api/version", {}, {{"Host", "printer.local"}}).status ==
      200);
  CHECK(request(checked.authority(), "GET", "/api/version", {}, {{"Host", "10.0.0.7"}}).status ==
        200);
  CHECK(
      request(checked.authority(), "OPTIONS", "/api/version", {}, {{"Host", "localhost"}}).status ==
      204);
  auto unchecked = start_sim();
  CHECK(
      request(unchecked.authority(), "GET", "/api/version", {}, {{"Host", "example.com"}}).status ==
      200);
}

TEST_CASE("sim: CORS follows Ollama's allowed origins", "[sim]") {
  auto sim = start_sim({"--origins", "https://app.example.com"});
  auto evil =
      request(sim.authority(), "GET", "/api/tags", {}, {{"Origin", "https://evil.example"}});
  CHECK(evil.status == 403);
  CHECK(evil.body.empty());
  auto local =
      request(sim.authority(), "GET", "/api/tags", {}, {{"Origin", "http://localhost:3000"}});
  CHECK(local.status == 200);
  CHECK(local.header("Access-Control-Allow-Origin") == "http://localhost:3000");
  CHECK(local.header("Vary") == "Origin");
  auto extra =
      request(sim.authority(), "GET", "/api/tags", {}, {{"Origin", "https://app.example.com"}});
  CHECK(extra.status == 200);
  auto same =
      request(sim.authority(), "GET", "/api/tags", {}, {{"Origin", "http://" + sim.authority()}});
  CHECK(same.status == 200);
  CHECK_FALSE(same.header("Access-Control-Allow-Origin").has_value());
  auto preflight =
      request(sim.authority(), "OPTIONS", "/api/embed", {},
              {{"Origin", "http://127.0.0.1:5173"}, {"Access-Control-Request-Method", "POST"}});
  CHECK(preflight.status == 204);
  CHECK(preflight.header("Access-Control-Allow-Methods") ==
        "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS");
  CHECK(preflight.header("Access-Control-Max-Age") == "43200");
  CHECK(preflight.header_values("Vary").size() == 3);
  CHECK(preflight.header("Allow") == "POST");
  auto evil_404 =
      request(sim.authority(), "GET", "/nope", {}, {{"Origin", "https://evil.example"}});
  CHECK(evil_404.status == 403);
}

TEST_CASE("sim: keep-alive serves several requests on one connection", "[sim]") {
  auto sim = start_sim({"--dims", "4"});
  sim_reset(sim.authority());
  auto before = sim_stats(sim.authority()).connections_total;
  {
    keepalive_connection c(sim.authority());
    for (int i = 0; i < 3; ++i) {
      auto r = c.request("POST", "/api/embed", R"({"model":"all-minilm","input":"k"})");
      CHECK(r.status == 200);
    }
    CHECK(c.request("GET", "/api/tags").status == 200);
    CHECK_FALSE(c.peer_closed());
    auto closing = c.request("GET", "/", {}, {{"Connection", "close"}});
    CHECK(closing.header("Connection") == "close");
    CHECK(c.peer_closed(2s));
  }
  auto stats = sim_stats(sim.authority());
  CHECK(stats.requests == 5);
  CHECK(stats.connections_total - before == 2); // the keep-alive one and this stats request
}

TEST_CASE("sim: unread request bodies are drained when small and close the connection when large",
          "[sim]") {
  auto sim = start_sim();
  keepalive_connection c(sim.authority());
  auto small = c.request("POST", "/nope", std::string(1000, 'x'));
  CHECK(small.status == 404);
  CHECK_FALSE(small.header("Connection").has_value());
  CHECK(c.request("GET", "/").status == 200);
  auto large = c.request("POST", "/nope", std::string(300 * 1024, 'x'));
  CHECK(large.status == 404);
  CHECK(large.header("Connection") == "close");
  CHECK(c.peer_closed(2s));
}

TEST_CASE("sim: chunked request bodies are decoded and logged decoded", "[sim]") {
  auto sim = start_sim({"--dims", "4"});
  std::string body = R"({"model":"all-minilm","input":["a","b","c"]})";
  std::string first = body.substr(0, 16);
  std::string rest = body.substr(16);
  char size[16];
  std::snprintf(size, sizeof size, "%zx", rest.size());
  std::string chunked = "10;ext=1\r\n" + first + "\r\n" + size + "\r\n" + rest + "\r\n0\r\n\r\n";
  auto r = request(sim.authority(), "POST", "/api/embed", chunked,
                   {{"Transfer-Encoding", "chunked"}, {"Content-Type", "application/json"}});
  CHECK(r.status == 200);
  CHECK(parse_json(r.body)["embeddings"].size() == 3);
  auto log = sim_log(sim.authority());
  REQUIRE(log.size() == 1);
  CHECK(log[0].body == body);
  CHECK(log[0].header("Transfer-Encoding") == "chunked");
}

TEST_CASE("sim: Expect 100-continue is answered before the body is read", "[sim]") {
  auto sim = start_sim({"--dims", "4"});
  keepalive_connection c(sim.authority());
  std::string body = R"({"model":"all-minilm","input":"x"})";
  c.send_raw("POST /api/embed HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n");
  std::string interim;
  char buffer[64];
  ssize_t got = ::recv(c.native_handle(), buffer, sizeof buffer, 0);
  REQUIRE(got > 0);
  interim.assign(buffer, static_cast<std::size_t>(got));
  CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
  c.send_raw(body);
  auto r = c.read_response();
  CHECK(r.status == 200);
}

TEST_CASE("sim: model routes list, show and describe the installed models", "[sim]") {
  auto sim = start_sim({"--models", "all-minilm,llama3.2"});
  auto tags = parse_json(request(sim.authority(), "GET", "/api/tags").body);
  REQUIRE(tags["models"].size() == 2);
  CHECK(tags["models"][0]["name"] == "all-minilm:latest");
  CHECK(tags["models"][0]["digest"].get<std::string>().size() == 64);
  CHECK(tags["models"][0]["details"]["format"] == "gguf");
  CHECK(parse_json(request(sim.authority(), "GET", "/api/ps").body)["models"].empty());
  request(sim.authority(), "POST", "/api/embed", R"({"model":"all-minilm","input":"x"})");
  auto ps = parse_json(request(sim.authority(), "GET", "/api/ps").body);
  REQUIRE(ps["models"].size() == 1);
  CHECK(ps["models"][0]["model"] == "all-minilm:latest");
  auto show = request(sim.authority(), "POST", "/api/show", R"({"model":"all-minilm"})");
  CHECK(show.status == 200);
  CHECK(parse_json(show.body)["capabilities"][0] == "embedding");
  auto unknown = request(sim.authority(), "POST", "/api/show", R"({"model":"nope"})");
  CHECK(unknown.status == 404);
  CHECK(unknown.body == R"({"error":"model 'nope' not found"})");
  auto v1 = request(sim.authority(), "GET", "/v1/models");
  CHECK(parse_json(v1.body)["data"].size() == 2);
  auto head_tags = request(sim.authority(), "HEAD", "/api/tags");
  CHECK(head_tags.status == 200);
  CHECK(head_tags.body.empty());
}

TEST_CASE("sim: a 256 MiB blob upload is streamed in constant memory", "[sim]") {
  auto sim = start_sim();
  std::string digest = "sha256:" + std::string(64, 'a');
  CHECK(request(sim.authority(), "HEAD", "/api/blobs/" + digest).status == 404);
  long rss_before = sim.rss_kib();
  REQUIRE(rss_before > 0);

  constexpr std::size_t total = 256u << 20;
  int fd = connect_to(sim.authority());
  std::string head = "POST /api/blobs/" + digest +
                     " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(total) +
                     "\r\n\r\n";
  REQUIRE(::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
  std::string piece(1u << 20, 'z');
  long peak = rss_before;
  for (std::size_t sent = 0; sent < total; sent += piece.size()) {
    std::size_t off = 0;
    while (off < piece.size()) {
      ssize_t n = ::send(fd, piece.data() + off, piece.size() - off, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      off += static_cast<std::size_t>(n);
    }
    if ((sent >> 20) % 32 == 0) {
      peak = std::max(peak, sim.rss_kib());
    }
  }
  std::string answer;
  char buffer[4096];
  while (answer.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    REQUIRE(n > 0);
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  CHECK(answer.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
  peak = std::max(peak, sim.rss_kib());
  INFO("rss before " << rss_before << " KiB, peak " << peak << " KiB");
  CHECK(peak - rss_before < 32 * 1024);
  CHECK(request(sim.authority(), "HEAD", "/api/blobs/" + digest).status == 200);
  auto log = sim_log(sim.authority());
  bool counted = false;
  for (const auto& e : log) {
    if (e.method == "POST" && e.target.rfind("/api/blobs/", 0) == 0) {
      counted = e.body_size == total && e.body.empty();
    }
  }
  CHECK(counted);
  CHECK(request(sim.authority(), "POST", "/api/blobs/not-a-digest", "x").status == 400);
}

TEST_CASE("sim: --help documents every flag and --version prints the version", "[sim]") {
  child_process help(SIM_BINARY, {"--help"}, no_wait());
  REQUIRE(help.wait_exit(10s) == 0);
  std::string text = help.stdout_text();
  for (const char* flag :
       {"--listen",          "--models",        "--dims",           "--context",
        "--runner",          "--slots",         "--max-queue",      "--call-cost-ms",
        "--token-cost-us",   "--cold-load-ms",  "--token-ms",       "--gen-tokens",
        "--host-check",      "--origins",       "--error-rate",     "--error-status",
        "--drop-rate",       "--seed",          "--threads",        "--cache-mb",
        "--idle-timeout-ms", "--body-limit-mb", "--ollama-version", "--verbose",
        "--version",         "--help",          "@sleep=",          "@hdrdelay=",
        "@status=",          "@drop;",          "@chunked=",        "@gap=",
        "@streamerror=",     "@edge;"}) {
    INFO(flag);
    CHECK(text.find(flag) != std::string::npos);
  }
  child_process version(SIM_BINARY, {"--version"}, no_wait());
  REQUIRE(version.wait_exit(10s) == 0);
  CHECK(version.stdout_text().rfind("ollama-sim ", 0) == 0);
  child_process bad(SIM_BINARY, {"--runner", "sideways"}, no_wait());
  CHECK(bad.wait_exit(10s) == 2);
  CHECK_FALSE(bad.stderr_text().empty());
}

TEST_CASE("sim: SIGTERM and SIGINT stop the simulator promptly with status 0", "[sim]") {
  for (int signal : {SIGTERM, SIGINT}) {
    auto sim = start_sim();
    CHECK(sim.stdout_text() == "listening on http://" + sim.authority() + "\n");
    keepalive_connection idle(sim.authority());
    CHECK(idle.request("GET", "/").status == 200);
    sim.send_signal(signal);
    CHECK(sim.wait_exit(3s) == 0);
  }
}
