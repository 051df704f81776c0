// Unit tests of how headers cross the proxy (hop-by-hop fields, Host, X-Forwarded-*) and of the
// byte layout of relayed messages (heads, chunk framing, gathered writes).
#include "proxy/forwarding.hpp"
#include "proxy/framing.hpp"

#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <catch2/catch.hpp>

namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;

std::string flatten(const meter::framed_write& w) {
  std::string out;
  for (auto b : w.buffers()) {
    out.append(static_cast<const char*>(b.data()), b.size());
  }
  return out;
}

http::request_header<> client_request(std::string_view extra_fields) {
  std::string raw = "POST /api/chat?x=1 HTTP/1.1\r\nHost: meter.local:11435\r\n" +
                    std::string{extra_fields} + "\r\n";
  http::request_parser<http::empty_body> parser;
  boost::system::error_code ec;
  parser.put(net::buffer(raw), ec);
  REQUIRE_FALSE(ec);
  return parser.get().base();
}

} // namespace

TEST_CASE("forwarding: hop-by-hop fields and the fields Connection names stay behind",
          "[forwarding]") {
  http::fields from;
  from.set(http::field::connection, "keep-alive, X-Private");
  from.set(http::field::keep_alive, "timeout=5");
  from.set(http::field::transfer_encoding, "chunked");
  from.set(http::field::content_length, "12");
  from.set(http::field::upgrade, "h2c");
  from.set(http::field::te, "trailers");
  from.set("x-private", "secret");
  from.set(http::field::content_type, "application/json");
  from.insert("Access-Control-Allow-Origin", "*");
  from.insert("Set-Cookie", "a=1");
  from.insert("Set-Cookie", "b=2");
  http::fields to;
  meter::copy_end_to_end_fields(from, to);
  CHECK(to.count(http::field::connection) == 0);
  CHECK(to.count(http::field::keep_alive) == 0);
  CHECK(to.count(http::field::transfer_encoding) == 0);
  CHECK(to.count(http::field::content_length) == 0);
  CHECK(to.count(http::field::upgrade) == 0);
  CHECK(to.count(http::field::te) == 0);
  CHECK(to.count("X-Private") == 0);
  CHECK(to[http::field::content_type] == "application/json");
  CHECK(to["Access-Control-Allow-Origin"] == "*");
  CHECK(to.count("Set-Cookie") == 2); // repeated fields keep every value, in order
  auto cookies = to.equal_range("Set-Cookie");
  CHECK(cookies.first->value() == "a=1");
}

// The upstream head for `client`, parsed back by Beast: it must be a valid request head.
http::request_header<> parsed_upstream_head(const http::request_header<>& client,
                                            const meter::forward_context& ctx) {
  std::string bytes = meter::upstream_request_head(client, ctx, "Content-Length: 5\r\n");
  http::request_parser<http::empty_body> parser;
  boost::system::error_code ec;
  parser.put(net::buffer(bytes), ec);
  REQUIRE_FALSE(ec);
  REQUIRE(parser.is_header_done());
  return parser.get().base();
}

TEST_CASE("forwarding: the upstream request keeps method, target and Origin, sets Host and "
          "X-Forwarded-*",
          "[forwarding]") {
  auto client = client_request("Origin: http://app.example\r\nExpect: 100-continue\r\n"
                               "X-Forwarded-For: 10.0.0.1\r\nContent-Length: 5\r\n");
  meter::forward_context ctx{"192.0.2.7", "127.0.0.1:11434", false};
  auto up = parsed_upstream_head(client, ctx);
  CHECK(up.method_string() == "POST");
  CHECK(up.target() == "/api/chat?x=1");
  CHECK(up.version() == 11);
  CHECK(up[http::field::host] == "127.0.0.1:11434");
  CHECK(up.count(http::field::host) == 1);
  CHECK(up[http::field::origin] == "http://app.example");
  CHECK(up.count(http::field::expect) == 0);
  CHECK(up.count(http::field::content_length) == 1); // the framing given, not the client's
  CHECK(up.count("X-Forwarded-For") == 1);
  CHECK(up["X-Forwarded-For"] == "10.0.0.1, 192.0.2.7");
  CHECK(up["X-Forwarded-Proto"] == "http");
  CHECK(up["X-Forwarded-Host"] == "meter.local:11435");

  SECTION("--preserve-host keeps the client's Host") {
    ctx.preserve_host = true;
    CHECK(parsed_upstream_head(client, ctx)[http::field::host] == "meter.local:11435");
  }
  SECTION("X-Forwarded-Proto and -Host set by the client are kept") {
    auto behind =
        client_request("X-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\n");
    auto forwarded = parsed_upstream_head(behind, ctx);
    CHECK(forwarded["X-Forwarded-Proto"] == "https");
    CHECK(forwarded.count("X-Forwarded-Proto") == 1);
    CHECK(forwarded["X-Forwarded-Host"] == "public.example");
    CHECK(forwarded.count("X-Forwarded-Host") == 1);
  }
  SECTION("every X-Forwarded-For field counts, in order") {
    auto hops =
        client_request("X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n");
    auto forwarded = parsed_upstream_head(hops, ctx);
    CHECK(forwarded.count("X-Forwarded-For") == 1);
    CHECK(forwarded["X-Forwarded-For"] == "10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.7");
  }
}

TEST_CASE("forwarding: fields named in any Connection field stay behind", "[forwarding]") {
  http::fields from;
  from.insert(http::field::connection, "X-One");
  from.insert(http::field::connection, "x-two, keep-alive");
  from.insert("X-One", "1");
  from.insert("X-Two", "2");
  from.insert("X-Three", "3");
  http::fields to;
  meter::copy_end_to_end_fields(from, to);
  CHECK(to.count("X-One") == 0);
  CHECK(to.count("X-Two") == 0);
  CHECK(to["X-Three"] == "3");
}

TEST_CASE("forwarding: keep-alive is read from every Connection field, as Go reads it",
          "[forwarding]") {
  struct example {
    std::vector<std::string> connection;
    unsigned version;
    bool keeps_alive;
  };
  const std::vector<example> examples = {
      {{}, 11, true},
      {{}, 10, false},
      {{"close"}, 11, false},
      {{"X-A", "close"}, 11, false},
      {{"X-A, Close"}, 11, false},
      {{"keep-alive"}, 10, true},
      {{"X-A", "Keep-Alive"}, 10, true},
      {{"keep-alive", "close"}, 10, false},
      {{"upgrade"}, 11, true},
  };
  for (const auto& e : examples) {
    http::fields fields;
    for (const auto& value : e.connection) {
      fields.insert(http::field::connection, value);
    }
    INFO("HTTP/" << e.version / 10 << "." << e.version % 10 << ", " << e.connection.size()
                 << " Connection field(s)");
    CHECK(meter::keeps_alive(fields, e.version) == e.keeps_alive);
  }
}

TEST_CASE("forwarding: the upstream request head, byte for byte", "[forwarding]") {
  auto client = client_request("Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
                               "User-Agent: ollama-js\r\nX-Forwarded-For: a\r\n"
                               "Expect: 100-continue\r\nAccept: */*\r\n");
  CHECK(meter::upstream_request_head(client, {"192.0.2.7", "127.0.0.1:11434", false},
                                     "Transfer-Encoding: chunked\r\n") ==
        "POST /api/chat?x=1 HTTP/1.1\r\nUser-Agent: ollama-js\r\nAccept: */*\r\n"
        "Host: 127.0.0.1:11434\r\nX-Forwarded-For: a, 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
        "X-Forwarded-Host: meter.local:11435\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(meter::upstream_request_head(client, {"", "127.0.0.1:11434", true}, "") ==
        "POST /api/chat?x=1 HTTP/1.1\r\nHost: meter.local:11435\r\nUser-Agent: ollama-js\r\n"
        "Accept: */*\r\nX-Forwarded-For: a\r\nX-Forwarded-Proto: http\r\n"
        "X-Forwarded-Host: meter.local:11435\r\n\r\n");
}

TEST_CASE("forwarding: a relayed response head keeps status, reason and end-to-end fields",
          "[forwarding]") {
  std::string raw = "HTTP/1.1 418 I'm A Teapot\r\nContent-Type: application/json\r\n"
                    "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTransfer-Encoding: chunked\r\n"
                    "Access-Control-Allow-Origin: *\r\nDate: Thu, 03 Dec 2026 10:00:00 GMT\r\n\r\n";
  http::response_parser<http::empty_body> parser;
  parser.eager(false);
  boost::system::error_code ec;
  parser.put(net::buffer(raw), ec);
  REQUIRE_FALSE(ec);
  const auto& up = parser.get().base();
  std::string kept = "Content-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\n"
                     "Date: Thu, 03 Dec 2026 10:00:00 GMT\r\n";
  CHECK(meter::relayed_response_head(up, 11, "Content-Length: 3\r\n", true) ==
        "HTTP/1.1 418 I'm A Teapot\r\n" + kept + "Content-Length: 3\r\n\r\n");
  CHECK(meter::relayed_response_head(up, 11, "", false) ==
        "HTTP/1.1 418 I'm A Teapot\r\n" + kept + "Connection: close\r\n\r\n");
  CHECK(meter::relayed_response_head(up, 10, "", true) ==
        "HTTP/1.0 418 I'm A Teapot\r\n" + kept + "Connection: keep-alive\r\n\r\n");
  CHECK(meter::relayed_response_head(up, 10, "", false) ==
        "HTTP/1.0 418 I'm A Teapot\r\n" + kept + "\r\n");
}

TEST_CASE("forwarding: which responses carry a body", "[forwarding]") {
  CHECK(meter::response_has_body(http::verb::get, 200));
  CHECK(meter::response_has_body(http::verb::post, 404));
  CHECK_FALSE(meter::response_has_body(http::verb::head, 200));
  CHECK_FALSE(meter::response_has_body(http::verb::get, 204));
  CHECK_FALSE(meter::response_has_body(http::verb::get, 304));
  CHECK_FALSE(meter::response_has_body(http::verb::get, 101));
}

TEST_CASE("framing: start lines and fields are written as Beast writes them", "[framing]") {
  std::string out;
  meter::append_status_line(out, 11, 418, "I'm A Teapot");
  meter::append_field(out, "Content-Type", "text/plain");
  meter::append_content_length(out, 3);
  CHECK(out == "HTTP/1.1 418 I'm A Teapot\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n");
  out.clear();
  meter::append_status_line(out, 10, 200, "");
  CHECK(out == "HTTP/1.0 200 OK\r\n");
  out.clear();
  meter::append_request_line(out, "GET", "/api/tags?x=%2F", 11);
  CHECK(out == "GET /api/tags?x=%2F HTTP/1.1\r\n");
  http::response<http::string_body> res{http::status::not_found, 11};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.body() = "{}";
  res.keep_alive(false);
  res.prepare_payload();
  CHECK(meter::serialized_head(res.base()) ==
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\n"
        "Connection: close\r\nContent-Length: 2\r\n\r\n");
}

TEST_CASE("framing: one write holds the head, a framed piece and the end of the body",
          "[framing]") {
  std::string data = std::string(26, 'x');
  auto piece = net::buffer(data);
  SECTION("identity framing copies the piece as it is") {
    meter::framed_write w{"HEAD\r\n\r\n", piece, false, true};
    CHECK(flatten(w) == "HEAD\r\n\r\n" + data);
    CHECK(w.size() == 8 + data.size());
  }
  SECTION("a chunk carries its size in hex") {
    meter::framed_write w{"", piece, true, false};
    CHECK(flatten(w) == "1a\r\n" + data + "\r\n");
  }
  SECTION("the last piece ends the chunked body") {
    meter::framed_write w{"H", piece, true, true};
    CHECK(flatten(w) == "H1a\r\n" + data + "\r\n0\r\n\r\n");
  }
  SECTION("an empty piece is never sent as a chunk, which would end the body early") {
    meter::framed_write w{"H", net::const_buffer{}, true, false};
    CHECK(flatten(w) == "H");
    meter::framed_write end{"", net::const_buffer{}, true, true};
    CHECK(flatten(end) == "0\r\n\r\n");
  }
  SECTION("what the proxy writes parses back to the same body") {
    std::string big(70000, 'y');
    meter::framed_write first{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                              net::buffer(big), true, false};
    meter::framed_write second{"", piece, true, true};
    std::string wire = flatten(first) + flatten(second);
    http::response_parser<http::string_body> parser;
    boost::system::error_code ec;
    parser.eager(true);
    parser.put(net::buffer(wire), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(parser.is_done());
    CHECK(parser.get().body() == big + data);
  }
}

TEST_CASE("forwarding: only a single Transfer-Encoding field reading chunked is supported",
          "[forwarding]") {
  auto request_with = [](std::vector<std::string> encodings) {
    http::request_header<> h;
    h.method(http::verb::post);
    h.target("/api/generate");
    for (const auto& e : encodings) {
      h.insert(http::field::transfer_encoding, e);
    }
    return h;
  };
  CHECK_FALSE(meter::has_unsupported_transfer_encoding(request_with({})));
  CHECK_FALSE(meter::has_unsupported_transfer_encoding(request_with({"chunked"})));
  CHECK_FALSE(meter::has_unsupported_transfer_encoding(request_with({"Chunked"})));
  CHECK(meter::has_unsupported_transfer_encoding(request_with({"xchunked"})));
  CHECK(meter::has_unsupported_transfer_encoding(request_with({"gzip, chunked"})));
  CHECK(meter::has_unsupported_transfer_encoding(request_with({"chunked", "chunked"})));
  CHECK(meter::has_unsupported_transfer_encoding(request_with({"identity"})));
}
