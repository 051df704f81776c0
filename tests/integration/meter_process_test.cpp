// ollama-meter as a process: its own routes (/healthz, /metrics), bad configuration (exit 2, one
// line, no listener), configuration from the environment, the ready line, graceful stop on
// SIGTERM/SIGINT, SIGPIPE, and the access log.
#include "tests/integration/meter_harness.hpp"
#include "tests/unit/metrics_exposition.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <future>
#include <sstream>

#include <sys/socket.h>

using namespace meter::test;
using namespace std::chrono_literals;

namespace {

const header_list json_headers{{"Content-Type", "application/json"}};

std::size_t count_lines(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) {
    n += c == '\n' ? 1 : 0;
  }
  return n;
}

} // namespace

TEST_CASE("healthz: answers 200 and reports whether the upstream answers", "[process][own]") {
  SECTION("upstream up") {
    auto sim = start_sim();
    auto meter = start_meter(sim.authority());
    auto r = request(meter.authority(), "GET", "/healthz");
    CHECK(r.status == 200);
    auto j = parse_json(r.body);
    CHECK(j["upstream"]["reachable"] == true);
    // /healthz is the proxy's own: the sim never sees it.
    for (const auto& e : relayed_log(sim.authority())) {
      CHECK(e.target != "/healthz");
    }
  }
  SECTION("upstream down") {
    refusing_port dead;
    auto meter = start_meter(dead.authority());
    auto r = request(meter.authority(), "GET", "/healthz");
    CHECK(r.status == 200);
    auto j = parse_json(r.body);
    CHECK(j["upstream"]["reachable"] == false);
  }
}

TEST_CASE("healthz and metrics: a request body they do not read closes the connection, and "
          "the answer says so",
          "[process][own]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto target = GENERATE(as<std::string>{}, "/healthz", "/metrics");
  keepalive_connection c(meter.authority());
  auto r = c.request("GET", target, "unread body", {{"Content-Type", "text/plain"}});
  CHECK(r.status == 200);
  CHECK(r.header("connection") == "close");
  CHECK(c.peer_closed(5s));
  keepalive_connection bodiless(meter.authority());
  auto kept = bodiless.request("GET", target);
  CHECK(kept.status == 200);
  CHECK_FALSE(kept.header("connection"));
  CHECK(bodiless.request("GET", target).status == 200); // the same connection serves again
}

TEST_CASE("metrics: /metrics answers Prometheus text and is not relayed", "[process][own]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", {"a", "b"}),
          json_headers);
  auto r = request(meter.authority(), "GET", "/metrics");
  CHECK(r.status == 200);
  CHECK(r.header("content-type").value_or("").rfind("text/plain", 0) == 0);
  CHECK(r.body.find("# TYPE ") != std::string::npos);
  for (const auto& e : relayed_log(sim.authority())) {
    CHECK(e.target != "/metrics");
  }
}

TEST_CASE("metrics: --cold-load-threshold decides which upstream loads count as cold",
          "[process][own]") {
  // Each sim loads a model for 300 ms on its first call; the three concurrent sub-calls of the
  // one request all wait for that load and report it, and it counts once.
  auto cold_loads_after_one_embed = [](std::vector<std::string> meter_args) {
    auto sim = start_sim({"--cold-load-ms", "300"});
    meter_args.insert(meter_args.end(), {"--max-fanout", "3"});
    auto meter = start_meter(sim.authority(), std::move(meter_args));
    auto r = request(meter.authority(), "POST", "/api/embed",
                     embed_body("all-minilm", {"a", "b", "c"}), json_headers);
    REQUIRE(r.status == 200);
    REQUIRE(parse_json(r.body).value("load_duration", 0.0) >= 300e6);
    double total = 0;
    for (const auto& s : parse_samples(request(meter.authority(), "GET", "/metrics").body)) {
      total += s.name == "ollama_meter_cold_loads_total" ? s.value : 0;
    }
    return total;
  };
  CHECK(cold_loads_after_one_embed({"--cold-load-threshold", "200ms"}) == 1);
  CHECK(cold_loads_after_one_embed({}) == 0); // the default threshold is 500ms
}

TEST_CASE("config: bad configuration exits 2 with one line on stderr and never listens",
          "[process][config]") {
  struct bad {
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> env;
  };
  auto b = GENERATE(bad{{"--max-fanout", "0"}, {}}, bad{{"--upstream", "https://x"}, {}},
                    bad{{"--listen", "garbage"}, {}}, bad{{"--upstream-concurrency", "-3"}, {}},
                    bad{{"--header-timeout", "soon"}, {}}, bad{{"--request-body-limit", "1X"}, {}},
                    bad{{"--no-such-flag"}, {}}, bad{{}, {{"OLLAMA_METER_MAX_FANOUT", "0"}}},
                    bad{{}, {{"OLLAMA_METER_LISTEN", "nonsense"}}});
  std::vector<std::string> args{"--upstream", "127.0.0.1:9"};
  args.insert(args.end(), b.args.begin(), b.args.end());
  child_process meter(METER_BINARY, args, {.wait_ready = false, .env = b.env});
  auto status = meter.wait_exit(10s);
  REQUIRE(status);
  CHECK(*status == 2);
  // Wait for the pipes to drain before reading what it printed.
  meter.wait_stderr("\n", 2s);
  auto err = meter.stderr_text();
  INFO(err);
  CHECK(count_lines(err) == 1);
  CHECK(err.size() > 10);
  CHECK(meter.stdout_text().find("listening on") == std::string::npos);
}

TEST_CASE("config: flags come from OLLAMA_METER_* variables, and the command line wins",
          "[process][config]") {
  auto sim = start_sim();
  std::vector<std::string> inputs;
  for (int i = 0; i < 6; ++i) {
    inputs.push_back("@sleep=200;env" + std::to_string(i));
  }
  SECTION("OLLAMA_METER_MAX_FANOUT=2") {
    auto meter = start_meter(sim.authority(), {}, {.env = {{"OLLAMA_METER_MAX_FANOUT", "2"}}});
    auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                     json_headers);
    CHECK(r.status == 200);
    CHECK(sim_stats(sim.authority()).embed_peak == 2);
  }
  SECTION("--max-fanout 3 beats OLLAMA_METER_MAX_FANOUT=2") {
    auto meter = start_meter(sim.authority(), {"--max-fanout", "3"},
                             {.env = {{"OLLAMA_METER_MAX_FANOUT", "2"}}});
    auto r = request(meter.authority(), "POST", "/api/embed", embed_body("all-minilm", inputs),
                     json_headers);
    CHECK(r.status == 200);
    CHECK(sim_stats(sim.authority()).embed_peak == 3);
  }
  SECTION("OLLAMA_METER_UPSTREAM names the upstream") {
    child_process meter(METER_BINARY, {"--listen", "127.0.0.1:0"},
                        {.env = {{"OLLAMA_METER_UPSTREAM", "http://" + sim.authority()}}});
    auto r = request(meter.authority(), "GET", "/api/version");
    CHECK(r.status == 200);
  }
}

TEST_CASE("process: the ready line is the only stdout output and names the bound port",
          "[process]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  CHECK(meter.port() != 0);
  request(meter.authority(), "GET", "/api/version");
  CHECK(meter.stdout_text() == "listening on http://" + meter.authority() + "\n");
}

TEST_CASE("process: SIGTERM lets an in-flight request finish, then exits 0", "[process][signal]") {
  auto sig = GENERATE(SIGTERM, SIGINT);
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto pending = std::async(std::launch::async, [&] {
    return request(meter.authority(), "POST", "/api/embed",
                   embed_body("all-minilm", {"@sleep=1500;in flight", "b"}), json_headers);
  });
  REQUIRE(wait_until(5s, [&] { return sim_stats(sim.authority()).embed_in_flight >= 1; }));
  meter.send_signal(sig);
  // New connections are no longer accepted while the request finishes.
  CHECK(wait_until(1s, [&] {
    try {
      request(meter.authority(), "GET", "/api/version", {}, {}, 500ms);
      return false;
    } catch (const std::runtime_error&) {
      return true;
    }
  }));
  auto r = pending.get();
  CHECK(r.status == 200);
  CHECK(raw_vectors(r.body).size() == 2);
  auto status = meter.wait_exit(10s);
  REQUIRE(status);
  CHECK(*status == 0);
}

TEST_CASE("process: SIGTERM on an idle proxy exits 0 at once, whatever its thread count",
          "[process][signal]") {
  // With no session left, the I/O threads stop while the listener's next accept is still
  // pending, holding the socket it opens for another thread: tearing down must not free that
  // thread's context first (AddressSanitizer makes such a use after free exit 1).
  auto threads = GENERATE(as<std::string>{}, "1", "2", "4");
  auto sim = start_sim();
  auto meter = start_meter(sim.authority(), {"--threads", threads});
  auto r = request(meter.authority(), "GET", "/api/version", {}, {{"Connection", "close"}});
  CHECK(r.status == 200);
  // The session ends as soon as its answer is logged (the answer closes the connection).
  REQUIRE(wait_until(5s, [&] {
    return meter.stderr_text().find("\"GET /api/version HTTP/1.1\" 200") != std::string::npos;
  }));
  meter.send_signal(SIGTERM);
  auto status = meter.wait_exit(8s);
  REQUIRE(status);
  INFO(meter.stderr_text());
  CHECK(*status == 0);
}

TEST_CASE("process: SIGTERM with stuck requests exits 0 after the grace period, their work "
          "unwound",
          "[process][signal]") {
  auto sim = start_sim();
  // Several split requests on two I/O threads: their sub-calls hold upstream slots of the main
  // thread's limiter, which must outlive them.
  auto meter = start_meter(sim.authority(), {"--shutdown-grace", "1s", "--threads", "2"});
  std::vector<std::future<unsigned>> pending;
  for (int i = 0; i < 4; ++i) {
    pending.push_back(std::async(std::launch::async, [&] {
      try {
        return request(meter.authority(), "POST", "/api/embed",
                       embed_body("all-minilm", {"@sleep=20000;stuck", "@sleep=20000;too"}),
                       json_headers, 30s)
            .status;
      } catch (const std::runtime_error&) {
        return 0u;
      }
    }));
  }
  REQUIRE(wait_until(5s, [&] { return sim_stats(sim.authority()).embed_in_flight >= 4; }));
  auto signalled = steady::now();
  meter.send_signal(SIGTERM);
  auto status = meter.wait_exit(8s);
  REQUIRE(status);
  INFO(meter.stderr_text());
  CHECK(*status == 0);
  CHECK(ms_between(signalled, steady::now()) < 6000);
  // Closing the clients ended every request: none was left suspended at exit.
  CHECK(meter.stderr_text().find("unfinished") == std::string::npos);
  CHECK(meter.stderr_text().find("info stopped") != std::string::npos);
  for (auto& p : pending) {
    CHECK(p.get() == 0u); // the connection closed without an answer
  }
}

TEST_CASE("process: a client that vanishes mid-stream does not kill the proxy (SIGPIPE)",
          "[process][signal]") {
  auto sim = start_sim({"--gen-tokens", "200", "--token-ms", "5"});
  auto meter = start_meter(sim.authority());
  for (int i = 0; i < 5; ++i) {
    socket_guard fd{connect_to(meter.authority())};
    std::string body = R"({"model":"llama3.2","prompt":"long"})";
    REQUIRE(send_bytes(
        fd.fd, build_request(meter.authority(), "POST", "/api/generate", body, json_headers), 5s));
    read_until(fd.fd, "done", 200ms);
  }
  auto r = request(meter.authority(), "GET", "/api/version");
  CHECK(r.status == 200);
  CHECK_FALSE(meter.wait_exit(0ms));
}

TEST_CASE("access log: one line per request with method, path, status and inputs, never the body",
          "[process][log]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::string secret = "confidential-body-text-7f3a";
  auto r = request(meter.authority(), "POST", "/api/embed?trace=1",
                   embed_body("all-minilm", {secret, secret + "-2", secret + "-3"}), json_headers);
  CHECK(r.status == 200);
  auto g =
      request(meter.authority(), "POST", "/api/generate",
              R"({"model":"llama3.2","prompt":")" + secret + R"(","stream":false})", json_headers);
  CHECK(g.status == 200);
  auto bad = request(meter.authority(), "GET", "/nope");
  CHECK(bad.status == 404);
  REQUIRE(meter.wait_stderr("/nope", 5s));
  auto log = meter.stderr_text();
  INFO(log);
  CHECK(log.find(secret) == std::string::npos);
  auto line_with = [&](const std::string& needle) {
    std::size_t at = log.find(needle);
    if (at == std::string::npos) {
      return std::string{};
    }
    std::size_t begin = log.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return log.substr(begin, log.find('\n', at) - begin);
  };
  auto embed_line = line_with("POST /api/embed");
  CHECK(embed_line.find(" 200 ") != std::string::npos);
  CHECK(embed_line.find("inputs=3") != std::string::npos);
  auto generate_line = line_with("POST /api/generate");
  CHECK(generate_line.find(" 200 ") != std::string::npos);
  auto missing_line = line_with("GET /nope");
  CHECK(missing_line.find(" 404 ") != std::string::npos);
  // The query string may carry data too: the logged path stops before it.
  CHECK(log.find("trace=1") == std::string::npos);
}

TEST_CASE("access log: a client that resets at once is still logged with its address",
          "[process][log]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  constexpr int rounds = 5;
  for (int round = 0; round < rounds; ++round) {
    socket_guard fd{connect_to(meter.authority())};
    REQUIRE(send_bytes(fd.fd,
                       build_request(meter.authority(), "POST", "/api/embed",
                                     embed_body("all-minilm", {"@sleep=500;a", "b"}), json_headers),
                       5s));
    linger reset_on_close{1, 0};
    ::setsockopt(fd.fd, SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof reset_on_close);
  }
  std::vector<std::string> lines;
  REQUIRE(wait_until(10s, [&] {
    lines.clear();
    std::istringstream log{meter.stderr_text()};
    for (std::string line; std::getline(log, line);) {
      if (line.find("\"POST /api/embed") != std::string::npos) {
        lines.push_back(line);
      }
    }
    return lines.size() == rounds;
  }));
  for (const auto& line : lines) {
    INFO(line);
    CHECK(line.find(" 127.0.0.1 \"POST /api/embed") != std::string::npos);
  }
}

TEST_CASE("relay: the connection ends after the answer to a CONNECT", "[relay][framing]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto r = timed_raw_exchange(
      meter.authority(), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 5s);
  CHECK(r.all.rfind("HTTP/1.1 4", 0) == 0);
  CHECK(r.eof);
}
