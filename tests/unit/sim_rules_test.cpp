// ollama-sim: routing (404/405/Allow/redirects), CORS, the Host check and response framing.
#include "tests/sim/http_rules.hpp"
#include "tests/sim/wire.hpp"

#include <catch2/catch.hpp>

using namespace meter::sim;
using kind = route_decision::kind;

TEST_CASE("sim: known routes dispatch and unknown paths are 404, case-sensitively", "[sim]") {
  auto r = route_request("POST", "/api/embed?trace=1", "");
  CHECK(r.what == kind::handler);
  CHECK(r.id == route_id::embed);
  CHECK(route_request("POST", "/api/embeddings", "").id == route_id::embeddings);
  CHECK(route_request("POST", "/api/embedx", "").what == kind::not_found);
  CHECK(route_request("POST", "/API/EMBED", "").what == kind::not_found);
  CHECK(route_request("POST", "/api%2Fembed", "").id == route_id::embed);
  auto blob = route_request("POST", "/api/blobs/sha256:abc", "");
  CHECK(blob.id == route_id::blobs);
  CHECK(blob.param == "sha256:abc");
  CHECK(route_request("GET", "/api/blobs/a/b", "").what == kind::not_found);
}

TEST_CASE("sim: a wrong method is 405 with gin's Allow order", "[sim]") {
  auto get_embed = route_request("GET", "/api/embed", "");
  CHECK(get_embed.what == kind::method_not_allowed);
  CHECK(get_embed.allow == "POST");
  CHECK(route_request("POST", "/", "").allow == "HEAD, GET");
  CHECK(route_request("GET", "/api/blobs/x", "").allow == "HEAD, POST");
  CHECK(route_request("HEAD", "/api/ps", "").allow == "GET");
  CHECK(route_request("OPTIONS", "/api/tags", "").allow == "HEAD, GET");
  CHECK(route_request("HEAD", "/", "").what == kind::handler);
}

TEST_CASE("sim: trailing slashes and unclean paths redirect like gin and ServeMux", "[sim]") {
  auto get = route_request("GET", "/api/tags/", "");
  CHECK(get.what == kind::redirect);
  CHECK(get.status == 301);
  CHECK(get.location == "/api/tags");
  CHECK_FALSE(get.runs_middleware);
  auto post = route_request("POST", "/api/embed/", "");
  CHECK(post.status == 307);
  CHECK(post.location == "/api/embed");
  CHECK(route_request("POST", "/api/embed/", "/ollama").location == "/ollama/api/embed");
  CHECK(route_request("POST", "/api/embed/?a=1", "").location == "/api/embed?a=1");
  auto unclean = route_request("POST", "//api/embed", "");
  CHECK(unclean.status == 301);
  CHECK(unclean.location == "/api/embed");
  CHECK(route_request("GET", "/api/./tags", "").location == "/api/tags");
  CHECK(route_request("GET", "/x/../api/tags?q", "").location == "/api/tags?q");
  CHECK(route_request("GET", "/api/embed/", "").what == kind::not_found);
  CHECK(redirect_body(301, "/api/tags") == "<a href=\"/api/tags\">Moved Permanently</a>.\n\n");
}

TEST_CASE("sim: /_sim/ routes are internal", "[sim]") {
  auto stats = route_request("GET", "/_sim/stats", "");
  CHECK(stats.sim_internal);
  CHECK(stats.id == route_id::sim_stats);
  CHECK(route_request("GET", "/_sim/log?since=4", "").id == route_id::sim_log);
  CHECK(route_request("POST", "/_sim/reset", "").id == route_id::sim_reset);
  CHECK(route_request("GET", "/_sim/reset", "").what == kind::method_not_allowed);
  CHECK(query_value("a=1&since=42", "since") == "42");
}

TEST_CASE("sim: CORS allows Ollama's default origins and refuses others", "[sim]") {
  auto policy = make_cors_policy({});
  using ck = cors_outcome::kind;
  CHECK(apply_cors(policy, "GET", std::nullopt, "127.0.0.1:11434").what == ck::pass);
  auto same = apply_cors(policy, "GET", "http://127.0.0.1:11434", "127.0.0.1:11434");
  CHECK(same.what == ck::pass);
  CHECK(same.headers.empty());
  auto local = apply_cors(policy, "POST", "http://localhost:3000", "127.0.0.1:11434");
  CHECK(local.what == ck::pass);
  CHECK(local.headers ==
        header_list{{"Access-Control-Allow-Origin", "http://localhost:3000"}, {"Vary", "Origin"}});
  CHECK(apply_cors(policy, "GET", "https://example.com", "h").what == ck::forbidden);
  CHECK(apply_cors(policy, "GET", "chrome-extension://abc", "h").what == ck::forbidden);
  CHECK(apply_cors(policy, "GET", "app://anything", "h").what == ck::pass);
  auto preflight = apply_cors(policy, "OPTIONS", "http://127.0.0.1:5173", "h");
  CHECK(preflight.what == ck::preflight);
  CHECK(preflight.headers.size() == 7);

  auto extra = make_cors_policy({"https://app.example.com"});
  CHECK(apply_cors(extra, "GET", "https://app.example.com", "h").what == ck::pass);
  auto all = make_cors_policy({"*"});
  auto any = apply_cors(all, "GET", "https://whatever.test", "h");
  CHECK(any.what == ck::pass);
  CHECK(any.headers == header_list{{"Access-Control-Allow-Origin", "*"}});
}

TEST_CASE("sim: the Host check accepts local names and addresses and refuses others", "[sim]") {
  std::vector<std::string> local_ips{"127.0.0.1", "192.0.2.10"};
  auto check = [&](std::string_view host, std::string_view method = "GET") {
    return check_host(method, host, "myhost", local_ips).what;
  };
  using hk = host_outcome::kind;
  for (auto host : {"localhost:11434", "127.0.0.1", "10.1.2.3", "192.168.1.5:80", "[::1]:11434",
                    "0.0.0.0", "LOCALHOST", "foo.localhost", "myhost.internal", "printer.local",
                    "MyHost", "", "192.0.2.10:8080", "172.16.0.1", "[fd00::1]:1"}) {
    INFO(host);
    CHECK(check(host) == hk::pass);
  }
  for (auto host : {"example.com", "example.com:11434", "8.8.8.8", "[::1]", "172.32.0.1"}) {
    INFO(host);
    CHECK(check(host) == hk::forbidden);
  }
  CHECK(check("localhost", "OPTIONS") == hk::no_content);
  CHECK(check("127.0.0.1", "OPTIONS") == hk::pass);
}

TEST_CASE("sim: response heads follow net/http's header order and framing", "[sim]") {
  head_spec h;
  h.status = 405;
  h.headers = {{"content-type", "text/plain"}, {"allow", "POST"}};
  h.content_length = 22;
  h.date = "Mon, 02 Jan 2006 15:04:05 GMT";
  CHECK(serialize_head(h) == "HTTP/1.1 405 Method Not Allowed\r\nAllow: POST\r\n"
                             "Content-Type: text/plain\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
                             "Content-Length: 22\r\n\r\n");
  head_spec c;
  c.status = 499;
  c.frame = framing::chunked;
  c.connection_close = true;
  c.date = "D";
  CHECK(serialize_head(c) == "HTTP/1.1 499 status code 499\r\nDate: D\r\nConnection: close\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n");
  head_spec old;
  old.http11 = false;
  old.frame = framing::close_delimited;
  old.date = "D";
  CHECK(serialize_head(old) == "HTTP/1.0 200 OK\r\nDate: D\r\n\r\n");

  CHECK(framing_for_body(false, 200, true, 2048, false) == framing::content_length);
  CHECK(framing_for_body(false, 200, true, 2049, false) == framing::chunked);
  CHECK(framing_for_body(false, 200, false, 5000, false) == framing::close_delimited);
  CHECK(framing_for_body(false, 200, true, 10, true) == framing::chunked);
  CHECK(framing_for_body(true, 200, true, 17, false) == framing::content_length);
  CHECK(framing_for_body(false, 204, true, 0, false) == framing::none);
  CHECK(framing_for_stream(false, 200, true) == framing::chunked);
  CHECK(framing_for_stream(false, 200, false) == framing::close_delimited);
  CHECK(canonical_header_key("x-sim-TRAILER") == "X-Sim-Trailer");

  std::string chunks;
  append_chunk(chunks, "hello", ";foo=bar");
  append_last_chunk(chunks, {{"X-Sim-Trailer", "1"}});
  CHECK(chunks == "5;foo=bar\r\nhello\r\n0\r\nX-Sim-Trailer: 1\r\n\r\n");
}
