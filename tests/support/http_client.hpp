// A small blocking HTTP/1.1 client for integration tests: raw POSIX sockets and poll, every call
// bounded by a deadline. Failures (connect errors, timeouts, a peer closing before the response is
// complete) throw std::runtime_error, which Catch2 reports with the message.
//
// Use:
//   auto r = meter::test::request(sim.authority(), "POST", "/api/embed",
//                                 R"({"model":"all-minilm","input":"hi"})");
//   CHECK(r.status == 200);
//   CHECK(r.header("content-type") == "application/json; charset=utf-8");
//   CHECK(r.chunked == false);
//
//   auto pieces = meter::test::stream_body(sim.authority(), "POST", "/api/generate", body);
//   // pieces[i].data is one decoded chunk (chunked) or one read (otherwise); pieces[i].at is
//   // when it arrived.
//
//   meter::test::keepalive_connection c(sim.authority());
//   auto a = c.request("GET", "/api/tags");
//   auto b = c.request("GET", "/api/version");   // same TCP connection
//
//   std::string raw = meter::test::raw_exchange(sim.authority(),
//       "GET / HTTP/1.0\r\n\r\n", 5s);        // everything the peer sent until it closed
//   auto parsed = meter::test::parse_response(raw);
//
// request() opens a new connection per call, sends Host (the authority unless the caller gives
// one) and Content-Length when the body is non-empty or the method is POST (unless the caller
// gives Content-Length or Transfer-Encoding, in which case the body is sent as given). Interim 1xx
// responses are skipped. Responses to HEAD, and 1xx/204/304, have no body.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meter::test {

using namespace std::chrono_literals;
using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  unsigned status = 0;
  std::string reason;
  int version = 11;             // 11 for HTTP/1.1, 10 for HTTP/1.0
  header_list headers;          // in received order, names as sent
  std::string body;             // decoded (chunk framing removed)
  bool chunked = false;         // the body came with Transfer-Encoding: chunked
  header_list trailers;         // trailer fields after a chunked body
  bool close_delimited = false; // neither Content-Length nor chunked: the body ended at EOF

  // First value of a header, names compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
  // Every value of a header (e.g. several Vary lines).
  std::vector<std::string> header_values(std::string_view name) const;
};

struct timed_chunk {
  std::chrono::steady_clock::time_point at;
  std::string data;
};

struct streamed_response {
  http_response response;                        // head and the whole decoded body
  std::vector<timed_chunk> pieces;               // the body as it arrived
  std::chrono::steady_clock::time_point sent_at; // request fully written
  std::chrono::steady_clock::time_point head_at; // response head received
};

http_response request(const std::string& authority, std::string method, std::string target,
                      std::string body = {}, header_list headers = {},
                      std::chrono::milliseconds timeout = 30s);

// Writes `bytes`, then reads until the peer closes or the timeout passes (no exception on
// timeout: returns what arrived). Include `Connection: close` to get a prompt EOF.
std::string raw_exchange(const std::string& authority, std::string_view bytes,
                         std::chrono::milliseconds timeout = 10s);

// Parses one response from raw bytes (e.g. from raw_exchange). A body without framing runs to the
// end of `raw`. Throws when the head or a framed body is incomplete.
http_response parse_response(std::string_view raw, bool head_request = false);

std::vector<timed_chunk> stream_body(const std::string& authority, std::string method,
                                     std::string target, std::string body = {},
                                     header_list headers = {},
                                     std::chrono::milliseconds timeout = 30s);

streamed_response stream_response(const std::string& authority, std::string method,
                                  std::string target, std::string body = {},
                                  header_list headers = {},
                                  std::chrono::milliseconds timeout = 30s);

// The request bytes request() would send (exposed for tests that want to tweak them).
std::string build_request(const std::string& authority, const std::string& method,
                          const std::string& target, const std::string& body,
                          const header_list& headers);

// Several requests over one TCP connection, in sequence.
class keepalive_connection {
public:
  explicit keepalive_connection(std::string authority,
                                std::chrono::milliseconds connect_timeout = 10s);
  ~keepalive_connection();
  keepalive_connection(const keepalive_connection&) = delete;
  keepalive_connection& operator=(const keepalive_connection&) = delete;

  http_response request(std::string method, std::string target, std::string body = {},
                        header_list headers = {}, std::chrono::milliseconds timeout = 30s);
  void send_raw(std::string_view bytes, std::chrono::milliseconds timeout = 10s);
  http_response read_response(bool head_request = false, std::chrono::milliseconds timeout = 30s);
  // True when the peer has closed its side (EOF is readable) within `wait`; pipelined data left
  // unread counts as not closed.
  bool peer_closed(std::chrono::milliseconds wait = 0ms);
  void close();
  int native_handle() const { return fd_; }

private:
  std::string authority_;
  int fd_ = -1;
  std::string pending_; // bytes received beyond the last response
};

// A connected TCP socket to `authority` ("host:port" or "[v6]:port"), in blocking mode with
// SO_RCVTIMEO/SO_SNDTIMEO set to `timeout` so no single call blocks longer. The caller owns (and
// closes) the descriptor.
int connect_to(const std::string& authority, std::chrono::milliseconds timeout = 10s);

} // namespace meter::test
