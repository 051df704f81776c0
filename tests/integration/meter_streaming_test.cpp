// Streaming through ollama-meter: NDJSON lines reach the client as the upstream writes them (C13),
// long silent gaps, in-stream errors and stream:false on /api/pull (C15), HTTP/1.0 clients get
// close-delimited bodies (C20), and a 1 GiB blob upload passes in constant memory.
#include "tests/integration/meter_harness.hpp"
#include "tests/unit/metrics_exposition.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

using namespace meter::test;
using namespace std::chrono_literals;

namespace {

const header_list json_headers{{"Content-Type", "application/json"}};

// Arrival time of the piece that completed each NDJSON line.
std::vector<steady::time_point> line_arrivals(const std::vector<timed_chunk>& pieces) {
  std::vector<steady::time_point> out;
  for (const auto& p : pieces) {
    for (char c : p.data) {
      if (c == '\n') {
        out.push_back(p.at);
      }
    }
  }
  return out;
}

void check_ndjson_lines(const std::string& body) {
  auto lines = ndjson_lines(body);
  REQUIRE_FALSE(lines.empty());
  CHECK(body.back() == '\n');
  for (const auto& line : lines) {
    INFO(line);
    REQUIRE_FALSE(line.empty());
    CHECK_NOTHROW(parse_json(line));
  }
}

// One NDJSON line without its wall-clock timestamp.
std::string without_created(const std::string& line) {
  auto j = parse_json(line);
  j.erase("created_at");
  return j.dump();
}

} // namespace

TEST_CASE("C13: streamed generate and chat lines reach the client as the upstream writes them",
          "[relay][streaming][C13]") {
  struct route {
    std::string target;
    std::string body;
  };
  auto rt = GENERATE(
      route{"/api/generate", R"({"model":"llama3.2","prompt":"@gap=1000;hi"})"},
      route{"/api/chat",
            R"({"model":"llama3.2","messages":[{"role":"user","content":"@gap=1000;hi"}]})"});
  auto sim = start_sim({"--gen-tokens", "2"});
  auto meter = start_meter(sim.authority());
  auto s = stream_response(meter.authority(), "POST", rt.target, rt.body, json_headers, 30s);
  const auto& r = s.response;
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/x-ndjson");
  CHECK_FALSE(r.header("content-length"));
  CHECK(r.chunked);
  CHECK_FALSE(r.header("x-accel-buffering").value_or("no") != "no");
  check_ndjson_lines(r.body);
  auto lines = ndjson_lines(r.body);
  REQUIRE(lines.size() >= 3);
  CHECK(parse_json(lines.back())["done"] == true);
  auto arrivals = line_arrivals(s.pieces);
  REQUIRE(arrivals.size() == lines.size());
  // About 1 s between lines: each line arrived on its own, not all at the end.
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    CHECK(ms_between(arrivals[i - 1], arrivals[i]) >= 700);
  }
  CHECK(ms_between(arrivals.front(), arrivals.back()) >=
        1400 * (static_cast<double>(arrivals.size()) - 1) / 2);
  CHECK(ms_between(s.sent_at, arrivals.front()) < 1500);
}

TEST_CASE("streaming: clients that leave mid-stream are not counted as upstream failures",
          "[relay][streaming][metrics]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  const std::string body =
      R"({"model":"llama3.2","prompt":"@gap=10;hi","options":{"num_predict":3}})";
  for (int round = 0; round < 30; ++round) {
    socket_guard fd{connect_to(meter.authority())};
    REQUIRE(send_bytes(
        fd.fd, build_request(meter.authority(), "POST", "/api/generate", body, json_headers), 5s));
    REQUIRE_FALSE(read_until(fd.fd, "\r\n\r\n", 5s).empty());
    fd.close(); // mid-stream: the proxy closes the upstream call under a pending or later read
  }
  std::string text;
  REQUIRE(wait_until(10s, [&] {
    text = request(meter.authority(), "GET", "/metrics").body;
    return sample_value(text, "ollama_meter_requests_in_flight", {{"route", "/api/generate"}}) == 0;
  }));
  CHECK(sample_value(text, "ollama_meter_client_disconnects_total", {{"route", "/api/generate"}})
            .value_or(0) > 0); // most, unless a stream ended before its close was seen
  for (const char* kind : {"connect", "timeout", "reset"}) {
    INFO(kind);
    CHECK(sample_value(text, "ollama_meter_upstream_errors_total", {{"kind", kind}}).value_or(0) ==
          0);
  }
}

TEST_CASE("C13: streamed lines are relayed byte for byte, with no blank or re-framed lines",
          "[relay][streaming][C13]") {
  auto sim = start_sim({"--gen-tokens", "30", "--token-ms", "5"});
  auto meter = start_meter(sim.authority());
  std::string body = R"({"model":"llama3.2","prompt":"tell me","options":{"seed":1}})";
  auto direct = request(sim.authority(), "POST", "/api/generate", body, json_headers);
  auto r = request(meter.authority(), "POST", "/api/generate", body, json_headers);
  REQUIRE(r.status == 200);
  check_ndjson_lines(r.body);
  auto ours = ndjson_lines(r.body);
  auto theirs = ndjson_lines(direct.body);
  REQUIRE(ours.size() == theirs.size());
  // Every line but the last (which carries timings) is identical to a direct call.
  for (std::size_t i = 0; i + 1 < ours.size(); ++i) {
    CHECK(without_created(ours[i]) == without_created(theirs[i]));
  }
}

TEST_CASE("C13: an error line after the stream started is relayed with status 200",
          "[relay][streaming][C13]") {
  auto sim = start_sim({"--gen-tokens", "4"});
  auto meter = start_meter(sim.authority());
  auto r =
      request(meter.authority(), "POST", "/api/generate",
              R"({"model":"llama3.2","prompt":"@streamerror=runner crashed;hi"})", json_headers);
  CHECK(r.status == 200);
  check_ndjson_lines(r.body);
  auto lines = ndjson_lines(r.body);
  REQUIRE(lines.size() >= 2);
  CHECK(parse_json(lines.back())["error"] == "runner crashed");
}

TEST_CASE("C15: a 75 s silent gap in /api/pull does not trip the default timeouts",
          "[relay][streaming][timeout][C15][slow]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  auto s = stream_response(meter.authority(), "POST", "/api/pull",
                           R"({"model":"@gap=75000;nomic-embed-text"})", json_headers, 200s);
  const auto& r = s.response;
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/x-ndjson");
  check_ndjson_lines(r.body);
  auto lines = ndjson_lines(r.body);
  REQUIRE(lines.size() >= 4);
  CHECK(lines.back() == R"({"status":"success"})");
  CHECK(std::find(lines.begin(), lines.end(), R"({"status":"verifying sha256 digest"})") !=
        lines.end());
  auto arrivals = line_arrivals(s.pieces);
  double longest = 0;
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    longest = std::max(longest, ms_between(arrivals[i - 1], arrivals[i]));
  }
  CHECK(longest >= 74'000);
  // The lines before the gap arrived at once, not after it.
  CHECK(ms_between(s.sent_at, arrivals.front()) < 5000);
}

TEST_CASE("C15: an in-stream pull error is relayed unchanged with status 200 and nothing added",
          "[relay][streaming][C15]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::string body =
      R"({"model":"@streamerror=pull model manifest: file does not exist;nomic-embed-text"})";
  auto direct = request(sim.authority(), "POST", "/api/pull", body, json_headers);
  auto r = request(meter.authority(), "POST", "/api/pull", body, json_headers);
  CHECK(r.status == 200);
  CHECK(r.header("content-type") == direct.header("content-type"));
  CHECK(r.body == direct.body);
  auto lines = ndjson_lines(r.body);
  REQUIRE(lines.size() >= 2);
  CHECK(lines.front() == R"({"status":"pulling manifest"})");
  CHECK(lines.back() == R"({"error":"pull model manifest: file does not exist"})");
  CHECK(r.body.find("success") == std::string::npos);
}

TEST_CASE("C15: pull with stream:false and a pull failing before the stream are relayed as sent",
          "[relay][C15]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  SECTION("stream:false answers once after 3 s with its own content type") {
    std::string body = R"({"model":"@sleep=3000;nomic-embed-text","stream":false})";
    auto started = steady::now();
    auto r = request(meter.authority(), "POST", "/api/pull", body, json_headers);
    CHECK(ms_between(started, steady::now()) >= 3000);
    CHECK(r.status == 200);
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.body == R"({"status":"success"})");
  }
  SECTION("an error before the first line keeps its status and content type") {
    std::string body = R"({"model":"@status=500;pull failed: registry unavailable"})";
    auto direct = request(sim.authority(), "POST", "/api/pull", body, json_headers);
    auto r = request(meter.authority(), "POST", "/api/pull", body, json_headers);
    CHECK(r.status == 500);
    CHECK(r.status == direct.status);
    CHECK(r.header("content-type") == direct.header("content-type"));
    CHECK(r.body == direct.body);
    CHECK(r.body == R"({"error":"pull failed: registry unavailable"})");
  }
}

TEST_CASE("C20: an HTTP/1.0 client gets a close-delimited stream, line by line", "[relay][C20]") {
  auto sim = start_sim({"--gen-tokens", "3"});
  auto meter = start_meter(sim.authority());
  auto target = GENERATE(as<std::string>{}, "/api/generate", "/api/chat");
  std::string body =
      target == "/api/chat"
          ? R"({"model":"llama3.2","messages":[{"role":"user","content":"@gap=600;hi"}]})"
          : R"({"model":"llama3.2","prompt":"@gap=600;hi"})";
  std::string raw = "POST " + target +
                    " HTTP/1.0\r\nHost: proxy.local:8080\r\n"
                    "Content-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  auto got = timed_raw_exchange(meter.authority(), raw, 30s);
  INFO(got.all);
  REQUIRE(got.eof);
  auto r = parse_response(got.all);
  REQUIRE(r.status == 200);
  CHECK_FALSE(r.header("transfer-encoding"));
  CHECK_FALSE(r.header("content-length"));
  CHECK(r.close_delimited);
  CHECK(r.header("connection").value_or("close").find("close") != std::string::npos);
  check_ndjson_lines(r.body);
  auto lines = ndjson_lines(r.body);
  REQUIRE(lines.size() >= 3);
  CHECK(parse_json(lines.back())["done"] == true);
  // Lines still arrive as produced (newlines of the head are not counted).
  std::size_t head_size = got.all.find("\r\n\r\n") + 4;
  std::vector<timed_chunk> body_pieces;
  std::size_t offset = 0;
  for (const auto& p : got.pieces) {
    if (offset + p.data.size() > head_size) {
      std::size_t skip = offset < head_size ? head_size - offset : 0;
      body_pieces.push_back({p.at, p.data.substr(skip)});
    }
    offset += p.data.size();
  }
  auto arrivals = line_arrivals(body_pieces);
  REQUIRE(arrivals.size() == lines.size());
  CHECK(ms_between(arrivals.front(), arrivals.back()) >= 0.7 * 600 * (lines.size() - 1));
  // The proxy still talks HTTP/1.1 upstream.
  auto log = relayed_log(sim.authority());
  REQUIRE(log.size() == 1);
  CHECK(log[0].version.find("1.1") != std::string::npos);
}

TEST_CASE("C20: an HTTP/1.0 client gets the merged /api/embed answer with a Content-Length",
          "[embed][C20]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::string body = embed_body("all-minilm", {"a", "b", "c"});
  std::string raw = "POST /api/embed HTTP/1.0\r\nHost: proxy.local:8080\r\n"
                    "Content-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  auto got = timed_raw_exchange(meter.authority(), raw, 30s);
  REQUIRE(got.eof);
  auto r = parse_response(got.all);
  INFO(got.all.substr(0, 500));
  REQUIRE(r.status == 200);
  CHECK_FALSE(r.header("transfer-encoding"));
  REQUIRE(r.header("content-length"));
  auto head_end = got.all.find("\r\n\r\n");
  CHECK(std::stoull(*r.header("content-length")) == got.all.size() - head_end - 4);
  CHECK(raw_vectors(r.body).size() == 3);
  CHECK(parse_json(r.body)["embedding_durations"].size() == 3);
  for (const auto& c : embed_calls(sim.authority())) {
    CHECK(c.version.find("1.1") != std::string::npos);
  }
}

TEST_CASE("C20: an HTTP/1.0 client of a large chunked upstream answer gets no chunk framing",
          "[relay][C20]") {
  auto sim = start_sim({"--dims", "1024"});
  auto meter = start_meter(sim.authority());
  // /api/embeddings with 1024 dims is well above 2 KB: the sim answers chunked.
  std::string body = R"({"model":"all-minilm","prompt":"hello"})";
  auto direct = request(sim.authority(), "POST", "/api/embeddings", body, json_headers);
  REQUIRE(direct.chunked);
  std::string raw = "POST /api/embeddings HTTP/1.0\r\nHost: proxy.local:8080\r\n"
                    "Content-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  auto got = timed_raw_exchange(meter.authority(), raw, 30s);
  REQUIRE(got.eof);
  auto r = parse_response(got.all);
  CHECK(r.status == 200);
  CHECK_FALSE(r.header("transfer-encoding"));
  CHECK(r.body == direct.body);
}

TEST_CASE("blob: a 1 GiB upload passes with proxy RSS growth under 32 MiB",
          "[relay][blob][memory]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  // Warm up the proxy's allocator and pool with one small upload of another blob first.
  auto warm = request(meter.authority(), "POST", "/api/blobs/sha256:" + std::string(64, 'f'),
                      std::string(1 << 20, 'w'), {{"Content-Type", "application/octet-stream"}});
  REQUIRE(warm.status == 201);
  long baseline = meter.rss_kib();
  REQUIRE(baseline > 0);

  constexpr std::uint64_t total = 1ull << 30;
  // At 8 MiB/s the upload takes 128 s; anything slower fails here rather than at ctest's timeout.
  constexpr auto budget = 150s;
  std::string digest = "sha256:" + std::string(64, 'a');
  std::string piece(1 << 20, '\x5a');
  socket_guard fd{connect_to(meter.authority())};
  std::string head =
      "POST /api/blobs/" + digest + " HTTP/1.1\r\nHost: " + meter.authority() +
      "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(total) +
      "\r\n\r\n";
  REQUIRE(send_bytes(fd.fd, head, 10s));
  auto started = steady::now();
  long peak = baseline;
  std::uint64_t sent = 0;
  for (; sent < total; sent += piece.size()) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(started + budget - steady::now());
    if (left.count() <= 0 || !send_bytes(fd.fd, piece, left)) {
      break;
    }
    if ((sent >> 20) % 16 == 0) {
      peak = std::max(peak, meter.rss_kib());
    }
  }
  double seconds = ms_between(started, steady::now()) / 1000;
  INFO("sent " << (sent >> 20) << " MiB in " << seconds << " s ("
               << static_cast<double>(sent >> 20) / seconds << " MiB/s)");
  REQUIRE(sent == total);
  auto answer = read_until(fd.fd, "\r\n\r\n", 60s);
  INFO(answer);
  CHECK(answer.rfind("HTTP/1.1 201 ", 0) == 0);
  peak = std::max(peak, meter.rss_kib());
  INFO("baseline " << baseline << " KiB, peak " << peak << " KiB");
  CHECK(peak - baseline < 32 * 1024);
  bool found = false;
  for (const auto& e : relayed_log(sim.authority())) {
    if (e.target == "/api/blobs/" + digest && e.body_size == total) {
      found = true;
    }
  }
  CHECK(found);
}

TEST_CASE("blob: a large upload is relayed in large pieces, not a few hundred bytes at a time",
          "[relay][blob]") {
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  // 64 MiB in at most 8 s (8 MiB/s) even in a debug build on a busy machine; reading the client
  // body in 512-byte pieces, one upstream write each, does not reach that.
  std::string body(64 << 20, 'u');
  auto started = steady::now();
  auto r = request(meter.authority(), "POST", "/api/blobs/sha256:" + std::string(64, 'c'), body,
                   {{"Content-Type", "application/octet-stream"}}, 60s);
  double seconds = ms_between(started, steady::now()) / 1000;
  INFO("64 MiB in " << seconds << " s");
  CHECK(r.status == 201);
  CHECK(seconds < 8);
}

TEST_CASE("blob: an upstream that answers before reading the body is relayed, not turned into 502",
          "[relay][blob]") {
  // Ollama answers 200 at once, without reading the body, when the blob already exists.
  auto sim = start_sim();
  auto meter = start_meter(sim.authority());
  std::string target = "/api/blobs/sha256:" + std::string(64, 'e');
  auto first = request(meter.authority(), "POST", target, std::string(4096, 'x'),
                       {{"Content-Type", "application/octet-stream"}});
  REQUIRE(first.status == 201);
  auto direct = request(sim.authority(), "POST", target, std::string(4096, 'x'),
                        {{"Content-Type", "application/octet-stream"}});
  REQUIRE(direct.status == 200);
  socket_guard fd{connect_to(meter.authority())};
  std::string head =
      "POST " + target + " HTTP/1.1\r\nHost: " + meter.authority() +
      "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(8 << 20) +
      "\r\n\r\n";
  REQUIRE(send_bytes(fd.fd, head, 5s));
  // Send the body in pieces while the answer may already be on its way.
  std::string piece(256 << 10, 'x');
  for (int i = 0; i < 32; ++i) {
    if (!send_bytes(fd.fd, piece, 10s)) {
      break;
    }
  }
  auto answer = read_until(fd.fd, "\r\n\r\n", 10s);
  INFO(answer);
  CHECK(answer.rfind("HTTP/1.1 200 ", 0) == 0);
}
